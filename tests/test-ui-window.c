/* The main window under a real display (Xvfb): a volume opens, its middle slice shows,
 * the slider scrolls. */
#include "picard-test-ui.h"
#include "picard-window.h"

static gboolean
slice_shown (gpointer data)
{
  return picard_window_is_slice_shown (data);
}

static PicardVolume *
gradient_volume_new (void)
{
  PicardVolumeInfo info = { 0 };
  guint frames = 5, rows = 120, columns = 90;
  guint16 *values = g_new (guint16, (gsize) frames * rows * columns);

  for (guint f = 0; f < frames; f++)
    for (guint y = 0; y < rows; y++)
      for (guint x = 0; x < columns; x++)
        /* Bright left half on frame 2 only, so the shown slice is recognisable. */
        values[((gsize) f * rows + y) * columns + x] = (f == 2 && x < columns / 2) ? 1000 : 100;
  info.path = g_strdup ("/tmp/gradient.dcm");
  info.frames = frames;
  info.rows = rows;
  info.columns = columns;
  info.bits_stored = 10;
  info.has_window = TRUE;
  info.window_center = 512;
  info.window_width = 1024;
  return picard_volume_new_from_memory (&info, values);
}

static guint32
pixel_at (GdkTexture *texture, int x, int y)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint32 *data = g_new (guint32, (gsize) width * height);

  gdk_texture_download (texture, (guchar *) data, width * 4);
  return data[(gsize) y * width + x];
}

static void
test_window_shows_middle_slice (void)
{
  g_autoptr(PicardApplication) app = picard_application_new ();
  g_autoptr(PicardVolume) volume = gradient_volume_new ();
  g_autoptr(GdkTexture) shot = NULL;
  PicardWindow *window;
  guint32 left, right;
  int w, h;

  g_application_register (G_APPLICATION (app), NULL, NULL);
  window = picard_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 480);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  g_assert_true (picard_test_ui_wait (slice_shown, window, 10000));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "gradient.dcm");

  /* Let the drawing area get its final size and draw. */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "window-middle-slice");
  w = gdk_texture_get_width (shot);
  h = gdk_texture_get_height (shot);
  /* The slice is centred: its bright left half left of centre, dark right half right. */
  left = pixel_at (shot, w / 2 - w / 20, h / 2) & 0xff;
  right = pixel_at (shot, w / 2 + w / 20, h / 2) & 0xff;
  g_assert_cmpuint (left, >, right + 100);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/window/middle-slice", test_window_shows_middle_slice);
  return g_test_run ();
}
