/* picard-png.h: 8- and 16-bit grayscale PNG files (libpng).
 *
 * Reading accepts grayscale PNGs of 1, 2, 4, 8 or 16 bits (1..4 bits are widened to 8,
 * scaled to 0..255) and refuses palette, RGB and alpha images with an error that says so:
 * a DBT slice is grey, and a colour image is more likely the wrong file than a slice to
 * convert silently. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint width;
  guint height;
  guint bit_depth; /* 8 or 16 after reading */
} PicardPngInfo;

/* Header only. */
gboolean picard_png_read_info (const char *path, PicardPngInfo *info, GError **error);
/* Whole image as width*height values (0..255 for 8-bit images). g_free the result. */
guint16 *picard_png_read (const char *path, PicardPngInfo *info, GError **error);
/* Decodes into @out, which holds expect->width * expect->height values; an image of
 * another size or depth is PICARD_ERROR_CORRUPT (the file changed since it was listed). */
gboolean picard_png_read_into (const char *path, const PicardPngInfo *expect, guint16 *out,
                               GError **error);

/* @pixels: width*height guint8 (bit_depth 8) or guint16 in host order (bit_depth 16).
 * Written atomically (temporary file in the same folder, fsync, rename). */
gboolean picard_png_write_gray (const char *path, const void *pixels, guint width,
                                guint height, guint bit_depth, GError **error);

G_END_DECLS
