/* picard-slice-view.h: the widget that shows one rendered slice under a zoom and pan, with
 * its heatmap overlay, colour bar and lesion boxes, and turns pointer input into slice
 * coordinates (hover), slice steps (wheel), window changes (right drag), zoom (Ctrl+wheel)
 * and pans (left drag). */
#pragma once

#include <gtk/gtk.h>

#include "picard-annotations.h"
#include "picard-slice-render.h"

G_BEGIN_DECLS

#define PICARD_SLICE_VIEW_MIN_ZOOM (1.0 / 64.0)
#define PICARD_SLICE_VIEW_MAX_ZOOM 32.0

#define PICARD_TYPE_SLICE_VIEW (picard_slice_view_get_type ())
G_DECLARE_FINAL_TYPE (PicardSliceView, picard_slice_view, PICARD, SLICE_VIEW, GtkWidget)

GtkWidget *picard_slice_view_new (void);

/* What to show; NULL shows nothing. A slice of another size than the one before is fitted
 * to the view. */
void picard_slice_view_set_rendered (PicardSliceView *self, PicardRenderedSlice *rendered);
PicardRenderedSlice *picard_slice_view_get_rendered (PicardSliceView *self);
/* Boxes in the displayed orientation; copied, labels included. */
void picard_slice_view_set_boxes (PicardSliceView *self, const PicardAnnotationBox *boxes,
                                  guint n_boxes);
guint picard_slice_view_get_n_boxes (PicardSliceView *self);
void picard_slice_view_set_colorbar (PicardSliceView *self, gboolean show, const char *label);

double picard_slice_view_get_zoom (PicardSliceView *self);
gboolean picard_slice_view_get_fit (PicardSliceView *self);
/* Fits the slice and keeps it fitted as the view resizes, until the next zoom or pan. */
void picard_slice_view_zoom_fit (PicardSliceView *self);
/* Zooms to @zoom keeping the slice point under widget point (@x, @y) in place. */
void picard_slice_view_zoom_at (PicardSliceView *self, double zoom, double x, double y);
/* Multiplies the zoom by @factor about the view's centre. */
void picard_slice_view_zoom_by (PicardSliceView *self, double factor);
void picard_slice_view_pan_by (PicardSliceView *self, double dx, double dy);
/* Puts slice point (@x, @y) at the view's centre. */
void picard_slice_view_center_on (PicardSliceView *self, double x, double y);

/* Slice -> widget coordinates (slice pixel i covers [i, i + 1)). */
void picard_slice_view_get_transform (PicardSliceView *self, cairo_matrix_t *slice_to_widget);
void picard_slice_view_widget_to_slice (PicardSliceView *self, double x, double y,
                                        double *slice_x, double *slice_y);
/* The selected patch's outline (displayed orientation), NULL: none. */
void picard_slice_view_set_patch (PicardSliceView *self, const PicardPatchOutline *patch);
gboolean picard_slice_view_get_patch (PicardSliceView *self, PicardPatchOutline *patch);
/* The scan lattice's hole centres to mark (displayed orientation), NULL: none. */
void picard_slice_view_set_lattice (PicardSliceView *self, const PicardLattice *lattice);
gboolean picard_slice_view_get_lattice (PicardSliceView *self, PicardLattice *lattice);
/* What Enter does: emits ::activate-point at the pointer, or the view's centre. */
void picard_slice_view_activate_cursor (PicardSliceView *self);

/* What the pointer does at widget point (@x, @y): emits ::hover. */
void picard_slice_view_hover (PicardSliceView *self, double x, double y);

G_END_DECLS
