/* picard-cli heatmap and eval: the pipeline (app/picard-heatmap-job.h,
 * app/picard-heatmap-eval.h) driven in-process by the synthetic completer of
 * tests/picard-test-completer.c on small phantoms (160 x 128, P 32, H 16, stride 8, M 4),
 * its files checked with NumPy and scikit-learn (/usr/bin/python3), and the built picard-cli's
 * answers to bad arguments. */
#include <cairo.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "picard-error.h"
#include "picard-heatmap-eval.h"
#include "picard-heatmap-job.h"
#include "picard-npy.h"
#include "picard-test-completer.h"
#include "picard-test-cli.h"

#define ROWS 160
#define COLS 128
#define FRAMES 6

/* Made once by main(): two phantom volumes with one mass each, and their tables. */
static char *data_dir;
static char *volume_paths[2];
static char *boxes_path;

/* Runs a Python snippet under Debian's python3 with @args; returns its stdout. */
static char *
run_python (const char *code, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_ptr_array_add (args, (gpointer) "-c");
  g_ptr_array_add (args, (gpointer) code);
  va_start (ap, code);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return picard_test_run_python (NULL, (const char *const *) args->pdata);
}

static void
small_options (PicardHeatmapJobOptions *options, const char *output_dir)
{
  picard_heatmap_job_options_init (options);
  options->scan.patch_size = 32;
  options->scan.hole_size = 16;
  options->scan.stride = 8;
  options->scan.n_samples = 4;
  options->scan.seed = 1337;
  options->output_dir = output_dir;
  options->checkpoint = "synthetic";
  options->dropout_layers = "released";
}

static PicardHeatmapVolume *
open_volume (guint which, const guint *slices, guint n_slices)
{
  g_autoptr(GError) error = NULL;
  PicardHeatmapVolume *volume = picard_heatmap_volume_open (volume_paths[which],
                                                            PICARD_VIEW_UNKNOWN, &error);
  g_assert_no_error (error);
  g_assert_nonnull (volume);
  volume->slices = g_memdup2 (slices, n_slices * sizeof (guint));
  volume->n_slices = n_slices;
  return volume;
}

static char *
slice_file (const char *outdir, const PicardHeatmapVolume *volume, guint slice,
            const char *suffix)
{
  g_autofree char *dir = g_build_filename (outdir, volume->tag, NULL);
  return picard_heatmap_job_slice_path (dir, slice, suffix);
}

static GArray *
load_boxes (void)
{
  g_autoptr(GError) error = NULL;
  GArray *boxes = picard_boxes_load (boxes_path, &error);
  g_assert_no_error (error);
  return boxes;
}

/* The lesion box of volume @which in aligned space, and its slice. */
static void
lesion_box (guint which, PicardRect *rect, guint *slice)
{
  g_autoptr(GArray) boxes = load_boxes ();
  g_autoptr(PicardHeatmapVolume) volume = open_volume (which, NULL, 0);
  const PicardVolumeInfo *info = picard_volume_get_info (volume->volume);
  g_autoptr(GArray) matched = picard_boxes_match (boxes, info->patient_id,
                                                  info->study_instance_uid, volume->view);
  g_autoptr(GError) error = NULL;
  g_autofree float *pixels = NULL;
  PicardOrientation orientation;
  PicardWindowLevel wl;
  const PicardBox *box;

  g_assert_cmpuint (matched->len, ==, 1);
  box = &g_array_index (matched, PicardBox, 0);
  pixels = picard_heatmap_job_read_slice (volume, (guint) box->slice, &orientation, &wl, NULL,
                                          &error);
  g_assert_no_error (error);
  *rect = (PicardRect) { box->x, box->y, box->width, box->height };
  picard_orientation_map_box (&orientation, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED,
                              &rect->x, &rect->y, rect->width, rect->height);
  *slice = (guint) box->slice;
}

/* The job's files of one lesion slice: the .npy arrays load in NumPy with the right shapes
 * and equal the heatmap scanned here, the sidecar holds every parameter, the overlay PNG has
 * the slice's size and is hot on the lesion. */
