#include "picard-scan.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-scan-cache.h"

/* Batches whose throughput the ETA averages: enough to smooth jitter, few enough to follow a
 * change of speed (another program taking the device). */
#define THROUGHPUT_WINDOW 8
/* How often a paused scan looks at its cancellable. */
#define PAUSE_POLL_US (50 * G_TIME_SPAN_MILLISECOND)

void
picard_scan_params_init (PicardScanParams *params)
{
  g_return_if_fail (params != NULL);
  memset (params, 0, sizeof *params);
  params->patch_size = PICARD_SCAN_DEFAULT_PATCH;
  params->hole_size = PICARD_SCAN_DEFAULT_HOLE;
  params->stride = PICARD_SCAN_DEFAULT_STRIDE;
  params->n_samples = PICARD_SCAN_DEFAULT_SAMPLES;
  params->seed = PICARD_SCAN_DEFAULT_SEED;
  params->batch_size = 0;
  params->skip_air = FALSE;
  params->air_level = 0.0f;
  params->has_roi = FALSE;
}

static const char *const reduce_names[] = { "mcd", "meancd", "medcd" };

gboolean
picard_scan_metric_from_string (const char *text, PicardScanMetric *metric)
{
  g_return_val_if_fail (metric != NULL, FALSE);
  if (text == NULL)
    return FALSE;
  g_autofree char *lower = g_ascii_strdown (text, -1);
  g_strstrip (lower);
  for (guint r = 0; r < G_N_ELEMENTS (reduce_names); r++)
    {
      gsize len = strlen (reduce_names[r]);
      if (strncmp (lower, reduce_names[r], len) != 0)
        continue;
      const char *rest = lower + len;
      PicardScanSpace space;
      if (*rest == '\0' || strcmp (rest, "-image") == 0)
        space = PICARD_SCAN_SPACE_IMAGE;
      else if (strcmp (rest, "-feature") == 0)
        space = PICARD_SCAN_SPACE_FEATURE;
      else
        continue;
      metric->reduce = (PicardScanReduce) r;
      metric->space = space;
      return TRUE;
    }
  return FALSE;
}

const char *
picard_scan_metric_to_string (PicardScanMetric metric)
{
  static const char *const names[3][2] = {
    { "mcd-image", "mcd-feature" },
    { "meancd-image", "meancd-feature" },
    { "medcd-image", "medcd-feature" },
  };
  if ((guint) metric.reduce >= 3 || (guint) metric.space >= 2)
    return "unknown";
  return names[metric.reduce][metric.space];
}

/* ---- results ---- */

static PicardScanResult *
result_alloc (void)
{
  PicardScanResult *result = g_new0 (PicardScanResult, 1);
  g_atomic_ref_count_init (&result->ref_count);
  return result;
}

static gboolean
region_range (int lo, int hi, guint offset, guint hole, guint stride, guint n, guint *first,
              guint *count)
{
  /* Lattice indices k whose hole [k*stride + offset, k*stride + offset + hole - 1] meets
   * [lo, hi]. */
  gint64 a = (gint64) lo - offset - hole + 1;
  gint64 b = (gint64) hi - offset;
  gint64 k0 = a <= 0 ? 0 : (a + stride - 1) / stride;
  if (b < 0)
    return FALSE;
  gint64 k1 = MIN (b / stride, (gint64) n - 1);
  if (k0 > k1)
    return FALSE;
  *first = (guint) k0;
  *count = (guint) (k1 - k0 + 1);
  return TRUE;
}

