/* picard-colormap.h: the heatmap colormaps, matplotlib's 256-entry tables. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PICARD_COLORMAP_JET,     /* the paper's figures */
  PICARD_COLORMAP_INFERNO,
  PICARD_COLORMAP_VIRIDIS,
  PICARD_COLORMAP_GREY,
  PICARD_COLORMAP_N,
} PicardColormap;

#define PICARD_COLORMAP_SIZE 256

/* "jet", "inferno", "viridis", "grey" */
const char *picard_colormap_get_name (PicardColormap colormap);
/* Accepts the names above (case-insensitive) and "gray". */
gboolean picard_colormap_from_name (const char *name, PicardColormap *colormap);

/* The colour of @t in [0, 1] exactly as matplotlib's Colormap.__call__ picks it: entry
 * floor (t * 256), t = 1 -> the last entry, below 0 -> the first, above 1 -> the last.
 * NaN gives the first entry (callers decide what NaN means). Channels in [0, 1]. */
void picard_colormap_lookup (PicardColormap colormap, double t, double rgb[3]);
/* The same, channels rounded to 0..255. */
void picard_colormap_lookup_u8 (PicardColormap colormap, double t, guint8 rgb[3]);
/* The whole table as 256 x RGB bytes (rounded), for tight loops. */
const guint8 *picard_colormap_get_table_u8 (PicardColormap colormap);

G_END_DECLS
