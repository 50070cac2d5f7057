#include "picard-scan-panel.h"

#include <math.h>
#include <string.h>

#include "picard-background-completer.h"
#include "picard-error.h"
#include "picard-heatmap.h"
#include "picard-model-loader.h"
#include "picard-scan-cache.h"
#include "picard-stages.h"
#include "picard-strip.h"
#include "picard-window.h"

/* Heatmap snapshots from a running scan at most this often (phase ends always). */
#define REPORT_INTERVAL_US (G_USEC_PER_SEC / 8)

/* ---- a completer used by the scan and the patch panel at once, one call at a time ---- */

#define PICARD_TYPE_SERIAL_COMPLETER (picard_serial_completer_get_type ())
G_DECLARE_FINAL_TYPE (PicardSerialCompleter, picard_serial_completer, PICARD,
                      SERIAL_COMPLETER, GObject)

struct _PicardSerialCompleter {
  GObject parent_instance;
  PicardCompleter *inner;
  GMutex lock;
};

static void picard_serial_completer_iface_init (PicardCompleterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PicardSerialCompleter, picard_serial_completer, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PICARD_TYPE_COMPLETER,
                                                      picard_serial_completer_iface_init))

static guint
serial_batch_size (PicardCompleter *completer)
{
  return picard_completer_get_batch_size (PICARD_SERIAL_COMPLETER (completer)->inner);
}

static guint
serial_feature_length (PicardCompleter *completer, guint hole_size)
{
  return picard_completer_get_feature_length (PICARD_SERIAL_COMPLETER (completer)->inner,
                                              hole_size);
}

static const char *
serial_model_hash (PicardCompleter *completer)
{
  return picard_completer_get_model_hash (PICARD_SERIAL_COMPLETER (completer)->inner);
}

static const char *
serial_device_name (PicardCompleter *completer)
{
  return picard_completer_get_device_name (PICARD_SERIAL_COMPLETER (completer)->inner);
}

static gboolean
serial_check_geometry (PicardCompleter *completer, guint patch_size, guint hole_size,
                       GError **error)
{
  return picard_completer_check_geometry (PICARD_SERIAL_COMPLETER (completer)->inner,
                                          patch_size, hole_size, error);
}

static gboolean
serial_complete (PicardCompleter *completer, const PicardCompletionBatch *batch, float *holes,
                 float *features, float *gt_features, GCancellable *cancellable, GError **error)
{
  PicardSerialCompleter *self = PICARD_SERIAL_COMPLETER (completer);
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = picard_completer_complete (self->inner, batch, holes, features, gt_features,
                                  cancellable, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

static void
picard_serial_completer_iface_init (PicardCompleterInterface *iface)
{
  iface->get_batch_size = serial_batch_size;
  iface->get_feature_length = serial_feature_length;
  iface->get_model_hash = serial_model_hash;
  iface->get_device_name = serial_device_name;
  iface->check_geometry = serial_check_geometry;
  iface->complete = serial_complete;
}

static void
picard_serial_completer_finalize (GObject *object)
{
  PicardSerialCompleter *self = PICARD_SERIAL_COMPLETER (object);

  g_clear_object (&self->inner);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (picard_serial_completer_parent_class)->finalize (object);
}

static void
picard_serial_completer_class_init (PicardSerialCompleterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_serial_completer_finalize;
}

static void
picard_serial_completer_init (PicardSerialCompleter *self)
{
  g_mutex_init (&self->lock);
}

/* The network behind the completer (NULL when it is not one), and the lock that keeps its
 * other users (the scan, the patch's completions) off it while the caller runs it. */
static PicardNetwork *
serial_completer_get_network (PicardCompleter *completer)
{
  return picard_model_get_network (PICARD_SERIAL_COMPLETER (completer)->inner);
}

static void
serial_completer_lock (PicardCompleter *completer)
{
  g_mutex_lock (&PICARD_SERIAL_COMPLETER (completer)->lock);
}

static void
serial_completer_unlock (PicardCompleter *completer)
{
  g_mutex_unlock (&PICARD_SERIAL_COMPLETER (completer)->lock);
}

static PicardCompleter *
serial_completer_new (PicardCompleter *inner)
{
  PicardSerialCompleter *self = g_object_new (PICARD_TYPE_SERIAL_COMPLETER, NULL);

  self->inner = g_object_ref (inner);
  return PICARD_COMPLETER (self);
}

/* ---- the panel ---- */

typedef struct {
  guint size, hole;
  guint n;                 /* completions */
  guint32 next_sample;
  float *patch;            /* P x P in [-1, 1] */
  GPtrArray *completions;  /* float[P * P], the patch with its hole completed */
  GArray *distances;       /* double */
  GArray *sample_ids;      /* guint32 */
  /* On screen, small patches are enlarged (nearest neighbour) so that the tiles, not the
   * labels under them, set the strip's size. */
  guint zoom;
  float *big_patch;
  GPtrArray *big_completions;
  /* What the network saw, to look inside it with the same dropout masks. */
  guint32 patch_id;
  guint64 seed;
  /* On request: per sample (as completions), the coarse stage's completion and attention's
   * offsets (2 x grid x grid); n_stages samples have them (stale while < n). */
  guint n_stages;
  guint grid;
  GPtrArray *coarse;
  GPtrArray *offsets;
} PatchView;

/* Tiles at least this many screen pixels wide. */
#define STRIP_TILE_MIN 96u

static float *
enlarge (const float *image, guint size, guint zoom)
{
  guint big = size * zoom;
  float *out = g_new (float, (gsize) big * big);

  for (guint y = 0; y < big; y++)
    for (guint x = 0; x < big; x++)
      out[(gsize) y * big + x] = image[(gsize) (y / zoom) * size + x / zoom];
  return out;
}

struct _PicardScanPanel {
  GtkBox parent_instance;

  /* Template children. */
  GtkLabel *model_label;
  GtkAdjustment *patch_adjustment;
  GtkAdjustment *hole_adjustment;
  GtkAdjustment *stride_adjustment;
  GtkAdjustment *samples_adjustment;
  GtkAdjustment *seed_adjustment;
  GtkAdjustment *dropout_adjustment;
  GtkDropDown *dropout_dropdown;
  GtkDropDown *backend_dropdown;
  GtkDropDown *metric_dropdown;
  GtkCheckButton *skip_check;
  GtkCheckButton *roi_check;
  GtkDropDown *range_dropdown;
  GtkAdjustment *from_adjustment;
  GtkAdjustment *to_adjustment;
  GtkWidget *range_box;
  GtkButton *start_button;
  GtkButton *pause_button;
  GtkButton *cancel_button;
  GtkProgressBar *progress_bar;
  GtkLabel *status_label;
  GtkAdjustment *lower_adjustment;
  GtkAdjustment *upper_adjustment;
  GtkCheckButton *lattice_check;
  GtkWidget *patch_box;
  GtkLabel *patch_label;
  GtkDrawingArea *strip_area;
  GtkLabel *hover_label;
  GtkDrawingArea *diff_area;
  GtkLabel *stages_label;
  GtkDrawingArea *stages_area;

  GSettings *settings;
  PicardWindow *window;
  PicardCompleter *completer;   /* serialised */
  char *model_name;
  GCancellable *load_cancellable;
  gboolean loading;
  gboolean loading_demo; /* the model being loaded is the bundled demo */

  /* Scan state (main thread). */
  PicardVolume *volume;          /* the results' volume */
  GHashTable *results;           /* slice -> PicardScanResult snapshot */
  GCancellable *scan_cancellable;
  PicardScanControl *control;
  guint generation;
  PicardScanState state;
  PicardScanMetric metric;
  guint n_updates;
  guint n_redraws;
  guint redraw_serial;
  GCancellable *redraw_cancellable;

  /* The selected patch. */
  gboolean has_selection;
  guint sel_slice, sel_i, sel_j;
  PatchView *patch;
  GCancellable *patch_cancellable;
  guint patch_serial;
  gboolean completing;
  int hover_rank;
  char *hover_text;
  float *hover_diff;
  double hover_max;

  /* The coarse stage and attention of the selected patch's samples, on request. */
  gboolean show_stages;
  GCancellable *stages_cancellable;
  guint stages_serial;
  gboolean computing_stages;
};

enum {
  PROP_0,
  PROP_SHOW_STAGES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PicardScanPanel, picard_scan_panel, GTK_TYPE_BOX)

static const char *const metric_names[] = {
  "mcd-image", "mcd-feature", "meancd-image", "meancd-feature", "medcd-image", "medcd-feature",
};
static const char *const dropout_presets[] = { "none", "released", "paper" };
static const char *const backend_names[] = { "auto", "vulkan", "cpu" };
static const char *const range_names[] = { "slice", "volume", "range" };

static void
patch_view_free (PatchView *view)
{
  if (view == NULL)
    return;
  g_free (view->patch);
  g_ptr_array_unref (view->completions);
  g_array_unref (view->distances);
  g_array_unref (view->sample_ids);
  g_free (view->big_patch);
  g_ptr_array_unref (view->big_completions);
  g_ptr_array_unref (view->coarse);
  g_ptr_array_unref (view->offsets);
  g_free (view);
}

static PatchView *
patch_view_new (guint size, guint hole)
{
  PatchView *view = g_new0 (PatchView, 1);

  view->size = size;
  view->hole = hole;
  view->completions = g_ptr_array_new_with_free_func (g_free);
  view->distances = g_array_new (FALSE, FALSE, sizeof (double));
  view->sample_ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  view->big_completions = g_ptr_array_new_with_free_func (g_free);
  view->coarse = g_ptr_array_new_with_free_func (g_free);
  view->offsets = g_ptr_array_new_with_free_func (g_free);
  view->zoom = MAX (1u, (STRIP_TILE_MIN + size - 1) / size);
  return view;
}

/* The strip of a patch's completions, as the panel and its export lay it out. */
static void
strip_setup (PicardStrip *strip, guint size, guint hole, const float *patch,
             const float *const *completions, const double *distances, guint n)
{
  picard_strip_init (strip);
  strip->size = size;
  strip->hole_size = hole;
  strip->patch = patch;
  strip->completions = completions;
  strip->distances = distances;
  strip->n_completions = n;
  strip->distance_name = "L2";
}

static void
set_status (PicardScanPanel *self, const char *text)
{
  gtk_label_set_text (self->status_label, text);
}

static void
update_buttons (PicardScanPanel *self)
{
  gboolean can = self->completer != NULL && self->window != NULL
                 && picard_window_get_volume (self->window) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.start",
                                 can && self->state == PICARD_SCAN_STATE_IDLE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.pause",
                                 self->state != PICARD_SCAN_STATE_IDLE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.cancel",
                                 self->state != PICARD_SCAN_STATE_IDLE);
  gtk_button_set_label (self->pause_button,
                        self->state == PICARD_SCAN_STATE_PAUSED ? "_Resume" : "_Pause");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->pause_button),
                               self->state == PICARD_SCAN_STATE_PAUSED
                               ? "Resume the scan (F6)" : "Pause after the batch in flight (F6)");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.more-samples",
                                 self->patch != NULL && !self->completing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.export-patch", self->patch != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "scan.load-demo",
                                 picard_model_get_demo_path () != NULL);
}