static void
test_outputs (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *outdir = g_dir_make_tmp ("picard-heatmap-XXXXXX", &error);
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (16, TRUE);
  g_autoptr(PicardHeatmapVolume) volume = NULL;
  g_autoptr(PicardScanResult) result = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree float *pixels = NULL;
  g_autofree float *expected = NULL;
  g_autofree char *expected_path = NULL;
  g_autofree char *heatmap_path = NULL;
  g_autofree char *grid_path = NULL;
  g_autofree char *distances_path = NULL;
  g_autofree char *features_path = NULL;
  g_autofree char *sidecar_path = NULL;
  g_autofree char *overlay_path = NULL;
  g_autofree char *out = NULL;
  PicardHeatmapJobOptions options;
  PicardHeatmapVolume *volumes[1];
  PicardOrientation orientation;
  PicardWindowLevel wl;
  PicardRect box;
  JsonObject *root, *parameters, *model, *scan;
  cairo_surface_t *overlay;
  guint slice;

  g_assert_no_error (error);
  lesion_box (0, &box, &slice);
  volume = open_volume (0, &slice, 1);
  volumes[0] = volume;
  small_options (&options, outdir);
  options.metric.reduce = PICARD_SCAN_REDUCE_MIN;
  g_assert_true (picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer),
                                         NULL, &error));
  g_assert_no_error (error);

  /* The same scan, here. */
  pixels = picard_heatmap_job_read_slice (volume, slice, &orientation, &wl, NULL, &error);
  g_assert_no_error (error);
  result = picard_scan_result_new (ROWS, COLS, slice, &options.scan,
                                   picard_completer_get_feature_length (
                                     PICARD_COMPLETER (completer), 16), &error);
  g_assert_no_error (error);
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), pixels, NULL, NULL,
                                  NULL, NULL, &error));
  expected = picard_heatmap_from_result (result, options.metric, options.mode, &error);
  g_assert_no_error (error);
  expected_path = g_build_filename (outdir, "expected.f32", NULL);
  g_assert_true (g_file_set_contents (expected_path, (const char *) expected,
                                      (gssize) (ROWS * COLS * sizeof (float)), &error));

  heatmap_path = slice_file (outdir, volume, slice, ".heatmap.npy");
  grid_path = slice_file (outdir, volume, slice, ".grid.npy");
  distances_path = slice_file (outdir, volume, slice, ".distances.npy");
  features_path = slice_file (outdir, volume, slice, ".feature-distances.npy");
  sidecar_path = slice_file (outdir, volume, slice, ".json");
  overlay_path = slice_file (outdir, volume, slice, ".overlay.png");
  out = run_python (
    "import sys, json, numpy as np\n"
    "h, g, d, f, side, exp = sys.argv[1:7]\n"
    "h = np.load(h); g = np.load(g); d = np.load(d); f = np.load(f)\n"
    "e = np.fromfile(exp, dtype='<f4').reshape(160, 128)\n"
    "assert h.dtype == np.float32 and h.shape == (160, 128), (h.dtype, h.shape)\n"
    "assert np.array_equal(h, e, equal_nan=True)\n"
    "assert g.shape == (17, 13) and d.shape == (17, 13, 4) and f.shape == (17, 13, 4)\n"
    "assert np.array_equal(g, d.min(axis=2)), 'grid is not the MCD of the distances'\n"
    "s = json.load(open(side))\n"
    "p = s['parameters']\n"
    "assert (p['patch_size'], p['hole_size'], p['stride'], p['n_samples'], p['seed']) == "
    "(32, 16, 8, 4, '1337')\n"
    "assert p['metric'] == 'mcd-image' and p['mode'] == 'registered'\n"
    "print('ok', s['model']['hash'])\n",
    heatmap_path, grid_path, distances_path, features_path, sidecar_path, expected_path, NULL);
  g_assert_true (g_str_has_prefix (out, "ok "));
  g_assert_nonnull (strstr (out, picard_completer_get_model_hash (PICARD_COMPLETER (completer))));

  /* The sidecar: every parameter, the model and the timing. */
  g_assert_true (json_parser_load_from_file (parser, sidecar_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==,
                   PICARD_HEATMAP_SIDECAR_FORMAT);
  g_assert_cmpint (json_object_get_int_member (root, "slice"), ==, slice);
  g_assert_cmpint (json_object_get_int_member (root, "rows"), ==, ROWS);
  g_assert_cmpint (json_object_get_int_member (root, "columns"), ==, COLS);
  parameters = json_object_get_object_member (root, "parameters");
  for (const char *const *key = (const char *const[]) { "patch_size", "hole_size", "stride",
         "n_samples", "seed", "metric", "mode", "dropout_layers", "dropout_p", "skip_air",
         "air_level", "roi", NULL }; *key != NULL; key++)
    g_assert_true (json_object_has_member (parameters, *key));
  model = json_object_get_object_member (root, "model");
  g_assert_cmpstr (json_object_get_string_member (model, "hash"), ==,
                   picard_completer_get_model_hash (PICARD_COMPLETER (completer)));
  g_assert_cmpstr (json_object_get_string_member (model, "device"), ==,
                   picard_completer_get_device_name (PICARD_COMPLETER (completer)));
  scan = json_object_get_object_member (root, "scan");
  g_assert_cmpint (json_object_get_int_member (scan, "patches"), ==, 17 * 13);
  g_assert_cmpint (json_object_get_int_member (scan, "completed"), ==, 17 * 13);
  g_assert_true (json_object_get_double_member (scan, "seconds") >= 0);
  g_assert_true (json_object_has_member (json_object_get_object_member (root, "orientation"),
                                         "mirror"));

  /* The overlay: the slice's size, red (jet's top) on the lesion, blue far from it. */
  overlay = cairo_image_surface_create_from_png (overlay_path);
  g_assert_cmpint (cairo_surface_status (overlay), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (overlay), ==, COLS);
  g_assert_cmpint (cairo_image_surface_get_height (overlay), ==, ROWS);
  {
    const guint8 *data = cairo_image_surface_get_data (overlay);
    int stride = cairo_image_surface_get_stride (overlay);
    guint hot_x = 0, hot_y = 0, cold_x = 0, cold_y = 0;
    float hot = -INFINITY, cold = INFINITY;
    double inside = 0, all = 0;
    guint n_inside = 0, n_all = 0;
    guint32 pixel;

    for (guint y = 0; y < ROWS; y++)
      for (guint x = 0; x < COLS; x++)
        {
          float value = expected[y * COLS + x];
          if (!isfinite (value))
            continue;
          if (value > hot)
            {
              hot = value;
              hot_x = x;
              hot_y = y;
            }
          if (value < cold)
            {
              cold = value;
              cold_x = x;
              cold_y = y;
            }
          all += value;
          n_all++;
          if ((int) x >= box.x && (int) x <= box.x + box.width && (int) y >= box.y
              && (int) y <= box.y + box.height)
            {
              inside += value;
              n_inside++;
            }
        }
    /* The synthetic model finds bright tissue anomalous: the mass scores above the slice's
     * average. */
    g_assert_cmpuint (n_inside, >, 0);
    g_assert_cmpfloat (inside / n_inside, >, all / n_all);
    /* Jet: the hottest pixel red, the coldest blue, at the same place as in the heatmap. */
    pixel = *(const guint32 *) (const void *) (data + hot_y * stride + hot_x * 4);
    g_assert_cmpuint ((pixel >> 16) & 0xff, >, (pixel & 0xff) + 40);
    pixel = *(const guint32 *) (const void *) (data + cold_y * stride + cold_x * 4);
    g_assert_cmpuint (pixel & 0xff, >, ((pixel >> 16) & 0xff) + 40);
  }
  cairo_surface_destroy (overlay);
  picard_test_remove_tree (outdir);
}

