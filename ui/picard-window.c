#include "picard-window.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-figure.h"
#include "picard-slice-render.h"

/* Rendered slices kept for scrolling back and forth (at least a few whatever their size). */
#define CACHE_BYTES ((gsize) 384 * 1024 * 1024)
#define CACHE_MIN_ENTRIES 4
#define MAX_PREFETCH_RENDERS 2
#define ZOOM_STEP G_SQRT2
#define PAN_STEP 64.0
#define RECENT_APP_NAME "Picard Viewer"
#define RECENT_MAX 10

typedef struct {
  char *key;
  PicardRenderedSlice *rendered;
} CacheEntry;

typedef struct {
  GBytes *values; /* floats, FILE orientation */
  guint serial;
} HeatmapSlice;

struct _PicardWindow {
  GtkApplicationWindow parent_instance;

  /* Template children. */
  GtkLabel *title_label;
  GtkInscription *subtitle_label;
  GtkRevealer *message_revealer;
  GtkWidget *message_box;
  GtkImage *message_icon;
  GtkLabel *message_label;
  PicardSliceView *slice_view;
  GtkWidget *empty_box;
  GtkWidget *loading_box;
  GtkSpinner *loading_spinner;
  GtkLabel *loading_label;
  GtkWidget *sidebar;
  GtkLabel *patient_label;
  GtkLabel *view_label;
  GtkLabel *size_label;
  GtkLabel *format_label;
  GtkLabel *orientation_label;
  GtkAdjustment *center_adjustment;
  GtkAdjustment *width_adjustment;
  GtkWidget *heatmap_box;
  GtkDropDown *colormap_dropdown;
  GtkAdjustment *opacity_adjustment;
  GtkListBox *lesion_list;
  GtkAdjustment *fps_adjustment;
  GtkAdjustment *slice_adjustment;
  GtkInscription *slice_label;
  GtkInscription *readout_label;
  GtkMenuButton *zoom_button;
  GMenu *recent_submenu;
  PicardScanPanel *scan_panel;

  GSettings *settings;
  GtkRecentManager *recent;
  PicardDatasetBrowser *browser;

  /* Properties (actions and settings). */
  gboolean invert;
  gboolean aligned;
  gboolean show_boxes;
  gboolean show_colorbar;
  gboolean playing;
  gboolean sidebar_visible;

  /* Opening. */
  GCancellable *open_cancellable;
  guint open_serial;
  gboolean opening;

  /* The volume. */
  GCancellable *cancellable; /* cancelled when the volume changes or the window closes */
  PicardVolume *volume;
  PicardOrientation orientation;
  PicardDatasetEntry *entry;
  GArray *lesions;           /* PicardLesion, dataset orientation */
  char *path;

  /* What to show. */
  guint slice;
  PicardWindowLevel wl;
  gboolean auto_pending;     /* the next render computes the window */
  double auto_low, auto_high;
  guint auto_serial;
  gboolean updating_spins;
  PicardWindowLevel drag_wl;

  /* Rendering. */
  GHashTable *cache;         /* key -> CacheEntry */
  GQueue lru;                /* CacheEntry, most recent first */
  gsize cache_bytes;
  GHashTable *in_flight;     /* keys */
  gboolean foreground_busy;
  guint prefetch_busy;
  GdkFrameClock *prefetch_clock;  /* waiting for its after-paint to prefetch */
  gulong prefetch_handler;

  /* The heatmap layer. */
  GHashTable *heatmaps;      /* slice -> HeatmapSlice */
  guint heatmap_serial;
  char *heatmap_label;

  /* Cine and readout. */
  guint cine_tick;
  gint64 cine_last;
  gboolean hover_inside;
  double hover_x, hover_y;
  char *readout;
};

G_DEFINE_FINAL_TYPE (PicardWindow, picard_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_INVERT,
  PROP_ALIGNED,
  PROP_SHOW_BOXES,
  PROP_SHOW_COLORBAR,
  PROP_PLAYING,
  PROP_SIDEBAR_VISIBLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void update_view (PicardWindow *self);
static void update_boxes (PicardWindow *self);
static void update_readout (PicardWindow *self);
static void update_labels (PicardWindow *self);

/* ---- messages ---- */

static void
show_message (PicardWindow *self, gboolean error, const char *text)
{
  gtk_label_set_text (self->message_label, text);
  gtk_image_set_from_icon_name (self->message_icon,
                                error ? "dialog-warning-symbolic" : "dialog-information-symbolic");
  gtk_widget_remove_css_class (self->message_box, error ? "info" : "error");
  gtk_widget_add_css_class (self->message_box, error ? "error" : "info");
  gtk_revealer_set_reveal_child (self->message_revealer, TRUE);
}

static void
show_error (PicardWindow *self, const char *what, const GError *error, const char *todo)
{
  g_autofree char *text = g_strdup_printf ("%s: %s%s%s", what, error->message,
                                           g_str_has_suffix (error->message, ".") ? "" : ".",
                                           todo != NULL ? todo : "");

  show_message (self, TRUE, text);
}

void
picard_window_show_message (PicardWindow *self, gboolean error, const char *text)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (text != NULL);

  show_message (self, error, text);
}

const char *
picard_window_get_message (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  if (!gtk_revealer_get_reveal_child (self->message_revealer))
    return NULL;
  return gtk_label_get_text (self->message_label);
}

static void
dismiss_message_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_revealer_set_reveal_child (PICARD_WINDOW (widget)->message_revealer, FALSE);
}

/* ---- the render cache ---- */

static PicardSpace
display_space (PicardWindow *self)
{
  return self->aligned ? PICARD_SPACE_ALIGNED : PICARD_SPACE_FILE;
}

static HeatmapSlice *
heatmap_of (PicardWindow *self, guint slice)
{
  return g_hash_table_lookup (self->heatmaps, GUINT_TO_POINTER (slice));
}

static void
heatmap_slice_free (gpointer data)
{
  HeatmapSlice *heat = data;

  g_bytes_unref (heat->values);
  g_free (heat);
}

static void
current_overlay (PicardWindow *self, PicardOverlayStyle *style)
{
  g_autofree char *name = g_settings_get_string (self->settings, "overlay-colormap");

  picard_overlay_style_init (style);
  if (!picard_colormap_from_name (name, &style->colormap))
    style->colormap = PICARD_COLORMAP_JET;
  style->opacity = g_settings_get_double (self->settings, "overlay-opacity");
  style->lower_threshold = g_settings_get_double (self->settings, "overlay-lower-threshold");
  style->upper_threshold = g_settings_get_double (self->settings, "overlay-upper-threshold");
  /* 0 means no threshold: scores are distances, so 0 is never a useful cut. */
  if (style->lower_threshold <= 0.0)
    style->lower_threshold = -INFINITY;
  if (style->upper_threshold <= 0.0)
    style->upper_threshold = INFINITY;
}

/* Everything a rendered slice depends on. */
static char *
render_key (PicardWindow *self, guint slice, const PicardWindowLevel *wl, gboolean auto_window)
{
  HeatmapSlice *heat = heatmap_of (self, slice);
  PicardOverlayStyle style;

  current_overlay (self, &style);
  if (auto_window)
    return g_strdup_printf ("%u/%d/auto%u/%d/%u/%d/%.3f/%g/%g", slice, display_space (self),
                            self->auto_serial, wl->invert, heat != NULL ? heat->serial : 0,
                            style.colormap, style.opacity, style.lower_threshold,
                            style.upper_threshold);
  return g_strdup_printf ("%u/%d/%.17g/%.17g/%d/%u/%d/%.3f/%g/%g", slice, display_space (self),
                          wl->center, wl->width, wl->invert, heat != NULL ? heat->serial : 0,
                          style.colormap, style.opacity, style.lower_threshold,
                          style.upper_threshold);
}

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_free (entry->key);
  picard_rendered_slice_unref (entry->rendered);
  g_free (entry);
}

static void
cache_clear (PicardWindow *self)
{
  g_queue_clear (&self->lru);
  g_hash_table_remove_all (self->cache);
  self->cache_bytes = 0;
}

static PicardRenderedSlice *
cache_lookup (PicardWindow *self, const char *key)
{
  CacheEntry *entry = g_hash_table_lookup (self->cache, key);

  if (entry == NULL)
    return NULL;
  g_queue_remove (&self->lru, entry);
  g_queue_push_head (&self->lru, entry);
  return entry->rendered;
}

static void
cache_insert (PicardWindow *self, const char *key, PicardRenderedSlice *rendered)
{
  CacheEntry *entry;

  if (g_hash_table_contains (self->cache, key))
    return;
  entry = g_new0 (CacheEntry, 1);
  entry->key = g_strdup (key);
  entry->rendered = picard_rendered_slice_ref (rendered);
  g_hash_table_insert (self->cache, entry->key, entry);
  g_queue_push_head (&self->lru, entry);
  self->cache_bytes += rendered->bytes;
  while (self->lru.length > CACHE_MIN_ENTRIES && self->cache_bytes > CACHE_BYTES)
    {
      CacheEntry *oldest = g_queue_pop_tail (&self->lru);

      self->cache_bytes -= oldest->rendered->bytes;
      g_hash_table_remove (self->cache, oldest->key);
    }
}

/* ---- rendering ---- */

typedef struct {
  PicardWindow *window;
  PicardVolume *volume;
  char *key;
  gboolean foreground;
  gboolean auto_window;
  guint auto_serial;
} RenderJob;

static void
render_job_free (RenderJob *job)
{
  g_object_unref (job->window);
  g_object_unref (job->volume);
  g_free (job->key);
  g_free (job);
}

static void
show_rendered (PicardWindow *self, PicardRenderedSlice *rendered)
{
  picard_slice_view_set_rendered (self->slice_view, rendered);
  gtk_widget_set_visible (self->empty_box, FALSE);
  update_boxes (self);
  update_readout (self);
  update_labels (self);
}

static void
adopt_window (PicardWindow *self, const PicardWindowLevel *wl)
{
  self->wl = *wl;
  self->auto_pending = FALSE;
  self->updating_spins = TRUE;
  gtk_adjustment_set_value (self->center_adjustment, wl->center);
  gtk_adjustment_set_value (self->width_adjustment, wl->width);
  self->updating_spins = FALSE;
}