/* Forgets results that belong to another volume than the window's. */
static void
sync_volume (PicardScanPanel *self)
{
  PicardVolume *volume = self->window != NULL ? picard_window_get_volume (self->window) : NULL;

  if (volume == self->volume)
    return;
  picard_scan_panel_cancel (self);
  g_hash_table_remove_all (self->results);
  g_set_object (&self->volume, volume);
  g_clear_pointer (&self->patch, patch_view_free);
  self->has_selection = FALSE;
  gtk_widget_set_visible (self->patch_box, FALSE);
}

static char *
metric_label (PicardScanMetric metric)
{
  static const char *const reduce[] = { "MCD", "MeanCD", "MedCD" };

  return g_strdup_printf ("%s, %s space (L2 distance)", reduce[metric.reduce],
                          metric.space == PICARD_SCAN_SPACE_IMAGE ? "image" : "feature");
}

/* The metric a result can give: feature space falls back to image space without a critic. */
static PicardScanMetric
usable_metric (const PicardScanResult *result, PicardScanMetric metric)
{
  if (!picard_scan_result_has_metric (result, metric))
    metric.space = PICARD_SCAN_SPACE_IMAGE;
  return metric;
}

static void
read_params (PicardScanPanel *self, PicardScanParams *params)
{
  picard_scan_params_init (params);
  params->patch_size = g_settings_get_uint (self->settings, "scan-patch-size");
  params->hole_size = g_settings_get_uint (self->settings, "scan-hole-size");
  params->stride = g_settings_get_uint (self->settings, "scan-stride");
  params->n_samples = g_settings_get_uint (self->settings, "scan-samples");
  params->seed = g_settings_get_uint64 (self->settings, "scan-seed");
  params->skip_air = g_settings_get_boolean (self->settings, "scan-skip-background");
}

static gboolean
same_params (const PicardScanParams *a, const PicardScanParams *b)
{
  return a->patch_size == b->patch_size && a->hole_size == b->hole_size
         && a->stride == b->stride && a->n_samples == b->n_samples && a->seed == b->seed
         && a->skip_air == b->skip_air && a->has_roi == b->has_roi
         && (!a->has_roi || memcmp (&a->roi, &b->roi, sizeof a->roi) == 0);
}

/* A frame as floats in [0, 1] (its stored values over the largest the bit depth allows). */
static float *
frame_to_unit (PicardVolume *volume, guint slice, GCancellable *cancellable, GError **error)
{
  g_autoptr(GBytes) frame = picard_volume_get_frame (volume, slice, cancellable, error);
  const PicardVolumeInfo *info = picard_volume_get_info (volume);
  guint bits = info->bits_stored > 0 && info->bits_stored <= 16 ? info->bits_stored : 16;
  double scale = 1.0 / (double) ((1u << bits) - 1u);
  const guint16 *values;
  gsize n, size;
  float *out;

  if (frame == NULL)
    return NULL;
  values = g_bytes_get_data (frame, &size);
  n = size / sizeof (guint16);
  out = g_new (float, n);
  for (gsize k = 0; k < n; k++)
    out[k] = (float) MIN (values[k] * scale, 1.0);
  return out;
}

/* Runs @thread on a worker with @job as task data (freed by @free_job); @done gets the
 * result on the main thread, with the panel as source object. */
static GTask *
run_job (PicardScanPanel *self, GCancellable *cancellable, GAsyncReadyCallback done,
         gpointer job, GDestroyNotify free_job, GTaskThreadFunc thread)
{
  GTask *task = g_task_new (self, cancellable, done, NULL);

  g_task_set_task_data (task, job, free_job);
  g_task_run_in_thread (task, thread);
  return task;
}

/* ---- scanning ---- */

typedef struct {
  PicardScanPanel *panel;      /* referenced */
  PicardCompleter *completer;
  PicardVolume *volume;
  PicardScanParams params;
  PicardScanMetric metric;
  guint *slices;
  guint n_slices;
  PicardScanResult **resume;   /* per slice: a partial result to go on with, or NULL */
  PicardScanControl *control;
  GCancellable *cancellable;
  guint generation;
  guint position;
  gint64 last_report;
  gboolean retried;            /* ran out of memory once and went on with a smaller batch */
  char *cache_dir;             /* finished and partial results kept on disk */
  guint n_cached;              /* slices found complete there */
} ScanJob;

typedef struct {
  PicardScanPanel *panel;      /* referenced */
  guint generation;
  PicardScanResult *snapshot;  /* or NULL: progress only */
  float *heatmap;
  guint n_done, n_skipped, n_total;
  double eta_s;
  guint position, n_slices;
  char *notice;
} ScanUpdate;

static void
scan_job_free (gpointer data)
{
  ScanJob *job = data;

  g_object_unref (job->panel);
  g_object_unref (job->completer);
  g_object_unref (job->volume);
  for (guint k = 0; k < job->n_slices; k++)
    g_clear_pointer (&job->resume[k], picard_scan_result_unref);
  g_free (job->resume);
  g_free (job->slices);
  g_free (job->cache_dir);
  picard_scan_control_unref (job->control);
  g_object_unref (job->cancellable);
  g_free (job);
}

static void
scan_update_free (ScanUpdate *update)
{
  g_object_unref (update->panel);
  g_clear_pointer (&update->snapshot, picard_scan_result_unref);
  g_free (update->heatmap);
  g_free (update->notice);
  g_free (update);
}

static void
format_progress (PicardScanPanel *self, const ScanUpdate *update)
{
  g_autofree char *text = NULL;
  g_autofree char *status = NULL;
  guint finished = update->n_done + update->n_skipped;

  gtk_progress_bar_set_fraction (self->progress_bar,
                                 update->n_total > 0 ? (double) finished / update->n_total : 0.0);
  if (update->eta_s >= 0.0 && finished < update->n_total)
    text = g_strdup_printf ("%u / %u patches, about %.0f s left", finished, update->n_total,
                            ceil (update->eta_s));
  else
    text = g_strdup_printf ("%u / %u patches", finished, update->n_total);
  if (update->n_slices > 1)
    {
      char *with_slice = g_strdup_printf ("Slice %u of %u: %s", update->position + 1,
                                          update->n_slices, text);

      g_free (text);
      text = with_slice;
    }
  gtk_progress_bar_set_text (self->progress_bar, text);
  status = g_strdup_printf ("%s; %u background patches skipped",
                            picard_completer_get_device_name (self->completer),
                            update->n_skipped);
  if (update->notice != NULL)
    {
      char *both = g_strdup_printf ("%s. %s", update->notice, status);

      g_free (status);
      status = both;
    }
  set_status (self, status);
}

static gboolean
scan_update_main (gpointer data)
{
  ScanUpdate *update = data;
  PicardScanPanel *self = update->panel;

  /* Stale: another scan, another volume, or the panel is going away. */
  if (update->generation != self->generation || self->window == NULL)
    return G_SOURCE_REMOVE;
  if (picard_window_get_volume (self->window) != self->volume)
    {
      /* Another volume was opened: this scan's work is no longer wanted. */
      picard_scan_panel_cancel (self);
      return G_SOURCE_REMOVE;
    }
  format_progress (self, update);
  if (update->snapshot != NULL)
    {
      guint slice = update->snapshot->slice_index;

      g_hash_table_insert (self->results, GUINT_TO_POINTER (slice),
                           picard_scan_result_ref (update->snapshot));
      if (update->heatmap != NULL)
        {
          picard_window_set_heatmap (self->window, slice, PICARD_SPACE_FILE, update->heatmap);
          self->n_updates++;
        }
    }
  return G_SOURCE_REMOVE;
}

static void
post_update (ScanJob *job, const PicardScanResult *result, const PicardScanProgress *progress,
             const char *notice)
{
  ScanUpdate *update = g_new0 (ScanUpdate, 1);

  update->panel = g_object_ref (job->panel);
  update->generation = job->generation;
  update->eta_s = -1.0;
  update->position = job->position;
  update->n_slices = job->n_slices;
  update->notice = g_strdup (notice);
  if (progress != NULL)
    {
      update->n_done = progress->n_done;
      update->n_skipped = progress->n_skipped;
      update->n_total = progress->n_total;
      update->eta_s = progress->eta_s;
    }
  else if (result != NULL)
    {
      update->n_done = result->n_done;
      update->n_skipped = result->n_skipped;
      update->n_total = result->n_total;
    }
  if (result != NULL)
    {
      update->snapshot = picard_scan_result_copy (result);
      update->heatmap = picard_heatmap_from_result (update->snapshot,
                                                    usable_metric (result, job->metric),
                                                    PICARD_HEATMAP_REGISTERED, NULL);
    }
  /* Always through the main loop: g_main_context_invoke() would run it on this thread
   * whenever the main thread is not iterating at that moment. */
  g_idle_add_full (G_PRIORITY_DEFAULT, scan_update_main, update,
                   (GDestroyNotify) scan_update_free);
}

static void
scan_progress (const PicardScanProgress *progress, gpointer user_data)
{
  ScanJob *job = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean snapshot = progress->phase_complete || progress->n_done + progress->n_skipped
                                                  >= progress->n_total
                      || now - job->last_report >= REPORT_INTERVAL_US;

  if (snapshot)
    job->last_report = now;
  post_update (job, snapshot ? progress->result : NULL, progress, NULL);
}

