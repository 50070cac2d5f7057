/* The scan panel under a real display (Xvfb), with the synthetic test completer on a small
 * phantom: the heatmap fills in while the scan runs, pauses and resumes, is hot where the
 * mass is, switches metric without completing again, survives a cancel and a lost device;
 * a click on the slice brings the patch's completions, more samples add to them, and the
 * panel exports as a figure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "picard-error.h"
#include "picard-heatmap.h"
#include "picard-model-loader.h"
#include "picard-phantom.h"
#include "picard-test-completer.h"
#include "picard-test-ui.h"
#include "picard-window.h"

#define ROWS 192
#define COLUMNS 160
#define FRAMES 4


static PicardApplication *app;

/* A completer that runs out of memory on batches larger than @max_batch (the test
 * completer does the work). */
#define TEST_TYPE_TIGHT_COMPLETER (test_tight_completer_get_type ())
G_DECLARE_FINAL_TYPE (TestTightCompleter, test_tight_completer, TEST, TIGHT_COMPLETER, GObject)

struct _TestTightCompleter {
  GObject parent_instance;
  PicardTestCompleter *inner;
  guint max_batch;
  guint failures;
};

static void tight_iface_init (PicardCompleterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestTightCompleter, test_tight_completer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PICARD_TYPE_COMPLETER, tight_iface_init))

static guint
tight_batch_size (PicardCompleter *c)
{
  return picard_completer_get_batch_size (PICARD_COMPLETER (TEST_TIGHT_COMPLETER (c)->inner));
}

static guint
tight_feature_length (PicardCompleter *c, guint hole)
{
  return picard_completer_get_feature_length (PICARD_COMPLETER (TEST_TIGHT_COMPLETER (c)->inner),
                                              hole);
}

static const char *
tight_model_hash (PicardCompleter *c)
{
  return picard_completer_get_model_hash (PICARD_COMPLETER (TEST_TIGHT_COMPLETER (c)->inner));
}

static gboolean
tight_complete (PicardCompleter *c, const PicardCompletionBatch *batch, float *holes,
                float *features, float *gt_features, GCancellable *cancellable, GError **error)
{
  TestTightCompleter *self = TEST_TIGHT_COMPLETER (c);

  if (batch->n_patches > self->max_batch)
    {
      self->failures++;
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY,
                   "Out of device memory for a batch of %u patches", batch->n_patches);
      return FALSE;
    }
  return picard_completer_complete (PICARD_COMPLETER (self->inner), batch, holes, features,
                                    gt_features, cancellable, error);
}

static void
tight_iface_init (PicardCompleterInterface *iface)
{
  iface->get_batch_size = tight_batch_size;
  iface->get_feature_length = tight_feature_length;
  iface->get_model_hash = tight_model_hash;
  iface->complete = tight_complete;
}

static void
test_tight_completer_finalize (GObject *object)
{
  g_clear_object (&TEST_TIGHT_COMPLETER (object)->inner);
  G_OBJECT_CLASS (test_tight_completer_parent_class)->finalize (object);
}

static void
test_tight_completer_class_init (TestTightCompleterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_tight_completer_finalize;
}

static void
test_tight_completer_init (TestTightCompleter *self)
{
}

static gboolean
has_update (gpointer data)
{
  return picard_scan_panel_get_n_updates (picard_window_get_scan_panel (data)) > 0;
}

static guint redraws_wanted;

static gboolean
redrawn (gpointer data)
{
  return picard_scan_panel_get_n_redraws (picard_window_get_scan_panel (data)) >= redraws_wanted;
}

static gint gate_closed;

static void
gate_hook (PicardTestCompleter *completer, guint call, gpointer user_data)
{
  /* The first batch goes through; later ones wait while the test holds the gate, so it sees
   * the scan between batches whatever the machine's speed. */
  while (call >= 2 && g_atomic_int_get (&gate_closed))
    g_usleep (1000);
}

