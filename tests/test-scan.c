/* The PICARD scan (compute/picard-scan.h), its heatmaps and its cache, driven by the synthetic
 * completer of tests/picard-test-completer.c on small slices (P 32, H 16, stride 8). */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-heatmap.h"
#include "picard-scan-cache.h"
#include "picard-scan.h"
#include "picard-test-completer.h"
#include "picard-test-cli.h"

#define ROWS 96
#define COLS 80

static void
small_params (PicardScanParams *params)
{
  picard_scan_params_init (params);
  params->patch_size = 32;
  params->hole_size = 16;
  params->stride = 8;
  params->n_samples = 4;
  params->seed = 1337;
}

/* Smooth texture in [0.2, 0.5] with a bright blob (the "lesion") around (bx, by); columns at
 * and beyond @air_from are air (0). */
static float *
make_slice (guint rows, guint cols, guint bx, guint by, guint air_from, guint seed)
{
  float *slice = g_new (float, (gsize) rows * cols);
  for (guint y = 0; y < rows; y++)
    for (guint x = 0; x < cols; x++)
      {
        float v = 0.35f + 0.1f * sinf (0.3f * x + seed) * cosf (0.23f * y + 0.5f * seed);
        float d2 = ((float) x - bx) * ((float) x - bx) + ((float) y - by) * ((float) y - by);
        if (d2 < 64.0f)
          v = 0.95f;
        slice[(gsize) y * cols + x] = x >= air_from ? 0.0f : v;
      }
  return slice;
}

static PicardScanResult *
scan_full (PicardTestCompleter *completer, const float *slice, guint rows, guint cols,
           const PicardScanParams *params)
{
  GError *error = NULL;
  guint f = picard_completer_get_feature_length (PICARD_COMPLETER (completer),
                                                 params->hole_size);
  PicardScanResult *result = picard_scan_result_new (rows, cols, 0, params, f, &error);
  g_assert_no_error (error);
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, NULL, NULL,
                                  NULL, &error));
  g_assert_no_error (error);
  g_assert_true (picard_scan_result_is_complete (result));
  return result;
}

static void
assert_results_equal (const PicardScanResult *a, const PicardScanResult *b)
{
  g_assert_cmpuint (a->n_h, ==, b->n_h);
  g_assert_cmpuint (a->n_w, ==, b->n_w);
  g_assert_cmpuint (a->n_done, ==, b->n_done);
  g_assert_cmpuint (a->n_skipped, ==, b->n_skipped);
  gsize cells = (gsize) a->n_h * a->n_w, values = cells * a->params.n_samples;
  g_assert_cmpmem (a->cells, cells, b->cells, cells);
  g_assert_cmpmem (a->image_distances, values * 4, b->image_distances, values * 4);
  g_assert_true ((a->feature_distances == NULL) == (b->feature_distances == NULL));
  if (a->feature_distances != NULL)
    g_assert_cmpmem (a->feature_distances, values * 4, b->feature_distances, values * 4);
}

/* ---- parameters ---- */

static void
expect_invalid (const PicardScanParams *params, guint rows, guint cols, const char *needle)
{
  GError *error = NULL;
  PicardScanResult *result = picard_scan_result_new (rows, cols, 0, params, 0, &error);
  g_assert_null (result);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
  g_error_free (error);
}