static void
scan_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ScanJob *job = task_data;
  guint rows = picard_volume_get_rows (job->volume);
  guint columns = picard_volume_get_columns (job->volume);
  guint feature_length = picard_completer_get_feature_length (job->completer,
                                                              job->params.hole_size);
  GError *error = NULL;

  for (guint k = 0; k < job->n_slices; k++)
    {
      g_autofree float *slice = NULL;
      g_autoptr(PicardScanResult) result = NULL;
      g_autofree char *content = NULL;
      g_autofree char *key = NULL;
      g_autoptr(GError) store_error = NULL;
      gboolean retried = FALSE;

      job->position = k;
      slice = frame_to_unit (job->volume, job->slices[k], cancellable, &error);
      if (slice == NULL)
        break;
      content = picard_scan_hash_slice (slice, rows, columns);
      key = picard_scan_cache_key (content, job->slices[k], rows, columns,
                                   picard_completer_get_model_hash (job->completer),
                                   feature_length, &job->params);
      if (job->resume[k] != NULL)
        result = picard_scan_result_ref (job->resume[k]);
      else
        {
          result = picard_scan_cache_load (job->cache_dir, key);
          if (result != NULL && picard_scan_result_is_complete (result))
            job->n_cached++;
        }
      if (result == NULL)
        result = picard_scan_result_new (rows, columns, job->slices[k], &job->params,
                                         feature_length, &error);
      if (result == NULL)
        break;
      job->last_report = 0;
      while (!picard_scan_run (result, job->completer, slice, job->control, cancellable,
                               scan_progress, job, &error))
        {
          guint batch;

          /* Out of memory: once, with half the batch (the results do not depend on it). */
          if (retried || !g_error_matches (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY))
            break;
          retried = TRUE;
          job->retried = TRUE;
          batch = result->params.batch_size > 0 ? result->params.batch_size
                                                : picard_completer_get_batch_size (job->completer);
          result->params.batch_size = MAX (1u, batch / 2);
          g_clear_error (&error);
          post_update (job, result, NULL, "The device ran out of memory: retrying with a "
                                          "smaller batch");
        }
      post_update (job, result, NULL, NULL);
      /* Kept for the next time this slice is asked for, finished or not. */
      if (result->n_done > 0
          && !picard_scan_cache_store (job->cache_dir, key, result, &store_error))
        g_message ("The scan of slice %u was not cached: %s", job->slices[k] + 1,
                   store_error->message);
      if (error != NULL)
        break;
    }
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
scan_finished (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (source);
  ScanJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  if (job->generation != self->generation)
    return;
  self->state = PICARD_SCAN_STATE_IDLE;
  g_clear_object (&self->scan_cancellable);
  g_clear_pointer (&self->control, picard_scan_control_unref);
  update_buttons (self);
  if (error == NULL)
    {
      if (job->retried)
        set_status (self, "Scan finished, with a smaller batch after the device ran out of "
                          "memory");
      else if (job->n_cached > 0)
        {
          g_autofree char *text = g_strdup_printf ("Scan finished; %u of %u slices came from "
                                                   "the cache", job->n_cached, job->n_slices);

          set_status (self, text);
        }
      else
        set_status (self, "Scan finished");
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      set_status (self, "Scan cancelled: the heatmap so far stays; Start resumes it");
      return;
    }
  {
    const char *todo;
    g_autofree char *text = NULL;

    if (g_error_matches (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY))
      todo = " The scan already retried with a smaller batch: choose a smaller patch, or "
             "close other programs, then start it again to resume.";
    else if (g_error_matches (error, PICARD_ERROR, PICARD_ERROR_DEVICE))
      todo = " The compute device was lost: start the scan again to resume where it stopped.";
    else
      todo = " The heatmap so far stays.";
    text = g_strdup_printf ("The scan stopped: %s%s%s", error->message,
                            g_str_has_suffix (error->message, ".") ? "" : ".", todo);
    set_status (self, text);
    if (self->window != NULL)
      picard_window_show_message (self->window, TRUE, text);
  }
}

void
picard_scan_panel_start (PicardScanPanel *self)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *range = NULL;
  PicardVolume *volume;
  ScanJob *job;
  GArray *slices;
  guint n_frames, current, from, to;

  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->window == NULL || self->completer == NULL || self->state != PICARD_SCAN_STATE_IDLE)
    return;
  sync_volume (self);
  volume = self->volume;
  if (volume == NULL)
    return;

  job = g_new0 (ScanJob, 1);
  read_params (self, &job->params);
  job->metric = self->metric;
  if (g_settings_get_boolean (self->settings, "scan-roi"))
    {
      /* The part of the slice on screen, in file pixels. */
      PicardSliceView *view = picard_window_get_slice_view (self->window);
      double x0, y0, x1, y1;
      int x, y, w, h, rows = (int) picard_volume_get_rows (volume);
      int columns = (int) picard_volume_get_columns (volume);

      picard_slice_view_widget_to_slice (view, 0, 0, &x0, &y0);
      picard_slice_view_widget_to_slice (view, gtk_widget_get_width (GTK_WIDGET (view)),
                                         gtk_widget_get_height (GTK_WIDGET (view)), &x1, &y1);
      x0 = CLAMP (floor (x0), 0, columns - 1);
      y0 = CLAMP (floor (y0), 0, rows - 1);
      x1 = CLAMP (ceil (x1), 1, columns);
      y1 = CLAMP (ceil (y1), 1, rows);
      x = (int) x0;
      y = (int) y0;
      w = MAX (1, (int) (x1 - x0));
      h = MAX (1, (int) (y1 - y0));
      picard_orientation_map_box (picard_window_get_orientation (self->window),
                                  picard_window_get_space (self->window), PICARD_SPACE_FILE,
                                  &x, &y, w - 1, h - 1);
      job->params.has_roi = TRUE;
      job->params.roi = (PicardRect) { x, y, w, h };
    }
  if (!picard_completer_check_geometry (self->completer, job->params.patch_size,
                                        job->params.hole_size, &error))
    {
      g_autofree char *text = g_strdup_printf ("The model does not fit this scan: %s Choose "
                                               "the patch and hole sizes the model was trained "
                                               "for, or another checkpoint.",
                                               error->message);

      g_free (job);
      set_status (self, text);
      picard_window_show_message (self->window, TRUE, text);
      return;
    }
  /* Checked on the main thread so the message comes at once. */
  {
    g_autoptr(PicardScanResult) probe
      = picard_scan_result_new (picard_volume_get_rows (volume),
                                picard_volume_get_columns (volume), 0, &job->params, 0, &error);

    if (probe == NULL)
      {
        g_autofree char *text = g_strdup_printf ("Cannot scan this volume: %s Change the scan's "
                                                 "parameters.", error->message);

        g_free (job);
        set_status (self, text);
        picard_window_show_message (self->window, TRUE, text);
        return;
      }
  }

  n_frames = picard_volume_get_n_frames (volume);
  current = MIN (picard_window_get_slice (self->window), n_frames - 1);
  range = g_settings_get_string (self->settings, "scan-range");
  from = current;
  to = current;
  if (g_strcmp0 (range, "volume") == 0)
    {
      from = 0;
      to = n_frames - 1;
    }
  else if (g_strcmp0 (range, "range") == 0)
    {
      from = MIN ((guint) gtk_adjustment_get_value (self->from_adjustment), n_frames) - 1;
      to = MIN ((guint) gtk_adjustment_get_value (self->to_adjustment), n_frames) - 1;
      if (to < from)
        {
          guint t = to;

          to = from;
          from = t;
        }
    }
  /* The slice on screen first, then outwards from it. */
  slices = g_array_new (FALSE, FALSE, sizeof (guint));
  if (current >= from && current <= to)
    g_array_append_val (slices, current);
  for (guint d = 1; d <= n_frames; d++)
    {
      if (current + d <= to && current + d >= from)
        {
          guint s = current + d;

          g_array_append_val (slices, s);
        }
      if (d <= current && current - d >= from && current - d <= to)
        {
          guint s = current - d;

          g_array_append_val (slices, s);
        }
    }
  job->resume = g_new0 (PicardScanResult *, slices->len);
  {
    GArray *todo = g_array_new (FALSE, FALSE, sizeof (guint));
    GPtrArray *resume = g_ptr_array_new ();
    const char *hash = picard_completer_get_model_hash (self->completer);

    for (guint k = 0; k < slices->len; k++)
      {
        guint s = g_array_index (slices, guint, k);
        PicardScanResult *old = g_hash_table_lookup (self->results, GUINT_TO_POINTER (s));

        if (old != NULL && (!same_params (&old->params, &job->params)
                            || g_strcmp0 (old->model_hash, hash) != 0))
          old = NULL;
        if (old != NULL && picard_scan_result_is_complete (old))
          continue; /* already on screen, from the stored result */
        g_array_append_val (todo, s);
        g_ptr_array_add (resume, old != NULL ? picard_scan_result_copy (old) : NULL);
      }
    job->n_slices = todo->len;
    job->slices = (guint *) g_array_free (todo, FALSE);
    if (resume->len > 0)
      memcpy (job->resume, resume->pdata, resume->len * sizeof (gpointer));
    g_ptr_array_unref (resume);
  }
  g_array_unref (slices);
  if (job->n_slices == 0)
    {
      g_free (job->resume);
      g_free (job->slices);
      g_free (job);
      set_status (self, "Every slice asked for is scanned already");
      return;
    }

  job->panel = g_object_ref (self);
  job->cache_dir = picard_scan_cache_default_dir ();
  job->completer = g_object_ref (self->completer);
  job->volume = g_object_ref (volume);
  job->generation = ++self->generation;
  self->control = picard_scan_control_new ();
  job->control = picard_scan_control_ref (self->control);
  self->scan_cancellable = g_cancellable_new ();
  job->cancellable = g_object_ref (self->scan_cancellable);
  self->state = PICARD_SCAN_STATE_RUNNING;
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  gtk_progress_bar_set_text (self->progress_bar, "Starting");
  set_status (self, picard_completer_get_device_name (self->completer));
  update_buttons (self);

  task = run_job (self, self->scan_cancellable, scan_finished, job, scan_job_free, scan_thread);
}

void
picard_scan_panel_pause (PicardScanPanel *self)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->state != PICARD_SCAN_STATE_RUNNING)
    return;
  picard_scan_control_pause (self->control);
  self->state = PICARD_SCAN_STATE_PAUSED;
  set_status (self, "Paused after the batch in flight");
  update_buttons (self);
}

void
picard_scan_panel_resume (PicardScanPanel *self)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->state != PICARD_SCAN_STATE_PAUSED)
    return;
  picard_scan_control_resume (self->control);
  self->state = PICARD_SCAN_STATE_RUNNING;
  set_status (self, picard_completer_get_device_name (self->completer));
  update_buttons (self);
}

void
picard_scan_panel_cancel (PicardScanPanel *self)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->scan_cancellable != NULL)
    g_cancellable_cancel (self->scan_cancellable);
}

PicardScanState
picard_scan_panel_get_state (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), PICARD_SCAN_STATE_IDLE);
  return self->state;
}

const PicardScanResult *
picard_scan_panel_get_result (PicardScanPanel *self, guint slice)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return g_hash_table_lookup (self->results, GUINT_TO_POINTER (slice));
}

guint
picard_scan_panel_get_n_updates (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), 0);
  return self->n_updates;
}

guint
picard_scan_panel_get_n_redraws (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), 0);
  return self->n_redraws;
}

const char *
picard_scan_panel_get_status (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return gtk_label_get_text (self->status_label);
}

const char *
picard_scan_panel_get_progress_text (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return gtk_progress_bar_get_text (self->progress_bar);
}

/* ---- switching metric: heatmaps again from the stored distances, off the main loop ---- */

typedef struct {
  PicardScanMetric metric;
  GPtrArray *results;   /* snapshots, referenced */
  GPtrArray *heatmaps;  /* float*, one per result */
  guint serial;
} RedrawJob;

static void
redraw_job_free (gpointer data)
{
  RedrawJob *job = data;

  g_ptr_array_unref (job->results);
  g_ptr_array_unref (job->heatmaps);
  g_free (job);
}

