#include "picard-plot.h"

#include <math.h>
#include <pango/pangocairo.h>

#include "picard-error.h"
#include "picard-export.h"

/* Colour-blind-safe line colours (Okabe-Ito), cycled. */
static const double palette[][3] = {
  { 0.000, 0.447, 0.698 }, { 0.835, 0.369, 0.000 }, { 0.000, 0.620, 0.451 },
  { 0.800, 0.475, 0.655 }, { 0.337, 0.706, 0.914 }, { 0.902, 0.624, 0.000 },
};

typedef struct {
  PicardPlotKind kind;
  const char *title;
  const PicardPlotSeries *series;
  guint n_series;
  double size;
} Plot;

static void
draw_text (cairo_t *cr, const char *text, double size, double x, double y, double align_x,
           double align_y, gboolean vertical)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  PangoFontDescription *font = pango_font_description_from_string ("Sans");
  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_text (layout, valid, -1);
  PangoRectangle logical;
  pango_layout_get_extents (layout, NULL, &logical);
  double w = (double) logical.width / PANGO_SCALE, h = (double) logical.height / PANGO_SCALE;
  cairo_save (cr);
  cairo_translate (cr, x, y);
  if (vertical)
    cairo_rotate (cr, -G_PI / 2);
  cairo_move_to (cr, -w * align_x, -h * align_y);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
  g_object_unref (layout);
}

static gboolean
draw_plot (cairo_t *cr, gpointer user_data, GError **error)
{
  const Plot *plot = user_data;
  double s = plot->size, font = s / 40.0;
  double left = s * 0.14, right = s * 0.04, top = s * 0.09, bottom = s * 0.12;
  double w = s - left - right, h = s - top - bottom;

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  if (plot->title != NULL)
    draw_text (cr, plot->title, font * 1.2, s / 2, top / 2, 0.5, 0.5, FALSE);

  /* Grid, ticks and tick labels every 0.2. */
  cairo_set_line_width (cr, MAX (s / 800.0, 0.5));
  for (int k = 0; k <= 5; k++)
    {
      double v = k / 5.0;
      double x = left + v * w, y = top + (1 - v) * h;
      g_autofree char *label = g_strdup_printf ("%.1f", v);
      cairo_set_source_rgb (cr, 0.88, 0.88, 0.88);
      cairo_move_to (cr, x, top);
      cairo_line_to (cr, x, top + h);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, left + w, y);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      draw_text (cr, label, font, x, top + h + font * 0.4, 0.5, 0.0, FALSE);
      draw_text (cr, label, font, left - font * 0.4, y, 1.0, 0.5, FALSE);
    }
  gboolean roc = plot->kind == PICARD_PLOT_ROC;
  draw_text (cr, roc ? "False positive rate" : "Recall", font * 1.1, left + w / 2,
             s - bottom * 0.35, 0.5, 0.5, FALSE);
  draw_text (cr, roc ? "True positive rate" : "Precision", font * 1.1, left * 0.3,
             top + h / 2, 0.5, 0.5, TRUE);

  cairo_save (cr);
  cairo_rectangle (cr, left, top, w, h);
  cairo_clip (cr);
  if (roc)
    {
      /* Chance. */
      double dash = s / 100.0;
      cairo_set_source_rgb (cr, 0.5, 0.5, 0.5);
      cairo_set_dash (cr, &dash, 1, 0);
      cairo_move_to (cr, left, top + h);
      cairo_line_to (cr, left + w, top);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  cairo_set_line_width (cr, MAX (s / 250.0, 1.0));
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint c = 0; c < plot->n_series; c++)
    {
      const PicardPlotSeries *series = &plot->series[c];
      const double *colour = palette[c % G_N_ELEMENTS (palette)];
      cairo_set_source_rgb (cr, colour[0], colour[1], colour[2]);
      for (guint k = 0; k < series->n; k++)
        {
          double x = CLAMP (series->x[k], 0.0, 1.0), y = CLAMP (series->y[k], 0.0, 1.0);
          if (!isfinite (series->x[k]) || !isfinite (series->y[k]))
            continue;
          if (k == 0)
            cairo_move_to (cr, left + x * w, top + (1 - y) * h);
          else
            cairo_line_to (cr, left + x * w, top + (1 - y) * h);
        }
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_rectangle (cr, left, top, w, h);
  cairo_stroke (cr);

  /* Legend, inside the frame away from where the curves usually run. */
  double ly = roc ? top + h - font * 1.6 * plot->n_series - font : top + font;
  for (guint c = 0; c < plot->n_series; c++)
    {
      const char *label = plot->series[c].label;
      if (label == NULL)
        continue;
      const double *colour = palette[c % G_N_ELEMENTS (palette)];
      double y = ly + c * font * 1.6;
      double x = roc ? left + w * 0.45 : left + w * 0.05;
      cairo_set_source_rgb (cr, colour[0], colour[1], colour[2]);
      cairo_move_to (cr, x, y + font * 0.6);
      cairo_line_to (cr, x + font * 2, y + font * 0.6);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
      draw_text (cr, label, font, x + font * 2.5, y + font * 0.6, 0.0, 0.5, FALSE);
    }
  return cairo_status (cr) == CAIRO_STATUS_SUCCESS;
}

gboolean
picard_plot_curves (const char *path, PicardPlotKind kind, const char *title,
                    const PicardPlotSeries *series, guint n_series, guint size, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (series != NULL || n_series == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  PicardExportFormat format;
  if (!picard_export_format_from_path (path, &format))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot tell the format of %s: name it .png, .svg or .pdf", path);
      return FALSE;
    }
  for (guint c = 0; c < n_series; c++)
    if (series[c].n == 0 || series[c].x == NULL || series[c].y == NULL)
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                     "Curve %u of plot %s has no points", c + 1, path);
        return FALSE;
      }
  if (size < 64 || size > 8192)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Plot size %u is out of range: choose 64 to 8192", size);
      return FALSE;
    }
  Plot plot = { kind, title, series, n_series, size };
  return picard_export_draw (path, format, size, size, title,
                             kind == PICARD_PLOT_ROC ? "ROC curve" : "Precision-recall curve",
                             draw_plot, &plot, error);
}
