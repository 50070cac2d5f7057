#include "picard-figure.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"

void
picard_figure_init (PicardFigure *figure)
{
  g_return_if_fail (figure != NULL);

  memset (figure, 0, sizeof *figure);
  figure->window_level.center = 32768.0;
  figure->window_level.width = 65536.0;
  picard_overlay_style_init (&figure->overlay);
  figure->show_colorbar = TRUE;
}

/* What a drawing needs besides the description: its images and the colour range. */
typedef struct {
  cairo_surface_t *slice;   /* NULL: black */
  cairo_surface_t *overlay; /* NULL: no heatmap */
  guint reduction;          /* both are reduced this many times */
  double range_min, range_max;
} Sources;

static void
sources_clear (Sources *sources)
{
  g_clear_pointer (&sources->slice, cairo_surface_destroy);
  g_clear_pointer (&sources->overlay, cairo_surface_destroy);
}

static guint
reduction_of (const PicardFigure *figure)
{
  return MAX (figure->surface_reduction, 1u);
}

static gboolean
surface_fits (cairo_surface_t *surface, const PicardFigure *figure, const char *what,
              GError **error)
{
  guint k = reduction_of (figure);
  guint columns = (figure->columns + k - 1) / k, rows = (figure->rows + k - 1) / k;

  if (cairo_surface_get_type (surface) != CAIRO_SURFACE_TYPE_IMAGE
      || cairo_image_surface_get_width (surface) != (int) columns
      || cairo_image_surface_get_height (surface) != (int) rows)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The %s image is not the slice's size (%u x %u, reduced %u times)", what,
                   figure->columns, figure->rows, k);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate (const PicardFigure *figure, GError **error)
{
  if (figure->rows == 0 || figure->columns == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The figure has an empty slice (%u x %u)", figure->columns, figure->rows);
      return FALSE;
    }
  if (figure->slice_surface != NULL && !surface_fits (figure->slice_surface, figure, "slice", error))
    return FALSE;
  if (figure->overlay_surface != NULL
      && !surface_fits (figure->overlay_surface, figure, "overlay", error))
    return FALSE;
  return TRUE;
}

static void
resolve_range (const PicardFigure *figure, double *range_min, double *range_max)
{
  picard_overlay_resolve_range (&figure->overlay, figure->heatmap,
                                (gsize) figure->rows * figure->columns, range_min, range_max);
}

/* @full_size (exports): draw from the values rather than from reduced surfaces. */
static gboolean
sources_init (Sources *sources, const PicardFigure *figure, gboolean full_size,
              GError **error)
{
  gboolean redraw, slice_from_values, overlay_from_heatmap;

  memset (sources, 0, sizeof *sources);
  if (!validate (figure, error))
    return FALSE;

  redraw = reduction_of (figure) > 1 && full_size
           && (figure->slice_surface == NULL || figure->slice_values != NULL)
           && (figure->overlay_surface == NULL || figure->heatmap != NULL);
  sources->reduction = redraw ? 1 : reduction_of (figure);
  slice_from_values = figure->slice_values != NULL
                      && (redraw || figure->slice_surface == NULL);
  overlay_from_heatmap = figure->heatmap != NULL
                         && (redraw || figure->overlay_surface == NULL);
  /* Images of different sizes cannot be drawn together. */
  if (sources->reduction > 1 && (slice_from_values || overlay_from_heatmap))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A figure with reduced images needs the slice and the overlay both as "
                   "reduced surfaces");
      return FALSE;
    }

  if (!slice_from_values && figure->slice_surface != NULL)
    sources->slice = cairo_surface_reference (figure->slice_surface);
  else if (slice_from_values)
    {
      sources->slice = picard_slice_surface_new (figure->slice_values, figure->rows,
                                                 figure->columns, &figure->window_level,
                                                 error);
      if (sources->slice == NULL)
        return FALSE;
    }

  if (!overlay_from_heatmap && figure->overlay_surface != NULL)
    {
      sources->overlay = cairo_surface_reference (figure->overlay_surface);
      resolve_range (figure, &sources->range_min, &sources->range_max);
    }
  else if (overlay_from_heatmap)
    {
      sources->overlay = picard_overlay_surface_new (&figure->overlay, figure->heatmap,
                                                     figure->rows, figure->columns,
                                                     &sources->range_min,
                                                     &sources->range_max, error);
      if (sources->overlay == NULL)
        {
          sources_clear (sources);
          return FALSE;
        }
    }
  return TRUE;
}

