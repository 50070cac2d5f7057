/* A phantom BCS-DBT data set under a real display: the browser lists and filters its
 * volumes and opens one; lesion boxes are drawn where the boxes table says (and only on the
 * slices they cover); a volume opened directly finds its tables; the view exports to PNG,
 * SVG and PDF and to the clipboard; keyboard-only use of the main actions. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "picard-test-ui.h"
#include "picard-window.h"

#define ROWS 256
#define COLUMNS 192
#define FRAMES 12

static PicardApplication *app;
static char *data_dir;

static gboolean
browser_loaded (gpointer data)
{
  return !picard_dataset_browser_is_loading (data)
         && picard_dataset_browser_get_index (data) != NULL;
}

static void
wait_idle (PicardWindow *window)
{
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 15000));
  picard_test_ui_iterate (40);
}

static PicardWindow *
new_window (void)
{
  PicardWindow *window = picard_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 960, 680);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static char *
table_path (void)
{
  return g_build_filename (data_dir, "BCS-DBT-file-paths.csv", NULL);
}

/* Whether a box-green pixel lies within @radius of widget point (x, y). */
static gboolean
green_near (GdkTexture *shot, double x, double y, int radius)
{
  for (int dy = -radius; dy <= radius; dy++)
    for (int dx = -radius; dx <= radius; dx++)
      {
        int px = (int) x + dx, py = (int) y + dy;
        guint32 p;

        if (px < 0 || py < 0 || px >= gdk_texture_get_width (shot)
            || py >= gdk_texture_get_height (shot))
          continue;
        p = picard_test_ui_pixel (shot, px, py);
        if (((p >> 8) & 0xff) > 200 && ((p >> 16) & 0xff) < 100 && (p & 0xff) < 150)
          return TRUE;
      }
  return FALSE;
}

/* Where the middle of a lesion box's top edge is on screen. */
static void
box_top_on_screen (PicardWindow *window, const PicardLesion *lesion, double *wx, double *wy)
{
  cairo_matrix_t m;
  int x = lesion->x, y = lesion->y;

  picard_orientation_map_box (picard_window_get_orientation (window), PICARD_SPACE_DATASET,
                              picard_window_get_space (window), &x, &y, lesion->width,
                              lesion->height);
  picard_slice_view_get_transform (picard_window_get_slice_view (window), &m);
  *wx = x + (lesion->width + 1) / 2.0;
  *wy = y;
  cairo_matrix_transform_point (&m, wx, wy);
}

static PicardDatasetBrowser *
find_browser (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (toplevels, i);

      if (PICARD_IS_DATASET_BROWSER (item))
        return PICARD_DATASET_BROWSER (item);
    }
  return NULL;
}

