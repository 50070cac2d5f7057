#include "picard-stages.h"

#include <math.h>
#include <string.h>

#include "picard-annotations.h"
#include "picard-error.h"
#include "picard-overlay.h"

#define WHEEL_PIXELS 96

static const char *const row_names[] = { "coarse stage", "final", "attention" };

void
picard_stages_init (PicardStages *stages)
{
  g_return_if_fail (stages != NULL);
  memset (stages, 0, sizeof *stages);
}

void
picard_flow_colour (double dy, double dx, double radius, double rgb[3])
{
  double length = hypot (dy, dx), s, h, f;
  int sector;

  if (!(radius > 0.0) || !isfinite (length) || length == 0.0)
    {
      rgb[0] = rgb[1] = rgb[2] = 1.0;
      return;
    }
  s = MIN (length / radius, 1.0);
  /* Hue from the direction (rows grow downwards, as on screen), value 1: HSV to RGB. */
  h = atan2 (dy, dx) / (2.0 * G_PI);
  if (h < 0.0)
    h += 1.0;
  h *= 6.0;
  sector = (int) floor (h) % 6;
  f = h - floor (h);
  {
    double p = 1.0 - s, q = 1.0 - s * f, t = 1.0 - s * (1.0 - f);
    const double table[6][3] = {
      { 1.0, t, p }, { q, 1.0, p }, { p, 1.0, t }, { p, q, 1.0 }, { t, p, 1.0 }, { 1.0, p, q },
    };

    memcpy (rgb, table[sector], 3 * sizeof (double));
  }
}

static gboolean
validate (const PicardStages *stages, GError **error)
{
  if (stages->size == 0 || stages->size > 4096 || stages->hole_size > stages->size
      || stages->tile > 4096 || stages->grid == 0 || stages->grid > stages->size)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot lay out the stages of %u x %u patches with a %u hole and a %u x %u "
                   "attention grid: the patch must be 1 to 4096 pixels, the hole and the grid "
                   "no larger",
                   stages->size, stages->size, stages->hole_size, stages->grid, stages->grid);
      return FALSE;
    }
  if (stages->n_samples == 0 || stages->n_samples > PICARD_STAGES_MAX_SAMPLES
      || stages->coarse == NULL || stages->final == NULL || stages->offsets == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot lay out the stages of %u samples: give 1 to %u samples with their "
                   "coarse, final and attention images", stages->n_samples,
                   PICARD_STAGES_MAX_SAMPLES);
      return FALSE;
    }
  for (guint k = 0; k < stages->n_samples; k++)
    if (stages->coarse[k] == NULL || stages->final[k] == NULL || stages->offsets[k] == NULL)
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                     "Sample %u has no coarse, final or attention image", k + 1);
        return FALSE;
      }
  return TRUE;
}

double
picard_stages_max_step (const PicardStages *stages)
{
  guint g = stages->grid;
  double best = 0.0;

  g_return_val_if_fail (stages != NULL, 0.0);

  for (guint k = 0; k < stages->n_samples; k++)
    for (guint r = 0; r < g; r++)
      for (guint c = 0; c < g; c++)
        {
          const float *o = stages->offsets[k];
          double step = hypot (o[r * g + c] - (double) r, o[g * g + r * g + c] - (double) c);

          if (isfinite (step))
            best = MAX (best, step);
        }
  return best;
}

typedef struct {
  PicardAnnotationStyle style;
  double tile, cell, gap, label_height, title_height, row_label_width;
  double caption_width, caption_height;
  double width, height;
  char *caption;
} Layout;

static void
layout_compute (const PicardStages *stages, Layout *layout)
{
  double cell_pixels = (double) stages->size / stages->grid;
  double rim = picard_stages_max_step (stages) * cell_pixels;
  const char *lines[2] = { NULL, NULL };

  memset (layout, 0, sizeof *layout);
  layout->tile = stages->tile > 0 ? stages->tile : stages->size;
  picard_annotation_style_init (&layout->style, MAX (1.0, layout->tile / 256.0), FALSE);
  layout->cell = layout->tile;
  layout->gap = 8.0 * layout->style.unit;
  layout->label_height = picard_label_height (&layout->style);
  layout->title_height = stages->title != NULL ? layout->label_height + layout->gap : 0.0;
  for (guint r = 0; r < G_N_ELEMENTS (row_names); r++)
    layout->row_label_width = MAX (layout->row_label_width,
                                   ceil (picard_label_width (&layout->style, row_names[r],
                                                             TRUE)));
  for (guint k = 0; stages->labels != NULL && k < stages->n_samples; k++)
    if (stages->labels[k] != NULL)
      layout->cell = MAX (layout->cell, ceil (picard_label_width (&layout->style,
                                                                  stages->labels[k], FALSE)));
  /* Samples, then the legend's column. */
  layout->width = layout->gap + layout->row_label_width + layout->gap
                  + (stages->n_samples + 1) * (layout->cell + layout->gap);
  layout->caption = rim > 0.0
    ? g_strdup_printf ("Attention: each %g px cell is coloured by the step to the background "
                       "patch it copies from: hue the direction (wheel), saturation the "
                       "length, %.3g px at the rim; white: no step.", cell_pixels, rim)
    : g_strdup ("Attention: no cell copies from elsewhere (every step is 0).");
  lines[0] = layout->caption;
  layout->caption_width = layout->width - 2.0 * layout->gap;
  layout->caption_height = picard_caption_measure (&layout->style, lines,
                                                   layout->caption_width);
  layout->height = layout->gap + layout->title_height + layout->label_height
                   + 3 * (layout->tile + layout->gap) + layout->caption_height + layout->gap;
}

