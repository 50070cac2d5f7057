#include "picard-annotations.h"

#include <math.h>
#include <string.h>
#include <pango/pangocairo.h>

#define FONT_FAMILY "Sans"

static const double box_rgb[3] = { 0.15, 1.0, 0.35 };
static const double patch_rgb[3] = { 1.0, 0.85, 0.0 };

void
picard_lattice_init_for_slice (PicardLattice *lattice, guint rows, guint columns,
                               guint patch_size, guint stride)
{
  g_return_if_fail (lattice != NULL);

  lattice->stride = stride;
  /* Pixels c..c+P-1: the centre lies at c + P/2 in continuous coordinates. */
  lattice->x0 = lattice->y0 = patch_size / 2.0;
  lattice->n_x = lattice->n_y = 0;
  if (stride == 0 || patch_size == 0)
    return;
  if (columns >= patch_size)
    lattice->n_x = (columns - patch_size) / stride + 1;
  if (rows >= patch_size)
    lattice->n_y = (rows - patch_size) / stride + 1;
}

void
picard_annotation_style_init (PicardAnnotationStyle *style, double unit, gboolean dark)
{
  g_return_if_fail (style != NULL);

  style->unit = unit > 0.0 ? unit : 1.0;
  style->font_size = 12.0;
  style->dark = dark;
}

static void
set_text_colour (cairo_t *cr, const PicardAnnotationStyle *style)
{
  if (style->dark)
    cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  else
    cairo_set_source_rgb (cr, 0.0, 0.0, 0.0);
}

/* Unhinted metrics, so a layout measures the same on an image surface as on SVG/PDF. */
static PangoLayout *
layout_new (cairo_t *cr, const PicardAnnotationStyle *style, double size, const char *text)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  g_autofree char *valid = g_utf8_make_valid (text, -1); /* labels may come from headers */
  PangoFontDescription *font = pango_font_description_from_string (FONT_FAMILY);
  cairo_font_options_t *options = cairo_font_options_create ();

  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (pango_layout_get_context (layout), options);
  cairo_font_options_destroy (options);
  pango_font_description_set_absolute_size (font, size * style->unit * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_context_changed (layout);
  pango_layout_set_text (layout, valid, -1);
  return layout;
}

static void
layout_size (PangoLayout *layout, double *width, double *height)
{
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (width != NULL)
    *width = (double) logical.width / PANGO_SCALE;
  if (height != NULL)
    *height = (double) logical.height / PANGO_SCALE;
}

/* A context for measuring text when there is nothing to draw on yet. */
static cairo_t *
scratch_new (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_A8, 1, 1);
  cairo_t *cr = cairo_create (surface);

  cairo_surface_destroy (surface);
  return cr;
}

/* Strokes the current path twice: a dark halo, then the colour, so it shows on any ground. */
static void
stroke_with_halo (cairo_t *cr, const double rgb[3], double width, double halo)
{
  cairo_set_line_width (cr, width + 2.0 * halo);
  cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.6);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, width);
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
  cairo_stroke (cr);
}

static void
slice_rectangle (cairo_t *cr, const cairo_matrix_t *slice_to_user, double x, double y,
                 double width, double height)
{
  /* The path is kept in device space, so stroking after the restore uses user widths. */
  cairo_save (cr);
  cairo_transform (cr, slice_to_user);
  cairo_rectangle (cr, x, y, width, height);
  cairo_restore (cr);
}

void
picard_draw_boxes (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                   const PicardAnnotationStyle *style, const PicardAnnotationBox *boxes,
                   guint n_boxes)
{
  double u;

  g_return_if_fail (cr != NULL && slice_to_user != NULL && style != NULL);
  g_return_if_fail (n_boxes == 0 || boxes != NULL);

  u = style->unit;
  cairo_save (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  for (guint i = 0; i < n_boxes; i++)
    {
      const PicardAnnotationBox *box = &boxes[i];
      double dashes[2] = { 6.0 * u, 4.0 * u };

      cairo_new_path (cr);
      slice_rectangle (cr, slice_to_user, box->x, box->y, box->width + 1.0, box->height + 1.0);
      if (box->central)
        cairo_set_dash (cr, NULL, 0, 0.0);
      else
        cairo_set_dash (cr, dashes, 2, 0.0);
      stroke_with_halo (cr, box_rgb, (box->central ? 2.5 : 1.5) * u, 0.75 * u);

      if (box->label != NULL && box->label[0] != '\0')
        {
          PangoLayout *layout = layout_new (cr, style, style->font_size * 0.9, box->label);
          double bx = box->x, by = box->y, w, h;

          cairo_matrix_transform_point (slice_to_user, &bx, &by);
          layout_size (layout, &w, &h);
          by -= h + 3.0 * u;
          if (by < 0.0) /* no room above: inside the box */
            by += h + 6.0 * u;
          cairo_rectangle (cr, bx, by, w + 4.0 * u, h);
          cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.6);
          cairo_fill (cr);
          cairo_move_to (cr, bx + 2.0 * u, by);
          cairo_set_source_rgb (cr, box_rgb[0], box_rgb[1], box_rgb[2]);
          pango_cairo_show_layout (cr, layout);
          g_object_unref (layout);
        }
    }
  cairo_restore (cr);
}

