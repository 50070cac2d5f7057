/* picard-cli complete: M completions of one patch of a slice, side by side with the patch and
 * the masked input, each labelled with its distance to the ground truth (PICARD's measure:
 * in the local critic's feature space when a dis_*.pt is found, in pixels otherwise). */
#include "picard-cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picard-error.h"
#include "picard-network.h"
#include "picard-orientation.h"
#include "picard-strip.h"
#include "picard-volume.h"
#include "picard-window-level.h"

/* The slice as the network sees it: left-aligned, windowed to [0, 1]. */
static float *
read_slice (const char *path, guint index, guint *rows, guint *columns, GError **error)
{
  g_autoptr(PicardVolume) volume = picard_volume_open (path, error);
  const PicardVolumeInfo *info;
  g_autoptr(GBytes) pixels = NULL;
  g_autofree guint16 *aligned = NULL;
  PicardOrientation orientation;
  PicardWindowLevel wl;
  float *slice;
  gsize n;

  if (volume == NULL)
    return NULL;
  info = picard_volume_get_info (volume);
  if (index >= info->frames)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "slice %u is outside 0..%u of %s", index, info->frames - 1, path);
      return NULL;
    }
  n = (gsize) info->rows * info->columns;
  pixels = picard_volume_get_frame (volume, index, NULL, error);
  if (pixels == NULL
      || !picard_orientation_compute (&orientation, volume, PICARD_LATERALITY_UNKNOWN, index,
                                      NULL, error))
    return NULL;
  if (info->has_window)
    {
      wl.center = info->window_center;
      wl.width = info->window_width;
    }
  else
    wl = picard_window_level_auto (g_bytes_get_data (pixels, NULL), n, info->bits_stored,
                                   PICARD_CLI_AUTO_WINDOW_LOW, PICARD_CLI_AUTO_WINDOW_HIGH);
  /* Readers deliver MONOCHROME2 sense whatever the file's photometric. */
  wl.invert = FALSE;
  aligned = g_new (guint16, n);
  picard_orientation_apply_u16 (&orientation, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED,
                                g_bytes_get_data (pixels, NULL), aligned);
  slice = g_new (float, n);
  picard_window_level_apply_unit (&wl, aligned, slice, n);
  *rows = info->rows;
  *columns = info->columns;
  return slice;
}

static gboolean
parse_point (const char *text, int *x, int *y)
{
  char *end;
  long a = strtol (text, &end, 10), b;

  if (end == text || *end != ',')
    return FALSE;
  text = end + 1;
  b = strtol (text, &end, 10);
  if (end == text || *end != '\0' || a < 0 || b < 0 || a > G_MAXINT || b > G_MAXINT)
    return FALSE;
  *x = (int) a, *y = (int) b;
  return TRUE;
}

