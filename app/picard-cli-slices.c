/* picard-cli slices: every (or a range of) windowed, left-aligned slice(s) of a volume as PNG
 * files, the training input of train/train.py.  Each slice is written exactly as
 * `picard-cli slice --index N` writes it, so the two commands never disagree. */
#include "picard-cli.h"

#include "picard-dataset.h"
#include "picard-error.h"
#include "picard-orientation.h"
#include "picard-png.h"
#include "picard-volume.h"
#include "picard-window-level.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* One end of "A:B": empty means @fallback; otherwise a non-negative decimal integer. */
static gboolean
parse_frame_bound (const char *text, gsize length, gint64 fallback, gint64 *value)
{
  g_autofree char *copy = g_strndup (text, length);
  char *end = NULL;
  gint64 parsed;

  g_strstrip (copy);
  if (copy[0] == '\0')
    {
      *value = fallback;
      return TRUE;
    }
  if (!g_ascii_isdigit (copy[0]))
    return FALSE;
  errno = 0;
  parsed = g_ascii_strtoll (copy, &end, 10);
  if (errno != 0 || end == copy || *end != '\0' || parsed > G_MAXINT32)
    return FALSE;
  *value = parsed;
  return TRUE;
}

/* "A:B" (frames A to B, both included, as `heatmap --slices` counts; either end may be left
 * out) or "A" (one frame). @end is one past the last frame. */
static gboolean
parse_frames (const char *text, guint n_frames, guint *first, guint *end, GError **error)
{
  const char *colon = strchr (text, ':');
  gint64 a, b;
  gboolean ok;

  if (colon == NULL)
    {
      ok = parse_frame_bound (text, strlen (text), -1, &a) && a >= 0;
      b = a;
    }
  else
    ok = parse_frame_bound (text, (gsize) (colon - text), 0, &a)
         && parse_frame_bound (colon + 1, strlen (colon + 1), (gint64) n_frames - 1, &b);
  if (!ok)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "--frames '%s' is not A:B, A: , :B or A with 0-based frame numbers", text);
      return FALSE;
    }
  if (a > b || b >= n_frames)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "--frames '%s' is not within 0..%u (A:B writes frames A to B, both "
                   "included, A <= B; the volume has %u frames)", text, n_frames - 1, n_frames);
      return FALSE;
    }
  *first = (guint) a;
  *end = (guint) b + 1;
  return TRUE;
}

