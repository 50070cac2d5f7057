/* picard-cli slice: one windowed, left-aligned slice as a PNG file. */
#include "picard-cli.h"

#include "picard-dataset.h"
#include "picard-error.h"
#include "picard-orientation.h"
#include "picard-png.h"
#include "picard-volume.h"
#include "picard-window-level.h"

#include <stdio.h>
#include <string.h>

int
picard_cli_slice (int argc, char **argv)
{
  g_autofree char *view_option = NULL;
  g_autofree char *window_option = NULL;
  g_autofree char *output = NULL;
  gboolean auto_window = FALSE, no_align = FALSE;
  int index = -1, bits = 8;
  const GOptionEntry entries[] = {
    { "index", 'i', 0, G_OPTION_ARG_INT, &index, "Frame to write (0-based, required)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "PNG file to write (required)",
      "FILE" },
    { "bits", 'b', 0, G_OPTION_ARG_INT, &bits, "Bit depth of the PNG: 8 (default) or 16",
      "8|16" },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_option,
      "The view letters from the data set (lcc, lmlo, rcc, rmlo); else the header's", "VIEW" },
    { "window", 'w', 0, G_OPTION_ARG_STRING, &window_option,
      "Window centre and width (default: the file's window, else automatic)", "C,W" },
    { "auto-window", 0, 0, G_OPTION_ARG_NONE, &auto_window,
      "Window over the 0.5..99.5 percentiles of the slice's tissue", NULL },
    { "no-align", 0, 0, G_OPTION_ARG_NONE, &no_align,
      "Keep the data set's orientation (boxes' space) instead of left-aligning", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_autofree guint16 *oriented = NULL;
  g_autofree void *out = NULL;
  GError *error = NULL;
  const PicardVolumeInfo *info;
  PicardView view = PICARD_VIEW_UNKNOWN;
  PicardOrientation orientation;
  PicardWindowLevel wl = { 0 };
  const char *window_source;
  PicardSpace space;
  gsize n;

  context = g_option_context_new ("FILE|DIR");
  g_option_context_set_summary (context,
                                "Write one slice of a DBT volume as a grayscale PNG, windowed "
                                "and left-aligned as PICARD sees it.\nThe orientation follows "
                                "duke-dbt-data, measured on the written frame.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("slice", error);
  if (argc != 2)
    return picard_cli_fail_usage ("slice",
                                  argc < 2 ? "give one FILE or DIR" : "give only one FILE or DIR");
  if (index < 0)
    return picard_cli_fail_usage ("slice", "give the frame with --index N (0-based)");
  if (output == NULL)
    return picard_cli_fail_usage ("slice", "give the PNG to write with -o FILE");
  if (bits != 8 && bits != 16)
    return picard_cli_fail_usage ("slice", "--bits must be 8 or 16, not %d", bits);
  if (window_option != NULL && auto_window)
    return picard_cli_fail_usage ("slice", "give either --window or --auto-window, not both");
  if (view_option != NULL && !picard_view_from_string (view_option, &view))
    return picard_cli_fail_usage ("slice",
                                  "unknown view '%s'; use lcc, lmlo, rcc or rmlo", view_option);
  if (window_option != NULL && !picard_window_level_parse (window_option, &wl, &error))
    return picard_cli_fail ("slice", error);

  volume = picard_volume_open (argv[1], &error);
  if (volume == NULL)
    return picard_cli_fail ("slice", error);
  info = picard_volume_get_info (volume);
  if ((guint) index >= info->frames)
    return picard_cli_fail_usage ("slice",
        "--index %d is outside 0..%u (%s has %u frames)", index, info->frames - 1,
                 argv[1], info->frames);
  pixels = picard_volume_get_frame (volume, (guint) index, NULL, &error);
  if (pixels == NULL)
    return picard_cli_fail ("slice", error);
  /* duke-dbt-data measures the laterality on the frame it reads. */
  if (!picard_orientation_compute (&orientation, volume, picard_view_get_laterality (view),
                                   (guint) index, NULL, &error))
    return picard_cli_fail ("slice", error);

  n = (gsize) info->rows * info->columns;
  if (window_option != NULL)
    window_source = "--window";
  else if (info->has_window && !auto_window)
    {
      wl.center = info->window_center;
      wl.width = info->window_width;
      window_source = "file";
    }
  else
    {
      wl = picard_window_level_auto (g_bytes_get_data (pixels, NULL), n, info->bits_stored,
                                     PICARD_CLI_AUTO_WINDOW_LOW, PICARD_CLI_AUTO_WINDOW_HIGH);
      window_source = "automatic";
    }
  /* Readers deliver MONOCHROME2 sense (bright = dense) whatever the file's photometric. */
  wl.invert = FALSE;

  space = no_align ? PICARD_SPACE_DATASET : PICARD_SPACE_ALIGNED;
  oriented = g_new (guint16, n);
  picard_orientation_apply_u16 (&orientation, PICARD_SPACE_FILE, space,
                                g_bytes_get_data (pixels, NULL), oriented);
  if (bits == 8)
    {
      out = g_new (guint8, n);
      picard_window_level_apply_u8 (&wl, oriented, out, n);
    }
  else
    {
      out = g_new (guint16, n);
      picard_window_level_apply_u16 (&wl, oriented, out, n);
    }
  if (!picard_png_write_gray (output, out, info->columns, info->rows, (guint) bits, &error))
    return picard_cli_fail ("slice", error);

  printf ("Wrote %s: frame %d, %u x %u, %d-bit, window %g,%g (%s), %s orientation\n", output,
          index, info->columns, info->rows, bits, wl.center, wl.width, window_source,
          no_align ? "dataset" : "aligned");
  return 0;
}