void
picard_draw_patch_outline (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                           const PicardAnnotationStyle *style,
                           const PicardPatchOutline *patch)
{
  double u, offset, dashes[2];

  g_return_if_fail (cr != NULL && slice_to_user != NULL && style != NULL && patch != NULL);

  u = style->unit;
  dashes[0] = 4.0 * u;
  dashes[1] = 3.0 * u;
  offset = ((double) patch->patch_size - patch->hole_size) / 2.0;
  cairo_save (cr);
  cairo_new_path (cr);
  slice_rectangle (cr, slice_to_user, patch->left, patch->top, patch->patch_size,
                   patch->patch_size);
  stroke_with_halo (cr, patch_rgb, 2.0 * u, 0.75 * u);
  if (patch->hole_size > 0 && patch->hole_size <= patch->patch_size)
    {
      slice_rectangle (cr, slice_to_user, patch->left + offset, patch->top + offset,
                       patch->hole_size, patch->hole_size);
      cairo_set_dash (cr, dashes, 2, 0.0);
      stroke_with_halo (cr, patch_rgb, 1.5 * u, 0.75 * u);
    }
  cairo_restore (cr);
}

void
picard_draw_lattice (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                     const PicardAnnotationStyle *style, const PicardLattice *lattice,
                     double clip_width, double clip_height)
{
  double radius;

  g_return_if_fail (cr != NULL && slice_to_user != NULL && style != NULL && lattice != NULL);

  radius = 1.3 * style->unit;
  cairo_save (cr);
  cairo_new_path (cr);
  for (guint j = 0; j < lattice->n_y; j++)
    for (guint i = 0; i < lattice->n_x; i++)
      {
        double x = lattice->x0 + i * lattice->stride, y = lattice->y0 + j * lattice->stride;

        cairo_matrix_transform_point (slice_to_user, &x, &y);
        /* Thousands of points: only those that can be seen. */
        if (clip_width > 0.0 && (x < -radius || x > clip_width + radius))
          continue;
        if (clip_height > 0.0 && (y < -radius || y > clip_height + radius))
          continue;
        cairo_new_sub_path (cr);
        cairo_arc (cr, x, y, radius, 0.0, 2.0 * G_PI);
      }
  cairo_set_source_rgba (cr, 1.0, 1.0, 1.0, 0.8);
  cairo_fill_preserve (cr);
  cairo_set_line_width (cr, 0.5 * style->unit);
  cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.6);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* The largest 1, 2 or 5 times a power of ten not above @x (x > 0). */
static double
nice_floor (double x)
{
  double magnitude = pow (10.0, floor (log10 (x)));

  if (x >= 5.0 * magnitude)
    return 5.0 * magnitude;
  if (x >= 2.0 * magnitude)
    return 2.0 * magnitude;
  return magnitude;
}

void
picard_draw_scale_bar (cairo_t *cr, const cairo_matrix_t *slice_to_user,
                       const PicardAnnotationStyle *style, double mm_per_pixel, double x,
                       double y)
{
  double user_per_pixel, mm_per_user, mm, length, u, w, h;
  static const double white[3] = { 1.0, 1.0, 1.0 };
  g_autofree char *text = NULL;
  PangoLayout *layout;

  g_return_if_fail (cr != NULL && slice_to_user != NULL && style != NULL);

  user_per_pixel = hypot (slice_to_user->xx, slice_to_user->yx);
  if (!(mm_per_pixel > 0.0) || !(user_per_pixel > 0.0) || !isfinite (mm_per_pixel))
    return;
  u = style->unit;
  mm_per_user = mm_per_pixel / user_per_pixel;
  mm = nice_floor (100.0 * u * mm_per_user);
  length = mm / mm_per_user;
  text = mm >= 1.0 ? g_strdup_printf ("%g mm", mm) : g_strdup_printf ("%g µm", mm * 1000.0);

  cairo_save (cr);
  cairo_new_path (cr);
  cairo_move_to (cr, x, y);
  cairo_line_to (cr, x + length, y);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  stroke_with_halo (cr, white, 3.0 * u, 1.0 * u);
  layout = layout_new (cr, style, style->font_size * 0.9, text);
  layout_size (layout, &w, &h);
  cairo_move_to (cr, x + (length - w) / 2.0, y - 3.0 * u - h);
  pango_cairo_layout_path (cr, layout);
  cairo_set_line_width (cr, 2.0 * u);
  cairo_set_source_rgba (cr, 0.0, 0.0, 0.0, 0.6);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_fill (cr);
  g_object_unref (layout);
  cairo_restore (cr);
}

