/* picard-annotations.h: what is drawn over a slice (lesion boxes, the selected patch, the
 * patch lattice, a scale bar) and beside it (colour bar, caption). */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "picard-colormap.h"

G_BEGIN_DECLS

/* A lesion box in slice pixel coordinates (x = column of the left edge, y = row of the top
 * edge; it covers pixels x..x+width, y..y+height, edges included). */
typedef struct {
  double x, y, width, height;
  gboolean central;  /* the box's central slice: solid and thicker; other slices dashed */
  const char *label; /* drawn above the box, or NULL */
} PicardAnnotationBox;

/* The selected patch: its top-left pixel and sides; the hole is centred in it. */
typedef struct {
  double left, top;
  guint patch_size;
  guint hole_size;
} PicardPatchOutline;

/* Hole centres of a scan: n_x * n_y points from (x0, y0) in steps of stride. */
typedef struct {
  double x0, y0;
  double stride;
  guint n_x, n_y;
} PicardLattice;

/* The default scan lattice: patch top-left corners at multiples of @stride, only patches
 * fully inside the slice; empty (n_x or n_y 0) when the patch does not fit. */
void picard_lattice_init_for_slice (PicardLattice *lattice, guint rows, guint columns,
                                    guint patch_size, guint stride);

/* Sizes of annotations: line widths, fonts and gaps are multiples of @unit user-space
 * units (1 on screen; larger for big exported figures). */
typedef struct {
  double unit;
  double font_size;   /* in units */
  gboolean dark;      /* light text on dark ground (on-screen), else dark on light */
} PicardAnnotationStyle;

void picard_annotation_style_init (PicardAnnotationStyle *style, double unit, gboolean dark);

/* Slice-space annotations: paths are built through @slice_to_user (slice pixels -> the
 * current user space), strokes and text are in user space so that lines keep their width
 * at any zoom. */
void picard_draw_boxes (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                        const PicardAnnotationStyle *style, const PicardAnnotationBox *boxes,
                        guint n_boxes);
void picard_draw_patch_outline (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                                const PicardAnnotationStyle *style,
                                const PicardPatchOutline *patch);
void picard_draw_lattice (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                          const PicardAnnotationStyle *style, const PicardLattice *lattice,
                          double clip_width, double clip_height);
/* A bar of a round number of millimetres with its label, its lower-left corner at (x, y)
 * in user space; nothing when @mm_per_pixel <= 0. */
void picard_draw_scale_bar (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                            const PicardAnnotationStyle *style, double mm_per_pixel,
                            double x, double y);

/* Colour bar: vertical, @bar_height tall, bottom = range_min, top = range_max, ticks at
 * round values, @label (metric and units) along its right side. */
void picard_colorbar_measure (const PicardAnnotationStyle *style, double range_min,
                              double range_max, const char *label, double bar_height,
                              double *width);
void picard_draw_colorbar (cairo_t *cr, const PicardAnnotationStyle *style,
                           PicardColormap colormap, double range_min, double range_max,
                           const char *label, double x, double y, double bar_height);

/* Round tick values in [lo, hi] (1, 2 or 5 times a power of ten apart), at most
 * @max_ticks of them; returns how many were written. */
guint picard_nice_ticks (double lo, double hi, guint max_ticks, double *ticks);

/* Caption: text lines (NULL-terminated), wrapped at @width (<= 0: no wrapping). */
double picard_caption_measure (const PicardAnnotationStyle *style,
                               const char *const *lines, double width);
void picard_draw_caption (cairo_t *cr, const PicardAnnotationStyle *style,
                          const char *const *lines, double x, double y, double width);

/* One line of text centred in @width with its top at @y, ellipsized to fit; the height of
 * a line at @style's font size is picard_label_height(). */
void picard_draw_label (cairo_t *cr, const PicardAnnotationStyle *style, const char *text,
                        double x, double y, double width, gboolean bold);
double picard_label_height (const PicardAnnotationStyle *style);
/* Figures of patches (picard-strip.h, picard-stages.h): paints @surface, @pixels square, into
 * the square tile of side @tile at (@x, @y); enlarged it stays blocky unless @smooth, shrunk
 * (@tile * @scale < @pixels) it is filtered. */
void picard_draw_tile (cairo_t *cr, cairo_surface_t *surface, guint pixels, double x, double y,
                       double tile, double scale, gboolean smooth);
/* The dashed outline of a patch's centred hole (@hole of @size pixels) in such a tile; yellow,
 * or dark grey over bright colours. Nothing for @hole 0. */
void picard_draw_hole_outline (cairo_t *cr, const PicardAnnotationStyle *style, double x,
                               double y, double tile, guint size, guint hole, gboolean dark);
/* The natural width of @text as picard_draw_label() draws it. */
double picard_label_width (const PicardAnnotationStyle *style, const char *text, gboolean bold);

G_END_DECLS