static void
test_browser_lists_filters_and_opens (void)
{
  PicardWindow *window = new_window ();
  g_autofree char *table = table_path ();
  g_autoptr(GFile) file = g_file_new_for_path (table);
  PicardDatasetBrowser *browser;
  GListModel *shown;
  g_autoptr(PicardDatasetEntry) first = NULL;
  g_autoptr(GdkTexture) shot = NULL;
  GArray *lesions;
  const PicardLesion *lesion;
  double wx, wy;
  guint n;

  /* Opening the table shows the browser. */
  picard_window_open_file (window, file);
  browser = find_browser ();
  g_assert_nonnull (browser);
  g_assert_true (picard_test_ui_wait (browser_loaded, browser, 10000));
  shown = picard_dataset_browser_get_shown (browser);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 3);
  first = g_list_model_get_item (shown, 0);
  g_assert_cmpuint (picard_dataset_entry_get_n_lesions (first), >=, 1);
  g_assert_nonnull (strstr (picard_dataset_browser_get_status (browser), "3 of 3 volumes"));
  picard_test_ui_iterate (100);
  g_clear_object (&shot);
  shot = picard_test_ui_screenshot (GTK_WIDGET (browser), "dataset-browser");

  /* Filters: a patient, a view, a class, boxes only. */
  picard_dataset_browser_set_filter (browser, picard_dataset_entry_get_patient_id (first), NULL,
                                     NULL, FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 1);
  picard_dataset_browser_set_filter (browser, NULL, picard_dataset_entry_get_view (first), NULL,
                                     FALSE);
  n = g_list_model_get_n_items (shown);
  g_assert_cmpuint (n, >=, 1);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PicardDatasetEntry) e = g_list_model_get_item (shown, i);

      g_assert_cmpstr (picard_dataset_entry_get_view (e), ==, picard_dataset_entry_get_view (first));
    }
  picard_dataset_browser_set_filter (browser, NULL, NULL, "normal", FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 0);
  picard_dataset_browser_set_filter (browser, NULL, NULL, NULL, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 3);
  picard_dataset_browser_set_filter (browser, picard_dataset_entry_get_patient_id (first), NULL,
                                     NULL, FALSE);

  /* Enter on the list opens the selected volume (keyboard only). */
  picard_test_ui_focus (GTK_WINDOW (browser));
  gtk_widget_grab_focus (GTK_WIDGET (picard_dataset_browser_get_column_view (browser)));
  picard_test_ui_iterate (50);
  picard_test_ui_key (GTK_WIDGET (browser), GDK_KEY_Return, 0);
  wait_idle (window);
  g_assert_cmpstr (picard_volume_get_info (picard_window_get_volume (window))->patient_id, ==,
                   picard_dataset_entry_get_patient_id (first));
  g_assert_cmpint (picard_window_get_orientation (window)->view_laterality_source, ==,
                   PICARD_LATERALITY_SOURCE_VIEW);
  lesions = picard_window_get_lesions (window);
  g_assert_nonnull (lesions);
  g_assert_cmpuint (lesions->len, ==, picard_dataset_entry_get_n_lesions (first));
  lesion = &g_array_index (lesions, PicardLesion, 0);

  /* N goes to the lesion's central slice, where its box is drawn solid. */
  picard_test_ui_focus (GTK_WINDOW (window));
  if ((guint) lesion->slice == picard_window_get_slice (window))
    picard_window_set_slice (window, 0);
  wait_idle (window);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_n, 0);
  wait_idle (window);
  g_assert_cmpint (picard_window_get_shown_slice (window), ==, lesion->slice);
  g_assert_cmpuint (picard_slice_view_get_n_boxes (picard_window_get_slice_view (window)), >=, 1);
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "dataset-lesion-window");
  g_clear_object (&shot);
  shot = picard_test_ui_screenshot (GTK_WIDGET (picard_window_get_slice_view (window)),
                                    "dataset-lesion-view");
  box_top_on_screen (window, lesion, &wx, &wy);
  g_assert_true (green_near (shot, wx, wy, 2));
  /* Not inside the box, well away from its edges. */
  box_top_on_screen (window, lesion, &wx, &wy);
  g_assert_false (green_near (shot, wx, wy + 12, 2));

  /* Beyond VolumeSlices/4 slices from the centre the box is gone. */
  {
    int half = picard_lesion_get_half_depth (lesion);
    int far = lesion->slice - half - 1 >= 0 ? lesion->slice - half - 1 : lesion->slice + half + 1;

    g_assert_cmpint (far, <, FRAMES);
    picard_window_set_slice (window, (guint) far);
    wait_idle (window);
    g_clear_object (&shot);
    shot = picard_test_ui_screenshot (GTK_WIDGET (picard_window_get_slice_view (window)),
                                      "dataset-far-slice");
    box_top_on_screen (window, lesion, &wx, &wy);
    g_assert_false (green_near (shot, wx, wy, 2));
  }

  /* B hides the boxes, B shows them again. */
  picard_window_set_slice (window, (guint) lesion->slice);
  wait_idle (window);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_b, 0);
  g_assert_cmpuint (picard_slice_view_get_n_boxes (picard_window_get_slice_view (window)), ==, 0);
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_b, 0);
  g_assert_cmpuint (picard_slice_view_get_n_boxes (picard_window_get_slice_view (window)), >=, 1);
  gtk_window_destroy (GTK_WINDOW (window));
}