static void
redraw_thread (GTask *task, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  RedrawJob *job = task_data;

  for (guint k = 0; k < job->results->len; k++)
    {
      const PicardScanResult *result = g_ptr_array_index (job->results, k);

      if (g_cancellable_is_cancelled (cancellable))
        break;
      g_ptr_array_add (job->heatmaps,
                       picard_heatmap_from_result (result, usable_metric (result, job->metric),
                                                   PICARD_HEATMAP_REGISTERED, NULL));
    }
  g_task_return_boolean (task, !g_cancellable_is_cancelled (cancellable));
}

static void
redraw_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (source);
  RedrawJob *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL) || job->serial != self->redraw_serial
      || self->window == NULL || picard_window_get_volume (self->window) != self->volume)
    return;
  for (guint k = 0; k < job->heatmaps->len; k++)
    {
      const PicardScanResult *r = g_ptr_array_index (job->results, k);

      if (g_ptr_array_index (job->heatmaps, k) != NULL)
        picard_window_set_heatmap (self->window, r->slice_index, PICARD_SPACE_FILE,
                                   g_ptr_array_index (job->heatmaps, k));
    }
  self->n_redraws++;
}

static void
redraw_heatmaps (PicardScanPanel *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *label = metric_label (self->metric);
  RedrawJob *job;
  GHashTableIter iter;
  gpointer value;

  if (self->window != NULL)
    picard_window_set_heatmap_label (self->window, label);
  if (self->redraw_cancellable != NULL)
    g_cancellable_cancel (self->redraw_cancellable);
  g_clear_object (&self->redraw_cancellable);
  self->redraw_cancellable = g_cancellable_new ();
  job = g_new0 (RedrawJob, 1);
  job->metric = self->metric;
  job->serial = ++self->redraw_serial;
  job->results = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_scan_result_unref);
  job->heatmaps = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&iter, self->results);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (job->results, picard_scan_result_ref (value));
  task = run_job (self, self->redraw_cancellable, redraw_done, job, redraw_job_free,
                  redraw_thread);
}

void
picard_scan_panel_set_metric (PicardScanPanel *self, PicardScanMetric metric)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  g_settings_set_string (self->settings, "scan-metric", picard_scan_metric_to_string (metric));
}

static void
metric_setting_changed (PicardScanPanel *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "scan-metric");
  PicardScanMetric metric;

  if (!picard_scan_metric_from_string (name, &metric))
    return;
  for (guint k = 0; k < G_N_ELEMENTS (metric_names); k++)
    if (g_strcmp0 (metric_names[k], picard_scan_metric_to_string (metric)) == 0
        && gtk_drop_down_get_selected (self->metric_dropdown) != k)
      gtk_drop_down_set_selected (self->metric_dropdown, k);
  if (metric.reduce == self->metric.reduce && metric.space == self->metric.space
      && self->n_redraws > 0)
    return;
  self->metric = metric;
  redraw_heatmaps (self);
}

/* ---- a patch's completions ---- */

static void
fill_strip (PicardScanPanel *self, PicardStrip *strip)
{
  PatchView *view = self->patch;

  strip_setup (strip, view->size * view->zoom, view->hole * view->zoom, view->big_patch,
               (const float *const *) view->big_completions->pdata,
               (const double *) view->distances->data, view->n);
  strip->columns = 3;
}

/* The width the panel's figures are laid out for. */
static int
panel_width (PicardScanPanel *self)
{
  return MAX (gtk_widget_get_width (GTK_WIDGET (self)) - 24, 200);
}

static void update_stages (PicardScanPanel *self);
static void cancel_stages (PicardScanPanel *self);

typedef struct {
  PicardCompleter *completer;
  PicardVolume *volume;
  PicardScanResult *result;  /* geometry */
  guint slice, i, j;
  guint32 *sample_ids;
  guint n_samples;
  gboolean with_patch;       /* first request: also the patch */
  /* Out. */
  float *patch;              /* P x P in [-1, 1] */
  float *holes;              /* n x H x H */
  float *truth;              /* H x H */
  guint serial;
} PatchJob;

static void
patch_job_free (gpointer data)
{
  PatchJob *job = data;

  g_object_unref (job->completer);
  g_object_unref (job->volume);
  picard_scan_result_unref (job->result);
  g_free (job->sample_ids);
  g_free (job->patch);
  g_free (job->holes);
  g_free (job->truth);
  g_free (job);
}

static void
patch_thread (GTask *task, gpointer source_object, gpointer task_data,
              GCancellable *cancellable)
{
  PatchJob *job = task_data;
  guint p = job->result->params.patch_size;
  guint h = job->result->params.hole_size;
  g_autofree float *slice = NULL;
  PicardRect rect, hole;
  GError *error = NULL;

  slice = frame_to_unit (job->volume, job->slice, cancellable, &error);
  if (slice == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->holes = g_new (float, (gsize) job->n_samples * h * h);
  job->truth = g_new (float, (gsize) h * h);
  if (!picard_scan_complete_patch (job->result, job->completer, slice, job->i, job->j,
                                   job->sample_ids, job->n_samples, job->holes, job->truth,
                                   cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  picard_scan_result_get_patch_rect (job->result, job->i, job->j, &rect, &hole);
  job->patch = g_new (float, (gsize) p * p);
  for (guint y = 0; y < p; y++)
    for (guint x = 0; x < p; x++)
      job->patch[y * p + x] = slice[(gsize) (rect.y + y) * job->result->columns + rect.x + x]
                              * 2.0f - 1.0f;
  g_task_return_boolean (task, TRUE);
}

static void
patch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (source);
  PatchJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  guint p = job->result->params.patch_size;
  guint h = job->result->params.hole_size;
  guint off = (p - h) / 2;
  PatchView *view;

  if (job->serial != self->patch_serial)
    return;
  self->completing = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf ("Cannot complete the patch: %s",
                                                   error->message);

          gtk_label_set_text (self->patch_label, text);
          if (self->window != NULL)
            picard_window_show_message (self->window, TRUE, text);
        }
      update_buttons (self);
      return;
    }
  /* A new patch replaces the view; more samples add to it. */
  if (self->patch != NULL && job->with_patch)
    g_clear_pointer (&self->patch, patch_view_free);
  if (self->patch == NULL)
    {
      self->patch = patch_view_new (p, h);
      self->patch->patch_id = job->i * job->result->n_w + job->j;
      self->patch->seed = job->result->params.seed;
    }
  view = self->patch;
  if (view->patch == NULL)
    {
      view->patch = g_steal_pointer (&job->patch);
      view->big_patch = enlarge (view->patch, p, view->zoom);
    }
  for (guint s = 0; s < job->n_samples; s++)
    {
      float *image = g_memdup2 (view->patch, (gsize) p * p * sizeof (float));
      const float *hole = job->holes + (gsize) s * h * h;
      double sum = 0.0;

      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < h; x++)
          {
            double d = hole[y * h + x] - job->truth[y * h + x];

            image[(off + y) * p + off + x] = hole[y * h + x];
            sum += d * d;
          }
      g_ptr_array_add (view->completions, image);
      g_ptr_array_add (view->big_completions, enlarge (image, p, view->zoom));
      g_array_append_vals (view->distances, &(double) { sqrt (sum) }, 1);
      g_array_append_vals (view->sample_ids, &job->sample_ids[s], 1);
    }
  view->n = view->completions->len;
  view->next_sample = job->sample_ids[job->n_samples - 1] + 1;
  {
    g_autofree char *text
      = g_strdup_printf ("Slice %u, patch (%u, %u): %u completions, closest at %.4g",
                         self->sel_slice + 1, self->sel_i, self->sel_j, view->n,
                         picard_scan_panel_get_min_distance (self));

    gtk_label_set_text (self->patch_label, text);
  }
  {
    PicardStrip strip;
    double w, hgt;

    fill_strip (self, &strip);
    if (picard_strip_get_size (&strip, 1.0, &w, &hgt, NULL) && w > 0)
      gtk_drawing_area_set_content_height (self->strip_area,
                                           (int) ceil (hgt * panel_width (self) / w));
  }
  self->hover_rank = -1;
  gtk_label_set_text (self->hover_label, "Hover a completion to see its difference to the "
                                         "truth");
  gtk_widget_set_visible (self->patch_box, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self->strip_area));
  gtk_widget_queue_draw (GTK_WIDGET (self->diff_area));
  update_buttons (self);
  /* The samples changed: what is shown of their insides follows. */
  update_stages (self);
}

static void
start_completions (PicardScanPanel *self, gboolean more)
{
  g_autoptr(GTask) task = NULL;
  const PicardScanResult *stored;
  PatchJob *job;
  PicardScanParams params;
  guint m;

  job = g_new0 (PatchJob, 1);
  stored = picard_scan_panel_get_result (self, self->sel_slice);
  if (stored != NULL)
    job->result = picard_scan_result_ref ((PicardScanResult *) stored);
  else
    {
      read_params (self, &params);
      job->result = picard_scan_result_new (picard_volume_get_rows (self->volume),
                                            picard_volume_get_columns (self->volume),
                                            self->sel_slice, &params, 0, NULL);
    }
  g_assert (job->result != NULL);
  m = job->result->params.n_samples;
  job->n_samples = m;
  job->sample_ids = g_new (guint32, m);
  for (guint s = 0; s < m; s++)
    job->sample_ids[s] = (more && self->patch != NULL ? self->patch->next_sample : 0) + s;
  job->with_patch = !more;
  job->completer = g_object_ref (self->completer);
  job->volume = g_object_ref (self->volume);
  job->slice = self->sel_slice;
  job->i = self->sel_i;
  job->j = self->sel_j;
  job->serial = ++self->patch_serial;
  cancel_stages (self);
  if (self->patch_cancellable != NULL)
    g_cancellable_cancel (self->patch_cancellable);
  g_clear_object (&self->patch_cancellable);
  self->patch_cancellable = g_cancellable_new ();
  self->completing = TRUE;
  gtk_label_set_text (self->patch_label, more ? "Drawing more completions…"
                                              : "Completing the patch…");
  gtk_widget_set_visible (self->patch_box, TRUE);
  update_buttons (self);
  task = run_job (self, self->patch_cancellable, patch_done, job, patch_job_free, patch_thread);
}

