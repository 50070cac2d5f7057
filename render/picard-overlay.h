/* picard-overlay.h: cairo image surfaces for a slice (window/level) and its heatmap
 * overlay (colormap, opacity, thresholds, value range). */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "picard-colormap.h"
#include "picard-window-level.h"

G_BEGIN_DECLS

typedef struct {
  PicardColormap colormap;
  double opacity;          /* 0..1, alpha of every drawn heatmap pixel */
  double lower_threshold;  /* values below are transparent; -INFINITY or NaN: none */
  double upper_threshold;  /* values above are drawn as this value (clip); +INFINITY or NaN: none */
  gboolean auto_range;     /* colormap range from the finite values' percentiles, else fixed */
  double range_min;        /* fixed range: range_min -> first colour, range_max -> last */
  double range_max;
  double low_percentile;   /* auto range, in percent (numpy's 'linear' percentile) */
  double high_percentile;
} PicardOverlayStyle;

/* jet, opacity 0.5, no thresholds, auto range over the 1st..99th percentile. */
void picard_overlay_style_init (PicardOverlayStyle *style);

/* Percentiles (0..100) of the finite values of @values, as numpy.percentile computes them
 * (linear interpolation between order statistics). Returns FALSE (outputs untouched) when
 * there is no finite value. */
gboolean picard_percentiles (const float *values, gsize n, const double *percentiles,
                             guint n_percentiles, double *out);

/* The colormap range @style gives for @heatmap: the fixed one, or the auto percentiles
 * (0..1 when the heatmap has no finite value). */
void picard_overlay_resolve_range (const PicardOverlayStyle *style, const float *heatmap,
                                   gsize n, double *range_min, double *range_max);

/* The overlay as a columns x rows ARGB32 surface (premultiplied): NaN and values below the
 * lower threshold transparent, others the colormap colour of
 * (min (value, upper) - range_min) / (range_max - range_min) at @style's opacity. Writes the
 * range used to @range_min/@range_max when not NULL. NULL and @error set when the surface
 * cannot be made. */
cairo_surface_t *picard_overlay_surface_new (const PicardOverlayStyle *style,
                                             const float *heatmap, guint rows,
                                             guint columns, double *range_min,
                                             double *range_max, GError **error);
/* Renders into an existing ARGB32 surface of the heatmap's size, with the given range
 * (no percentile pass): for redrawing while a scan fills the heatmap in. */
void picard_overlay_render (const PicardOverlayStyle *style, const float *heatmap,
                            double range_min, double range_max, cairo_surface_t *surface);

/* The grey slice as a columns x rows RGB24 surface from stored values through @wl
 * (invert included). */
cairo_surface_t *picard_slice_surface_new (const guint16 *values, guint rows, guint columns,
                                           const PicardWindowLevel *wl, GError **error);
/* Re-renders into an existing RGB24 surface of the slice's size (new window/level). */
void picard_slice_render (const guint16 *values, const PicardWindowLevel *wl,
                          cairo_surface_t *surface);
/* A grey RGB24 surface from floats: @black -> 0, @white -> 255, clamped; NaN -> black. */
cairo_surface_t *picard_grey_surface_new_from_float (const float *values, guint rows,
                                                     guint columns, double black,
                                                     double white, GError **error);

/* A copy of an RGB24 or ARGB32 @surface shrunk @factor times each way: every pixel is the
 * mean of a factor x factor block (blocks cut by the right and bottom edges average what
 * they hold); @factor 1 to 1024. For drawing a large slice small: cheap and free of aliasing, where cairo's
 * own good filter is too slow for interactive use. */
cairo_surface_t *picard_surface_reduce (cairo_surface_t *surface, guint factor,
                                        GError **error);

G_END_DECLS