int
picard_cli_complete (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *volume = NULL, *at = NULL, *output = NULL;
  g_autofree char *dropout_spec = NULL, *backend = NULL;
  gint64 iteration = -1, seed = 1337;
  /* G_MININT: not given (the sizes then come from the checkpoint where it tells them). */
  int slice_index = -1, m = 10, patch = G_MININT, hole = G_MININT;
  double dropout_p = 0.5;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      "gen_*.pt file or the trainer's folder (required)", "PATH" },
    { "iteration", 0, 0, G_OPTION_ARG_INT64, &iteration,
      "Iteration to load from a folder (default: the latest)", "N" },
    { "volume", 0, 0, G_OPTION_ARG_FILENAME, &volume, "DICOM file or PNG folder (required)",
      "FILE" },
    { "slice", 0, 0, G_OPTION_ARG_INT, &slice_index, "Slice index, from 0 (required)", "N" },
    { "at", 0, 0, G_OPTION_ARG_STRING, &at,
      "Patch centre in left-aligned pixels (required)", "X,Y" },
    { "samples", 'M', 0, G_OPTION_ARG_INT, &m, "Number of completions (10)", "M" },
    { "patch-size", 0, 0, G_OPTION_ARG_INT, &patch,
      "Patch side (default: the checkpoint's training size, from its critics; else 256)", "P" },
    { "hole-size", 0, 0, G_OPTION_ARG_INT, &hole,
      "Centred hole side (default: the checkpoint's training size; else 128)", "H" },
    { "dropout-layers", 0, 0, G_OPTION_ARG_STRING, &dropout_spec,
      "released (default), paper, none, or comma-separated full layer names", "SET" },
    { "dropout-p", 0, 0, G_OPTION_ARG_DOUBLE, &dropout_p, "Dropout probability (0.5)", "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Dropout seed (1337, as the scan)", "S" },
    PICARD_CLI_BACKEND_ENTRY (backend),
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Image to write (.png, .svg, .pdf)",
      "FILE" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- complete one patch M times");
  g_autoptr(PicardNetwork) net = NULL;
  g_autofree float *slice = NULL, *x = NULL, *mask = NULL, *comp = NULL, *gt = NULL;
  g_autofree float *crops = NULL, *features = NULL;
  const float *gt_features = NULL;
  g_autofree double *distances = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  g_autofree char *title = NULL;
  g_autofree const float **images = NULL;
  guint rows = 0, columns = 0, p, hh, off, f = 0;
  int cx, cy, x0, y0;
  gsize plane;
  PicardExportFormat format;
  PicardStrip strip;
  GError *error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "The patch is centred at X,Y of the left-aligned slice and moved inside it when it would\n"
    "cross an edge. Completion i uses (patch id 0, sample id i).");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("complete", error);
  if (argc > 1 || checkpoint == NULL || volume == NULL || at == NULL || output == NULL
      || slice_index < 0)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, argc > 1
                   ? "unexpected argument"
                   : "--checkpoint, --volume, --slice, --at and -o are required");
      return picard_cli_fail ("complete", error);
    }
  if (!parse_point (at, &cx, &cy))
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--at takes X,Y in pixels, not '%s'", at);
      return picard_cli_fail ("complete", error);
    }
  guint trained_patch, trained_hole;
  picard_cli_resolve_geometry (checkpoint, iteration, &patch, &hole, &trained_patch,
                               &trained_hole);
  if (m < 1 || m > (int) PICARD_STRIP_MAX_COMPLETIONS || patch < 16 || patch > 4096
      || patch % 8 != 0 || hole < 16 || hole >= patch || (patch - hole) % 2 != 0)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "-M must be 1..%u; the patch side a multiple of 8 (16..4096) and the hole "
                   "smaller with an even margin", PICARD_STRIP_MAX_COMPLETIONS);
      return picard_cli_fail ("complete", error);
    }
  if (!picard_export_format_from_path (output, &format))
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: the output must end in .png, .svg or .pdf", output);
      return picard_cli_fail ("complete", error);
    }
  p = (guint) patch, hh = (guint) hole, off = (p - hh) / 2;
  plane = (gsize) p * p;

  slice = read_slice (volume, (guint) slice_index, &rows, &columns, &error);
  if (slice == NULL)
    return picard_cli_fail ("complete", error);
  if (rows < p || columns < p)
    {
      g_set_error (&error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: the slice (%u x %u) is smaller than a %u patch", volume, columns, rows,
                   p);
      return picard_cli_fail ("complete", error);
    }
  x0 = CLAMP (cx - (int) p / 2, 0, (int) (columns - p));
  y0 = CLAMP (cy - (int) p / 2, 0, (int) (rows - p));

  net = picard_cli_open_network (backend, checkpoint, iteration,
                                 dropout_spec != NULL ? dropout_spec : "released", dropout_p,
                                 &error);
  if (net == NULL)
    return picard_cli_fail ("complete", error);
  if (picard_network_get_input_dim (net) != 1)
    {
      g_set_error (&error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s completes %u-channel images; slices have one",
                   picard_network_get_generator_path (net), picard_network_get_input_dim (net));
      return picard_cli_fail ("complete", error);
    }
  picard_cli_say_network (net);

  /* The patch in [-1, 1], repeated for the M samples. */
  gt = g_new (float, plane);
  for (guint r = 0; r < p; r++)
    for (guint c = 0; c < p; c++)
      gt[(gsize) r * p + c] = slice[(gsize) (y0 + r) * columns + x0 + c] * 2.0f - 1.0f;
  x = g_new (float, plane * m);
  mask = g_new0 (float, plane);
  comp = g_new (float, plane * m);
  pids = g_new0 (guint32, m);
  sids = g_new (guint32, m);
  for (int i = 0; i < m; i++)
    {
      memcpy (x + (gsize) i * plane, gt, plane * sizeof (float));
      sids[i] = (guint32) i;
    }
  for (guint r = off; r < off + hh; r++)
    for (guint c = off; c < off + hh; c++)
      mask[(gsize) r * p + c] = 1.0f;
  {
    PicardNetworkInput in = { (guint) m, p, p, x, mask, 1, pids, sids, (guint64) seed };
    PicardNetworkOutput out = { .completion = comp };

    if (!picard_network_forward (net, &in, &out, NULL, &error))
      return picard_cli_fail ("complete", error);
  }

  /* Hole crops: completions, then the ground truth last. */
  crops = g_new (float, (gsize) hh * hh * (m + 1));
  for (int i = 0; i <= m; i++)
    for (guint r = 0; r < hh; r++)
      memcpy (crops + ((gsize) i * hh + r) * hh,
              (i < m ? comp + (gsize) i * plane : gt) + (gsize) (off + r) * p + off,
              hh * sizeof (float));
  distances = g_new (double, m);
  f = picard_network_get_feature_length (net, hh);
  if (f > 0)
    {
      features = g_new (float, (gsize) f * (m + 1));
      if (!picard_network_critic (net, (guint) m + 1, hh, crops, features, NULL, &error))
        return picard_cli_fail ("complete", error);
      gt_features = features + (gsize) f * m;
    }
  for (int i = 0; i < m; i++)
    {
      const float *a = f > 0 ? features + (gsize) i * f : crops + (gsize) i * hh * hh;
      const float *b = f > 0 ? gt_features : crops + (gsize) m * hh * hh;
      gsize len = f > 0 ? f : (gsize) hh * hh;
      double sum = 0.0;

      for (gsize k = 0; k < len; k++)
        sum += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
      distances[i] = sqrt (sum);
    }

  images = g_new (const float *, m);
  for (int i = 0; i < m; i++)
    images[i] = comp + (gsize) i * plane;
  title = g_strdup_printf ("%s, slice %d, patch at %d,%d", volume, slice_index, x0 + (int) p / 2,
                           y0 + (int) p / 2);
  picard_strip_init (&strip);
  strip.size = p;
  strip.hole_size = hh;
  strip.patch = gt;
  strip.completions = images;
  strip.distances = distances;
  strip.n_completions = (guint) m;
  strip.title = title;
  strip.distance_name = f > 0 ? "critic L2" : "pixel L2";
  if (!picard_strip_export (&strip, output, format, 1.0, &error))
    return picard_cli_fail ("complete", error);
  for (int i = 0; i < m; i++)
    printf ("completion %d: %s %.6g\n", i, f > 0 ? "critic L2" : "pixel L2", distances[i]);
  return 0;
}
