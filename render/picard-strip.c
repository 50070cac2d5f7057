#include "picard-strip.h"

#include <math.h>
#include <string.h>

#include "picard-annotations.h"
#include "picard-error.h"
#include "picard-overlay.h"

static const double closest_rgb[3] = { 0.0, 0.65, 0.2 };

void
picard_strip_init (PicardStrip *strip)
{
  g_return_if_fail (strip != NULL);
  memset (strip, 0, sizeof *strip);
}

typedef struct {
  const double *distances;
} SortData;

static int
compare_distance (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const SortData *data = user_data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  double x = data->distances[i], y = data->distances[j];

  if (isnan (x) != isnan (y))
    return isnan (x) ? 1 : -1;
  if (!isnan (x) && x != y)
    return x < y ? -1 : 1;
  return i < j ? -1 : (i > j ? 1 : 0);
}

void
picard_strip_sort (const PicardStrip *strip, guint *order)
{
  SortData data;

  g_return_if_fail (strip != NULL && (strip->n_completions == 0 || order != NULL));

  for (guint i = 0; i < strip->n_completions; i++)
    order[i] = i;
  if (strip->distances == NULL)
    return;
  data.distances = strip->distances;
  g_qsort_with_data (order, (gint) strip->n_completions, sizeof *order, compare_distance,
                     &data);
}

static gboolean
validate (const PicardStrip *strip, GError **error)
{
  if (strip->size == 0 || strip->size > PICARD_STRIP_MAX_SIZE
      || strip->hole_size > strip->size)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot lay out %u x %u patches with a %u hole: the patch must be 1 to %u "
                   "pixels and the hole no larger",
                   strip->size, strip->size, strip->hole_size, PICARD_STRIP_MAX_SIZE);
      return FALSE;
    }
  if (strip->n_completions > PICARD_STRIP_MAX_COMPLETIONS
      || (strip->n_completions > 0 && strip->completions == NULL))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot lay out %u completions: give 0 to %u images",
                   strip->n_completions, PICARD_STRIP_MAX_COMPLETIONS);
      return FALSE;
    }
  for (guint i = 0; i < strip->n_completions; i++)
    if (strip->completions[i] == NULL)
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                     "Completion %u has no image", i + 1);
        return FALSE;
      }
  if (strip->patch == NULL && strip->n_completions == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Nothing to lay out: no patch and no completions");
      return FALSE;
    }
  return TRUE;
}

/* The label under tile @tile (0 patch, 1 masked input, then completions by rank). */
static char *
tile_label (const PicardStrip *strip, const guint *order, guint tile)
{
  guint first = strip->patch != NULL ? 2 : 0;

  if (tile < first)
    return g_strdup (tile == 0 ? "patch" : "masked input");
  if (strip->distances == NULL)
    return NULL;
  return g_strdup_printf ("%s = %.4g", strip->distance_name != NULL ? strip->distance_name : "d",
                          strip->distances[order[tile - first]]);
}

typedef struct {
  PicardAnnotationStyle style;
  double tile, cell, gap, label_height, title_height;
  guint n_tiles, columns, rows;
  double width, height;
} Layout;

static void
layout_compute (const PicardStrip *strip, const guint *order, Layout *layout)
{
  memset (layout, 0, sizeof *layout);
  /* Text keeps its size relative to the tiles for large patches. */
  picard_annotation_style_init (&layout->style, MAX (1.0, strip->size / 256.0), FALSE);
  layout->tile = strip->size;
  layout->cell = layout->tile;
  layout->gap = 8.0 * layout->style.unit;
  layout->label_height = picard_label_height (&layout->style);
  layout->title_height = strip->title != NULL ? layout->label_height + layout->gap : 0.0;
  layout->n_tiles = (strip->patch != NULL ? 2 : 0) + strip->n_completions;
  layout->columns = strip->columns > 0 ? MIN (strip->columns, layout->n_tiles)
                                       : layout->n_tiles;
  layout->rows = (layout->n_tiles + layout->columns - 1) / layout->columns;
  /* Small tiles get wider cells so their labels still read. */
  for (guint i = 0; i < layout->n_tiles; i++)
    {
      g_autofree char *label = tile_label (strip, order, i);

      if (label != NULL)
        layout->cell = MAX (layout->cell, ceil (picard_label_width (&layout->style, label,
                                                                    TRUE)));
    }
  layout->width = layout->gap + layout->columns * (layout->cell + layout->gap);
  layout->height = layout->gap + layout->title_height
                   + layout->rows * (layout->tile + layout->label_height + layout->gap);
}

static void
tile_origin (const Layout *layout, guint index, double *x, double *y)
{
  *x = layout->gap + (index % layout->columns) * (layout->cell + layout->gap)
       + (layout->cell - layout->tile) / 2.0;
  *y = layout->gap + layout->title_height
       + (index / layout->columns) * (layout->tile + layout->label_height + layout->gap);
}

static guint *
sorted_order (const PicardStrip *strip)
{
  guint *order = g_new (guint, MAX (strip->n_completions, 1u));

  picard_strip_sort (strip, order);
  return order;
}

