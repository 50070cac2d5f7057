/* picard-window-level.h: stored values -> display grey levels. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double center;
  double width;
  gboolean invert;
} PicardWindowLevel;

/* DICOM PS3.3 C.11.2.1.2.1 linear VOI function, mapped to 0..max_out. */
void picard_window_level_apply_u8 (const PicardWindowLevel *wl, const guint16 *in,
                                   guint8 *out, gsize n);
void picard_window_level_apply_u16 (const PicardWindowLevel *wl, const guint16 *in,
                                    guint16 *out, gsize n);
/* Scaled to [0, 1] as floats, the way PICARD reads 8-bit slices (value / 255). */
void picard_window_level_apply_unit (const PicardWindowLevel *wl, const guint16 *in,
                                     float *out, gsize n);
/* A window over the given percentiles of the non-zero (tissue) values; full range when
 * every value is zero. */
PicardWindowLevel picard_window_level_auto (const guint16 *in, gsize n, guint bits_stored,
                                            double low_percentile, double high_percentile);
/* "CENTER,WIDTH" as typed on a command line (e.g. "512,1024"); spaces around the numbers
 * are allowed, the width must be positive. PICARD_ERROR_INVALID_ARGUMENT otherwise. */
gboolean picard_window_level_parse (const char *text, PicardWindowLevel *wl, GError **error);

G_END_DECLS