static void
test_bad_params (void)
{
  PicardScanParams params;
  small_params (&params);
  params.patch_size = 128;
  expect_invalid (&params, ROWS, COLS, "larger than the slice");
  small_params (&params);
  params.hole_size = 40;
  expect_invalid (&params, ROWS, COLS, "smaller than the patch");
  small_params (&params);
  params.hole_size = 15;
  expect_invalid (&params, ROWS, COLS, "centred");
  small_params (&params);
  params.stride = 0;
  expect_invalid (&params, ROWS, COLS, "stride");
  small_params (&params);
  params.n_samples = 0;
  expect_invalid (&params, ROWS, COLS, "M = 0");
  small_params (&params);
  params.has_roi = TRUE;
  params.roi = (PicardRect) { 70, 10, 20, 20 };
  expect_invalid (&params, ROWS, COLS, "not inside the slice");
  params.roi = (PicardRect) { -5, 10, 20, 20 };
  expect_invalid (&params, ROWS, COLS, "not inside the slice");
  params.roi = (PicardRect) { 10, 10, 0, 20 };
  expect_invalid (&params, ROWS, COLS, "not inside the slice");
  /* Inside the slice but in the border band no hole reaches. */
  params.roi = (PicardRect) { 0, 0, 4, 4 };
  expect_invalid (&params, ROWS, COLS, "No patch's hole");
  small_params (&params);
  expect_invalid (&params, 0, COLS, "empty slice");

  /* A completer that cannot do the geometry says so when the scan starts. */
  small_params (&params);
  params.hole_size = 18;
  params.patch_size = 32;
  GError *error = NULL;
  g_autoptr (PicardScanResult) result = picard_scan_result_new (ROWS, COLS, 0, &params, 0,
                                                                &error);
  g_assert_no_error (error);
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (4, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 40, COLS, 1);
  g_assert_false (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, NULL,
                                   NULL, NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  PicardScanMetric metric;
  g_assert_true (picard_scan_metric_from_string ("MedCD-feature", &metric));
  g_assert_cmpint (metric.reduce, ==, PICARD_SCAN_REDUCE_MEDIAN);
  g_assert_cmpint (metric.space, ==, PICARD_SCAN_SPACE_FEATURE);
  g_assert_cmpstr (picard_scan_metric_to_string (metric), ==, "medcd-feature");
  g_assert_true (picard_scan_metric_from_string ("mcd", &metric));
  g_assert_cmpint (metric.space, ==, PICARD_SCAN_SPACE_IMAGE);
  g_assert_false (picard_scan_metric_from_string ("mcd-pixels", &metric));
  g_assert_false (picard_scan_metric_from_string ("min", &metric));
}

/* ---- schedule, progress and scores ---- */

typedef struct {
  GArray *reports; /* PicardScanProgress copies (result pointer not kept) */
  GCancellable *cancel;
  guint cancel_after; /* reports */
  gboolean cancel_after_phase0;
  PicardScanControl *control;
  guint pause_after;
  gint64 resumed_at;
  gint64 first_report_after_pause;
} ProgressLog;

static void
log_progress (const PicardScanProgress *progress, gpointer user_data)
{
  ProgressLog *log = user_data;
  PicardScanProgress copy = *progress;
  copy.result = NULL;
  g_array_append_val (log->reports, copy);
  if (log->cancel != NULL && log->cancel_after > 0 && log->reports->len == log->cancel_after)
    g_cancellable_cancel (log->cancel);
  if (log->cancel != NULL && log->cancel_after_phase0 && progress->phase == 0
      && progress->phase_complete)
    g_cancellable_cancel (log->cancel);
  if (log->control != NULL && log->reports->len == log->pause_after + 1)
    log->first_report_after_pause = g_get_monotonic_time ();
}

static void
test_schedule_and_progress (void)
{
  PicardScanParams params;
  small_params (&params);
  params.batch_size = 3;
  GError *error = NULL;
  g_autoptr (PicardScanResult) result = picard_scan_result_new (ROWS, COLS, 0, &params, 16,
                                                                &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->n_h, ==, 9); /* (96 - 32) / 8 + 1 */
  g_assert_cmpuint (result->n_w, ==, 7); /* (80 - 32) / 8 + 1: (W - P) % stride == 0 */

  guint n, ends[PICARD_SCAN_PHASES];
  g_autofree guint *order = picard_scan_schedule (result, &n, ends);
  g_assert_cmpuint (n, ==, 63);
  g_autofree guint *seen = g_new0 (guint, 63);
  for (guint k = 0; k < n; k++)
    {
      guint i = order[k] / 7, j = order[k] % 7;
      seen[order[k]]++;
      guint phase = k < ends[0] ? 0 : k < ends[1] ? 1 : 2;
      gboolean on4 = i % 4 == 0 && j % 4 == 0, on2 = i % 2 == 0 && j % 2 == 0;
      g_assert_cmpuint (phase, ==, on4 ? 0 : on2 ? 1 : 2);
      g_assert_cmpuint (picard_scan_cell_phase (result, i, j), ==, phase);
    }
  for (guint c = 0; c < 63; c++)
    g_assert_cmpuint (seen[c], ==, 1);
  g_assert_cmpuint (ends[0], ==, 3 * 2);     /* rows 0, 4, 8 x columns 0, 4 */
  g_assert_cmpuint (ends[1], ==, 5 * 4);     /* the 2x lattice */
  g_assert_cmpuint (ends[2], ==, 63);

  /* The scan completes exactly that order, each patch once. */
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (3, TRUE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 48, COLS, 1);
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (PicardScanProgress)) };
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, NULL,
                                  log_progress, &log, &error));
  g_assert_no_error (error);
  GArray *ids = picard_test_completer_get_patch_ids (completer);
  g_assert_cmpuint (ids->len, ==, 63);
  for (guint k = 0; k < n; k++)
    g_assert_cmpuint (g_array_index (ids, guint32, k), ==, order[k]);
  g_assert_cmpstr (result->model_hash, ==, "test-model-features-1");

  /* Reports: one per batch, never straddling a phase, the end of each phase flagged. */
  guint done = 0, phase = 0, completes = 0;
  for (guint r = 0; r < log.reports->len; r++)
    {
      PicardScanProgress *p = &g_array_index (log.reports, PicardScanProgress, r);
      g_assert_cmpuint (p->phase, >=, phase);
      phase = p->phase;
      done += p->batch_completed;
      g_assert_cmpuint (p->n_done, ==, done);
      g_assert_cmpuint (p->n_total, ==, 63);
      g_assert_cmpuint (p->batch_completed, <=, 3);
      g_assert_true (p->patches_per_second > 0.0);
      g_assert_true (p->eta_s >= 0.0);
      g_assert_cmpuint (p->n_slices, ==, 1);
      if (p->phase_complete)
        {
          g_assert_cmpuint (done, ==, ends[p->phase]);
          completes++;
        }
    }
  g_assert_cmpuint (completes, ==, 3);
  g_assert_cmpuint (g_array_index (log.reports, PicardScanProgress, 0).phase, ==, 0);
  g_assert_cmpfloat (g_array_index (log.reports, PicardScanProgress,
                                    log.reports->len - 1).eta_s, ==, 0.0);
  g_array_unref (log.reports);

  /* Scores are the distances of the completions, recomputed here independently. */
  guint i = 5, j = 3;
  guint32 samples[4] = { 0, 1, 2, 3 };
  float holes[4 * 256], gt[256];
  g_assert_true (picard_scan_complete_patch (result, PICARD_COMPLETER (completer), slice, i, j,
                                             samples, 4, holes, gt, NULL, &error));
  g_assert_no_error (error);
  PicardRect patch, hole;
  picard_scan_result_get_patch_rect (result, i, j, &patch, &hole);
  g_assert_cmpint (patch.x, ==, 24);
  g_assert_cmpint (patch.y, ==, 40);
  g_assert_cmpint (hole.x, ==, 32);
  g_assert_cmpint (hole.y, ==, 48);
  g_assert_cmpint (hole.width, ==, 16);
  const float *d = picard_scan_result_get_distances (result, PICARD_SCAN_SPACE_IMAGE, i, j);
  for (guint s = 0; s < 4; s++)
    {
      double sum = 0.0;
      for (guint r = 0; r < 16; r++)
        for (guint c = 0; c < 16; c++)
          {
            float truth = slice[(gsize) (hole.y + r) * COLS + hole.x + c] * 2.0f - 1.0f;
            g_assert_cmpfloat (gt[r * 16 + c], ==, truth);
            double diff = (double) truth - holes[s * 256 + r * 16 + c];
            sum += diff * diff;
          }
      g_assert_cmpfloat_with_epsilon (d[s], sqrt (sum), 1e-5);
      g_assert_true (d[s] > 0.0f);
    }
  float sorted[4];
  memcpy (sorted, d, sizeof sorted);
  for (guint a = 0; a < 4; a++)
    for (guint b = a + 1; b < 4; b++)
      if (sorted[b] < sorted[a])
        {
          float t = sorted[a];
          sorted[a] = sorted[b];
          sorted[b] = t;
        }
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  PicardScanMetric mean = { PICARD_SCAN_REDUCE_MEAN, PICARD_SCAN_SPACE_IMAGE };
  PicardScanMetric med = { PICARD_SCAN_REDUCE_MEDIAN, PICARD_SCAN_SPACE_IMAGE };
  g_assert_cmpfloat (picard_scan_result_get_score (result, mcd, i, j), ==, sorted[0]);
  g_assert_cmpfloat_with_epsilon (picard_scan_result_get_score (result, mean, i, j),
                                  (sorted[0] + sorted[1] + sorted[2] + sorted[3]) / 4.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (picard_scan_result_get_score (result, med, i, j),
                                  (sorted[1] + sorted[2]) / 2.0, 1e-6);
  PicardScanMetric feature = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_FEATURE };
  g_assert_true (picard_scan_result_has_metric (result, feature));
  g_assert_true (picard_scan_result_get_score (result, feature, i, j) > 0.0f);

  /* The lesion's patch (hole over the blob at 40, 48) scores higher than a plain one. */
  g_assert_cmpfloat (picard_scan_result_get_score (result, mcd, 4, 3), >,
                     2.0f * picard_scan_result_get_score (result, mcd, 0, 0));
}