guint
picard_nice_ticks (double lo, double hi, guint max_ticks, double *ticks)
{
  double raw, step, first;
  guint n = 0;

  g_return_val_if_fail (max_ticks == 0 || ticks != NULL, 0);

  if (max_ticks == 0 || !isfinite (lo) || !isfinite (hi))
    return 0;
  if (!(hi > lo))
    {
      ticks[0] = lo;
      return 1;
    }
  raw = (hi - lo) / MAX (max_ticks - 1, 1u);
  step = nice_floor (raw);
  /* The smallest round step that keeps the count within max_ticks. */
  while (floor (hi / step + 1e-9) - ceil (lo / step - 1e-9) + 1.0 > max_ticks)
    step = nice_floor (step * 2.6); /* the next of 1, 2, 5 (x 2.01 stays on a 2) */
  first = ceil (lo / step - 1e-9);
  for (double k = first; k * step <= hi + step * 1e-9 && n < max_ticks; k++)
    {
      double v = k * step;

      ticks[n++] = fabs (v) < step * 1e-9 ? 0.0 : v;
    }
  return n;
}

typedef struct {
  double ticks[16];
  char labels[16][32];
  guint n;
} Ticks;

static void
ticks_compute (double lo, double hi, Ticks *ticks)
{
  double step;
  int decimals;

  ticks->n = picard_nice_ticks (lo, hi, 6, ticks->ticks);
  step = ticks->n > 1 ? ticks->ticks[1] - ticks->ticks[0] : fabs (lo);
  decimals = step > 0.0 ? (int) MAX (0.0, -floor (log10 (step) + 1e-9)) : 2;
  for (guint i = 0; i < ticks->n; i++)
    {
      double v = ticks->ticks[i];

      if (v != 0.0 && (fabs (v) >= 1e6 || decimals > 6))
        g_snprintf (ticks->labels[i], sizeof ticks->labels[i], "%.3g", v);
      else
        g_snprintf (ticks->labels[i], sizeof ticks->labels[i], "%.*f", MIN (decimals, 6), v);
    }
}

typedef struct {
  double bar_width, tick_length, gap, labels_width, title_height;
} ColorbarLayout;

static void
colorbar_layout (cairo_t *cr, const PicardAnnotationStyle *style, const Ticks *ticks,
                 const char *label, ColorbarLayout *layout)
{
  double fs = style->font_size * style->unit;

  layout->bar_width = 1.4 * fs;
  layout->tick_length = 0.4 * fs;
  layout->gap = 0.3 * fs;
  layout->labels_width = 0.0;
  layout->title_height = 0.0;
  for (guint i = 0; i < ticks->n; i++)
    {
      PangoLayout *text = layout_new (cr, style, style->font_size, ticks->labels[i]);
      double w;

      layout_size (text, &w, NULL);
      layout->labels_width = MAX (layout->labels_width, w);
      g_object_unref (text);
    }
  if (label != NULL && label[0] != '\0')
    {
      PangoLayout *text = layout_new (cr, style, style->font_size, label);

      layout_size (text, NULL, &layout->title_height);
      g_object_unref (text);
    }
}

void
picard_colorbar_measure (const PicardAnnotationStyle *style, double range_min,
                         double range_max, const char *label, double bar_height,
                         double *width)
{
  cairo_t *cr;
  Ticks ticks;
  ColorbarLayout layout;

  g_return_if_fail (style != NULL && width != NULL);

  cr = scratch_new ();
  ticks_compute (range_min, range_max, &ticks);
  colorbar_layout (cr, style, &ticks, label, &layout);
  cairo_destroy (cr);
  *width = layout.bar_width + layout.tick_length + 2.0 * layout.gap + layout.labels_width
           + (layout.title_height > 0.0 ? layout.gap + layout.title_height : 0.0);
}

