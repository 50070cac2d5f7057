/* Inside the network, in a real window under Xvfb: a click on the slice brings a patch's
 * completions, Ctrl+Shift+A shows each sample's coarse-stage completion above the final one
 * and the attention offsets (a tiny random checkpoint made by train/picard_model.py), they
 * follow "more samples", and the panel's figure carries them; a model that is not a network
 * says so. And with no file, the application opens the demo volume with the demo model loaded
 * and ready to scan. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "picard-error.h"
#include "picard-model-loader.h"
#include "picard-phantom.h"
#include "picard-stages.h"
#include "picard-test-completer.h"
#include "picard-test-ui.h"
#include "picard-window.h"

#define ROWS 192
#define COLUMNS 160
#define FRAMES 2
#define SAMPLES 3

static PicardApplication *app;

static gboolean
stages_shown (gpointer data)
{
  return picard_scan_panel_has_stages (picard_window_get_scan_panel (data));
}

static PicardVolume *
phantom_volume (void)
{
  return picard_test_ui_phantom_volume ("/tmp/stages-phantom.dcm", 5, FRAMES, ROWS, COLUMNS);
}

static void
set_patch_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");

  g_settings_set_uint (settings, "scan-patch-size", 64);
  g_settings_set_uint (settings, "scan-hole-size", 32);
  g_settings_set_uint (settings, "scan-stride", 16);
  g_settings_set_uint (settings, "scan-samples", SAMPLES);
  g_settings_set_uint64 (settings, "scan-seed", 3);
  g_settings_set_string (settings, "scan-range", "slice");
  g_settings_set_boolean (settings, "scan-roi", FALSE);
  /* Dropout on, so that the samples differ. */
  g_settings_set_string (settings, "scan-dropout-layers", "released");
  g_settings_set_boolean (settings, "show-stages", FALSE);
}

static PicardWindow *
window_with_phantom (PicardVolume *volume)
{
  PicardWindow *window = picard_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 900);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_focus (GTK_WINDOW (window));
  return window;
}

/* Clicks file pixel (x, y) of the slice on screen. */
static void
click_file_pixel (PicardWindow *window, double x, double y)
{
  GtkWidget *view = GTK_WIDGET (picard_window_get_slice_view (window));
  cairo_matrix_t m;

  /* A model's name in the panel may have moved the slice: wait for the layout to settle. */
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_iterate (100);
  picard_orientation_map_point_f (picard_window_get_orientation (window), PICARD_SPACE_FILE,
                                  picard_window_get_space (window), &x, &y);
  picard_slice_view_get_transform (picard_window_get_slice_view (window), &m);
  x += 0.5;
  y += 0.5;
  cairo_matrix_transform_point (&m, &x, &y);
  picard_test_ui_pointer_move (view, x, y);
  picard_test_ui_click (view, 1, 0);
}

typedef struct {
  guint32 *pixels;
  int width, height;
} Pixels;

static Pixels
download (GdkTexture *texture)
{
  Pixels p;

  p.width = gdk_texture_get_width (texture);
  p.height = gdk_texture_get_height (texture);
  p.pixels = g_new (guint32, (gsize) p.width * p.height);
  gdk_texture_download (texture, (guchar *) p.pixels, (gsize) p.width * 4);
  return p;
}

static guint32
at (const Pixels *p, double x, double y)
{
  int ix = (int) floor (x), iy = (int) floor (y);

  g_assert_cmpint (ix, >=, 0);
  g_assert_cmpint (iy, >=, 0);
  g_assert_cmpint (ix, <, p->width);
  g_assert_cmpint (iy, <, p->height);
  return p->pixels[(gsize) iy * p->width + ix];
}

static int
channel_spread (guint32 pixel)
{
  int r = (pixel >> 16) & 0xff, g = (pixel >> 8) & 0xff, b = pixel & 0xff;

  return MAX (r, MAX (g, b)) - MIN (r, MIN (g, b));
}

/* The tiles of sample @column on screen: the coarse and final rows are drawn (not blank:
 * the tile's grey levels vary), their holes differ, and attention colours the hole. */