static void
test_no_features (void)
{
  PicardScanParams params;
  small_params (&params);
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (8, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 48, COLS, 1);
  g_autoptr (PicardScanResult) result = scan_full (completer, slice, ROWS, COLS, &params);
  g_assert_null (result->feature_distances);
  PicardScanMetric feature = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_FEATURE };
  g_assert_false (picard_scan_result_has_metric (result, feature));
  g_assert_true (isnan (picard_scan_result_get_score (result, feature, 1, 1)));
  GError *error = NULL;
  g_assert_null (picard_heatmap_from_result (result, feature, PICARD_HEATMAP_REGISTERED,
                                             &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A result made for another model is refused. */
  g_autoptr (PicardTestCompleter) other = picard_test_completer_new (8, TRUE);
  g_autoptr (PicardScanResult) copy = picard_scan_result_copy (result);
  g_assert_false (picard_scan_run (copy, PICARD_COMPLETER (other), slice, NULL, NULL, NULL,
                                   NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* ---- cancel, resume, seed, pause ---- */

static void
cancel_in_call (PicardTestCompleter *self, guint call, gpointer user_data)
{
  if (call == 2)
    g_cancellable_cancel (user_data);
}

static void
test_cancel_resume (void)
{
  PicardScanParams params;
  small_params (&params);
  params.batch_size = 5;
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (5, TRUE);
  g_autofree float *slice = make_slice (ROWS, COLS, 30, 60, COLS, 2);
  g_autoptr (PicardScanResult) whole = scan_full (completer, slice, ROWS, COLS, &params);
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  g_autofree float *whole_map = picard_heatmap_from_result (whole, mcd,
                                                            PICARD_HEATMAP_REGISTERED, NULL);

  /* Cancelled between batches after the third report. */
  GError *error = NULL;
  g_autoptr (PicardScanResult) part = picard_scan_result_new (ROWS, COLS, 0, &params, 16,
                                                              &error);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (PicardScanProgress)), cancel, 3 };
  g_assert_false (picard_scan_run (part, PICARD_COMPLETER (completer), slice, NULL, cancel,
                                   log_progress, &log, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (part->n_done, ==, 11); /* batches 5 + 1 (end of phase 0) + 5 */
  g_assert_false (picard_scan_result_is_complete (part));
  g_array_unref (log.reports);

  /* Cancelled inside the completer: that batch is dropped. */
  g_autoptr (GCancellable) cancel2 = g_cancellable_new ();
  picard_test_completer_set_hook (completer, cancel_in_call, cancel2);
  picard_test_completer_reset_counts (completer);
  g_assert_false (picard_scan_run (part, PICARD_COMPLETER (completer), slice, NULL, cancel2,
                                   NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (part->n_done, ==, 16);
  picard_test_completer_set_hook (completer, NULL, NULL);

  /* A device error keeps what was done, too. */
  picard_test_completer_reset_counts (completer);
  picard_test_completer_set_fail_at (completer, 2);
  g_assert_false (picard_scan_run (part, PICARD_COMPLETER (completer), slice, NULL, NULL, NULL,
                                   NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE);
  g_clear_error (&error);
  g_assert_cmpuint (part->n_done, ==, 20); /* the last 4 of phase 1 */
  picard_test_completer_set_fail_at (completer, 0);

  /* Resumed with another batch size: only the rest is completed, and the result is the same,
   * bit for bit. */
  part->params.batch_size = 7;
  picard_test_completer_reset_counts (completer);
  g_assert_true (picard_scan_run (part, PICARD_COMPLETER (completer), slice, NULL, NULL, NULL,
                                  NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 63 - 20);
  assert_results_equal (whole, part);
  g_autofree float *part_map = picard_heatmap_from_result (part, mcd, PICARD_HEATMAP_REGISTERED,
                                                           NULL);
  g_assert_cmpmem (whole_map, ROWS * COLS * 4, part_map, ROWS * COLS * 4);

  /* Running a complete result again does nothing. */
  picard_test_completer_reset_counts (completer);
  g_assert_true (picard_scan_run (part, PICARD_COMPLETER (completer), slice, NULL, NULL, NULL,
                                  NULL, &error));
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, 0);
}

static void
test_seed (void)
{
  PicardScanParams params;
  small_params (&params);
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (6, TRUE);
  g_autofree float *slice = make_slice (ROWS, COLS, 30, 60, COLS, 3);
  PicardScanMetric metric = { PICARD_SCAN_REDUCE_MEDIAN, PICARD_SCAN_SPACE_FEATURE };
  g_autoptr (PicardScanResult) a = scan_full (completer, slice, ROWS, COLS, &params);
  g_autoptr (PicardScanResult) b = scan_full (completer, slice, ROWS, COLS, &params);
  params.seed = 1338;
  g_autoptr (PicardScanResult) c = scan_full (completer, slice, ROWS, COLS, &params);
  for (int mode = 0; mode < 2; mode++)
    {
      g_autofree float *ma = picard_heatmap_from_result (a, metric, mode, NULL);
      g_autofree float *mb = picard_heatmap_from_result (b, metric, mode, NULL);
      g_autofree float *mc = picard_heatmap_from_result (c, metric, mode, NULL);
      g_assert_cmpmem (ma, ROWS * COLS * 4, mb, ROWS * COLS * 4);
      g_assert_true (memcmp (ma, mc, ROWS * COLS * 4) != 0);
    }
}

static gpointer
resume_later (gpointer data)
{
  ProgressLog *log = data;
  g_usleep (300 * 1000);
  log->resumed_at = g_get_monotonic_time ();
  picard_scan_control_resume (log->control);
  return NULL;
}

static void
pause_in_progress (const PicardScanProgress *progress, gpointer user_data)
{
  ProgressLog *log = user_data;
  log_progress (progress, user_data);
  if (log->reports->len == log->pause_after)
    picard_scan_control_pause (log->control);
}

static void
test_pause (void)
{
  PicardScanParams params;
  small_params (&params);
  params.batch_size = 8;
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (8, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 30, 60, COLS, 4);
  g_autoptr (PicardScanResult) whole = scan_full (completer, slice, ROWS, COLS, &params);

  g_autoptr (PicardScanControl) control = picard_scan_control_new ();
  GError *error = NULL;
  g_autoptr (PicardScanResult) result = picard_scan_result_new (ROWS, COLS, 0, &params, 0,
                                                                &error);
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (PicardScanProgress)) };
  log.control = control;
  log.pause_after = 2;
  GThread *thread = NULL;
  /* Paused from the callback after the second batch; another thread resumes 300 ms later. */
  picard_test_completer_reset_counts (completer);
  thread = g_thread_new ("resume", resume_later, &log);
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), slice, control, NULL,
                                  pause_in_progress, &log, &error));
  g_thread_join (thread);
  g_assert_no_error (error);
  g_assert_false (picard_scan_control_is_paused (control));
  g_assert_cmpint (log.first_report_after_pause, >=, log.resumed_at);
  assert_results_equal (whole, result);
  /* The paused time is not scanning time. */
  PicardScanProgress *last = &g_array_index (log.reports, PicardScanProgress,
                                             log.reports->len - 1);
  g_assert_cmpfloat (last->elapsed_s, <, 0.25);
  g_array_unref (log.reports);

  /* Cancelling a paused scan ends it without a resume. */
  g_autoptr (PicardScanResult) second = picard_scan_result_new (ROWS, COLS, 0, &params, 0,
                                                                &error);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  picard_scan_control_pause (control);
  g_cancellable_cancel (cancel);
  g_assert_false (picard_scan_run (second, PICARD_COMPLETER (completer), slice, control,
                                   cancel, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (second->n_done, ==, 0);
}

/* ---- ROI and air ---- */

static void
test_roi (void)
{
  PicardScanParams params;
  small_params (&params);
  params.has_roi = TRUE;
  params.roi = (PicardRect) { 30, 20, 15, 33 }; /* columns 30..44, rows 20..52 */
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (4, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 40, COLS, 5);
  g_autoptr (PicardScanResult) result = scan_full (completer, slice, ROWS, COLS, &params);

  guint expected = 0;
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  GArray *ids = picard_test_completer_get_patch_ids (completer);
  for (guint k = 0; k < ids->len; k++)
    g_hash_table_add (seen, GUINT_TO_POINTER (g_array_index (ids, guint32, k) + 1));
  for (guint i = 0; i < result->n_h; i++)
    for (guint j = 0; j < result->n_w; j++)
      {
        /* Hole rows 8i+8 .. 8i+23 meet rows 20..52, hole columns 8j+8 .. 8j+23 meet 30..44. */
        gboolean inside = 8 * i + 23 >= 20 && 8 * i + 8 <= 52 && 8 * j + 23 >= 30
                          && 8 * j + 8 <= 44;
        expected += inside;
        guint8 state = result->cells[i * result->n_w + j];
        g_assert_cmpuint (state, ==, inside ? PICARD_SCAN_CELL_DONE : PICARD_SCAN_CELL_OUTSIDE);
        g_assert_true (inside == g_hash_table_contains (seen,
                                                        GUINT_TO_POINTER (i * result->n_w + j
                                                                          + 1)));
      }
  g_assert_cmpuint (result->n_total, ==, expected);
  g_assert_cmpuint (result->n_done, ==, expected);
  g_assert_cmpuint (ids->len, ==, expected);
  g_assert_cmpuint (result->i0, ==, 0);
  g_assert_cmpuint (result->j0, ==, 1);

  /* The registered heatmap covers exactly the union of the scanned holes. */
  PicardRect extent;
  picard_heatmap_get_extent (result, &extent);
  g_assert_cmpint (extent.x, ==, 1 * 8 + 8);
  g_assert_cmpint (extent.y, ==, 0 * 8 + 8);
  g_assert_cmpint (extent.width, ==, (int) (result->region_w - 1) * 8 + 16);
  g_assert_cmpint (extent.height, ==, (int) (result->region_h - 1) * 8 + 16);
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  g_autofree float *map = picard_heatmap_from_result (result, mcd, PICARD_HEATMAP_REGISTERED,
                                                      NULL);
  for (int y = 0; y < ROWS; y++)
    for (int x = 0; x < COLS; x++)
      {
        gboolean in = x >= extent.x && x < extent.x + extent.width && y >= extent.y
                      && y < extent.y + extent.height;
        g_assert_true (in == !isnan (map[y * COLS + x]));
      }
}

static void
test_skip_air (void)
{
  PicardScanParams params;
  small_params (&params);
  params.skip_air = TRUE;
  /* Columns 40.. are air: the patches starting there (x0 = 8j >= 40) are all air. */
  g_autofree float *slice = make_slice (ROWS, COLS, 30, 40, 40, 6);
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (5, FALSE);
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (PicardScanProgress)) };
  GError *error = NULL;
  g_autoptr (PicardScanResult) result = picard_scan_result_new (ROWS, COLS, 0, &params, 0,
                                                                &error);
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, NULL,
                                  log_progress, &log, &error));
  g_assert_no_error (error);
  guint air = 0;
  for (guint i = 0; i < result->n_h; i++)
    for (guint j = 0; j < result->n_w; j++)
      {
        gboolean all_air = TRUE;
        for (guint r = 0; r < 32; r++)
          for (guint c = 0; c < 32; c++)
            all_air = all_air && slice[(8 * i + r) * COLS + 8 * j + c] <= 0.0f;
        air += all_air;
        guint8 state = result->cells[i * result->n_w + j];
        g_assert_cmpuint (state, ==, all_air ? PICARD_SCAN_CELL_SKIPPED : PICARD_SCAN_CELL_DONE);
        PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
        g_assert_true (all_air == isnan (picard_scan_result_get_score (result, mcd, i, j)));
      }
  g_assert_cmpuint (air, ==, 18); /* columns j = 5, 6 (x0 40, 48) of all 9 rows */
  g_assert_cmpuint (result->n_skipped, ==, air);
  g_assert_cmpuint (result->n_done, ==, 63 - air);
  g_assert_false (picard_test_completer_saw_air (completer));
  guint reported = 0;
  for (guint r = 0; r < log.reports->len; r++)
    reported += g_array_index (log.reports, PicardScanProgress, r).batch_skipped;
  g_assert_cmpuint (reported, ==, air);
  g_assert_cmpuint (g_array_index (log.reports, PicardScanProgress,
                                   log.reports->len - 1).n_skipped, ==, air);
  g_array_unref (log.reports);

  /* Without the option the air is completed like anything else (the paper). */
  params.skip_air = FALSE;
  g_autoptr (PicardScanResult) all = scan_full (completer, slice, ROWS, COLS, &params);
  g_assert_cmpuint (all->n_skipped, ==, 0);
  g_assert_true (picard_test_completer_saw_air (completer));
}

