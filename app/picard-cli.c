/* picard-cli: the headless entry point. */
#include "picard-cli.h"

#include "picard-error.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  const char *summary;
  PicardCliCommandFunc run;
} PicardCliCommand;

static const PicardCliCommand commands[] = {
  { "info", "Print a volume's dimensions, syntax, window and orientation", picard_cli_info },
  { "slice", "Write one windowed, left-aligned slice as PNG", picard_cli_slice },
  { "slices", "Write windowed, left-aligned slices as PNGs (training input)", picard_cli_slices },
  { "phantom", "Generate a synthetic DBT volume with lesion boxes", picard_cli_phantom },
  { "devices", "List the Vulkan devices and what the engine uses", picard_cli_devices },
  { "heatmap", "Scan slices with PICARD: heatmaps, sidecars, overlays", picard_cli_heatmap },
  { "eval", "Score heatmaps against lesion boxes: AUC, AP, FROC", picard_cli_eval },
  { "infer", "Run the completion network on a NumPy batch", picard_cli_infer },
  { "complete", "Complete one patch of a slice M times, as an image strip", picard_cli_complete },
};

int
picard_cli_fail (const char *command, GError *error)
{
  g_printerr ("picard-cli %s: %s\n", command, error->message);
  g_error_free (error);
  return 1;
}

int
picard_cli_fail_usage (const char *command, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  return picard_cli_fail (command, g_error_new_literal (PICARD_ERROR,
                                                        PICARD_ERROR_INVALID_ARGUMENT, message));
}

static void
print_usage (FILE *stream)
{
  fprintf (stream, "Usage: picard-cli COMMAND [OPTIONS...]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (stream, "\nRun 'picard-cli COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("picard-cli %s\n", PICARD_VERSION);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        g_set_prgname (commands[i].name);
        return commands[i].run (argc - 1, argv + 1);
      }
  g_printerr ("picard-cli: unknown command '%s'\n", argv[1]);
  print_usage (stderr);
  return 2;
}