static void
layout_clear (Layout *layout)
{
  g_clear_pointer (&layout->caption, g_free);
}

static void
tile_origin (const Layout *layout, guint row, guint column, double *x, double *y)
{
  *x = 2.0 * layout->gap + layout->row_label_width + column * (layout->cell + layout->gap)
       + (layout->cell - layout->tile) / 2.0;
  *y = layout->gap + layout->title_height + layout->label_height
       + row * (layout->tile + layout->gap);
}

gboolean
picard_stages_get_size (const PicardStages *stages, double scale, double *width,
                        double *height, GError **error)
{
  Layout layout;

  g_return_val_if_fail (stages != NULL, FALSE);

  if (!validate (stages, error))
    return FALSE;
  layout_compute (stages, &layout);
  if (width != NULL)
    *width = layout.width * scale;
  if (height != NULL)
    *height = layout.height * scale;
  layout_clear (&layout);
  return TRUE;
}

gboolean
picard_stages_get_tile (const PicardStages *stages, PicardStagesRow row, guint column,
                        double scale, double *x, double *y, double *size)
{
  Layout layout;

  g_return_val_if_fail (stages != NULL && x != NULL && y != NULL, FALSE);

  if ((guint) row > PICARD_STAGES_ROW_ATTENTION || !validate (stages, NULL)
      || column >= stages->n_samples)
    return FALSE;
  layout_compute (stages, &layout);
  tile_origin (&layout, row, column, x, y);
  *x *= scale;
  *y *= scale;
  if (size != NULL)
    *size = layout.tile * scale;
  layout_clear (&layout);
  return TRUE;
}

static gboolean
draw_grey (cairo_t *cr, const PicardStages *stages, const Layout *layout, guint row,
           guint column, const float *image, double scale, GError **error)
{
  cairo_surface_t *surface;
  double x, y;

  surface = picard_grey_surface_new_from_float (image, stages->size, stages->size, -1.0, 1.0,
                                                error);
  if (surface == NULL)
    return FALSE;
  tile_origin (layout, row, column, &x, &y);
  picard_draw_tile (cr, surface, stages->size, x, y, layout->tile, scale, FALSE);
  cairo_surface_destroy (surface);
  picard_draw_hole_outline (cr, &layout->style, x, y, layout->tile, stages->size,
                            stages->hole_size, FALSE);
  return TRUE;
}

static guint32
pack (const double rgb[3])
{
  return 0xff000000u | ((guint32) lround (rgb[0] * 255.0) << 16)
         | ((guint32) lround (rgb[1] * 255.0) << 8) | (guint32) lround (rgb[2] * 255.0);
}

/* A square image surface of @side pixels to draw on, or NULL with @error naming @what. */
static cairo_surface_t *
square_surface_new (cairo_format_t format, guint side, const char *what, GError **error)
{
  cairo_surface_t *surface = cairo_image_surface_create (format, (int) side, (int) side);

  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY,
                   "Out of memory for %s (%u x %u pixels)", what, side, side);
      return NULL;
    }
  cairo_surface_flush (surface);
  return surface;
}

static gboolean
draw_flow (cairo_t *cr, const PicardStages *stages, const Layout *layout, guint column,
           const float *offsets, double radius, double scale, GError **error)
{
  guint g = stages->grid;
  cairo_surface_t *surface = square_surface_new (CAIRO_FORMAT_RGB24, g, "an attention image",
                                                 error);
  guchar *data;
  int stride;
  double x, y;

  if (surface == NULL)
    return FALSE;
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (guint r = 0; r < g; r++)
    for (guint c = 0; c < g; c++)
      {
        double rgb[3];

        picard_flow_colour (offsets[r * g + c] - (double) r,
                            offsets[g * g + r * g + c] - (double) c, radius, rgb);
        ((guint32 *) (data + (gsize) r * stride))[c] = pack (rgb);
      }
  cairo_surface_mark_dirty (surface);
  tile_origin (layout, PICARD_STAGES_ROW_ATTENTION, column, &x, &y);
  picard_draw_tile (cr, surface, g, x, y, layout->tile, scale, FALSE);
  cairo_surface_destroy (surface);
  picard_draw_hole_outline (cr, &layout->style, x, y, layout->tile, stages->size,
                            stages->hole_size, TRUE);
  return TRUE;
}