/* Eval on the job's files gives scikit-learn's AUC and AP on the same arrays, for every
 * slice; the CLI's JSON, CSV and ROC plot say the same. */
static void
test_eval_matches_sklearn (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *outdir = g_dir_make_tmp ("picard-eval-XXXXXX", &error);
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (16, FALSE);
  g_autoptr(PicardHeatmapVolume) v0 = NULL;
  g_autoptr(PicardHeatmapVolume) v1 = NULL;
  g_autoptr(GArray) boxes = load_boxes ();
  g_autoptr(PicardHeatmapEvalReport) report = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json_path = g_build_filename (outdir, "eval.json", NULL);
  g_autofree char *csv_path = g_build_filename (outdir, "eval.csv", NULL);
  g_autofree char *roc_path = g_build_filename (outdir, "roc.png", NULL);
  g_autofree char *err = NULL;
  PicardHeatmapEvalOptions eval_options;
  PicardHeatmapJobOptions options;
  PicardHeatmapVolume *volumes[2];
  const char *dirs[] = { outdir, NULL };
  PicardRect box0, box1;
  g_autoptr(PicardHeatmapEvalReport) breast = NULL;
  g_autoptr(GPtrArray) python_args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) lesion_slices = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) lines = NULL;
  g_autofree char *out = NULL;
  guint slice0, slice1, with_lesion = 0;

  g_assert_no_error (error);
  lesion_box (0, &box0, &slice0);
  lesion_box (1, &box1, &slice1);
  {
    guint s0[] = { slice0, (slice0 + 2) % FRAMES };
    guint s1[] = { slice1 };
    v0 = open_volume (0, s0, 2);
    v1 = open_volume (1, s1, 1);
  }
  volumes[0] = v0;
  volumes[1] = v1;
  small_options (&options, outdir);
  options.mode = PICARD_HEATMAP_REFERENCE;
  g_assert_true (picard_heatmap_job_run (&options, volumes, 2, PICARD_COMPLETER (completer),
                                         NULL, &error));
  g_assert_no_error (error);

  picard_heatmap_eval_options_init (&eval_options);
  report = picard_heatmap_eval_run (dirs, boxes, &eval_options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (report->slices->len, ==, 3);
  g_assert_cmpuint (report->n_volumes, ==, 2);
  g_assert_cmpuint (report->n_truths, ==, 2);
  eval_options.breast_only = TRUE;
  breast = picard_heatmap_eval_run (dirs, boxes, &eval_options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (breast->slices->len, ==, 3);

  /* scikit-learn on every lesion slice: heatmap, labels and breast mask files, one
   * interpreter. */
  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      gboolean first = strcmp (s->tag, v0->tag) == 0;
      const PicardRect *box = first ? &box0 : &box1;
      gboolean lesion = s->slice == (first ? slice0 : slice1);
      g_autofree guint8 *labels = picard_eval_box_labels (ROWS, COLS, box, lesion ? 1 : 0);
      g_autofree char *name = g_strdup_printf ("labels-%u.u8", k);
      char *labels_path = g_build_filename (outdir, name, NULL);

      g_assert_cmpuint (s->n_boxes, ==, lesion ? 1 : 0);
      if (!lesion)
        {
          g_free (labels_path);
          continue;
        }
      g_assert_true (g_file_set_contents (labels_path, (const char *) labels, ROWS * COLS,
                                          &error));
      g_ptr_array_add (python_args, slice_file (outdir, first ? v0 : v1, s->slice,
                                                ".heatmap.npy"));
      g_ptr_array_add (python_args, labels_path);
      g_ptr_array_add (python_args, slice_file (outdir, first ? v0 : v1, s->slice,
                                                ".breast.png"));
      g_array_append_val (lesion_slices, k);
    }
  g_assert_cmpuint (lesion_slices->len, ==, 2);
  out = run_python (
    "import sys, numpy as np, matplotlib.image as im\n"
    "from sklearn.metrics import roc_auc_score, average_precision_score\n"
    "a = sys.argv[1:]\n"
    "for k in range(0, len(a), 3):\n"
    "  h0 = np.load(a[k]).astype(np.float64).ravel()\n"
    "  y0 = np.fromfile(a[k + 1], dtype=np.uint8)\n"
    "  m = im.imread(a[k + 2]).ravel() > 0\n"
    "  assert 0 < m.sum() < m.size\n"
    "  for h, y in ((h0.copy(), y0), (h0[m], y0[m])):\n"
    "    h[np.isnan(h)] = np.nanmin(h) - 1\n"
    "    print(repr(roc_auc_score(y, h)), repr(average_precision_score(y, h)))\n",
    g_ptr_array_index (python_args, 0), g_ptr_array_index (python_args, 1),
    g_ptr_array_index (python_args, 2), g_ptr_array_index (python_args, 3),
    g_ptr_array_index (python_args, 4), g_ptr_array_index (python_args, 5), NULL);
  lines = g_strsplit (out, "\n", -1);
  for (guint j = 0; j < lesion_slices->len; j++)
    {
      guint k = g_array_index (lesion_slices, guint, j);
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      /* Both reports are sorted the same way. */
      const PicardHeatmapEvalSlice *bs = g_ptr_array_index (breast->slices, k);
      double auc, ap;

      g_assert_cmpuint (bs->slice, ==, s->slice);
      g_assert_cmpint (sscanf (lines[2 * j], "%lf %lf", &auc, &ap), ==, 2);
      g_assert_cmpfloat_with_epsilon (s->scores.auc, auc, 1e-9);
      g_assert_cmpfloat_with_epsilon (s->scores.ap, ap, 1e-9);
      g_assert_cmpint (sscanf (lines[2 * j + 1], "%lf %lf", &auc, &ap), ==, 2);
      g_assert_cmpfloat_with_epsilon (bs->scores.auc, auc, 1e-9);
      g_assert_cmpfloat_with_epsilon (bs->scores.ap, ap, 1e-9);
      g_assert_cmpuint (bs->scores.n_negative, <, s->scores.n_negative);
    }
  with_lesion = lesion_slices->len;
  g_assert_cmpuint (with_lesion, ==, 2);
  g_assert_cmpuint (report->auc.n, ==, 2);
  g_assert_true (report->auc.low <= report->auc.mean && report->auc.mean <= report->auc.high);
  g_assert_true (report->froc_sensitivity[3] >= 0 && report->froc_sensitivity[3] <= 1);

  /* The CLI on the same folder. */
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "eval", outdir, "--boxes", boxes_path, "--json",
                                        json_path, "--csv", csv_path, "--roc", roc_path,
                                        "--bootstrap", "200", NULL), ==, 0);
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  {
    JsonObject *root = json_node_get_object (json_parser_get_root (parser));
    JsonObject *auc = json_object_get_object_member (root, "auc");
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (auc, "mean"),
                                    report->auc.mean, 1e-12);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "slices")),
                      ==, 3);
  }
  g_assert_true (g_file_test (csv_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (roc_path, G_FILE_TEST_IS_REGULAR));
  picard_test_remove_tree (outdir);
}