/* ---- heatmaps ---- */

static void
test_registered_hot_cell (void)
{
  /* A 9 x 7 grid of P 32, H 16, stride 8 on 96 x 80; cell (i, j) = (3, 2) hot. */
  guint n_h = 9, n_w = 7, hot_i = 3, hot_j = 2;
  g_autofree float *grid = g_new0 (float, n_h * n_w);
  grid[hot_i * n_w + hot_j] = 1.0f;
  g_autofree float *map = g_new (float, ROWS * COLS);
  picard_heatmap_registered (grid, n_w, 0, 0, n_h, n_w, 32, 16, 8, ROWS, COLS, map);
  /* Hole centre: (8 * 3 + 15.5, 8 * 2 + 15.5) = (39.5, 31.5): pixels 39/40 x 31/32. */
  float best = -1.0f;
  for (int k = 0; k < ROWS * COLS; k++)
    if (!isnan (map[k]))
      best = MAX (best, map[k]);
  guint n_best = 0;
  for (int y = 0; y < ROWS; y++)
    for (int x = 0; x < COLS; x++)
      {
        float v = map[y * COLS + x];
        gboolean covered = y >= 8 && y < 8 + 8 * 8 + 16 && x >= 8 && x < 8 + 6 * 8 + 16;
        g_assert_true (covered == !isnan (v));
        if (v == best)
          {
            g_assert_true ((y == 39 || y == 40) && (x == 31 || x == 32));
            n_best++;
          }
        /* The cubic's support is two lattice steps around the centre. */
        if (covered && (fabs (y - 39.5) >= 16 || fabs (x - 31.5) >= 16))
          g_assert_cmpfloat (v, ==, 0.0f);
      }
  g_assert_cmpuint (n_best, ==, 4);
  float w[4];
  picard_heatmap_cubic_weights (1.0f / 16.0f, w); /* half a pixel over a stride of 8 */
  g_assert_cmpfloat_with_epsilon (best, w[1] * w[1], 1e-6);
  /* The hole of the hot patch gets most of the heat; a centre line holds its value to the
   * edge: at a lattice point, the map is the grid value. */
  grid[hot_i * n_w + hot_j] = 0.0f;
  for (guint k = 0; k < n_h * n_w; k++)
    grid[k] = (float) k;
  picard_heatmap_registered (grid, n_w, 0, 0, n_h, n_w, 32, 16, 8, ROWS, COLS, map);
  /* Row 8 (top edge of the first holes) holds row 0 of the lattice (centre 15.5 clamped) and a
   * pixel column exactly between two centres interpolates: centre x of j is 8j + 15.5. */
  g_assert_cmpfloat_with_epsilon (map[8 * COLS + 8], 0.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (map[(8 * 8 + 8 + 15) * COLS + 8 + 6 * 8 + 15],
                                  (float) (n_h * n_w - 1), 1e-5);
}


static char *
write_floats (const char *dir, const char *name, const float *values, gsize n)
{
  char *path = g_build_filename (dir, name, NULL);
  GError *error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) values, (gssize) (n * 4), &error));
  g_assert_no_error (error);
  return path;
}