static void prefetch (PicardWindow *self);

static void
cancel_deferred_prefetch (PicardWindow *self)
{
  /* A clock disposed with its window's surface has dropped its handlers already. */
  if (self->prefetch_handler != 0
      && g_signal_handler_is_connected (self->prefetch_clock, self->prefetch_handler))
    g_signal_handler_disconnect (self->prefetch_clock, self->prefetch_handler);
  self->prefetch_handler = 0;
  g_clear_object (&self->prefetch_clock);
}

static void
prefetch_after_paint (GdkFrameClock *clock, PicardWindow *self)
{
  cancel_deferred_prefetch (self);
  if (!self->foreground_busy)
    prefetch (self);
}

/* Neighbours are decoded once the slice just shown is on screen: on a machine with few cores
 * their decoding (threaded itself) would otherwise delay that paint, the first slice of a
 * volume most (measured: 340 ms of a 2.4 s first slice). */
static void
prefetch_after_next_paint (PicardWindow *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self->slice_view));

  if (self->prefetch_handler != 0 && self->prefetch_clock == clock
      && g_signal_handler_is_connected (clock, self->prefetch_handler))
    return;
  /* One waiting on a clock gone with an earlier surface would never fire. */
  cancel_deferred_prefetch (self);
  /* Nothing will be painted while the view is not on screen. */
  if (clock == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self->slice_view)))
    {
      prefetch (self);
      return;
    }
  self->prefetch_clock = g_object_ref (clock);
  self->prefetch_handler = g_signal_connect (clock, "after-paint",
                                             G_CALLBACK (prefetch_after_paint), self);
  /* That frame comes even when nothing was queued for drawing (the slice on screen was
   * already the wanted one). */
  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_AFTER_PAINT);
}

static void
render_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RenderJob *job = user_data;
  /* The job may hold the window's last reference: keep it alive until the end. */
  g_autoptr(PicardWindow) self = g_object_ref (job->window);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardRenderedSlice) rendered = picard_rendered_slice_new_finish (result, &error);

  g_hash_table_remove (self->in_flight, job->key);
  if (job->foreground)
    self->foreground_busy = FALSE;
  else
    self->prefetch_busy--;

  /* Stale: another volume is shown now, or the window is closing. */
  if (job->volume != self->volume || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      render_job_free (job);
      return;
    }
  if (rendered == NULL)
    {
      if (job->foreground)
        {
          g_autofree char *what = g_strdup_printf ("Could not show slice %u", self->slice + 1);

          show_error (self, what, error, " Try another slice, or open the file again.");
        }
      render_job_free (job);
      return;
    }

  if (job->auto_window)
    {
      g_autofree char *key = NULL;

      /* Cache it under the window it was given, which later requests ask for. */
      if (job->auto_serial == self->auto_serial && self->auto_pending)
        adopt_window (self, &rendered->window_level);
      key = render_key (self, rendered->slice, &rendered->window_level, FALSE);
      cache_insert (self, key, rendered);
    }
  else
    cache_insert (self, job->key, rendered);
  /* Whatever is wanted now: this result, something cached, or a new render. */
  update_view (self);
  if (!self->foreground_busy && job->foreground)
    prefetch_after_next_paint (self);
  else if (!self->foreground_busy)
    prefetch (self);
  /* Last: the job may hold the last reference to the window. */
  render_job_free (job);
}

static void
start_render (PicardWindow *self, guint slice, gboolean foreground, const char *key,
              gboolean auto_window)
{
  PicardRenderRequest request = { 0 };
  HeatmapSlice *heat = heatmap_of (self, slice);
  RenderJob *job = g_new0 (RenderJob, 1);

  request.volume = self->volume;
  request.slice = slice;
  request.orientation = self->orientation;
  request.space = display_space (self);
  request.window_level = self->wl;
  request.window_level.invert = self->invert;
  request.auto_window = auto_window;
  request.auto_low = self->auto_low;
  request.auto_high = self->auto_high;
  request.heatmap = heat != NULL ? heat->values : NULL;
  current_overlay (self, &request.overlay);

  job->window = g_object_ref (self);
  job->volume = g_object_ref (self->volume);
  job->key = g_strdup (key);
  job->foreground = foreground;
  job->auto_window = auto_window;
  job->auto_serial = self->auto_serial;
  g_hash_table_add (self->in_flight, g_strdup (key));
  if (foreground)
    self->foreground_busy = TRUE;
  else
    self->prefetch_busy++;
  picard_rendered_slice_new_async (&request, self->cancellable, render_done, job);
}

static char *
wanted_key (PicardWindow *self)
{
  PicardWindowLevel wl = self->wl;

  wl.invert = self->invert;
  return render_key (self, self->slice, &wl, self->auto_pending);
}

static void
update_view (PicardWindow *self)
{
  g_autofree char *key = NULL;
  PicardRenderedSlice *cached;

  if (self->volume == NULL)
    return;
  key = wanted_key (self);
  cached = cache_lookup (self, key);
  if (cached != NULL)
    {
      if (picard_slice_view_get_rendered (self->slice_view) != cached)
        {
          show_rendered (self, cached);
          /* Keep drawing ahead of the user's scrolling. */
          if (!self->foreground_busy)
            prefetch_after_next_paint (self);
        }
      return;
    }
  /* One foreground render at a time: while the user drags a slider or the window, only
   * the latest wish is rendered next. */
  if (self->foreground_busy || g_hash_table_contains (self->in_flight, key))
    return;
  start_render (self, self->slice, TRUE, key, self->auto_pending);
}

/* Neighbouring frames decoded and drawn ahead of the user's scrolling. */
static void
prefetch (PicardWindow *self)
{
  int depth;
  guint frames;

  if (self->volume == NULL || self->auto_pending)
    return;
  depth = g_settings_get_int (self->settings, "prefetch-slices");
  frames = picard_volume_get_n_frames (self->volume);
  for (int d = 1; d <= depth; d++)
    for (int sign = 1; sign >= -1; sign -= 2)
      {
        gint64 s = (gint64) self->slice + sign * d;
        PicardWindowLevel wl = self->wl;
        g_autofree char *key = NULL;

        if (s < 0 || s >= frames)
          continue;
        picard_volume_prefetch (self->volume, (guint) s);
        /* Drawn images only for the nearest, as they cost more memory than frames. */
        if (d > 1 || self->prefetch_busy >= MAX_PREFETCH_RENDERS)
          continue;
        wl.invert = self->invert;
        key = render_key (self, (guint) s, &wl, FALSE);
        if (g_hash_table_contains (self->cache, key) || g_hash_table_contains (self->in_flight, key))
          continue;
        start_render (self, (guint) s, FALSE, key, FALSE);
      }
}

gboolean
picard_window_is_idle (PicardWindow *self)
{
  g_autofree char *key = NULL;
  PicardRenderedSlice *shown;

  g_return_val_if_fail (PICARD_IS_WINDOW (self), FALSE);

  if (self->opening || self->volume == NULL)
    return FALSE;
  shown = picard_slice_view_get_rendered (self->slice_view);
  key = wanted_key (self);
  return shown != NULL && !self->auto_pending
         && g_hash_table_lookup (self->cache, key) != NULL
         && ((CacheEntry *) g_hash_table_lookup (self->cache, key))->rendered == shown;
}

gboolean
picard_window_is_slice_ready (PicardWindow *self, guint slice)
{
  PicardWindowLevel wl;
  g_autofree char *key = NULL;

  g_return_val_if_fail (PICARD_IS_WINDOW (self), FALSE);

  if (self->volume == NULL || self->auto_pending
      || slice >= picard_volume_get_n_frames (self->volume))
    return FALSE;
  wl = self->wl;
  wl.invert = self->invert;
  key = render_key (self, slice, &wl, FALSE);
  return g_hash_table_contains (self->cache, key);
}

/* ---- what is drawn over the slice ---- */

static void
update_boxes (PicardWindow *self)
{
  g_autoptr(GArray) boxes = g_array_new (FALSE, TRUE, sizeof (PicardAnnotationBox));
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  PicardRenderedSlice *shown = picard_slice_view_get_rendered (self->slice_view);

  if (self->show_boxes && self->lesions != NULL && shown != NULL)
    for (guint i = 0; i < self->lesions->len; i++)
      {
        const PicardLesion *lesion = &g_array_index (self->lesions, PicardLesion, i);
        int distance = ABS ((int) shown->slice - lesion->slice);
        int x = lesion->x, y = lesion->y;
        PicardAnnotationBox box = { 0 };
        char *label;

        if (distance > picard_lesion_get_half_depth (lesion))
          continue;
        picard_orientation_map_box (&self->orientation, PICARD_SPACE_DATASET, shown->space, &x,
                                    &y, lesion->width, lesion->height);
        label = g_strdup_printf ("%d %s", lesion->subject, lesion->cancer ? "cancer" : "benign");
        g_ptr_array_add (labels, label);
        box.x = x;
        box.y = y;
        box.width = lesion->width;
        box.height = lesion->height;
        box.central = distance == 0;
        box.label = label;
        g_array_append_val (boxes, box);
      }
  picard_slice_view_set_boxes (self->slice_view, (const PicardAnnotationBox *) boxes->data,
                               boxes->len);
}

static void
update_readout (PicardWindow *self)
{
  PicardRenderedSlice *shown = picard_slice_view_get_rendered (self->slice_view);
  g_autofree char *text = NULL;
  guint16 value;
  double score;
  int x, y;

  if (shown != NULL && self->hover_inside)
    {
      x = (int) floor (self->hover_x);
      y = (int) floor (self->hover_y);
      if (picard_rendered_slice_sample (shown, x, y, &value, &score))
        {
          picard_orientation_map_point (&self->orientation, shown->space, PICARD_SPACE_FILE, &x, &y);
          if (shown->heatmap == NULL)
            text = g_strdup_printf ("x %d  y %d  value %u", x, y, value);
          else if (isnan (score))
            text = g_strdup_printf ("x %d  y %d  value %u  score not scanned", x, y, value);
          else
            text = g_strdup_printf ("x %d  y %d  value %u  score %.4g", x, y, value, score);
        }
    }
  g_free (self->readout);
  self->readout = text != NULL ? g_steal_pointer (&text) : g_strdup ("");
  gtk_inscription_set_text (self->readout_label, self->readout);
}