/* Shards partition the item list exactly, round robin. */
static void
test_shards (void)
{
  for (guint items = 0; items < 40; items += 3)
    for (guint count = 1; count <= 7; count++)
      {
        g_autofree guint *hits = g_new0 (guint, items + 1);
        guint total = 0;
        for (guint index = 0; index < count; index++)
          {
            guint n;
            g_autofree guint *positions = picard_heatmap_job_shard (items, index, count, &n);
            g_assert_cmpuint (n, <=, items / count + 1);
            g_assert_cmpuint (n + 1, >=, items / count + (items % count != 0));
            for (guint k = 0; k < n; k++)
              {
                g_assert_cmpuint (positions[k], <, items);
                g_assert_cmpuint (positions[k] % count, ==, index);
                hits[positions[k]]++;
              }
            total += n;
          }
        g_assert_cmpuint (total, ==, items);
        for (guint k = 0; k < items; k++)
          g_assert_cmpuint (hits[k], ==, 1);
      }
}

static void
test_parsers (void)
{
  g_autoptr(GError) error = NULL;
  guint a, b;
  PicardRect roi;

  g_assert_true (picard_heatmap_job_parse_shard ("2/5", &a, &b, &error));
  g_assert_cmpuint (a, ==, 2);
  g_assert_cmpuint (b, ==, 5);
  for (const char *const *bad = (const char *const[]) { "5/5", "1/0", "1", "a/b", "-1/3",
         "1/2/3", "", NULL }; *bad != NULL; bad++)
    {
      g_assert_false (picard_heatmap_job_parse_shard (*bad, &a, &b, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_true (picard_heatmap_job_parse_range ("3:7", &a, &b, &error));
  g_assert_cmpuint (a, ==, 3);
  g_assert_cmpuint (b, ==, 7);
  g_assert_false (picard_heatmap_job_parse_range ("7:3", &a, &b, &error));
  g_clear_error (&error);
  g_assert_true (picard_heatmap_job_parse_roi ("1,2,30,40", &roi, &error));
  g_assert_cmpint (roi.x + roi.y + roi.width + roi.height, ==, 73);
  g_assert_false (picard_heatmap_job_parse_roi ("1,2,0,40", &roi, &error));
  g_clear_error (&error);
  g_assert_false (picard_heatmap_job_parse_roi ("1,2,3", &roi, &error));
  g_clear_error (&error);
}

static void
test_lesion_slices (void)
{
  g_autoptr(GArray) boxes = load_boxes ();
  g_autoptr(PicardHeatmapVolume) volume = open_volume (1, NULL, 0);
  const PicardVolumeInfo *info = picard_volume_get_info (volume->volume);
  g_autofree guint *slices = NULL;
  PicardRect box;
  guint slice, n;

  lesion_box (1, &box, &slice);
  slices = picard_heatmap_job_lesion_slices (boxes, info->patient_id, info->study_instance_uid,
                                             volume->view, FRAMES, &n);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (slices[0], ==, slice);
  g_free (slices);
  /* Another view of the same patient has no boxes. */
  slices = picard_heatmap_job_lesion_slices (boxes, info->patient_id, info->study_instance_uid,
                                             PICARD_VIEW_LMLO, FRAMES, &n);
  g_assert_cmpuint (n, ==, 0);
}

static void
cancel_after_first (const PicardScanProgress *progress, gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

/* Cancelled after the first batch: no output for the slice, the cache keeps the batch, and
 * the rerun resumes to the same heatmap as an uninterrupted run. */
static void
test_cancel_resume (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *outdir = g_dir_make_tmp ("picard-cancel-XXXXXX", &error);
  g_autofree char *cache = g_build_filename (outdir, "cache", NULL);
  g_autofree char *resumed_dir = g_build_filename (outdir, "resumed", NULL);
  g_autofree char *plain_dir = g_build_filename (outdir, "plain", NULL);
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (16, FALSE);
  g_autoptr(PicardHeatmapVolume) volume = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PicardNpy) a = NULL;
  g_autoptr(PicardNpy) b = NULL;
  g_autofree char *sidecar = NULL;
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  PicardHeatmapJobOptions options;
  PicardHeatmapVolume *volumes[1];
  guint slice = 2, calls, resumed_calls;

  g_assert_no_error (error);
  volume = open_volume (0, &slice, 1);
  volumes[0] = volume;
  small_options (&options, resumed_dir);
  options.cache_dir = cache;
  options.progress = cancel_after_first;
  options.progress_data = cancellable;
  g_assert_false (picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer),
                                          cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  sidecar = slice_file (resumed_dir, volume, slice, ".json");
  g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
  calls = picard_test_completer_get_calls (completer);
  g_assert_cmpuint (calls, >=, 1);

  options.progress = NULL;
  picard_test_completer_reset_counts (completer);
  g_assert_true (picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer),
                                         NULL, &error));
  g_assert_no_error (error);
  resumed_calls = picard_test_completer_get_calls (completer);
  g_assert_true (g_file_test (sidecar, G_FILE_TEST_IS_REGULAR));

  small_options (&options, plain_dir);
  picard_test_completer_reset_counts (completer);
  g_assert_true (picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer),
                                         NULL, &error));
  g_assert_no_error (error);
  /* The resumed run completed only what the cancelled one had not. */
  g_assert_cmpuint (calls + resumed_calls, ==, picard_test_completer_get_calls (completer));
  path_a = slice_file (resumed_dir, volume, slice, ".heatmap.npy");
  path_b = slice_file (plain_dir, volume, slice, ".heatmap.npy");
  a = picard_npy_load (path_a, &error);
  g_assert_no_error (error);
  b = picard_npy_load (path_b, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->n_elements, ==, b->n_elements);
  g_assert_cmpmem (a->data, a->n_elements * 4, b->data, b->n_elements * 4);
  picard_test_remove_tree (outdir);
}