void
picard_scan_panel_select_point (PicardScanPanel *self, double file_x, double file_y)
{
  const PicardScanResult *stored;
  PicardScanParams params;
  guint rows, columns, n_h, n_w, slice;
  double fi, fj;
  PicardPatchOutline outline;
  int x, y;

  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  sync_volume (self);
  if (self->volume == NULL || self->completer == NULL)
    {
      if (self->window != NULL && self->volume != NULL)
        picard_window_show_message (self->window, FALSE, "Choose a model to see a patch's "
                                                         "completions.");
      return;
    }
  rows = picard_volume_get_rows (self->volume);
  columns = picard_volume_get_columns (self->volume);
  slice = picard_window_get_slice (self->window);
  stored = picard_scan_panel_get_result (self, slice);
  if (stored != NULL)
    params = stored->params;
  else
    read_params (self, &params);
  if (params.patch_size > rows || params.patch_size > columns || params.stride == 0)
    return;
  n_h = (rows - params.patch_size) / params.stride + 1;
  n_w = (columns - params.patch_size) / params.stride + 1;
  fi = round ((file_y - (params.patch_size - 1) / 2.0) / params.stride);
  fj = round ((file_x - (params.patch_size - 1) / 2.0) / params.stride);
  self->sel_i = (guint) CLAMP (fi, 0, n_h - 1);
  self->sel_j = (guint) CLAMP (fj, 0, n_w - 1);
  self->sel_slice = slice;
  self->has_selection = TRUE;
  g_clear_pointer (&self->patch, patch_view_free);

  x = (int) (self->sel_j * params.stride);
  y = (int) (self->sel_i * params.stride);
  picard_orientation_map_box (picard_window_get_orientation (self->window), PICARD_SPACE_FILE,
                              picard_window_get_space (self->window), &x, &y,
                              (int) params.patch_size - 1, (int) params.patch_size - 1);
  outline.left = x;
  outline.top = y;
  outline.patch_size = params.patch_size;
  outline.hole_size = params.hole_size;
  picard_slice_view_set_patch (picard_window_get_slice_view (self->window), &outline);
  start_completions (self, FALSE);
}

void
picard_scan_panel_more_samples (PicardScanPanel *self)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->patch == NULL || self->completing || self->completer == NULL)
    return;
  start_completions (self, TRUE);
}

gboolean
picard_scan_panel_is_completing (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);
  return self->completing;
}

gboolean
picard_scan_panel_get_selected (PicardScanPanel *self, guint *i, guint *j)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);

  if (i != NULL)
    *i = self->sel_i;
  if (j != NULL)
    *j = self->sel_j;
  return self->has_selection;
}

guint
picard_scan_panel_get_n_completions (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), 0);
  return self->patch != NULL ? self->patch->n : 0;
}

double
picard_scan_panel_get_min_distance (PicardScanPanel *self)
{
  double best = NAN;

  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NAN);

  if (self->patch == NULL)
    return NAN;
  for (guint k = 0; k < self->patch->n; k++)
    {
      double d = g_array_index (self->patch->distances, double, k);

      if (isnan (best) || d < best)
        best = d;
    }
  return best;
}

gboolean
picard_scan_panel_hover_completion (PicardScanPanel *self, guint rank)
{
  PicardStrip strip;
  g_autofree guint *order = NULL;
  const float *image, *truth;
  guint k, p;
  double largest = 0.0;

  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);

  if (self->patch == NULL || rank >= self->patch->n)
    return FALSE;
  if (self->hover_rank == (int) rank)
    return TRUE;
  fill_strip (self, &strip);
  order = g_new (guint, self->patch->n);
  picard_strip_sort (&strip, order);
  k = order[rank];
  p = self->patch->size;
  image = g_ptr_array_index (self->patch->completions, k);
  truth = self->patch->patch;
  g_free (self->hover_diff);
  self->hover_diff = g_new (float, (gsize) p * p);
  for (gsize q = 0; q < (gsize) p * p; q++)
    {
      self->hover_diff[q] = fabsf (image[q] - truth[q]);
      largest = MAX (largest, self->hover_diff[q]);
    }
  self->hover_rank = (int) rank;
  self->hover_max = largest;
  g_free (self->hover_text);
  self->hover_text = g_strdup_printf ("Sample %u: L2 distance %.4g to the truth, largest "
                                      "pixel difference %.3g",
                                      g_array_index (self->patch->sample_ids, guint32, k),
                                      g_array_index (self->patch->distances, double, k),
                                      largest);
  gtk_label_set_text (self->hover_label, self->hover_text);
  gtk_widget_queue_draw (GTK_WIDGET (self->diff_area));
  return TRUE;
}

const char *
picard_scan_panel_get_hover_text (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return self->hover_text;
}

GtkWidget *
picard_scan_panel_get_patch_widget (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return self->patch_box;
}

static void
draw_strip (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  PicardScanPanel *self = user_data;
  PicardStrip strip;
  double w, h;

  if (self->patch == NULL)
    return;
  fill_strip (self, &strip);
  if (!picard_strip_get_size (&strip, 1.0, &w, &h, NULL) || w <= 0 || h <= 0)
    return;
  picard_strip_render (&strip, cr, MIN (width / w, height / h), NULL);
}

static double
strip_scale (PicardScanPanel *self, PicardStrip *strip)
{
  double w, h;
  int width = gtk_widget_get_width (GTK_WIDGET (self->strip_area));
  int height = gtk_widget_get_height (GTK_WIDGET (self->strip_area));

  if (!picard_strip_get_size (strip, 1.0, &w, &h, NULL) || w <= 0 || h <= 0)
    return 1.0;
  return MIN (width / w, height / h);
}

static void
strip_motion (GtkEventControllerMotion *controller, double x, double y, gpointer user_data)
{
  PicardScanPanel *self = user_data;
  PicardStrip strip;
  double scale, tx, ty, size;

  if (self->patch == NULL)
    return;
  fill_strip (self, &strip);
  scale = strip_scale (self, &strip);
  /* Tiles 0 and 1 are the patch and the masked input; completions follow, closest first. */
  for (guint rank = 0; rank < self->patch->n; rank++)
    if (picard_strip_get_tile (&strip, rank + 2, scale, &tx, &ty, &size)
        && x >= tx && y >= ty && x < tx + size && y < ty + size)
      {
        picard_scan_panel_hover_completion (self, rank);
        return;
      }
}

static void
draw_diff (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  PicardScanPanel *self = user_data;
  cairo_surface_t *surface;
  guint p;
  double scale;

  if (self->patch == NULL || self->hover_diff == NULL || self->hover_rank < 0)
    return;
  p = self->patch->size;
  /* |difference| from black (none) to white (the largest of this completion). */
  surface = picard_grey_surface_new_from_float (self->hover_diff, p, p, 0.0,
                                                MAX (self->hover_max, 1e-6), NULL);
  if (surface == NULL)
    return;
  scale = MIN ((double) width / p, (double) height / p);
  cairo_translate (cr, (width - p * scale) / 2.0, 0);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_surface_destroy (surface);
}

/* ---- inside the network: the coarse stage and attention, on request ---- */

typedef struct {
  PicardCompleter *completer;  /* the serialised completer, referenced */
  guint size, hole, n, grid;
  float *patch;                /* P x P in [-1, 1] */
  guint32 *sample_ids;
  guint32 patch_id;
  guint64 seed;
  guint serial;
  /* Out. */
  float *coarse;               /* n x P x P: the patch with the coarse stage in its hole */
  float *offsets;              /* n x 2 x grid x grid */
} StagesJob;

static void
stages_job_free (gpointer data)
{
  StagesJob *job = data;

  g_object_unref (job->completer);
  g_free (job->patch);
  g_free (job->sample_ids);
  g_free (job->coarse);
  g_free (job->offsets);
  g_free (job);
}

typedef struct {
  PicardNetwork *net;
  const PicardNetworkInput *in;
  PicardNetworkOutput *out;
  GCancellable *cancellable;
  GError **error;
  gboolean ok;
} ForwardCall;

static void
forward_call (gpointer data)
{
  ForwardCall *call = data;

  call->ok = picard_network_forward (call->net, call->in, call->out, call->cancellable,
                                     call->error);
}

static void
stages_thread (GTask *task, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  StagesJob *job = task_data;
  PicardNetwork *net = serial_completer_get_network (job->completer);
  gsize plane = (gsize) job->size * job->size;
  guint off = (job->size - job->hole) / 2;
  g_autofree float *x = g_new (float, plane * job->n);
  g_autofree float *mask = g_new0 (float, plane);
  g_autofree guint32 *patch_ids = g_new (guint32, job->n);
  g_autofree float *stage1 = g_new (float, plane * job->n);
  PicardNetworkInput in = { 0 };
  PicardNetworkOutput out = { 0 };
  GError *error = NULL;

  for (guint k = 0; k < job->n; k++)
    {
      memcpy (x + k * plane, job->patch, plane * sizeof (float));
      patch_ids[k] = job->patch_id;
    }
  for (guint r = off; r < off + job->hole; r++)
    for (guint c = off; c < off + job->hole; c++)
      mask[(gsize) r * job->size + c] = 1.0f;
  /* The same inputs, ids and seed as the completions: the same dropout masks, so the final
   * stage of this run is the completion shown. */
  in.n = job->n;
  in.height = job->size;
  in.width = job->size;
  in.x = x;
  in.mask = mask;
  in.mask_n = 1;
  in.patch_ids = patch_ids;
  in.sample_ids = job->sample_ids;
  in.seed = job->seed;
  job->offsets = g_new (float, (gsize) job->n * 2 * job->grid * job->grid);
  out.x_stage1 = stage1;
  out.offsets = job->offsets;
  /* On the model's background thread when it has one, like every other use of the
   * network: its OpenMP and driver threads then stay behind the main loop too. */
  PicardCompleter *inner = PICARD_SERIAL_COMPLETER (job->completer)->inner;
  ForwardCall call = { net, &in, &out, cancellable, &error, FALSE };
  serial_completer_lock (job->completer);
  if (PICARD_IS_BACKGROUND_COMPLETER (inner))
    picard_background_completer_run (PICARD_BACKGROUND_COMPLETER (inner), forward_call, &call);
  else
    forward_call (&call);
  serial_completer_unlock (job->completer);
  if (!call.ok)
    {
      g_task_return_error (task, error);
      return;
    }
  job->coarse = g_new (float, plane * job->n);
  for (guint k = 0; k < job->n; k++)
    for (gsize q = 0; q < plane; q++)
      job->coarse[k * plane + q] = mask[q] > 0.5f ? stage1[k * plane + q] : job->patch[q];
  g_task_return_boolean (task, TRUE);
}

/* The figure of the view's stages, columns in the strip's order (closest first). */
typedef struct {
  PicardStages stages;
  const float **coarse;
  const float **final;
  const float **offsets;
  char **labels;
} StagesFigure;

