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
/* Downloads and unpacks into [n][cout][cin][k][k]. */
gboolean picard_vk_weights_download (PicardVkWeights *weights, float *oihw, GError **error);

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

/* Dropout scales, fp32 [n * channels] into @mask: 1/(1-p) for kept channels, 0 for dropped.
 * @ids holds uint32 (patch id, sample index) pairs, one per batch entry, uploaded by the
 * caller before each run, so a recorded graph serves every batch. Masks depend only on
 * (seed, patch, sample, layer, channel): never on the batch size or position. */
gboolean picard_vk_op_dropout_mask (PicardVkGraph *graph, PicardVkBuffer *ids, guint n,
                                    guint64 seed, guint layer, guint channels, float p,
                                    PicardVkBuffer *mask, GError **error);

/* Nearest-neighbour resampling by an integer factor: out is in * factor (up) or
 * floor(in / factor) (down, taking every factor-th pixel as PyTorch's nearest does). */
gboolean picard_vk_op_upsample_nearest (PicardVkGraph *graph, guint factor, PicardVkTensor *in,
                                        PicardVkTensor *out, GError **error);
gboolean picard_vk_op_downsample_nearest (PicardVkGraph *graph, guint factor,
                                          PicardVkTensor *in, PicardVkTensor *out,
                                          GError **error);
/* out = clamp(in, lo, hi); @out may be @in. Needs lo <= 0 <= hi (padding stays zero). */
gboolean picard_vk_op_clamp (PicardVkGraph *graph, float lo, float hi, PicardVkTensor *in,
                             PicardVkTensor *out, GError **error);
/* out = a * m + b * (1 - m); m has one channel. Each input's batch divides out's: output
 * sample n reads input sample n * batch / out's batch (one sample: broadcast over the batch;
 * out's batch / k: one per group of k consecutive samples). */
gboolean picard_vk_op_compose (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                               PicardVkTensor *m, PicardVkTensor *out, GError **error);
/* out = [a, b] along channels; each input's batch divides out's, broadcast as in compose. */
gboolean picard_vk_op_concat (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                              PicardVkTensor *out, GError **error);

/* TensorFlow "same" padding of one axis: the output size and the leading pad. */
guint picard_vk_same_padding (guint size, guint k, guint stride, guint rate, guint *pad_before);

/* k x k patches of @in at @stride and @rate with "same" padding, as packed per-sample
 * weights: for matching (@transposed FALSE) out has cout = L patches and cin = in->c; for
 * the transposed convolution cout = in->c and cin = L. L = same(h) * same(w). */
gboolean picard_vk_op_extract_patches (PicardVkGraph *graph, guint k, guint stride, guint rate,
                                       gboolean transposed, PicardVkTensor *in,
                                       PicardVkWeights *out, GError **error);
/* out = w / sqrt(sum(w^2 + eps)) per output channel and sample (contextual attention's
 * patch normalisation, eps 1e-4). Matching is then picard_vk_op_conv2d() with these
 * per-sample weights, stride 1, padding k / 2. */
gboolean picard_vk_op_patch_normalize (PicardVkGraph *graph, float eps, PicardVkWeights *in,
                                       PicardVkWeights *out, GError **error);
/* Transposed convolution (PyTorch conv_transpose2d, no output padding, no bias) times
 * @scale; weights packed with cout = output channels. out is (h - 1) * stride - 2 * padding + k. */
gboolean picard_vk_op_conv_transpose2d (PicardVkGraph *graph, guint stride, guint padding,
                                        float scale, PicardVkTensor *in,
                                        PicardVkWeights *weights, PicardVkTensor *out,
                                        GError **error);
/* Contextual attention's fuse: identity 3x3 convolution over the score matrix of @in
 * [n, hb * wb, hf, wf], in index order 0 or the transposed order 1 (see shaders/fuse.comp). */
gboolean picard_vk_op_fuse (PicardVkGraph *graph, guint hb, guint wb, gboolean transposed,
                            PicardVkTensor *in, PicardVkTensor *out, GError **error);
/* out = softmax over channels of (scale * in * mm) * mm, mm fp32 [in->c]. */
gboolean picard_vk_op_softmax (PicardVkGraph *graph, float scale, PicardVkBuffer *mm,
                               PicardVkTensor *in, PicardVkTensor *out, GError **error);
/* dist[i] = ||a[i] - b[i / group]||_2 over all channels and the region (y0, x0, h, w);
 * dist is fp32 [a->n], b has a->n / group samples. */
gboolean picard_vk_op_l2_distance (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                                   guint group, guint y0, guint x0, guint h, guint w,
                                   PicardVkBuffer *dist, GError **error);

typedef enum {
  PICARD_VK_REDUCE_MIN = 0,
  PICARD_VK_REDUCE_MEAN = 1,
  PICARD_VK_REDUCE_MEDIAN = 2,  /* mean of the two middle values for even groups */
} PicardVkReduce;
#define PICARD_VK_REDUCE_MAX_GROUP 64

/* out[g] = op(in[g * m .. g * m + m - 1]), fp32 buffers; m <= PICARD_VK_REDUCE_MAX_GROUP. */
gboolean picard_vk_op_reduce_groups (PicardVkGraph *graph, PicardVkReduce op, guint groups,
                                     guint m, PicardVkBuffer *in, PicardVkBuffer *out,
                                     GError **error);
/* The device's arithmetic peak, measured: @invocations invocations each run eight chains of
 * vec4 multiply-adds, x = x * 0.999 + 0.001, for 4 * @steps steps, chain k of invocation i
 * starting from (i + j) / 2^(20 + k) in component j, and write the sum of the chains, fp32
 * vec4, to @out[i]. 256 * @steps FLOP per invocation; time picard_vk_graph_run for the rate. */
gboolean picard_vk_op_fma_peak (PicardVkGraph *graph, guint invocations, guint steps,
                                PicardVkBuffer *out, GError **error);
/* Bicubic resampling to out's size (PyTorch, align_corners=False, a = -0.75, border clamp). */
gboolean picard_vk_op_bicubic (PicardVkGraph *graph, PicardVkTensor *in, PicardVkTensor *out,
                               GError **error);

G_END_DECLS