static void
paint_image (cairo_t *cr, cairo_surface_t *surface, cairo_filter_t filter)
{
  cairo_pattern_t *pattern = cairo_pattern_create_for_surface (surface);

  cairo_pattern_set_filter (pattern, filter);
  /* Padding keeps smoothed edges crisp: the rectangle does the clipping. */
  cairo_pattern_set_extend (pattern, CAIRO_EXTEND_PAD);
  cairo_set_source (cr, pattern);
  cairo_rectangle (cr, 0, 0, cairo_image_surface_get_width (surface),
                   cairo_image_surface_get_height (surface));
  cairo_fill (cr);
  cairo_pattern_destroy (pattern);
}

/* Slice and overlay in slice coordinates (the current user space). */
static void
paint_slice (cairo_t *cr, const PicardFigure *figure, const Sources *sources,
             double zoom)
{
  double zoom_images = zoom * sources->reduction;
  cairo_filter_t filter;

  /* Magnified pixels stay square, for reading values; minified ones are averaged
   * (reduced images are already averaged: bilinear is enough). */
  if (zoom_images >= 1.0)
    filter = sources->reduction > 1 ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST;
  else if (figure->fast || zoom_images >= 0.5)
    filter = CAIRO_FILTER_BILINEAR;
  else
    filter = CAIRO_FILTER_GOOD;

  cairo_save (cr);
  /* Reduced images overhang the slice by up to k - 1 pixels. */
  cairo_rectangle (cr, 0, 0, figure->columns, figure->rows);
  cairo_clip (cr);
  cairo_scale (cr, sources->reduction, sources->reduction);
  if (sources->slice != NULL)
    paint_image (cr, sources->slice, filter);
  else
    {
      cairo_set_source_rgb (cr, 0.0, 0.0, 0.0);
      cairo_paint (cr);
    }
  if (sources->overlay != NULL)
    paint_image (cr, sources->overlay, filter);
  cairo_restore (cr);
}

static void
draw_slice_annotations (cairo_t *cr, const PicardFigure *figure,
                        const cairo_matrix_t *slice_to_user,
                        const PicardAnnotationStyle *style, double clip_width,
                        double clip_height)
{
  if (figure->lattice != NULL)
    picard_draw_lattice (cr, slice_to_user, style, figure->lattice, clip_width, clip_height);
  picard_draw_boxes (cr, slice_to_user, style, figure->boxes, figure->n_boxes);
  if (figure->patch != NULL)
    picard_draw_patch_outline (cr, slice_to_user, style, figure->patch);
}

/* ---- the export layout, in slice pixels before scaling ---- */

typedef struct {
  PicardAnnotationStyle style;
  double margin;
  gboolean colorbar;
  double colorbar_x, colorbar_y, colorbar_height;
  double caption_y, caption_width;
  gboolean caption;
  double width, height;
} Layout;

static void
layout_compute (Layout *layout, const PicardFigure *figure, gboolean have_overlay,
                double range_min, double range_max)
{
  /* Text and lines grow with the slice, so a full-resolution figure still reads when it
   * is shown at page size. */
  double unit = MAX (1.0, MIN (figure->rows, figure->columns) / 500.0);
  double font, colorbar_width = 0.0, caption_height = 0.0;

  memset (layout, 0, sizeof *layout);
  picard_annotation_style_init (&layout->style, unit, FALSE);
  font = layout->style.font_size * unit;
  layout->margin = 10.0 * unit;
  layout->width = figure->columns;
  layout->height = figure->rows;

  layout->colorbar = figure->show_colorbar && have_overlay;
  if (layout->colorbar)
    {
      layout->colorbar_x = figure->columns + 2.0 * layout->margin;
      layout->colorbar_y = layout->margin + font;
      layout->colorbar_height = MAX (figure->rows - 2.0 * layout->colorbar_y, 6.0 * font);
      picard_colorbar_measure (&layout->style, range_min, range_max, figure->colorbar_label,
                               layout->colorbar_height, &colorbar_width);
      layout->width = layout->colorbar_x + colorbar_width + 2.0 * layout->margin;
      layout->height = MAX (layout->height,
                            layout->colorbar_height + 2.0 * layout->colorbar_y);
    }

  layout->caption = figure->caption != NULL && figure->caption[0] != NULL;
  if (layout->caption)
    {
      layout->caption_width = layout->width - 2.0 * layout->margin;
      caption_height = picard_caption_measure (&layout->style, figure->caption,
                                               layout->caption_width);
      layout->caption_y = layout->height + layout->margin;
      layout->height = layout->caption_y + caption_height + layout->margin;
    }
  /* Whole pixels at scale 1. */
  layout->width = ceil (layout->width);
  layout->height = ceil (layout->height);
}

