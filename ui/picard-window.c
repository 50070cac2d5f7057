#include "picard-window.h"

#include "picard-volume.h"
#include "picard-window-level.h"

struct _PicardWindow {
  GtkApplicationWindow parent_instance;

  GtkLabel *title_label;
  GtkRevealer *error_revealer;
  GtkLabel *error_label;
  GtkDrawingArea *slice_area;
  GtkAdjustment *slice_adjustment;

  GSettings *settings;
  GCancellable *cancellable; /* cancelled when the volume changes or the window closes */
  PicardVolume *volume;
  guint shown_slice;
  cairo_surface_t *slice_surface;
};

G_DEFINE_FINAL_TYPE (PicardWindow, picard_window, GTK_TYPE_APPLICATION_WINDOW)

static void
show_error (PicardWindow *self, const GError *error)
{
  gtk_label_set_text (self->error_label, error->message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
draw_slice (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  PicardWindow *self = user_data;
  double scale;
  int sw, sh;

  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  if (self->slice_surface == NULL)
    return;
  sw = cairo_image_surface_get_width (self->slice_surface);
  sh = cairo_image_surface_get_height (self->slice_surface);
  scale = MIN ((double) width / sw, (double) height / sh);
  cairo_translate (cr, (width - sw * scale) / 2, (height - sh * scale) / 2);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, self->slice_surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_paint (cr);
}

static void
set_slice_pixels (PicardWindow *self, GBytes *frame)
{
  const PicardVolumeInfo *info = picard_volume_get_info (self->volume);
  const guint16 *values = g_bytes_get_data (frame, NULL);
  PicardWindowLevel wl = { info->window_center, info->window_width, FALSE };
  g_autofree guint8 *grey = g_new (guint8, (gsize) info->rows * info->columns);
  cairo_surface_t *surface;
  guint8 *data;
  int stride;

  if (!info->has_window)
    wl = picard_window_level_auto (values, (gsize) info->rows * info->columns,
                                   info->bits_stored, 1, 99);
  picard_window_level_apply_u8 (&wl, values, grey, (gsize) info->rows * info->columns);
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, info->columns, info->rows);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (guint y = 0; y < info->rows; y++)
    {
      guint32 *row = (guint32 *) (data + (gsize) y * stride);

      for (guint x = 0; x < info->columns; x++)
        {
          guint32 g = grey[(gsize) y * info->columns + x];
          row[x] = (g << 16) | (g << 8) | g;
        }
    }
  cairo_surface_mark_dirty (surface);
  g_clear_pointer (&self->slice_surface, cairo_surface_destroy);
  self->slice_surface = surface;
  gtk_widget_queue_draw (GTK_WIDGET (self->slice_area));
}

typedef struct {
  PicardWindow *window;
  PicardVolume *volume;
  guint index;
} FrameRequest;

static void
frame_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FrameRequest *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) frame = picard_volume_get_frame_finish (PICARD_VOLUME (source), result,
                                                            &error);
  PicardWindow *self = request->window;

  /* A frame for a volume or slice no longer shown is stale: drop it. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    ;
  else if (frame == NULL)
    show_error (self, error);
  else if (self->volume == request->volume && self->shown_slice == request->index)
    set_slice_pixels (self, frame);
  g_object_unref (request->window);
  g_object_unref (request->volume);
  g_free (request);
}

static void
request_slice (PicardWindow *self, guint index)
{
  FrameRequest *request = g_new0 (FrameRequest, 1);

  self->shown_slice = index;
  request->window = g_object_ref (self);
  request->volume = g_object_ref (self->volume);
  request->index = index;
  picard_volume_get_frame_async (self->volume, index, self->cancellable, frame_ready, request);
}

static void
slice_changed (GtkAdjustment *adjustment, PicardWindow *self)
{
  guint index = (guint) gtk_adjustment_get_value (adjustment);

  if (self->volume != NULL && index != self->shown_slice)
    request_slice (self, index);
}

void
picard_window_set_volume (PicardWindow *self, PicardVolume *volume)
{
  g_autofree char *basename = NULL;
  const PicardVolumeInfo *info;
  guint middle;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (PICARD_IS_VOLUME (volume));

  g_set_object (&self->volume, volume);
  info = picard_volume_get_info (volume);
  basename = g_path_get_basename (info->path != NULL ? info->path : "volume");
  gtk_label_set_text (self->title_label, basename);
  gtk_window_set_title (GTK_WINDOW (self), basename);
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  g_clear_pointer (&self->slice_surface, cairo_surface_destroy);
  middle = picard_volume_get_n_frames (volume) / 2;
  self->shown_slice = G_MAXUINT;
  gtk_adjustment_set_upper (self->slice_adjustment, picard_volume_get_n_frames (volume) - 1);
  gtk_adjustment_set_value (self->slice_adjustment, middle);
  if (self->shown_slice != middle)
    request_slice (self, middle);
}

gboolean
picard_window_is_slice_shown (PicardWindow *self)
{
  g_return_val_if_fail (PICARD_IS_WINDOW (self), FALSE);
  return self->slice_surface != NULL;
}

static void
volume_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PicardWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = g_task_propagate_pointer (G_TASK (result), &error);

  if (volume != NULL)
    picard_window_set_volume (self, volume);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    show_error (self, error);
}

static void
open_volume_thread (GTask *task, gpointer source_object, gpointer task_data,
                    GCancellable *cancellable)
{
  GError *error = NULL;
  PicardVolume *volume = picard_volume_open (task_data, &error);

  if (volume == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, volume, g_object_unref);
}

void
picard_window_open_file (PicardWindow *self, GFile *file)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PICARD_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, g_cancellable_new ());
  g_object_unref (self->cancellable);
  task = g_task_new (NULL, self->cancellable, volume_opened, g_object_ref (self));
  g_task_set_task_data (task, g_file_get_path (file), g_free);
  g_task_run_in_thread (task, open_volume_thread);
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
open_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      picard_window_open_file (self, file);
    }
  g_object_unref (dialog);
}

static void
open_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) dicom = gtk_file_filter_new ();

  gtk_file_filter_set_name (dicom, "DICOM volumes");
  gtk_file_filter_add_pattern (dicom, "*.dcm");
  gtk_file_filter_add_pattern (dicom, "*.DCM");
  gtk_file_filter_add_mime_type (dicom, "application/dicom");
  dialog = gtk_file_chooser_native_new ("Open a DBT volume", GTK_WINDOW (widget),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), dicom);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response), widget);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static gboolean
drop_file (GtkDropTarget *target, const GValue *value, double x, double y, gpointer user_data)
{
  if (!G_VALUE_HOLDS (value, G_TYPE_FILE))
    return FALSE;
  picard_window_open_file (user_data, g_value_get_object (value));
  return TRUE;
}

static gboolean
scroll_slices (GtkEventControllerScroll *controller, double dx, double dy, gpointer user_data)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (
    GTK_EVENT_CONTROLLER (controller));

  /* Ctrl+wheel is kept for zooming. */
  if (state & GDK_CONTROL_MASK)
    return FALSE;
  step_slice (user_data, dy > 0 ? 1 : dy < 0 ? -1 : 0);
  return TRUE;
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
  save_window_state (PICARD_WINDOW (window));
  return GTK_WINDOW_CLASS (picard_window_parent_class)->close_request (window);
}