int
picard_cli_slices (int argc, char **argv)
{
  g_autofree char *view_option = NULL;
  g_autofree char *window_option = NULL;
  g_autofree char *frames_option = NULL;
  g_autofree char *output = NULL;
  gboolean auto_window = FALSE, no_align = FALSE, quiet = FALSE;
  int bits = 8;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Folder to write slice_NNNN.png into (created; required)", "DIR" },
    { "frames", 'f', 0, G_OPTION_ARG_STRING, &frames_option,
      "Frames A to B, both included (0-based; A: or :B leave an end open; a single A "
      "writes one frame); default all", "A:B" },
    { "bits", 'b', 0, G_OPTION_ARG_INT, &bits, "Bit depth of the PNGs: 8 (default) or 16",
      "8|16" },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_option,
      "The view letters from the data set (lcc, lmlo, rcc, rmlo); else the header's", "VIEW" },
    { "window", 'w', 0, G_OPTION_ARG_STRING, &window_option,
      "Window centre and width (default: the file's window, else automatic per slice)",
      "C,W" },
    { "auto-window", 0, 0, G_OPTION_ARG_NONE, &auto_window,
      "Window each slice over the 0.5..99.5 percentiles of its tissue", NULL },
    { "no-align", 0, 0, G_OPTION_ARG_NONE, &no_align,
      "Keep the data set's orientation (boxes' space) instead of left-aligning", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autofree guint16 *oriented = NULL;
  g_autofree void *out = NULL;
  GError *error = NULL;
  const PicardVolumeInfo *info;
  PicardView view = PICARD_VIEW_UNKNOWN;
  PicardWindowLevel fixed_wl = { 0 };
  guint first = 0, end = 0, mirrored = 0, flipped = 0;
  gsize n;

  context = g_option_context_new ("FILE|DIR");
  g_option_context_set_summary (context,
                                "Write slices of a DBT volume as grayscale PNGs "
                                "(DIR/slice_NNNN.png, NNNN = 0-based frame), windowed and "
                                "left-aligned as PICARD sees them: the training input of "
                                "train/train.py.\nEach slice is identical to what 'picard-cli "
                                "slice --index NNNN' writes; the orientation follows "
                                "duke-dbt-data, measured on each frame.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("slices", error);
  if (argc != 2)
    return picard_cli_fail_usage ("slices",
                                  argc < 2 ? "give one FILE or DIR" : "give only one FILE or DIR");
  if (output == NULL)
    return picard_cli_fail_usage ("slices", "give the folder to write with -o DIR");
  if (bits != 8 && bits != 16)
    return picard_cli_fail_usage ("slices", "--bits must be 8 or 16, not %d", bits);
  if (window_option != NULL && auto_window)
    return picard_cli_fail_usage ("slices", "give either --window or --auto-window, not both");
  if (view_option != NULL && !picard_view_from_string (view_option, &view))
    return picard_cli_fail_usage ("slices",
                                  "unknown view '%s'; use lcc, lmlo, rcc or rmlo", view_option);

  if (window_option != NULL && !picard_window_level_parse (window_option, &fixed_wl, &error))
    return picard_cli_fail ("slices", error);

  volume = picard_volume_open (argv[1], &error);
  if (volume == NULL)
    return picard_cli_fail ("slices", error);
  info = picard_volume_get_info (volume);
  if (info->frames == 0)
    return picard_cli_fail_usage ("slices", "%s has no frames", argv[1]);
  if (frames_option == NULL)
    {
      first = 0;
      end = info->frames;
    }
  else if (!parse_frames (frames_option, info->frames, &first, &end, &error))
    return picard_cli_fail ("slices", error);
  if (g_mkdir_with_parents (output, 0777) != 0)
    {
      int saved = errno;

      return picard_cli_fail ("slices", g_error_new (PICARD_ERROR, PICARD_ERROR_IO,
                                                     "cannot create the folder %s: %s; check "
                                                     "the path and its permissions", output,
                                                     g_strerror (saved)));
    }

  n = (gsize) info->rows * info->columns;
  oriented = g_new (guint16, n);
  out = bits == 8 ? (void *) g_new (guint8, n) : (void *) g_new (guint16, n);
  for (guint index = first; index < end; index++)
    {
      g_autoptr(GBytes) pixels = NULL;
      g_autofree char *name = g_strdup_printf ("slice_%04u.png", index);
      g_autofree char *path = g_build_filename (output, name, NULL);
      PicardOrientation orientation;
      PicardWindowLevel wl = { 0 };

      pixels = picard_volume_get_frame (volume, index, NULL, &error);
      if (pixels == NULL)
        return picard_cli_fail ("slices", error);
      if (index + 1 < end)
        picard_volume_prefetch (volume, index + 1);
      /* duke-dbt-data measures the laterality on the frame it reads. */
      if (!picard_orientation_compute (&orientation, volume, picard_view_get_laterality (view),
                                       index, NULL, &error))
        return picard_cli_fail ("slices", error);
      flipped += orientation.flip ? 1 : 0;
      mirrored += orientation.mirror ? 1 : 0;

      if (window_option != NULL)
        wl = fixed_wl;
      else if (info->has_window && !auto_window)
        {
          wl.center = info->window_center;
          wl.width = info->window_width;
        }
      else
        wl = picard_window_level_auto (g_bytes_get_data (pixels, NULL), n, info->bits_stored,
                                       PICARD_CLI_AUTO_WINDOW_LOW, PICARD_CLI_AUTO_WINDOW_HIGH);
      wl.invert = g_strcmp0 (info->photometric, "MONOCHROME1") == 0;

      picard_orientation_apply_u16 (&orientation, PICARD_SPACE_FILE,
                                    no_align ? PICARD_SPACE_DATASET : PICARD_SPACE_ALIGNED,
                                    g_bytes_get_data (pixels, NULL), oriented);
      if (bits == 8)
        picard_window_level_apply_u8 (&wl, oriented, out, n);
      else
        picard_window_level_apply_u16 (&wl, oriented, out, n);
      if (!picard_png_write_gray (path, out, info->columns, info->rows, (guint) bits, &error))
        return picard_cli_fail ("slices", error);
    }

  if (!quiet)
    printf ("Wrote %u slices (frames %u..%u) of %s to %s: %u x %u, %d-bit, %s orientation "
            "(%u flipped 180 degrees, %u mirrored)\n", end - first, first, end - 1, argv[1],
            output, info->columns, info->rows, bits, no_align ? "dataset" : "aligned", flipped,
            no_align ? 0 : mirrored);
  return 0;
}
