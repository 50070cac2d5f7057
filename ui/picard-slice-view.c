#include "picard-slice-view.h"

#include <math.h>

#include "picard-figure.h"

/* Pixels of the slice kept on screen however far it is panned. */
#define KEEP_VISIBLE 48.0
/* Gap around a fitted slice. */
#define FIT_MARGIN 8.0

struct _PicardSliceView {
  GtkWidget parent_instance;

  PicardRenderedSlice *rendered;
  GArray *boxes;        /* PicardAnnotationBox, labels owned */
  gboolean show_colorbar;
  char *colorbar_label;
  gboolean has_patch;
  PicardPatchOutline patch;
  gboolean has_lattice;
  PicardLattice lattice;

  gboolean fit;
  double zoom;
  double pan_x, pan_y;  /* widget position of the slice's origin */
  guint last_rows, last_columns;

  double pointer_x, pointer_y;
  gboolean pointer_inside;
  double scroll_accumulated;
  double drag_pan_x, drag_pan_y;
  gboolean dragging;
};

G_DEFINE_FINAL_TYPE (PicardSliceView, picard_slice_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ZOOM,
  PROP_FIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_HOVER,
  SIGNAL_SCROLL_SLICES,
  SIGNAL_WINDOW_DRAG_BEGIN,
  SIGNAL_WINDOW_DRAG,
  SIGNAL_ACTIVATE_POINT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
box_clear (gpointer data)
{
  PicardAnnotationBox *box = data;

  g_free ((char *) box->label);
}

static double
fit_zoom (PicardSliceView *self)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)) - 2.0 * FIT_MARGIN;
  double h = gtk_widget_get_height (GTK_WIDGET (self)) - 2.0 * FIT_MARGIN;

  if (self->rendered == NULL || w <= 0.0 || h <= 0.0)
    return 1.0;
  return CLAMP (MIN (w / self->rendered->columns, h / self->rendered->rows),
                PICARD_SLICE_VIEW_MIN_ZOOM, PICARD_SLICE_VIEW_MAX_ZOOM);
}

static void
clamp_pan (PicardSliceView *self)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self));
  double h = gtk_widget_get_height (GTK_WIDGET (self));
  double sw, sh;

  if (self->rendered == NULL)
    return;
  sw = self->rendered->columns * self->zoom;
  sh = self->rendered->rows * self->zoom;
  self->pan_x = CLAMP (self->pan_x, MIN (KEEP_VISIBLE, w / 2.0) - sw, MAX (w - KEEP_VISIBLE, w / 2.0));
  self->pan_y = CLAMP (self->pan_y, MIN (KEEP_VISIBLE, h / 2.0) - sh, MAX (h - KEEP_VISIBLE, h / 2.0));
}

/* Recomputes the fitted zoom and centring for the current size. */
static void
update_fit (PicardSliceView *self)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self));
  double h = gtk_widget_get_height (GTK_WIDGET (self));
  double old = self->zoom;

  if (!self->fit || self->rendered == NULL)
    return;
  self->zoom = fit_zoom (self);
  self->pan_x = (w - self->rendered->columns * self->zoom) / 2.0;
  self->pan_y = (h - self->rendered->rows * self->zoom) / 2.0;
  if (old != self->zoom)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
set_fit (PicardSliceView *self, gboolean fit)
{
  if (self->fit == fit)
    return;
  self->fit = fit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIT]);
}

void
picard_slice_view_get_transform (PicardSliceView *self, cairo_matrix_t *slice_to_widget)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  cairo_matrix_init (slice_to_widget, self->zoom, 0.0, 0.0, self->zoom, self->pan_x,
                     self->pan_y);
}

void
picard_slice_view_widget_to_slice (PicardSliceView *self, double x, double y,
                                   double *slice_x, double *slice_y)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  if (slice_x != NULL)
    *slice_x = (x - self->pan_x) / self->zoom;
  if (slice_y != NULL)
    *slice_y = (y - self->pan_y) / self->zoom;
}