typedef struct {
  guint n_h, n_w, rows, cols;
} ResizeCase;

/* Every case through one Python process (importing torch takes seconds). */
static void
compare_with_torch (const ResizeCase *cases, guint n_cases)
{
  const char *python = g_getenv ("PYTHON");
  if (python == NULL)
    python = "/usr/bin/python3";
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-scan-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) grids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();
  g_strv_builder_add_many (args, python, "-c",
    "import numpy, torch, sys\n"
    "for k in range(2, len(sys.argv), 6):\n"
    "    src, dst, h, w, r, c = sys.argv[k:k + 6]\n"
    "    g = numpy.fromfile(src, dtype=numpy.float32).reshape(int(h), int(w))\n"
    "    t = torch.nn.functional.interpolate(torch.from_numpy(g)[None, None],"
    " size=(int(r), int(c)), mode='bicubic', align_corners=False)\n"
    "    t[0, 0].numpy().astype(numpy.float32).tofile(dst)\n", "-", NULL);
  for (guint c = 0; c < n_cases; c++)
    {
      const ResizeCase *rc = &cases[c];
      float *grid = g_new (float, rc->n_h * rc->n_w);
      GRand *rand = g_rand_new_with_seed (rc->n_h * 1000 + rc->n_w);
      for (guint k = 0; k < rc->n_h * rc->n_w; k++)
        grid[k] = (float) g_rand_double_range (rand, 0.0, 40.0);
      g_rand_free (rand);
      g_ptr_array_add (grids, grid);
      g_autofree char *in_name = g_strdup_printf ("grid%u.f32", c);
      g_autofree char *out_name = g_strdup_printf ("torch%u.f32", c);
      g_autofree char *in = write_floats (dir, in_name, grid, rc->n_h * rc->n_w);
      g_autofree char *out = g_build_filename (dir, out_name, NULL);
      g_autofree char *h = g_strdup_printf ("%u", rc->n_h), *w = g_strdup_printf ("%u", rc->n_w);
      g_autofree char *r = g_strdup_printf ("%u", rc->rows);
      g_autofree char *cl = g_strdup_printf ("%u", rc->cols);
      g_strv_builder_add_many (args, in, out, h, w, r, cl, NULL);
    }
  g_auto (GStrv) argv = g_strv_builder_end (args);
  int status;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("torch failed: %s", err);

  for (guint c = 0; c < n_cases; c++)
    {
      const ResizeCase *rc = &cases[c];
      const float *grid = grids->pdata[c];
      g_autofree char *out_name = g_strdup_printf ("torch%u.f32", c);
      g_autofree char *out = g_build_filename (dir, out_name, NULL);
      char *data;
      gsize length;
      g_assert_true (g_file_get_contents (out, &data, &length, &error));
      g_assert_cmpuint (length, ==, (gsize) rc->rows * rc->cols * 4);
      const float *expected = (const float *) data;
      g_autofree float *mine = g_new (float, (gsize) rc->rows * rc->cols);
      picard_heatmap_resize_bicubic (grid, rc->n_h, rc->n_w, rc->rows, rc->cols, mine);
      /* Relative to the values' scale: both sides round float sums of four products
       * (PyTorch's vectorised code may fuse them), so values near zero differ by a few ulps
       * of the largest. */
      double scale = 0.0, worst = 0.0;
      for (guint k = 0; k < rc->n_h * rc->n_w; k++)
        scale = MAX (scale, fabs (grid[k]));
      for (gsize k = 0; k < (gsize) rc->rows * rc->cols; k++)
        worst = MAX (worst, fabs ((double) mine[k] - expected[k]) / scale);
      if (worst > 1e-5)
        g_error ("bicubic %ux%u -> %ux%u differs from torch by %g", rc->n_h, rc->n_w, rc->rows,
                 rc->cols, worst);
      g_free (data);
    }
  picard_test_remove_tree (dir);
}