static PicardVolume *
phantom_volume (void)
{
  return picard_test_ui_phantom_volume ("/tmp/phantom.dcm", 7, FRAMES, ROWS, COLUMNS);
}

static void
set_scan_settings (guint64 seed)
{
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");

  g_settings_set_uint (settings, "scan-patch-size", 32);
  g_settings_set_uint (settings, "scan-hole-size", 16);
  g_settings_set_uint (settings, "scan-stride", 8);
  g_settings_set_uint (settings, "scan-samples", 4);
  g_settings_set_uint64 (settings, "scan-seed", seed);
  g_settings_set_string (settings, "scan-range", "slice");
  g_settings_set_boolean (settings, "scan-roi", FALSE);
  g_settings_set_string (settings, "scan-metric", "mcd-image");
}

/* The displayed widget point of file pixel (x, y)'s centre. */
static void
file_to_widget (PicardWindow *window, double x, double y, double *wx, double *wy)
{
  cairo_matrix_t m;

  picard_orientation_map_point_f (picard_window_get_orientation (window), PICARD_SPACE_FILE,
                                  picard_window_get_space (window), &x, &y);
  picard_slice_view_get_transform (picard_window_get_slice_view (window), &m);
  *wx = x + 0.5;
  *wy = y + 0.5;
  cairo_matrix_transform_point (&m, wx, wy);
}

/* The hottest scored cell's hole centre, in file pixels. */
static void
hottest (const PicardScanResult *result, PicardScanMetric metric, double *x, double *y)
{
  g_autofree float *grid = picard_scan_result_get_grid (result, metric);
  guint best = 0;

  for (guint k = 1; k < result->n_h * result->n_w; k++)
    if (!isnan (grid[k]) && (isnan (grid[best]) || grid[k] > grid[best]))
      best = k;
  *y = (best / result->n_w) * result->params.stride + (result->params.patch_size - 1) / 2.0;
  *x = (best % result->n_w) * result->params.stride + (result->params.patch_size - 1) / 2.0;
}

static void
export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;

  if (!picard_scan_panel_export_patch_finish (PICARD_SCAN_PANEL (source), result, error)
      && *error == NULL)
    g_assert_not_reached ();
  g_object_set_data (source, "exported", GINT_TO_POINTER (1));
}

static gboolean
exported (gpointer data)
{
  return g_object_get_data (data, "exported") != NULL;
}