/* A full disk (a file size limit) while writing: a clear error, and the complete outputs of
 * an earlier run stay as they were. */
static void
test_full_disk (void)
{
  static char *outdir;
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (16, FALSE);
  g_autoptr(PicardHeatmapVolume) volume = NULL;
  PicardHeatmapJobOptions options;
  PicardHeatmapVolume *volumes[1];
  guint slice = 1;

  volume = open_volume (0, &slice, 1);
  volumes[0] = volume;
  if (g_test_subprocess ())
    {
      struct rlimit limit = { 16384, 16384 };
      /* Writes past the limit then fail with EFBIG instead of killing the process. */
      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      small_options (&options, g_getenv ("PICARD_TEST_OUTDIR"));
      options.scan.seed = 99;
      if (!picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer), NULL,
                                   &error))
        {
          g_printerr ("failed: %s\n", error->message);
          exit (1);
        }
      exit (0);
    }

  outdir = g_dir_make_tmp ("picard-disk-XXXXXX", &error);
  g_assert_no_error (error);
  small_options (&options, outdir);
  g_assert_true (picard_heatmap_job_run (&options, volumes, 1, PICARD_COMPLETER (completer),
                                         NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *sidecar = slice_file (outdir, volume, slice, ".json");
    g_autofree char *heatmap = slice_file (outdir, volume, slice, ".heatmap.npy");
    g_autofree char *before_s = NULL, *after_s = NULL, *before_h = NULL, *after_h = NULL;
    gsize ls, lh, ls2, lh2;

    g_assert_true (g_file_get_contents (sidecar, &before_s, &ls, NULL));
    g_assert_true (g_file_get_contents (heatmap, &before_h, &lh, NULL));
    g_setenv ("PICARD_TEST_OUTDIR", outdir, TRUE);
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed ();
    g_test_trap_assert_stderr ("*failed: *heatmap.npy*File too large*");
    g_assert_true (g_file_get_contents (sidecar, &after_s, &ls2, NULL));
    g_assert_true (g_file_get_contents (heatmap, &after_h, &lh2, NULL));
    g_assert_cmpmem (before_s, ls, after_s, ls2);
    g_assert_cmpmem (before_h, lh, after_h, lh2);
  }
  picard_test_remove_tree (outdir);
  g_clear_pointer (&outdir, g_free);
}