PicardScanResult *
picard_scan_result_new (guint rows, guint columns, guint slice_index,
                        const PicardScanParams *params, guint feature_length, GError **error)
{
  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  guint p = params->patch_size, h = params->hole_size, s = params->stride;
  if (rows == 0 || columns == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot scan an empty slice (%u x %u pixels)", rows, columns);
      return NULL;
    }
  if (p == 0 || p > PICARD_SCAN_MAX_PATCH)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Patch size %u is out of range: choose 1 to %u pixels (PICARD uses 256)",
                   p, PICARD_SCAN_MAX_PATCH);
      return NULL;
    }
  if (h == 0 || h >= p)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Hole size %u must be at least 1 and smaller than the patch (%u): "
                   "the completion needs context around the hole", h, p);
      return NULL;
    }
  if ((p - h) % 2 != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The hole (%u) cannot be centred in the patch (%u): their difference must "
                   "be even", h, p);
      return NULL;
    }
  if (s == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The stride must be at least 1 pixel (PICARD uses 32)");
      return NULL;
    }
  if (params->n_samples == 0 || params->n_samples > PICARD_SCAN_MAX_SAMPLES)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The number of completions per patch (M = %u) must be 1 to %u "
                   "(PICARD uses 10)", params->n_samples, PICARD_SCAN_MAX_SAMPLES);
      return NULL;
    }
  if (p > rows || p > columns)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The patch (%u x %u) is larger than the slice (%u rows x %u columns): "
                   "choose a smaller patch", p, p, rows, columns);
      return NULL;
    }
  if (!isfinite (params->air_level))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The air level must be a finite pixel value");
      return NULL;
    }

  guint n_h = (rows - p) / s + 1, n_w = (columns - p) / s + 1;
  guint i0 = 0, j0 = 0, region_h = n_h, region_w = n_w;
  if (params->has_roi)
    {
      const PicardRect *roi = &params->roi;
      if (roi->width <= 0 || roi->height <= 0 || roi->x < 0 || roi->y < 0
          || (gint64) roi->x + roi->width > columns || (gint64) roi->y + roi->height > rows)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "The region of interest (%d, %d) %d x %d is not inside the slice "
                       "(%u columns x %u rows): give a non-empty rectangle within it",
                       roi->x, roi->y, roi->width, roi->height, columns, rows);
          return NULL;
        }
      guint offset = (p - h) / 2;
      if (!region_range (roi->y, roi->y + roi->height - 1, offset, h, s, n_h, &i0, &region_h)
          || !region_range (roi->x, roi->x + roi->width - 1, offset, h, s, n_w, &j0,
                            &region_w))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "No patch's hole reaches the region of interest (%d, %d) %d x %d: "
                       "holes cover only the slice's interior, from %u pixels off its edges",
                       roi->x, roi->y, roi->width, roi->height, offset);
          return NULL;
        }
    }

  gsize cells = (gsize) n_h * n_w;
  gsize values = cells * params->n_samples;
  PicardScanResult *result = result_alloc ();
  result->rows = rows;
  result->columns = columns;
  result->slice_index = slice_index;
  result->params = *params;
  result->n_h = n_h;
  result->n_w = n_w;
  result->feature_length = feature_length;
  result->i0 = i0;
  result->j0 = j0;
  result->region_h = region_h;
  result->region_w = region_w;
  result->cells = g_malloc (cells);
  result->image_distances = g_new (float, values);
  for (gsize k = 0; k < values; k++)
    result->image_distances[k] = NAN;
  if (feature_length > 0)
    {
      result->feature_distances = g_new (float, values);
      for (gsize k = 0; k < values; k++)
        result->feature_distances[k] = NAN;
    }
  for (guint i = 0; i < n_h; i++)
    for (guint j = 0; j < n_w; j++)
      {
        gboolean inside = i >= i0 && i < i0 + region_h && j >= j0 && j < j0 + region_w;
        result->cells[(gsize) i * n_w + j] = inside ? PICARD_SCAN_CELL_PENDING
                                                    : PICARD_SCAN_CELL_OUTSIDE;
      }
  result->n_total = region_h * region_w;
  return result;
}

PicardScanResult *
picard_scan_result_ref (PicardScanResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_ref_count_inc (&result->ref_count);
  return result;
}

void
picard_scan_result_unref (PicardScanResult *result)
{
  if (result == NULL)
    return;
  if (!g_atomic_ref_count_dec (&result->ref_count))
    return;
  g_free (result->model_hash);
  g_free (result->cells);
  g_free (result->image_distances);
  g_free (result->feature_distances);
  g_free (result);
}

PicardScanResult *
picard_scan_result_copy (const PicardScanResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  PicardScanResult *copy = result_alloc ();
  *copy = *result;
  g_atomic_ref_count_init (&copy->ref_count);
  gsize cells = (gsize) result->n_h * result->n_w;
  gsize values = cells * result->params.n_samples;
  copy->model_hash = g_strdup (result->model_hash);
  copy->cells = g_memdup2 (result->cells, cells);
  copy->image_distances = g_memdup2 (result->image_distances, values * sizeof (float));
  copy->feature_distances = result->feature_distances != NULL
    ? g_memdup2 (result->feature_distances, values * sizeof (float)) : NULL;
  return copy;
}