static void
hover (PicardSliceView *view, gboolean inside, double x, double y, PicardWindow *self)
{
  self->hover_inside = inside;
  self->hover_x = x;
  self->hover_y = y;
  update_readout (self);
}

const char *
picard_window_get_readout (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return self->readout;
}

static char *
view_name (PicardWindow *self)
{
  const PicardVolumeInfo *info = picard_volume_get_info (self->volume);

  if (self->entry != NULL)
    return g_ascii_strup (picard_dataset_entry_get_view (self->entry), -1);
  if (info->view != NULL)
    return g_strdup_printf ("%s%s",
                            info->header_laterality == PICARD_LATERALITY_LEFT ? "L"
                            : info->header_laterality == PICARD_LATERALITY_RIGHT ? "R" : "",
                            info->view);
  return NULL;
}

static char *
orientation_text (PicardWindow *self)
{
  const PicardOrientation *o = &self->orientation;
  gboolean flip_x, flip_y;

  picard_orientation_get_flips (o, PICARD_SPACE_FILE, display_space (self), &flip_x, &flip_y);
  if (!self->aligned)
    return g_strdup ("As stored in the file");
  if (flip_x && flip_y)
    return g_strdup ("Left-aligned: the file's pixels rotated 180°");
  if (flip_x)
    return g_strdup ("Left-aligned: the file's pixels mirrored");
  if (flip_y)
    return g_strdup ("Left-aligned: the file's pixels flipped upside down");
  return g_strdup ("Left-aligned: as stored in the file");
}

static void
update_labels (PicardWindow *self)
{
  const PicardVolumeInfo *info;
  g_autofree char *view = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *slice = NULL;
  g_autofree char *orientation = NULL;
  g_autofree char *tooltip = NULL;
  guint frames;

  if (self->volume == NULL)
    return;
  info = picard_volume_get_info (self->volume);
  frames = picard_volume_get_n_frames (self->volume);
  view = view_name (self);
  slice = g_strdup_printf ("%u / %u", self->slice + 1, frames);
  gtk_inscription_set_text (self->slice_label, slice);
  subtitle = g_strdup_printf ("%s%s%s · slice %u of %u",
                              info->patient_id != NULL ? info->patient_id : "No patient ID",
                              view != NULL ? " · " : "", view != NULL ? view : "",
                              self->slice + 1, frames);
  gtk_inscription_set_text (self->subtitle_label, subtitle);
  gtk_widget_set_visible (GTK_WIDGET (self->subtitle_label), TRUE);
  orientation = orientation_text (self);
  gtk_label_set_text (self->orientation_label, orientation);
  tooltip = g_strdup_printf ("View laterality %s (from the %s); pixel laterality %s, measured "
                             "on slice %u",
                             picard_laterality_to_string (self->orientation.view_laterality),
                             self->orientation.view_laterality_source
                                 == PICARD_LATERALITY_SOURCE_VIEW ? "data set table"
                             : self->orientation.view_laterality_source
                                 == PICARD_LATERALITY_SOURCE_HEADER ? "file's header"
                                                                    : "nowhere: unknown",
                             picard_laterality_to_string (self->orientation.pixel_laterality),
                             self->orientation.measured_frame + 1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->orientation_label), tooltip);
}

static void
update_volume_labels (PicardWindow *self)
{
  const PicardVolumeInfo *info = picard_volume_get_info (self->volume);
  g_autofree char *basename = g_path_get_basename (info->path != NULL ? info->path : "Volume");
  g_autofree char *view = view_name (self);
  g_autofree char *size = g_strdup_printf ("%u × %u pixels, %u slices", info->columns,
                                           info->rows, info->frames);
  g_autofree char *format = g_strdup_printf ("%s%s%s", info->format != NULL ? info->format : "",
                                             info->transfer_syntax_name != NULL ? ", " : "",
                                             info->transfer_syntax_name != NULL
                                               ? info->transfer_syntax_name : "");

  gtk_label_set_text (self->title_label, basename);
  gtk_window_set_title (GTK_WINDOW (self), basename);
  gtk_label_set_text (self->patient_label, info->patient_id != NULL ? info->patient_id : "—");
  gtk_label_set_text (self->view_label, view != NULL ? view : "unknown");
  gtk_label_set_text (self->size_label, size);
  gtk_label_set_text (self->format_label, format);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->format_label), format);
}

/* ---- lesions ---- */

static void
jump_to_lesion (PicardWindow *self, guint index)
{
  const PicardLesion *lesion;
  PicardRenderedSlice *shown;
  int x, y;

  if (self->lesions == NULL || index >= self->lesions->len)
    return;
  lesion = &g_array_index (self->lesions, PicardLesion, index);
  picard_window_set_slice (self, (guint) CLAMP (lesion->slice, 0, (int) picard_volume_get_n_frames (self->volume) - 1));
  shown = picard_slice_view_get_rendered (self->slice_view);
  x = lesion->x;
  y = lesion->y;
  picard_orientation_map_box (&self->orientation, PICARD_SPACE_DATASET, display_space (self),
                              &x, &y, lesion->width, lesion->height);
  /* Zoomed in, the lesion may be off screen: bring it to the middle. */
  if (shown != NULL && !picard_slice_view_get_fit (self->slice_view))
    picard_slice_view_center_on (self->slice_view, x + (lesion->width + 1) / 2.0,
                                 y + (lesion->height + 1) / 2.0);
}

static void
lesion_activated (GtkListBox *box, GtkListBoxRow *row, PicardWindow *self)
{
  jump_to_lesion (self, (guint) gtk_list_box_row_get_index (row));
}

static void
fill_lesion_list (PicardWindow *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->lesion_list))) != NULL)
    {
      if (GTK_IS_LIST_BOX_ROW (child))
        gtk_list_box_remove (self->lesion_list, child);
      else
        break;
    }
  for (guint i = 0; self->lesions != NULL && i < self->lesions->len; i++)
    {
      const PicardLesion *lesion = &g_array_index (self->lesions, PicardLesion, i);
      int half = picard_lesion_get_half_depth (lesion);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      g_autofree char *title = g_strdup_printf ("Lesion %d · %s%s", lesion->subject,
                                                lesion->cancer ? "cancer" : "benign",
                                                lesion->ad ? " · distortion" : "");
      g_autofree char *detail = g_strdup_printf ("Slice %d (drawn on %d–%d) · %d × %d px",
                                                 lesion->slice + 1,
                                                 MAX (lesion->slice - half, 0) + 1,
                                                 lesion->slice + half + 1, lesion->width,
                                                 lesion->height);
      GtkWidget *title_label = gtk_label_new (title);
      GtkWidget *detail_label = gtk_label_new (detail);

      gtk_label_set_xalign (GTK_LABEL (title_label), 0.0f);
      gtk_label_set_xalign (GTK_LABEL (detail_label), 0.0f);
      gtk_widget_add_css_class (detail_label, "dim-label");
      gtk_widget_add_css_class (detail_label, "caption");
      gtk_widget_set_margin_start (box, 12);
      gtk_widget_set_margin_end (box, 12);
      gtk_widget_set_margin_top (box, 6);
      gtk_widget_set_margin_bottom (box, 6);
      gtk_box_append (GTK_BOX (box), title_label);
      gtk_box_append (GTK_BOX (box), detail_label);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_widget_set_tooltip_text (row, "Go to this lesion's central slice");
      gtk_list_box_append (self->lesion_list, row);
    }
}

static void
lesion_step_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  gboolean next = g_str_equal (action_name, "win.next-lesion");
  int best = -1;

  if (self->lesions == NULL || self->lesions->len == 0)
    return;
  /* The nearest central slice beyond the current one, else wrap around. */
  for (int pass = 0; pass < 2 && best < 0; pass++)
    for (guint i = 0; i < self->lesions->len; i++)
      {
        int s = g_array_index (self->lesions, PicardLesion, i).slice;
        int b = best >= 0 ? g_array_index (self->lesions, PicardLesion, best).slice : 0;
        gboolean beyond = next ? s > (int) self->slice : s < (int) self->slice;

        if (pass == 0 && !beyond)
          continue;
        if (best < 0 || (next ? s < b : s > b))
          best = (int) i;
      }
  jump_to_lesion (self, (guint) best);
}

GArray *
picard_window_get_lesions (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return self->lesions;
}

/* ---- slices ---- */

guint
picard_window_get_slice (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), 0);
  return self->slice;
}

void
picard_window_set_slice (PicardWindow *self, guint slice)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));
  gtk_adjustment_set_value (self->slice_adjustment, slice);
}

guint
picard_window_get_shown_slice (PicardWindow *self)
{
  PicardRenderedSlice *shown;

  g_return_val_if_fail (PICARD_IS_WINDOW (self), 0);
  shown = picard_slice_view_get_rendered (self->slice_view);
  return shown != NULL ? shown->slice : G_MAXUINT;
}

static void
slice_changed (GtkAdjustment *adjustment, PicardWindow *self)
{
  guint slice = (guint) round (gtk_adjustment_get_value (adjustment));

  if (self->volume == NULL || slice == self->slice)
    return;
  self->slice = slice;
  update_labels (self);
  update_view (self);
}

static void
step_slice (PicardWindow *self, double delta)
{
  gtk_adjustment_set_value (self->slice_adjustment,
                            gtk_adjustment_get_value (self->slice_adjustment) + delta);
}

