/* bench-scan: the PICARD scan of a 2457 x 1996 slice (issue 5) through picard_scan_run() and
 * the network (the backend the viewer picks, or those asked for), against the same scan driven
 * by PyTorch (train/bench_scan.py: a Python loop over the patches, as PICARD's released code)
 * on the same machine in the same run, on the same slice pixels and the same patches.
 *
 * A whole slice at the paper's settings is ~3800 patches x 10 completions of ~50 GFLOP: hours
 * on a CPU.  So by default a fixed part of the slice's lattice is timed (a run of patches along
 * the middle lattice row, from the chest wall) and the seconds per full slice are
 * extrapolated: full-slice patches / measured patches per second.  --paper-patches 0 and
 * --demo-patches 0 time the whole slice (for a GPU).  The C side scans the lattice-aligned crop
 * of the slice that holds exactly those patches, so its lattice is the timed part.
 *
 * Geometries: "paper" (P 256, H 128, stride 32, random He-scaled weights, c = 32, d = 32) and
 * "demo" (train/demo-model: P 64, H 32, stride 16, c = 8, d = 8), both M 10, seed 1337,
 * dropout on the released layer set with p 0.5, no air skipping (as the paper).  Both sides
 * compute image and critic-feature distances.  Batches: Picard's scan uses its completer's
 * (what picard-cli heatmap does), PyTorch PICARD's 32 patches per forward; --batch sets both.
 * Warm-up (one completion: pipelines compiled, PyTorch's kernels picked) is excluded on both
 * sides and printed apart.  Before it, each side completes the first patch once with dropout
 * off, which is deterministic: the run fails unless both give the same distance, so the two
 * sides provably compute the same scan.
 *
 * `meson test -C BUILD --benchmark bench-scan --verbose`; see BENCHMARKS.md and --help. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "picard-error.h"
#include "picard-heatmap-job.h"
#include "picard-network.h"
#include "picard-npy.h"
#include "picard-scan.h"
#include "picard-test-cli.h"

#define FULL_ROWS 2457
#define FULL_COLUMNS 1996
/* Patches per generator call in PICARD's released code (configs/default.yaml). */
#define PICARD_RELEASED_BATCH 32

typedef struct {
  const char *name;
  guint patch, hole, stride;
} Geometry;

typedef struct {
  guint row0, col0, rows, cols;   /* a rectangle of the full slice's lattice */
} Subset;

typedef struct {
  double seconds, cpu_seconds, warmup_seconds;
  guint patches, completions, batch;
  double mean_mcd_image, mean_mcd_feature;
  double no_dropout_distance;   /* the first patch's, one completion without dropout */
} Timing;

static const char *source_dir;

static double
cpu_seconds (void)
{
  struct rusage u;

  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec
         + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* The first .dcm file under @dir (picard-cli phantom writes OUTDIR/<PatientID>/<view>.dcm). */
static char *
find_dicom (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *found = NULL;

  if (d == NULL)
    return NULL;
  while (found == NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (g_str_has_suffix (name, ".dcm"))
        found = g_steal_pointer (&child);
      else if (g_file_test (child, G_FILE_TEST_IS_DIR))
        found = find_dicom (child);
    }
  g_dir_close (d);
  return found;
}

/* The slice as picard-cli heatmap reads it: aligned, windowed through 8 bits into [0, 1]. */
static float *
read_slice (const char *volume_path, int index, guint *out_index, GError **error)
{
  g_autoptr(PicardHeatmapVolume) volume = picard_heatmap_volume_open (volume_path,
                                                                       PICARD_VIEW_UNKNOWN,
                                                                       error);
  const PicardVolumeInfo *info;
  PicardOrientation orientation;
  PicardWindowLevel wl;

  if (volume == NULL)
    return NULL;
  info = picard_volume_get_info (volume->volume);
  if (info->rows != FULL_ROWS || info->columns != FULL_COLUMNS)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s has %u x %u pixels; the benchmark times BCS-DBT's %u x %u slices",
                   volume_path, info->rows, info->columns, FULL_ROWS, FULL_COLUMNS);
      return NULL;
    }
  *out_index = index >= 0 ? (guint) index : info->frames / 2;
  return picard_heatmap_job_read_slice (volume, *out_index, &orientation, &wl, NULL, error);
}

static guint
lattice_size (guint size, guint patch, guint stride)
{
  return (size - patch) / stride + 1;
}