static void
check_stages_pixels (PicardScanPanel *panel, guint column, const char *name)
{
  GtkWidget *area = picard_scan_panel_get_stages_widget (panel);
  g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (area, name);
  Pixels p = download (shot);
  double cx, cy, fx, fy, ax, ay, size;
  guint differing = 0, hole_pixels = 0, coloured = 0;
  guint32 first;
  gboolean varied = FALSE;

  g_assert_true (picard_scan_panel_get_stages_tile (panel, 0, column, &cx, &cy, &size));
  g_assert_true (picard_scan_panel_get_stages_tile (panel, 1, column, &fx, &fy, NULL));
  g_assert_true (picard_scan_panel_get_stages_tile (panel, 2, column, &ax, &ay, NULL));
  g_assert_cmpfloat (size, >=, 16.0);
  g_assert_cmpfloat (fy, >, cy);
  g_assert_cmpfloat (ay, >, fy);
  /* Not blank: the coarse tile, context included, is not one colour. */
  first = at (&p, cx + 1, cy + 1);
  for (double y = 1; y < size - 1 && !varied; y += 1)
    for (double x = 1; x < size - 1 && !varied; x += 1)
      varied = at (&p, cx + x, cy + y) != first;
  g_assert_true (varied);
  /* Inside the hole (the middle half of the tile, the dashed outline left out), the coarse
   * stage differs from the final completion. */
  for (double y = size * 0.3; y < size * 0.7; y += 1)
    for (double x = size * 0.3; x < size * 0.7; x += 1)
      {
        guint32 a = at (&p, cx + x, cy + y), b = at (&p, fx + x, fy + y);
        int d = abs ((int) (a & 0xff) - (int) (b & 0xff));

        hole_pixels++;
        differing += d > 2;
        /* Attention's hole cells all copy from the background: a step, so a colour. */
        coloured += channel_spread (at (&p, ax + x, ay + y)) > 10;
      }
  g_test_message ("sample %u: %u of %u hole pixels differ between the coarse and final rows, "
                  "%u coloured in attention", column, differing, hole_pixels, coloured);
  g_assert_cmpuint (differing, >, hole_pixels / 10);
  g_assert_cmpuint (coloured, >, hole_pixels / 2);
  g_free (p.pixels);
}

static void
export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;

  picard_scan_panel_export_patch_finish (PICARD_SCAN_PANEL (source), result, error);
  g_object_set_data (source, "exported", GINT_TO_POINTER (1));
}

static gboolean
exported (gpointer data)
{
  return g_object_get_data (data, "exported") != NULL;
}

/* Exports the panel's figure as PNG and returns its height. */
static int
export_height (PicardScanPanel *panel, const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) png = NULL;
  int height;

  g_object_set_data (G_OBJECT (panel), "exported", NULL);
  picard_scan_panel_export_patch_async (panel, path, PICARD_EXPORT_FORMAT_PNG, NULL,
                                        export_done, &error);
  g_assert_true (picard_test_ui_wait (exported, panel, 30000));
  g_assert_no_error (error);
  png = gdk_texture_new_from_filename (path, NULL);
  g_assert_nonnull (png);
  height = gdk_texture_get_height (png);
  g_remove (path);
  return height;
}