gboolean
picard_scan_result_is_complete (const PicardScanResult *result)
{
  g_return_val_if_fail (result != NULL, FALSE);
  return result->n_done + result->n_skipped == result->n_total;
}

gboolean
picard_scan_result_has_metric (const PicardScanResult *result, PicardScanMetric metric)
{
  g_return_val_if_fail (result != NULL, FALSE);
  if ((guint) metric.reduce > PICARD_SCAN_REDUCE_MEDIAN)
    return FALSE;
  if (metric.space == PICARD_SCAN_SPACE_IMAGE)
    return TRUE;
  return metric.space == PICARD_SCAN_SPACE_FEATURE && result->feature_distances != NULL;
}

const float *
picard_scan_result_get_distances (const PicardScanResult *result, PicardScanSpace space,
                                  guint i, guint j)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (i < result->n_h && j < result->n_w, NULL);
  const float *values = space == PICARD_SCAN_SPACE_IMAGE ? result->image_distances
                      : space == PICARD_SCAN_SPACE_FEATURE ? result->feature_distances : NULL;
  if (values == NULL)
    return NULL;
  return values + ((gsize) i * result->n_w + j) * result->params.n_samples;
}

static int
compare_floats (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

static float
reduce_distances (const float *d, guint m, PicardScanReduce reduce)
{
  switch (reduce)
    {
    case PICARD_SCAN_REDUCE_MIN:
      {
        float best = d[0];
        for (guint k = 1; k < m; k++)
          best = MIN (best, d[k]);
        return best;
      }
    case PICARD_SCAN_REDUCE_MEAN:
      {
        double sum = 0.0;
        for (guint k = 0; k < m; k++)
          sum += d[k];
        return (float) (sum / m);
      }
    case PICARD_SCAN_REDUCE_MEDIAN:
      {
        float sorted[PICARD_SCAN_MAX_SAMPLES];
        memcpy (sorted, d, m * sizeof (float));
        qsort (sorted, m, sizeof (float), compare_floats);
        if (m % 2 == 1)
          return sorted[m / 2];
        return (float) (((double) sorted[m / 2 - 1] + sorted[m / 2]) / 2.0);
      }
    default:
      return NAN;
    }
}

float
picard_scan_result_get_score (const PicardScanResult *result, PicardScanMetric metric, guint i,
                              guint j)
{
  g_return_val_if_fail (result != NULL, NAN);
  g_return_val_if_fail (i < result->n_h && j < result->n_w, NAN);
  if (result->cells[(gsize) i * result->n_w + j] != PICARD_SCAN_CELL_DONE
      || !picard_scan_result_has_metric (result, metric))
    return NAN;
  const float *d = picard_scan_result_get_distances (result, metric.space, i, j);
  return reduce_distances (d, result->params.n_samples, metric.reduce);
}

float *
picard_scan_result_get_grid (const PicardScanResult *result, PicardScanMetric metric)
{
  g_return_val_if_fail (result != NULL, NULL);
  float *grid = g_new (float, (gsize) result->n_h * result->n_w);
  for (guint i = 0; i < result->n_h; i++)
    for (guint j = 0; j < result->n_w; j++)
      grid[(gsize) i * result->n_w + j] = picard_scan_result_get_score (result, metric, i, j);
  return grid;
}

void
picard_scan_result_get_patch_rect (const PicardScanResult *result, guint i, guint j,
                                   PicardRect *patch, PicardRect *hole)
{
  g_return_if_fail (result != NULL);
  const PicardScanParams *p = &result->params;
  int y = (int) (i * p->stride), x = (int) (j * p->stride);
  int offset = (int) (p->patch_size - p->hole_size) / 2;
  if (patch != NULL)
    *patch = (PicardRect) { x, y, (int) p->patch_size, (int) p->patch_size };
  if (hole != NULL)
    *hole = (PicardRect) { x + offset, y + offset, (int) p->hole_size, (int) p->hole_size };
}

/* ---- schedule ---- */

guint
picard_scan_cell_phase (const PicardScanResult *result, guint i, guint j)
{
  g_return_val_if_fail (result != NULL, 0);
  guint a = i - result->i0, b = j - result->j0;
  if (a % 4 == 0 && b % 4 == 0)
    return 0;
  if (a % 2 == 0 && b % 2 == 0)
    return 1;
  return 2;
}

guint *
picard_scan_schedule (const PicardScanResult *result, guint *n_cells,
                      guint phase_ends[PICARD_SCAN_PHASES])
{
  g_return_val_if_fail (result != NULL && n_cells != NULL, NULL);
  guint *order = g_new (guint, MAX (result->n_total, 1u));
  guint n = 0;
  for (guint phase = 0; phase < PICARD_SCAN_PHASES; phase++)
    {
      for (guint i = result->i0; i < result->i0 + result->region_h; i++)
        for (guint j = result->j0; j < result->j0 + result->region_w; j++)
          if (picard_scan_cell_phase (result, i, j) == phase)
            order[n++] = i * result->n_w + j;
      if (phase_ends != NULL)
        phase_ends[phase] = n;
    }
  g_assert (n == result->n_total);
  *n_cells = n;
  return order;
}

/* ---- pause control ---- */

struct _PicardScanControl {
  gatomicrefcount ref_count;
  GMutex mutex;
  GCond cond;
  gboolean paused;
};

PicardScanControl *
picard_scan_control_new (void)
{
  PicardScanControl *control = g_new0 (PicardScanControl, 1);
  g_atomic_ref_count_init (&control->ref_count);
  g_mutex_init (&control->mutex);
  g_cond_init (&control->cond);
  return control;
}

PicardScanControl *
picard_scan_control_ref (PicardScanControl *control)
{
  g_return_val_if_fail (control != NULL, NULL);
  g_atomic_ref_count_inc (&control->ref_count);
  return control;
}

void
picard_scan_control_unref (PicardScanControl *control)
{
  if (control == NULL || !g_atomic_ref_count_dec (&control->ref_count))
    return;
  g_mutex_clear (&control->mutex);
  g_cond_clear (&control->cond);
  g_free (control);
}

static void
control_set_paused (PicardScanControl *control, gboolean paused)
{
  g_mutex_lock (&control->mutex);
  control->paused = paused;
  g_cond_broadcast (&control->cond);
  g_mutex_unlock (&control->mutex);
}

void
picard_scan_control_pause (PicardScanControl *control)
{
  g_return_if_fail (control != NULL);
  control_set_paused (control, TRUE);
}

void
picard_scan_control_resume (PicardScanControl *control)
{
  g_return_if_fail (control != NULL);
  control_set_paused (control, FALSE);
}

gboolean
picard_scan_control_is_paused (PicardScanControl *control)
{
  g_return_val_if_fail (control != NULL, FALSE);
  g_mutex_lock (&control->mutex);
  gboolean paused = control->paused;
  g_mutex_unlock (&control->mutex);
  return paused;
}

/* Blocks while paused; returns the microseconds spent waiting.  Polls the cancellable, so a
 * cancelled scan never waits for a resume that will not come. */
static gint64
control_wait (PicardScanControl *control, GCancellable *cancellable)
{
  if (control == NULL)
    return 0;
  gint64 start = g_get_monotonic_time ();
  g_mutex_lock (&control->mutex);
  while (control->paused && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&control->cond, &control->mutex, g_get_monotonic_time () + PAUSE_POLL_US);
  g_mutex_unlock (&control->mutex);
  return g_get_monotonic_time () - start;
}

/* ---- scanning ---- */

static gboolean
patch_is_air (const PicardScanResult *result, const float *slice, guint cell)
{
  guint p = result->params.patch_size;
  gsize y0 = (gsize) (cell / result->n_w) * result->params.stride;
  gsize x0 = (gsize) (cell % result->n_w) * result->params.stride;
  float level = result->params.air_level;
  for (guint r = 0; r < p; r++)
    {
      const float *row = slice + (y0 + r) * result->columns + x0;
      for (guint c = 0; c < p; c++)
        if (!(row[c] <= level))
          return FALSE;
    }
  return TRUE;
}

static void
extract_patch (const PicardScanResult *result, const float *slice, guint cell, float *out)
{
  guint p = result->params.patch_size;
  gsize y0 = (gsize) (cell / result->n_w) * result->params.stride;
  gsize x0 = (gsize) (cell % result->n_w) * result->params.stride;
  for (guint r = 0; r < p; r++)
    {
      const float *row = slice + (y0 + r) * result->columns + x0;
      for (guint c = 0; c < p; c++)
        out[(gsize) r * p + c] = row[c] * 2.0f - 1.0f;
    }
}

static float
l2_distance (const float *a, const float *b, gsize n)
{
  double sum = 0.0;
  for (gsize k = 0; k < n; k++)
    {
      double d = (double) a[k] - b[k];
      sum += d * d;
    }
  return (float) sqrt (sum);
}

/* The hole crop of a P x P patch. */
static void
crop_hole (const float *patch, guint p, guint h, float *out)
{
  guint offset = (p - h) / 2;
  for (guint r = 0; r < h; r++)
    memcpy (out + (gsize) r * h, patch + (gsize) (r + offset) * p + offset, h * sizeof (float));
}

static gboolean
check_completer (PicardScanResult *result, PicardCompleter *completer, GError **error)
{
  const PicardScanParams *params = &result->params;
  const char *hash = picard_completer_get_model_hash (completer);
  if (hash == NULL || *hash == '\0')
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The completion model has no hash: scans could not be told apart");
      return FALSE;
    }
  if (result->model_hash != NULL && strcmp (result->model_hash, hash) != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "This scan was started with model %s, not with the model given (%s): "
                   "start a new scan", result->model_hash, hash);
      return FALSE;
    }
  guint f = picard_completer_get_feature_length (completer, params->hole_size);
  if (f != result->feature_length)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "This scan expects critic features of length %u, the model gives %u: "
                   "start a new scan", result->feature_length, f);
      return FALSE;
    }
  if (!picard_completer_check_geometry (completer, params->patch_size, params->hole_size,
                                        error))
    return FALSE;
  if (result->model_hash == NULL)
    result->model_hash = g_strdup (hash);
  return TRUE;
}