/* Bad arguments: exit 1 with a message that names the problem, before any model is read. */
static void
test_cli_bad_arguments (void)
{
  g_autofree char *outdir = g_dir_make_tmp ("picard-cli-bad-XXXXXX", NULL);
  g_autofree char *checkpoint = g_build_filename (outdir, "no-checkpoint", NULL);
  const char *v = volume_paths[0];
  struct {
    const char *args[6];
    const char *message;
  } cases[] = {
    { { "-P", "256", NULL }, "*patch (256 x 256) is larger than the slice*" },
    { { "-P", "32", "-H", "48", NULL }, "*Hole size 48*smaller than the patch*" },
    { { "-P", "32", "-H", "16", "--stride", "0" }, "*stride must be at least 1*" },
    { { "-P", "32", "-H", "16", "-M", "0" }, "*completions per patch (M = 0)*" },
    { { "-P", "32", "-H", "16", "--roi", "100,150,64,64" },
      "*region of interest*not inside the slice*" },
    { { "--shard", "4/4", NULL }, "*shard*" },
    { { "--metric", "max", NULL }, "*metric*" },
    { { "--slice", "6", NULL }, "*outside*" },
    { { "--slice", "1", "--slices", "0:2" }, "*only one of*" },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *err = NULL;
      const char **a = cases[k].args;
      int status = picard_test_run_cli (NULL, &err, "heatmap", v, "--checkpoint", checkpoint, "-o",
                                        outdir, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
      g_test_message ("case %u: %s", k, err);
      g_assert_cmpint (status, ==, 1);
      g_assert_true (g_str_has_prefix (err, "picard-cli heatmap: "));
      g_assert_true (g_pattern_match_simple (cases[k].message, err));
    }
  {
    g_autofree char *err = NULL;
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "heatmap", v, "-o", outdir, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "--checkpoint"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "eval", outdir, "--boxes", boxes_path,
                                          NULL), ==, 1);
    g_assert_nonnull (strstr (err, "no heatmap sidecars"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "eval", outdir, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "--boxes"));
  }
  picard_test_remove_tree (outdir);
}