/* @patches < 0: the middle lattice row; 0: the whole lattice; else that many patches from
 * the chest wall (column 0 of the aligned slice) along the middle row, whole rows beyond
 * one row. */
static void
choose_subset (guint n_h, guint n_w, gint64 patches, Subset *s)
{
  if (patches == 0)
    {
      s->row0 = s->col0 = 0, s->rows = n_h, s->cols = n_w;
      return;
    }
  if (patches < 0)
    patches = n_w;
  s->cols = (guint) MIN ((guint64) patches, n_w);
  s->rows = (guint) MIN ((guint64) (patches + n_w - 1) / n_w, n_h);
  s->row0 = (n_h - s->rows) / 2;
  s->col0 = 0;
}

static void
count_batches (const PicardScanProgress *progress, gpointer user_data)
{
  guint *batches = user_data;

  (*batches)++;
  (void) progress;
}

static double
mean_mcd (const PicardScanResult *result, PicardScanSpace space)
{
  PicardScanMetric metric = { PICARD_SCAN_REDUCE_MIN, space };
  double sum = 0;

  if (!picard_scan_result_has_metric (result, metric))
    return NAN;
  for (guint i = 0; i < result->n_h; i++)
    for (guint j = 0; j < result->n_w; j++)
      sum += picard_scan_result_get_score (result, metric, i, j);
  return sum / ((double) result->n_h * result->n_w);
}

/* The crop of @slice holding the patches of @s, and its size. */
static float *
crop_subset (const float *slice, const Geometry *g, const Subset *s, guint *rows, guint *cols)
{
  guint y0 = s->row0 * g->stride, x0 = s->col0 * g->stride;
  float *crop;

  *rows = (s->rows - 1) * g->stride + g->patch;
  *cols = (s->cols - 1) * g->stride + g->patch;
  crop = g_new (float, (gsize) *rows * *cols);
  for (guint r = 0; r < *rows; r++)
    memcpy (crop + (gsize) r * *cols, slice + (gsize) (y0 + r) * FULL_COLUMNS + x0,
            *cols * sizeof (float));
  return crop;
}

static gboolean
time_picard (PicardNetwork *net, PicardCompleter *completer, const float *slice,
             const Geometry *g, const Subset *s, guint n_samples, guint64 seed, guint batch,
             Timing *t, GError **error)
{
  PicardScanParams params;
  g_autoptr(PicardScanResult) warm = NULL, result = NULL;
  g_autofree float *warm_crop = NULL, *crop = NULL;
  guint rows, cols, batches = 0;
  Subset one = { s->row0, s->col0, 1, 1 };
  gint64 start;
  double cpu;

  picard_scan_params_init (&params);
  params.patch_size = g->patch;
  params.hole_size = g->hole;
  params.stride = g->stride;
  params.seed = seed;
  params.batch_size = batch;
  params.skip_air = FALSE;

  params.n_samples = 1;
  warm_crop = crop_subset (slice, g, &one, &rows, &cols);
  /* Without dropout a completion is deterministic: the first patch's distance, to compare
   * with PyTorch's. */
  {
    g_autoptr(PicardScanResult) check = NULL;

    check = picard_scan_result_new (rows, cols, 0, &params,
                                    picard_completer_get_feature_length (completer, g->hole),
                                    error);
    if (check == NULL || !picard_network_set_dropout (net, NULL, 0.5f, error)
        || !picard_scan_run (check, completer, warm_crop, NULL, NULL, NULL, NULL, error)
        || !picard_network_set_dropout (net, picard_network_dropout_released (), 0.5f, error))
      return FALSE;
    t->no_dropout_distance = picard_scan_result_get_distances (check, PICARD_SCAN_SPACE_IMAGE,
                                                               0, 0)[0];
  }
  /* Warm-up: one completion of the first patch through the scan (pipelines, critic). */
  start = g_get_monotonic_time ();
  warm = picard_scan_result_new (rows, cols, 0, &params,
                                 picard_completer_get_feature_length (completer, g->hole),
                                 error);
  if (warm == NULL
      || !picard_scan_run (warm, completer, warm_crop, NULL, NULL, NULL, NULL, error))
    return FALSE;
  t->warmup_seconds = (g_get_monotonic_time () - start) / 1e6;

  params.n_samples = n_samples;
  crop = crop_subset (slice, g, s, &rows, &cols);
  result = picard_scan_result_new (rows, cols, 0, &params,
                                   picard_completer_get_feature_length (completer, g->hole),
                                   error);
  if (result == NULL)
    return FALSE;
  g_assert_cmpuint (result->n_h, ==, s->rows);
  g_assert_cmpuint (result->n_w, ==, s->cols);
  cpu = cpu_seconds ();
  start = g_get_monotonic_time ();
  if (!picard_scan_run (result, completer, crop, NULL, NULL, count_batches, &batches, error))
    return FALSE;
  t->seconds = (g_get_monotonic_time () - start) / 1e6;
  t->cpu_seconds = cpu_seconds () - cpu;
  g_assert_true (picard_scan_result_is_complete (result));
  t->patches = result->n_done;
  t->completions = result->n_done * n_samples;
  t->batch = (result->n_done + batches - 1) / MAX (batches, 1);
  t->mean_mcd_image = mean_mcd (result, PICARD_SCAN_SPACE_IMAGE);
  t->mean_mcd_feature = mean_mcd (result, PICARD_SCAN_SPACE_FEATURE);
  return TRUE;
}

