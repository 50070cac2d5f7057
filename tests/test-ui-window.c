/* The main window under a real display (Xvfb) with real key and pointer events: a volume
 * opens on its middle slice, keys and the wheel scroll, the window/level changes the
 * pixels, zoom and pan keep the readout on the right file pixel, the heatmap layer draws,
 * and a file that is not a volume leaves a message while the volume stays. */
#include <math.h>

#include <glib/gstdio.h>

#include "picard-test-ui.h"
#include "picard-window.h"

#define FRAMES 6
#define ROWS 150
#define COLUMNS 200

static PicardApplication *app;

static gboolean
has_message (gpointer data)
{
  return picard_window_get_message (data) != NULL;
}

static void
wait_idle (PicardWindow *window)
{
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  /* Let the view draw what it got. */
  picard_test_ui_iterate (40);
}

static PicardWindow *
window_with_coded_volume (void)
{
  g_autoptr(PicardVolume) volume = picard_test_ui_coded_volume_new (FRAMES, ROWS, COLUMNS);
  PicardWindow *window = picard_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 900, 640);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  wait_idle (window);
  picard_test_ui_focus (GTK_WINDOW (window));
  return window;
}

static GtkWidget *
view_of (PicardWindow *window)
{
  return GTK_WIDGET (picard_window_get_slice_view (window));
}

/* The grey level at the view's centre. */
static guint
centre_grey (PicardWindow *window, const char *name)
{
  g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (view_of (window), name);

  return (picard_test_ui_pixel (shot, gdk_texture_get_width (shot) / 2,
                                gdk_texture_get_height (shot) / 2) >> 8) & 0xff;
}

/* Widget coordinates of the centre of displayed slice pixel (x, y). */
static void
pixel_centre (PicardWindow *window, int x, int y, double *wx, double *wy)
{
  cairo_matrix_t m;

  picard_slice_view_get_transform (picard_window_get_slice_view (window), &m);
  *wx = x + 0.5;
  *wy = y + 0.5;
  cairo_matrix_transform_point (&m, wx, wy);
}

static void
test_middle_slice_and_scrolling (void)
{
  PicardWindow *window = window_with_coded_volume ();
  g_autoptr(GdkTexture) shot = NULL;
  guint grey[4];
  double wx, wy;

  g_assert_cmpuint (picard_window_get_slice (window), ==, FRAMES / 2);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, FRAMES / 2);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "coded.dcm");
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "window-coded-volume");

  /* Values grow by 1000 a frame: each step down brightens the slice. */
  grey[0] = centre_grey (window, "window-slice-3");
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_Down, 0);
  wait_idle (window);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, FRAMES / 2 + 1);
  grey[1] = centre_grey (window, "window-slice-4");
  g_assert_cmpuint (grey[1], >, grey[0] + 3);

  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_Page_Up, 0);
  wait_idle (window);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, 0);
  grey[2] = centre_grey (window, "window-slice-0");
  g_assert_cmpuint (grey[2], <, grey[0]);

  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_End, 0);
  wait_idle (window);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, FRAMES - 1);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_Home, 0);
  wait_idle (window);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, 0);

  /* The wheel over the slice: down is the next slice. */
  pixel_centre (window, COLUMNS / 2, ROWS / 2, &wx, &wy);
  picard_test_ui_pointer_move (view_of (window), wx, wy);
  picard_test_ui_click (view_of (window), 5, 0);
  picard_test_ui_click (view_of (window), 5, 0);
  wait_idle (window);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, 2);
  grey[3] = centre_grey (window, "window-slice-2-wheel");
  g_assert_cmpuint (grey[3], >, grey[2] + 6);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_window_level (void)
{
  PicardWindow *window = window_with_coded_volume ();
  PicardWindowLevel before, after;
  guint plain, inverted, narrow;
  double wx, wy;

  plain = centre_grey (window, "window-level-file");
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_i, 0);
  wait_idle (window);
  inverted = centre_grey (window, "window-level-inverted");
  g_assert_cmpint (ABS ((int) inverted - (255 - (int) plain)), <=, 2);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_i, 0);
  wait_idle (window);

  /* A narrower window around a lower centre: the centre pixel saturates. */
  picard_window_get_window_level (window, &before);
  picard_window_set_window_level (window, before.center / 4.0, before.width / 8.0);
  wait_idle (window);
  narrow = centre_grey (window, "window-level-narrow");
  g_assert_cmpuint (narrow, ==, 255);
  g_assert_cmpuint (plain, <, 250);

  /* Automatic: percentiles over the slice's values. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_a, 0);
  wait_idle (window);
  picard_window_get_window_level (window, &after);
  g_assert_cmpfloat (fabs (after.width - before.width / 8.0), >, 100.0);
  g_assert_cmpfloat (after.width, <, ROWS * COLUMNS);

  /* Right-drag to the right widens the window. */
  picard_window_get_window_level (window, &before);
  pixel_centre (window, COLUMNS / 2, ROWS / 2, &wx, &wy);
  picard_test_ui_pointer_move (view_of (window), wx, wy);
  picard_test_ui_button (view_of (window), 3, TRUE, 0);
  picard_test_ui_pointer_move (view_of (window), wx + 40, wy);
  picard_test_ui_pointer_move (view_of (window), wx + 120, wy);
  picard_test_ui_button (view_of (window), 3, FALSE, 0);
  wait_idle (window);
  picard_window_get_window_level (window, &after);
  g_assert_cmpfloat (after.width, >, before.width * 1.2);
  g_assert_cmpfloat (after.center, ==, before.center);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The readout with the pointer on displayed pixel (x, y) must name the file pixel whose value
 * it shows; *wx, *wy get the widget point used. The pointer moves again if the layout changed
 * under it (the side panel settles asynchronously). */
