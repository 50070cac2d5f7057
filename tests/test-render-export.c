/* Figures and completion strips written to PNG, SVG and PDF, read back and checked; the
 * atomic write keeps old files when an export fails. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "picard-error.h"
#include "picard-figure.h"
#include "picard-strip.h"
#include "picard-test-cli.h"

enum { ROWS = 160, COLUMNS = 200 };

/* The hot region of the test heatmap and a lesion box around it. */
#define HOT_X0 100
#define HOT_X1 140
#define HOT_Y0 40
#define HOT_Y1 70

typedef struct {
  char *dir;
  guint16 *values;
  float *heatmap;
  PicardAnnotationBox boxes[2];
  PicardPatchOutline patch;
  PicardLattice lattice;
  const char *caption[5];
  PicardFigure figure;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("picard-render-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->values = g_new (guint16, ROWS * COLUMNS);
  f->heatmap = g_new (float, ROWS * COLUMNS);
  for (guint y = 0; y < ROWS; y++)
    for (guint x = 0; x < COLUMNS; x++)
      {
        gsize i = (gsize) y * COLUMNS + x;

        f->values[i] = (guint16) (1000 + 10 * x + 5 * y);
        if (x < 20) /* not scanned */
          f->heatmap[i] = NAN;
        else if (x >= HOT_X0 && x < HOT_X1 && y >= HOT_Y0 && y < HOT_Y1)
          f->heatmap[i] = 10.0f;
        else
          f->heatmap[i] = 1.0f; /* below the threshold */
      }
  f->boxes[0] = (PicardAnnotationBox) { HOT_X0 - 5, HOT_Y0 - 5, HOT_X1 - HOT_X0 + 10,
                              HOT_Y1 - HOT_Y0 + 10, TRUE, "mass" };
  f->boxes[1] = (PicardAnnotationBox) { 30, 100, 40, 30, FALSE, NULL };
  f->patch = (PicardPatchOutline) { 130, 86, 64, 32 };
  picard_lattice_init_for_slice (&f->lattice, ROWS, COLUMNS, 64, 32);
  f->caption[0] = "Patient DBT-P00013 · RCC · slice 31 of 70";
  f->caption[1] = "MCD image (L2), M = 10, seed 1337";
  f->caption[2] = "Model: demo & <tiny> generator";
  f->caption[3] = "Patch 64, hole 32, stride 32";
  f->caption[4] = NULL;

  picard_figure_init (&f->figure);
  f->figure.rows = ROWS;
  f->figure.columns = COLUMNS;
  f->figure.slice_values = f->values;
  f->figure.window_level = (PicardWindowLevel) { 2000.0, 2400.0, FALSE };
  f->figure.heatmap = f->heatmap;
  f->figure.overlay.colormap = PICARD_COLORMAP_JET;
  f->figure.overlay.opacity = 0.6;
  f->figure.overlay.lower_threshold = 2.0;
  f->figure.overlay.auto_range = FALSE;
  f->figure.overlay.range_min = 0.0;
  f->figure.overlay.range_max = 8.0;
  f->figure.boxes = f->boxes;
  f->figure.n_boxes = G_N_ELEMENTS (f->boxes);
  f->figure.patch = &f->patch;
  f->figure.lattice = &f->lattice;
  f->figure.caption = f->caption;
  f->figure.colorbar_label = "MCD image (L2 distance)";
  f->figure.mm_per_pixel = 0.1;
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  picard_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->values);
  g_free (f->heatmap);
}

/* Keeps a copy of exported files when PICARD_TEST_ARTEFACTS names a folder. */
static void
keep_artefact (const char *path)
{
  const char *folder = g_getenv ("PICARD_TEST_ARTEFACTS");
  g_autofree char *contents = NULL;
  g_autofree char *base = NULL;
  g_autofree char *target = NULL;
  gsize length;

  if (folder == NULL || !g_file_get_contents (path, &contents, &length, NULL))
    return;
  base = g_path_get_basename (path);
  target = g_build_filename (folder, base, NULL);
  g_mkdir_with_parents (folder, 0755);
  g_file_set_contents (target, contents, (gssize) length, NULL);
}