typedef struct {
  guint patches;
  double seconds;
} Throughput;

gboolean
picard_scan_run (PicardScanResult *result, PicardCompleter *completer, const float *slice,
                 PicardScanControl *control, GCancellable *cancellable,
                 PicardScanProgressFunc progress, gpointer user_data, GError **error)
{
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (PICARD_IS_COMPLETER (completer), FALSE);
  g_return_val_if_fail (slice != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_completer (result, completer, error))
    return FALSE;

  const PicardScanParams *params = &result->params;
  guint p = params->patch_size, h = params->hole_size, m = params->n_samples;
  guint f = result->feature_length;
  guint batch = params->batch_size > 0 ? params->batch_size
                                       : picard_completer_get_batch_size (completer);
  gsize patch_values = (gsize) p * p, hole_values = (gsize) h * h;

  guint n_cells, phase_ends[PICARD_SCAN_PHASES];
  g_autofree guint *order = picard_scan_schedule (result, &n_cells, phase_ends);
  g_autofree float *patches = g_new (float, batch * patch_values);
  g_autofree float *holes = g_new (float, (gsize) batch * m * hole_values);
  g_autofree float *features = f > 0 ? g_new (float, (gsize) batch * m * f) : NULL;
  g_autofree float *gt_features = f > 0 ? g_new (float, (gsize) batch * f) : NULL;
  g_autofree float *gt_crop = g_new (float, hole_values);
  g_autofree guint32 *patch_ids = g_new (guint32, batch);
  g_autofree guint *batch_cells = g_new (guint, batch);
  g_autofree guint32 *sample_ids = g_new (guint32, m);
  for (guint k = 0; k < m; k++)
    sample_ids[k] = k;

  Throughput window[THROUGHPUT_WINDOW] = { { 0 } };
  guint n_measured = 0;
  gint64 start = g_get_monotonic_time (), paused_us = 0;
  guint skipped_unreported = 0;
  guint pos = 0;

  while (TRUE)
    {
      /* Past cells already done (a resumed scan) and past air, which costs no completion. */
      while (pos < n_cells && result->cells[order[pos]] != PICARD_SCAN_CELL_PENDING)
        pos++;
      if (pos >= n_cells)
        break;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      paused_us += control_wait (control, cancellable);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      guint phase = 0;
      while (pos >= phase_ends[phase])
        phase++;

      guint count = 0;
      for (; pos < phase_ends[phase] && count < batch; pos++)
        {
          guint cell = order[pos];
          if (result->cells[cell] != PICARD_SCAN_CELL_PENDING)
            continue;
          if (params->skip_air && patch_is_air (result, slice, cell))
            {
              result->cells[cell] = PICARD_SCAN_CELL_SKIPPED;
              result->n_skipped++;
              skipped_unreported++;
              continue;
            }
          batch_cells[count] = cell;
          patch_ids[count] = cell;
          extract_patch (result, slice, cell, patches + count * patch_values);
          count++;
        }

      guint completed = 0;
      gint64 batch_start = g_get_monotonic_time ();
      if (count > 0)
        {
          PicardCompletionBatch request = {
            .patch_size = p,
            .hole_size = h,
            .n_patches = count,
            .patches = patches,
            .patch_ids = patch_ids,
            .n_samples = m,
            .sample_ids = sample_ids,
            .seed = params->seed,
          };
          if (!picard_completer_complete (completer, &request, holes, features, gt_features,
                                          cancellable, error))
            {
              /* Air marked in this batch stays marked: that needs no completion. */
              return FALSE;
            }
          for (guint b = 0; b < count; b++)
            {
              gsize base = (gsize) batch_cells[b] * m;
              crop_hole (patches + b * patch_values, p, h, gt_crop);
              for (guint k = 0; k < m; k++)
                {
                  gsize sample = (gsize) b * m + k;
                  result->image_distances[base + k] =
                    l2_distance (gt_crop, holes + sample * hole_values, hole_values);
                  if (f > 0)
                    result->feature_distances[base + k] =
                      l2_distance (gt_features + (gsize) b * f, features + sample * f, f);
                }
              result->cells[batch_cells[b]] = PICARD_SCAN_CELL_DONE;
            }
          result->n_done += count;
          completed = count;

          window[n_measured % THROUGHPUT_WINDOW] = (Throughput) {
            count, (g_get_monotonic_time () - batch_start) / (double) G_USEC_PER_SEC
          };
          n_measured++;
        }

      /* Skip trailing air of the phase now, so the report can say the phase is complete. */
      while (pos < phase_ends[phase])
        {
          guint cell = order[pos];
          if (result->cells[cell] == PICARD_SCAN_CELL_PENDING)
            {
              if (!params->skip_air || !patch_is_air (result, slice, cell))
                break;
              result->cells[cell] = PICARD_SCAN_CELL_SKIPPED;
              result->n_skipped++;
              skipped_unreported++;
            }
          pos++;
        }

      if (progress != NULL && (completed > 0 || skipped_unreported > 0))
        {
          guint window_patches = 0;
          double window_seconds = 0.0;
          for (guint k = 0; k < MIN (n_measured, (guint) THROUGHPUT_WINDOW); k++)
            {
              window_patches += window[k].patches;
              window_seconds += window[k].seconds;
            }
          double rate = window_seconds > 0.0 ? window_patches / window_seconds : 0.0;
          guint remaining = result->n_total - result->n_done - result->n_skipped;
          PicardScanProgress report = {
            .result = result,
            .phase = phase,
            .phase_complete = pos >= phase_ends[phase],
            .batch_completed = completed,
            .batch_skipped = skipped_unreported,
            .n_done = result->n_done,
            .n_skipped = result->n_skipped,
            .n_total = result->n_total,
            .elapsed_s = (g_get_monotonic_time () - start - paused_us) / (double) G_USEC_PER_SEC,
            .patches_per_second = rate,
            .eta_s = remaining == 0 ? 0.0 : rate > 0.0 ? remaining / rate : -1.0,
            .slice_position = 0,
            .n_slices = 1,
          };
          skipped_unreported = 0;
          progress (&report, user_data);
        }
      else
        skipped_unreported = 0;
    }

  return TRUE;
}