static double
number (GHashTable *values, const char *key, GError **error)
{
  const char *text = g_hash_table_lookup (values, key);

  if (text == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "train/bench_scan.py printed no '%s'", key);
      return NAN;
    }
  return g_ascii_strtod (text, NULL);
}

static gboolean
time_torch (const char *checkpoint, const char *slice_npy, const Geometry *g, const Subset *s,
            guint n_samples, guint64 seed, guint batch, int threads, const char *device,
            Timing *t, GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        g_free);
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  GError *missing = NULL;

  g_ptr_array_add (argv, g_strdup ("-m"));
  g_ptr_array_add (argv, g_strdup ("train.bench_scan"));
  g_ptr_array_add (argv, g_strdup_printf ("--checkpoint=%s", checkpoint));
  g_ptr_array_add (argv, g_strdup_printf ("--slice=%s", slice_npy));
  g_ptr_array_add (argv, g_strdup_printf ("--patch=%u", g->patch));
  g_ptr_array_add (argv, g_strdup_printf ("--hole=%u", g->hole));
  g_ptr_array_add (argv, g_strdup_printf ("--stride=%u", g->stride));
  g_ptr_array_add (argv, g_strdup_printf ("--samples=%u", n_samples));
  g_ptr_array_add (argv, g_strdup_printf ("--seed=%" G_GUINT64_FORMAT, seed));
  g_ptr_array_add (argv, g_strdup_printf ("--row0=%u", s->row0));
  g_ptr_array_add (argv, g_strdup_printf ("--rows=%u", s->rows));
  g_ptr_array_add (argv, g_strdup_printf ("--col0=%u", s->col0));
  g_ptr_array_add (argv, g_strdup_printf ("--cols=%u", s->cols));
  g_ptr_array_add (argv, g_strdup_printf ("--batch=%u", batch));
  g_ptr_array_add (argv, g_strdup_printf ("--threads=%d", threads));
  g_ptr_array_add (argv, g_strdup_printf ("--device=%s", device));
  g_ptr_array_add (argv, NULL);
  if (!picard_test_spawn_python (NULL, (const char *const *) argv->pdata, &out, error))
    return FALSE;
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *space = strchr (lines[i], ' ');

      if (space != NULL)
        g_hash_table_insert (values, g_strndup (lines[i], space - lines[i]),
                             g_strdup (space + 1));
    }
  t->seconds = number (values, "seconds", &missing);
  t->cpu_seconds = number (values, "cpu_seconds", missing ? NULL : &missing);
  t->warmup_seconds = number (values, "warmup_seconds", missing ? NULL : &missing);
  t->patches = (guint) number (values, "patches", missing ? NULL : &missing);
  t->completions = (guint) number (values, "completions", missing ? NULL : &missing);
  t->batch = (guint) number (values, "batch", missing ? NULL : &missing);
  t->mean_mcd_image = number (values, "mean_mcd_image", missing ? NULL : &missing);
  t->mean_mcd_feature = number (values, "mean_mcd_feature", missing ? NULL : &missing);
  t->no_dropout_distance = number (values, "no_dropout_distance", missing ? NULL : &missing);
  if (missing != NULL)
    {
      g_propagate_error (error, missing);
      return FALSE;
    }
  return TRUE;
}