static PicardWindow *
open_first_volume_directly (void)
{
  PicardWindow *window = new_window ();
  g_autofree char *table = table_path ();
  g_autoptr(GArray) paths = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) fields = NULL;
  g_autofree char *volume_path = NULL;
  g_autoptr(GFile) file = NULL;

  /* The first row's descriptive path. */
  g_assert_true (g_file_get_contents (table, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  fields = g_strsplit (lines[1], ",", -1);
  volume_path = g_build_filename (data_dir, fields[3], NULL);
  file = g_file_new_for_path (volume_path);
  picard_window_open_file (window, file);
  wait_idle (window);
  picard_test_ui_focus (GTK_WINDOW (window));
  return window;
}

static void
test_volume_finds_its_tables (void)
{
  PicardWindow *window = open_first_volume_directly ();
  GArray *lesions = picard_window_get_lesions (window);

  g_assert_nonnull (lesions);
  g_assert_cmpuint (lesions->len, >=, 1);
  g_assert_cmpint (picard_window_get_orientation (window)->view_laterality_source, ==,
                   PICARD_LATERALITY_SOURCE_VIEW);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Started without files, the application opens its demo volume, whose data set's boxes
 * load on their own. */
static void
test_demo_on_activate (void)
{
  g_autofree char *table = table_path ();
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) fields = NULL;
  g_autofree char *demo = NULL;
  PicardWindow *window;

  g_assert_true (g_file_get_contents (table, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  fields = g_strsplit (lines[2], ",", -1);
  demo = g_build_filename (data_dir, fields[3], NULL);
  picard_application_set_demo_volume (app, demo);
  window = picard_test_ui_activate (app);
  wait_idle (window);
  g_assert_cmpstr (picard_volume_get_info (picard_window_get_volume (window))->path, ==, demo);
  g_assert_nonnull (picard_window_get_lesions (window));
  g_assert_cmpuint (picard_window_get_lesions (window)->len, >=, 1);
  gtk_window_destroy (GTK_WINDOW (window));
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} Wait;

static void
export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->ok = picard_window_export_finish (PICARD_WINDOW (source), result, &wait->error);
  wait->done = TRUE;
}

static gboolean
wait_done (gpointer data)
{
  return ((Wait *) data)->done;
}

static gboolean
export_view (PicardWindow *window, const char *path, gboolean native, gboolean replace,
             GError **error)
{
  Wait wait = { 0 };

  picard_window_export_async (window, path, PICARD_EXPORT_FORMAT_AUTO, native, TRUE, replace,
                              NULL, export_done, &wait);
  g_assert_true (picard_test_ui_wait (wait_done, &wait, 20000));
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return wait.ok;
}

static void
read_clipboard (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GdkTexture **texture = user_data;
  g_autoptr(GError) error = NULL;

  *texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
texture_read (gpointer data)
{
  return *(GdkTexture **) data != NULL;
}

static gboolean
clipboard_has_texture (gpointer data)
{
  GdkContentFormats *formats = gdk_clipboard_get_formats (data);

  return gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE);
}

static void
test_export_and_clipboard (void)
{
  PicardWindow *window = open_first_volume_directly ();
  GArray *lesions = picard_window_get_lesions (window);
  const PicardLesion *lesion = &g_array_index (lesions, PicardLesion, 0);
  g_autofree char *dir = g_dir_make_tmp ("picard-export-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "view.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "view.svg", NULL);
  g_autofree char *pdf = g_build_filename (dir, "view.pdf", NULL);
  g_autofree char *screen = g_build_filename (dir, "screen.png", NULL);
  g_autofree char *text = NULL;
  g_autofree char *pdf_text = NULL;
  g_autofree char *media_box = NULL;
  g_autoptr(GdkTexture) image = NULL;
  g_autoptr(GdkTexture) copied = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) caption = NULL;
  GStatBuf before, after;
  gsize length;
  int x, y;

  picard_window_set_slice (window, (guint) lesion->slice);
  wait_idle (window);
  caption = picard_window_get_caption (window);
  g_assert_nonnull (strstr (caption[0], picard_volume_get_info (picard_window_get_volume (window))->patient_id));
  g_assert_nonnull (strstr (caption[1], "Slice"));
  g_assert_nonnull (strstr (caption[1], "window centre"));

  /* Native resolution: the slice pixel for pixel, the caption below. */
  g_assert_true (export_view (window, png, TRUE, FALSE, &error));
  g_assert_no_error (error);
  image = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (image), ==, COLUMNS);
  g_assert_cmpint (gdk_texture_get_height (image), >, ROWS + 10);
  x = lesion->x;
  y = lesion->y;
  picard_orientation_map_box (picard_window_get_orientation (window), PICARD_SPACE_DATASET,
                              picard_window_get_space (window), &x, &y, lesion->width,
                              lesion->height);
  g_assert_true (green_near (image, x + lesion->width / 2.0, y, 2));

  g_assert_true (export_view (window, svg, TRUE, FALSE, &error));
  g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "<svg"));
  g_assert_nonnull (strstr (text, picard_volume_get_info (picard_window_get_volume (window))->patient_id));

  g_assert_true (export_view (window, pdf, TRUE, FALSE, &error));
  g_assert_true (g_file_get_contents (pdf, &pdf_text, &length, NULL));
  g_assert_true (g_str_has_prefix (pdf_text, "%PDF-"));
  media_box = g_strdup_printf ("/MediaBox [ 0 0 %d %d ]", gdk_texture_get_width (image),
                               gdk_texture_get_height (image));
  g_assert_nonnull (g_strstr_len (pdf_text, length, media_box));

  /* An existing file is not replaced without asking. */
  g_assert_cmpint (g_stat (png, &before), ==, 0);
  g_assert_false (export_view (window, png, FALSE, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_cmpint (g_stat (png, &after), ==, 0);
  g_assert_cmpint (before.st_size, ==, after.st_size);

  /* Screen resolution: the view as shown. */
  g_assert_true (export_view (window, screen, FALSE, FALSE, &error));
  g_clear_object (&image);
  image = gdk_texture_new_from_filename (screen, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (image), ==,
                   gtk_widget_get_width (GTK_WIDGET (picard_window_get_slice_view (window))));
  g_assert_cmpint (gdk_texture_get_height (image), ==,
                   gtk_widget_get_height (GTK_WIDGET (picard_window_get_slice_view (window))));

  /* Ctrl+C puts the view on the clipboard as an image. */
  picard_test_ui_key (GTK_WIDGET (window), GDK_KEY_c, GDK_CONTROL_MASK);
  g_assert_true (picard_test_ui_wait (clipboard_has_texture,
                                      gtk_widget_get_clipboard (GTK_WIDGET (window)), 10000));
  gdk_clipboard_read_texture_async (gtk_widget_get_clipboard (GTK_WIDGET (window)), NULL,
                                    read_clipboard, &copied);
  g_assert_true (picard_test_ui_wait (texture_read, &copied, 10000));
  g_assert_cmpint (gdk_texture_get_width (copied), ==, gdk_texture_get_width (image));
  g_assert_cmpint (gdk_texture_get_height (copied), ==, gdk_texture_get_height (image));

  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_remove_tree (dir);
}

static gboolean
has_dialog (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER (item) && gtk_widget_get_visible (GTK_WIDGET (item)))
        return TRUE;
    }
  return FALSE;
}