static void
test_scan_and_completions (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (8, TRUE);
  g_autofree char *dir = g_dir_make_tmp ("picard-ui-scan-XXXXXX", NULL);
  PicardWindow *window = picard_window_new (app);
  PicardScanPanel *panel = picard_window_get_scan_panel (window);
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  PicardScanMetric mean = { PICARD_SCAN_REDUCE_MEAN, PICARD_SCAN_SPACE_IMAGE };
  const PicardScanResult *result;
  g_autoptr(GdkTexture) shot = NULL;
  guint calls, slice;
  double hx, hy, wx, wy, min4;

  set_scan_settings (11);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 760);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_focus (GTK_WINDOW (window));
  picard_test_completer_set_hook (completer, gate_hook, NULL);
  g_atomic_int_set (&gate_closed, TRUE);
  picard_window_set_completer (window, PICARD_COMPLETER (completer), "test model");
  slice = picard_window_get_slice (window);

  /* Started by its key: the first report brings a partly filled heatmap. */
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_F5, 0);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_RUNNING);
  g_assert_true (picard_test_ui_wait (has_update, window, 10000));
  picard_scan_panel_pause (panel);
  g_atomic_int_set (&gate_closed, FALSE);
  result = picard_scan_panel_get_result (panel, slice);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->n_done, >, 0);
  g_assert_cmpuint (result->n_done + result->n_skipped, <, result->n_total);
  {
    g_autofree float *heat = picard_heatmap_from_result (result, mcd,
                                                         PICARD_HEATMAP_REGISTERED, NULL);
    gsize finite = 0;

    for (gsize k = 0; k < (gsize) ROWS * COLUMNS; k++)
      finite += !isnan (heat[k]);
    g_assert_cmpuint (finite, >, 0);
  }
  /* Paused: no more completer calls after the batch in flight. */
  picard_test_ui_iterate (150);
  calls = picard_test_completer_get_calls (completer);
  picard_test_ui_iterate (250);
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, calls);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_PAUSED);
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_F6, 0);
  /* Resumed (it may have finished already). */
  g_assert_cmpint (picard_scan_panel_get_state (panel), !=, PICARD_SCAN_STATE_PAUSED);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 60000));
  result = picard_scan_panel_get_result (panel, slice);
  g_assert_true (picard_scan_result_is_complete (result));
  g_assert_nonnull (strstr (picard_scan_panel_get_progress_text (panel), "patches"));
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_iterate (60);

  /* The overlay is drawn where the heatmap is hot: jet's warm end, not grey. */
  hottest (result, mcd, &hx, &hy);
  file_to_widget (window, hx, hy, &wx, &wy);
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "scan-complete");
  {
    GtkWidget *view = GTK_WIDGET (picard_window_get_slice_view (window));
    graphene_point_t p;
    guint32 pixel;
    int r, b;

    g_assert_true (gtk_widget_compute_point (view, GTK_WIDGET (window),
                                             &GRAPHENE_POINT_INIT (wx, wy), &p));
    pixel = picard_test_ui_pixel (shot, (int) p.x, (int) p.y);
    r = (pixel >> 16) & 0xff;
    b = pixel & 0xff;
    g_assert_cmpint (r, >, b + 40);
  }

  /* A lower threshold above every score leaves the slice grey there. */
  {
    g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
    g_autoptr(GdkTexture) grey = NULL;
    GtkWidget *view = GTK_WIDGET (picard_window_get_slice_view (window));
    guint32 pixel;
    PicardLattice lattice;

    g_settings_set_double (settings, "overlay-lower-threshold", 1000.0);
    g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
    picard_test_ui_iterate (60);
    grey = picard_test_ui_screenshot (view, "scan-threshold");
    pixel = picard_test_ui_pixel (grey, (int) wx, (int) wy);
    g_assert_cmpint (abs ((int) ((pixel >> 16) & 0xff) - (int) (pixel & 0xff)), <=, 2);
    g_settings_set_double (settings, "overlay-lower-threshold", 0.0);
    /* The lattice: 17 x 21 hole centres of the 32 px patches, 8 px apart. */
    g_assert_false (picard_slice_view_get_lattice (PICARD_SLICE_VIEW (view), NULL));
    g_settings_set_boolean (settings, "show-lattice", TRUE);
    g_assert_true (picard_slice_view_get_lattice (PICARD_SLICE_VIEW (view), &lattice));
    g_assert_cmpuint (lattice.n_x, ==, 17);
    g_assert_cmpuint (lattice.n_y, ==, 21);
    g_assert_cmpfloat (lattice.stride, ==, 8.0);
    picard_test_ui_iterate (60);
    g_clear_object (&grey);
    grey = picard_test_ui_screenshot (view, "scan-lattice");
    g_settings_set_boolean (settings, "show-lattice", FALSE);
    g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  }

  /* Another metric: redrawn from the stored distances, no completer call. */
  calls = picard_test_completer_get_calls (completer);
  redraws_wanted = picard_scan_panel_get_n_redraws (panel) + 1;
  picard_scan_panel_set_metric (panel, mean);
  g_assert_true (picard_test_ui_wait (redrawn, window, 10000));
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, calls);
  {
    guint i = 0, j = 0;
    double a, b;

    while (isnan (picard_scan_result_get_score (result, mcd, i / result->n_w, i % result->n_w)))
      i++;
    j = i % result->n_w;
    i /= result->n_w;
    a = picard_scan_result_get_score (result, mcd, i, j);
    b = picard_scan_result_get_score (result, mean, i, j);
    g_assert_cmpfloat (b, >=, a);
  }
  picard_scan_panel_set_metric (panel, mcd);

  /* A finished slice comes back at once: starting again completes nothing. */
  picard_scan_panel_start (panel);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_IDLE);
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, calls);

  /* A click on the hot patch: its 4 completions, sorted, in the side panel. */
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  file_to_widget (window, hx, hy, &wx, &wy);
  picard_test_ui_pointer_move (GTK_WIDGET (picard_window_get_slice_view (window)), wx, wy);
  picard_test_ui_click (GTK_WIDGET (picard_window_get_slice_view (window)), 1, 0);
  picard_test_ui_iterate (20);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 10000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, 4);
  {
    guint i, j;
    PicardPatchOutline outline;
    g_autofree float *grid = picard_scan_result_get_grid (result, mcd);

    g_assert_true (picard_scan_panel_get_selected (panel, &i, &j));
    g_assert_cmpfloat (fabs (i * 8 + 15.5 - hy), <=, 4.0);
    g_assert_cmpfloat (fabs (j * 8 + 15.5 - hx), <=, 4.0);
    /* The scan's MCD of that patch is the smallest of the panel's distances. */
    g_assert_cmpfloat (fabs (picard_scan_panel_get_min_distance (panel)
                             - grid[i * result->n_w + j]), <, 1e-3);
    g_assert_true (picard_slice_view_get_patch (picard_window_get_slice_view (window),
                                                &outline));
    g_assert_cmpuint (outline.patch_size, ==, 32);
  }
  min4 = picard_scan_panel_get_min_distance (panel);
  g_assert_true (picard_scan_panel_hover_completion (panel, 0));
  g_assert_nonnull (strstr (picard_scan_panel_get_hover_text (panel), "L2 distance"));
  picard_test_ui_iterate (60);
  g_clear_object (&shot);
  shot = picard_test_ui_screenshot (picard_scan_panel_get_patch_widget (panel), "scan-patch");

  /* More samples: 8 completions, the minimum no larger. */
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_m,
                      GDK_CONTROL_MASK);
  picard_test_ui_iterate (20);
  g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 10000));
  g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, 8);
  g_assert_cmpfloat (picard_scan_panel_get_min_distance (panel), <=, min4);

  /* Enter picks the patch under the pointer, from the keyboard. */
  {
    guint i0, j0, i1, j1;

    g_assert_true (picard_scan_panel_get_selected (panel, &i0, &j0));
    file_to_widget (window, 40.0, 60.0, &wx, &wy);
    picard_test_ui_pointer_move (GTK_WIDGET (picard_window_get_slice_view (window)), wx, wy);
    picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_Return, 0);
    picard_test_ui_iterate (20);
    g_assert_true (picard_test_ui_wait (picard_test_ui_completions_done, window, 10000));
    g_assert_true (picard_scan_panel_get_selected (panel, &i1, &j1));
    g_assert_cmpuint (i1, ==, 6); /* round ((60 - 15.5) / 8) */
    g_assert_cmpuint (j1, ==, 3); /* round ((40 - 15.5) / 8) */
    g_assert_true (i1 != i0 || j1 != j0);
    g_assert_cmpuint (picard_scan_panel_get_n_completions (panel), ==, 4);
  }

  /* Export: PNG, SVG and PDF. */
  {
    static const char *const names[] = { "strip.png", "strip.svg", "strip.pdf" };
    static const PicardExportFormat formats[] = {
      PICARD_EXPORT_FORMAT_PNG, PICARD_EXPORT_FORMAT_SVG, PICARD_EXPORT_FORMAT_PDF,
    };

    for (guint k = 0; k < G_N_ELEMENTS (names); k++)
      {
        g_autofree char *path = g_build_filename (dir, names[k], NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *contents = NULL;
        gsize length;

        g_object_set_data (G_OBJECT (panel), "exported", NULL);
        picard_scan_panel_export_patch_async (panel, path, formats[k], NULL, export_done,
                                              &error);
        g_assert_true (picard_test_ui_wait (exported, panel, 20000));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
        g_assert_cmpuint (length, >, 100);
        if (k == 0)
          {
            g_autoptr(GdkTexture) png = gdk_texture_new_from_filename (path, NULL);

            g_assert_nonnull (png);
            g_assert_cmpint (gdk_texture_get_width (png), >, 128 * 4);
          }
        g_remove (path);
      }
  }

  /* Cancel keeps the partial heatmap. */
  set_scan_settings (12);
  picard_test_completer_reset_counts (completer);
  g_atomic_int_set (&gate_closed, TRUE);
  {
    guint before = picard_scan_panel_get_n_updates (panel);

    picard_scan_panel_start (panel);
    while (picard_scan_panel_get_n_updates (panel) == before)
      picard_test_ui_iterate (10);
  }
  picard_test_ui_key (GTK_WIDGET (picard_window_get_slice_view (window)), GDK_KEY_F5,
                      GDK_SHIFT_MASK);
  g_atomic_int_set (&gate_closed, FALSE);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 10000));
  result = picard_scan_panel_get_result (panel, slice);
  g_assert_cmpuint (result->params.seed, ==, 12);
  g_assert_cmpuint (result->n_done, >, 0);
  g_assert_false (picard_scan_result_is_complete (result));
  g_assert_nonnull (strstr (picard_scan_panel_get_status (panel), "cancelled"));
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  {
    PicardRenderedSlice *shown = picard_slice_view_get_rendered (picard_window_get_slice_view (window));

    g_assert_nonnull (shown->heatmap);
  }

  /* The device lost mid-scan: a message, the heatmap so far stays. */
  picard_test_completer_reset_counts (completer);
  picard_test_completer_set_fail_at (completer, 3);
  set_scan_settings (13);
  picard_scan_panel_start (panel);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 10000));
  g_assert_nonnull (picard_window_get_message (window));
  g_assert_nonnull (strstr (picard_window_get_message (window), "device"));
  result = picard_scan_panel_get_result (panel, slice);
  g_assert_cmpuint (result->n_done, >, 0);
  g_clear_object (&shot);
  shot = picard_test_ui_screenshot (GTK_WIDGET (window), "scan-device-lost");

  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
  picard_test_remove_tree (dir);
}