static void
print_side (const char *label, const Timing *t, guint full_patches)
{
  double pps = t->patches / t->seconds;
  double full = full_patches / pps;

  printf ("  %-26s %8.1f s  %7.3f patches/s  %8.2f completions/s  %7.1f CPU-s"
          "  (batch %u, warm-up %.1f s)\n",
          label, t->seconds, pps, t->completions / t->seconds, t->cpu_seconds, t->batch,
          t->warmup_seconds);
  printf ("  %-26s full slice, extrapolated: %.0f s (%.2f h)\n", "", full, full / 3600);
}

/* Times the scan on each of @backends (n_backends), then PyTorch once, and prints them. */
static gboolean
bench_geometry (const PicardBackend *backends, guint n_backends, const Geometry *g,
                const char *checkpoint, const float *slice, const char *slice_npy,
                gint64 patches, guint n_samples, guint64 seed, guint batch, guint torch_batch,
                int threads, const char *torch_device, GError **error)
{
  guint n_h = lattice_size (FULL_ROWS, g->patch, g->stride);
  guint n_w = lattice_size (FULL_COLUMNS, g->patch, g->stride);
  Timing ours[2] = { { 0 } }, torch = { 0 };
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  Subset s;

  g_assert (n_backends >= 1 && n_backends <= G_N_ELEMENTS (ours));
  choose_subset (n_h, n_w, patches, &s);
  printf ("\n%s: P %u, H %u, stride %u, M %u, dropout released p 0.5, seed %" G_GUINT64_FORMAT
          "\n", g->name, g->patch, g->hole, g->stride, n_samples, seed);
  printf ("  full slice %u x %u: lattice %u x %u = %u patches, %u completions\n", FULL_ROWS,
          FULL_COLUMNS, n_h, n_w, n_h * n_w, n_h * n_w * n_samples);
  printf ("  timed: lattice rows %u..%u, columns %u..%u = %u patches (the same on both sides)\n",
          s.row0, s.row0 + s.rows - 1, s.col0, s.col0 + s.cols - 1, s.rows * s.cols);
  for (guint b = 0; b < n_backends; b++)
    {
      g_autoptr(PicardNetwork) net = NULL;
      g_autoptr(PicardCompleter) completer = NULL;
      guint our_batch = batch;

      net = picard_network_open (backends[b], checkpoint, -1, error);
      if (net == NULL
          || !picard_network_set_dropout (net, picard_network_dropout_released (), 0.5f, error))
        return FALSE;
      completer = picard_network_completer_new (net, n_samples);
      if (our_batch == 0)
        our_batch = picard_completer_get_batch_size (completer);
      if (b == 0)
        printf ("  checkpoint %s: c %u, d %u\n", picard_network_get_generator_path (net),
                picard_network_get_cnum (net), picard_network_get_ndf (net));
      printf ("  Picard %s: %s (%s)\n", picard_network_get_backend_name (net),
              picard_network_get_device_name (net), picard_network_get_backend_reason (net));
      fflush (stdout);
      if (!time_picard (net, completer, slice, g, &s, n_samples, seed, our_batch, &ours[b],
                        error))
        return FALSE;
      g_ptr_array_add (names, g_strdup (picard_network_get_backend_name (net)));
      g_ptr_array_add (labels, g_strdup_printf ("Picard scan (%s):",
                                                picard_network_get_backend_name (net)));
    }
  /* PyTorch gets PICARD's released batch (32 patches per forward) unless told otherwise. */
  if (torch_batch == 0)
    torch_batch = batch > 0 ? batch : PICARD_RELEASED_BATCH;
  if (!time_torch (checkpoint, slice_npy, g, &s, n_samples, seed,
                   MIN (torch_batch, s.rows * s.cols), threads, torch_device, &torch, error))
    return FALSE;

  for (guint b = 0; b < n_backends; b++)
    {
      g_assert_cmpuint (ours[b].patches, ==, torch.patches);
      print_side (labels->pdata[b], &ours[b], n_h * n_w);
    }
  print_side ("PyTorch loop:", &torch, n_h * n_w);
  for (guint b = 0; b < n_backends; b++)
    {
      printf ("  %s mean MCD over the timed patches (differs from PyTorch's by the dropout "
              "draws): image %.3f / %.3f, feature %.3f / %.3f\n", (char *) labels->pdata[b],
              ours[b].mean_mcd_image, torch.mean_mcd_image, ours[b].mean_mcd_feature,
              torch.mean_mcd_feature);
      printf ("  first patch without dropout, image distance: %.6f / %.6f (PyTorch)\n",
              ours[b].no_dropout_distance, torch.no_dropout_distance);
      printf ("  ratio PyTorch time / Picard %s time: %.2f (per CPU-second: %.2f)\n",
              (char *) names->pdata[b], torch.seconds / ours[b].seconds,
              torch.cpu_seconds / ours[b].cpu_seconds);
    }
  fflush (stdout);
  /* Both sides must compute the same scan: without dropout the first patch's completion is
   * deterministic, and the two networks agree to float rounding (tests/test-network.c), so
   * any difference in cropping, scaling or hiding shows here. */
  for (guint b = 0; b < n_backends; b++)
    if (!(fabs (ours[b].no_dropout_distance - torch.no_dropout_distance)
          <= 1e-3 * fabs (torch.no_dropout_distance) + 1e-4))
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                     "the %s scan and PyTorch's disagree: without dropout the first patch's "
                     "distance is %.6f against %.6f", (char *) names->pdata[b],
                     ours[b].no_dropout_distance, torch.no_dropout_distance);
        return FALSE;
      }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *dir = NULL, *volume = NULL, *slice_npy = NULL, *paper_ckpt = NULL;
  g_autofree char *demo_model = NULL, *geometry = NULL, *torch_device = NULL;
  g_autofree char *backend_text = NULL;
  g_autofree char *default_demo = NULL;
  g_autofree float *slice = NULL;
  PicardBackend backends[2] = { PICARD_BACKEND_AUTO, PICARD_BACKEND_AUTO };
  guint n_backends = 1;
  gint64 paper_patches = 1, demo_patches = 64, seed = PICARD_SCAN_DEFAULT_SEED;
  int n_samples = PICARD_SCAN_DEFAULT_SAMPLES, batch = 0, torch_batch = 0, threads = 0;
  int slice_index = -1, demo_stride = 16;
  guint index = 0;
  gboolean do_paper, do_demo, ok = TRUE;
  const GOptionEntry entries[] = {
    { "geometry", 0, 0, G_OPTION_ARG_STRING, &geometry,
      "paper, demo or both (default both)", "WHICH" },
    { "backend", 0, 0, G_OPTION_ARG_STRING, &backend_text,
      "Picard's backend: auto (as the viewer picks), vulkan, cpu, or all (vulkan and cpu; "
      "default auto)", "B" },
    { "paper-patches", 0, 0, G_OPTION_ARG_INT64, &paper_patches,
      "Patches timed at the paper's geometry (default 1; 0: the whole slice)", "N" },
    { "demo-patches", 0, 0, G_OPTION_ARG_INT64, &demo_patches,
      "Patches timed at the demo model's geometry (default 64; -1: one lattice row; 0: the "
      "whole slice)", "N" },
    { "samples", 'M', 0, G_OPTION_ARG_INT, &n_samples, "Completions per patch (default 10)",
      "M" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Dropout seed (default 1337)", "S" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch,
      "Patches per network call on both sides (default: the device's chunk for Picard, 32 "
      "as PICARD's code for PyTorch)", "B" },
    { "torch-batch", 0, 0, G_OPTION_ARG_INT, &torch_batch,
      "Patches per generator call on the PyTorch side only", "B" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads,
      "PyTorch's CPU threads (default: one per core)", "T" },
    { "torch-device", 0, 0, G_OPTION_ARG_STRING, &torch_device,
      "PyTorch's device: cpu or cuda (default cpu)", "DEV" },
    { "volume", 0, 0, G_OPTION_ARG_FILENAME, &volume,
      "A 2457 x 1996 DICOM volume (default: a phantom made by picard-cli phantom)", "FILE" },
    { "slice", 0, 0, G_OPTION_ARG_INT, &slice_index,
      "The slice of the volume (default: the middle one)", "N" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &paper_ckpt,
      "The paper-geometry checkpoint (default: random weights, c = 32)", "DIR" },
    { "demo-model", 0, 0, G_OPTION_ARG_FILENAME, &demo_model,
      "The demo model (default: train/demo-model of the source tree)", "DIR" },
    { "demo-stride", 0, 0, G_OPTION_ARG_INT, &demo_stride,
      "Stride at the demo geometry (default 16, the demo's P/4)", "S" },
    { NULL }
  };

  context = g_option_context_new ("- time the PICARD scan against a PyTorch-driven scan");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-scan: %s\n", error->message);
      return 1;
    }
  if (geometry == NULL)
    geometry = g_strdup ("both");
  do_paper = strcmp (geometry, "paper") == 0 || strcmp (geometry, "both") == 0;
  do_demo = strcmp (geometry, "demo") == 0 || strcmp (geometry, "both") == 0;
  if ((!do_paper && !do_demo) || n_samples < 1 || n_samples > PICARD_SCAN_MAX_SAMPLES
      || batch < 0 || torch_batch < 0 || threads < 0 || seed < 0 || demo_stride < 1
      || paper_patches < 0 || demo_patches < -1)
    {
      g_printerr ("bench-scan: bad option (see --help)\n");
      return 1;
    }
  if (torch_device == NULL)
    torch_device = g_strdup ("cpu");
  if (backend_text != NULL && g_ascii_strcasecmp (backend_text, "all") == 0)
    {
      backends[0] = PICARD_BACKEND_VULKAN;
      backends[1] = PICARD_BACKEND_CPU;
      n_backends = 2;
    }
  else if (backend_text != NULL
           && !picard_backend_from_string (backend_text, &backends[0], &error))
    {
      g_printerr ("bench-scan: %s\n", error->message);
      return 1;
    }
  source_dir = g_getenv ("PICARD_SOURCE_DIR");
  if (source_dir == NULL)
    {
      g_printerr ("bench-scan: set PICARD_SOURCE_DIR to the source tree (meson test does)\n");
      return 1;
    }

  dir = g_dir_make_tmp ("picard-bench-scan-XXXXXX", &error);
  g_assert_no_error (error);
  if (volume == NULL)
    {
      g_autofree char *phantoms = g_build_filename (dir, "phantom", NULL);
      g_autofree char *err = NULL;

      if (picard_test_run_cli (NULL, &err, "phantom", "-o", phantoms, "--seed=5",
                               "--frames=5", "--masses=2", "--calcifications=1", NULL) != 0)
        g_error ("picard-cli phantom failed: %s", err);
      volume = find_dicom (phantoms);
      g_assert_nonnull (volume);
    }
  slice = read_slice (volume, slice_index, &index, &error);
  if (slice == NULL)
    {
      g_printerr ("bench-scan: %s\n", error->message);
      picard_test_remove_tree (dir);
      return 1;
    }
  slice_npy = g_build_filename (dir, "slice.npy", NULL);
  {
    const gsize shape[2] = { FULL_ROWS, FULL_COLUMNS };

    g_assert_true (picard_npy_save_float32 (slice_npy, 2, shape, slice, &error));
  }
  if (do_paper && paper_ckpt == NULL)
    {
      g_autofree char *script = g_build_filename (source_dir, "tests", "network-reference.py",
                                                  NULL);

      paper_ckpt = g_build_filename (dir, "checkpoint", NULL);
      {
        const char *args[] = { script, "checkpoint", paper_ckpt, "--cnum", "32", "--input-dim",
                               "1", "--ndf", "32", NULL };

        g_free (picard_test_run_python (NULL, args));
      }
    }
  if (demo_model == NULL)
    demo_model = g_build_filename (source_dir, "train", "demo-model", NULL);

  printf ("slice %u of %s, %u x %u, as picard-cli heatmap reads it\n", index, volume,
          FULL_ROWS, FULL_COLUMNS);
  if (threads > 0)
    printf ("PyTorch (train/bench_scan.py): %s, %d threads\n", torch_device, threads);
  else
    printf ("PyTorch (train/bench_scan.py): %s, one thread per core\n", torch_device);
  if (do_paper)
    {
      const Geometry paper = { "paper", PICARD_SCAN_DEFAULT_PATCH, PICARD_SCAN_DEFAULT_HOLE,
                               PICARD_SCAN_DEFAULT_STRIDE };

      ok = bench_geometry (backends, n_backends, &paper, paper_ckpt, slice, slice_npy, paper_patches,
                           n_samples, seed, batch, torch_batch, threads, torch_device, &error);
    }
  if (ok && do_demo)
    {
      const Geometry demo = { "demo", 64, 32, (guint) demo_stride };

      ok = bench_geometry (backends, n_backends, &demo, demo_model, slice, slice_npy, demo_patches,
                           n_samples, seed, batch, torch_batch, threads, torch_device, &error);
    }
  if (ok)
    printf ("\nSeconds per full slice are extrapolated: the full slice's lattice size divided "
            "by\nthe patches per second measured on the timed patches (warm-up excluded).\n");
  picard_test_remove_tree (dir);
  if (!ok)
    {
      g_printerr ("bench-scan: %s\n", error->message);
      return 1;
    }
  return 0;
}