static void
stages_figure_fill (StagesFigure *figure, guint size, guint hole, guint grid, guint n,
                    GPtrArray *coarse, GPtrArray *final, GPtrArray *offsets,
                    const double *distances)
{
  PicardStrip strip;
  g_autofree guint *order = g_new (guint, MAX (n, 1u));

  strip_setup (&strip, size, hole, NULL, (const float *const *) final->pdata, distances, n);
  picard_strip_sort (&strip, order);
  figure->coarse = g_new (const float *, n);
  figure->final = g_new (const float *, n);
  figure->offsets = g_new (const float *, n);
  figure->labels = g_new0 (char *, n + 1);
  for (guint k = 0; k < n; k++)
    {
      figure->coarse[k] = g_ptr_array_index (coarse, order[k]);
      figure->final[k] = g_ptr_array_index (final, order[k]);
      figure->offsets[k] = g_ptr_array_index (offsets, order[k]);
      figure->labels[k] = g_strdup_printf ("L2 = %.4g", distances[order[k]]);
    }
  picard_stages_init (&figure->stages);
  figure->stages.size = size;
  figure->stages.hole_size = hole;
  figure->stages.grid = grid;
  figure->stages.n_samples = n;
  figure->stages.coarse = figure->coarse;
  figure->stages.final = figure->final;
  figure->stages.offsets = figure->offsets;
  figure->stages.labels = (const char *const *) figure->labels;
}

static void
stages_figure_clear (StagesFigure *figure)
{
  g_free (figure->coarse);
  g_free (figure->final);
  g_free (figure->offsets);
  g_strfreev (figure->labels);
}

static gboolean
has_stages (PicardScanPanel *self)
{
  return self->patch != NULL && self->patch->n > 0 && self->patch->n_stages == self->patch->n;
}

static void
fill_stages (PicardScanPanel *self, StagesFigure *figure)
{
  PatchView *view = self->patch;

  stages_figure_fill (figure, view->size, view->hole, view->grid, view->n, view->coarse,
                      view->completions, view->offsets, (const double *) view->distances->data);
  /* Tiles as large as the strip's. */
  figure->stages.tile = view->size * view->zoom;
}

static void
show_stages (PicardScanPanel *self)
{
  StagesFigure figure;
  double w, h;

  fill_stages (self, &figure);
  if (picard_stages_get_size (&figure.stages, 1.0, &w, &h, NULL) && w > 0)
    gtk_drawing_area_set_content_height (self->stages_area,
                                         (int) ceil (h * panel_width (self) / w));
  stages_figure_clear (&figure);
  gtk_label_set_text (self->stages_label, "Inside the network, closest sample first: the "
                                          "coarse stage's completion above the final one, and "
                                          "where attention copies each cell from.");
  gtk_widget_set_visible (GTK_WIDGET (self->stages_area), TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self->stages_area));
}

static void
stages_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (source);
  StagesJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  PatchView *view = self->patch;
  gsize plane = (gsize) job->size * job->size;

  if (job->serial != self->stages_serial)
    return;
  self->computing_stages = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf ("Cannot show the coarse stage and "
                                                   "attention: %s", error->message);

          gtk_label_set_text (self->stages_label, text);
          if (self->window != NULL)
            picard_window_show_message (self->window, TRUE, text);
        }
      return;
    }
  if (view == NULL || view->n != job->n)
    return;
  g_ptr_array_set_size (view->coarse, 0);
  g_ptr_array_set_size (view->offsets, 0);
  for (guint k = 0; k < job->n; k++)
    {
      gsize cells = (gsize) 2 * job->grid * job->grid;

      g_ptr_array_add (view->coarse, g_memdup2 (job->coarse + k * plane,
                                                plane * sizeof (float)));
      g_ptr_array_add (view->offsets, g_memdup2 (job->offsets + k * cells,
                                                 cells * sizeof (float)));
    }
  view->grid = job->grid;
  view->n_stages = job->n;
  if (self->show_stages)
    show_stages (self);
}

/* Cancels looking inside the network for a patch whose samples are changing. */
static void
cancel_stages (PicardScanPanel *self)
{
  self->stages_serial++;
  self->computing_stages = FALSE;
  if (self->stages_cancellable != NULL)
    g_cancellable_cancel (self->stages_cancellable);
  g_clear_object (&self->stages_cancellable);
}

/* Shows (computing when needed) or hides the coarse stage and attention of the patch. */
static void
update_stages (PicardScanPanel *self)
{
  g_autoptr(GTask) task = NULL;
  PatchView *view = self->patch;
  PicardNetwork *net;
  StagesJob *job;

  gtk_widget_set_visible (GTK_WIDGET (self->stages_label), self->show_stages && view != NULL);
  if (!self->show_stages || view == NULL || !has_stages (self))
    gtk_widget_set_visible (GTK_WIDGET (self->stages_area), FALSE);
  if (!self->show_stages || view == NULL || self->completing || view->n == 0)
    return;
  if (has_stages (self))
    {
      show_stages (self);
      return;
    }
  if (self->computing_stages)
    return;
  net = self->completer != NULL ? serial_completer_get_network (self->completer) : NULL;
  if (net == NULL)
    {
      gtk_label_set_text (self->stages_label, "This model is not a PICARD network: it has no "
                                              "coarse stage or attention to show. Load a "
                                              "checkpoint or the demo model.");
      return;
    }
  if (picard_network_get_input_dim (net) != 1 || view->size % 8 != 0)
    {
      gtk_label_set_text (self->stages_label, "The coarse stage and attention need a "
                                              "one-channel network and a patch side that is a "
                                              "multiple of 8.");
      return;
    }
  job = g_new0 (StagesJob, 1);
  job->completer = g_object_ref (self->completer);
  job->size = view->size;
  job->hole = view->hole;
  job->n = view->n;
  job->grid = view->size / 8;
  job->patch = g_memdup2 (view->patch, (gsize) view->size * view->size * sizeof (float));
  job->sample_ids = g_memdup2 (view->sample_ids->data, view->n * sizeof (guint32));
  job->patch_id = view->patch_id;
  job->seed = view->seed;
  cancel_stages (self);
  job->serial = self->stages_serial;
  self->stages_cancellable = g_cancellable_new ();
  self->computing_stages = TRUE;
  gtk_label_set_text (self->stages_label, "Running the network for the coarse stage and "
                                          "attention…");
  task = run_job (self, self->stages_cancellable, stages_done, job, stages_job_free,
                  stages_thread);
}

void
picard_scan_panel_set_show_stages (PicardScanPanel *self, gboolean show)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  show = !!show;
  if (self->show_stages == show)
    return;
  self->show_stages = show;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_STAGES]);
  update_stages (self);
}

gboolean
picard_scan_panel_get_show_stages (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);
  return self->show_stages;
}

gboolean
picard_scan_panel_has_stages (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);
  return self->show_stages && has_stages (self)
         && gtk_widget_get_visible (GTK_WIDGET (self->stages_area));
}

const char *
picard_scan_panel_get_stages_text (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return gtk_label_get_text (self->stages_label);
}

GtkWidget *
picard_scan_panel_get_stages_widget (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  return GTK_WIDGET (self->stages_area);
}

static double
stages_scale (PicardScanPanel *self, const PicardStages *stages)
{
  double w, h;
  int width = gtk_widget_get_width (GTK_WIDGET (self->stages_area));
  int height = gtk_widget_get_height (GTK_WIDGET (self->stages_area));

  if (!picard_stages_get_size (stages, 1.0, &w, &h, NULL) || w <= 0 || h <= 0)
    return 1.0;
  return MIN (width / w, height / h);
}

gboolean
picard_scan_panel_get_stages_tile (PicardScanPanel *self, guint row, guint column, double *x,
                                   double *y, double *size)
{
  StagesFigure figure;
  gboolean ok;

  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);

  if (!has_stages (self))
    return FALSE;
  fill_stages (self, &figure);
  ok = picard_stages_get_tile (&figure.stages, row, column, stages_scale (self, &figure.stages),
                               x, y, size);
  stages_figure_clear (&figure);
  return ok;
}

static void
draw_stages (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  PicardScanPanel *self = user_data;
  StagesFigure figure;

  if (!has_stages (self))
    return;
  fill_stages (self, &figure);
  picard_stages_render (&figure.stages, cr, stages_scale (self, &figure.stages), NULL);
  stages_figure_clear (&figure);
}

/* ---- exporting the completions figure ---- */

typedef struct {
  guint size, hole, n;
  float *patch;
  GPtrArray *completions;
  double *distances;
  /* The coarse stage and attention, when the panel shows them (else NULL). */
  GPtrArray *coarse;
  GPtrArray *offsets;
  guint grid;
  char *title;
  char *path;
  PicardExportFormat format;
} ExportJob;

static void
export_job_free (gpointer data)
{
  ExportJob *job = data;

  g_free (job->patch);
  g_ptr_array_unref (job->completions);
  g_free (job->distances);
  g_clear_pointer (&job->coarse, g_ptr_array_unref);
  g_clear_pointer (&job->offsets, g_ptr_array_unref);
  g_free (job->title);
  g_free (job->path);
  g_free (job);
}

typedef struct {
  const PicardStrip *strip;
  const PicardStages *stages;  /* or NULL */
  double scale, strip_height, width, height;
} ExportFigure;

/* The strip, and under it the stages when they are shown. */
static gboolean
export_draw (cairo_t *cr, gpointer user_data, GError **error)
{
  const ExportFigure *figure = user_data;

  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, figure->width, figure->height);
  cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
  cairo_fill (cr);
  cairo_restore (cr);
  if (!picard_strip_render (figure->strip, cr, figure->scale, error))
    return FALSE;
  if (figure->stages == NULL)
    return TRUE;
  cairo_save (cr);
  cairo_translate (cr, 0, figure->strip_height);
  if (!picard_stages_render (figure->stages, cr, figure->scale, error))
    {
      cairo_restore (cr);
      return FALSE;
    }
  cairo_restore (cr);
  return TRUE;
}

