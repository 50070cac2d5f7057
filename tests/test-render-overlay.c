/* Colormaps against matplotlib, percentiles against numpy, the overlay and slice surfaces. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "picard-colormap.h"
#include "picard-overlay.h"
#include "picard-test-cli.h"

typedef struct {
  PicardColormap colormap;
  double t;
  double rgb[3];
} Reference;

/* From matplotlib 3.6.3:
 *   /usr/bin/python3 -c 'import matplotlib
 *   for n in ("jet", "viridis", "inferno"):
 *     for t in (0.0, 0.1, 0.25, 0.5, 0.73, 0.999, 1.0): print(n, t, matplotlib.colormaps[n](t)[:3])' */
static const Reference references[] = {
  { PICARD_COLORMAP_JET, 0.0, { 0.0, 0.0, 0.5 } },
  { PICARD_COLORMAP_JET, 0.1, { 0.0, 0.0, 0.94563280 } },
  { PICARD_COLORMAP_JET, 0.25, { 0.0, 0.50392157, 1.0 } },
  { PICARD_COLORMAP_JET, 0.5, { 0.49019608, 1.0, 0.47754586 } },
  { PICARD_COLORMAP_JET, 0.73, { 1.0, 0.66884532, 0.0 } },
  { PICARD_COLORMAP_JET, 0.999, { 0.5, 0.0, 0.0 } },
  { PICARD_COLORMAP_JET, 1.0, { 0.5, 0.0, 0.0 } },
  { PICARD_COLORMAP_VIRIDIS, 0.0, { 0.26700400, 0.00487400, 0.32941500 } },
  { PICARD_COLORMAP_VIRIDIS, 0.1, { 0.28262300, 0.14092600, 0.45751700 } },
  { PICARD_COLORMAP_VIRIDIS, 0.25, { 0.22973900, 0.32236100, 0.54570600 } },
  { PICARD_COLORMAP_VIRIDIS, 0.5, { 0.12756800, 0.56694900, 0.55055600 } },
  { PICARD_COLORMAP_VIRIDIS, 0.73, { 0.31980900, 0.77091400, 0.41115200 } },
  { PICARD_COLORMAP_VIRIDIS, 1.0, { 0.99324800, 0.90615700, 0.14393600 } },
  { PICARD_COLORMAP_INFERNO, 0.0, { 0.00146200, 0.00046600, 0.01386600 } },
  { PICARD_COLORMAP_INFERNO, 0.1, { 0.08741100, 0.04455600, 0.22481300 } },
  { PICARD_COLORMAP_INFERNO, 0.25, { 0.34150000, 0.06232500, 0.42942500 } },
  { PICARD_COLORMAP_INFERNO, 0.5, { 0.73568300, 0.21590600, 0.33024500 } },
  { PICARD_COLORMAP_INFERNO, 0.73, { 0.96916300, 0.51594600, 0.06348800 } },
  { PICARD_COLORMAP_INFERNO, 1.0, { 0.98836200, 0.99836400, 0.64492400 } },
  { PICARD_COLORMAP_GREY, 0.0, { 0.0, 0.0, 0.0 } },
  { PICARD_COLORMAP_GREY, 0.5, { 128 / 255.0, 128 / 255.0, 128 / 255.0 } },
  { PICARD_COLORMAP_GREY, 1.0, { 1.0, 1.0, 1.0 } },
};

static void
test_colormap_reference (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (references); i++)
    {
      const Reference *r = &references[i];
      double rgb[3];
      guint8 bytes[3];

      picard_colormap_lookup (r->colormap, r->t, rgb);
      picard_colormap_lookup_u8 (r->colormap, r->t, bytes);
      for (guint c = 0; c < 3; c++)
        {
          g_assert_cmpfloat_with_epsilon (rgb[c], r->rgb[c], 1e-7);
          /* Rounded to the nearest byte (jet's 0.50392157 * 255 is a tie). */
          g_assert_cmpfloat (fabs (bytes[c] - r->rgb[c] * 255.0), <=, 0.5 + 1e-5);
        }
    }
}

