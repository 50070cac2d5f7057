/* picard-strip.h: one patch's completions side by side, for `picard-cli complete` and the
 * viewer's side panel: the patch, the masked input, then the M completions sorted by
 * distance with the distance under each, the closest one framed. */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "picard-export.h"

G_BEGIN_DECLS

#define PICARD_STRIP_MAX_SIZE 4096u
#define PICARD_STRIP_MAX_COMPLETIONS 1024u

/* Images are size x size floats, row-major. Values are in [-1, 1] as the network reads and
 * writes them (-1 black, 1 white), or in [0, 1] when unit_range is set; values outside are
 * clamped. Pointers are borrowed. */
typedef struct {
  guint size;                      /* the patch side P */
  guint hole_size;                 /* the centred hole's side (0: none drawn) */
  gboolean unit_range;             /* values in [0, 1] rather than [-1, 1] */
  const float *patch;              /* the ground truth, or NULL (then no masked input) */
  const float *const *completions; /* n_completions images */
  const double *distances;         /* one per completion, or NULL: order kept, no labels */
  guint n_completions;
  guint columns;                   /* tiles per row; 0: all in one row */
  const char *title;               /* a line above the tiles, or NULL */
  const char *distance_name;       /* under each completion: "NAME = value"; NULL: "d" */
} PicardStrip;

void picard_strip_init (PicardStrip *strip);

/* Completion indices by increasing distance (NaN last, ties in the given order). */
void picard_strip_sort (const PicardStrip *strip, guint *order);

gboolean picard_strip_get_size (const PicardStrip *strip, double scale, double *width,
                                double *height, GError **error);
/* Where tile @tile lies at @scale: 0 the patch, 1 the masked input (when there is a patch),
 * then the completions from the closest on. FALSE for no such tile. For hit-testing. */
gboolean picard_strip_get_tile (const PicardStrip *strip, guint tile, double scale, double *x,
                                double *y, double *size);
/* Draws at the origin of @cr; one tile pixel per image pixel at @scale 1. */
gboolean picard_strip_render (const PicardStrip *strip, cairo_t *cr, double scale,
                              GError **error);
gboolean picard_strip_export (const PicardStrip *strip, const char *path,
                              PicardExportFormat format, double scale, GError **error);

G_END_DECLS
