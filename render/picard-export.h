/* picard-export.h: drawings written to PNG, SVG or PDF files, atomically (a temporary file
 * in the same folder, fsync, rename: a failed export leaves any existing file untouched). */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PICARD_EXPORT_FORMAT_AUTO, /* from the file name's extension */
  PICARD_EXPORT_FORMAT_PNG,
  PICARD_EXPORT_FORMAT_SVG,
  PICARD_EXPORT_FORMAT_PDF,
} PicardExportFormat;

/* ".png", ".svg", ".pdf" (any case) -> the format; FALSE for anything else. */
gboolean picard_export_format_from_path (const char *path, PicardExportFormat *format);
/* "PNG", "SVG", "PDF" */
const char *picard_export_format_get_name (PicardExportFormat format);

/* Draws the picture on @cr, whose user space is @width x @height units (PNG pixels, SVG
 * pixels, PDF points). Returning FALSE with @error set (or an error status on @cr) fails
 * the export before anything is replaced. */
typedef gboolean (*PicardExportDrawFunc) (cairo_t *cr, gpointer user_data, GError **error);

/* Writes @width x @height (rounded up to whole pixels for PNG) drawn by @draw to @path.
 * @title and @description (may be NULL) go into the SVG (<title>, <desc>) and the PDF
 * metadata, so the text of a figure can be found in its file. */
gboolean picard_export_draw (const char *path, PicardExportFormat format, double width,
                             double height, const char *title, const char *description,
                             PicardExportDrawFunc draw, gpointer user_data, GError **error);

/* Checks an export's scale (a finite number > 0) before anything is drawn: otherwise
 * PICARD_ERROR_INVALID_ARGUMENT naming @path. */
gboolean picard_export_check_scale (const char *path, double scale, GError **error);

/* An image surface written to @path as PNG, atomically. */
gboolean picard_export_png_surface (cairo_surface_t *surface, const char *path,
                                    GError **error);

G_END_DECLS