static void
test_colormap_clipping (void)
{
  for (guint m = 0; m < PICARD_COLORMAP_N; m++)
    {
      double below[3], first[3], above[3], last[3], nan_rgb[3];

      picard_colormap_lookup (m, -0.5, below);
      picard_colormap_lookup (m, 0.0, first);
      picard_colormap_lookup (m, 7.0, above);
      picard_colormap_lookup (m, 1.0, last);
      picard_colormap_lookup (m, NAN, nan_rgb);
      for (guint c = 0; c < 3; c++)
        {
          g_assert_cmpfloat (below[c], ==, first[c]);
          g_assert_cmpfloat (above[c], ==, last[c]);
          g_assert_cmpfloat (nan_rgb[c], ==, first[c]);
        }
    }
}

static void
test_colormap_names (void)
{
  PicardColormap m = PICARD_COLORMAP_N;

  g_assert_true (picard_colormap_from_name ("viridis", &m));
  g_assert_cmpint (m, ==, PICARD_COLORMAP_VIRIDIS);
  g_assert_true (picard_colormap_from_name ("Gray", &m));
  g_assert_cmpint (m, ==, PICARD_COLORMAP_GREY);
  g_assert_false (picard_colormap_from_name ("rainbow", &m));
  for (guint i = 0; i < PICARD_COLORMAP_N; i++)
    {
      g_assert_true (picard_colormap_from_name (picard_colormap_get_name (i), &m));
      g_assert_cmpint (m, ==, i);
    }
}

/* Every table entry and random points against the matplotlib installed here, if any. */
static void
test_colormap_matplotlib (void)
{
  const char *script =
    "import sys, numpy as np, matplotlib\n"
    "t = np.concatenate([np.linspace(0, 1, 256), np.random.default_rng(7).random(200)])\n"
    "for n in ('jet', 'inferno', 'viridis', 'gray'):\n"
    "  for x, c in zip(t, matplotlib.colormaps[n](t)):\n"
    "    print(n, repr(float(x)), c[0], c[1], c[2])\n";
  const char *args[] = { "-c", script, NULL };
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  guint checked = 0;

  if (g_getenv ("PYTHON") == NULL || !picard_test_spawn_python (NULL, args, &out, NULL))
    {
      g_test_skip ("no Python with matplotlib (python3-matplotlib) to compare with");
      return;
    }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char name[16];
      double t, expected[3], rgb[3];
      PicardColormap m;

      if (sscanf (lines[i], "%15s %lf %lf %lf %lf", name, &t, &expected[0], &expected[1],
                  &expected[2]) != 5)
        continue;
      g_assert_true (picard_colormap_from_name (name, &m));
      picard_colormap_lookup (m, t, rgb);
      for (guint c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon (rgb[c], expected[c], 1e-7);
      checked++;
    }
  g_assert_cmpuint (checked, ==, 4 * 456);
}

static void
test_percentiles (void)
{
  const float values[] = { 3, 1, 4, 1, 5, NAN, 9, 2, 6, 5, INFINITY, 3, 5, 0.5f, -2.25f,
                           -INFINITY };
  const double p[] = { 0, 1, 25, 50, 62.5, 99, 100 };
  /* numpy.percentile of the finite values (linear), /usr/bin/python3 -c 'import numpy as np;
   * print([np.percentile([3,1,4,1,5,9,2,6,5,3,5,0.5,-2.25], q) for q in (0,1,25,50,62.5,99,100)])' */
  const double expected[] = { -2.25, -1.92, 1.0, 3.0, 4.5, 8.64, 9.0 };
  const float none[] = { NAN, INFINITY };
  double out[G_N_ELEMENTS (p)];
  g_autofree float *big = g_new (float, 100001);

  g_assert_true (picard_percentiles (values, G_N_ELEMENTS (values), p, G_N_ELEMENTS (p), out));
  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    g_assert_cmpfloat_with_epsilon (out[i], expected[i], 1e-9);
  g_assert_false (picard_percentiles (none, 2, p, 1, out));

  /* A shuffled 0..100000: percentile q is exactly 1000 q. */
  for (guint i = 0; i <= 100000; i++)
    big[i] = (float) ((i * 7919u) % 100001u);
  g_assert_true (picard_percentiles (big, 100001, p, G_N_ELEMENTS (p), out));
  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    g_assert_cmpfloat_with_epsilon (out[i], p[i] * 1000.0, 1e-6);
}

