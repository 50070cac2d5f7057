/* picard-model-loader.h: the viewer's one way to a model: a PICARD checkpoint (a gen_*.pt /
 * .safetensors file or a trainer's folder, the latest gen/dis pair) or the bundled demo model,
 * loaded on the chosen backend off the main loop and handed over as a PicardCompleter. */
#pragma once

#include <gio/gio.h>

#include "picard-completer.h"
#include "picard-network.h"

G_BEGIN_DECLS

typedef struct {
  char *path;            /* NULL: the bundled demo model */
  char *dropout_preset;  /* "none", "released" (the released code's layers), "paper" */
  double dropout_p;
  guint n_samples;       /* M, for the completer's batch size */
  PicardBackend backend;
} PicardModelRequest;

void picard_model_request_clear (PicardModelRequest *request);

/* The bundled demo model's folder, or NULL when this build has none. */
const char *picard_model_get_demo_path (void);

/* Loads on a worker thread; the completer owns the network. */
void picard_model_load_async (const PicardModelRequest *request, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
/* The completer, and a name for it ("gen_00002000 (demo)") in @name (g_free). */
PicardCompleter *picard_model_load_finish (GAsyncResult *result, char **name, GError **error);
/* The patch and hole sizes the loaded model's critics were trained on (global critic: the
 * patch, local critic: the hole), or 0 and 0 when it has no critics. */
void picard_model_load_get_trained_geometry (GAsyncResult *result, guint *patch_size,
                                             guint *hole_size);
/* The network behind a completer this loader made (owned by it), or NULL for any other
 * completer: for looking inside it (the coarse stage, attention). */
PicardNetwork *picard_model_get_network (PicardCompleter *completer);

G_END_DECLS
