#include "picard-test-ui.h"

#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <gdk/x11/gdkx.h>
#include <glib/gstdio.h>

#include "picard-phantom.h"

gboolean
picard_test_ui_wait (gboolean (*done) (gpointer data), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!done (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  return TRUE;
}

void
picard_test_ui_iterate (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
}

gboolean
picard_test_ui_window_idle (gpointer window)
{
  return picard_window_is_idle (window);
}

gboolean
picard_test_ui_model_loaded (gpointer window)
{
  return !picard_scan_panel_is_loading (picard_window_get_scan_panel (window));
}

gboolean
picard_test_ui_completions_done (gpointer window)
{
  return !picard_scan_panel_is_completing (picard_window_get_scan_panel (window));
}

gboolean
picard_test_ui_scan_stopped (gpointer window)
{
  return picard_scan_panel_get_state (picard_window_get_scan_panel (window))
         == PICARD_SCAN_STATE_IDLE;
}

PicardWindow *
picard_test_ui_activate (PicardApplication *app)
{
  GList *before = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (app)));
  PicardWindow *window = NULL;

  g_application_activate (G_APPLICATION (app));
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
    if (g_list_find (before, l->data) == NULL)
      window = l->data;
  g_list_free (before);
  g_assert_nonnull (window);
  return window;
}

GdkTexture *
picard_test_ui_screenshot (GtkWidget *widget, const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  GskRenderer *renderer;
  GdkTexture *texture;
  int width = 0, height = 0;

  g_assert_true (picard_test_ui_wait ((gboolean (*) (gpointer)) gtk_widget_get_mapped, widget, 5000));
  renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  /* A widget in the middle of a relayout has no node yet: let GTK finish it. */
  for (int attempt = 0; attempt < 200 && node == NULL; attempt++)
    {
      width = gtk_widget_get_width (widget);
      height = gtk_widget_get_height (widget);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, width, height);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
      if (node == NULL)
        picard_test_ui_iterate (5);
    }
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  dir = g_build_filename (g_getenv ("PICARD_BUILD_DIR") ? g_getenv ("PICARD_BUILD_DIR") : ".",
                          "test-artefacts", NULL);
  g_mkdir_with_parents (dir, 0755);
  file = g_strdup_printf ("%s/%s.png", dir, name);
  g_assert_true (gdk_texture_save_to_png (texture, file));
  g_test_message ("screenshot: %s", file);
  return texture;
}

guint32
picard_test_ui_pixel (GdkTexture *texture, int x, int y)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint32 *data = NULL;

  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, width);
  g_assert_cmpint (y, <, height);
  data = g_new (guint32, (gsize) width * height);
  gdk_texture_download (texture, (guchar *) data, (gsize) width * 4);
  return data[(gsize) y * width + x];
}

/* ---- X input ---- */

static Display *
x_display (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);

  g_assert_true (GDK_IS_X11_DISPLAY (display));
  return gdk_x11_display_get_xdisplay (display);
}

static gboolean
has_focus (gpointer data)
{
  return gtk_window_is_active (data);
}

void
picard_test_ui_focus (GtkWindow *window)
{
  GdkSurface *surface;
  Display *xdisplay = x_display (GTK_WIDGET (window));

  g_assert_true (picard_test_ui_wait ((gboolean (*) (gpointer)) gtk_widget_get_mapped, window, 5000));
  surface = gtk_native_get_surface (GTK_NATIVE (window));
  XSetInputFocus (xdisplay, gdk_x11_surface_get_xid (surface), RevertToParent, CurrentTime);
  XSync (xdisplay, False);
  g_assert_true (picard_test_ui_wait (has_focus, window, 5000));
}

static void
modifier_keys (Display *xdisplay, GdkModifierType modifiers, Bool press)
{
  if (modifiers & GDK_SHIFT_MASK)
    XTestFakeKeyEvent (xdisplay, XKeysymToKeycode (xdisplay, XK_Shift_L), press, CurrentTime);
  if (modifiers & GDK_CONTROL_MASK)
    XTestFakeKeyEvent (xdisplay, XKeysymToKeycode (xdisplay, XK_Control_L), press, CurrentTime);
}

/* Lets the X server deliver and GTK dispatch what was sent: at least 30 ms, then until
 * neither X nor the main loop has had anything to do for 50 ms (motion is only handled on
 * a frame clock tick, which a loaded or sanitized run delays), at most 3 s. */
static void
settle (Display *xdisplay)
{
  gint64 start = g_get_monotonic_time ();
  gint64 quiet_since = start;

  XSync (xdisplay, False);
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();

      if (XPending (xdisplay) > 0 || g_main_context_pending (NULL))
        quiet_since = now;
      if ((now - start > 30000 && now - quiet_since > 50000) || now - start > 3000000)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
}