static void
slice_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  double page = gtk_adjustment_get_page_increment (self->slice_adjustment);

  if (g_str_equal (action_name, "win.next-slice"))
    step_slice (self, 1);
  else if (g_str_equal (action_name, "win.previous-slice"))
    step_slice (self, -1);
  else if (g_str_equal (action_name, "win.next-slice-page"))
    step_slice (self, page);
  else if (g_str_equal (action_name, "win.previous-slice-page"))
    step_slice (self, -page);
  else if (g_str_equal (action_name, "win.first-slice"))
    gtk_adjustment_set_value (self->slice_adjustment, 0);
  else if (g_str_equal (action_name, "win.last-slice"))
    gtk_adjustment_set_value (self->slice_adjustment,
                              gtk_adjustment_get_upper (self->slice_adjustment));
}

static void
scroll_slices (PicardSliceView *view, int steps, PicardWindow *self)
{
  step_slice (self, steps);
}

/* Cine: advance by the frame clock, so the rate holds whatever the drawing costs. */
static gboolean
cine_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  gint64 now = gdk_frame_clock_get_frame_time (clock);
  double fps = gtk_adjustment_get_value (self->fps_adjustment);
  gint64 period = (gint64) (G_USEC_PER_SEC / MAX (fps, 1.0));
  guint frames;

  if (self->volume == NULL)
    return G_SOURCE_CONTINUE;
  if (self->cine_last == 0)
    self->cine_last = now;
  if (now - self->cine_last < period)
    return G_SOURCE_CONTINUE;
  frames = picard_volume_get_n_frames (self->volume);
  self->cine_last += period * ((now - self->cine_last) / period);
  gtk_adjustment_set_value (self->slice_adjustment, (self->slice + 1) % frames);
  return G_SOURCE_CONTINUE;
}

static void
set_playing (PicardWindow *self, gboolean playing)
{
  if (self->playing == playing)
    return;
  self->playing = playing;
  if (playing && self->cine_tick == 0)
    {
      self->cine_last = 0;
      self->cine_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), cine_tick, NULL, NULL);
    }
  else if (!playing && self->cine_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->cine_tick);
      self->cine_tick = 0;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

/* ---- window/level ---- */

void
picard_window_get_window_level (PicardWindow *self, PicardWindowLevel *wl)
{
  g_return_if_fail (PICARD_IS_WINDOW (self) && wl != NULL);
  *wl = self->wl;
  wl->invert = self->invert;
}

void
picard_window_set_window_level (PicardWindow *self, double center, double width)
{
  PicardWindowLevel wl = { center, MAX (width, 1.0), self->invert };

  g_return_if_fail (PICARD_IS_WINDOW (self));
  self->auto_serial++;
  adopt_window (self, &wl);
  update_view (self);
}

static void
spins_changed (PicardWindow *self)
{
  if (self->updating_spins || self->volume == NULL)
    return;
  picard_window_set_window_level (self, gtk_adjustment_get_value (self->center_adjustment),
                                  gtk_adjustment_get_value (self->width_adjustment));
}

static guint
stored_levels (PicardWindow *self)
{
  guint bits = picard_volume_get_info (self->volume)->bits_stored;

  return 1u << CLAMP (bits, 1u, 16u);
}

static void
request_auto (PicardWindow *self, double low, double high)
{
  self->auto_pending = TRUE;
  self->auto_low = low;
  self->auto_high = high;
  self->auto_serial++;
  update_view (self);
}

static void
apply_preset (PicardWindow *self, const char *preset)
{
  const PicardVolumeInfo *info;

  if (self->volume == NULL)
    return;
  info = picard_volume_get_info (self->volume);
  if (g_str_equal (preset, "file") && info->has_window)
    picard_window_set_window_level (self, info->window_center, info->window_width);
  else if (g_str_equal (preset, "file") || g_str_equal (preset, "auto"))
    request_auto (self, g_settings_get_double (self->settings, "auto-window-low"),
                  g_settings_get_double (self->settings, "auto-window-high"));
  else if (g_str_equal (preset, "narrow"))
    request_auto (self, 10.0, 90.0);
  else if (g_str_equal (preset, "wide"))
    request_auto (self, 0.1, 99.9);
  else if (g_str_equal (preset, "full"))
    picard_window_set_window_level (self, stored_levels (self) / 2.0, stored_levels (self));
}

static void
window_preset_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  apply_preset (PICARD_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
window_drag_begin (PicardSliceView *view, PicardWindow *self)
{
  self->drag_wl = self->wl;
}

static void
window_drag (PicardSliceView *view, double dx, double dy, PicardWindow *self)
{
  double range;

  if (self->volume == NULL || self->auto_pending)
    return;
  range = stored_levels (self);
  /* Right widens, down raises the centre (darker), each by the whole range across the view. */
  picard_window_set_window_level (self, self->drag_wl.center + dy * range,
                                  self->drag_wl.width * exp (2.0 * dx));
}

/* ---- zoom and pan ---- */

static void
zoom_changed (PicardWindow *self)
{
  g_autofree char *text = g_strdup_printf ("%.0f %%", 100.0 * picard_slice_view_get_zoom (self->slice_view));

  gtk_menu_button_set_label (self->zoom_button, text);
}

static void
zoom_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);

  if (g_str_equal (action_name, "win.zoom-in"))
    picard_slice_view_zoom_by (self->slice_view, ZOOM_STEP);
  else if (g_str_equal (action_name, "win.zoom-out"))
    picard_slice_view_zoom_by (self->slice_view, 1.0 / ZOOM_STEP);
  else if (g_str_equal (action_name, "win.zoom-fit"))
    picard_slice_view_zoom_fit (self->slice_view);
  else if (g_str_equal (action_name, "win.zoom-one"))
    picard_slice_view_zoom_by (self->slice_view, 1.0 / picard_slice_view_get_zoom (self->slice_view));
}

static void
pan_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  int dx, dy;

  g_variant_get (parameter, "(ii)", &dx, &dy);
  picard_slice_view_pan_by (PICARD_WINDOW (widget)->slice_view, dx * PAN_STEP, dy * PAN_STEP);
}

/* ---- the heatmap layer ---- */

void
picard_window_set_heatmap (PicardWindow *self, guint slice, PicardSpace space,
                           const float *values)
{
  gsize n;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (self->volume != NULL);

  if (values == NULL)
    g_hash_table_remove (self->heatmaps, GUINT_TO_POINTER (slice));
  else
    {
      HeatmapSlice *heat = g_new0 (HeatmapSlice, 1);
      float *copy;

      n = (gsize) picard_volume_get_rows (self->volume) * picard_volume_get_columns (self->volume);
      copy = g_memdup2 (values, n * sizeof (float));
      picard_orientation_apply_float (&self->orientation, space, PICARD_SPACE_FILE, copy, copy);
      heat->values = g_bytes_new_take (copy, n * sizeof (float));
      heat->serial = ++self->heatmap_serial;
      g_hash_table_insert (self->heatmaps, GUINT_TO_POINTER (slice), heat);
    }
  gtk_widget_set_visible (self->heatmap_box, g_hash_table_size (self->heatmaps) > 0);
  if (slice == self->slice)
    update_view (self);
}

void
picard_window_clear_heatmaps (PicardWindow *self)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));

  g_hash_table_remove_all (self->heatmaps);
  gtk_widget_set_visible (self->heatmap_box, FALSE);
  update_view (self);
}

void
picard_window_set_heatmap_label (PicardWindow *self, const char *label)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));

  g_free (self->heatmap_label);
  self->heatmap_label = g_strdup (label);
  picard_slice_view_set_colorbar (self->slice_view, self->show_colorbar, label);
}

static void
overlay_settings_changed (PicardWindow *self)
{
  update_view (self);
}

static void
colormap_selected (PicardWindow *self)
{
  guint selected = gtk_drop_down_get_selected (self->colormap_dropdown);

  if (selected < PICARD_COLORMAP_N)
    g_settings_set_string (self->settings, "overlay-colormap",
                           picard_colormap_get_name ((PicardColormap) selected));
}

static void
colormap_setting_changed (PicardWindow *self)
{
  g_autofree char *name = g_settings_get_string (self->settings, "overlay-colormap");
  PicardColormap colormap;

  if (picard_colormap_from_name (name, &colormap))
    gtk_drop_down_set_selected (self->colormap_dropdown, colormap);
  update_view (self);
}

/* ---- opening ---- */

typedef struct {
  char *path;
  PicardVolume *volume;
  PicardDatasetEntry *entry;
  PicardOrientation orientation;
  char *warning;
  guint serial;
} OpenJob;

static void
open_job_free (gpointer data)
{
  OpenJob *job = data;

  g_free (job->path);
  g_clear_object (&job->volume);
  g_clear_object (&job->entry);
  g_free (job->warning);
  g_free (job);
}

