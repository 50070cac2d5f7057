/* picard-vk-ops-private.h: helpers shared by the picard-vk-ops*.c files. */
#pragma once

#include "picard-vk-ops.h"

G_BEGIN_DECLS

/* Fails with PICARD_ERROR_NOT_SUPPORTED for fp16 on a device without (or with disabled) fp16. */
gboolean picard_vk_ops_check_dtype (PicardVkDevice *device, PicardVkDtype dtype, GError **error);
/* The pipeline of @shader ("<shader>-f32"/"-f16" when @typed). */
PicardVkPipeline *picard_vk_ops_pipeline (PicardVkDevice *device, const char *shader,
                                          PicardVkDtype dtype, gboolean typed,
                                          const guint32 *spec, guint n_spec, GError **error);
/* Folds @groups workgroups into a grid within Vulkan's 65535 per dimension, its rows of
 * equal length (the last short by less than one per row): llvmpipe hands each of its threads
 * a contiguous run of workgroups, and a full row of 65535 beside a second row of one real
 * group left one of two cores idle. FALSE when even 65535 rows cannot hold them. */
gboolean picard_vk_ops_fold_groups (gsize groups, guint32 *gx, guint32 *gy);
gsize picard_vk_weights_packed_count (guint n, guint cout, guint cin, guint k);
/* picard_vk_op_conv_transpose2d in the tiled layout (GPUs), its arguments checked. */
gboolean picard_vk_ops_conv_transpose_tiled (PicardVkGraph *graph, guint stride, guint padding,
                                             float scale, PicardVkTensor *in,
                                             PicardVkWeights *wt, PicardVkTensor *out,
                                             GError **error);

G_END_DECLS
