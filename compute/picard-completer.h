/* picard-completer.h: what completes patches for the scan (picard-scan.h).
 *
 * PicardCompleter is a GInterface: the completion network implements it, the tests implement
 * it with a synthetic model, and the scan only ever talks to this interface.
 *
 * Contract of an implementation:
 * - A completion depends only on (seed, patch id, sample id) and the patch's pixels, never on
 *   which other patches or samples share the batch, nor on the batch size: a scan cancelled
 *   and resumed, or run in another order, must give bit-identical results on one device.
 * - The model hash names everything besides those inputs that changes a completion (weights,
 *   dropout layers and p, precision mode): scans are cached under it.
 * - complete() may be called from any thread, but never twice at once on one completer. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  guint patch_size;          /* P */
  guint hole_size;           /* H: the centred square, rows and columns (P-H)/2 .. (P+H)/2-1 */
  guint n_patches;           /* B */
  /* B x P x P ground truth in [-1, 1], row-major, one channel.  The hole pixels carry the
   * ground truth: the completer hides them (PICARD sets them to 0) before completing, and
   * reads them only for gt_features. */
  const float *patches;
  const guint32 *patch_ids;  /* B ids, the patch's row-major index on its slice's lattice */
  guint n_samples;           /* S */
  const guint32 *sample_ids; /* S sample indices (0 .. M-1), the same for every patch */
  guint64 seed;
} PicardCompletionBatch;

#define PICARD_TYPE_COMPLETER (picard_completer_get_type ())
G_DECLARE_INTERFACE (PicardCompleter, picard_completer, PICARD, COMPLETER, GObject)

struct _PicardCompleterInterface {
  GTypeInterface g_iface;

  /* Patches per call that use the device well (PICARD: 32).  Required. */
  guint (*get_batch_size) (PicardCompleter *self);
  /* F, the length of the critic feature of an H x H crop; 0 when there is no critic. */
  guint (*get_feature_length) (PicardCompleter *self, guint hole_size);
  /* A stable identifier of the model (see above), e.g. hex SHA-256.  Required. */
  const char *(*get_model_hash) (PicardCompleter *self);
  /* The device in words, for sidecars ("llvmpipe (LLVM 15.0.6, 256 bits)").  Optional. */
  const char *(*get_device_name) (PicardCompleter *self);
  /* FALSE with an error when the network cannot complete this geometry.  Optional. */
  gboolean (*check_geometry) (PicardCompleter *self, guint patch_size, guint hole_size,
                              GError **error);
  /* Fills @holes, B x S x H x H (patch-major, then sample): the completed hole crops in
   * [-1, 1]; and, when F > 0, @features, B x S x F: the critic feature of each completed crop,
   * and @gt_features, B x F: that of each ground-truth crop (both NULL when F is 0).
   * Returns FALSE with @error set on failure (G_IO_ERROR_CANCELLED when @cancellable
   * fired); the outputs are then undefined.  Required. */
  gboolean (*complete) (PicardCompleter *self, const PicardCompletionBatch *batch,
                        float *holes, float *features, float *gt_features,
                        GCancellable *cancellable, GError **error);
};

guint picard_completer_get_batch_size (PicardCompleter *self);
guint picard_completer_get_feature_length (PicardCompleter *self, guint hole_size);
const char *picard_completer_get_model_hash (PicardCompleter *self);
/* "unknown device" when the implementation does not say. */
const char *picard_completer_get_device_name (PicardCompleter *self);
gboolean picard_completer_check_geometry (PicardCompleter *self, guint patch_size,
                                          guint hole_size, GError **error);
gboolean picard_completer_complete (PicardCompleter *self, const PicardCompletionBatch *batch,
                                    float *holes, float *features, float *gt_features,
                                    GCancellable *cancellable, GError **error);

G_END_DECLS