static void
open_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  OpenJob *job = task_data;
  GError *error = NULL;
  PicardLaterality laterality = PICARD_LATERALITY_UNKNOWN;

  if (job->volume == NULL)
    {
      job->volume = picard_volume_open (job->path, &error);
      if (job->volume == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  if (job->entry == NULL && job->path != NULL)
    {
      job->entry = picard_dataset_index_find_for_file (job->path, cancellable, &error);
      if (error != NULL)
        {
          job->warning = g_strdup_printf ("The data set's tables next to this volume could not "
                                          "be read, so no lesion boxes are shown: %s",
                                          error->message);
          g_clear_error (&error);
        }
    }
  if (job->entry != NULL)
    laterality = picard_dataset_entry_get_laterality (job->entry);
  /* Measured on the slice shown first, which the view needs decoded anyway. */
  if (!picard_orientation_compute (&job->orientation, job->volume, laterality,
                                   picard_volume_get_n_frames (job->volume) / 2, cancellable,
                                   &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
set_opening (PicardWindow *self, gboolean opening, const char *what)
{
  self->opening = opening;
  gtk_widget_set_visible (self->loading_box, opening);
  if (opening)
    {
      g_autofree char *text = g_strdup_printf ("Opening %s…", what);

      gtk_label_set_text (self->loading_label, text);
      gtk_spinner_start (self->loading_spinner);
    }
  else
    gtk_spinner_stop (self->loading_spinner);
}

static void
add_recent (PicardWindow *self, const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *uri = g_file_get_uri (file);
  GtkRecentData data = { 0 };

  data.display_name = NULL;
  data.mime_type = g_file_test (path, G_FILE_TEST_IS_DIR) ? (char *) "inode/directory"
                                                          : (char *) "application/dicom";
  data.app_name = (char *) RECENT_APP_NAME;
  data.app_exec = (char *) "picard-viewer %u";
  gtk_recent_manager_add_full (self->recent, uri, &data);
}

static void
apply_volume (PicardWindow *self, OpenJob *job)
{
  const PicardVolumeInfo *info = picard_volume_get_info (job->volume);
  guint frames = picard_volume_get_n_frames (job->volume);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  cancel_deferred_prefetch (self);
  g_set_object (&self->volume, job->volume);
  g_set_object (&self->entry, job->entry);
  self->orientation = job->orientation;
  g_clear_pointer (&self->lesions, g_array_unref);
  if (job->entry != NULL)
    self->lesions = g_array_ref (picard_dataset_entry_get_lesions (job->entry));
  g_free (self->path);
  self->path = g_strdup (info->path);
  cache_clear (self);
  g_hash_table_remove_all (self->in_flight);
  g_hash_table_remove_all (self->heatmaps);
  gtk_widget_set_visible (self->heatmap_box, FALSE);
  self->foreground_busy = FALSE;
  self->prefetch_busy = 0;
  picard_slice_view_set_rendered (self->slice_view, NULL);

  if (info->has_window && g_settings_get_enum (self->settings, "initial-window") == 0)
    {
      PicardWindowLevel wl = { info->window_center, MAX (info->window_width, 1.0), FALSE };

      adopt_window (self, &wl);
    }
  else
    {
      self->auto_pending = TRUE;
      self->auto_low = g_settings_get_double (self->settings, "auto-window-low");
      self->auto_high = g_settings_get_double (self->settings, "auto-window-high");
      self->auto_serial++;
    }
  self->updating_spins = TRUE;
  gtk_adjustment_set_lower (self->center_adjustment, 0);
  gtk_adjustment_set_upper (self->center_adjustment, stored_levels (self));
  gtk_adjustment_set_upper (self->width_adjustment, 2.0 * stored_levels (self));
  self->updating_spins = FALSE;

  update_volume_labels (self);
  fill_lesion_list (self);
  picard_scan_panel_volume_changed (self->scan_panel);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.next-lesion",
                                 self->lesions != NULL && self->lesions->len > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.previous-lesion",
                                 self->lesions != NULL && self->lesions->len > 0);

  /* The slider's handler is skipped while the slice does not change: set the wish first. */
  self->slice = frames / 2;
  gtk_adjustment_set_upper (self->slice_adjustment, frames - 1);
  gtk_adjustment_set_value (self->slice_adjustment, self->slice);
  update_labels (self);
  update_view (self);
  if (job->path != NULL)
    add_recent (self, job->path);
  if (job->warning != NULL)
    show_message (self, TRUE, job->warning);
  else
    gtk_revealer_set_reveal_child (self->message_revealer, FALSE);
}

static void
volume_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PicardWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  OpenJob *job = g_task_get_task_data (G_TASK (result));

  /* Only the latest open counts. */
  if (job->serial != self->open_serial)
    return;
  set_opening (self, FALSE, NULL);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *basename = NULL;
      g_autofree char *what = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      basename = job->path != NULL ? g_path_get_basename (job->path) : g_strdup ("the volume");
      what = g_strdup_printf ("Could not open “%s”", basename);
      show_error (self, what, error,
                  self->volume != NULL ? " The volume shown before stays open." : NULL);
      return;
    }
  apply_volume (self, job);
}

static void
start_open (PicardWindow *self, const char *path, PicardVolume *volume, PicardDatasetEntry *entry)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *basename = NULL;
  OpenJob *job = g_new0 (OpenJob, 1);

  job->path = g_strdup (path);
  job->volume = volume != NULL ? g_object_ref (volume) : NULL;
  job->entry = entry != NULL ? g_object_ref (entry) : NULL;
  job->serial = ++self->open_serial;
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();
  basename = path != NULL ? g_path_get_basename (path) : g_strdup ("the volume");
  set_opening (self, TRUE, basename);
  task = g_task_new (NULL, self->open_cancellable, volume_opened, g_object_ref (self));
  g_task_set_task_data (task, job, open_job_free);
  g_task_run_in_thread (task, open_thread);
}

void
picard_window_set_volume (PicardWindow *self, PicardVolume *volume)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (PICARD_IS_VOLUME (volume));

  start_open (self, NULL, volume, NULL);
}

void
picard_window_open_dataset_entry (PicardWindow *self, PicardDatasetEntry *entry)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (PICARD_IS_DATASET_ENTRY (entry));

  path = picard_dataset_entry_resolve (entry, &error);
  if (path == NULL)
    {
      show_error (self, "Could not open the data set's volume", error,
                  " Check the file-paths table, or open the file with Open.");
      return;
    }
  start_open (self, path, NULL, entry);
}

static void
browser_open_entry (PicardDatasetBrowser *browser, PicardDatasetEntry *entry, PicardWindow *self)
{
  picard_window_open_dataset_entry (self, entry);
  gtk_window_present (GTK_WINDOW (self));
}

PicardDatasetBrowser *
picard_window_open_dataset (PicardWindow *self, const char *file_paths_csv,
                            const char *labels_csv, const char *boxes_csv)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  g_return_val_if_fail (file_paths_csv != NULL, NULL);

  if (self->browser == NULL)
    {
      self->browser = picard_dataset_browser_new (GTK_WINDOW (self));
      g_object_add_weak_pointer (G_OBJECT (self->browser), (gpointer *) &self->browser);
      gtk_window_set_hide_on_close (GTK_WINDOW (self->browser), TRUE);
      g_signal_connect_object (self->browser, "open-entry", G_CALLBACK (browser_open_entry),
                               self, 0);
    }
  picard_dataset_browser_load (self->browser, file_paths_csv, labels_csv, boxes_csv);
  gtk_window_present (GTK_WINDOW (self->browser));
  return self->browser;
}

void
picard_window_open_file (PicardWindow *self, GFile *file)
{
  g_autofree char *path = NULL;
  g_autofree char *table = NULL;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *text = g_strdup_printf ("Could not open “%s”: it is not a local file. "
                                               "Copy it to this computer first.", uri);

      show_message (self, TRUE, text);
      return;
    }
  table = g_build_filename (path, PICARD_DATASET_FILE_PATHS_NAME, NULL);
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && g_file_test (table, G_FILE_TEST_IS_REGULAR))
    picard_window_open_dataset (self, table, NULL, NULL);
  else if (g_str_has_suffix (path, ".csv") || g_str_has_suffix (path, ".CSV"))
    picard_window_open_dataset (self, path, NULL, NULL);
  else
    start_open (self, path, NULL, NULL);
}

PicardVolume *
picard_window_get_volume (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return self->volume;
}

PicardSliceView *
picard_window_get_slice_view (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return self->slice_view;
}

gboolean
picard_window_is_slice_shown (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), FALSE);
  return picard_slice_view_get_rendered (self->slice_view) != NULL;
}

const PicardOrientation *
picard_window_get_orientation (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return &self->orientation;
}

PicardSpace
picard_window_get_space (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), PICARD_SPACE_FILE);
  return display_space (self);
}

/* ---- dialogs ---- */

static void
remember_folder (PicardWindow *self, GFile *file)
{
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autofree char *path = parent != NULL ? g_file_get_path (parent) : NULL;

  if (path != NULL)
    g_settings_set_string (self->settings, "last-folder", path);
}

static void
set_start_folder (PicardWindow *self, GtkFileChooser *chooser)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "last-folder");

  if (folder[0] != '\0' && g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GFile) file = g_file_new_for_path (folder);

      gtk_file_chooser_set_current_folder (chooser, file, NULL);
    }
}

static void
open_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (gtk_file_chooser_get_action (GTK_FILE_CHOOSER (dialog)) == GTK_FILE_CHOOSER_ACTION_OPEN)
        remember_folder (self, file);
      else
        g_settings_set_string (self->settings, "last-folder", g_file_peek_path (file));
      picard_window_open_file (self, file);
    }
  g_object_unref (dialog);
}

static void
open_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  gboolean folder = g_str_equal (action_name, "win.open-folder");
  gboolean dataset = g_str_equal (action_name, "win.open-dataset");
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (folder ? "Open a Folder of PNG Slices"
                                        : dataset ? "Open a BCS-DBT File-Paths Table"
                                                  : "Open a DBT Volume",
                                        GTK_WINDOW (widget),
                                        folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                               : GTK_FILE_CHOOSER_ACTION_OPEN,
                                        "_Open", "_Cancel");
  if (dataset)
    {
      g_autoptr(GtkFileFilter) csv = gtk_file_filter_new ();

      gtk_file_filter_set_name (csv, "BCS-DBT tables (CSV)");
      gtk_file_filter_add_pattern (csv, "*.csv");
      gtk_file_filter_add_pattern (csv, "*.CSV");
      gtk_file_filter_add_mime_type (csv, "text/csv");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), csv);
    }
  else if (!folder)
    {
      g_autoptr(GtkFileFilter) dicom = gtk_file_filter_new ();
      g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

      gtk_file_filter_set_name (dicom, "DICOM volumes");
      gtk_file_filter_add_pattern (dicom, "*.dcm");
      gtk_file_filter_add_pattern (dicom, "*.DCM");
      gtk_file_filter_add_mime_type (dicom, "application/dicom");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), dicom);
      gtk_file_filter_set_name (all, "All files");
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), all);
    }
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response), widget);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
open_recent_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  picard_window_open_file (PICARD_WINDOW (widget), file);
}

static gint
recent_newest_first (gconstpointer a, gconstpointer b)
{
  GDateTime *ta = gtk_recent_info_get_modified ((GtkRecentInfo *) a);
  GDateTime *tb = gtk_recent_info_get_modified ((GtkRecentInfo *) b);

  return g_date_time_compare (tb, ta);
}