/* A checkpoint that does not fit: a message, nothing scanned. */
static void
test_geometry_refused (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (8, TRUE);
  PicardWindow *window = picard_window_new (app);
  PicardScanPanel *panel = picard_window_get_scan_panel (window);
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");

  set_scan_settings (11);
  /* A patch larger than the slice. */
  g_settings_set_uint (settings, "scan-patch-size", 256);
  g_settings_set_uint (settings, "scan-hole-size", 128);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_window_set_completer (window, PICARD_COMPLETER (completer), "test model");
  picard_scan_panel_start (panel);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_IDLE);
  g_assert_nonnull (picard_window_get_message (window));
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
}

static PicardWindow *
window_with_phantom (PicardVolume *volume)
{
  PicardWindow *window = picard_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 760);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_set_volume (window, volume);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  return window;
}

/* Out of memory: one retry with half the batch finishes the scan; a second failure stops
 * it with a message and keeps what was done. */
static void
test_out_of_memory (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  TestTightCompleter *tight = g_object_new (TEST_TYPE_TIGHT_COMPLETER, NULL);
  PicardWindow *window = window_with_phantom (volume);
  PicardScanPanel *panel = picard_window_get_scan_panel (window);
  const PicardScanResult *result;

  set_scan_settings (21);
  tight->inner = picard_test_completer_new (8, FALSE);
  tight->max_batch = 4;
  picard_window_set_completer (window, PICARD_COMPLETER (tight), "tight");
  picard_scan_panel_start (panel);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 30000));
  result = picard_scan_panel_get_result (panel, picard_window_get_slice (window));
  g_assert_true (picard_scan_result_is_complete (result));
  g_assert_cmpuint (tight->failures, ==, 1);
  g_assert_nonnull (strstr (picard_scan_panel_get_status (panel), "smaller batch"));
  g_assert_null (picard_window_get_message (window));

  /* Too tight even for half the batch. */
  set_scan_settings (22);
  tight->max_batch = 2;
  tight->failures = 0;
  picard_scan_panel_start (panel);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 30000));
  g_assert_cmpuint (tight->failures, ==, 2);
  g_assert_nonnull (picard_window_get_message (window));
  g_assert_nonnull (strstr (picard_window_get_message (window), "retried with a smaller batch"));
  result = picard_scan_panel_get_result (panel, picard_window_get_slice (window));
  g_assert_nonnull (result);
  g_assert_cmpuint (result->params.seed, ==, 22);
  g_assert_false (picard_scan_result_is_complete (result));

  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
  g_object_unref (tight);
}