gboolean
picard_strip_get_size (const PicardStrip *strip, double scale, double *width, double *height,
                       GError **error)
{
  g_autofree guint *order = NULL;
  Layout layout;

  g_return_val_if_fail (strip != NULL, FALSE);

  if (!validate (strip, error))
    return FALSE;
  order = sorted_order (strip);
  layout_compute (strip, order, &layout);
  if (width != NULL)
    *width = layout.width * scale;
  if (height != NULL)
    *height = layout.height * scale;
  return TRUE;
}

gboolean
picard_strip_get_tile (const PicardStrip *strip, guint tile, double scale, double *x,
                       double *y, double *size)
{
  g_autofree guint *order = NULL;
  Layout layout;

  g_return_val_if_fail (strip != NULL, FALSE);

  if (!validate (strip, NULL))
    return FALSE;
  order = sorted_order (strip);
  layout_compute (strip, order, &layout);
  if (tile >= layout.n_tiles)
    return FALSE;
  tile_origin (&layout, tile, x, y);
  *x *= scale;
  *y *= scale;
  if (size != NULL)
    *size = layout.tile * scale;
  return TRUE;
}

static gboolean
draw_tile (cairo_t *cr, const PicardStrip *strip, const Layout *layout, guint index,
           const float *image, const char *label, gboolean closest, double scale,
           GError **error)
{
  double black = strip->unit_range ? 0.0 : -1.0;
  double x, y;
  cairo_surface_t *surface;

  tile_origin (layout, index, &x, &y);
  surface = picard_grey_surface_new_from_float (image, strip->size, strip->size, black, 1.0,
                                                error);
  if (surface == NULL)
    return FALSE;
  picard_draw_tile (cr, surface, strip->size, x, y, layout->tile, scale, FALSE);
  cairo_surface_destroy (surface);
  picard_draw_hole_outline (cr, &layout->style, x, y, layout->tile, strip->size,
                            strip->hole_size, FALSE);

  if (closest)
    {
      double w = 3.0 * layout->style.unit;

      cairo_save (cr);
      cairo_rectangle (cr, x - w / 2.0, y - w / 2.0, layout->tile + w, layout->tile + w);
      cairo_set_line_width (cr, w);
      cairo_set_source_rgb (cr, closest_rgb[0], closest_rgb[1], closest_rgb[2]);
      cairo_stroke (cr);
      cairo_restore (cr);
    }
  if (label != NULL)
    picard_draw_label (cr, &layout->style, label, x - (layout->cell - layout->tile) / 2.0,
                       y + layout->tile + 2.0 * layout->style.unit, layout->cell, closest);
  return TRUE;
}

gboolean
picard_strip_render (const PicardStrip *strip, cairo_t *cr, double scale, GError **error)
{
  g_autofree guint *order = NULL;
  Layout layout;
  guint tile = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (strip != NULL && cr != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!validate (strip, error))
    return FALSE;
  order = sorted_order (strip);
  layout_compute (strip, order, &layout);

  cairo_save (cr);
  cairo_scale (cr, scale, scale);
  cairo_rectangle (cr, 0, 0, layout.width, layout.height);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_fill (cr);
  if (strip->title != NULL)
    picard_draw_label (cr, &layout.style, strip->title, layout.gap, layout.gap,
                       layout.width - 2.0 * layout.gap, TRUE);

  if (strip->patch != NULL)
    {
      gsize n = (gsize) strip->size * strip->size;
      g_autofree float *masked = g_memdup2 (strip->patch, n * sizeof (float));
      guint first = (strip->size - strip->hole_size) / 2;
      /* What the network sees: the hole at 0 in [-1, 1], mid-grey. */
      float mid = strip->unit_range ? 0.5f : 0.0f;

      for (guint r = first; r < first + strip->hole_size; r++)
        for (guint c = first; c < first + strip->hole_size; c++)
          masked[(gsize) r * strip->size + c] = mid;
      ok = draw_tile (cr, strip, &layout, tile, strip->patch, "patch", FALSE, scale, error)
           && draw_tile (cr, strip, &layout, tile + 1, masked, "masked input", FALSE, scale,
                         error);
      tile += 2;
    }
  for (guint k = 0; ok && k < strip->n_completions; k++)
    {
      guint i = order[k];
      g_autofree char *label = tile_label (strip, order, tile);

      ok = draw_tile (cr, strip, &layout, tile++, strip->completions[i], label,
                      strip->distances != NULL && k == 0 && !isnan (strip->distances[i]),
                      scale, error);
    }
  cairo_restore (cr);
  return ok;
}

typedef struct {
  const PicardStrip *strip;
  double scale;
} ExportData;

static gboolean
export_draw (cairo_t *cr, gpointer user_data, GError **error)
{
  const ExportData *data = user_data;

  return picard_strip_render (data->strip, cr, data->scale, error);
}

gboolean
picard_strip_export (const PicardStrip *strip, const char *path, PicardExportFormat format,
                     double scale, GError **error)
{
  ExportData data = { strip, scale };
  double width, height;

  g_return_val_if_fail (strip != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!picard_export_check_scale (path, scale, error))
    return FALSE;
  if (!picard_strip_get_size (strip, scale, &width, &height, error))
    return FALSE;
  return picard_export_draw (path, format, width, height,
                             strip->title != NULL ? strip->title : "Patch completions", NULL,
                             export_draw, &data, error);
}