static void
test_reference_torch (void)
{
  /* The small slice's grid ((W - P) % stride == 0 in both directions), an uneven one, a
   * downscale, and the paper's slice: 2457 x 1996 at P 256, stride 32 is 69 x 55 cells. */
  static const ResizeCase cases[] = {
    { 9, 7, ROWS, COLS }, { 8, 6, 90, 77 }, { 12, 10, 7, 5 }, { 69, 55, 2457, 1996 },
  };
  compare_with_torch (cases, G_N_ELEMENTS (cases));

  /* And through a scan whose (W - P) is a multiple of the stride: the reference heatmap of a
   * complete result is the resize of its grid. */
  PicardScanParams params;
  small_params (&params);
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (16, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 48, COLS, 1);
  g_autoptr (PicardScanResult) result = scan_full (completer, slice, ROWS, COLS, &params);
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  g_autofree float *grid = picard_scan_result_get_grid (result, mcd);
  g_autofree float *direct = g_new (float, ROWS * COLS);
  picard_heatmap_resize_bicubic (grid, 9, 7, ROWS, COLS, direct);
  g_autofree float *map = picard_heatmap_from_result (result, mcd, PICARD_HEATMAP_REFERENCE,
                                                      NULL);
  g_assert_cmpmem (direct, ROWS * COLS * 4, map, ROWS * COLS * 4);
  for (int k = 0; k < ROWS * COLS; k++)
    g_assert_false (isnan (map[k]));

  PicardHeatmapMode mode;
  g_assert_true (picard_heatmap_mode_from_string ("Reference", &mode));
  g_assert_cmpint (mode, ==, PICARD_HEATMAP_REFERENCE);
  g_assert_false (picard_heatmap_mode_from_string ("stretched", &mode));
}