/* A whole-volume scan runs in the background while the user scrolls; every slice ends with
 * a heatmap, and going back to a finished slice shows it at once from the stored result. */
static void
test_volume_scan (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autoptr(PicardTestCompleter) completer = picard_test_completer_new (16, FALSE);
  PicardWindow *window = window_with_phantom (volume);
  PicardScanPanel *panel = picard_window_get_scan_panel (window);
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
  guint calls;

  set_scan_settings (31);
  g_settings_set_uint (settings, "scan-stride", 16);
  g_settings_set_string (settings, "scan-range", "volume");
  picard_window_set_completer (window, PICARD_COMPLETER (completer), "test model");
  picard_scan_panel_start (panel);
  for (guint s = 0; s < FRAMES && picard_scan_panel_get_state (panel) != PICARD_SCAN_STATE_IDLE;
       s++)
    {
      picard_window_set_slice (window, s);
      picard_test_ui_iterate (30);
    }
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 60000));
  g_assert_cmpstr (picard_scan_panel_get_status (panel), ==, "Scan finished");
  for (guint s = 0; s < FRAMES; s++)
    {
      const PicardScanResult *result = picard_scan_panel_get_result (panel, s);

      g_assert_nonnull (result);
      g_assert_true (picard_scan_result_is_complete (result));
    }
  calls = picard_test_completer_get_calls (completer);
  picard_window_set_slice (window, 0);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  g_assert_nonnull (picard_slice_view_get_rendered (picard_window_get_slice_view (window))->heatmap);
  /* Scanning again finds everything done. */
  picard_scan_panel_start (panel);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_IDLE);
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, calls);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);

  /* Another window knows nothing of these results in memory: they come from the disk cache,
   * at once, without completing anything. */
  window = window_with_phantom (volume);
  panel = picard_window_get_scan_panel (window);
  picard_window_set_completer (window, PICARD_COMPLETER (completer), "test model");
  picard_scan_panel_start (panel);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 20000));
  g_assert_cmpuint (picard_test_completer_get_calls (completer), ==, calls);
  g_assert_nonnull (strstr (picard_scan_panel_get_status (panel), "4 of 4 slices came from the cache"));
  for (guint s = 0; s < FRAMES; s++)
    g_assert_true (picard_scan_result_is_complete (picard_scan_panel_get_result (panel, s)));
  g_settings_set_string (settings, "scan-range", "slice");
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
}