void
picard_test_ui_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers)
{
  Display *xdisplay = x_display (widget);
  KeyCode code = XKeysymToKeycode (xdisplay, (KeySym) keyval);

  g_assert_cmpuint (code, !=, 0);
  modifier_keys (xdisplay, modifiers, True);
  XTestFakeKeyEvent (xdisplay, code, True, CurrentTime);
  XTestFakeKeyEvent (xdisplay, code, False, CurrentTime);
  modifier_keys (xdisplay, modifiers, False);
  settle (xdisplay);
}

void
picard_test_ui_pointer_move (GtkWidget *widget, double x, double y)
{
  GtkNative *native = gtk_widget_get_native (widget);
  Display *xdisplay = x_display (widget);
  graphene_point_t in = GRAPHENE_POINT_INIT (x, y), out;
  double sx, sy;
  int root_x, root_y;
  Window child;

  g_assert_true (gtk_widget_compute_point (widget, GTK_WIDGET (native), &in, &out));
  gtk_native_get_surface_transform (native, &sx, &sy);
  XTranslateCoordinates (xdisplay, gdk_x11_surface_get_xid (gtk_native_get_surface (native)),
                         DefaultRootWindow (xdisplay), (int) round (out.x + sx),
                         (int) round (out.y + sy), &root_x, &root_y, &child);
  XTestFakeMotionEvent (xdisplay, -1, root_x, root_y, CurrentTime);
  settle (xdisplay);
}

void
picard_test_ui_button (GtkWidget *widget, guint button, gboolean press, GdkModifierType modifiers)
{
  Display *xdisplay = x_display (widget);

  if (press)
    modifier_keys (xdisplay, modifiers, True);
  XTestFakeButtonEvent (xdisplay, button, press, CurrentTime);
  if (!press)
    modifier_keys (xdisplay, modifiers, False);
  settle (xdisplay);
}

void
picard_test_ui_click (GtkWidget *widget, guint button, GdkModifierType modifiers)
{
  picard_test_ui_button (widget, button, TRUE, modifiers);
  picard_test_ui_button (widget, button, FALSE, modifiers);
}

/* ---- data ---- */

guint
picard_test_ui_coded_value (guint columns, guint f, guint x, guint y)
{
  return 1 + y * columns + x + f * 1000;
}

PicardVolume *
picard_test_ui_coded_volume_new (guint frames, guint rows, guint columns)
{
  PicardVolumeInfo info = { 0 };
  guint16 *values = g_new (guint16, (gsize) frames * rows * columns);

  g_assert_cmpuint (picard_test_ui_coded_value (columns, frames - 1, columns - 1, rows - 1), <=,
                    G_MAXUINT16);
  for (guint f = 0; f < frames; f++)
    for (guint y = 0; y < rows; y++)
      for (guint x = 0; x < columns; x++)
        values[((gsize) f * rows + y) * columns + x] = picard_test_ui_coded_value (columns, f, x, y);
  info.path = g_strdup ("/tmp/coded.dcm");
  info.format = g_strdup ("memory");
  info.patient_id = g_strdup ("CODED-1");
  info.frames = frames;
  info.rows = rows;
  info.columns = columns;
  info.bits_stored = 16;
  info.has_window = TRUE;
  info.window_center = rows * columns / 2.0;
  info.window_width = rows * columns;
  return picard_volume_new_from_memory (&info, values);
}

void
picard_test_ui_make_phantoms (const char *dir, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, (gpointer) "phantom");
  g_ptr_array_add (argv, (gpointer) "-o");
  g_ptr_array_add (argv, (gpointer) dir);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (picard_test_run_cliv (NULL, &err, (const char *const *) argv->pdata) != 0)
    g_error ("picard-cli phantom failed: %s", err);
}

PicardVolume *
picard_test_ui_phantom_volume (const char *path, guint64 seed, guint frames, guint rows,
                               guint columns)
{
  PicardPhantomParams params;
  g_autoptr(PicardPhantom) phantom = NULL;
  PicardVolumeInfo info = { 0 };
  g_autoptr(GError) error = NULL;

  picard_phantom_params_init (&params);
  params.seed = seed;
  params.rows = rows;
  params.columns = columns;
  params.frames = frames;
  params.n_masses = 1;
  params.laterality = PICARD_LATERALITY_LEFT;
  phantom = picard_phantom_generate (&params, &error);
  g_assert_no_error (error);
  info.path = g_strdup (path);
  info.format = g_strdup ("memory");
  info.patient_id = g_path_get_basename (path);
  info.frames = frames;
  info.rows = rows;
  info.columns = columns;
  info.bits_stored = phantom->bits_stored;
  info.has_window = TRUE;
  info.window_center = phantom->window_center;
  info.window_width = phantom->window_width;
  return picard_volume_new_from_memory (&info, g_memdup2 (phantom->voxels,
                                                          (gsize) frames * rows * columns
                                                          * sizeof (guint16)));
}