static void
update_recent_menu (PicardWindow *self)
{
  GList *items = gtk_recent_manager_get_items (self->recent);
  guint count = 0;

  g_menu_remove_all (self->recent_submenu);
  items = g_list_sort (items, recent_newest_first);
  for (GList *l = items; l != NULL && count < RECENT_MAX; l = l->next)
    {
      GtkRecentInfo *info = l->data;
      g_autoptr(GMenuItem) item = NULL;

      if (!gtk_recent_info_has_application (info, RECENT_APP_NAME) || !gtk_recent_info_exists (info))
        continue;
      item = g_menu_item_new (gtk_recent_info_get_display_name (info), NULL);
      g_menu_item_set_action_and_target (item, "win.open-recent", "s",
                                         gtk_recent_info_get_uri (info));
      g_menu_append_item (self->recent_submenu, item);
      count++;
    }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
  if (count == 0)
    {
      g_autoptr(GMenuItem) item = g_menu_item_new ("No recent volumes", "win.none");

      g_menu_append_item (self->recent_submenu, item);
    }
}

/* ---- export ---- */

typedef struct {
  PicardRenderedSlice *rendered;
  GArray *boxes;       /* PicardAnnotationBox, labels owned */
  char **caption;
  char *colorbar_label;
  gboolean show_colorbar;
  gboolean native;
  cairo_matrix_t matrix;
  int width, height;
  char *path;
  PicardExportFormat format;
  gboolean replace;
  GdkTexture *texture; /* the clipboard's image */
} ExportJob;

static void
export_job_free (gpointer data)
{
  ExportJob *job = data;

  picard_rendered_slice_unref (job->rendered);
  g_array_unref (job->boxes);
  g_strfreev (job->caption);
  g_free (job->colorbar_label);
  g_free (job->path);
  g_clear_object (&job->texture);
  g_free (job);
}

char **
picard_window_get_caption (PicardWindow *self)
{
  const PicardVolumeInfo *info;
  PicardRenderedSlice *shown;
  GPtrArray *lines;
  g_autofree char *view = NULL;
  g_autofree char *basename = NULL;

  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);

  lines = g_ptr_array_new ();
  shown = picard_slice_view_get_rendered (self->slice_view);
  if (self->volume != NULL && shown != NULL)
    {
      info = picard_volume_get_info (self->volume);
      view = view_name (self);
      basename = g_path_get_basename (info->path != NULL ? info->path : "volume");
      g_ptr_array_add (lines, g_strdup_printf ("Patient %s · view %s · %s",
                                               info->patient_id != NULL ? info->patient_id : "unknown",
                                               view != NULL ? view : "unknown", basename));
      g_ptr_array_add (lines, g_strdup_printf ("Slice %u of %u · window centre %g, width %g%s · %s",
                                               shown->slice + 1, info->frames,
                                               shown->window_level.center,
                                               shown->window_level.width,
                                               shown->window_level.invert ? " (inverted)" : "",
                                               shown->space == PICARD_SPACE_ALIGNED
                                                 ? "left-aligned" : "file orientation"));
      if (shown->heatmap != NULL)
        g_ptr_array_add (lines, g_strdup_printf ("Heatmap: %s",
                                                 self->heatmap_label != NULL ? self->heatmap_label
                                                                             : "anomaly score"));
    }
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

static void
export_figure_init (ExportJob *job, PicardFigure *figure)
{
  PicardRenderedSlice *r = job->rendered;

  picard_figure_init (figure);
  figure->rows = r->rows;
  figure->columns = r->columns;
  figure->slice_values = g_bytes_get_data (r->values, NULL);
  figure->window_level = r->window_level;
  figure->heatmap = r->heatmap != NULL ? g_bytes_get_data (r->heatmap, NULL) : NULL;
  figure->overlay = r->overlay;
  figure->boxes = job->boxes->len > 0 ? (const PicardAnnotationBox *) job->boxes->data : NULL;
  figure->n_boxes = job->boxes->len;
  figure->caption = (const char *const *) job->caption;
  figure->colorbar_label = job->colorbar_label;
  figure->show_colorbar = job->show_colorbar;
}

static gboolean
draw_screen (cairo_t *cr, gpointer user_data, GError **error)
{
  ExportJob *job = user_data;
  PicardFigure figure;

  export_figure_init (job, &figure);
  cairo_set_source_rgb (cr, 0.05, 0.05, 0.05);
  cairo_paint (cr);
  return picard_figure_draw (&figure, cr, &job->matrix, job->width, job->height, error);
}

static void
export_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  GError *error = NULL;
  gboolean ok;

  if (job->path == NULL)
    {
      /* The clipboard: the view as on screen. */
      cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, job->width,
                                                             job->height);
      cairo_t *cr = cairo_create (surface);
      GBytes *bytes;

      ok = draw_screen (cr, job, &error);
      cairo_destroy (cr);
      cairo_surface_flush (surface);
      if (ok && cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS)
        {
          bytes = g_bytes_new (cairo_image_surface_get_data (surface),
                               (gsize) cairo_image_surface_get_stride (surface) * job->height);
          /* Cairo's ARGB32 is premultiplied BGRA in memory on little-endian machines and
           * ARGB on big-endian ones, which is GDK_MEMORY_DEFAULT either way. */
          job->texture = gdk_memory_texture_new (job->width, job->height, GDK_MEMORY_DEFAULT,
                                                 bytes,
                                                 (gsize) cairo_image_surface_get_stride (surface));
          g_bytes_unref (bytes);
        }
      else if (ok)
        {
          ok = FALSE;
          g_set_error (&error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY,
                       "Not enough memory for a %d × %d image", job->width, job->height);
        }
      cairo_surface_destroy (surface);
    }
  else if (!job->replace && g_file_test (job->path, G_FILE_TEST_EXISTS))
    {
      ok = FALSE;
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s already exists; choose another name, or pick it again in the Export "
                   "dialog and confirm replacing it", job->path);
    }
  else if (job->native)
    {
      PicardFigure figure;

      export_figure_init (job, &figure);
      ok = picard_figure_export (&figure, job->path, job->format, 1.0, &error);
    }
  else
    {
      g_autofree char *description = g_strjoinv ("\n", job->caption);

      ok = picard_export_draw (job->path, job->format, job->width, job->height,
                               job->caption[0] != NULL ? job->caption[0] : "Picard Viewer view",
                               description, draw_screen, job, &error);
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static ExportJob *
export_job_new (PicardWindow *self, gboolean caption, GError **error)
{
  PicardRenderedSlice *shown = picard_slice_view_get_rendered (self->slice_view);
  ExportJob *job;

  if (shown == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "There is no slice to export: open a volume first");
      return NULL;
    }
  job = g_new0 (ExportJob, 1);
  job->rendered = picard_rendered_slice_ref (shown);
  job->boxes = g_array_new (FALSE, TRUE, sizeof (PicardAnnotationBox));
  /* The boxes as on screen, copied with their labels for the worker. */
  if (self->show_boxes && self->lesions != NULL)
    for (guint i = 0; i < self->lesions->len; i++)
      {
        const PicardLesion *lesion = &g_array_index (self->lesions, PicardLesion, i);
        int distance = ABS ((int) shown->slice - lesion->slice);
        int x = lesion->x, y = lesion->y;
        PicardAnnotationBox box = { 0 };

        if (distance > picard_lesion_get_half_depth (lesion))
          continue;
        picard_orientation_map_box (&self->orientation, PICARD_SPACE_DATASET, shown->space, &x,
                                    &y, lesion->width, lesion->height);
        box.x = x;
        box.y = y;
        box.width = lesion->width;
        box.height = lesion->height;
        box.central = distance == 0;
        box.label = g_strdup_printf ("%d %s", lesion->subject, lesion->cancer ? "cancer" : "benign");
        g_array_append_val (job->boxes, box);
      }
  job->caption = caption ? picard_window_get_caption (self) : g_new0 (char *, 1);
  job->colorbar_label = g_strdup (self->heatmap_label);
  job->show_colorbar = self->show_colorbar;
  picard_slice_view_get_transform (self->slice_view, &job->matrix);
  job->width = MAX (gtk_widget_get_width (GTK_WIDGET (self->slice_view)), 1);
  job->height = MAX (gtk_widget_get_height (GTK_WIDGET (self->slice_view)), 1);
  return job;
}

static void
export_boxes_clear (gpointer data)
{
  g_free ((char *) ((PicardAnnotationBox *) data)->label);
}

void
picard_window_export_async (PicardWindow *self, const char *path, PicardExportFormat format,
                            gboolean native, gboolean caption, gboolean replace,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  ExportJob *job;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, picard_window_export_async);
  job = export_job_new (self, caption, &error);
  if (job == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_array_set_clear_func (job->boxes, export_boxes_clear);
  job->path = g_strdup (path);
  job->format = format;
  job->native = native;
  job->replace = replace;
  g_task_set_task_data (task, job, export_job_free);
  g_task_run_in_thread (task, export_thread);
}

gboolean
picard_window_export_finish (PicardWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
exported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardWindow *self = PICARD_WINDOW (source);
  g_autoptr(GError) error = NULL;
  ExportJob *job = g_task_get_task_data (G_TASK (result));

  if (!picard_window_export_finish (self, result, &error))
    {
      show_error (self, "Could not export the view", error,
                  " Choose another folder or name, or free some disk space.");
      return;
    }
  {
    g_autofree char *text = g_strdup_printf ("Exported the view to %s", job->path);

    show_message (self, FALSE, text);
  }
}

