/* picard-figure.h: the annotated view of one slice (grey slice, heatmap overlay, lattice,
 * lesion boxes, selected patch, scale bar, colour bar, caption), drawn on any cairo_t (the
 * viewer, under its zoom/pan) or exported to PNG/SVG/PDF at the slice's native resolution
 * or a given scale. */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "picard-annotations.h"
#include "picard-export.h"
#include "picard-overlay.h"
#include "picard-window-level.h"

G_BEGIN_DECLS

/* A description; every pointer is borrowed and must outlive the calls that use it.
 * For interactive drawing keep slice_surface and overlay_surface (picard_slice_surface_new,
 * picard_overlay_surface_new with a fixed range) and, for fit-to-window zooms, reduced
 * copies of them (picard_surface_reduce): each draw then only composites. */
typedef struct {
  guint rows, columns;

  /* The slice: a ready columns x rows image surface, or else stored values (rows*columns)
   * drawn through window_level. */
  cairo_surface_t *slice_surface;
  const guint16 *slice_values;
  PicardWindowLevel window_level;

  /* The heatmap (rows*columns, NaN = not scanned yet or outside the scan), or NULL. */
  const float *heatmap;
  PicardOverlayStyle overlay;
  /* Optional overlay already rendered from heatmap with overlay (the viewer keeps one per
   * slice); give overlay a fixed range then, or the colour bar recomputes the auto one. */
  cairo_surface_t *overlay_surface;
  /* 0 or 1: the two surfaces above are full size. k > 1: they are reduced k times
   * (picard_surface_reduce), which the viewer keeps for zoomed-out views; exports then
   * draw from slice_values and heatmap instead where those are given. */
  guint surface_reduction;

  const PicardAnnotationBox *boxes;
  guint n_boxes;
  const PicardPatchOutline *patch;  /* the selected patch, or NULL */
  const PicardLattice *lattice;     /* hole centres to mark, or NULL */
  const char *const *caption;       /* NULL-terminated lines (patient, view, slice, metric,
                                     * model, parameters), or NULL */
  const char *colorbar_label;       /* the metric's name and units */
  double mm_per_pixel;              /* pixel spacing; <= 0: unknown, no scale bar */
  gboolean show_colorbar;           /* drawn only when there is a heatmap */
  gboolean fast;                    /* cheaper image filtering (while the user drags) */
} PicardFigure;

/* All empty, default overlay style, colour bar on. */
void picard_figure_init (PicardFigure *figure);

/* The exported figure's size at @scale (1 = one output pixel per slice pixel): the slice,
 * the colour bar to its right and the caption below it. */
void picard_figure_get_size (const PicardFigure *figure, double scale, double *width,
                             double *height);

/* Draws the export layout with its top-left corner at the origin of @cr. The slice lies at
 * (0, 0) .. (columns * scale, rows * scale). */
gboolean picard_figure_render (const PicardFigure *figure, cairo_t *cr, double scale,
                               GError **error);

/* The viewer's drawing: the slice and everything on it through @slice_to_user (zoom and
 * pan), annotations at constant on-screen size, colour bar and caption floating at the
 * right and bottom of the @width x @height view. Zoomed far out, the images are reduced
 * for the call unless reduced surfaces are given (or fast is set). */
gboolean picard_figure_draw (const PicardFigure *figure, cairo_t *cr,
                             const cairo_matrix_t *slice_to_user, double width,
                             double height, GError **error);

/* Writes picard_figure_render() to @path (format from the extension when AUTO),
 * atomically. The caption goes into the SVG's <title>/<desc> and the PDF's metadata too. */
gboolean picard_figure_export (const PicardFigure *figure, const char *path,
                               PicardExportFormat format, double scale, GError **error);

G_END_DECLS