/* The real network: a tiny random checkpoint made by train/picard_model.py, loaded through
 * the model chooser, scans a slice to completion on the Vulkan device. */
static void
test_network_scan (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autofree char *dir = g_dir_make_tmp ("picard-ui-net-XXXXXX", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
  const char *python = g_getenv ("PYTHON") != NULL ? g_getenv ("PYTHON") : "/usr/bin/python3";
  const char *argv[] = { python, "-m", "train.picard_model", "--random-checkpoint", dir,
                         "--cnum", "8", "--input-dim", "1", NULL };
  PicardWindow *window;
  PicardScanPanel *panel;
  const PicardScanResult *result;
  int status;

  g_assert_true (g_spawn_sync (g_getenv ("PICARD_SOURCE_DIR"), (char **) argv, NULL,
                               G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("random checkpoint: %s", err);
  window = window_with_phantom (volume);
  panel = picard_window_get_scan_panel (window);
  set_scan_settings (41);
  /* 3 x 3 patches, 2 samples each: the network is slow under the sanitizers. */
  g_settings_set_uint (settings, "scan-stride", 64);
  g_settings_set_uint (settings, "scan-samples", 2);
  g_settings_set_string (settings, "scan-dropout-layers", "released");
  picard_scan_panel_load_model (panel, dir);
  g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
  g_assert_null (picard_window_get_message (window));
  picard_scan_panel_start (panel);
  g_assert_cmpint (picard_scan_panel_get_state (panel), ==, PICARD_SCAN_STATE_RUNNING);
  g_assert_true (picard_test_ui_wait (picard_test_ui_scan_stopped, window, 120000));
  g_assert_null (picard_window_get_message (window));
  result = picard_scan_panel_get_result (panel, picard_window_get_slice (window));
  g_assert_true (picard_scan_result_is_complete (result));
  g_assert_cmpuint (result->n_done, >, 0);
  g_assert_nonnull (result->model_hash);
  g_assert_true (picard_test_ui_wait (picard_test_ui_window_idle, window, 10000));
  picard_test_ui_iterate (60);
  g_clear_object (&settings);
  {
    g_autoptr(GdkTexture) shot = picard_test_ui_screenshot (GTK_WIDGET (window), "scan-network");
  }
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
  picard_test_remove_tree (dir);
}

/* The bundled demo model was trained on 64 x 64 patches with 32 x 32 holes: loading it sets
 * those sizes (from its critics) and the demo's stride of patch / 4. */
static void
test_demo_model_geometry (void)
{
  g_autoptr(PicardVolume) volume = phantom_volume ();
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
  PicardWindow *window;

  g_assert_nonnull (picard_model_get_demo_path ());
  g_settings_set_uint (settings, "scan-patch-size", 256);
  g_settings_set_uint (settings, "scan-hole-size", 128);
  window = window_with_phantom (volume);
  picard_scan_panel_load_model (picard_window_get_scan_panel (window), NULL);
  g_assert_true (picard_test_ui_wait (picard_test_ui_model_loaded, window, 60000));
  g_assert_null (picard_window_get_message (window));
  g_assert_cmpuint (g_settings_get_uint (settings, "scan-patch-size"), ==, 64);
  g_assert_cmpuint (g_settings_get_uint (settings, "scan-hole-size"), ==, 32);
  g_assert_cmpuint (g_settings_get_uint (settings, "scan-stride"), ==, 16);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (50);
}

int
main (int argc, char **argv)
{
  g_autofree char *data_home = g_dir_make_tmp ("picard-ui-data-XXXXXX", NULL);
  int status;

  g_autofree char *cache_dir = g_dir_make_tmp ("picard-ui-cache-XXXXXX", NULL);

  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  /* Scans are cached here, not in the user's cache. */
  g_setenv ("PICARD_CACHE_DIR", cache_dir, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  app = picard_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_test_add_func ("/ui/scan/scan-and-completions", test_scan_and_completions);
  g_test_add_func ("/ui/scan/geometry-refused", test_geometry_refused);
  g_test_add_func ("/ui/scan/out-of-memory", test_out_of_memory);
  g_test_add_func ("/ui/scan/volume", test_volume_scan);
  /* Run as its own meson test (ui-scan-network): the network is slow under the sanitizers. */
  g_test_add_func ("/ui/scan/network/random-checkpoint", test_network_scan);
  g_test_add_func ("/ui/scan/network/demo-geometry", test_demo_model_geometry);
  status = g_test_run ();
  g_object_unref (app);
  picard_test_remove_tree (data_home);
  picard_test_remove_tree (cache_dir);
  return status;
}