static guint32
pixel_at (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data = cairo_image_surface_get_data (surface);

  return *(const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface)
                             + 4 * (gsize) x);
}

static guint
channel (guint32 pixel, guint c)
{
  return (pixel >> (16 - 8 * c)) & 0xff;
}

static guint8
grey_of (const Fixture *f, int x, int y)
{
  guint8 g;

  picard_window_level_apply_u8 (&f->figure.window_level, &f->values[y * COLUMNS + x], &g, 1);
  return g;
}

static guint
count_files (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

static void
test_png (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.png", NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *png;
  double width, height;
  guint8 top[3];
  guint32 p;

  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  keep_artefact (path);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  picard_figure_get_size (&f->figure, 1.0, &width, &height);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, (int) ceil (width));
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, (int) ceil (height));
  /* Room for the colour bar to the right and the caption below. */
  g_assert_cmpfloat (width, >, COLUMNS + 40);
  g_assert_cmpfloat (height, >, ROWS + 40);

  /* Native resolution: slice pixel (x, y) is image pixel (x, y). Not scanned and below the
   * threshold: the grey slice alone. */
  for (int x = 0; x < 20; x += 3)
    {
      p = pixel_at (png, x, 10);
      for (guint c = 0; c < 3; c++)
        g_assert_cmpuint (channel (p, c), ==, grey_of (f, x, 10));
    }
  p = pixel_at (png, 85, 90);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (channel (p, c), ==, grey_of (f, 85, 90));

  /* Hot: jet's top colour (dark red) at 60 % over the grey. */
  picard_colormap_lookup_u8 (PICARD_COLORMAP_JET, 1.0, top);
  for (int y = HOT_Y0 + 3; y < HOT_Y1 - 3; y += 5)
    for (int x = HOT_X0 + 3; x < HOT_X1 - 3; x += 5)
      {
        if (ABS (x - 32 * ((x + 16) / 32)) <= 3 && ABS (y - 32 * ((y + 16) / 32)) <= 3)
          continue; /* a lattice point */
        p = pixel_at (png, x, y);
        for (guint c = 0; c < 3; c++)
          g_assert_cmpfloat (fabs (channel (p, c) - (0.6 * top[c] + 0.4 * grey_of (f, x, y))),
                             <=, 2.0);
        g_assert_cmpuint (channel (p, 0), >, channel (p, 1) + 40);
      }

  /* The central box's solid green edge runs along x = HOT_X0 - 5. */
  p = pixel_at (png, HOT_X0 - 5, (HOT_Y0 + HOT_Y1) / 2);
  g_assert_cmpuint (channel (p, 1), >, 200);
  g_assert_cmpuint (channel (p, 0), <, 100);
  /* A lattice point (hole centre of the patch at 0, 0) is light, its surroundings not. */
  p = pixel_at (png, 32, 32);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (channel (p, c), >, 170);
  g_assert_cmpuint (grey_of (f, 32, 32), <, 100);
  g_assert_cmpuint (channel (pixel_at (png, 37, 32), 0), ==, grey_of (f, 37, 32));
  /* The selected patch's yellow outline along y = 86, inside the patch's columns. */
  p = pixel_at (png, 140, 86);
  g_assert_cmpuint (channel (p, 0), >, 200);
  g_assert_cmpuint (channel (p, 1), >, 170);
  g_assert_cmpuint (channel (p, 2), <, 80);

  /* The colour bar: jet's colours somewhere right of the slice. */
  {
    gboolean red = FALSE, blue = FALSE;

    for (int y = 0; y < ROWS; y++)
      for (int x = COLUMNS + 1; x < cairo_image_surface_get_width (png); x++)
        {
          p = pixel_at (png, x, y);
          red |= channel (p, 0) > 120 && channel (p, 1) < 30 && channel (p, 2) < 30;
          blue |= channel (p, 2) > 120 && channel (p, 0) < 30 && channel (p, 1) < 30;
        }
    g_assert_true (red && blue);
  }
  /* The caption: dark text on white below the slice. */
  {
    guint dark = 0;

    for (int y = ROWS; y < cairo_image_surface_get_height (png); y++)
      for (int x = 0; x < cairo_image_surface_get_width (png); x++)
        dark += channel (pixel_at (png, x, y), 0) < 100;
    g_assert_cmpuint (dark, >, 200);
  }
  cairo_surface_destroy (png);

  /* At half scale the image halves. */
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_PNG, 0.5,
                                       &error));
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, (int) ceil (width * 0.5));
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, (int) ceil (height * 0.5));
  cairo_surface_destroy (png);
  /* Only the file itself is left: no temporary files. */
  g_assert_cmpuint (count_files (f->dir), ==, 1);
}