static void
picard_slice_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  PicardSliceView *self = PICARD_SLICE_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  PicardRenderedSlice *r = self->rendered;
  g_autoptr(GError) error = NULL;
  PicardFigure figure;
  cairo_matrix_t matrix;
  cairo_t *cr;
  guint level;

  if (r == NULL || width <= 0 || height <= 0)
    return;
  update_fit (self);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  picard_figure_init (&figure);
  level = picard_rendered_slice_pick_level (r, self->zoom);
  figure.rows = r->rows;
  figure.columns = r->columns;
  figure.slice_surface = r->slice_levels[level];
  figure.window_level = r->window_level;
  figure.overlay = r->overlay;
  figure.overlay_surface = r->overlay_levels[level];
  figure.surface_reduction = 1u << level;
  figure.boxes = self->boxes->len > 0 ? (const PicardAnnotationBox *) self->boxes->data : NULL;
  figure.n_boxes = self->boxes->len;
  figure.show_colorbar = self->show_colorbar;
  figure.colorbar_label = self->colorbar_label;
  figure.patch = self->has_patch ? &self->patch : NULL;
  figure.lattice = self->has_lattice ? &self->lattice : NULL;
  figure.fast = self->dragging;
  picard_slice_view_get_transform (self, &matrix);
  if (!picard_figure_draw (&figure, cr, &matrix, width, height, &error))
    g_warning ("Cannot draw slice %u: %s", r->slice, error->message);
  cairo_destroy (cr);
}

static void
picard_slice_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  PicardSliceView *self = PICARD_SLICE_VIEW (widget);

  if (self->fit)
    update_fit (self);
  else
    clamp_pan (self);
}

static void
picard_slice_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                           int *minimum, int *natural, int *minimum_baseline,
                           int *natural_baseline)
{
  *minimum = 64;
  *natural = 480;
}

void
picard_slice_view_set_rendered (PicardSliceView *self, PicardRenderedSlice *rendered)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  if (rendered != NULL)
    picard_rendered_slice_ref (rendered);
  g_clear_pointer (&self->rendered, picard_rendered_slice_unref);
  self->rendered = rendered;
  if (rendered != NULL
      && (rendered->rows != self->last_rows || rendered->columns != self->last_columns))
    {
      self->last_rows = rendered->rows;
      self->last_columns = rendered->columns;
      picard_slice_view_zoom_fit (self);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

PicardRenderedSlice *
picard_slice_view_get_rendered (PicardSliceView *self)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), NULL);
  return self->rendered;
}

void
picard_slice_view_set_boxes (PicardSliceView *self, const PicardAnnotationBox *boxes,
                             guint n_boxes)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));
  g_return_if_fail (n_boxes == 0 || boxes != NULL);

  g_array_set_size (self->boxes, 0);
  for (guint i = 0; i < n_boxes; i++)
    {
      PicardAnnotationBox copy = boxes[i];

      copy.label = g_strdup (boxes[i].label);
      g_array_append_val (self->boxes, copy);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
picard_slice_view_get_n_boxes (PicardSliceView *self)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), 0);
  return self->boxes->len;
}

void
picard_slice_view_set_colorbar (PicardSliceView *self, gboolean show, const char *label)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  self->show_colorbar = show;
  g_free (self->colorbar_label);
  self->colorbar_label = g_strdup (label);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
picard_slice_view_get_zoom (PicardSliceView *self)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), 1.0);
  return self->zoom;
}

gboolean
picard_slice_view_get_fit (PicardSliceView *self)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), FALSE);
  return self->fit;
}

void
picard_slice_view_zoom_fit (PicardSliceView *self)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  set_fit (self, TRUE);
  update_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
