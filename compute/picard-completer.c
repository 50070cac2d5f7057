#include "picard-completer.h"

#include "picard-error.h"

G_DEFINE_INTERFACE (PicardCompleter, picard_completer, G_TYPE_OBJECT)

static void
picard_completer_default_init (PicardCompleterInterface *iface)
{
}

guint
picard_completer_get_batch_size (PicardCompleter *self)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), 1);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  g_return_val_if_fail (iface->get_batch_size != NULL, 1);
  return MAX (iface->get_batch_size (self), 1u);
}

guint
picard_completer_get_feature_length (PicardCompleter *self, guint hole_size)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), 0);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  return iface->get_feature_length != NULL ? iface->get_feature_length (self, hole_size) : 0;
}

const char *
picard_completer_get_model_hash (PicardCompleter *self)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), NULL);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  g_return_val_if_fail (iface->get_model_hash != NULL, NULL);
  return iface->get_model_hash (self);
}

const char *
picard_completer_get_device_name (PicardCompleter *self)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), NULL);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  const char *name = iface->get_device_name != NULL ? iface->get_device_name (self) : NULL;
  return name != NULL ? name : "unknown device";
}

gboolean
picard_completer_check_geometry (PicardCompleter *self, guint patch_size, guint hole_size,
                                 GError **error)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), FALSE);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  if (iface->check_geometry == NULL)
    return TRUE;
  return iface->check_geometry (self, patch_size, hole_size, error);
}

gboolean
picard_completer_complete (PicardCompleter *self, const PicardCompletionBatch *batch,
                           float *holes, float *features, float *gt_features,
                           GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PICARD_IS_COMPLETER (self), FALSE);
  g_return_val_if_fail (batch != NULL && holes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  PicardCompleterInterface *iface = PICARD_COMPLETER_GET_IFACE (self);
  g_return_val_if_fail (iface->complete != NULL, FALSE);

  GError *local_error = NULL;
  if (iface->complete (self, batch, holes, features, gt_features, cancellable, &local_error))
    return TRUE;
  /* An implementation that fails must say why; never let a bare FALSE through. */
  if (local_error == NULL)
    local_error = g_error_new (PICARD_ERROR, PICARD_ERROR_DEVICE,
                               "The completion network failed without saying why");
  g_propagate_error (error, local_error);
  return FALSE;
}