static void
export_thread (GTask *task, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  ExportJob *job = task_data;
  PicardStrip strip;
  StagesFigure stages = { 0 };
  ExportFigure figure = { 0 };
  GError *error = NULL;
  gboolean ok;

  strip_setup (&strip, job->size, job->hole, job->patch,
               (const float *const *) job->completions->pdata, job->distances, job->n);
  strip.columns = MIN (job->n, 6u);
  strip.title = job->title;
  figure.strip = &strip;
  /* Small patches are enlarged so the figure stays legible. */
  figure.scale = MAX (1.0, 128.0 / job->size);
  ok = picard_strip_get_size (&strip, figure.scale, &figure.width, &figure.strip_height,
                              &error);
  figure.height = figure.strip_height;
  if (ok && job->coarse != NULL)
    {
      double w, h;

      stages_figure_fill (&stages, job->size, job->hole, job->grid, job->n, job->coarse,
                          job->completions, job->offsets, job->distances);
      figure.stages = &stages.stages;
      ok = picard_stages_get_size (&stages.stages, figure.scale, &w, &h, &error);
      figure.width = MAX (figure.width, w);
      figure.height += h;
    }
  ok = ok && picard_export_draw (job->path, job->format, figure.width, figure.height,
                                 job->title, figure.stages != NULL
                                             ? "Completions, coarse stage and attention"
                                             : "Completions", export_draw, &figure, &error);
  if (figure.stages != NULL)
    stages_figure_clear (&stages);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
picard_scan_panel_export_patch_async (PicardScanPanel *self, const char *path,
                                      PicardExportFormat format, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportJob *job;

  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, picard_scan_panel_export_patch_async);
  if (self->patch == NULL)
    {
      g_task_return_new_error (task, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                               "No patch is selected: click a patch first");
      return;
    }
  job = g_new0 (ExportJob, 1);
  job->size = self->patch->size;
  job->hole = self->patch->hole;
  job->n = self->patch->n;
  job->patch = g_memdup2 (self->patch->patch, (gsize) job->size * job->size * sizeof (float));
  job->completions = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < job->n; k++)
    g_ptr_array_add (job->completions,
                     g_memdup2 (g_ptr_array_index (self->patch->completions, k),
                                (gsize) job->size * job->size * sizeof (float)));
  job->distances = g_memdup2 (self->patch->distances->data, job->n * sizeof (double));
  if (self->show_stages && has_stages (self))
    {
      gsize cells = (gsize) 2 * self->patch->grid * self->patch->grid;

      job->grid = self->patch->grid;
      job->coarse = g_ptr_array_new_with_free_func (g_free);
      job->offsets = g_ptr_array_new_with_free_func (g_free);
      for (guint k = 0; k < job->n; k++)
        {
          g_ptr_array_add (job->coarse,
                           g_memdup2 (g_ptr_array_index (self->patch->coarse, k),
                                      (gsize) job->size * job->size * sizeof (float)));
          g_ptr_array_add (job->offsets,
                           g_memdup2 (g_ptr_array_index (self->patch->offsets, k),
                                      cells * sizeof (float)));
        }
    }
  job->title = g_strdup_printf ("Slice %u, patch (%u, %u), model %s", self->sel_slice + 1,
                                self->sel_i, self->sel_j,
                                self->model_name != NULL ? self->model_name : "unnamed");
  job->path = g_strdup (path);
  job->format = format;
  g_task_set_task_data (task, job, export_job_free);
  g_task_run_in_thread (task, export_thread);
}

gboolean
picard_scan_panel_export_patch_finish (PicardScanPanel *self, GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
exported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (source);
  g_autoptr(GError) error = NULL;

  if (self->window == NULL)
    return;
  if (!picard_scan_panel_export_patch_finish (self, result, &error))
    {
      g_autofree char *text = g_strdup_printf ("Cannot export the completions: %s Choose "
                                               "another folder or free some space.",
                                               error->message);

      picard_window_show_message (self->window, TRUE, text);
    }
  else
    picard_window_show_message (self->window, FALSE, "The completions figure was saved.");
}

static void
export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardScanPanel *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);
      PicardExportFormat format;

      if (path != NULL && picard_export_format_from_path (path, &format))
        picard_scan_panel_export_patch_async (self, path, format, NULL, exported, NULL);
      else if (self->window != NULL)
        picard_window_show_message (self->window, TRUE, "Cannot export the completions: name "
                                    "the file .png, .svg or .pdf.");
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
export_patch_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (widget);
  GtkFileChooserNative *dialog;
  g_autofree char *name = NULL;

  if (self->patch == NULL)
    return;
  dialog = gtk_file_chooser_native_new ("Export the Completions",
                                        self->window != NULL ? GTK_WINDOW (self->window) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  name = g_strdup_printf ("completions-slice%u-patch%u-%u.png", self->sel_slice + 1, self->sel_i,
                          self->sel_j);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- choosing the model ---- */

static void
model_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardScanPanel *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autoptr(PicardCompleter) completer = picard_model_load_finish (result, &name, &error);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->settings != NULL)
    {
      self->loading = FALSE;
      if (completer != NULL)
        {
          guint patch, hole;

          /* The demo model only works at the size it was trained for (64/32): adopt it,
           * with a stride of patch/4 (the paper's is patch/8) so that a whole demo slice
           * takes about three minutes on two CPU cores. A user's checkpoint keeps the
           * settings. */
          picard_model_load_get_trained_geometry (result, &patch, &hole);
          if (self->loading_demo && patch > hole && hole > 0)
            {
              g_settings_set_uint (self->settings, "scan-patch-size", patch);
              g_settings_set_uint (self->settings, "scan-hole-size", hole);
              g_settings_set_uint (self->settings, "scan-stride", MAX (patch / 4, 1u));
            }
          picard_scan_panel_set_completer (self, completer, name);
        }
      else
        {
          g_autofree char *text = g_strdup_printf ("Cannot load the model: %s Choose a folder "
                                                   "with gen_*.pt files of a PICARD run.",
                                                   error->message);

          gtk_label_set_text (self->model_label, text);
          if (self->window != NULL)
            picard_window_show_message (self->window, TRUE, text);
        }
      update_buttons (self);
    }
  g_object_unref (self);
}

void
picard_scan_panel_load_model (PicardScanPanel *self, const char *path)
{
  PicardModelRequest request = { 0 };

  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  request.path = g_strdup (path);
  request.dropout_preset = g_settings_get_string (self->settings, "scan-dropout-layers");
  request.dropout_p = g_settings_get_double (self->settings, "scan-dropout-p");
  request.n_samples = g_settings_get_uint (self->settings, "scan-samples");
  {
    g_autofree char *backend = g_settings_get_string (self->settings, "compute-backend");

    picard_backend_from_string (backend, &request.backend, NULL);
  }
  g_settings_set_string (self->settings, "last-checkpoint", path != NULL ? path : "");
  self->loading = TRUE;
  self->loading_demo = path == NULL;
  gtk_label_set_text (self->model_label, "Loading the model…");
  picard_model_load_async (&request, self->load_cancellable, model_loaded, g_object_ref (self));
  picard_model_request_clear (&request);
}

const char *
picard_scan_panel_get_backend_name (PicardScanPanel *self)
{
  PicardNetwork *net;

  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), NULL);
  net = self->completer != NULL ? serial_completer_get_network (self->completer) : NULL;
  return net != NULL ? picard_network_get_backend_name (net) : NULL;
}

/* A model in use moves to the newly chosen backend: reloaded from the same place. */
static void
backend_changed (PicardScanPanel *self)
{
  g_autofree char *last = NULL;

  if (self->completer == NULL && !self->loading)
    return;
  last = g_settings_get_string (self->settings, "last-checkpoint");
  picard_scan_panel_load_model (self, last[0] != '\0' ? last : NULL);
}

gboolean
picard_scan_panel_is_loading (PicardScanPanel *self)
{
  g_return_val_if_fail (PICARD_IS_SCAN_PANEL (self), FALSE);
  return self->loading;
}

static void
checkpoint_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardScanPanel *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT && self->settings != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        picard_scan_panel_load_model (self, path);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
model_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (widget);
  GtkFileChooserNative *dialog;

  if (g_str_equal (action_name, "scan.load-demo"))
    {
      picard_scan_panel_load_model (self, NULL);
      return;
    }
  dialog = gtk_file_chooser_native_new ("Choose a Checkpoint Folder",
                                        self->window != NULL ? GTK_WINDOW (self->window) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Choose",
                                        "_Cancel");
  {
    g_autofree char *last = g_settings_get_string (self->settings, "last-checkpoint");

    /* Start beside the checkpoint used last. */
    if (last[0] != '\0')
      {
        g_autoptr(GFile) file = g_file_new_for_path (last);
        g_autoptr(GFile) parent = g_file_get_parent (file);

        if (parent != NULL)
          gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), parent, NULL);
      }
  }
  g_signal_connect (dialog, "response", G_CALLBACK (checkpoint_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- wiring ---- */

static void
activate_point (PicardSliceView *view, double x, double y, PicardScanPanel *self)
{
  /* Displayed pixel edges to pixel centres, then to the file's orientation. */
  double fx = x - 0.5, fy = y - 0.5;

  picard_orientation_map_point_f (picard_window_get_orientation (self->window),
                                  picard_window_get_space (self->window), PICARD_SPACE_FILE,
                                  &fx, &fy);
  picard_scan_panel_select_point (self, fx, fy);
}

static void
update_lattice (PicardScanPanel *self)
{
  PicardSliceView *view;
  PicardScanParams params;
  PicardLattice lattice;
  const PicardScanResult *stored;
  guint rows, columns;
  const PicardOrientation *orientation;
  double x0, y0;

  if (self->window == NULL)
    return;
  view = picard_window_get_slice_view (self->window);
  if (!g_settings_get_boolean (self->settings, "show-lattice")
      || picard_window_get_volume (self->window) == NULL)
    {
      picard_slice_view_set_lattice (view, NULL);
      return;
    }
  stored = picard_scan_panel_get_result (self, picard_window_get_slice (self->window));
  if (stored != NULL)
    params = stored->params;
  else
    read_params (self, &params);
  rows = picard_volume_get_rows (picard_window_get_volume (self->window));
  columns = picard_volume_get_columns (picard_window_get_volume (self->window));
  picard_lattice_init_for_slice (&lattice, rows, columns, params.patch_size, params.stride);
  if (lattice.n_x == 0 || lattice.n_y == 0)
    {
      picard_slice_view_set_lattice (view, NULL);
      return;
    }
  /* A flip moves the first centre: map both ends and keep the smaller. */
  orientation = picard_window_get_orientation (self->window);
  x0 = lattice.x0;
  y0 = lattice.y0;
  {
    double x1 = lattice.x0 + (lattice.n_x - 1) * lattice.stride;
    double y1 = lattice.y0 + (lattice.n_y - 1) * lattice.stride;

    picard_orientation_map_point_f (orientation, PICARD_SPACE_FILE,
                                    picard_window_get_space (self->window), &x0, &y0);
    picard_orientation_map_point_f (orientation, PICARD_SPACE_FILE,
                                    picard_window_get_space (self->window), &x1, &y1);
    lattice.x0 = MIN (x0, x1);
    lattice.y0 = MIN (y0, y1);
  }
  picard_slice_view_set_lattice (view, &lattice);
}

void
picard_scan_panel_set_window (PicardScanPanel *self, PicardWindow *window)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  self->window = window;
  if (window != NULL)
    {
      g_signal_connect_object (picard_window_get_slice_view (window), "activate-point",
                               G_CALLBACK (activate_point), self, 0);
      update_lattice (self);
      metric_setting_changed (self);
    }
  update_buttons (self);
}

void
picard_scan_panel_volume_changed (PicardScanPanel *self)
{
  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));

  sync_volume (self);
  update_lattice (self);
  update_buttons (self);
  update_stages (self);
}