void
picard_draw_colorbar (cairo_t *cr, const PicardAnnotationStyle *style,
                      PicardColormap colormap, double range_min, double range_max,
                      const char *label, double x, double y, double bar_height)
{
  const guint8 *table;
  cairo_surface_t *strip;
  cairo_pattern_t *pattern;
  cairo_matrix_t matrix;
  guint8 *pixels;
  int stride;
  Ticks ticks;
  ColorbarLayout layout;
  double u, text_x, span;

  g_return_if_fail (cr != NULL && style != NULL && colormap < PICARD_COLORMAP_N);
  if (!(bar_height > 0.0))
    return;

  u = style->unit;
  ticks_compute (range_min, range_max, &ticks);
  colorbar_layout (cr, style, &ticks, label, &layout);

  /* The 256 entries as a 1 x 256 image, last entry on top, drawn without smoothing. */
  strip = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, PICARD_COLORMAP_SIZE);
  table = picard_colormap_get_table_u8 (colormap);
  cairo_surface_flush (strip);
  pixels = cairo_image_surface_get_data (strip);
  stride = cairo_image_surface_get_stride (strip);
  if (pixels != NULL)
    {
      for (guint i = 0; i < PICARD_COLORMAP_SIZE; i++)
        {
          const guint8 *c = table + 3 * (PICARD_COLORMAP_SIZE - 1 - i);

          *(guint32 *) (pixels + (gsize) i * stride) =
            0xff000000u | ((guint32) c[0] << 16) | ((guint32) c[1] << 8) | c[2];
        }
      cairo_surface_mark_dirty (strip);
    }
  cairo_save (cr);
  pattern = cairo_pattern_create_for_surface (strip);
  cairo_pattern_set_filter (pattern, CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend (pattern, CAIRO_EXTEND_PAD);
  cairo_matrix_init_scale (&matrix, 1.0 / layout.bar_width,
                           PICARD_COLORMAP_SIZE / bar_height);
  cairo_matrix_translate (&matrix, -x, -y);
  cairo_pattern_set_matrix (pattern, &matrix);
  cairo_rectangle (cr, x, y, layout.bar_width, bar_height);
  cairo_set_source (cr, pattern);
  cairo_fill_preserve (cr);
  cairo_pattern_destroy (pattern);
  cairo_surface_destroy (strip);
  set_text_colour (cr, style);
  cairo_set_line_width (cr, 1.0 * u);
  cairo_stroke (cr);

  /* Ticks and their values. */
  span = range_max - range_min;
  text_x = x + layout.bar_width + layout.tick_length + layout.gap;
  for (guint i = 0; i < ticks.n; i++)
    {
      double ty = span > 0.0 ? y + bar_height * (1.0 - (ticks.ticks[i] - range_min) / span)
                             : y + bar_height;
      PangoLayout *text = layout_new (cr, style, style->font_size, ticks.labels[i]);
      double h;

      cairo_move_to (cr, x + layout.bar_width, ty);
      cairo_line_to (cr, x + layout.bar_width + layout.tick_length, ty);
      cairo_stroke (cr);
      layout_size (text, NULL, &h);
      cairo_move_to (cr, text_x, ty - h / 2.0);
      pango_cairo_show_layout (cr, text);
      g_object_unref (text);
    }

  /* The metric's name and units, reading upwards along the bar. */
  if (layout.title_height > 0.0)
    {
      PangoLayout *text = layout_new (cr, style, style->font_size, label);
      double w;

      layout_size (text, &w, NULL);
      cairo_translate (cr, text_x + layout.labels_width + layout.gap, y + bar_height / 2.0);
      cairo_rotate (cr, -G_PI / 2.0);
      cairo_move_to (cr, -w / 2.0, 0.0);
      pango_cairo_show_layout (cr, text);
      g_object_unref (text);
    }
  cairo_restore (cr);
}