/* Just the slice: the figure is the slice, pixel for pixel. */
static void
test_plain (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "plain.png", NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *png;
  double width, height;

  f->figure.heatmap = NULL;
  f->figure.caption = NULL;
  f->figure.boxes = NULL;
  f->figure.n_boxes = 0;
  f->figure.patch = NULL;
  f->figure.lattice = NULL;
  f->figure.mm_per_pixel = 0.0;
  picard_figure_get_size (&f->figure, 1.0, &width, &height);
  g_assert_cmpfloat (width, ==, COLUMNS);
  g_assert_cmpfloat (height, ==, ROWS);
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, COLUMNS);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, ROWS);
  for (int y = 0; y < ROWS; y += 7)
    for (int x = 0; x < COLUMNS; x += 3)
      g_assert_cmpuint (channel (pixel_at (png, x, y), 2), ==, grey_of (f, x, y));
  cairo_surface_destroy (png);
}

typedef struct {
  gboolean root_is_svg;
  int depth;
  GString *title;
  GString *desc;
  char *element;
  char *width;
} SvgParse;

static void
svg_start (GMarkupParseContext *context, const char *name, const char **names,
           const char **values, gpointer user_data, GError **error)
{
  SvgParse *parse = user_data;

  if (parse->depth++ == 0)
    {
      parse->root_is_svg = g_strcmp0 (name, "svg") == 0;
      for (guint i = 0; names[i] != NULL; i++)
        if (g_strcmp0 (names[i], "width") == 0)
          parse->width = g_strdup (values[i]);
    }
  g_free (parse->element);
  parse->element = g_strdup (name);
}

static void
svg_end (GMarkupParseContext *context, const char *name, gpointer user_data, GError **error)
{
  SvgParse *parse = user_data;

  parse->depth--;
  g_clear_pointer (&parse->element, g_free);
}

static void
svg_text (GMarkupParseContext *context, const char *text, gsize length, gpointer user_data,
          GError **error)
{
  SvgParse *parse = user_data;

  if (g_strcmp0 (parse->element, "title") == 0)
    g_string_append_len (parse->title, text, (gssize) length);
  else if (g_strcmp0 (parse->element, "desc") == 0)
    g_string_append_len (parse->desc, text, (gssize) length);
}