/* The legend: a disc whose every point has the colour of the step from its centre. */
static gboolean
draw_wheel (cairo_t *cr, const PicardStages *stages, const Layout *layout, double scale,
            GError **error)
{
  cairo_surface_t *surface = square_surface_new (CAIRO_FORMAT_ARGB32, WHEEL_PIXELS,
                                                 "the attention legend", error);
  double half = WHEEL_PIXELS / 2.0, x, y;
  guchar *data;
  int stride;

  if (surface == NULL)
    return FALSE;
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int r = 0; r < WHEEL_PIXELS; r++)
    for (int c = 0; c < WHEEL_PIXELS; c++)
      {
        double dy = r + 0.5 - half, dx = c + 0.5 - half, rgb[3];
        guint32 *pixel = (guint32 *) (data + (gsize) r * stride) + c;

        if (hypot (dy, dx) > half)
          *pixel = 0;
        else
          {
            picard_flow_colour (dy, dx, half, rgb);
            *pixel = pack (rgb);
          }
      }
  cairo_surface_mark_dirty (surface);
  tile_origin (layout, PICARD_STAGES_ROW_ATTENTION, stages->n_samples, &x, &y);
  picard_draw_tile (cr, surface, WHEEL_PIXELS, x, y, layout->tile, scale, TRUE);
  cairo_surface_destroy (surface);
  cairo_save (cr);
  cairo_arc (cr, x + layout->tile / 2.0, y + layout->tile / 2.0, layout->tile / 2.0, 0,
             2.0 * G_PI);
  cairo_set_line_width (cr, layout->style.unit);
  cairo_set_source_rgb (cr, 0.5, 0.5, 0.5);
  cairo_stroke (cr);
  cairo_restore (cr);
  return TRUE;
}

gboolean
picard_stages_render (const PicardStages *stages, cairo_t *cr, double scale, GError **error)
{
  Layout layout;
  double radius, x, y, top;
  gboolean ok = TRUE;
  const char *lines[2] = { NULL, NULL };

  g_return_val_if_fail (stages != NULL && cr != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!validate (stages, error))
    return FALSE;
  layout_compute (stages, &layout);
  radius = picard_stages_max_step (stages);

  cairo_save (cr);
  cairo_scale (cr, scale, scale);
  cairo_rectangle (cr, 0, 0, layout.width, layout.height);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_fill (cr);
  if (stages->title != NULL)
    picard_draw_label (cr, &layout.style, stages->title, layout.gap, layout.gap,
                       layout.width - 2.0 * layout.gap, TRUE);
  top = layout.gap + layout.title_height;
  for (guint k = 0; stages->labels != NULL && k < stages->n_samples; k++)
    if (stages->labels[k] != NULL)
      {
        tile_origin (&layout, 0, k, &x, &y);
        picard_draw_label (cr, &layout.style, stages->labels[k],
                           x - (layout.cell - layout.tile) / 2.0, top, layout.cell, FALSE);
      }
  tile_origin (&layout, 0, stages->n_samples, &x, &y);
  picard_draw_label (cr, &layout.style, "legend", x - (layout.cell - layout.tile) / 2.0, top,
                     layout.cell, FALSE);
  for (guint r = 0; r < G_N_ELEMENTS (row_names); r++)
    {
      tile_origin (&layout, r, 0, &x, &y);
      picard_draw_label (cr, &layout.style, row_names[r], layout.gap,
                         y + (layout.tile - layout.label_height) / 2.0, layout.row_label_width,
                         TRUE);
    }
  for (guint k = 0; ok && k < stages->n_samples; k++)
    ok = draw_grey (cr, stages, &layout, PICARD_STAGES_ROW_COARSE, k, stages->coarse[k], scale,
                    error)
         && draw_grey (cr, stages, &layout, PICARD_STAGES_ROW_FINAL, k, stages->final[k], scale,
                       error)
         && draw_flow (cr, stages, &layout, k, stages->offsets[k], radius, scale, error);
  if (ok)
    ok = draw_wheel (cr, stages, &layout, scale, error);
  if (ok)
    {
      lines[0] = layout.caption;
      tile_origin (&layout, PICARD_STAGES_ROW_ATTENTION, 0, &x, &y);
      picard_draw_caption (cr, &layout.style, lines, layout.gap,
                           y + layout.tile + layout.gap, layout.caption_width);
    }
  cairo_restore (cr);
  layout_clear (&layout);
  return ok;
}