void
picard_figure_get_size (const PicardFigure *figure, double scale, double *width,
                        double *height)
{
  Layout layout;
  double range_min = 0.0, range_max = 1.0;
  gboolean have_overlay;

  g_return_if_fail (figure != NULL && scale > 0.0);

  have_overlay = figure->heatmap != NULL || figure->overlay_surface != NULL;
  if (have_overlay)
    resolve_range (figure, &range_min, &range_max);
  layout_compute (&layout, figure, have_overlay, range_min, range_max);
  if (width != NULL)
    *width = layout.width * scale;
  if (height != NULL)
    *height = layout.height * scale;
}

static void
render_layout (const PicardFigure *figure, const Sources *sources, const Layout *layout,
               cairo_t *cr, double scale)
{
  cairo_matrix_t identity;

  cairo_save (cr);
  cairo_scale (cr, scale, scale);
  cairo_rectangle (cr, 0, 0, layout->width, layout->height);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_fill (cr);

  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, figure->columns, figure->rows);
  cairo_clip (cr);
  paint_slice (cr, figure, sources, scale);
  cairo_matrix_init_identity (&identity);
  draw_slice_annotations (cr, figure, &identity, &layout->style, 0.0, 0.0);
  picard_draw_scale_bar (cr, &identity, &layout->style, figure->mm_per_pixel,
                         layout->margin, figure->rows - layout->margin);
  cairo_restore (cr);

  if (layout->colorbar)
    picard_draw_colorbar (cr, &layout->style, figure->overlay.colormap, sources->range_min,
                          sources->range_max, figure->colorbar_label, layout->colorbar_x,
                          layout->colorbar_y, layout->colorbar_height);
  if (layout->caption)
    picard_draw_caption (cr, &layout->style, figure->caption, layout->margin,
                         layout->caption_y, layout->caption_width);
  cairo_restore (cr);
}

gboolean
picard_figure_render (const PicardFigure *figure, cairo_t *cr, double scale, GError **error)
{
  Sources sources;
  Layout layout;

  g_return_val_if_fail (figure != NULL && cr != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!(scale > 0.0) || !isfinite (scale))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The figure scale must be a positive number, not %g", scale);
      return FALSE;
    }
  if (!sources_init (&sources, figure, TRUE, error))
    return FALSE;
  layout_compute (&layout, figure, sources.overlay != NULL, sources.range_min,
                  sources.range_max);
  render_layout (figure, &sources, &layout, cr, scale);
  sources_clear (&sources);
  return TRUE;
}

/* ---- the viewer ---- */

static void
rounded_rectangle (cairo_t *cr, double x, double y, double width, double height, double r)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + width - r, y + r, r, -G_PI / 2.0, 0.0);
  cairo_arc (cr, x + width - r, y + height - r, r, 0.0, G_PI / 2.0);
  cairo_arc (cr, x + r, y + height - r, r, G_PI / 2.0, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 1.5 * G_PI);
  cairo_close_path (cr);
}

