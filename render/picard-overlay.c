#include "picard-overlay.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"

/* cairo's image surfaces are limited to 32767 pixels a side. */
#define MAX_SIDE 32767u
/* Below this many pixels a second thread costs more than it saves. */
#define PARALLEL_MIN_PIXELS (512u * 1024u)
#define MAX_THREADS 16u

void
picard_overlay_style_init (PicardOverlayStyle *style)
{
  g_return_if_fail (style != NULL);

  memset (style, 0, sizeof *style);
  style->colormap = PICARD_COLORMAP_JET;
  style->opacity = 0.5;
  style->lower_threshold = -INFINITY;
  style->upper_threshold = INFINITY;
  style->auto_range = TRUE;
  style->range_min = 0.0;
  style->range_max = 1.0;
  style->low_percentile = 1.0;
  style->high_percentile = 99.0;
}

/* Row bands processed on several threads: each band writes its own rows only. */
typedef void (*BandFunc) (gpointer data, guint first_row, guint end_row);

typedef struct {
  BandFunc func;
  gpointer data;
  guint first_row, end_row;
} Band;

static gpointer
band_thread (gpointer data)
{
  Band *band = data;

  band->func (band->data, band->first_row, band->end_row);
  return NULL;
}

static void
run_bands (guint rows, guint columns, BandFunc func, gpointer data)
{
  guint n = 1;
  Band bands[MAX_THREADS];
  GThread *threads[MAX_THREADS] = { NULL };

  if ((gsize) rows * columns >= PARALLEL_MIN_PIXELS)
    n = CLAMP ((guint) g_get_num_processors (), 1u, MAX_THREADS);
  n = MIN (n, MAX (rows, 1u));
  for (guint i = 0; i < n; i++)
    {
      bands[i].func = func;
      bands[i].data = data;
      bands[i].first_row = (guint) ((guint64) rows * i / n);
      bands[i].end_row = (guint) ((guint64) rows * (i + 1) / n);
    }
  /* A failed thread start just means that band runs here. */
  for (guint i = 1; i < n; i++)
    threads[i] = g_thread_try_new ("picard-render", band_thread, &bands[i], NULL);
  band_thread (&bands[0]);
  for (guint i = 1; i < n; i++)
    {
      if (threads[i] != NULL)
        g_thread_join (threads[i]);
      else
        band_thread (&bands[i]);
    }
}

static cairo_surface_t *
image_surface_new (cairo_format_t format, guint rows, guint columns, GError **error)
{
  cairo_surface_t *surface;

  if (rows == 0 || columns == 0 || rows > MAX_SIDE || columns > MAX_SIDE)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "Cannot draw a %u x %u image: each side must be 1 to %u pixels", columns,
                   rows, MAX_SIDE);
      return NULL;
    }
  surface = cairo_image_surface_create (format, (int) columns, (int) rows);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "Cannot allocate a %u x %u image (%s): close other volumes or free memory",
                   columns, rows, cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      return NULL;
    }
  return surface;
}

/* ---- percentiles ---- */

/* The k-th smallest of a[0..n) (0-based), reordering a. Pivots from a fixed-seed
 * generator: expected linear time whatever the input order, and deterministic. */
static float
select_kth (float *a, gssize n, gssize k)
{
  gssize lo = 0, hi = n - 1;
  guint64 state = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  while (lo < hi)
    {
      gssize i = lo, j = hi;
      float pivot;

      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      pivot = a[lo + (gssize) (state % (guint64) (hi - lo + 1))];
      while (i <= j)
        {
          while (a[i] < pivot)
            i++;
          while (a[j] > pivot)
            j--;
          if (i <= j)
            {
              float t = a[i];

              a[i] = a[j];
              a[j] = t;
              i++;
              j--;
            }
        }
      /* Now a[lo..j] <= pivot <= a[i..hi] and everything between equals pivot. */
      if (k <= j)
        hi = j;
      else if (k >= i)
        lo = i;
      else
        return a[k];
    }
  return a[k];
}