void
picard_scan_panel_set_completer (PicardScanPanel *self, PicardCompleter *completer,
                                 const char *model_name)
{
  g_autofree char *text = NULL;
  PicardNetwork *net;

  g_return_if_fail (PICARD_IS_SCAN_PANEL (self));
  g_return_if_fail (completer == NULL || PICARD_IS_COMPLETER (completer));

  picard_scan_panel_cancel (self);
  self->generation++;
  self->state = PICARD_SCAN_STATE_IDLE;
  g_clear_object (&self->scan_cancellable);
  g_clear_pointer (&self->control, picard_scan_control_unref);
  if (self->patch_cancellable != NULL)
    g_cancellable_cancel (self->patch_cancellable);
  self->completing = FALSE;
  g_clear_object (&self->completer);
  if (completer != NULL)
    self->completer = serial_completer_new (completer);
  g_free (self->model_name);
  self->model_name = g_strdup (model_name);
  text = completer != NULL
         ? g_strdup_printf ("%s on %s", model_name != NULL ? model_name : "Model",
                            picard_completer_get_device_name (completer))
         : g_strdup ("No model: choose a checkpoint folder");
  gtk_label_set_text (self->model_label, text);
  /* Why this backend: the choice is the user's to check and change (Device). */
  net = self->completer != NULL ? serial_completer_get_network (self->completer) : NULL;
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_label),
                               net != NULL ? picard_network_get_backend_reason (net)
                                           : "The model that completes the patches");
  update_buttons (self);
}

static void
scan_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (widget);

  if (g_str_equal (action_name, "scan.start"))
    picard_scan_panel_start (self);
  else if (g_str_equal (action_name, "scan.pause"))
    {
      if (self->state == PICARD_SCAN_STATE_PAUSED)
        picard_scan_panel_resume (self);
      else
        picard_scan_panel_pause (self);
    }
  else if (g_str_equal (action_name, "scan.cancel"))
    picard_scan_panel_cancel (self);
  else if (g_str_equal (action_name, "scan.more-samples"))
    picard_scan_panel_more_samples (self);
}

static gboolean
get_string_index (GValue *value, GVariant *variant, gpointer user_data)
{
  const char *const *names = user_data;
  const char *text = g_variant_get_string (variant, NULL);

  for (guint k = 0; names[k] != NULL; k++)
    if (g_strcmp0 (names[k], text) == 0)
      {
        g_value_set_uint (value, k);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
set_string_index (const GValue *value, const GVariantType *type, gpointer user_data)
{
  const char *const *names = user_data;
  guint k = g_value_get_uint (value);

  for (guint n = 0; names[n] != NULL; n++)
    if (n == k)
      return g_variant_new_string (names[n]);
  return NULL;
}

static void
range_changed (PicardScanPanel *self)
{
  g_autofree char *range = g_settings_get_string (self->settings, "scan-range");

  gtk_widget_set_visible (self->range_box, g_strcmp0 (range, "range") == 0);
}

static void
picard_scan_panel_dispose (GObject *object)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (object);

  self->generation++;
  self->patch_serial++;
  self->redraw_serial++;
  if (self->scan_cancellable != NULL)
    g_cancellable_cancel (self->scan_cancellable);
  if (self->control != NULL)
    picard_scan_control_resume (self->control);
  if (self->patch_cancellable != NULL)
    g_cancellable_cancel (self->patch_cancellable);
  if (self->redraw_cancellable != NULL)
    g_cancellable_cancel (self->redraw_cancellable);
  cancel_stages (self);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->scan_cancellable);
  g_clear_object (&self->patch_cancellable);
  g_clear_object (&self->redraw_cancellable);
  g_clear_pointer (&self->control, picard_scan_control_unref);
  self->window = NULL;
  g_clear_object (&self->completer);
  g_clear_object (&self->volume);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->patch, patch_view_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), PICARD_TYPE_SCAN_PANEL);
  G_OBJECT_CLASS (picard_scan_panel_parent_class)->dispose (object);
}

static void
picard_scan_panel_finalize (GObject *object)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (object);

  g_hash_table_unref (self->results);
  g_free (self->model_name);
  g_free (self->hover_text);
  g_free (self->hover_diff);
  G_OBJECT_CLASS (picard_scan_panel_parent_class)->finalize (object);
}

static void
picard_scan_panel_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (object);

  switch (prop_id)
    {
    case PROP_SHOW_STAGES:
      g_value_set_boolean (value, self->show_stages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
picard_scan_panel_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  PicardScanPanel *self = PICARD_SCAN_PANEL (object);

  switch (prop_id)
    {
    case PROP_SHOW_STAGES:
      picard_scan_panel_set_show_stages (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
picard_scan_panel_class_init (PicardScanPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = picard_scan_panel_dispose;
  object_class->finalize = picard_scan_panel_finalize;
  object_class->get_property = picard_scan_panel_get_property;
  object_class->set_property = picard_scan_panel_set_property;
  properties[PROP_SHOW_STAGES] =
    g_param_spec_boolean ("show-stages", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/picard/Viewer/picard-scan-panel.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, PicardScanPanel, name)
  CHILD (model_label);
  CHILD (patch_adjustment);
  CHILD (hole_adjustment);
  CHILD (stride_adjustment);
  CHILD (samples_adjustment);
  CHILD (seed_adjustment);
  CHILD (dropout_adjustment);
  CHILD (dropout_dropdown);
  CHILD (backend_dropdown);
  CHILD (metric_dropdown);
  CHILD (skip_check);
  CHILD (roi_check);
  CHILD (range_dropdown);
  CHILD (from_adjustment);
  CHILD (to_adjustment);
  CHILD (range_box);
  CHILD (start_button);
  CHILD (pause_button);
  CHILD (cancel_button);
  CHILD (progress_bar);
  CHILD (status_label);
  CHILD (lower_adjustment);
  CHILD (upper_adjustment);
  CHILD (lattice_check);
  CHILD (patch_box);
  CHILD (patch_label);
  CHILD (strip_area);
  CHILD (hover_label);
  CHILD (diff_area);
  CHILD (stages_label);
  CHILD (stages_area);
#undef CHILD
  gtk_widget_class_install_action (widget_class, "scan.start", NULL, scan_action);
  gtk_widget_class_install_action (widget_class, "scan.pause", NULL, scan_action);
  gtk_widget_class_install_action (widget_class, "scan.cancel", NULL, scan_action);
  gtk_widget_class_install_action (widget_class, "scan.more-samples", NULL, scan_action);
  gtk_widget_class_install_action (widget_class, "scan.export-patch", NULL,
                                   export_patch_action);
  gtk_widget_class_install_property_action (widget_class, "scan.show-stages", "show-stages");
  gtk_widget_class_install_action (widget_class, "scan.load-demo", NULL, model_action);
  gtk_widget_class_install_action (widget_class, "scan.choose-checkpoint", NULL, model_action);
}

static void
picard_scan_panel_init (PicardScanPanel *self)
{
  static const char *metrics[G_N_ELEMENTS (metric_names) + 1];
  static const char *presets[G_N_ELEMENTS (dropout_presets) + 1];
  static const char *backends[G_N_ELEMENTS (backend_names) + 1];
  static const char *ranges[G_N_ELEMENTS (range_names) + 1];
  static const struct { guint key; GdkModifierType mods; const char *action; } keys[] = {
    { GDK_KEY_F5, 0, "scan.start" },
    { GDK_KEY_F6, 0, "scan.pause" },
    { GDK_KEY_F5, GDK_SHIFT_MASK, "scan.cancel" },
    { GDK_KEY_m, GDK_CONTROL_MASK, "scan.more-samples" },
    { GDK_KEY_e, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "scan.export-patch" },
    { GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "scan.show-stages" },
    { GDK_KEY_k, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "scan.choose-checkpoint" },
  };
  GtkEventController *controller;

  memcpy (metrics, metric_names, sizeof metric_names);
  memcpy (presets, dropout_presets, sizeof dropout_presets);
  memcpy (backends, backend_names, sizeof backend_names);
  memcpy (ranges, range_names, sizeof range_names);
  self->results = g_hash_table_new_full (NULL, NULL, NULL,
                                         (GDestroyNotify) picard_scan_result_unref);
  self->hover_rank = -1;
  self->metric.reduce = PICARD_SCAN_REDUCE_MIN;
  self->metric.space = PICARD_SCAN_SPACE_IMAGE;
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new ("org.picard.Viewer");
  g_settings_bind (self->settings, "scan-patch-size", self->patch_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-hole-size", self->hole_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-stride", self->stride_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-samples", self->samples_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-seed", self->seed_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-dropout-p", self->dropout_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-skip-background", self->skip_check, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "scan-roi", self->roi_check, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "show-lattice", self->lattice_check, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "show-stages", self, "show-stages", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "overlay-lower-threshold", self->lower_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "overlay-upper-threshold", self->upper_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "scan-metric", self->metric_dropdown,
                                "selected", G_SETTINGS_BIND_DEFAULT, get_string_index,
                                set_string_index, metrics, NULL);
  g_settings_bind_with_mapping (self->settings, "scan-dropout-layers", self->dropout_dropdown,
                                "selected", G_SETTINGS_BIND_DEFAULT, get_string_index,
                                set_string_index, presets, NULL);
  g_settings_bind_with_mapping (self->settings, "compute-backend", self->backend_dropdown,
                                "selected", G_SETTINGS_BIND_DEFAULT, get_string_index,
                                set_string_index, backends, NULL);
  g_signal_connect_swapped (self->settings, "changed::compute-backend",
                            G_CALLBACK (backend_changed), self);
  g_settings_bind_with_mapping (self->settings, "scan-range", self->range_dropdown,
                                "selected", G_SETTINGS_BIND_DEFAULT, get_string_index,
                                set_string_index, ranges, NULL);
  g_signal_connect_swapped (self->settings, "changed::scan-metric",
                            G_CALLBACK (metric_setting_changed), self);
  g_signal_connect_swapped (self->settings, "changed::scan-range", G_CALLBACK (range_changed),
                            self);
  g_signal_connect_swapped (self->settings, "changed::show-lattice",
                            G_CALLBACK (update_lattice), self);
  g_signal_connect_swapped (self->settings, "changed::scan-patch-size",
                            G_CALLBACK (update_lattice), self);
  g_signal_connect_swapped (self->settings, "changed::scan-stride",
                            G_CALLBACK (update_lattice), self);
  range_changed (self);

  gtk_drawing_area_set_draw_func (self->strip_area, draw_strip, self, NULL);
  gtk_drawing_area_set_draw_func (self->diff_area, draw_diff, self, NULL);
  gtk_drawing_area_set_draw_func (self->stages_area, draw_stages, self, NULL);
  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (strip_motion), self);
  gtk_widget_add_controller (GTK_WIDGET (self->strip_area), controller);

  /* The scan's keys work wherever the focus is in the window. */
  controller = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (controller),
                                     GTK_SHORTCUT_SCOPE_GLOBAL);
  for (gsize k = 0; k < G_N_ELEMENTS (keys); k++)
    gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller),
                                          gtk_shortcut_new (gtk_keyval_trigger_new (keys[k].key,
                                                                                    keys[k].mods),
                                                            gtk_named_action_new (keys[k].action)));
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
  update_buttons (self);
}