static guint32
pixel_at (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (surface);

  return *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface)
                             + 4 * (gsize) x);
}

static void
unpremultiply (guint32 pixel, guint *alpha, double rgb[3])
{
  *alpha = pixel >> 24;
  for (guint c = 0; c < 3; c++)
    rgb[c] = *alpha ? ((pixel >> (16 - 8 * c)) & 0xff) * 255.0 / *alpha : 0.0;
}

static void
assert_colour (cairo_surface_t *surface, int x, int y, PicardColormap m, double t,
               guint alpha)
{
  guint8 expected[3];
  guint a;
  double rgb[3];

  picard_colormap_lookup_u8 (m, t, expected);
  unpremultiply (pixel_at (surface, x, y), &a, rgb);
  g_assert_cmpuint (a, ==, alpha);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpfloat (fabs (rgb[c] - expected[c]), <=, 2.0);
}

static void
test_overlay_thresholds (void)
{
  enum { ROWS = 3, COLUMNS = 4 };
  const float heatmap[ROWS * COLUMNS] = {
    NAN,  0.1f, 0.19f, 0.2f,
    0.5f, 0.6f, 0.9f,  1.0f,
    5.0f, NAN,  0.75f, -3.0f,
  };
  PicardOverlayStyle style;
  cairo_surface_t *surface;
  double lo, hi;
  guint alpha;

  picard_overlay_style_init (&style);
  style.colormap = PICARD_COLORMAP_JET;
  style.opacity = 0.6;
  style.lower_threshold = 0.2;
  style.auto_range = FALSE;
  style.range_min = 0.0;
  style.range_max = 1.0;
  surface = picard_overlay_surface_new (&style, heatmap, ROWS, COLUMNS, &lo, &hi, NULL);
  g_assert_nonnull (surface);
  g_assert_cmpint (cairo_image_surface_get_format (surface), ==, CAIRO_FORMAT_ARGB32);
  g_assert_cmpint (cairo_image_surface_get_width (surface), ==, COLUMNS);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);
  alpha = (guint) lround (0.6 * 255.0);

  /* NaN and below the threshold: fully transparent. */
  g_assert_cmphex (pixel_at (surface, 0, 0), ==, 0);
  g_assert_cmphex (pixel_at (surface, 1, 0), ==, 0);
  g_assert_cmphex (pixel_at (surface, 2, 0), ==, 0);
  g_assert_cmphex (pixel_at (surface, 1, 2), ==, 0);
  g_assert_cmphex (pixel_at (surface, 3, 2), ==, 0);
  /* At the threshold and above: the colormap at the opacity. */
  assert_colour (surface, 3, 0, PICARD_COLORMAP_JET, 0.2, alpha);
  assert_colour (surface, 0, 1, PICARD_COLORMAP_JET, 0.5, alpha);
  assert_colour (surface, 2, 2, PICARD_COLORMAP_JET, 0.75, alpha);
  /* Hot pixels (at and beyond the range's top): jet's top colour, dark red. */
  assert_colour (surface, 3, 1, PICARD_COLORMAP_JET, 1.0, alpha);
  assert_colour (surface, 0, 2, PICARD_COLORMAP_JET, 1.0, alpha);
  g_assert_cmpuint ((pixel_at (surface, 0, 2) >> 16) & 0xff, ==, (128 * alpha + 127) / 255);
  g_assert_cmpuint (pixel_at (surface, 0, 2) & 0xffff, ==, 0);

  /* The upper threshold clips: 0.9, 1 and 5 all take 0.6's colour. */
  style.upper_threshold = 0.6;
  style.colormap = PICARD_COLORMAP_VIRIDIS;
  style.opacity = 1.0;
  picard_overlay_render (&style, heatmap, 0.0, 1.0, surface);
  assert_colour (surface, 2, 1, PICARD_COLORMAP_VIRIDIS, 0.6, 255);
  assert_colour (surface, 0, 2, PICARD_COLORMAP_VIRIDIS, 0.6, 255);
  assert_colour (surface, 0, 1, PICARD_COLORMAP_VIRIDIS, 0.5, 255);
  g_assert_cmphex (pixel_at (surface, 0, 0), ==, 0);
  cairo_surface_destroy (surface);
}