static void
export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardWindow *self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  const char *resolution, *caption;
  PicardExportFormat format;
  gboolean replace = TRUE;

  if (response != GTK_RESPONSE_ACCEPT)
    {
      g_object_unref (dialog);
      return;
    }
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  path = g_file_get_path (file);
  resolution = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "resolution");
  caption = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "caption");
  if (resolution != NULL)
    g_settings_set_string (self->settings, "export-resolution", resolution);
  if (caption != NULL)
    g_settings_set_boolean (self->settings, "export-caption", g_str_equal (caption, "true"));
  if (path != NULL && !picard_export_format_from_path (path, &format))
    {
      /* No known extension: the chosen filter's format, and the dialog did not confirm
       * replacing the name with the extension added. */
      GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
      const char *name = filter != NULL ? gtk_file_filter_get_name (filter) : NULL;
      const char *extension = ".png";
      char *longer;

      if (name != NULL && g_str_has_prefix (name, "SVG"))
        extension = ".svg";
      else if (name != NULL && g_str_has_prefix (name, "PDF"))
        extension = ".pdf";
      longer = g_strconcat (path, extension, NULL);
      g_free (path);
      path = longer;
      picard_export_format_from_path (path, &format);
      replace = FALSE;
    }
  if (path != NULL)
    {
      remember_folder (self, file);
      picard_window_export_async (self, path, format,
                                  g_settings_get_enum (self->settings, "export-resolution") == 0,
                                  g_settings_get_boolean (self->settings, "export-caption"),
                                  replace, NULL, exported, NULL);
    }
  g_object_unref (dialog);
}

static void
export_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  static const char *formats[][3] = {
    { "PNG image", "*.png", "image/png" },
    { "SVG drawing", "*.svg", "image/svg+xml" },
    { "PDF document", "*.pdf", "application/pdf" },
  };
  static const char *resolution_ids[] = { "native", "screen", NULL };
  static const char *resolution_labels[] = { "Native: one pixel per slice pixel",
                                             "Screen: the view as shown", NULL };
  GtkFileChooserNative *dialog;
  PicardRenderedSlice *shown = picard_slice_view_get_rendered (self->slice_view);
  g_autofree char *name = NULL;
  g_autofree char *resolution = NULL;

  if (shown == NULL)
    return;
  dialog = gtk_file_chooser_native_new ("Export the View", GTK_WINDOW (widget),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, formats[i][0]);
      gtk_file_filter_add_pattern (filter, formats[i][1]);
      gtk_file_filter_add_mime_type (filter, formats[i][2]);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
    }
  gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (dialog), "resolution", "Resolution",
                               resolution_ids, resolution_labels);
  resolution = g_settings_get_string (self->settings, "export-resolution");
  gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (dialog), "resolution", resolution);
  gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (dialog), "caption", "Caption", NULL, NULL);
  gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (dialog), "caption",
                               g_settings_get_boolean (self->settings, "export-caption")
                                 ? "true" : "false");
  {
    const PicardVolumeInfo *info = picard_volume_get_info (self->volume);
    g_autofree char *view = view_name (self);

    name = g_strdup_printf ("%s-%s-slice%u.png",
                            info->patient_id != NULL ? info->patient_id : "volume",
                            view != NULL ? view : "view", shown->slice + 1);
    g_strdelimit (name, "/\\:", '_');
  }
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  set_start_folder (self, GTK_FILE_CHOOSER (dialog));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
copied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PicardWindow *self = PICARD_WINDOW (source);
  g_autoptr(GError) error = NULL;
  ExportJob *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      show_error (self, "Could not copy the view", error, NULL);
      return;
    }
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (self)), job->texture);
}

static void
copy_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardWindow *self = PICARD_WINDOW (widget);
  g_autoptr(GTask) task = NULL;
  ExportJob *job = export_job_new (self, FALSE, NULL);

  if (job == NULL)
    return;
  g_array_set_clear_func (job->boxes, export_boxes_clear);
  task = g_task_new (self, self->cancellable, copied, NULL);
  g_task_set_task_data (task, job, export_job_free);
  g_task_run_in_thread (task, export_thread);
}

static void
close_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

/* ---- drag and drop ---- */

static gboolean
drop_file (GtkDropTarget *target, const GValue *value, double x, double y, gpointer user_data)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = g_value_get_boxed (value);

      if (files == NULL)
        return FALSE;
      picard_window_open_file (user_data, files->data);
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    {
      picard_window_open_file (user_data, g_value_get_object (value));
      return TRUE;
    }
  return FALSE;
}

/* ---- properties, state and construction ---- */

static void
property_changed (PicardWindow *self, guint prop_id)
{
  switch (prop_id)
    {
    case PROP_INVERT:
    case PROP_ALIGNED:
      if (prop_id == PROP_ALIGNED)
        cache_clear (self);
      update_labels (self);
      update_view (self);
      break;
    case PROP_SHOW_BOXES:
      update_boxes (self);
      break;
    case PROP_SHOW_COLORBAR:
      picard_slice_view_set_colorbar (self->slice_view, self->show_colorbar, self->heatmap_label);
      break;
    default:
      break;
    }
}

static void
picard_window_set_property (GObject *object, guint prop_id, const GValue *value,
                            GParamSpec *pspec)
{
  PicardWindow *self = PICARD_WINDOW (object);
  gboolean *field = NULL;

  switch (prop_id)
    {
    case PROP_INVERT:
      field = &self->invert;
      break;
    case PROP_ALIGNED:
      field = &self->aligned;
      break;
    case PROP_SHOW_BOXES:
      field = &self->show_boxes;
      break;
    case PROP_SHOW_COLORBAR:
      field = &self->show_colorbar;
      break;
    case PROP_SIDEBAR_VISIBLE:
      field = &self->sidebar_visible;
      break;
    case PROP_PLAYING:
      set_playing (self, g_value_get_boolean (value));
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  if (*field == g_value_get_boolean (value))
    return;
  *field = g_value_get_boolean (value);
  property_changed (self, prop_id);
  g_object_notify_by_pspec (object, pspec);
}

static void
picard_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PicardWindow *self = PICARD_WINDOW (object);

  switch (prop_id)
    {
    case PROP_INVERT:
      g_value_set_boolean (value, self->invert);
      break;
    case PROP_ALIGNED:
      g_value_set_boolean (value, self->aligned);
      break;
    case PROP_SHOW_BOXES:
      g_value_set_boolean (value, self->show_boxes);
      break;
    case PROP_SHOW_COLORBAR:
      g_value_set_boolean (value, self->show_colorbar);
      break;
    case PROP_PLAYING:
      g_value_set_boolean (value, self->playing);
      break;
    case PROP_SIDEBAR_VISIBLE:
      g_value_set_boolean (value, self->sidebar_visible);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
save_window_state (PicardWindow *self)
{
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
}

static gboolean
picard_window_close_request (GtkWindow *window)
{
  PicardWindow *self = PICARD_WINDOW (window);

  save_window_state (self);
  set_playing (self, FALSE);
  if (self->browser != NULL)
    gtk_window_destroy (GTK_WINDOW (self->browser));
  return GTK_WINDOW_CLASS (picard_window_parent_class)->close_request (window);
}

static void
picard_window_dispose (GObject *object)
{
  PicardWindow *self = PICARD_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->open_cancellable);
  cancel_deferred_prefetch (self);
  if (self->cine_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->cine_tick);
      self->cine_tick = 0;
    }
  if (self->browser != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->browser), (gpointer *) &self->browser);
      gtk_window_destroy (GTK_WINDOW (self->browser));
      self->browser = NULL;
    }
  if (self->recent != NULL)
    g_signal_handlers_disconnect_by_data (self->recent, self);
  g_clear_object (&self->volume);
  g_clear_object (&self->entry);
  g_clear_pointer (&self->lesions, g_array_unref);
  if (self->cache != NULL)
    cache_clear (self);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), PICARD_TYPE_WINDOW);
  G_OBJECT_CLASS (picard_window_parent_class)->dispose (object);
}

static void
picard_window_finalize (GObject *object)
{
  PicardWindow *self = PICARD_WINDOW (object);

  g_hash_table_unref (self->cache);
  g_hash_table_unref (self->in_flight);
  g_hash_table_unref (self->heatmaps);
  g_free (self->path);
  g_free (self->readout);
  g_free (self->heatmap_label);
  G_OBJECT_CLASS (picard_window_parent_class)->finalize (object);
}

static void
bind (GtkWidgetClass *widget_class, guint key, GdkModifierType mods, const char *action,
      const char *format, ...)
{
  va_list args;
  GVariant *parameter = NULL;

  if (format != NULL)
    {
      va_start (args, format);
      parameter = g_variant_new_va (format, NULL, &args);
      va_end (args);
    }
  gtk_widget_class_add_binding_action (widget_class, key, mods, action,
                                       parameter != NULL ? "@*" : NULL, parameter);
}