static void
test_progressive_heatmap (void)
{
  PicardScanParams params;
  small_params (&params);
  params.batch_size = 2;
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (2, FALSE);
  g_autofree float *slice = make_slice (ROWS, COLS, 40, 48, COLS, 7);
  GError *error = NULL;
  g_autoptr (PicardScanResult) result = picard_scan_result_new (ROWS, COLS, 0, &params, 0,
                                                                &error);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  ProgressLog log = { g_array_new (FALSE, FALSE, sizeof (PicardScanProgress)), cancel };
  log.cancel_after_phase0 = TRUE;
  g_assert_false (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, cancel,
                                   log_progress, &log, &error));
  g_clear_error (&error);
  g_array_unref (log.reports);
  g_assert_cmpuint (result->n_done, ==, 6);

  /* After the 4x lattice alone, the whole slice has a heatmap. */
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  g_autofree float *filled = picard_heatmap_fill_grid (result, mcd);
  g_autofree float *raw = picard_scan_result_get_grid (result, mcd);
  for (guint i = 0; i < 9; i++)
    for (guint j = 0; j < 7; j++)
      {
        float v = filled[i * 7 + j];
        g_assert_false (isnan (v));
        if (i % 4 == 0 && j % 4 == 0)
          g_assert_cmpfloat (v, ==, raw[i * 7 + j]);
        else
          g_assert_true (isnan (raw[i * 7 + j]));
      }
  /* On a line of the coarse lattice, half-way between two points, the cubic through them. */
  float w[4];
  picard_heatmap_cubic_weights (0.5f, w);
  float between = w[0] * raw[0 * 7 + 0] + w[1] * raw[0 * 7 + 0] + w[2] * raw[0 * 7 + 4]
                  + w[3] * raw[0 * 7 + 4];
  g_assert_cmpfloat_with_epsilon (filled[0 * 7 + 2], between, 1e-5);
  g_autofree float *map = picard_heatmap_from_result (result, mcd, PICARD_HEATMAP_REGISTERED,
                                                      NULL);
  for (int y = 8; y < 8 + 80; y++)
    for (int x = 8; x < 8 + 64; x++)
      g_assert_false (isnan (map[y * COLS + x]));

  /* Finished, the filled grid is the score grid. */
  g_assert_true (picard_scan_run (result, PICARD_COMPLETER (completer), slice, NULL, NULL, NULL,
                                  NULL, &error));
  g_autofree float *final_filled = picard_heatmap_fill_grid (result, mcd);
  g_autofree float *final_raw = picard_scan_result_get_grid (result, mcd);
  g_assert_cmpmem (final_filled, 63 * 4, final_raw, 63 * 4);
}

/* ---- cache ---- */

typedef struct {
  guint rows, cols;
} VolumeData;

static float *
volume_slice (guint index, gpointer user_data, GCancellable *cancellable, GError **error)
{
  VolumeData *data = user_data;
  return make_slice (data->rows, data->cols, 20 + 10 * index, 30 + 5 * index, data->cols,
                     10 + index);
}

typedef struct {
  GCancellable *cancel;
  guint cancel_slice;
  guint cancel_after;
  guint reports_in_slice;
  guint slices_done;
} VolumeLog;

static void
volume_progress (const PicardScanProgress *progress, gpointer user_data)
{
  VolumeLog *log = user_data;
  g_assert_cmpuint (progress->n_slices, ==, 3);
  if (progress->slice_position == log->cancel_slice)
    {
      log->reports_in_slice++;
      if (log->cancel != NULL && log->reports_in_slice == log->cancel_after)
        g_cancellable_cancel (log->cancel);
    }
}

static void
volume_slice_done (PicardScanResult *result, gpointer user_data)
{
  VolumeLog *log = user_data;
  log->slices_done++;
}