/* Random checkpoints of the real network (train/picard_model.py), made by PyTorch: for one
 * channel in @gray, three in @rgb, one channel with critics for 32 x 32 patches and a 16 x 16
 * hole in @small (one interpreter: importing torch is the slow part). */
static void
make_checkpoints (const char *gray, const char *rgb, const char *small)
{
  g_free (run_python ("import sys\n"
                      "from train.picard_model import write_random_checkpoint as w\n"
                      "w(sys.argv[1], cnum=8, input_dim=1, ndf=8)\n"
                      "w(sys.argv[2], cnum=8, input_dim=3, ndf=8)\n"
                      "w(sys.argv[3], cnum=8, input_dim=1, ndf=8, patch_size=32, hole_size=16)\n",
                      gray, rgb, small, NULL));
}

/* The built picard-cli with the real network on a tiny random checkpoint: two shards of
 * three slices write the files of exactly their slices, eval merges them, and a checkpoint
 * for three channels is refused. */
static void
test_cli_end_to_end (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-cli-e2e-XXXXXX", &error);
  g_autofree char *checkpoint = g_build_filename (dir, "checkpoint", NULL);
  g_autofree char *rgb = g_build_filename (dir, "rgb", NULL);
  g_autofree char *small = g_build_filename (dir, "small", NULL);
  g_autofree char *outdir = g_build_filename (dir, "out", NULL);
  g_autofree char *cache = g_build_filename (dir, "cache", NULL);
  g_autofree char *json_path = g_build_filename (dir, "eval.json", NULL);
  g_autoptr(PicardHeatmapVolume) volume = open_volume (0, NULL, 0);
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *shards[] = { "0/2", "1/2" };

  g_assert_no_error (error);
  make_checkpoints (checkpoint, rgb, small);
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *err = NULL;
      int status = picard_test_run_cli (NULL, &err, "heatmap", volume_paths[0], "--checkpoint",
                                        checkpoint, "--slices", "2:4", "--shard", shards[k], "-P",
                                        "32", "-H", "16", "--stride", "16", "-M", "2", "--roi",
                                        "48,64,24,24", "--cache-dir", cache, "-o", outdir, NULL);
      g_test_message ("shard %s: %s", shards[k], err);
      g_assert_cmpint (status, ==, 0);
      /* Sizes other than the critics' are allowed, and said. */
      g_assert_nonnull (strstr (err, "was trained on 256 x 256 patches with a 128 x 128 hole; "
                                     "scanning with 32 / 16"));
    }
  /* No sizes given: the ones the checkpoint's critics were trained for, stride P/8. */
  {
    g_autofree char *trained = g_build_filename (dir, "trained", NULL);
    g_autofree char *sidecar = slice_file (trained, volume, 1, ".json");
    g_autofree char *err = NULL;
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "heatmap", volume_paths[0], "--checkpoint",
                                          small, "--slice", "1", "-M", "1", "--roi",
                                          "48,64,8,8", "--no-cache", "-o", trained, NULL), ==, 0);
    g_assert_null (strstr (err, "note:"));
    g_assert_true (json_parser_load_from_file (parser, sidecar, &error));
    g_assert_no_error (error);
    JsonObject *parameters = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), "parameters");
    g_assert_cmpint (json_object_get_int_member (parameters, "patch_size"), ==, 32);
    g_assert_cmpint (json_object_get_int_member (parameters, "hole_size"), ==, 16);
    g_assert_cmpint (json_object_get_int_member (parameters, "stride"), ==, 4);
  }
  /* Shard 0 has items 0 and 2 (slices 2 and 4), shard 1 item 1 (slice 3). */
  for (guint slice = 0; slice < FRAMES; slice++)
    {
      g_autofree char *sidecar = slice_file (outdir, volume, slice, ".json");
      g_autofree char *heatmap = slice_file (outdir, volume, slice, ".heatmap.npy");
      g_autoptr(PicardNpy) npy = NULL;
      gboolean scanned = slice >= 2 && slice <= 4;

      g_assert_cmpint (g_file_test (sidecar, G_FILE_TEST_EXISTS), ==, scanned);
      if (!scanned)
        continue;
      npy = picard_npy_load (heatmap, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (npy->ndim, ==, 2);
      g_assert_cmpuint (npy->shape[0], ==, ROWS);
      g_assert_cmpuint (npy->shape[1], ==, COLS);
    }
  {
    g_autofree char *err = NULL;
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "eval", outdir, "--boxes", boxes_path,
                                          "--json", json_path, "--bootstrap", "50", NULL), ==, 0);
    g_assert_true (json_parser_load_from_file (parser, json_path, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_node_get_object (json_parser_get_root (parser)), "slices")), ==,
                      3);
  }

  /* Ctrl+C while the second slice runs: exit 130 with a message, the first slice's files
   * complete, none of the second's. */
  {
    g_autofree char *interrupted = g_build_filename (dir, "interrupted", NULL);
    g_autofree char *first = slice_file (interrupted, volume, 0, ".json");
    g_autofree char *second = slice_file (interrupted, volume, 1, ".json");
    g_autofree char *err = NULL;
    g_autoptr(GSubprocess) process = NULL;
    const char *cli = g_getenv ("PICARD_CLI");
    gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

    process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, cli, "heatmap",
                                volume_paths[0], "--checkpoint", checkpoint, "--slices", "0:1",
                                "-P", "32", "-H", "16", "--stride", "24", "-M", "2",
                                "--cache-dir", cache, "-o", interrupted, NULL);
    g_assert_no_error (error);
    while (!g_file_test (first, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
      g_usleep (20000);
    g_assert_true (g_file_test (first, G_FILE_TEST_EXISTS));
    g_subprocess_send_signal (process, SIGINT);
    g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error));
    g_assert_no_error (error);
    g_test_message ("interrupted: %s", err);
    g_assert_true (g_subprocess_get_if_exited (process));
    g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 130);
    g_assert_nonnull (strstr (err, "cancelled"));
    g_assert_false (g_file_test (second, G_FILE_TEST_EXISTS));
  }

  /* --lesion-slices: the central slice of the second volume's box, and only that. */
  {
    g_autoptr(PicardHeatmapVolume) other = open_volume (1, NULL, 0);
    g_autofree char *lesions = g_build_filename (dir, "lesions", NULL);
    g_autofree char *err = NULL;
    PicardRect box;
    guint lesion;

    lesion_box (1, &box, &lesion);
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "heatmap", volume_paths[1], "--checkpoint",
                                          checkpoint, "--lesion-slices", boxes_path, "-P", "32",
                                          "-H", "16", "--stride", "16", "-M", "1", "--roi",
                                          "48,64,16,16", "--no-cache", "-q", "-o", lesions,
                                          NULL), ==, 0);
    for (guint slice = 0; slice < FRAMES; slice++)
      {
        g_autofree char *sidecar = slice_file (lesions, other, slice, ".json");
        g_assert_cmpint (g_file_test (sidecar, G_FILE_TEST_EXISTS), ==, slice == lesion);
      }
  }

  {
    g_autofree char *err = NULL;
    g_assert_cmpint (picard_test_run_cli (NULL, &err, "heatmap", volume_paths[0], "--checkpoint",
                                          rgb, "--slice", "1", "-P", "32", "-H", "16", "-o", outdir,
                                          NULL), ==, 1);
    g_assert_true (g_pattern_match_simple ("picard-cli heatmap: *takes 3 channels*", err));
  }
  picard_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  if (g_test_subprocess ())
    /* The subprocess reuses the parent's phantoms. */
    data_dir = g_strdup (g_getenv ("PICARD_TEST_DATA"));
  else
    {
      data_dir = g_dir_make_tmp ("picard-heatmap-data-XXXXXX", &error);
      g_assert_no_error (error);
      g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "-o", data_dir, "--seed", "3",
                                            "--count", "2", "--rows", "160", "--columns", "128",
                                            "--frames", "6", "--masses", "1", "--calcifications",
                                            "0", "--laterality", "R", "--view", "CC",
                                            "--stored-rotated", NULL), ==, 0);
    }
  g_setenv ("PICARD_TEST_DATA", data_dir, TRUE);
  volume_paths[0] = g_build_filename (data_dir, "Phantom-3", "rcc.dcm", NULL);
  volume_paths[1] = g_build_filename (data_dir, "Phantom-4", "rcc.dcm", NULL);
  boxes_path = g_build_filename (data_dir, "BCS-DBT-boxes.csv", NULL);

  g_test_add_func ("/heatmap-job/outputs", test_outputs);
  g_test_add_func ("/heatmap-job/eval-sklearn", test_eval_matches_sklearn);
  g_test_add_func ("/heatmap-job/shards", test_shards);
  g_test_add_func ("/heatmap-job/parsers", test_parsers);
  g_test_add_func ("/heatmap-job/lesion-slices", test_lesion_slices);
  g_test_add_func ("/heatmap-job/cancel-resume", test_cancel_resume);
  g_test_add_func ("/heatmap-job/full-disk", test_full_disk);
  g_test_add_func ("/heatmap-job/cli-bad-arguments", test_cli_bad_arguments);
  g_test_add_func ("/heatmap-job/cli-end-to-end", test_cli_end_to_end);
  status = g_test_run ();
  if (!g_test_subprocess ())
    picard_test_remove_tree (data_dir);
  return status;
}