static gboolean
no_dialog (gpointer data)
{
  return !has_dialog (data);
}

static void
test_keyboard_dialogs (void)
{
  PicardWindow *window = open_first_volume_directly ();
  static const guint keys[] = { GDK_KEY_o, GDK_KEY_d, GDK_KEY_e };

  /* Ctrl+O, Ctrl+D and Ctrl+E open their file choosers; Escape closes them. */
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      picard_test_ui_key (GTK_WIDGET (window), keys[i], GDK_CONTROL_MASK);
      g_assert_true (picard_test_ui_wait (has_dialog, NULL, 10000));
      picard_test_ui_iterate (200);
      if (i == 2)
        {
          g_autoptr(GdkTexture) shot = NULL;
          GListModel *toplevels = gtk_window_get_toplevels ();

          for (guint t = 0; t < g_list_model_get_n_items (toplevels); t++)
            {
              g_autoptr(GObject) item = g_list_model_get_item (toplevels, t);

              if (GTK_IS_FILE_CHOOSER (item))
                shot = picard_test_ui_screenshot (GTK_WIDGET (item), "export-dialog");
            }
        }
      {
        GListModel *toplevels = gtk_window_get_toplevels ();

        for (guint t = 0; t < g_list_model_get_n_items (toplevels); t++)
          {
            g_autoptr(GObject) item = g_list_model_get_item (toplevels, t);

            if (GTK_IS_FILE_CHOOSER (item) && gtk_widget_get_visible (GTK_WIDGET (item)))
              {
                picard_test_ui_focus (GTK_WINDOW (item));
                picard_test_ui_key (GTK_WIDGET (item), GDK_KEY_Escape, 0);
              }
          }
      }
      g_assert_true (picard_test_ui_wait (no_dialog, NULL, 10000));
      picard_test_ui_focus (GTK_WINDOW (window));
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("picard-ui-data-XXXXXX", NULL);
  static const char *const phantom_args[] = {
    "--count", "3", "--seed", "11", "--rows", G_STRINGIFY (ROWS), "--columns",
    G_STRINGIFY (COLUMNS), "--frames", G_STRINGIFY (FRAMES), "--masses", "1", NULL
  };
  int status;

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  /* The file choosers are GTK's own dialogs here, not a portal's. */
  g_setenv ("GTK_USE_PORTAL", "0", TRUE);
  gtk_test_init (&argc, &argv, NULL);
  data_dir = g_dir_make_tmp ("picard-dataset-XXXXXX", NULL);
  picard_test_ui_make_phantoms (data_dir, phantom_args);
  app = picard_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_test_add_func ("/ui/dataset/browser", test_browser_lists_filters_and_opens);
  g_test_add_func ("/ui/dataset/volume-finds-tables", test_volume_finds_its_tables);
  g_test_add_func ("/ui/dataset/export-and-clipboard", test_export_and_clipboard);
  g_test_add_func ("/ui/dataset/keyboard-dialogs", test_keyboard_dialogs);
  g_test_add_func ("/ui/dataset/demo-on-activate", test_demo_on_activate);
  status = g_test_run ();
  g_object_unref (app);
  picard_test_remove_tree (data_dir);
  g_free (data_dir);
  picard_test_remove_tree (data_home);
  return status;
}
