#include "picard-eval.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"

guint8 *
picard_eval_box_labels (guint rows, guint columns, const PicardRect *boxes, guint n_boxes)
{
  g_return_val_if_fail (boxes != NULL || n_boxes == 0, NULL);
  guint8 *labels = g_malloc0 (MAX ((gsize) rows * columns, 1));
  for (guint b = 0; b < n_boxes; b++)
    {
      /* Inclusive of both edges: rows y .. y+height, columns x .. x+width. */
      gint64 y0 = MAX ((gint64) boxes[b].y, 0);
      gint64 y1 = MIN ((gint64) boxes[b].y + boxes[b].height, (gint64) rows - 1);
      gint64 x0 = MAX ((gint64) boxes[b].x, 0);
      gint64 x1 = MIN ((gint64) boxes[b].x + boxes[b].width, (gint64) columns - 1);
      if (boxes[b].width < 0 || boxes[b].height < 0)
        continue;
      for (gint64 y = y0; y <= y1; y++)
        if (x0 <= x1)
          memset (labels + y * columns + x0, 1, (gsize) (x1 - x0 + 1));
    }
  return labels;
}

guint8 *
picard_eval_breast_mask (const float *slice, guint rows, guint columns)
{
  g_return_val_if_fail (slice != NULL || (gsize) rows * columns == 0, NULL);
  gsize n = (gsize) rows * columns;
  guint8 *mask = g_malloc (MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    mask[k] = slice[k] > 0.0f;
  return mask;
}

/* ---- sorting scores ---- */

/* An unsigned key in the order of the floats; NaN below everything, -0 equal to +0. */
static inline guint32
order_key (float value)
{
  if (isnan (value))
    return 0;
  if (value == 0.0f)
    value = 0.0f;
  guint32 bits;
  memcpy (&bits, &value, 4);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

/* LSD radix sort, two 16-bit digits, ascending. */
static void
radix_sort (guint32 *keys, gsize n)
{
  if (n < 2)
    return;
  g_autofree guint32 *tmp = g_new (guint32, n);
  g_autofree gsize *count = g_new (gsize, 65536);
  guint32 *src = keys, *dst = tmp;
  for (int shift = 0; shift < 32; shift += 16)
    {
      memset (count, 0, 65536 * sizeof (gsize));
      for (gsize k = 0; k < n; k++)
        count[(src[k] >> shift) & 0xffff]++;
      gsize sum = 0;
      for (guint d = 0; d < 65536; d++)
        {
          gsize c = count[d];
          count[d] = sum;
          sum += c;
        }
      for (gsize k = 0; k < n; k++)
        dst[count[(src[k] >> shift) & 0xffff]++] = src[k];
      guint32 *swap = src;
      src = dst;
      dst = swap;
    }
  /* An even number of passes leaves the result in @keys. */
}

/* Called once per distinct score, in falling order, with the cumulative true and false
 * positives at or above it; @last for the lowest. */
typedef void (*CurveVisitor) (guint64 tp, guint64 fp, gboolean last, gpointer user_data);

/* Counts the classes first (*n_pos, *n_neg are set before any visit), then walks the curve. */
static gboolean
walk_curve (const float *scores, const guint8 *labels, const guint8 *include, gsize n,
            guint64 *n_pos, guint64 *n_neg, CurveVisitor visit, gpointer user_data,
            GError **error)
{
  gsize np = 0, nn = 0;
  for (gsize k = 0; k < n; k++)
    if (include == NULL || include[k])
      {
        if (labels[k])
          np++;
        else
          nn++;
      }
  if (np + nn == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "No pixel to evaluate: the heatmap is empty or the mask excludes "
                   "every pixel");
      return FALSE;
    }
  *n_pos = np;
  *n_neg = nn;
  g_autofree guint32 *pos = g_new (guint32, MAX (np, 1));
  g_autofree guint32 *neg = g_new (guint32, MAX (nn, 1));
  gsize ip = 0, in = 0;
  for (gsize k = 0; k < n; k++)
    if (include == NULL || include[k])
      {
        if (labels[k])
          pos[ip++] = order_key (scores[k]);
        else
          neg[in++] = order_key (scores[k]);
      }
  radix_sort (pos, np);
  radix_sort (neg, nn);

  guint64 tp = 0, fp = 0;
  gssize a = (gssize) np - 1, b = (gssize) nn - 1;
  while (a >= 0 || b >= 0)
    {
      guint32 v = a < 0 ? neg[b] : b < 0 ? pos[a] : MAX (pos[a], neg[b]);
      while (a >= 0 && pos[a] == v)
        {
          tp++;
          a--;
        }
      while (b >= 0 && neg[b] == v)
        {
          fp++;
          b--;
        }
      visit (tp, fp, a < 0 && b < 0, user_data);
    }
  return TRUE;
}

typedef struct {
  guint64 np, tp_prev, fp_prev;
  double area, ap;
} Sums;

static void
sum_point (guint64 tp, guint64 fp, gboolean last, gpointer user_data)
{
  Sums *sums = user_data;
  /* Trapezoids in integer counts (exact in double below 2^53), normalised once. */
  sums->area += (double) (fp - sums->fp_prev) * (double) (tp + sums->tp_prev) / 2.0;
  if (sums->np > 0)
    sums->ap += ((double) (tp - sums->tp_prev) / sums->np) * ((double) tp / (tp + fp));
  sums->tp_prev = tp;
  sums->fp_prev = fp;
}

gboolean
picard_eval_pixels (const float *scores, const guint8 *labels, const guint8 *include, gsize n,
                    PicardPixelScores *out, GError **error)
{
  g_return_val_if_fail (scores != NULL || n == 0, FALSE);
  g_return_val_if_fail (labels != NULL || n == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  guint64 np, nn;
  Sums sums = { 0 };
  /* The visitor needs the positives' count: walk_curve sets it before the first visit. */
  if (!walk_curve (scores, labels, include, n, &sums.np, &nn, sum_point, &sums, error))
    return FALSE;
  np = sums.np;
  double area = sums.area, ap = sums.ap;
  out->n_positive = np;
  out->n_negative = nn;
  out->auc = np > 0 && nn > 0 ? area / ((double) np * nn) : NAN;
  out->ap = np > 0 ? ap : NAN;
  return TRUE;
}

static void
append_thinned (GArray *xs, GArray *ys, double x, double y, double resolution, gboolean force)
{
  if (!force && resolution > 0.0 && xs->len > 0)
    {
      double lx = g_array_index (xs, double, xs->len - 1);
      double ly = g_array_index (ys, double, ys->len - 1);
      if (fabs (x - lx) < resolution && fabs (y - ly) < resolution)
        return;
    }
  g_array_append_val (xs, x);
  g_array_append_val (ys, y);
}

typedef struct {
  GArray *fpr, *tpr, *recall, *precision;
  guint64 np, nn;
  double resolution;
} CurveArrays;

static void
curve_point (guint64 tp, guint64 fp, gboolean last, gpointer user_data)
{
  CurveArrays *c = user_data;
  append_thinned (c->fpr, c->tpr, c->nn > 0 ? (double) fp / c->nn : 0.0,
                  c->np > 0 ? (double) tp / c->np : 0.0, c->resolution, last);
  append_thinned (c->recall, c->precision, c->np > 0 ? (double) tp / c->np : 0.0,
                  (double) tp / (tp + fp), c->resolution, last);
}

gboolean
picard_eval_curves (const float *scores, const guint8 *labels, const guint8 *include, gsize n,
                    double resolution, PicardEvalCurves *out, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (out, 0, sizeof *out);
  CurveArrays arrays = {
    g_array_new (FALSE, FALSE, sizeof (double)), g_array_new (FALSE, FALSE, sizeof (double)),
    g_array_new (FALSE, FALSE, sizeof (double)), g_array_new (FALSE, FALSE, sizeof (double)),
    0, 0, resolution,
  };
  append_thinned (arrays.fpr, arrays.tpr, 0.0, 0.0, resolution, TRUE);
  append_thinned (arrays.recall, arrays.precision, 0.0, 1.0, resolution, TRUE);
  if (!walk_curve (scores, labels, include, n, &arrays.np, &arrays.nn, curve_point, &arrays,
                   error))
    {
      g_array_unref (arrays.fpr);
      g_array_unref (arrays.tpr);
      g_array_unref (arrays.recall);
      g_array_unref (arrays.precision);
      return FALSE;
    }
  GArray *fpr = arrays.fpr, *tpr = arrays.tpr, *recall = arrays.recall;
  GArray *precision = arrays.precision;
  out->n_roc = fpr->len;
  out->n_pr = recall->len;
  out->fpr = (double *) g_array_free (fpr, FALSE);
  out->tpr = (double *) g_array_free (tpr, FALSE);
  out->recall = (double *) g_array_free (recall, FALSE);
  out->precision = (double *) g_array_free (precision, FALSE);
  return TRUE;
}

void
picard_eval_curves_clear (PicardEvalCurves *curves)
{
  if (curves == NULL)
    return;
  g_free (curves->fpr);
  g_free (curves->tpr);
  g_free (curves->recall);
  g_free (curves->precision);
  memset (curves, 0, sizeof *curves);
}

/* ---- summaries ---- */

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (const double *sorted, guint n, double q)
{
  double position = q * (n - 1);
  guint lo = (guint) floor (position);
  if (lo + 1 >= n)
    return sorted[n - 1];
  double frac = position - lo;
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

gboolean
picard_eval_bootstrap (const double *values, guint n, guint resamples, double confidence,
                       guint64 seed, PicardEvalSummary *out)
{
  g_return_val_if_fail (values != NULL || n == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (confidence > 0.0 && confidence < 1.0, FALSE);
  g_autofree double *valid = g_new (double, MAX (n, 1u));
  guint m = 0;
  double sum = 0.0;
  for (guint k = 0; k < n; k++)
    if (!isnan (values[k]))
      {
        valid[m++] = values[k];
        sum += values[k];
      }
  memset (out, 0, sizeof *out);
  if (m == 0)
    {
      out->mean = out->low = out->high = NAN;
      return FALSE;
    }
  out->n = m;
  out->mean = sum / m;
  if (resamples == 0)
    {
      out->low = out->high = out->mean;
      return TRUE;
    }
  guint32 seed_words[2] = { (guint32) seed, (guint32) (seed >> 32) };
  GRand *rand = g_rand_new_with_seed_array (seed_words, 2);
  g_autofree double *means = g_new (double, resamples);
  for (guint r = 0; r < resamples; r++)
    {
      double s = 0.0;
      for (guint k = 0; k < m; k++)
        s += valid[g_rand_int_range (rand, 0, (gint32) m)];
      means[r] = s / m;
    }
  g_rand_free (rand);
  qsort (means, resamples, sizeof (double), compare_doubles);
  double tail = (1.0 - confidence) / 2.0;
  out->low = percentile (means, resamples, tail);
  out->high = percentile (means, resamples, 1.0 - tail);
  return TRUE;
}

/* ---- detections ---- */

typedef struct {
  gsize index;
  float score;
} Candidate;

static int
compare_candidates (gconstpointer a, gconstpointer b)
{
  const Candidate *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

void
picard_eval_find_detections (const float *heatmap, guint rows, guint columns, guint volume,
                             guint slice, double radius, guint box_size, guint max_detections,
                             GArray *detections)
{
  g_return_if_fail (heatmap != NULL || (gsize) rows * columns == 0);
  g_return_if_fail (detections != NULL);
  g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  for (guint y = 0; y < rows; y++)
    for (guint x = 0; x < columns; x++)
      {
        float v = heatmap[(gsize) y * columns + x];
        if (!isfinite (v))
          continue;
        gboolean peak = TRUE;
        for (int dy = -1; dy <= 1 && peak; dy++)
          for (int dx = -1; dx <= 1 && peak; dx++)
            {
              gint64 ny = (gint64) y + dy, nx = (gint64) x + dx;
              if ((dy == 0 && dx == 0) || ny < 0 || nx < 0 || ny >= rows || nx >= columns)
                continue;
              float w = heatmap[ny * columns + nx];
              peak = !(isfinite (w) && w > v);
            }
        if (peak)
          {
            Candidate c = { (gsize) y * columns + x, v };
            g_array_append_val (candidates, c);
          }
      }
  g_array_sort (candidates, compare_candidates);

  /* Kept maxima in buckets of at least the radius, so each test looks at 3 x 3 buckets. */
  double cell = MAX (radius, 16.0);
  guint bh = (guint) (rows / cell) + 1, bw = (guint) (columns / cell) + 1;
  g_autofree gint *head = g_new (gint, (gsize) bh * bw);
  for (gsize k = 0; k < (gsize) bh * bw; k++)
    head[k] = -1;
  g_autoptr (GArray) kept = g_array_new (FALSE, FALSE, sizeof (Candidate));
  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint k = 0; k < candidates->len; k++)
    {
      if (max_detections > 0 && kept->len >= max_detections)
        break;
      const Candidate *c = &g_array_index (candidates, Candidate, k);
      double cy = (double) (c->index / columns), cx = (double) (c->index % columns);
      guint by = (guint) (cy / cell), bx = (guint) (cx / cell);
      gboolean suppressed = FALSE;
      for (gint64 y = (gint64) by - 1; y <= (gint64) by + 1 && !suppressed; y++)
        for (gint64 x = (gint64) bx - 1; x <= (gint64) bx + 1 && !suppressed; x++)
          {
            if (y < 0 || x < 0 || y >= bh || x >= bw)
              continue;
            for (gint e = head[y * bw + x]; e >= 0 && !suppressed;
                 e = g_array_index (next, gint, e))
              {
                const Candidate *o = &g_array_index (kept, Candidate, e);
                double oy = (double) (o->index / columns), ox = (double) (o->index % columns);
                suppressed = hypot (oy - cy, ox - cx) <= radius;
              }
          }
      if (suppressed)
        continue;
      gint id = (gint) kept->len;
      g_array_append_val (kept, *c);
      g_array_append_val (next, head[by * bw + bx]);
      head[by * bw + bx] = id;

      PicardDetection d = {
        .volume = volume,
        .slice = slice,
        .x = cx,
        .y = cy,
        .box = { (int) cx - (int) box_size / 2, (int) cy - (int) box_size / 2, (int) box_size,
                 (int) box_size },
        .score = c->score,
      };
      g_array_append_val (detections, d);
    }
}

/* ---- FROC ---- */

static double
interp (double x, const double *xp, const double *fp, guint n)
{
  /* numpy.interp: the last j with xp[j] <= x, linear to j + 1; ends held. */
  if (x > xp[n - 1])
    return fp[n - 1];
  if (x < xp[0])
    return fp[0];
  guint lo = 0, hi = n; /* first index with xp > x lies in [lo, hi] */
  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;
      if (xp[mid] <= x)
        lo = mid + 1;
      else
        hi = mid;
    }
  guint j = lo - 1;
  if (j == n - 1 || xp[j] == x)
    return fp[j];
  return (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j]) + fp[j];
}

static int
compare_desc (gconstpointer a, gconstpointer b)
{
  return -compare_doubles (a, b);
}

typedef struct {
  float score;
  gint truth; /* -1: false positive */
} Scored;

static int
compare_scored (gconstpointer a, gconstpointer b)
{
  const Scored *x = a, *y = b;
  return (x->score < y->score) - (x->score > y->score);
}

gboolean
picard_eval_froc (const PicardFrocTruth *truths, guint n_truths,
                  const PicardDetection *detections, guint n_detections, guint n_volumes,
                  const double *fps, guint n_fps, double *sensitivity, GError **error)
{
  g_return_val_if_fail (truths != NULL || n_truths == 0, FALSE);
  g_return_val_if_fail (detections != NULL || n_detections == 0, FALSE);
  g_return_val_if_fail (fps != NULL && sensitivity != NULL && n_fps > 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (n_truths == 0 || n_volumes == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "FROC needs at least one lesion box and one volume (%u boxes, %u volumes)",
                   n_truths, n_volumes);
      return FALSE;
    }
  if (n_detections == 0)
    {
      for (guint k = 0; k < n_fps; k++)
        sensitivity[k] = 0.0;
      return TRUE;
    }

  g_autofree Scored *scored = g_new (Scored, n_detections);
  g_autoptr (GArray) thresholds = g_array_new (FALSE, FALSE, sizeof (double));
  float lowest = detections[0].score, highest = detections[0].score;
  for (guint d = 0; d < n_detections; d++)
    {
      const PicardDetection *det = &detections[d];
      lowest = MIN (lowest, det->score);
      highest = MAX (highest, det->score);
      gint best = -1;
      double best_distance = 0.0;
      for (guint t = 0; t < n_truths; t++)
        {
          const PicardFrocTruth *truth = &truths[t];
          if (truth->volume != det->volume)
            continue;
          double tx = truth->box.x + truth->box.width / 2.0;
          double ty = truth->box.y + truth->box.height / 2.0;
          double dz = (double) det->slice - truth->slice;
          double planar = hypot (det->x - tx, det->y - ty);
          double reach = MAX (hypot (truth->box.width, truth->box.height) / 2.0, 100.0);
          if (planar > reach || fabs (dz) > truth->volume_slices / 4.0)
            continue;
          double distance = sqrt (planar * planar + dz * dz);
          if (best < 0 || distance < best_distance)
            {
              best = (gint) t;
              best_distance = distance;
            }
        }
      scored[d] = (Scored) { det->score, best };
      if (best >= 0)
        {
          double th = det->score;
          g_array_append_val (thresholds, th);
        }
    }
  double top = (double) highest + 1.0, bottom = (double) lowest - 1.0;
  g_array_append_val (thresholds, top);
  g_array_append_val (thresholds, bottom);
  g_array_sort (thresholds, compare_desc);
  qsort (scored, n_detections, sizeof (Scored), compare_scored);

  double max_fps = fps[0];
  for (guint k = 1; k < n_fps; k++)
    max_fps = MAX (max_fps, fps[k]);
  g_autofree gboolean *hit = g_new0 (gboolean, n_truths);
  g_autoptr (GArray) xs = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) ys = g_array_new (FALSE, FALSE, sizeof (double));
  guint next = 0, n_hit = 0, n_false = 0;
  for (guint k = 0; k < thresholds->len; k++)
    {
      double th = g_array_index (thresholds, double, k);
      for (; next < n_detections && scored[next].score >= th; next++)
        {
          if (scored[next].truth < 0)
            n_false++;
          else if (!hit[scored[next].truth])
            {
              hit[scored[next].truth] = TRUE;
              n_hit++;
            }
        }
      double x = (double) n_false / n_volumes, y = (double) n_hit / n_truths;
      g_array_append_val (xs, x);
      g_array_append_val (ys, y);
      if (x > max_fps)
        break;
    }
  for (guint k = 0; k < n_fps; k++)
    sensitivity[k] = interp (fps[k], (const double *) xs->data, (const double *) ys->data,
                             xs->len);
  return TRUE;
}