static void
check_readout (PicardWindow *window, int x, int y, int expect_x, int expect_y, double *wx,
               double *wy)
{
  g_autofree char *expected = NULL;
  guint slice = picard_window_get_shown_slice (window);
  cairo_matrix_t before, after;

  for (guint attempt = 0; attempt < 3; attempt++)
    {
      picard_test_ui_iterate (10);
      picard_slice_view_get_transform (picard_window_get_slice_view (window), &before);
      pixel_centre (window, x, y, wx, wy);
      picard_test_ui_pointer_move (view_of (window), *wx, *wy);
      picard_slice_view_get_transform (picard_window_get_slice_view (window), &after);
      if (memcmp (&before, &after, sizeof before) == 0)
        break;
    }
  expected = g_strdup_printf ("x %d  y %d  value %u", expect_x, expect_y,
                              picard_test_ui_coded_value (COLUMNS, slice, expect_x, expect_y));
  g_assert_cmpstr (picard_window_get_readout (window), ==, expected);
}

static void
test_zoom_pan_readout (void)
{
  PicardWindow *window = window_with_coded_volume ();
  PicardSliceView *view = picard_window_get_slice_view (window);
  const PicardOrientation *orientation = picard_window_get_orientation (window);
  g_autofree char *before = NULL;
  cairo_matrix_t m;
  double wx, wy, w, h;

  /* Values grow to the right: the right edge is brighter, so the pixel laterality is "R"
   * and the left-aligned view mirrors the slice. */
  g_assert_true (orientation->mirror);
  g_assert_true (picard_slice_view_get_fit (view));
  w = gtk_widget_get_width (GTK_WIDGET (view));
  h = gtk_widget_get_height (GTK_WIDGET (view));

  /* 1: one screen pixel per slice pixel, about the view's centre. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_1, 0);
  g_assert_cmpfloat (picard_slice_view_get_zoom (view), ==, 1.0);
  picard_slice_view_get_transform (view, &m);
  g_assert_cmpfloat (fabs (m.x0 - (w / 2.0 - COLUMNS / 2.0)), <, 1e-6);
  g_assert_cmpfloat (fabs (m.y0 - (h / 2.0 - ROWS / 2.0)), <, 1e-6);
  check_readout (window, 110, 95, COLUMNS - 1 - 110, 95, &wx, &wy);
  picard_test_ui_screenshot (GTK_WIDGET (window), "window-zoom-one");

  /* Ctrl+wheel up zooms in about the pointer: the same pixel stays under it. */
  before = g_strdup (picard_window_get_readout (window));
  picard_test_ui_click (GTK_WIDGET (view), 4, GDK_CONTROL_MASK);
  g_assert_cmpfloat (picard_slice_view_get_zoom (view), >, 1.3);
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx + 1, wy);
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx, wy);
  g_assert_cmpstr (picard_window_get_readout (window), ==, before);

  /* Keyboard zoom: + and - step by the same factor. */
  {
    double z = picard_slice_view_get_zoom (view);

    picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_equal, 0);
    g_assert_cmpfloat (fabs (picard_slice_view_get_zoom (view) - z * G_SQRT2), <, 1e-9);
    picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_minus, 0);
    g_assert_cmpfloat (fabs (picard_slice_view_get_zoom (view) - z), <, 1e-9);
  }

  /* A left drag moves the slice with the pointer. */
  picard_test_ui_button (GTK_WIDGET (view), 1, TRUE, 0);
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx + 10, wy + 10);
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx + 30, wy + 40);
  picard_test_ui_button (GTK_WIDGET (view), 1, FALSE, 0);
  g_assert_false (picard_slice_view_get_fit (view));
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx + 30, wy + 41);
  picard_test_ui_pointer_move (GTK_WIDGET (view), wx + 30, wy + 40);
  g_assert_cmpstr (picard_window_get_readout (window), ==, before);

  /* Shift+Left pans by the keyboard step. */
  picard_slice_view_get_transform (view, &m);
  {
    double x0 = m.x0;

    picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_Left, GDK_SHIFT_MASK);
    picard_slice_view_get_transform (view, &m);
    g_assert_cmpfloat (fabs (m.x0 - (x0 + 64.0)), <, 1e-6);
  }

  /* File orientation (O): no mirror, the readout's x is the displayed x. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_o, 0);
  wait_idle (window);
  g_assert_cmpint (picard_window_get_space (window), ==, PICARD_SPACE_FILE);
  check_readout (window, 20, 30, 20, 30, &wx, &wy);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_o, 0);
  wait_idle (window);
  g_assert_cmpint (picard_window_get_space (window), ==, PICARD_SPACE_ALIGNED);

  /* 0: fit again. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_0, 0);
  g_assert_true (picard_slice_view_get_fit (view));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_heatmap_layer (void)
{
  PicardWindow *window = window_with_coded_volume ();
  g_autofree float *heat = g_new (float, (gsize) ROWS * COLUMNS);
  g_autoptr(GdkTexture) shot = NULL;
  guint32 hot, cold;
  double wx, wy;
  guint slice = picard_window_get_slice (window);

  /* Scanned only in a square (aligned orientation), the rest not yet. */
  for (guint y = 0; y < ROWS; y++)
    for (guint x = 0; x < COLUMNS; x++)
      heat[y * COLUMNS + x] = (x >= 20 && x < 80 && y >= 30 && y < 90) ? (float) x / COLUMNS : NAN;
  picard_window_set_heatmap_label (window, "MCD (a.u.)");
  picard_window_set_heatmap (window, slice, PICARD_SPACE_ALIGNED, heat);
  wait_idle (window);
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "window-heatmap");
  g_clear_object (&shot);
  shot = picard_test_ui_screenshot (view_of (window), "window-heatmap-view");

  pixel_centre (window, 70, 60, &wx, &wy);
  hot = picard_test_ui_pixel (shot, (int) wx, (int) wy);
  pixel_centre (window, 150, 60, &wx, &wy);
  cold = picard_test_ui_pixel (shot, (int) wx, (int) wy);
  /* Coloured where scanned, grey where not. */
  g_assert_cmpuint ((cold >> 16) & 0xff, ==, (cold >> 8) & 0xff);
  g_assert_cmpuint ((cold >> 8) & 0xff, ==, cold & 0xff);
  g_assert_cmpint (ABS ((int) ((hot >> 16) & 0xff) - (int) (hot & 0xff)), >, 30);

  pixel_centre (window, 70, 60, &wx, &wy);
  picard_test_ui_pointer_move (view_of (window), wx, wy);
  g_assert_nonnull (strstr (picard_window_get_readout (window), "score 0.35"));
  pixel_centre (window, 150, 60, &wx, &wy);
  picard_test_ui_pointer_move (view_of (window), wx, wy);
  g_assert_nonnull (strstr (picard_window_get_readout (window), "score not scanned"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_invalid_file_keeps_volume (void)
{
  PicardWindow *window = window_with_coded_volume ();
  g_autofree char *dir = g_dir_make_tmp ("picard-ui-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "not-a-volume.dcm", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (bad);
  PicardVolume *volume = picard_window_get_volume (window);
  g_autoptr(GdkTexture) shot = NULL;

  g_assert_true (g_file_set_contents (bad, "this is a text file, not DICOM\n", -1, NULL));
  picard_window_open_file (window, file);
  g_assert_true (picard_test_ui_wait (has_message, window, 10000));
  picard_test_ui_iterate (300);
  g_assert_nonnull (strstr (picard_window_get_message (window), "not-a-volume.dcm"));
  g_assert_nonnull (strstr (picard_window_get_message (window), "stays open"));
  g_assert_true (picard_window_get_volume (window) == volume);
  g_assert_true (picard_window_is_idle (window));
  g_test_message ("mapped %d visible %d %dx%d", gtk_widget_get_mapped (GTK_WIDGET (window)), gtk_widget_get_visible (GTK_WIDGET (window)), gtk_widget_get_width (GTK_WIDGET (window)), gtk_widget_get_height (GTK_WIDGET (window)));
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "window-error-message");

  /* Escape dismisses the message. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_Escape, 0);
  g_assert_null (picard_window_get_message (window));
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_remove_tree (dir);
}

static gboolean
shortcuts_shown (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (toplevels, i);

      if (GTK_IS_SHORTCUTS_WINDOW (item) && gtk_widget_get_mapped (GTK_WIDGET (item)))
        return TRUE;
    }
  return FALSE;
}

static void
test_cine_and_panel_keys (void)
{
  PicardWindow *window = window_with_coded_volume ();
  g_autoptr(GSettings) settings = g_settings_new (PICARD_APPLICATION_ID);
  GValue value = G_VALUE_INIT;
  guint start = picard_window_get_slice (window);
  gboolean moved = FALSE;

  /* Space plays at the chosen rate (20 slices a second here), Space stops. */
  g_settings_set_double (settings, "cine-fps", 20.0);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  g_value_init (&value, G_TYPE_BOOLEAN);
  g_object_get_property (G_OBJECT (window), "playing", &value);
  g_assert_true (g_value_get_boolean (&value));
  /* Until it moves: a fixed wait could see it loop back to the start on a slow run. */
  for (gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       !moved && g_get_monotonic_time () < deadline;)
    {
      picard_test_ui_iterate (20);
      moved = picard_window_get_slice (window) != start;
    }
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_space, 0);
  g_object_get_property (G_OBJECT (window), "playing", &value);
  g_assert_false (g_value_get_boolean (&value));
  g_assert_true (moved);

  /* F9 hides and shows the side panel. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_F9, 0);
  g_object_get_property (G_OBJECT (window), "sidebar-visible", &value);
  g_assert_false (g_value_get_boolean (&value));
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_F9, 0);
  g_object_get_property (G_OBJECT (window), "sidebar-visible", &value);
  g_assert_true (g_value_get_boolean (&value));

  /* Ctrl+? shows the shortcuts window. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_question, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
  g_assert_true (picard_test_ui_wait (shortcuts_shown, NULL, 10000));
  picard_test_ui_iterate (200);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GObject) item = g_list_model_get_item (toplevels, i);

        if (GTK_IS_SHORTCUTS_WINDOW (item))
          {
            g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (GTK_WIDGET (item),
                                                                    "shortcuts-window");

            gtk_window_close (GTK_WINDOW (item));
          }
      }
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
neighbours_ready (gpointer data)
{
  guint slice = picard_window_get_slice (data);

  return picard_window_is_slice_ready (data, slice - 1)
         && picard_window_is_slice_ready (data, slice + 1);
}

/* Once a slice is on screen, its neighbours are drawn ahead (after that paint, so as not to
 * delay it), and stepping to one shows it at once, with no work left for the main loop; then
 * the new neighbours are drawn ahead, again after a change of window/level. */
static void
test_prefetch (void)
{
  PicardWindow *window = window_with_coded_volume ();
  guint middle = picard_window_get_slice (window);

  g_assert_cmpuint (middle, ==, FRAMES / 2);
  g_assert_true (picard_window_is_slice_ready (window, middle));
  g_assert_true (picard_test_ui_wait (neighbours_ready, window, 10000));
  /* Only the nearest ones are drawn ahead (farther ones are only decoded). */
  g_assert_false (picard_window_is_slice_ready (window, middle + 2));
  g_assert_false (picard_window_is_slice_ready (window, FRAMES));
  picard_window_set_slice (window, middle + 1);
  g_assert_cmpuint (picard_window_get_shown_slice (window), ==, middle + 1);
  g_assert_true (picard_window_is_idle (window));
  /* Stepping to a slice drawn ahead draws its own neighbours ahead in turn. */
  g_assert_true (picard_test_ui_wait (neighbours_ready, window, 10000));
  g_assert_true (picard_window_is_slice_ready (window, middle + 2));
  /* Inverting asks for other pixels: what was drawn ahead no longer counts, and the
   * neighbours are drawn again (the one two away, drawn before, is not). */
  g_assert_true (picard_window_is_slice_ready (window, middle - 1));
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_i, 0);
  wait_idle (window);
  g_assert_true (picard_test_ui_wait (neighbours_ready, window, 10000));
  g_assert_false (picard_window_is_slice_ready (window, middle - 1));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("picard-ui-data-XXXXXX", NULL);
  int status;

  /* Recent files go to a private folder, not the user's list. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  app = picard_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_test_add_func ("/ui/window/middle-slice-and-scrolling", test_middle_slice_and_scrolling);
  g_test_add_func ("/ui/window/window-level", test_window_level);
  g_test_add_func ("/ui/window/zoom-pan-readout", test_zoom_pan_readout);
  g_test_add_func ("/ui/window/heatmap-layer", test_heatmap_layer);
  g_test_add_func ("/ui/window/invalid-file", test_invalid_file_keeps_volume);
  g_test_add_func ("/ui/window/cine-and-panel-keys", test_cine_and_panel_keys);
  g_test_add_func ("/ui/window/prefetch", test_prefetch);
  status = g_test_run ();
  g_object_unref (app);
  picard_test_remove_tree (data_home);
  return status;
}
