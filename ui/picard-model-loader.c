#include "picard-model-loader.h"

#include "picard-background-completer.h"

#include "picard-checkpoint.h"

#include "picard-error.h"
#include "picard-network.h"

typedef struct {
  PicardModelRequest request;
  char *name;
  guint trained_patch;
  guint trained_hole;
} LoadJob;


void
picard_model_request_clear (PicardModelRequest *request)
{
  g_clear_pointer (&request->path, g_free);
  g_clear_pointer (&request->dropout_preset, g_free);
}

const char *
picard_model_get_demo_path (void)
{
#ifdef PICARD_DEMO_MODEL
  if (g_file_test (PICARD_DEMO_MODEL, G_FILE_TEST_IS_DIR))
    return PICARD_DEMO_MODEL;
#endif
  return NULL;
}

static void
load_job_free (gpointer data)
{
  LoadJob *job = data;

  picard_model_request_clear (&job->request);
  g_free (job->name);
  g_free (job);
}

typedef struct {
  LoadJob *job;
  const char *path;
  PicardNetwork *net;
  GError *error;
} OpenCall;

/* On the background thread: the network's own threads (OpenMP, the Vulkan driver's) are
 * created from it and share its low priority. */
static void
open_network (gpointer data)
{
  OpenCall *call = data;
  LoadJob *job = call->job;
  const char *const *layers = NULL;

  if (g_strcmp0 (job->request.dropout_preset, "released") == 0)
    layers = picard_network_dropout_released ();
  else if (g_strcmp0 (job->request.dropout_preset, "paper") == 0)
    layers = picard_network_dropout_paper ();
  call->net = picard_network_open (job->request.backend, call->path, -1, &call->error);
  if (call->net != NULL
      && !picard_network_set_dropout (call->net, layers,
                                      layers != NULL ? job->request.dropout_p : 0.0f,
                                      &call->error))
    g_clear_pointer (&call->net, picard_network_free);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LoadJob *job = task_data;
  const char *path = job->request.path != NULL ? job->request.path : picard_model_get_demo_path ();
  g_autoptr(PicardNetwork) net = NULL;
  g_autofree char *base = NULL;
  g_autoptr(PicardCompleter) inner = NULL;
  PicardBackgroundCompleter *completer;
  OpenCall call = { job, path };

  if (path == NULL)
    {
      g_task_return_new_error (task, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                               "This build has no demo model: choose a checkpoint folder");
      return;
    }
  completer = picard_background_completer_new ();
  picard_background_completer_run (completer, open_network, &call);
  net = call.net;
  if (net == NULL)
    {
      g_object_unref (completer);
      g_task_return_error (task, call.error);
      return;
    }
  if (picard_network_get_critic_path (net) != NULL)
    picard_checkpoint_trained_geometry (picard_network_get_critic_path (net), &job->trained_patch,
                                        &job->trained_hole);
  base = g_path_get_basename (picard_network_get_generator_path (net));
  job->name = g_strdup_printf ("%s%s", base, job->request.path == NULL ? " (demo)" : "");
  inner = picard_network_completer_new (net, MAX (job->request.n_samples, 1u));
  picard_background_completer_set_inner (completer, inner);
  /* Freed after the inner completer, which uses it until then. */
  g_object_set_data_full (G_OBJECT (completer), "picard-model-network", g_steal_pointer (&net),
                          (GDestroyNotify) picard_network_free);
  g_task_return_pointer (task, completer, g_object_unref);
}

void
picard_model_load_async (const PicardModelRequest *request, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  LoadJob *job = g_new0 (LoadJob, 1);

  job->request.path = g_strdup (request->path);
  job->request.dropout_preset = g_strdup (request->dropout_preset);
  job->request.dropout_p = request->dropout_p;
  job->request.n_samples = request->n_samples;
  job->request.backend = request->backend;
  g_task_set_source_tag (task, picard_model_load_async);
  g_task_set_task_data (task, job, load_job_free);
  g_task_run_in_thread (task, load_thread);
}

PicardCompleter *
picard_model_load_finish (GAsyncResult *result, char **name, GError **error)
{
  PicardCompleter *completer = g_task_propagate_pointer (G_TASK (result), error);

  if (completer != NULL && name != NULL)
    *name = g_strdup (((LoadJob *) g_task_get_task_data (G_TASK (result)))->name);
  return completer;
}

void
picard_model_load_get_trained_geometry (GAsyncResult *result, guint *patch_size,
                                        guint *hole_size)
{
  LoadJob *job;

  g_return_if_fail (G_IS_TASK (result));

  job = g_task_get_task_data (G_TASK (result));
  *patch_size = job->trained_patch;
  *hole_size = job->trained_hole;
}

PicardNetwork *
picard_model_get_network (PicardCompleter *completer)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (completer), NULL);

  return g_object_get_data (G_OBJECT (completer), "picard-model-network");
}