static void
test_coarse_and_attention (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autofree char *dir = g_dir_make_tmp ("picard-ui-stages-XXXXXX", NULL);
  g_autofree char *out = NULL;
  const char *args[] = { "-m", "train.picard_model", "--random-checkpoint", dir, "--cnum", "8",
                         "--input-dim", "1", NULL };
  PicardWindow *window;
  PicardScanPanel *panel;
  GtkWidget *view;
  int plain, with_stages;

  out = picard_test_run_python (NULL, args);
  set_patch_settings ();
  window = window_with_phantom (volume);
  panel = picard_window_get_scan_panel (window);
  view = GTK_WIDGET (picard_window_get_slice_view (window));
  picard_scan_panel_load_model (panel, dir);
  g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
  g_assert_null (picard_window_get_message (window));
  /* Only lavapipe here: the automatic choice is the CPU backend. Choosing the device in the
   * panel reloads the model there. */
  g_assert_cmpstr (picard_scan_panel_get_backend_name (panel), ==, "cpu");
  {
    g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");

    g_settings_set_string (settings, "compute-backend", "vulkan");
    g_assert_true (picard_scan_panel_is_loading (panel));
    g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
    g_assert_cmpstr (picard_scan_panel_get_backend_name (panel), ==, "vulkan");
    g_settings_set_string (settings, "compute-backend", "auto");
    g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
    g_assert_cmpstr (picard_scan_panel_get_backend_name (panel), ==, "cpu");
  }

  /* A patch that was never scanned: computed on the click. */
  click_file_pixel (window, 80.0, 96.0);
  picard_test_ui_iterate (20);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 60000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, SAMPLES);
  g_assert_false (picard_scan_panel_has_stages (panel));

  /* Asked for by its key: computed off the main loop, then shown. */
  picard_test_ui_key (view, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  g_assert_true (picard_scan_panel_get_show_stages (panel));
  g_assert_true (picard_test_ui_wait (stages_shown, window, 60000));
  g_assert_null (picard_window_get_message (window));
  g_assert_nonnull (strstr (picard_scan_panel_get_stages_text (panel), "coarse stage"));
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_iterate (100);
  for (guint k = 0; k < SAMPLES; k++)
    g_assert_true (picard_scan_panel_get_stages_tile (panel, 0, k, &(double) { 0 },
                                                      &(double) { 0 }, NULL));
  g_assert_false (picard_scan_panel_get_stages_tile (panel, 0, SAMPLES, &(double) { 0 },
                                                     &(double) { 0 }, NULL));
  check_stages_pixels (panel, 0, "stages-first");
  {
    g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (GTK_WIDGET (window), "stages-window");
  }

  /* The figure carries them: taller than without, by the three rows. */
  with_stages = export_height (panel, dir, "with.png");
  picard_scan_panel_set_show_stages (panel, FALSE);
  g_assert_false (picard_scan_panel_has_stages (panel));
  plain = export_height (panel, dir, "plain.png");
  g_assert_cmpint (with_stages, >, plain + 3 * 64);

  /* More samples: the stages follow, for all six. */
  picard_scan_panel_set_show_stages (panel, TRUE);
  g_assert_true (picard_scan_panel_has_stages (panel));
  picard_test_ui_key (view, GDK_KEY_m, GDK_CONTROL_MASK);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 60000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, 2 * SAMPLES);
  g_assert_true (picard_test_ui_wait (stages_shown, window, 60000));
  g_assert_true (picard_scan_panel_get_stages_tile (panel, 2, 2 * SAMPLES - 1, &(double) { 0 },
                                                    &(double) { 0 }, NULL));
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_iterate (100);
  check_stages_pixels (panel, 2 * SAMPLES - 1, "stages-more");

  /* Another patch while they are shown: its own, not the last one's. */
  click_file_pixel (window, 60.0, 120.0);
  picard_test_ui_iterate (20);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 60000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, SAMPLES);
  g_assert_true (picard_test_ui_wait (stages_shown, window, 60000));
  g_assert_false (picard_scan_panel_get_stages_tile (panel, 0, SAMPLES, &(double) { 0 },
                                                     &(double) { 0 }, NULL));

  picard_scan_panel_set_show_stages (panel, FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
  picard_test_remove_tree (dir);
}

/* The flow colours: no step is white, a full step right is pure red, down (rows grow
 * downwards) a quarter turn on, half a step half saturated; a figure without its images is
 * refused with an error, not drawn. */