static void
test_overlay_auto_range (void)
{
  enum { ROWS = 50, COLUMNS = 40 };
  g_autofree float *heatmap = g_new (float, ROWS * COLUMNS);
  PicardOverlayStyle style;
  cairo_surface_t *surface;
  double lo, hi, p[2] = { 5.0, 95.0 }, expected[2];

  for (guint i = 0; i < ROWS * COLUMNS; i++)
    heatmap[i] = i % 7 == 0 ? NAN : (float) i;
  picard_overlay_style_init (&style);
  style.opacity = 1.0;
  style.low_percentile = 5.0;
  style.high_percentile = 95.0;
  surface = picard_overlay_surface_new (&style, heatmap, ROWS, COLUMNS, &lo, &hi, NULL);
  g_assert_nonnull (surface);
  g_assert_true (picard_percentiles (heatmap, ROWS * COLUMNS, p, 2, expected));
  g_assert_cmpfloat (lo, ==, expected[0]);
  g_assert_cmpfloat (hi, ==, expected[1]);
  g_assert_cmpfloat (lo, >, 50.0);
  /* The largest values saturate, the smallest take the first colour. */
  assert_colour (surface, COLUMNS - 1, ROWS - 1, PICARD_COLORMAP_JET, 1.0, 255);
  assert_colour (surface, 1, 0, PICARD_COLORMAP_JET, 0.0, 255);
  g_assert_cmphex (pixel_at (surface, 0, 0), ==, 0);
  cairo_surface_destroy (surface);

  /* No finite value at all: fully transparent, range 0..1. */
  for (guint i = 0; i < ROWS * COLUMNS; i++)
    heatmap[i] = NAN;
  surface = picard_overlay_surface_new (&style, heatmap, ROWS, COLUMNS, &lo, &hi, NULL);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);
  for (int y = 0; y < ROWS; y++)
    for (int x = 0; x < COLUMNS; x++)
      g_assert_cmphex (pixel_at (surface, x, y), ==, 0);
  cairo_surface_destroy (surface);
}