gboolean
picard_scan_complete_patch (const PicardScanResult *result, PicardCompleter *completer,
                            const float *slice, guint i, guint j, const guint32 *sample_ids,
                            guint n_samples, float *holes, float *ground_truth,
                            GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (PICARD_IS_COMPLETER (completer), FALSE);
  g_return_val_if_fail (slice != NULL && holes != NULL, FALSE);
  g_return_val_if_fail (sample_ids != NULL || n_samples == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (i >= result->n_h || j >= result->n_w)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Patch (%u, %u) is outside the scan's %u x %u lattice", i, j, result->n_h,
                   result->n_w);
      return FALSE;
    }
  if (n_samples == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Ask for at least one completion");
      return FALSE;
    }
  const PicardScanParams *params = &result->params;
  guint p = params->patch_size, h = params->hole_size, f = result->feature_length;
  g_autofree float *patch = g_new (float, (gsize) p * p);
  g_autofree float *features = f > 0 ? g_new (float, (gsize) n_samples * f) : NULL;
  g_autofree float *gt_features = f > 0 ? g_new (float, f) : NULL;
  guint cell = i * result->n_w + j;
  guint32 patch_id = cell;
  extract_patch (result, slice, cell, patch);
  PicardCompletionBatch request = {
    .patch_size = p,
    .hole_size = h,
    .n_patches = 1,
    .patches = patch,
    .patch_ids = &patch_id,
    .n_samples = n_samples,
    .sample_ids = sample_ids,
    .seed = params->seed,
  };
  if (!picard_completer_complete (completer, &request, holes, features, gt_features,
                                  cancellable, error))
    return FALSE;
  if (ground_truth != NULL)
    crop_hole (patch, p, h, ground_truth);
  return TRUE;
}