static void
test_svg (Fixture *f, gconstpointer data)
{
  static const GMarkupParser parser = { svg_start, svg_end, svg_text, NULL, NULL };
  g_autofree char *path = g_build_filename (f->dir, "figure.SVG", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  SvgParse parse = { FALSE, 0, g_string_new (NULL), g_string_new (NULL), NULL, NULL };
  GMarkupParseContext *context;
  double width;
  gsize length;

  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  keep_artefact (path);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  context = g_markup_parse_context_new (&parser, G_MARKUP_DEFAULT_FLAGS, &parse, NULL);
  g_assert_true (g_markup_parse_context_parse (context, contents, (gssize) length, &error));
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (context);

  g_assert_true (parse.root_is_svg);
  g_assert_cmpstr (parse.title->str, ==, f->caption[0]);
  for (guint i = 0; f->caption[i] != NULL; i++)
    g_assert_nonnull (strstr (parse.desc->str, f->caption[i]));
  /* The slice is embedded as an image; its size is the figure's. */
  g_assert_nonnull (strstr (contents, "<image"));
  picard_figure_get_size (&f->figure, 1.0, &width, NULL);
  g_assert_true (g_str_has_suffix (parse.width, "px"));
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (parse.width, NULL), width, 0.01);
  g_string_free (parse.title, TRUE);
  g_string_free (parse.desc, TRUE);
  g_free (parse.width);
}

static void
test_pdf (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.pdf", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  double width, height, box[4];
  const char *media;
  gsize length;

  /* The format named explicitly wins over the extension-less name. */
  g_free (path);
  path = g_build_filename (f->dir, "figure", NULL);
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_PDF, 2.0,
                                       &error));
  g_assert_no_error (error);
  keep_artefact (path);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 1000);
  g_assert_true (g_str_has_prefix (contents, "%PDF-"));
  /* Binary streams hold NUL bytes: search with memmem. */
  g_assert_nonnull (memmem (contents, length, "%%EOF", 5));
  /* One page ("/Type /Pages" is the page tree), of the figure's size at scale 2 in points. */
  media = memmem (contents, length, "/Type /Page ", 12);
  g_assert_nonnull (media);
  g_assert_null (memmem (media + 1, length - (gsize) (media + 1 - contents), "/Type /Page ",
                         12));
  media = memmem (contents, length, "/MediaBox", 9);
  g_assert_nonnull (media);
  g_assert_cmpint (sscanf (media, "/MediaBox [ %lf %lf %lf %lf ]", &box[0], &box[1], &box[2],
                           &box[3]), ==, 4);
  picard_figure_get_size (&f->figure, 2.0, &width, &height);
  g_assert_cmpfloat_with_epsilon (box[2] - box[0], width, 0.01);
  g_assert_cmpfloat_with_epsilon (box[3] - box[1], height, 0.01);
}

static void
test_unknown_format (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.bmp", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_PNG, 0.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* A slice surface of the wrong size. */
  f->figure.slice_surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 10, 10);
  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_PNG, 1.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  cairo_surface_destroy (f->figure.slice_surface);
  f->figure.slice_surface = NULL;
}

static void
assert_unchanged (const char *path, const char *expected)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, expected);
}

static void
test_missing_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "no", "such", "figure.png", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "folder does not exist"));
}

static void
test_readonly_folder (Fixture *f, gconstpointer data)
{
  g_autofree char *folder = g_build_filename (f->dir, "readonly", NULL);
  g_autofree char *path = g_build_filename (folder, "figure.png", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "old figure", -1, NULL));
  g_assert_cmpint (g_chmod (folder, 0555), ==, 0);
  if (access (folder, W_OK) == 0)
    {
      g_test_skip ("permissions are not enforced for this user (root)");
      return;
    }
  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "permission"));
  assert_unchanged (path, "old figure");
}

/* A write that fails midway (the file size limit stands in for a full disk): an error that
 * says so, the old file intact, no temporary file left. Runs in a subprocess so the limit
 * stays there. */
