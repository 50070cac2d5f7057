#include "picard-heatmap.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"

#define KEYS_A (-0.75f)

gboolean
picard_heatmap_mode_from_string (const char *text, PicardHeatmapMode *mode)
{
  g_return_val_if_fail (mode != NULL, FALSE);
  if (text == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (text, "registered") == 0)
    *mode = PICARD_HEATMAP_REGISTERED;
  else if (g_ascii_strcasecmp (text, "reference") == 0)
    *mode = PICARD_HEATMAP_REFERENCE;
  else
    return FALSE;
  return TRUE;
}

const char *
picard_heatmap_mode_to_string (PicardHeatmapMode mode)
{
  return mode == PICARD_HEATMAP_REFERENCE ? "reference" : "registered";
}

/* Keys' kernel for |x| <= 1 and 1 < |x| < 2, written as PyTorch writes them so that the float
 * results agree. */
static float
cubic_near (float x)
{
  return ((KEYS_A + 2.0f) * x - (KEYS_A + 3.0f)) * x * x + 1.0f;
}

static float
cubic_far (float x)
{
  return ((KEYS_A * x - 5.0f * KEYS_A) * x + 8.0f * KEYS_A) * x - 4.0f * KEYS_A;
}

void
picard_heatmap_cubic_weights (float t, float weights[4])
{
  weights[0] = cubic_far (t + 1.0f);
  weights[1] = cubic_near (t);
  weights[2] = cubic_near (1.0f - t);
  weights[3] = cubic_far (2.0f - t);
}

static inline gint64
clamp_index (gint64 k, gint64 n)
{
  return k < 0 ? 0 : k >= n ? n - 1 : k;
}

/* ---- reference: PyTorch's bicubic resize ---- */

typedef struct {
  gint64 index[4];
  float weight[4];
} Taps;

static Taps *
torch_taps (guint in, guint out)
{
  Taps *taps = g_new (Taps, out);
  /* area_pixel_compute_scale and area_pixel_compute_source_index (cubic: no clamp at 0), in
   * float as for a float32 tensor. */
  float scale = (float) in / (float) out;
  for (guint o = 0; o < out; o++)
    {
      float real = scale * ((float) o + 0.5f) - 0.5f;
      gint64 base = (gint64) floorf (real);
      picard_heatmap_cubic_weights (real - (float) base, taps[o].weight);
      for (int k = 0; k < 4; k++)
        taps[o].index[k] = clamp_index (base - 1 + k, in);
    }
  return taps;
}

void
picard_heatmap_resize_bicubic (const float *grid, guint n_h, guint n_w, guint rows,
                               guint columns, float *out)
{
  g_return_if_fail (grid != NULL && out != NULL);
  g_return_if_fail (n_h > 0 && n_w > 0);
  g_autofree Taps *row_taps = torch_taps (n_h, rows);
  g_autofree Taps *col_taps = torch_taps (n_w, columns);
  /* Every grid row resampled along x first: PyTorch sums the x taps of each row, then the
   * rows, in that order; the float results are the same. */
  g_autofree float *tmp = g_new (float, (gsize) n_h * columns);
  for (guint i = 0; i < n_h; i++)
    {
      const float *src = grid + (gsize) i * n_w;
      float *dst = tmp + (gsize) i * columns;
      for (guint x = 0; x < columns; x++)
        {
          const Taps *t = &col_taps[x];
          float v = src[t->index[0]] * t->weight[0];
          for (int k = 1; k < 4; k++)
            v += src[t->index[k]] * t->weight[k];
          dst[x] = v;
        }
    }
  for (guint y = 0; y < rows; y++)
    {
      const Taps *t = &row_taps[y];
      const float *r0 = tmp + (gsize) t->index[0] * columns;
      const float *r1 = tmp + (gsize) t->index[1] * columns;
      const float *r2 = tmp + (gsize) t->index[2] * columns;
      const float *r3 = tmp + (gsize) t->index[3] * columns;
      float *dst = out + (gsize) y * columns;
      for (guint x = 0; x < columns; x++)
        {
          float v = r0[x] * t->weight[0];
          v += r1[x] * t->weight[1];
          v += r2[x] * t->weight[2];
          v += r3[x] * t->weight[3];
          dst[x] = v;
        }
    }
}

/* ---- registered ---- */

/* Taps at lattice coordinate @u (clamped to [0, n-1]); a tap whose weight is exactly 0 (u on a
 * lattice line) is dropped, so a NaN neighbour there does not spread. */
static void
lattice_taps (double u, guint n, Taps *taps)
{
  u = CLAMP (u, 0.0, (double) n - 1.0);
  gint64 base = (gint64) floor (u);
  picard_heatmap_cubic_weights ((float) (u - (double) base), taps->weight);
  for (int k = 0; k < 4; k++)
    taps->index[k] = clamp_index (base - 1 + k, n);
}

static inline float
apply_taps (const Taps *t, const float *values, gsize step)
{
  float v = 0.0f;
  for (int k = 0; k < 4; k++)
    if (t->weight[k] != 0.0f)
      v += t->weight[k] * values[(gsize) t->index[k] * step];
  return v;
}