gboolean
picard_percentiles (const float *values, gsize n, const double *percentiles,
                    guint n_percentiles, double *out)
{
  g_autofree float *finite = NULL;
  gsize m = 0;

  g_return_val_if_fail (n == 0 || values != NULL, FALSE);
  g_return_val_if_fail (n_percentiles == 0 || (percentiles != NULL && out != NULL), FALSE);

  finite = g_try_new (float, MAX (n, 1));
  if (finite == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (isfinite (values[i]))
      finite[m++] = values[i];
  if (m == 0)
    return FALSE;

  for (guint p = 0; p < n_percentiles; p++)
    {
      double pos = CLAMP (percentiles[p], 0.0, 100.0) / 100.0 * (double) (m - 1);
      gsize k = (gsize) floor (pos);
      double frac = pos - (double) k;
      double a = select_kth (finite, (gssize) m, (gssize) k);
      double b = a;

      if (frac > 0.0 && k + 1 < m)
        {
          /* After selection, the next order statistic is the smallest value above k. */
          float next = finite[k + 1];

          for (gsize i = k + 2; i < m; i++)
            next = MIN (next, finite[i]);
          b = next;
        }
      /* numpy's _lerp, which is exact at both ends. */
      out[p] = frac >= 0.5 ? b - (b - a) * (1.0 - frac) : a + (b - a) * frac;
    }
  return TRUE;
}

void
picard_overlay_resolve_range (const PicardOverlayStyle *style, const float *heatmap, gsize n,
                              double *range_min, double *range_max)
{
  double lo = 0.0, hi = 1.0;

  g_return_if_fail (style != NULL);

  if (!style->auto_range)
    {
      lo = style->range_min;
      hi = style->range_max;
    }
  else if (heatmap != NULL)
    {
      double p[2] = { style->low_percentile, style->high_percentile };
      double v[2];

      if (picard_percentiles (heatmap, n, p, 2, v))
        {
          lo = v[0];
          hi = v[1];
        }
    }
  if (range_min != NULL)
    *range_min = lo;
  if (range_max != NULL)
    *range_max = hi;
}

/* ---- the overlay ---- */

typedef struct {
  const float *heatmap;
  guint columns;
  guint8 *pixels;
  int stride;
  guint32 colours[PICARD_COLORMAP_SIZE]; /* premultiplied ARGB at the opacity */
  double lower, upper, range_min, scale;
  gboolean degenerate;
} OverlayJob;

static void
overlay_band (gpointer data, guint first_row, guint end_row)
{
  const OverlayJob *job = data;

  for (guint y = first_row; y < end_row; y++)
    {
      const float *in = job->heatmap + (gsize) y * job->columns;
      guint32 *out = (guint32 *) (job->pixels + (gsize) y * job->stride);

      for (guint x = 0; x < job->columns; x++)
        {
          double v = in[x];
          double t;
          guint index;

          /* NaN fails every comparison: transparent, like values below the threshold. */
          if (!(v >= job->lower))
            {
              out[x] = 0;
              continue;
            }
          if (v > job->upper)
            v = job->upper;
          /* matplotlib: entry floor (t * N), clipped to the table. */
          t = job->degenerate ? 0.0 : (v - job->range_min) * job->scale;
          if (!(t > 0.0))
            index = 0;
          else if (t >= PICARD_COLORMAP_SIZE - 1)
            index = PICARD_COLORMAP_SIZE - 1;
          else
            index = (guint) t;
          out[x] = job->colours[index];
        }
    }
}

void
picard_overlay_render (const PicardOverlayStyle *style, const float *heatmap,
                       double range_min, double range_max, cairo_surface_t *surface)
{
  OverlayJob job;
  const guint8 *table;
  guint alpha;

  g_return_if_fail (style != NULL && heatmap != NULL && surface != NULL);
  g_return_if_fail (style->colormap < PICARD_COLORMAP_N);
  g_return_if_fail (cairo_surface_get_type (surface) == CAIRO_SURFACE_TYPE_IMAGE);
  g_return_if_fail (cairo_image_surface_get_format (surface) == CAIRO_FORMAT_ARGB32);

  cairo_surface_flush (surface);
  job.heatmap = heatmap;
  job.columns = (guint) cairo_image_surface_get_width (surface);
  job.pixels = cairo_image_surface_get_data (surface);
  job.stride = cairo_image_surface_get_stride (surface);
  job.lower = isnan (style->lower_threshold) ? -INFINITY : style->lower_threshold;
  job.upper = isnan (style->upper_threshold) ? INFINITY : style->upper_threshold;
  job.range_min = range_min;
  /* matplotlib's Normalize maps everything to 0 when vmin == vmax. */
  job.degenerate = !(range_max > range_min) || !isfinite (range_max - range_min);
  job.scale = job.degenerate ? 0.0 : PICARD_COLORMAP_SIZE / (range_max - range_min);

  table = picard_colormap_get_table_u8 (style->colormap);
  alpha = (guint) lround (CLAMP (style->opacity, 0.0, 1.0) * 255.0);
  for (guint i = 0; i < PICARD_COLORMAP_SIZE; i++)
    {
      guint32 c = alpha << 24;

      for (guint k = 0; k < 3; k++)
        c |= (guint32) ((table[3 * i + k] * alpha + 127) / 255) << (16 - 8 * k);
      job.colours[i] = c;
    }
  run_bands ((guint) cairo_image_surface_get_height (surface), job.columns, overlay_band,
             &job);
  cairo_surface_mark_dirty (surface);
}

cairo_surface_t *
picard_overlay_surface_new (const PicardOverlayStyle *style, const float *heatmap,
                            guint rows, guint columns, double *range_min, double *range_max,
                            GError **error)
{
  cairo_surface_t *surface;
  double lo, hi;

  g_return_val_if_fail (style != NULL && heatmap != NULL, NULL);
  g_return_val_if_fail (style->colormap < PICARD_COLORMAP_N, NULL);

  surface = image_surface_new (CAIRO_FORMAT_ARGB32, rows, columns, error);
  if (surface == NULL)
    return NULL;
  picard_overlay_resolve_range (style, heatmap, (gsize) rows * columns, &lo, &hi);
  picard_overlay_render (style, heatmap, lo, hi, surface);
  if (range_min != NULL)
    *range_min = lo;
  if (range_max != NULL)
    *range_max = hi;
  return surface;
}

/* ---- grey slices ---- */

typedef struct {
  const guint16 *values;
  guint columns;
  guint8 *pixels;
  int stride;
  const guint32 *lut; /* 65536 xRGB grey entries */
} SliceJob;

static void
slice_band (gpointer data, guint first_row, guint end_row)
{
  const SliceJob *job = data;

  for (guint y = first_row; y < end_row; y++)
    {
      const guint16 *in = job->values + (gsize) y * job->columns;
      guint32 *out = (guint32 *) (job->pixels + (gsize) y * job->stride);

      for (guint x = 0; x < job->columns; x++)
        out[x] = job->lut[in[x]];
    }
}

void
picard_slice_render (const guint16 *values, const PicardWindowLevel *wl,
                     cairo_surface_t *surface)
{
  g_autofree guint16 *levels = g_new (guint16, 65536);
  g_autofree guint8 *grey = g_new (guint8, 65536);
  g_autofree guint32 *lut = g_new (guint32, 65536);
  SliceJob job;

  g_return_if_fail (values != NULL && wl != NULL && surface != NULL);
  g_return_if_fail (cairo_surface_get_type (surface) == CAIRO_SURFACE_TYPE_IMAGE);
  g_return_if_fail (cairo_image_surface_get_format (surface) == CAIRO_FORMAT_RGB24);

  /* One table over every possible stored value: a lookup per pixel, whatever bits stored. */
  for (guint v = 0; v < 65536; v++)
    levels[v] = (guint16) v;
  picard_window_level_apply_u8 (wl, levels, grey, 65536);
  for (guint v = 0; v < 65536; v++)
    lut[v] = 0xff000000u | ((guint32) grey[v] << 16) | ((guint32) grey[v] << 8) | grey[v];

  cairo_surface_flush (surface);
  job.values = values;
  job.columns = (guint) cairo_image_surface_get_width (surface);
  job.pixels = cairo_image_surface_get_data (surface);
  job.stride = cairo_image_surface_get_stride (surface);
  job.lut = lut;
  run_bands ((guint) cairo_image_surface_get_height (surface), job.columns, slice_band, &job);
  cairo_surface_mark_dirty (surface);
}

cairo_surface_t *
picard_slice_surface_new (const guint16 *values, guint rows, guint columns,
                          const PicardWindowLevel *wl, GError **error)
{
  cairo_surface_t *surface;

  g_return_val_if_fail (values != NULL && wl != NULL, NULL);

  surface = image_surface_new (CAIRO_FORMAT_RGB24, rows, columns, error);
  if (surface != NULL)
    picard_slice_render (values, wl, surface);
  return surface;
}

cairo_surface_t *
picard_grey_surface_new_from_float (const float *values, guint rows, guint columns,
                                    double black, double white, GError **error)
{
  cairo_surface_t *surface;
  guint8 *pixels;
  int stride;
  double scale;

  g_return_val_if_fail (values != NULL, NULL);

  surface = image_surface_new (CAIRO_FORMAT_RGB24, rows, columns, error);
  if (surface == NULL)
    return NULL;
  cairo_surface_flush (surface);
  pixels = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  scale = white != black ? 255.0 / (white - black) : 0.0;
  for (guint y = 0; y < rows; y++)
    {
      const float *in = values + (gsize) y * columns;
      guint32 *out = (guint32 *) (pixels + (gsize) y * stride);

      for (guint x = 0; x < columns; x++)
        {
          double g = (in[x] - black) * scale;
          guint8 level = isnan (g) ? 0 : (guint8) lround (CLAMP (g, 0.0, 255.0));

          out[x] = 0xff000000u | ((guint32) level << 16) | ((guint32) level << 8) | level;
        }
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

typedef struct {
  const guint8 *in;
  int in_stride;
  guint in_width, in_height;
  guint8 *out;
  int out_stride;
  guint out_width;
  guint factor;
  gboolean opaque;
} ReduceJob;

static void
reduce_band (gpointer data, guint first_row, guint end_row)
{
  const ReduceJob *job = data;

  for (guint oy = first_row; oy < end_row; oy++)
    {
      guint y0 = oy * job->factor, y1 = MIN (y0 + job->factor, job->in_height);
      const guint8 *rows = job->in + (gsize) y0 * job->in_stride;
      guint32 *out = (guint32 *) (job->out + (gsize) oy * job->out_stride);

      for (guint ox = 0; ox < job->out_width; ox++)
        {
          guint x0 = ox * job->factor, x1 = MIN (x0 + job->factor, job->in_width);
          guint32 n = (x1 - x0) * (y1 - y0), half = n / 2;
          guint32 a = 0, r = 0, g = 0, b = 0;

          /* Sums in registers; the block's rows are close in memory for small factors. */
          for (guint y = y0; y < y1; y++)
            {
              const guint32 *in = (const guint32 *) (rows + (gsize) (y - y0) * job->in_stride);

              for (guint x = x0; x < x1; x++)
                {
                  guint32 p = in[x];

                  a += p >> 24;
                  r += (p >> 16) & 0xff;
                  g += (p >> 8) & 0xff;
                  b += p & 0xff;
                }
            }
          /* Premultiplied channels average linearly, alpha included. */
          a = job->opaque ? 255u : (a + half) / n;
          out[ox] = (a << 24) | (((r + half) / n) << 16) | (((g + half) / n) << 8)
                    | ((b + half) / n);
        }
    }
}

cairo_surface_t *
picard_surface_reduce (cairo_surface_t *surface, guint factor, GError **error)
{
  cairo_format_t format;
  cairo_surface_t *reduced;
  ReduceJob job;
  guint rows;

  /* Larger factors could overflow the 32-bit block sums. */
  g_return_val_if_fail (surface != NULL && factor > 0 && factor <= 1024, NULL);
  g_return_val_if_fail (cairo_surface_get_type (surface) == CAIRO_SURFACE_TYPE_IMAGE, NULL);
  format = cairo_image_surface_get_format (surface);
  g_return_val_if_fail (format == CAIRO_FORMAT_RGB24 || format == CAIRO_FORMAT_ARGB32, NULL);

  cairo_surface_flush (surface);
  job.in = cairo_image_surface_get_data (surface);
  job.in_stride = cairo_image_surface_get_stride (surface);
  job.in_width = (guint) cairo_image_surface_get_width (surface);
  job.in_height = (guint) cairo_image_surface_get_height (surface);
  job.factor = factor;
  job.opaque = format == CAIRO_FORMAT_RGB24;
  job.out_width = (job.in_width + factor - 1) / factor;
  rows = (job.in_height + factor - 1) / factor;
  reduced = image_surface_new (format, rows, job.out_width, error);
  if (reduced == NULL)
    return NULL;
  cairo_surface_flush (reduced);
  job.out = cairo_image_surface_get_data (reduced);
  job.out_stride = cairo_image_surface_get_stride (reduced);
  run_bands (rows, (guint) MIN ((guint64) job.in_width * factor, G_MAXUINT), reduce_band,
             &job);
  cairo_surface_mark_dirty (reduced);
  return reduced;
}
