/* picard-cli.h: the subcommands of picard-cli. Each parses its own options and returns
 * the process exit status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef int (*PicardCliCommandFunc) (int argc, char **argv);

/* Reports @error on stderr as "picard-cli COMMAND: message" and returns 1. */
int picard_cli_fail (const char *command, GError *error);
/* The same for a bad argument, with a printf-style message. */
int picard_cli_fail_usage (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The automatic window of info and slice: these percentiles of the tissue (non-zero)
 * values of the slice. */
#define PICARD_CLI_AUTO_WINDOW_LOW 0.5
#define PICARD_CLI_AUTO_WINDOW_HIGH 99.5

int picard_cli_info (int argc, char **argv);
int picard_cli_slice (int argc, char **argv);
int picard_cli_slices (int argc, char **argv);
int picard_cli_phantom (int argc, char **argv);
int picard_cli_devices (int argc, char **argv);
int picard_cli_heatmap (int argc, char **argv);
int picard_cli_eval (int argc, char **argv);
int picard_cli_infer (int argc, char **argv);
int picard_cli_complete (int argc, char **argv);

G_END_DECLS