static void
test_write_failure (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      struct rlimit limit = { 4096, 4096 };
      const char *formats[] = { "figure.png", "figure.svg", "figure.pdf" };

      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
        {
          g_autofree char *target = g_build_filename (f->dir, formats[i], NULL);

          g_assert_true (g_file_set_contents (target, "old figure", -1, NULL));
          g_assert_false (picard_figure_export (&f->figure, target,
                                                PICARD_EXPORT_FORMAT_AUTO, 1.0, &error));
          g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
          g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
          g_assert_nonnull (strstr (error->message, "existing file is unchanged"));
          g_clear_error (&error);
          assert_unchanged (target, "old figure");
        }
      g_assert_cmpuint (count_files (f->dir), ==, G_N_ELEMENTS (formats));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_replace (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.png", NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *png;

  g_assert_true (g_file_set_contents (path, "old figure", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (png);
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  }
  g_assert_cmpuint (count_files (f->dir), ==, 1);
}

/* The viewer's path: the same figure under zoom and pan on an image surface. */
static void
test_draw_view (Fixture *f, gconstpointer data)
{
  cairo_surface_t *target = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 600, 500);
  cairo_t *cr = cairo_create (target);
  g_autoptr(GError) error = NULL;
  cairo_matrix_t view;
  guint32 p;
  double x, y;

  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  cairo_paint (cr);
  cairo_matrix_init_translate (&view, 30.0, 12.0);
  cairo_matrix_scale (&view, 2.0, 2.0);
  g_assert_true (picard_figure_draw (&f->figure, cr, &view, 600, 500, &error));
  g_assert_no_error (error);
  cairo_destroy (cr);
  cairo_surface_flush (target);
  if (g_getenv ("PICARD_TEST_ARTEFACTS") != NULL)
    {
      g_autofree char *path = g_build_filename (g_getenv ("PICARD_TEST_ARTEFACTS"),
                                                "view.png", NULL);

      g_mkdir_with_parents (g_getenv ("PICARD_TEST_ARTEFACTS"), 0755);
      cairo_surface_write_to_png (target, path);
    }

  /* Slice pixel (5, 10) covers view pixels (40..41, 32..33), no overlay there. */
  p = pixel_at (target, 41, 33);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpuint (channel (p, c), ==, grey_of (f, 5, 10));
  /* A hot pixel is reddish under the zoom. */
  x = HOT_X0 + 10.5;
  y = HOT_Y0 + 10.5;
  cairo_matrix_transform_point (&view, &x, &y);
  p = pixel_at (target, (int) x, (int) y);
  g_assert_cmpuint (channel (p, 0), >, channel (p, 1) + 40);
  /* The box edge moves with the view. */
  x = HOT_X0 - 5;
  y = (HOT_Y0 + HOT_Y1) / 2.0;
  cairo_matrix_transform_point (&view, &x, &y);
  p = pixel_at (target, (int) x, (int) y);
  g_assert_cmpuint (channel (p, 1), >, 200);
  /* Outside the slice the background is left alone. */
  p = pixel_at (target, 5, 5);
  g_assert_cmpuint (channel (p, 0), ==, 51);

  /* Far out (1:5), each view pixel is the mean of a 5 x 5 block of the slice. */
  cr = cairo_create (target);
  cairo_matrix_init_translate (&view, 10.0, 10.0);
  cairo_matrix_scale (&view, 0.2, 0.2);
  g_assert_true (picard_figure_draw (&f->figure, cr, &view, 600, 500, &error));
  cairo_destroy (cr);
  cairo_surface_flush (target);
  for (int bx = 0; bx < 4; bx++)
    {
      double mean = 0.0;

      for (int sy = 25; sy < 30; sy++)
        for (int sx = 5 * bx; sx < 5 * bx + 5; sx++)
          mean += grey_of (f, sx, sy) / 25.0;
      p = pixel_at (target, 10 + bx, 10 + 5);
      g_assert_cmpfloat (fabs (channel (p, 0) - mean), <=, 1.5);
    }
  cairo_surface_destroy (target);
}

/* A viewer figure holds reduced surfaces for zoomed-out views; exporting it still gives
 * the full-resolution slice, drawn again from the values. */
static void
test_reduced_surfaces (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "reduced.png", NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *slice, *overlay, *png;

  slice = picard_slice_surface_new (f->values, ROWS, COLUMNS, &f->figure.window_level, NULL);
  overlay = picard_overlay_surface_new (&f->figure.overlay, f->heatmap, ROWS, COLUMNS, NULL,
                                        NULL, NULL);
  f->figure.slice_surface = picard_surface_reduce (slice, 3, NULL);
  f->figure.overlay_surface = picard_surface_reduce (overlay, 3, NULL);
  f->figure.surface_reduction = 3;
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  for (int x = 0; x < 20; x++)
    g_assert_cmpuint (channel (pixel_at (png, x, 7), 1), ==, grey_of (f, x, 7));
  cairo_surface_destroy (png);

  /* Without the values the reduced images are all there is: still a figure. */
  f->figure.slice_values = NULL;
  f->figure.heatmap = NULL;
  f->figure.overlay.auto_range = FALSE;
  g_assert_true (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_no_error (error);
  /* Surfaces that are not the reduced size are refused. */
  f->figure.surface_reduction = 2;
  g_assert_false (picard_figure_export (&f->figure, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                        &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);

  cairo_surface_destroy (f->figure.slice_surface);
  cairo_surface_destroy (f->figure.overlay_surface);
  cairo_surface_destroy (slice);
  cairo_surface_destroy (overlay);
}

static float *
tile_new (guint size, float value)
{
  float *tile = g_new (float, size * size);

  for (guint i = 0; i < size * size; i++)
    tile[i] = value;
  return tile;
}

static void
test_strip (Fixture *f, gconstpointer data)
{
  enum { SIZE = 48, HOLE = 24 };
  g_autofree float *patch = tile_new (SIZE, 1.0f);
  g_autofree float *c0 = tile_new (SIZE, -1.0f);
  g_autofree float *c1 = tile_new (SIZE, 0.5f);
  g_autofree float *c2 = tile_new (SIZE, -0.5f);
  const float *completions[] = { c0, c1, c2 };
  const double distances[] = { 30.0, 2.5, 11.0 };
  g_autofree char *png_path = g_build_filename (f->dir, "strip.png", NULL);
  g_autoptr(GError) error = NULL;
  PicardStrip strip;
  guint order[3];
  double width, height;
  cairo_surface_t *png;
  guint32 p;
  const char *formats[] = { "strip.svg", "strip.pdf" };

  picard_strip_init (&strip);
  strip.size = SIZE;
  strip.hole_size = HOLE;
  strip.patch = patch;
  strip.completions = completions;
  strip.distances = distances;
  strip.n_completions = 3;
  strip.title = "Patch at (120, 64): 3 completions";
  strip.distance_name = "MCD";

  picard_strip_sort (&strip, order);
  g_assert_cmpuint (order[0], ==, 1);
  g_assert_cmpuint (order[1], ==, 2);
  g_assert_cmpuint (order[2], ==, 0);

  g_assert_true (picard_strip_export (&strip, png_path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                      &error));
  g_assert_no_error (error);
  keep_artefact (png_path);
  g_assert_true (picard_strip_get_size (&strip, 1.0, &width, &height, NULL));
  png = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, (int) ceil (width));
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, (int) ceil (height));
  {
    double x[5], y[5], size;
    int cy;

    /* Five tiles in one row, left to right, inside the image. */
    for (guint t = 0; t < 5; t++)
      {
        g_assert_true (picard_strip_get_tile (&strip, t, 1.0, &x[t], &y[t], &size));
        g_assert_cmpfloat (size, ==, SIZE);
        g_assert_cmpfloat (y[t], ==, y[0]);
        g_assert_cmpfloat (x[t] + SIZE, <=, width);
        if (t > 0)
          g_assert_cmpfloat (x[t], >=, x[t - 1] + SIZE);
      }
    g_assert_false (picard_strip_get_tile (&strip, 5, 1.0, &x[0], &y[0], NULL));
    cy = (int) (y[0] + SIZE / 2);
    /* Patch: white; masked input: white outside the hole, mid-grey inside. */
    g_assert_cmphex (pixel_at (png, (int) x[0] + 2, cy) & 0xffffff, ==, 0xffffff);
    g_assert_cmphex (pixel_at (png, (int) x[1] + 2, cy) & 0xffffff, ==, 0xffffff);
    g_assert_cmphex (pixel_at (png, (int) x[1] + SIZE / 2, cy) & 0xffffff, ==, 0x808080);
    /* Completions sorted: 0.5 (grey 191), -0.5 (64), -1 (0). */
    g_assert_cmphex (pixel_at (png, (int) x[2] + SIZE / 2, cy) & 0xffffff, ==, 0xbfbfbf);
    g_assert_cmphex (pixel_at (png, (int) x[3] + SIZE / 2, cy) & 0xffffff, ==, 0x404040);
    g_assert_cmphex (pixel_at (png, (int) x[4] + SIZE / 2, cy) & 0xffffff, ==, 0x000000);
    /* The closest is framed in green just outside its tile; the others are not. */
    p = pixel_at (png, (int) x[2] - 1, cy);
    g_assert_cmpuint (channel (p, 1), >, channel (p, 0) + 80);
    p = pixel_at (png, (int) x[3] - 1, cy);
    g_assert_cmphex (p & 0xffffff, ==, 0xffffff);
  }
  cairo_surface_destroy (png);

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, formats[i], NULL);
      g_autofree char *contents = NULL;

      g_assert_true (picard_strip_export (&strip, path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                          &error));
      g_assert_no_error (error);
      keep_artefact (path);
      g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
      g_assert_true (i == 0 ? strstr (contents, "<svg") != NULL
                            : g_str_has_prefix (contents, "%PDF-"));
    }

  /* Bad descriptions are refused. */
  strip.hole_size = SIZE + 1;
  g_assert_false (picard_strip_export (&strip, png_path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  strip.hole_size = HOLE;
  completions[1] = NULL;
  g_assert_false (picard_strip_export (&strip, png_path, PICARD_EXPORT_FORMAT_AUTO, 1.0,
                                       &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
}

static void
test_nice_ticks (void)
{
  double ticks[8];
  guint n;

  n = picard_nice_ticks (0.0, 1.0, 6, ticks);
  g_assert_cmpuint (n, ==, 6);
  g_assert_cmpfloat_with_epsilon (ticks[1], 0.2, 1e-12);
  g_assert_cmpfloat (ticks[5], ==, 1.0);
  n = picard_nice_ticks (13.7, 58.2, 6, ticks);
  g_assert_cmpuint (n, ==, 4); /* steps of 5 would give 9 */
  g_assert_cmpfloat (ticks[0], ==, 20.0);
  g_assert_cmpfloat (ticks[3], ==, 50.0);
  n = picard_nice_ticks (-0.3, 0.3, 6, ticks);
  g_assert_cmpuint (n, <=, 6);
  for (guint i = 0; i < n; i++)
    g_assert_true (ticks[i] >= -0.3 - 1e-12 && ticks[i] <= 0.3 + 1e-12);
  g_assert_cmpuint (picard_nice_ticks (2.0, 2.0, 6, ticks), ==, 1);
  g_assert_cmpuint (picard_nice_ticks (NAN, 2.0, 6, ticks), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) \
  g_test_add ("/render/export/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("png", test_png);
  ADD ("plain", test_plain);
  ADD ("svg", test_svg);
  ADD ("pdf", test_pdf);
  ADD ("unknown-format", test_unknown_format);
  ADD ("missing-folder", test_missing_folder);
  ADD ("readonly-folder", test_readonly_folder);
  ADD ("write-failure", test_write_failure);
  ADD ("replace", test_replace);
  ADD ("draw-view", test_draw_view);
  ADD ("reduced-surfaces", test_reduced_surfaces);
  ADD ("strip", test_strip);
#undef ADD
  g_test_add_func ("/render/nice-ticks", test_nice_ticks);
  return g_test_run ();
}