picard_slice_view_zoom_at (PicardSliceView *self, double zoom, double x, double y)
{
  double sx, sy;

  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  zoom = CLAMP (zoom, PICARD_SLICE_VIEW_MIN_ZOOM, PICARD_SLICE_VIEW_MAX_ZOOM);
  picard_slice_view_widget_to_slice (self, x, y, &sx, &sy);
  set_fit (self, FALSE);
  self->zoom = zoom;
  self->pan_x = x - sx * zoom;
  self->pan_y = y - sy * zoom;
  clamp_pan (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
picard_slice_view_zoom_by (PicardSliceView *self, double factor)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  picard_slice_view_zoom_at (self, self->zoom * factor, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                             gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
picard_slice_view_pan_by (PicardSliceView *self, double dx, double dy)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  set_fit (self, FALSE);
  self->pan_x += dx;
  self->pan_y += dy;
  clamp_pan (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
picard_slice_view_center_on (PicardSliceView *self, double x, double y)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  set_fit (self, FALSE);
  self->pan_x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0 - x * self->zoom;
  self->pan_y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0 - y * self->zoom;
  clamp_pan (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
picard_slice_view_hover (PicardSliceView *self, double x, double y)
{
  double sx, sy;
  gboolean inside;

  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  picard_slice_view_widget_to_slice (self, x, y, &sx, &sy);
  inside = self->rendered != NULL && sx >= 0.0 && sy >= 0.0 && sx < self->rendered->columns
           && sy < self->rendered->rows;
  g_signal_emit (self, signals[SIGNAL_HOVER], 0, inside, sx, sy);
}

static void
motion (GtkEventControllerMotion *controller, double x, double y, PicardSliceView *self)
{
  picard_slice_view_hover (self, x, y);
}

static void
leave (GtkEventControllerMotion *controller, PicardSliceView *self)
{
  self->pointer_inside = FALSE;
  g_signal_emit (self, signals[SIGNAL_HOVER], 0, FALSE, -1.0, -1.0);
}

static gboolean
scroll (GtkEventControllerScroll *controller, double dx, double dy, PicardSliceView *self)
{
  GdkModifierType state
    = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  int steps;

  if (state & GDK_CONTROL_MASK)
    {
      double x = self->pointer_inside ? self->pointer_x : gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      double y = self->pointer_inside ? self->pointer_y : gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;

      /* Wheel up zooms in; smooth deltas zoom in proportion. */
      picard_slice_view_zoom_at (self, self->zoom * pow (G_SQRT2, -dy), x, y);
      return TRUE;
    }
  /* Touchpads send fractions of a step: move one slice per whole step. */
  self->scroll_accumulated += dy;
  steps = (int) trunc (self->scroll_accumulated);
  self->scroll_accumulated -= steps;
  if (steps != 0)
    g_signal_emit (self, signals[SIGNAL_SCROLL_SLICES], 0, steps);
  return TRUE;
}

static void
pan_begin (GtkGestureDrag *gesture, double x, double y, PicardSliceView *self)
{
  self->drag_pan_x = self->pan_x;
  self->drag_pan_y = self->pan_y;
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

static void
pan_update (GtkGestureDrag *gesture, double dx, double dy, PicardSliceView *self)
{
  self->dragging = TRUE;
  set_fit (self, FALSE);
  self->pan_x = self->drag_pan_x + dx;
  self->pan_y = self->drag_pan_y + dy;
  clamp_pan (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
emit_activate (PicardSliceView *self, double x, double y)
{
  double sx, sy;

  picard_slice_view_widget_to_slice (self, x, y, &sx, &sy);
  if (self->rendered != NULL && sx >= 0.0 && sy >= 0.0 && sx < self->rendered->columns
      && sy < self->rendered->rows)
    g_signal_emit (self, signals[SIGNAL_ACTIVATE_POINT], 0, sx, sy);
}

static void
drag_end (GtkGestureDrag *gesture, double dx, double dy, PicardSliceView *self)
{
  double x, y;

  self->dragging = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  /* A press that barely moved is a click: it picks the patch under it. */
  if (gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (gesture)) == GDK_BUTTON_PRIMARY
      && fabs (dx) < 4.0 && fabs (dy) < 4.0
      && gtk_gesture_drag_get_start_point (gesture, &x, &y))
    emit_activate (self, x + dx, y + dy);
}

void
picard_slice_view_activate_cursor (PicardSliceView *self)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  /* The keyboard's cursor is the pointer when it is over the view, else the view's centre. */
  if (self->pointer_inside)
    emit_activate (self, self->pointer_x, self->pointer_y);
  else
    emit_activate (self, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                   gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

static gboolean
activate_shortcut (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  picard_slice_view_activate_cursor (PICARD_SLICE_VIEW (widget));
  return TRUE;
}

void
picard_slice_view_set_patch (PicardSliceView *self, const PicardPatchOutline *patch)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  self->has_patch = patch != NULL;
  if (patch != NULL)
    self->patch = *patch;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
picard_slice_view_get_patch (PicardSliceView *self, PicardPatchOutline *patch)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), FALSE);

  if (self->has_patch && patch != NULL)
    *patch = self->patch;
  return self->has_patch;
}

gboolean
picard_slice_view_get_lattice (PicardSliceView *self, PicardLattice *lattice)
{
  g_return_val_if_fail (PICARD_IS_SLICE_VIEW (self), FALSE);

  if (self->has_lattice && lattice != NULL)
    *lattice = self->lattice;
  return self->has_lattice;
}

void
picard_slice_view_set_lattice (PicardSliceView *self, const PicardLattice *lattice)
{
  g_return_if_fail (PICARD_IS_SLICE_VIEW (self));

  self->has_lattice = lattice != NULL;
  if (lattice != NULL)
    self->lattice = *lattice;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
window_begin (GtkGestureDrag *gesture, double x, double y, PicardSliceView *self)
{
  g_signal_emit (self, signals[SIGNAL_WINDOW_DRAG_BEGIN], 0);
}

static void
window_update (GtkGestureDrag *gesture, double dx, double dy, PicardSliceView *self)
{
  double w = MAX (gtk_widget_get_width (GTK_WIDGET (self)), 1);
  double h = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 1);

  /* Fractions of the view, so the same gesture does the same at any window size. */
  g_signal_emit (self, signals[SIGNAL_WINDOW_DRAG], 0, dx / w, dy / h);
}

static void
picard_slice_view_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  PicardSliceView *self = PICARD_SLICE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_FIT:
      g_value_set_boolean (value, self->fit);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
picard_slice_view_dispose (GObject *object)
{
  PicardSliceView *self = PICARD_SLICE_VIEW (object);

  g_clear_pointer (&self->rendered, picard_rendered_slice_unref);
  G_OBJECT_CLASS (picard_slice_view_parent_class)->dispose (object);
}

static void
picard_slice_view_finalize (GObject *object)
{
  PicardSliceView *self = PICARD_SLICE_VIEW (object);

  g_array_unref (self->boxes);
  g_free (self->colorbar_label);
  G_OBJECT_CLASS (picard_slice_view_parent_class)->finalize (object);
}

static void
picard_slice_view_class_init (PicardSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = picard_slice_view_get_property;
  object_class->dispose = picard_slice_view_dispose;
  object_class->finalize = picard_slice_view_finalize;
  widget_class->snapshot = picard_slice_view_snapshot;
  widget_class->size_allocate = picard_slice_view_size_allocate;
  widget_class->measure = picard_slice_view_measure;

  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, 0.0, G_MAXDOUBLE, 1.0,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                               | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FIT] = g_param_spec_boolean ("fit", NULL, NULL, TRUE,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                               | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (inside, slice x, slice y): where the pointer is, in displayed slice coordinates. */
  signals[SIGNAL_HOVER] = g_signal_new ("hover", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_BOOLEAN,
                                        G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_SCROLL_SLICES] = g_signal_new ("scroll-slices", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_WINDOW_DRAG_BEGIN] = g_signal_new ("window-drag-begin",
                                                    G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                    G_TYPE_NONE, 0);
  /* (dx, dy) since the drag began, as fractions of the view's width and height. */
  signals[SIGNAL_WINDOW_DRAG] = g_signal_new ("window-drag", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  /* (slice x, slice y): a click or Enter picked this displayed slice point. */
  signals[SIGNAL_ACTIVATE_POINT] = g_signal_new ("activate-point", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Return, 0, activate_shortcut, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_KP_Enter, 0, activate_shortcut, NULL);
  gtk_widget_class_set_css_name (widget_class, "slice-view");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
picard_slice_view_init (PicardSliceView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->boxes = g_array_new (FALSE, TRUE, sizeof (PicardAnnotationBox));
  g_array_set_clear_func (self->boxes, box_clear);
  self->zoom = 1.0;
  self->fit = TRUE;
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (pan_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (pan_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (window_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (window_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
}

GtkWidget *
picard_slice_view_new (void)
{
  return g_object_new (PICARD_TYPE_SLICE_VIEW, NULL);
}