void
picard_heatmap_registered (const float *grid, guint n_w, guint i0, guint j0, guint region_h,
                           guint region_w, guint patch_size, guint hole_size, guint stride,
                           guint rows, guint columns, float *out)
{
  g_return_if_fail (grid != NULL && out != NULL);
  g_return_if_fail (region_h > 0 && region_w > 0 && stride > 0 && hole_size <= patch_size);

  for (gsize k = 0; k < (gsize) rows * columns; k++)
    out[k] = NAN;

  guint offset = (patch_size - hole_size) / 2;
  double centre = (patch_size - 1) / 2.0;
  gint64 y_lo = (gint64) i0 * stride + offset, x_lo = (gint64) j0 * stride + offset;
  gint64 y_hi = MIN ((gint64) (i0 + region_h - 1) * stride + offset + hole_size, (gint64) rows);
  gint64 x_hi = MIN ((gint64) (j0 + region_w - 1) * stride + offset + hole_size,
                     (gint64) columns);
  if (y_lo >= y_hi || x_lo >= x_hi)
    return;
  guint width = (guint) (x_hi - x_lo), height = (guint) (y_hi - y_lo);

  g_autofree Taps *col_taps = g_new (Taps, width);
  for (guint x = 0; x < width; x++)
    lattice_taps (((double) (x_lo + x) - centre) / stride - j0, region_w, &col_taps[x]);

  /* Each lattice row of the region resampled along x, then the columns along y. */
  g_autofree float *tmp = g_new (float, (gsize) region_h * width);
  for (guint r = 0; r < region_h; r++)
    {
      const float *src = grid + (gsize) (i0 + r) * n_w + j0;
      for (guint x = 0; x < width; x++)
        tmp[(gsize) r * width + x] = apply_taps (&col_taps[x], src, 1);
    }
  for (guint y = 0; y < height; y++)
    {
      Taps t;
      lattice_taps (((double) (y_lo + y) - centre) / stride - i0, region_h, &t);
      float *dst = out + (gsize) (y_lo + y) * columns + x_lo;
      for (guint x = 0; x < width; x++)
        dst[x] = apply_taps (&t, tmp + x, width);
    }
}

void
picard_heatmap_get_extent (const PicardScanResult *result, PicardRect *extent)
{
  g_return_if_fail (result != NULL && extent != NULL);
  const PicardScanParams *p = &result->params;
  int offset = (int) (p->patch_size - p->hole_size) / 2;
  extent->y = (int) (result->i0 * p->stride) + offset;
  extent->x = (int) (result->j0 * p->stride) + offset;
  extent->height = (int) ((result->region_h - 1) * p->stride + p->hole_size);
  extent->width = (int) ((result->region_w - 1) * p->stride + p->hole_size);
}

/* ---- progressive fill ---- */

/* Pending cells of the level-(step/2) lattice (offsets from the region's first cell divisible
 * by step/2 but not both by step) interpolated from the level-step lattice. */
static void
fill_level (const PicardScanResult *result, float *grid, guint step)
{
  guint half = step / 2;
  guint coarse_h = (result->region_h - 1) / step + 1;
  guint coarse_w = (result->region_w - 1) / step + 1;
  /* The coarse lattice's values, as a dense array for the taps. */
  g_autofree float *coarse = g_new (float, (gsize) coarse_h * coarse_w);
  for (guint a = 0; a < coarse_h; a++)
    for (guint b = 0; b < coarse_w; b++)
      coarse[(gsize) a * coarse_w + b] =
        grid[(gsize) (result->i0 + a * step) * result->n_w + result->j0 + b * step];

  for (guint a = 0; a < result->region_h; a += half)
    for (guint b = 0; b < result->region_w; b += half)
      {
        if (a % step == 0 && b % step == 0)
          continue;
        gsize cell = (gsize) (result->i0 + a) * result->n_w + result->j0 + b;
        if (result->cells[cell] != PICARD_SCAN_CELL_PENDING)
          continue;
        Taps ty, tx;
        lattice_taps ((double) a / step, coarse_h, &ty);
        lattice_taps ((double) b / step, coarse_w, &tx);
        float v = 0.0f;
        for (int k = 0; k < 4; k++)
          if (ty.weight[k] != 0.0f)
            v += ty.weight[k] * apply_taps (&tx, coarse + (gsize) ty.index[k] * coarse_w, 1);
        grid[cell] = v;
      }
}

float *
picard_heatmap_fill_grid (const PicardScanResult *result, PicardScanMetric metric)
{
  g_return_val_if_fail (result != NULL, NULL);
  float *grid = picard_scan_result_get_grid (result, metric);
  if (picard_scan_result_is_complete (result))
    return grid;
  fill_level (result, grid, 4);
  fill_level (result, grid, 2);
  return grid;
}

float *
picard_heatmap_from_result (const PicardScanResult *result, PicardScanMetric metric,
                            PicardHeatmapMode mode, GError **error)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (!picard_scan_result_has_metric (result, metric))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "This scan has no %s scores: its model has no critic features",
                   picard_scan_metric_to_string (metric));
      return NULL;
    }
  g_autofree float *grid = picard_heatmap_fill_grid (result, metric);
  float *out = g_new (float, (gsize) result->rows * result->columns);
  const PicardScanParams *p = &result->params;
  if (mode == PICARD_HEATMAP_REFERENCE)
    picard_heatmap_resize_bicubic (grid, result->n_h, result->n_w, result->rows,
                                   result->columns, out);
  else
    picard_heatmap_registered (grid, result->n_w, result->i0, result->j0, result->region_h,
                               result->region_w, p->patch_size, p->hole_size, p->stride,
                               result->rows, result->columns, out);
  return out;
}