static void
test_flow_colours (void)
{
  double rgb[3];
  float image[64 * 64] = { 0 };
  float offsets[2 * 8 * 8];
  const float *images[1] = { image };
  const float *offs[1] = { offsets };
  const float *missing[1] = { NULL };
  PicardStages stages;
  g_autoptr(GError) error = NULL;
  double x, y, size;

  picard_flow_colour (0.0, 0.0, 4.0, rgb);
  g_assert_cmpfloat (rgb[0] + rgb[1] + rgb[2], ==, 3.0);
  picard_flow_colour (0.0, 4.0, 4.0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.0, 1e-9);
  picard_flow_colour (8.0, 0.0, 4.0, rgb);        /* beyond the rim: full colour */
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[1], 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.0, 1e-9);
  picard_flow_colour (0.0, -2.0, 4.0, rgb);       /* left, half: light cyan */
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[1], 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (rgb[2], 1.0, 1e-9);

  /* Every cell copies from cell (0, 0): the longest step is the far corner's. */
  for (guint k = 0; k < G_N_ELEMENTS (offsets); k++)
    offsets[k] = 0.0f;
  picard_stages_init (&stages);
  stages.size = 64;
  stages.hole_size = 32;
  stages.grid = 8;
  stages.n_samples = 1;
  stages.coarse = images;
  stages.final = images;
  stages.offsets = offs;
  g_assert_cmpfloat_with_epsilon (picard_stages_max_step (&stages), hypot (7.0, 7.0), 1e-9);
  g_assert_true (picard_stages_get_size (&stages, 1.0, &x, &y, &error));
  g_assert_no_error (error);
  g_assert_true (picard_stages_get_tile (&stages, PICARD_STAGES_ROW_ATTENTION, 0, 1.0, &x, &y,
                                         &size));
  g_assert_cmpfloat (size, ==, 64.0);
  g_assert_false (picard_stages_get_tile (&stages, PICARD_STAGES_ROW_ATTENTION, 1, 1.0, &x, &y,
                                          &size));
  stages.final = missing;
  g_assert_false (picard_stages_get_size (&stages, 1.0, &x, &y, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  stages.final = images;
  stages.grid = 65;
  g_assert_false (picard_stages_get_size (&stages, 1.0, &x, &y, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
}

/* A completer that is not a PICARD network has no inside to show: the panel says so. */
static void
test_not_a_network (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (8, FALSE);
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
  PicardWindow *window;
  PicardScanPanel *panel;

  set_patch_settings ();
  g_settings_set_uint (settings, "scan-patch-size", 32);
  g_settings_set_uint (settings, "scan-hole-size", 16);
  window = window_with_phantom (volume);
  panel = picard_window_get_scan_panel (window);
  picard_window_set_completer (window, PICARD_COMPLETER (completer), "test model");
  click_file_pixel (window, 80.0, 96.0);
  picard_test_ui_iterate (20);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 20000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, SAMPLES);
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_a,
                      GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  g_assert_true (picard_scan_panel_get_show_stages (panel));
  g_assert_true (g_settings_get_boolean (settings, "show-stages"));
  picard_test_ui_iterate (50);
  g_assert_false (picard_scan_panel_has_stages (panel));
  g_assert_nonnull (strstr (picard_scan_panel_get_stages_text (panel), "not a PICARD network"));
  g_settings_set_boolean (settings, "show-stages", FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
}

/* Started without files, the application opens the demo volume and loads the demo model:
 * ready to scan (its key starts a scan), but not scanning on its own. */
static void
test_demo_at_start (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("PICARD_BUILD_DIR"), "demo", "Phantom-7",
                                            "rcc.dcm", NULL);
  PicardWindow *window;
  PicardScanPanel *panel;

  g_assert_true (g_file_test (demo, G_FILE_TEST_IS_REGULAR));
  g_assert_nonnull (picard_model_get_demo_path ());
  picard_application_set_demo_volume (app, demo);
  picard_application_set_load_demo_model (app, TRUE);
  window = picard_test_ui_activate (app);
  panel = picard_window_get_scan_panel (window);
  g_assert_true (picard_scan_panel_is_loading (panel));
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 20000));
  g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
  g_assert_null (picard_window_get_message (window));
  g_assert_cmpstr (picard_volume_get_info (picard_window_get_volume (window))->path, ==, demo);
  /* Loaded and ready, nothing started. */
  picard_test_ui_iterate (100);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_IDLE);
  g_assert_null (picard_scan_panel_get_result (panel, picard_window_get_slice (window)));
  {
    g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (GTK_WIDGET (window), "demo-at-start");
  }
  /* Start is enabled: its key starts a scan (cancelled at once). */
  picard_test_ui_focus (GTK_WINDOW (window));
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_F5, 0);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_RUNNING);
  picard_scan_panel_cancel (panel);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 120000));
  picard_application_set_load_demo_model (app, FALSE);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("picard-ui-data-XXXXXX", NULL);
  g_autofree char *cache_dir = g_dir_make_tmp ("picard-ui-cache-XXXXXX", NULL);
  int status;

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  /* Scans are cached here, not in the user's cache. */
  g_setenv ("PICARD_CACHE_DIR", cache_dir, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  app = picard_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_test_add_func ("/ui/stages/flow-colours", test_flow_colours);
  g_test_add_func ("/ui/stages/not-a-network", test_not_a_network);
  /* With the real network (lavapipe): run as their own meson test, slow under sanitizers. */
  g_test_add_func ("/ui/stages/network/coarse-and-attention", test_coarse_and_attention);
  g_test_add_func ("/ui/stages/network/demo-at-start", test_demo_at_start);
  status = g_test_run ();
  g_object_unref (app);
  picard_test_remove_tree (data_home);
  picard_test_remove_tree (cache_dir);
  return status;
}