static void
picard_window_class_init (PicardWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  picard_ui_ensure_resources ();
  g_type_ensure (PICARD_TYPE_SLICE_VIEW);
  g_type_ensure (PICARD_TYPE_SCAN_PANEL);
  object_class->set_property = picard_window_set_property;
  object_class->get_property = picard_window_get_property;
  object_class->dispose = picard_window_dispose;
  object_class->finalize = picard_window_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = picard_window_close_request;

  properties[PROP_INVERT] = g_param_spec_boolean ("invert", NULL, NULL, FALSE,
                                                  G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                  | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ALIGNED] = g_param_spec_boolean ("aligned", NULL, NULL, TRUE,
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                   | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SHOW_BOXES] = g_param_spec_boolean ("show-boxes", NULL, NULL, TRUE,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                      | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SHOW_COLORBAR] = g_param_spec_boolean ("show-colorbar", NULL, NULL, TRUE,
                                                         G_PARAM_READWRITE
                                                         | G_PARAM_STATIC_STRINGS
                                                         | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PLAYING] = g_param_spec_boolean ("playing", NULL, NULL, FALSE,
                                                   G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                   | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SIDEBAR_VISIBLE] = g_param_spec_boolean ("sidebar-visible", NULL, NULL, TRUE,
                                                           G_PARAM_READWRITE
                                                           | G_PARAM_STATIC_STRINGS
                                                           | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/picard/Viewer/picard-window.ui");
#define CHILD(name) gtk_widget_class_bind_template_child (widget_class, PicardWindow, name)
  CHILD (title_label);
  CHILD (subtitle_label);
  CHILD (message_revealer);
  CHILD (message_box);
  CHILD (message_icon);
  CHILD (message_label);
  CHILD (slice_view);
  CHILD (empty_box);
  CHILD (loading_box);
  CHILD (loading_spinner);
  CHILD (loading_label);
  CHILD (sidebar);
  CHILD (patient_label);
  CHILD (view_label);
  CHILD (size_label);
  CHILD (format_label);
  CHILD (orientation_label);
  CHILD (center_adjustment);
  CHILD (width_adjustment);
  CHILD (heatmap_box);
  CHILD (colormap_dropdown);
  CHILD (opacity_adjustment);
  CHILD (lesion_list);
  CHILD (fps_adjustment);
  CHILD (slice_adjustment);
  CHILD (slice_label);
  CHILD (readout_label);
  CHILD (zoom_button);
  CHILD (recent_submenu);
  CHILD (scan_panel);
#undef CHILD

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.copy", NULL, copy_action);
  gtk_widget_class_install_action (widget_class, "win.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "win.dismiss-message", NULL,
                                   dismiss_message_action);
  gtk_widget_class_install_action (widget_class, "win.window-preset", "s",
                                   window_preset_action);
  gtk_widget_class_install_action (widget_class, "win.next-lesion", NULL, lesion_step_action);
  gtk_widget_class_install_action (widget_class, "win.previous-lesion", NULL, lesion_step_action);
  gtk_widget_class_install_action (widget_class, "win.pan", "(ii)", pan_action);
  gtk_widget_class_install_property_action (widget_class, "win.invert", "invert");
  gtk_widget_class_install_property_action (widget_class, "win.aligned", "aligned");
  gtk_widget_class_install_property_action (widget_class, "win.show-boxes", "show-boxes");
  gtk_widget_class_install_property_action (widget_class, "win.show-colorbar", "show-colorbar");
  gtk_widget_class_install_property_action (widget_class, "win.playing", "playing");
  gtk_widget_class_install_property_action (widget_class, "win.sidebar-visible",
                                            "sidebar-visible");
  {
    static const char *const slice_actions[] = {
      "win.next-slice", "win.previous-slice", "win.next-slice-page",
      "win.previous-slice-page", "win.first-slice", "win.last-slice",
    };
    static const char *const zoom_actions[] = {
      "win.zoom-in", "win.zoom-out", "win.zoom-fit", "win.zoom-one",
    };

    for (gsize i = 0; i < G_N_ELEMENTS (slice_actions); i++)
      gtk_widget_class_install_action (widget_class, slice_actions[i], NULL, slice_action);
    for (gsize i = 0; i < G_N_ELEMENTS (zoom_actions); i++)
      gtk_widget_class_install_action (widget_class, zoom_actions[i], NULL, zoom_action);
  }

  bind (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  bind (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.open-folder", NULL);
  bind (widget_class, GDK_KEY_d, GDK_CONTROL_MASK, "win.open-dataset", NULL);
  bind (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
  bind (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "win.copy", NULL);
  bind (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "win.close", NULL);
  bind (widget_class, GDK_KEY_Escape, 0, "win.dismiss-message", NULL);
  bind (widget_class, GDK_KEY_Page_Down, 0, "win.next-slice-page", NULL);
  bind (widget_class, GDK_KEY_Page_Up, 0, "win.previous-slice-page", NULL);
  bind (widget_class, GDK_KEY_Home, 0, "win.first-slice", NULL);
  bind (widget_class, GDK_KEY_End, 0, "win.last-slice", NULL);
  bind (widget_class, GDK_KEY_plus, 0, "win.zoom-in", NULL);
  bind (widget_class, GDK_KEY_equal, 0, "win.zoom-in", NULL);
  bind (widget_class, GDK_KEY_KP_Add, 0, "win.zoom-in", NULL);
  bind (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "win.zoom-in", NULL);
  bind (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK, "win.zoom-in", NULL);
  bind (widget_class, GDK_KEY_minus, 0, "win.zoom-out", NULL);
  bind (widget_class, GDK_KEY_KP_Subtract, 0, "win.zoom-out", NULL);
  bind (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "win.zoom-out", NULL);
  bind (widget_class, GDK_KEY_0, 0, "win.zoom-fit", NULL);
  bind (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "win.zoom-fit", NULL);
  bind (widget_class, GDK_KEY_1, 0, "win.zoom-one", NULL);
  bind (widget_class, GDK_KEY_Left, GDK_SHIFT_MASK, "win.pan", "(ii)", 1, 0);
  bind (widget_class, GDK_KEY_Right, GDK_SHIFT_MASK, "win.pan", "(ii)", -1, 0);
  bind (widget_class, GDK_KEY_Up, GDK_SHIFT_MASK, "win.pan", "(ii)", 0, 1);
  bind (widget_class, GDK_KEY_Down, GDK_SHIFT_MASK, "win.pan", "(ii)", 0, -1);
  bind (widget_class, GDK_KEY_r, 0, "win.window-preset", "s", "file");
  bind (widget_class, GDK_KEY_a, 0, "win.window-preset", "s", "auto");
  bind (widget_class, GDK_KEY_i, 0, "win.invert", NULL);
  bind (widget_class, GDK_KEY_o, 0, "win.aligned", NULL);
  bind (widget_class, GDK_KEY_b, 0, "win.show-boxes", NULL);
  bind (widget_class, GDK_KEY_n, 0, "win.next-lesion", NULL);
  bind (widget_class, GDK_KEY_N, GDK_SHIFT_MASK, "win.previous-lesion", NULL);
  bind (widget_class, GDK_KEY_F9, 0, "win.sidebar-visible", NULL);
}

static void
picard_window_init (PicardWindow *self)
{
  GtkDropTarget *drop;
  GType drop_types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE };

  self->aligned = TRUE;
  self->show_boxes = TRUE;
  self->show_colorbar = TRUE;
  self->sidebar_visible = TRUE;
  self->wl.center = 512;
  self->wl.width = 1024;
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cache_entry_free);
  self->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->heatmaps = g_hash_table_new_full (NULL, NULL, NULL, heatmap_slice_free);
  self->readout = g_strdup ("");
  self->cancellable = g_cancellable_new ();
  self->open_cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  picard_ui_load_style ();

  self->settings = g_settings_new (PICARD_APPLICATION_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_settings_bind (self->settings, "invert", self, "invert", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "aligned", self, "aligned", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "show-boxes", self, "show-boxes", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "show-colorbar", self, "show-colorbar", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "sidebar-visible", self, "sidebar-visible",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "cine-fps", self->fps_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "overlay-opacity", self->opacity_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_object_bind_property (self, "sidebar-visible", self->sidebar, "visible",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->settings, "changed::overlay-opacity",
                            G_CALLBACK (overlay_settings_changed), self);
  g_signal_connect_swapped (self->settings, "changed::overlay-lower-threshold",
                            G_CALLBACK (overlay_settings_changed), self);
  g_signal_connect_swapped (self->settings, "changed::overlay-upper-threshold",
                            G_CALLBACK (overlay_settings_changed), self);
  g_signal_connect_swapped (self->settings, "changed::overlay-colormap",
                            G_CALLBACK (colormap_setting_changed), self);
  colormap_setting_changed (self);
  g_signal_connect_swapped (self->colormap_dropdown, "notify::selected",
                            G_CALLBACK (colormap_selected), self);
  gtk_widget_set_size_request (self->sidebar, g_settings_get_int (self->settings, "sidebar-width"), -1);

  self->recent = gtk_recent_manager_get_default ();
  g_signal_connect_swapped (self->recent, "changed", G_CALLBACK (update_recent_menu), self);
  update_recent_menu (self);

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, drop_types, G_N_ELEMENTS (drop_types));
  g_signal_connect (drop, "drop", G_CALLBACK (drop_file), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  g_signal_connect (self->slice_view, "hover", G_CALLBACK (hover), self);
  g_signal_connect (self->slice_view, "scroll-slices", G_CALLBACK (scroll_slices), self);
  g_signal_connect (self->slice_view, "window-drag-begin", G_CALLBACK (window_drag_begin), self);
  g_signal_connect (self->slice_view, "window-drag", G_CALLBACK (window_drag), self);
  g_signal_connect_swapped (self->slice_view, "notify::zoom", G_CALLBACK (zoom_changed), self);
  g_signal_connect (self->slice_adjustment, "value-changed", G_CALLBACK (slice_changed), self);
  g_signal_connect_swapped (self->center_adjustment, "value-changed", G_CALLBACK (spins_changed), self);
  g_signal_connect_swapped (self->width_adjustment, "value-changed", G_CALLBACK (spins_changed), self);
  g_signal_connect (self->lesion_list, "row-activated", G_CALLBACK (lesion_activated), self);
  picard_slice_view_set_colorbar (self->slice_view, self->show_colorbar, NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.next-lesion", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.previous-lesion", FALSE);
  /* Arrow keys move the focus between widgets: on the slice they step slices, and Space,
   * which activates the focused widget elsewhere, plays. */
  {
    static const struct { guint key; const char *action; } keys[] = {
      { GDK_KEY_Down, "win.next-slice" }, { GDK_KEY_Up, "win.previous-slice" },
      { GDK_KEY_Right, "win.next-slice" }, { GDK_KEY_Left, "win.previous-slice" },
      { GDK_KEY_KP_Down, "win.next-slice" }, { GDK_KEY_KP_Up, "win.previous-slice" },
      /* GtkWindow binds Space to activating the focus widget. */
      { GDK_KEY_space, "win.playing" },
    };
    GtkEventController *shortcuts = gtk_shortcut_controller_new ();

    for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                            gtk_shortcut_new (gtk_keyval_trigger_new (keys[i].key, 0),
                                                              gtk_named_action_new (keys[i].action)));
    gtk_widget_add_controller (GTK_WIDGET (self->slice_view), shortcuts);
  }
  picard_scan_panel_set_window (self->scan_panel, self);
  gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->slice_view));
}

PicardScanPanel *
picard_window_get_scan_panel (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), NULL);
  return self->scan_panel;
}

void
picard_window_set_completer (PicardWindow *self, PicardCompleter *completer,
                             const char *model_name)
{
  g_return_if_fail (PICARD_IS_WINDOW (self));
  picard_scan_panel_set_completer (self->scan_panel, completer, model_name);
}

PicardWindow *
picard_window_new (PicardApplication *app)
{
  return g_object_new (PICARD_TYPE_WINDOW, "application", app, NULL);
}
