/* picard-vk-ops.h: the op library. Each op checks its arguments, picks the pipeline variant
 * for the device and the tensors' storage type, and appends its dispatches to a graph; the
 * plain C reference of every op is in picard-ref.h.
 *
 * Tensors are [n, c, h, w] stored in channel blocks of four ("NC4HW4", see
 * shaders/common.glsl): element (n, c, y, x) lives at float index
 * ((n * C4 + c / 4) * h * w + y * w + x) * 4 + c % 4 with C4 = ceil(c / 4), and the padding
 * channels are zero. Convolution weights are packed as [n_w][cout][C4in][k * k][4] (the
 * four input channels of a block innermost); n_w is 1, or the batch size when every sample
 * has its own weights (contextual attention). */
#pragma once

#include "picard-vk.h"

G_BEGIN_DECLS

typedef struct {
  PicardVkBuffer *buffer;
  guint n, c, h, w;
  PicardVkDtype dtype;
} PicardVkTensor;

typedef struct {
  PicardVkBuffer *buffer;
  guint n, cout, cin, k;
  PicardVkDtype dtype;
} PicardVkWeights;

typedef enum {
  PICARD_VK_ACT_NONE = 0,
  PICARD_VK_ACT_ELU = 1,        /* alpha 1 */
  PICARD_VK_ACT_RELU = 2,
  PICARD_VK_ACT_LEAKY_RELU = 3, /* slope PicardVkConvParams.alpha */
} PicardVkActivation;

/* Bytes of one element of @dtype. */
gsize picard_vk_dtype_size (PicardVkDtype dtype);

PicardVkTensor *picard_vk_tensor_new (PicardVkDevice *device, guint n, guint c, guint h, guint w,
                                      PicardVkDtype dtype, GError **error);
void picard_vk_tensor_free (PicardVkTensor *tensor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardVkTensor, picard_vk_tensor_free)
/* Floats in the packed buffer (n * C4 * h * w * 4). */
gsize picard_vk_tensor_packed_count (const PicardVkTensor *tensor);
/* Host transfers of a plain [n, c, h, w] float array, packed and converted on the way
 * (through mapped memory or the staging buffer: nothing is allocated). */
gboolean picard_vk_tensor_upload (PicardVkTensor *tensor, const float *nchw, GError **error);
gboolean picard_vk_tensor_download (PicardVkTensor *tensor, float *nchw, GError **error);

PicardVkWeights *picard_vk_weights_new (PicardVkDevice *device, guint n, guint cout, guint cin,
                                        guint k, PicardVkDtype dtype, GError **error);
void picard_vk_weights_free (PicardVkWeights *weights);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardVkWeights, picard_vk_weights_free)
/* Uploads PyTorch-layout weights [n][cout][cin][k][k], packing them. */
gboolean picard_vk_weights_upload (PicardVkWeights *weights, const float *oihw, GError **error);

/* conv2d with zero padding, bias (fp32 [cout] or NULL), activation and dropout: @mask is
 * fp32 [in->n * cout] (see picard_vk_op_dropout_mask) or NULL. The output may be a channel
 * slice of a larger tensor (concatenation for free): @out_c_offset, a multiple of 4, is
 * where the result's channels start in @out. */
typedef struct {
  guint stride;
  guint dilation;
  guint padding;
  PicardVkActivation act;
  float alpha;
  guint out_c_offset;
} PicardVkConvParams;

gboolean picard_vk_op_conv2d (PicardVkGraph *graph, const PicardVkConvParams *params,
                              PicardVkTensor *in, PicardVkWeights *weights,
                              PicardVkBuffer *bias, PicardVkBuffer *mask, PicardVkTensor *out,
                              GError **error);

/* The output size of a convolution, 0 when the kernel does not fit. */
guint picard_vk_conv_out_size (guint size, guint k, guint stride, guint dilation, guint padding);

G_END_DECLS
