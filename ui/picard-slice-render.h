/* picard-slice-render.h: one slice made ready to draw, off the main loop: the frame turned
 * into the displayed orientation, its grey image through the window, the heatmap overlay,
 * and block-averaged copies of both for zoomed-out views. */
#pragma once

#include <gio/gio.h>
#include <cairo.h>

#include "picard-orientation.h"
#include "picard-overlay.h"
#include "picard-volume.h"
#include "picard-window-level.h"

G_BEGIN_DECLS

/* Level i is reduced 2^i times; levels stop once an image is under 256 pixels across. */
#define PICARD_RENDER_MAX_LEVELS 6

typedef struct {
  PicardVolume *volume;          /* the frame comes from here (cached or decoded) */
  guint slice;
  PicardOrientation orientation;
  PicardSpace space;             /* FILE, DATASET or ALIGNED */
  PicardWindowLevel window_level;
  gboolean auto_window;          /* compute the window over the slice's tissue instead */
  double auto_low, auto_high;    /* its percentiles */
  GBytes *heatmap;               /* floats in FILE orientation, NaN = not scanned; or NULL */
  PicardOverlayStyle overlay;
} PicardRenderRequest;

typedef struct {
  guint slice;
  PicardSpace space;
  PicardWindowLevel window_level; /* the one used (the computed one for an auto window) */
  guint rows, columns;            /* in the displayed orientation */
  GBytes *values;                 /* guint16, displayed orientation */
  GBytes *heatmap;                /* floats, displayed orientation, or NULL */
  PicardOverlayStyle overlay;
  double range_min, range_max;    /* the overlay's colour range */
  guint n_levels;
  cairo_surface_t *slice_levels[PICARD_RENDER_MAX_LEVELS];
  cairo_surface_t *overlay_levels[PICARD_RENDER_MAX_LEVELS];
  gsize bytes;                    /* memory held, for the cache */
} PicardRenderedSlice;

void picard_render_request_clear (PicardRenderRequest *request);
void picard_render_request_copy (const PicardRenderRequest *src, PicardRenderRequest *dest);

/* Blocking: for worker threads. */
PicardRenderedSlice *picard_rendered_slice_new (const PicardRenderRequest *request,
                                                GCancellable *cancellable, GError **error);
void picard_rendered_slice_new_async (const PicardRenderRequest *request,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
PicardRenderedSlice *picard_rendered_slice_new_finish (GAsyncResult *result, GError **error);

PicardRenderedSlice *picard_rendered_slice_ref (PicardRenderedSlice *self);
void picard_rendered_slice_unref (PicardRenderedSlice *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardRenderedSlice, picard_rendered_slice_unref)

/* The level to draw at @zoom (screen pixels per slice pixel): the most reduced one whose
 * pixels are still no larger than a screen pixel. */
guint picard_rendered_slice_pick_level (const PicardRenderedSlice *self, double zoom);
/* The stored value and heatmap score (NaN without one) at a displayed pixel. */
gboolean picard_rendered_slice_sample (const PicardRenderedSlice *self, int x, int y,
                                       guint16 *value, double *score);

G_END_DECLS