static void
test_cache (void)
{
  GError *error = NULL;
  /* main() pointed PICARD_CACHE_DIR at a fresh folder (before any thread started). */
  g_autofree char *dir = picard_scan_cache_default_dir ();
  g_assert_cmpstr (dir, ==, g_getenv ("PICARD_CACHE_DIR"));

  PicardScanParams params;
  small_params (&params);
  params.batch_size = 4;
  g_autoptr (PicardTestCompleter) completer = picard_test_completer_new (4, TRUE);
  VolumeData data = { ROWS, COLS };
  guint slices[3] = { 0, 1, 2 };
  VolumeLog log = { NULL, 99 };
  PicardScanVolumeJob job = {
    .rows = ROWS, .columns = COLS, .slices = slices, .n_slices = 3,
    .get_slice = volume_slice, .slice_data = &data,
    .cache_dir = dir, .cache_interval_s = 0.0,
    .progress = volume_progress, .progress_data = &log,
    .slice_done = volume_slice_done, .slice_done_data = &log,
  };
  g_autoptr (GPtrArray) first = picard_scan_volume (PICARD_COMPLETER (completer), &params,
                                                    &job, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->len, ==, 3);
  g_assert_cmpuint (log.slices_done, ==, 3);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 3 * 63);
  for (guint k = 0; k < 3; k++)
    g_assert_cmpuint (((PicardScanResult *) first->pdata[k])->slice_index, ==, k);

  /* Again: everything from the cache, identical. */
  picard_test_completer_reset_counts (completer);
  g_autoptr (GPtrArray) second = picard_scan_volume (PICARD_COMPLETER (completer), &params,
                                                     &job, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, 0);
  for (guint k = 0; k < 3; k++)
    assert_results_equal (first->pdata[k], second->pdata[k]);

  /* Another seed is another key. */
  params.seed = 7;
  picard_test_completer_reset_counts (completer);
  g_autoptr (GPtrArray) other = picard_scan_volume (PICARD_COMPLETER (completer), &params, &job,
                                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 3 * 63);
  params.seed = 1337;

  /* A scan interrupted in slice 1 resumes there from its partial cache. */
  g_autofree char *dir2 = g_dir_make_tmp ("picard-cache-XXXXXX", &error);
  job.cache_dir = dir2;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  log = (VolumeLog) { cancel, 1, 3 };
  picard_test_completer_reset_counts (completer);
  g_assert_null (picard_scan_volume (PICARD_COMPLETER (completer), &params, &job, cancel,
                                     &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 63 + 10); /* slice 0, then 4 + 2 + 4 */
  log = (VolumeLog) { NULL, 99 };
  picard_test_completer_reset_counts (completer);
  g_autoptr (GPtrArray) resumed = picard_scan_volume (PICARD_COMPLETER (completer), &params,
                                                      &job, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 63 - 10 + 63);
  for (guint k = 0; k < 3; k++)
    assert_results_equal (first->pdata[k], resumed->pdata[k]);

  /* Serialised and read back: the same result; damaged bytes are refused. */
  PicardScanResult *r0 = first->pdata[0];
  g_autoptr (GBytes) bytes = picard_scan_result_serialize (r0, "some-key");
  g_autofree char *key = NULL;
  g_autoptr (PicardScanResult) back = picard_scan_result_deserialize (bytes, "memory", &key,
                                                                      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "some-key");
  g_assert_cmpstr (back->model_hash, ==, r0->model_hash);
  assert_results_equal (r0, back);
  gsize length;
  const guint8 *raw = g_bytes_get_data (bytes, &length);
  for (gsize cut = 0; cut < length; cut += 97)
    {
      g_autoptr (GBytes) truncated = g_bytes_new (raw, cut);
      g_assert_null (picard_scan_result_deserialize (truncated, "memory", NULL, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
      g_clear_error (&error);
    }
  g_autofree guint8 *flipped = g_memdup2 (raw, length);
  flipped[length / 2] ^= 0x10;
  g_autoptr (GBytes) damaged = g_bytes_new (flipped, length);
  g_assert_null (picard_scan_result_deserialize (damaged, "memory", NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_clear_error (&error);

  /* A damaged cache file: a warning, then a rescan that replaces it. */
  GDir *d = g_dir_open (dir2, 0, NULL);
  const char *name;
  guint damaged_files = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir2, name, NULL);
      g_assert_true (g_file_set_contents (path, "PICSCAN1 garbage", -1, NULL));
      damaged_files++;
    }
  g_dir_close (d);
  g_assert_cmpuint (damaged_files, ==, 3);
  for (guint k = 0; k < 3; k++)
    g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*damaged*");
  picard_test_completer_reset_counts (completer);
  g_autoptr (GPtrArray) rescanned = picard_scan_volume (PICARD_COMPLETER (completer), &params,
                                                        &job, NULL, &error);
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_patch_ids (completer)->len, ==, 3 * 63);
  for (guint k = 0; k < 3; k++)
    assert_results_equal (first->pdata[k], rescanned->pdata[k]);

  /* A key's file holding another key's result is not trusted either. */
  g_autofree char *content = picard_scan_hash_slice ((float[]) { 0.5f }, 1, 1);
  g_assert_cmpuint (strlen (content), ==, 64);
  g_assert_true (picard_scan_cache_store (dir2, "aaaa", r0, &error));
  g_autofree char *src = g_build_filename (dir2, "scan-aaaa.picscan", NULL);
  g_autofree char *dst = g_build_filename (dir2, "scan-bbbb.picscan", NULL);
  g_assert_cmpint (g_rename (src, dst), ==, 0);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*another scan*");
  g_assert_null (picard_scan_cache_load (dir2, "bbbb"));
  g_test_assert_expected_messages ();
  g_assert_null (picard_scan_cache_load (dir2, "cccc"));

  picard_test_remove_tree (dir2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scan/bad-params", test_bad_params);
  g_test_add_func ("/scan/schedule-and-progress", test_schedule_and_progress);
  g_test_add_func ("/scan/no-features", test_no_features);
  g_test_add_func ("/scan/cancel-resume", test_cancel_resume);
  g_test_add_func ("/scan/seed", test_seed);
  g_test_add_func ("/scan/pause", test_pause);
  g_test_add_func ("/scan/roi", test_roi);
  g_test_add_func ("/scan/skip-air", test_skip_air);
  g_test_add_func ("/heatmap/registered-hot-cell", test_registered_hot_cell);
  g_test_add_func ("/heatmap/reference-torch", test_reference_torch);
  g_test_add_func ("/heatmap/progressive", test_progressive_heatmap);
  g_test_add_func ("/scan/cache", test_cache);
  g_autofree char *cache = g_dir_make_tmp ("picard-cache-XXXXXX", NULL);
  g_assert_nonnull (cache);
  g_setenv ("PICARD_CACHE_DIR", cache, TRUE);
  int status = g_test_run ();
  picard_test_remove_tree (cache);
  return status;
}