gboolean
picard_figure_draw (const PicardFigure *figure, cairo_t *cr,
                    const cairo_matrix_t *slice_to_user, double width, double height,
                    GError **error)
{
  const double pad = 8.0, inset = 8.0;
  PicardAnnotationStyle style;
  Sources sources;
  double zoom, font, caption_top = height - inset;

  g_return_val_if_fail (figure != NULL && cr != NULL && slice_to_user != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!sources_init (&sources, figure, FALSE, error))
    return FALSE;
  picard_annotation_style_init (&style, 1.0, TRUE);
  font = style.font_size;
  zoom = hypot (slice_to_user->xx, slice_to_user->yx);
  if (!figure->fast && zoom * sources.reduction < 0.5 && zoom > 0.0)
    {
      /* Far out: average blocks once rather than filter every output pixel. */
      guint k = (guint) MIN (floor (1.0 / (zoom * sources.reduction)), 64.0);
      cairo_surface_t *slice = NULL, *overlay = NULL;

      if (sources.slice != NULL)
        slice = picard_surface_reduce (sources.slice, k, error);
      if (sources.overlay != NULL && (sources.slice == NULL || slice != NULL))
        overlay = picard_surface_reduce (sources.overlay, k, error);
      if ((sources.slice != NULL && slice == NULL)
          || (sources.overlay != NULL && overlay == NULL))
        {
          g_clear_pointer (&slice, cairo_surface_destroy);
          g_clear_pointer (&overlay, cairo_surface_destroy);
          sources_clear (&sources);
          return FALSE;
        }
      sources_clear (&sources);
      sources.slice = slice;
      sources.overlay = overlay;
      sources.reduction *= k;
    }

  cairo_save (cr);
  cairo_transform (cr, slice_to_user);
  paint_slice (cr, figure, &sources, zoom);
  cairo_restore (cr);
  draw_slice_annotations (cr, figure, slice_to_user, &style, width, height);

  if (figure->caption != NULL && figure->caption[0] != NULL)
    {
      double wrap = MIN (width - 2.0 * (inset + pad), 60.0 * font);
      double h = picard_caption_measure (&style, figure->caption, wrap);

      caption_top = height - inset - h - 2.0 * pad;
      cairo_save (cr);
      rounded_rectangle (cr, inset, caption_top, wrap + 2.0 * pad, h + 2.0 * pad, pad);
      cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.55);
      cairo_fill (cr);
      cairo_restore (cr);
      picard_draw_caption (cr, &style, figure->caption, inset + pad, caption_top + pad, wrap);
    }
  picard_draw_scale_bar (cr, slice_to_user, &style, figure->mm_per_pixel, inset + pad,
                         caption_top - inset - pad);

  if (figure->show_colorbar && sources.overlay != NULL)
    {
      double bar_height = CLAMP (height * 0.4, 6.0 * font, 320.0), bar_width, x;

      picard_colorbar_measure (&style, sources.range_min, sources.range_max,
                               figure->colorbar_label, bar_height, &bar_width);
      x = width - inset - bar_width - 2.0 * pad;
      cairo_save (cr);
      rounded_rectangle (cr, x, inset, bar_width + 2.0 * pad, bar_height + 2.0 * pad + font,
                         pad);
      cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.55);
      cairo_fill (cr);
      cairo_restore (cr);
      picard_draw_colorbar (cr, &style, figure->overlay.colormap, sources.range_min,
                            sources.range_max, figure->colorbar_label, x + pad,
                            inset + pad + font / 2.0, bar_height);
    }
  sources_clear (&sources);
  return TRUE;
}

/* ---- export ---- */

typedef struct {
  const PicardFigure *figure;
  const Sources *sources;
  const Layout *layout;
  double scale;
} ExportData;

static gboolean
export_draw (cairo_t *cr, gpointer user_data, GError **error)
{
  const ExportData *data = user_data;

  render_layout (data->figure, data->sources, data->layout, cr, data->scale);
  return TRUE;
}

gboolean
picard_figure_export (const PicardFigure *figure, const char *path, PicardExportFormat format,
                      double scale, GError **error)
{
  g_autofree char *description = NULL;
  Sources sources;
  Layout layout;
  ExportData data;
  gboolean ok;

  g_return_val_if_fail (figure != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!picard_export_check_scale (path, scale, error))
    return FALSE;
  if (!sources_init (&sources, figure, TRUE, error))
    return FALSE;
  layout_compute (&layout, figure, sources.overlay != NULL, sources.range_min,
                  sources.range_max);
  if (figure->caption != NULL)
    description = g_strjoinv ("\n", (char **) figure->caption);
  data.figure = figure;
  data.sources = &sources;
  data.layout = &layout;
  data.scale = scale;
  ok = picard_export_draw (path, format, layout.width * scale, layout.height * scale,
                           figure->caption != NULL && figure->caption[0] != NULL
                             ? figure->caption[0] : "Picard Viewer figure",
                           description, export_draw, &data, error);
  sources_clear (&sources);
  return ok;
}
