/* picard-cli.h: the subcommands of picard-cli. Each parses its own options and returns
 * the process exit status. */
#pragma once

#include <glib.h>

#include "picard-network.h"

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

/* The --backend option every network command takes. */
#define PICARD_CLI_BACKEND_ENTRY(variable)                                                     \
  { "backend", 0, 0, G_OPTION_ARG_STRING, &(variable),                                       \
    "auto (default: Vulkan on a GPU, else oneDNN on the CPU), vulkan or cpu", "NAME" }

/* Dropout from a command line: "released", "paper", "none" (or "off") or a comma list of
 * full layer names, with probability @p. */
gboolean picard_cli_set_dropout (PicardNetwork *net, const char *spec, double p, GError **error);
/* Opens @checkpoint on @backend (NULL: auto) with that dropout. */
PicardNetwork *picard_cli_open_network (const char *backend, const char *checkpoint,
                                        gint64 iteration, const char *dropout, double dropout_p,
                                        GError **error);
/* Says on stderr which backend runs and why. */
void picard_cli_say_network (PicardNetwork *net);
/* Fills in the patch and hole sides left at G_MININT (not given): where neither was given,
 * the ones @checkpoint was trained for (the input sizes of its critics, in the dis_ file
 * beside the generator) where it tells them, else PICARD's defaults. @trained_patch and
 * @trained_hole get what it was trained for, zeros where it does not tell. TRUE where the
 * sides came from the checkpoint. */
gboolean picard_cli_resolve_geometry (const char *checkpoint, gint64 iteration, int *patch,
                                      int *hole, guint *trained_patch, guint *trained_hole);

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