static PangoLayout *
caption_layout_new (cairo_t *cr, const PicardAnnotationStyle *style, const char *const *lines,
                    double width)
{
  g_autofree char *text = g_strjoinv ("\n", (char **) lines);
  PangoLayout *layout = layout_new (cr, style, style->font_size, text);
  PangoAttrList *attributes = pango_attr_list_new ();
  PangoAttribute *bold = pango_attr_weight_new (PANGO_WEIGHT_BOLD);
  g_autofree char *first = g_utf8_make_valid (lines[0], -1);

  /* The first line (patient, view, slice) stands out. */
  bold->start_index = 0;
  bold->end_index = (guint) strlen (first);
  pango_attr_list_insert (attributes, bold);
  pango_layout_set_attributes (layout, attributes);
  pango_attr_list_unref (attributes);
  if (width > 0.0)
    {
      pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  return layout;
}

double
picard_caption_measure (const PicardAnnotationStyle *style, const char *const *lines,
                        double width)
{
  cairo_t *cr;
  PangoLayout *layout;
  double height;

  g_return_val_if_fail (style != NULL, 0.0);
  if (lines == NULL || lines[0] == NULL)
    return 0.0;

  cr = scratch_new ();
  layout = caption_layout_new (cr, style, lines, width);
  layout_size (layout, NULL, &height);
  g_object_unref (layout);
  cairo_destroy (cr);
  return height;
}

void
picard_draw_caption (cairo_t *cr, const PicardAnnotationStyle *style,
                     const char *const *lines, double x, double y, double width)
{
  PangoLayout *layout;

  g_return_if_fail (cr != NULL && style != NULL);
  if (lines == NULL || lines[0] == NULL)
    return;

  layout = caption_layout_new (cr, style, lines, width);
  cairo_save (cr);
  set_text_colour (cr, style);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
  g_object_unref (layout);
}

static PangoLayout *
label_layout_new (cairo_t *cr, const PicardAnnotationStyle *style, const char *text,
                  double width, gboolean bold)
{
  PangoLayout *layout = layout_new (cr, style, style->font_size, text);

  if (bold)
    {
      PangoFontDescription *font =
        pango_font_description_copy (pango_layout_get_font_description (layout));

      pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
      pango_layout_set_font_description (layout, font);
      pango_font_description_free (font);
    }
  if (width > 0.0)
    {
      pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
    }
  return layout;
}

void
picard_draw_label (cairo_t *cr, const PicardAnnotationStyle *style, const char *text,
                   double x, double y, double width, gboolean bold)
{
  PangoLayout *layout;

  g_return_if_fail (cr != NULL && style != NULL && text != NULL);

  layout = label_layout_new (cr, style, text, width, bold);
  cairo_save (cr);
  set_text_colour (cr, style);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
  g_object_unref (layout);
}

double
picard_label_height (const PicardAnnotationStyle *style)
{
  cairo_t *cr;
  PangoLayout *layout;
  double height;

  g_return_val_if_fail (style != NULL, 0.0);

  cr = scratch_new ();
  layout = label_layout_new (cr, style, "Ag", 0.0, TRUE);
  layout_size (layout, NULL, &height);
  g_object_unref (layout);
  cairo_destroy (cr);
  return height;
}

double
picard_label_width (const PicardAnnotationStyle *style, const char *text, gboolean bold)
{
  cairo_t *cr;
  PangoLayout *layout;
  double width;

  g_return_val_if_fail (style != NULL && text != NULL, 0.0);

  cr = scratch_new ();
  layout = label_layout_new (cr, style, text, 0.0, bold);
  layout_size (layout, &width, NULL);
  g_object_unref (layout);
  cairo_destroy (cr);
  return width;
}

void
picard_draw_tile (cairo_t *cr, cairo_surface_t *surface, guint pixels, double x, double y,
                  double tile, double scale, gboolean smooth)
{
  cairo_pattern_t *pattern = cairo_pattern_create_for_surface (surface);
  cairo_matrix_t matrix;
  double factor = pixels / tile;

  cairo_pattern_set_filter (pattern, smooth || tile * scale < pixels ? CAIRO_FILTER_GOOD
                                                                     : CAIRO_FILTER_NEAREST);
  cairo_matrix_init_scale (&matrix, factor, factor);
  cairo_matrix_translate (&matrix, -x, -y);
  cairo_pattern_set_matrix (pattern, &matrix);
  cairo_save (cr);
  cairo_rectangle (cr, x, y, tile, tile);
  cairo_set_source (cr, pattern);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_pattern_destroy (pattern);
}

void
picard_draw_hole_outline (cairo_t *cr, const PicardAnnotationStyle *style, double x,
                          double y, double tile, guint size, guint hole, gboolean dark)
{
  double zoom = tile / size;
  double offset = (size - hole) / 2.0 * zoom;
  double dashes[2] = { 3.0 * style->unit, 3.0 * style->unit };

  if (hole == 0)
    return;
  cairo_save (cr);
  cairo_rectangle (cr, x + offset, y + offset, hole * zoom, hole * zoom);
  cairo_set_dash (cr, dashes, 2, 0.0);
  cairo_set_line_width (cr, style->unit);
  if (dark)
    cairo_set_source_rgba (cr, 0.2, 0.2, 0.2, 0.9);
  else
    cairo_set_source_rgba (cr, 1.0, 0.85, 0.0, 0.9);
  cairo_stroke (cr);
  cairo_restore (cr);
}