static void
picard_window_dispose (GObject *object)
{
  PicardWindow *self = PICARD_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->volume);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->slice_surface, cairo_surface_destroy);
  gtk_widget_dispose_template (GTK_WIDGET (self), PICARD_TYPE_WINDOW);

  G_OBJECT_CLASS (picard_window_parent_class)->dispose (object);
}

static void
picard_window_class_init (PicardWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  picard_ui_ensure_resources ();
  G_OBJECT_CLASS (klass)->dispose = picard_window_dispose;
  GTK_WINDOW_CLASS (klass)->close_request = picard_window_close_request;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/picard/Viewer/picard-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PicardWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, PicardWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, PicardWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, PicardWindow, slice_area);
  gtk_widget_class_bind_template_child (widget_class, PicardWindow, slice_adjustment);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open", NULL);
  {
    static const struct {
      const char *action;
      guint key;
    } slice_keys[] = {
      { "win.next-slice", GDK_KEY_Down },
      { "win.previous-slice", GDK_KEY_Up },
      { "win.next-slice-page", GDK_KEY_Page_Down },
      { "win.previous-slice-page", GDK_KEY_Page_Up },
      { "win.first-slice", GDK_KEY_Home },
      { "win.last-slice", GDK_KEY_End },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (slice_keys); i++)
      {
        gtk_widget_class_install_action (widget_class, slice_keys[i].action, NULL, slice_action);
        gtk_widget_class_add_binding_action (widget_class, slice_keys[i].key, 0,
                                             slice_keys[i].action, NULL);
      }
  }
}

static void
picard_window_init (PicardWindow *self)
{
  GtkDropTarget *drop;
  GtkEventController *scroll;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->settings = g_settings_new (PICARD_APPLICATION_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  drop = gtk_drop_target_new (G_TYPE_FILE, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (drop_file), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL
                                            | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_slices), self);
  gtk_widget_add_controller (GTK_WIDGET (self->slice_area), scroll);
  gtk_drawing_area_set_draw_func (self->slice_area, draw_slice, self, NULL);
  g_signal_connect (self->slice_adjustment, "value-changed", G_CALLBACK (slice_changed), self);
}

PicardWindow *
picard_window_new (PicardApplication *app)
{
  return g_object_new (PICARD_TYPE_WINDOW, "application", app, NULL);
}
