#include "picard-background-completer.h"

#include <errno.h>
#include <sys/resource.h>

struct _PicardBackgroundCompleter {
  GObject parent_instance;
  PicardCompleter *inner;
  GAsyncQueue *queue;     /* Call *; one whose func is NULL ends the thread */
  GThread *thread;
  int parent_nice;        /* of the thread that made it, for the thread to start from */
};

typedef struct {
  PicardBackgroundFunc func;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} Call;

static void picard_background_completer_iface_init (PicardCompleterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PicardBackgroundCompleter, picard_background_completer,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PICARD_TYPE_COMPLETER,
                                                      picard_background_completer_iface_init))

static gpointer
background_thread (gpointer data)
{
  PicardBackgroundCompleter *self = data;
  GAsyncQueue *queue = g_async_queue_ref (self->queue);
  Call *call;

  /* On Linux this applies to the calling thread only. A failure leaves the work at normal
   * priority, which is slower for the window but still correct. */
  setpriority (PRIO_PROCESS, 0, MIN (self->parent_nice + PICARD_BACKGROUND_NICE, 19));
  while ((call = g_async_queue_pop (queue))->func != NULL)
    {
      call->func (call->data);
      g_mutex_lock (&call->lock);
      call->done = TRUE;
      g_cond_signal (&call->cond);
      g_mutex_unlock (&call->lock);
    }
  g_free (call);
  g_async_queue_unref (queue);
  return NULL;
}

void
picard_background_completer_run (PicardBackgroundCompleter *self, PicardBackgroundFunc func,
                                 gpointer data)
{
  Call call = { func, data };

  g_return_if_fail (PICARD_IS_BACKGROUND_COMPLETER (self));
  g_return_if_fail (func != NULL);
  g_return_if_fail (g_thread_self () != self->thread);

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_async_queue_push (self->queue, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
}

void
picard_background_completer_set_inner (PicardBackgroundCompleter *self, PicardCompleter *inner)
{
  g_return_if_fail (PICARD_IS_BACKGROUND_COMPLETER (self));
  g_return_if_fail (PICARD_IS_COMPLETER (inner));

  g_set_object (&self->inner, inner);
}

PicardCompleter *
picard_background_completer_get_inner (PicardBackgroundCompleter *self)
{
  g_return_val_if_fail (PICARD_IS_BACKGROUND_COMPLETER (self), NULL);
  return self->inner;
}

static PicardCompleter *
inner_of (PicardCompleter *completer)
{
  return PICARD_BACKGROUND_COMPLETER (completer)->inner;
}

static guint
background_batch_size (PicardCompleter *completer)
{
  return picard_completer_get_batch_size (inner_of (completer));
}

static guint
background_feature_length (PicardCompleter *completer, guint hole_size)
{
  return picard_completer_get_feature_length (inner_of (completer), hole_size);
}

static const char *
background_model_hash (PicardCompleter *completer)
{
  return picard_completer_get_model_hash (inner_of (completer));
}

static const char *
background_device_name (PicardCompleter *completer)
{
  return picard_completer_get_device_name (inner_of (completer));
}

static gboolean
background_check_geometry (PicardCompleter *completer, guint patch_size, guint hole_size,
                           GError **error)
{
  return picard_completer_check_geometry (inner_of (completer), patch_size, hole_size, error);
}

typedef struct {
  PicardCompleter *inner;
  const PicardCompletionBatch *batch;
  float *holes, *features, *gt_features;
  GCancellable *cancellable;
  GError *error;
  gboolean ok;
} CompleteCall;

static void
complete_func (gpointer data)
{
  CompleteCall *c = data;

  c->ok = picard_completer_complete (c->inner, c->batch, c->holes, c->features, c->gt_features,
                                     c->cancellable, &c->error);
}

static gboolean
background_complete (PicardCompleter *completer, const PicardCompletionBatch *batch,
                     float *holes, float *features, float *gt_features,
                     GCancellable *cancellable, GError **error)
{
  CompleteCall c = { inner_of (completer), batch, holes, features, gt_features, cancellable };

  g_return_val_if_fail (c.inner != NULL, FALSE);

  picard_background_completer_run (PICARD_BACKGROUND_COMPLETER (completer), complete_func, &c);
  if (!c.ok)
    g_propagate_error (error, c.error);
  return c.ok;
}

static void
picard_background_completer_iface_init (PicardCompleterInterface *iface)
{
  iface->get_batch_size = background_batch_size;
  iface->get_feature_length = background_feature_length;
  iface->get_model_hash = background_model_hash;
  iface->get_device_name = background_device_name;
  iface->check_geometry = background_check_geometry;
  iface->complete = background_complete;
}

static void
picard_background_completer_finalize (GObject *object)
{
  PicardBackgroundCompleter *self = PICARD_BACKGROUND_COMPLETER (object);

  /* The thread frees the stop message. */
  g_async_queue_push (self->queue, g_new0 (Call, 1));
  g_thread_join (self->thread);
  g_async_queue_unref (self->queue);
  g_clear_object (&self->inner);
  G_OBJECT_CLASS (picard_background_completer_parent_class)->finalize (object);
}

static void
picard_background_completer_class_init (PicardBackgroundCompleterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_background_completer_finalize;
}

static void
picard_background_completer_init (PicardBackgroundCompleter *self)
{
  errno = 0;
  self->parent_nice = getpriority (PRIO_PROCESS, 0);
  /* -1 is also a valid nice value: only errno tells a failure. */
  if (errno != 0)
    self->parent_nice = 0;
  self->queue = g_async_queue_new ();
  self->thread = g_thread_new ("picard-compute", background_thread, self);
}

PicardBackgroundCompleter *
picard_background_completer_new (void)
{
  return g_object_new (PICARD_TYPE_BACKGROUND_COMPLETER, NULL);
}