static void
test_overlay_bad_size (void)
{
  float one = 1.0f;
  PicardOverlayStyle style;
  g_autoptr(GError) error = NULL;

  picard_overlay_style_init (&style);
  g_assert_null (picard_overlay_surface_new (&style, &one, 0, 1, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (picard_overlay_surface_new (&style, &one, 1, 40000, NULL, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_slice_surface (void)
{
  enum { ROWS = 7, COLUMNS = 9 };
  guint16 values[ROWS * COLUMNS];
  guint8 expected[ROWS * COLUMNS];
  PicardWindowLevel wl = { 2000.0, 1000.0, FALSE };
  cairo_surface_t *surface;

  for (guint i = 0; i < ROWS * COLUMNS; i++)
    values[i] = (guint16) (1400 + i * 20);
  for (guint invert = 0; invert < 2; invert++)
    {
      wl.invert = invert;
      picard_window_level_apply_u8 (&wl, values, expected, ROWS * COLUMNS);
      surface = picard_slice_surface_new (values, ROWS, COLUMNS, &wl, NULL);
      g_assert_nonnull (surface);
      g_assert_cmpint (cairo_image_surface_get_format (surface), ==, CAIRO_FORMAT_RGB24);
      for (int y = 0; y < ROWS; y++)
        for (int x = 0; x < COLUMNS; x++)
          {
            guint8 g = expected[y * COLUMNS + x];

            g_assert_cmphex (pixel_at (surface, x, y) & 0xffffff, ==,
                             ((guint32) g << 16) | ((guint32) g << 8) | g);
          }
      g_assert_cmphex (pixel_at (surface, 0, 0) & 0xff, ==, invert ? 255 : 0);
      cairo_surface_destroy (surface);
    }
}

static void
test_reduce (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 5, 3);
  guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  cairo_surface_t *reduced;

  /* Premultiplied pixels: alpha = 10 (x + 1), red = x + 5 y, green = 2, blue = 0. */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++)
      *(guint32 *) (data + y * stride + 4 * x) =
        ((guint32) (10 * (x + 1)) << 24) | ((guint32) (x + 5 * y) << 16) | (2u << 8);
  cairo_surface_mark_dirty (surface);
  reduced = picard_surface_reduce (surface, 2, NULL);
  g_assert_cmpint (cairo_image_surface_get_width (reduced), ==, 3);
  g_assert_cmpint (cairo_image_surface_get_height (reduced), ==, 2);
  /* Block (0..1, 0..1): alpha (10+20+10+20)/4 = 15, red (0+1+5+6)/4 = 3. */
  g_assert_cmphex (pixel_at (reduced, 0, 0), ==, (15u << 24) | (3u << 16) | (2u << 8));
  /* The right edge block holds one column: x = 4, rows 0..1: red (4+9)/2 = 6.5 -> 7. */
  g_assert_cmphex (pixel_at (reduced, 2, 0), ==, (50u << 24) | (7u << 16) | (2u << 8));
  /* The bottom-right block is the single pixel (4, 2). */
  g_assert_cmphex (pixel_at (reduced, 2, 1), ==, (50u << 24) | (14u << 16) | (2u << 8));
  cairo_surface_destroy (reduced);
  cairo_surface_destroy (surface);
}

/* A full-size DBT slice: both surfaces are made in interactive time, split across threads
 * identically to a single pass. */
static void
test_full_slice (void)
{
  enum { ROWS = 2457, COLUMNS = 1996 };
  gsize n = (gsize) ROWS * COLUMNS;
  g_autofree guint16 *values = g_new (guint16, n);
  g_autofree float *heatmap = g_new (float, n);
  PicardWindowLevel wl = { 600.0, 800.0, FALSE };
  PicardOverlayStyle style;
  cairo_surface_t *slice, *overlay;
  gint64 start;
  double lo, hi, ms_slice, ms_overlay;
  guint8 grey;

  for (gsize i = 0; i < n; i++)
    {
      values[i] = (guint16) ((i * 2654435761u) >> 22);
      heatmap[i] = (i / COLUMNS) % 100 < 3 ? NAN : (float) ((i % COLUMNS) * 0.01);
    }
  picard_overlay_style_init (&style);
  start = g_get_monotonic_time ();
  slice = picard_slice_surface_new (values, ROWS, COLUMNS, &wl, NULL);
  ms_slice = (g_get_monotonic_time () - start) / 1000.0;
  start = g_get_monotonic_time ();
  overlay = picard_overlay_surface_new (&style, heatmap, ROWS, COLUMNS, &lo, &hi, NULL);
  ms_overlay = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("%d x %d: slice %.1f ms, overlay with auto range %.1f ms", COLUMNS, ROWS,
                  ms_slice, ms_overlay);

  for (guint k = 0; k < 1000; k++)
    {
      int x = (int) ((k * 7919u) % COLUMNS), y = (int) ((k * 104729u) % ROWS);
      gsize i = (gsize) y * COLUMNS + x;
      guint32 p = pixel_at (overlay, x, y);

      picard_window_level_apply_u8 (&wl, &values[i], &grey, 1);
      g_assert_cmphex (pixel_at (slice, x, y) & 0xff, ==, grey);
      if (isnan (heatmap[i]))
        g_assert_cmphex (p, ==, 0);
      else
        g_assert_cmphex (p >> 24, ==, 128);
    }
  g_assert_cmpfloat_with_epsilon (lo, 0.01 * 0.01 * (COLUMNS - 1), 0.02);
  cairo_surface_destroy (slice);
  cairo_surface_destroy (overlay);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/colormap/reference", test_colormap_reference);
  g_test_add_func ("/render/colormap/clipping", test_colormap_clipping);
  g_test_add_func ("/render/colormap/names", test_colormap_names);
  g_test_add_func ("/render/colormap/matplotlib", test_colormap_matplotlib);
  g_test_add_func ("/render/percentiles", test_percentiles);
  g_test_add_func ("/render/overlay/thresholds", test_overlay_thresholds);
  g_test_add_func ("/render/overlay/auto-range", test_overlay_auto_range);
  g_test_add_func ("/render/overlay/bad-size", test_overlay_bad_size);
  g_test_add_func ("/render/slice", test_slice_surface);
  g_test_add_func ("/render/reduce", test_reduce);
  g_test_add_func ("/render/full-slice", test_full_slice);
  return g_test_run ();
}