/* ---- several slices ---- */

typedef struct {
  const PicardScanVolumeJob *job;
  guint position;
  const char *key;
  gint64 last_store;
} VolumeState;

static void
store_quietly (const char *dir, const char *key, const PicardScanResult *result)
{
  g_autoptr (GError) error = NULL;
  if (!picard_scan_cache_store (dir, key, result, &error))
    g_warning ("Could not cache a scan result: %s", error->message);
}

static void
volume_progress (const PicardScanProgress *progress, gpointer user_data)
{
  VolumeState *state = user_data;
  const PicardScanVolumeJob *job = state->job;
  if (job->cache_dir != NULL && state->key != NULL)
    {
      gint64 now = g_get_monotonic_time ();
      if (now - state->last_store >= job->cache_interval_s * G_USEC_PER_SEC)
        {
          store_quietly (job->cache_dir, state->key, progress->result);
          state->last_store = now;
        }
    }
  if (job->progress != NULL)
    {
      PicardScanProgress report = *progress;
      report.slice_position = state->position;
      report.n_slices = job->n_slices;
      job->progress (&report, job->progress_data);
    }
}

GPtrArray *
picard_scan_volume (PicardCompleter *completer, const PicardScanParams *params,
                    const PicardScanVolumeJob *job, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (completer), NULL);
  g_return_val_if_fail (params != NULL && job != NULL, NULL);
  g_return_val_if_fail (job->get_slice != NULL, NULL);
  g_return_val_if_fail (job->slices != NULL || job->n_slices == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GPtrArray) results =
    g_ptr_array_new_with_free_func ((GDestroyNotify) picard_scan_result_unref);
  guint f = picard_completer_get_feature_length (completer, params->hole_size);
  const char *model_hash = picard_completer_get_model_hash (completer);

  for (guint k = 0; k < job->n_slices; k++)
    {
      guint index = job->slices[k];
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_autofree float *slice = job->get_slice (index, job->slice_data, cancellable, error);
      if (slice == NULL)
        return NULL;

      g_autofree char *key = NULL;
      g_autoptr (PicardScanResult) result = NULL;
      if (job->cache_dir != NULL && model_hash != NULL)
        {
          g_autofree char *content = picard_scan_hash_slice (slice, job->rows, job->columns);
          key = picard_scan_cache_key (content, index, job->rows, job->columns, model_hash, f,
                                       params);
          result = picard_scan_cache_load (job->cache_dir, key);
        }
      if (result == NULL)
        {
          result = picard_scan_result_new (job->rows, job->columns, index, params, f, error);
          if (result == NULL)
            return NULL;
        }
      /* The batch size is this run's choice, not the cached run's (it changes no result). */
      result->params.batch_size = params->batch_size;

      if (!picard_scan_result_is_complete (result))
        {
          VolumeState state = { job, k, key, g_get_monotonic_time () };
          guint done_before = result->n_done + result->n_skipped;
          GError *local_error = NULL;
          gboolean ok = picard_scan_run (result, completer, slice, job->control, cancellable,
                                         volume_progress, &state, &local_error);
          if (key != NULL && result->n_done + result->n_skipped > done_before)
            store_quietly (job->cache_dir, key, result);
          if (!ok)
            {
              g_propagate_error (error, local_error);
              return NULL;
            }
        }
      if (job->slice_done != NULL)
        job->slice_done (result, job->slice_done_data);
      g_ptr_array_add (results, g_steal_pointer (&result));
    }
  return g_steal_pointer (&results);
}
