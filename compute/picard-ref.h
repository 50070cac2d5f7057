/* picard-ref.h: plain C references of the ops in picard-vk-ops.h, on plain [n, c, h, w]
 * float arrays. They are the oracle of the tests (and the definition of what each op
 * computes), written for clarity rather than speed. */
#pragma once

#include <glib.h>

#include "picard-half.h"
#include "picard-vk-ops.h"

G_BEGIN_DECLS

/* Rounds every value to the nearest fp16 value (inputs of the fp16 variants' tests). */
void picard_ref_round_to_half (float *values, gsize count);

/* Philox4x32-10 (Salmon et al., SC 2011), the counter-based generator behind the dropout
 * masks; shaders/dropout-mask.comp implements the same function. */
void picard_ref_philox4x32 (const guint32 counter[4], const guint32 key[2], guint32 out[4]);

/* The keep threshold for dropout probability @p: a channel is kept when the top 24 bits of
 * its random word are >= the threshold. Integer comparisons make C and GLSL agree exactly. */
guint32 picard_ref_dropout_threshold (float p);

/* Spatial dropout masks, [n * channels]: 1/(1-p) where kept, 0 where dropped. Sample i of the
 * batch is (patch_ids[i], sample_ids[i]); the key is the 64-bit @seed, the counter
 * (channel, layer, sample, patch), so a mask depends on nothing else. */
void picard_ref_dropout_mask (guint64 seed, const guint32 *patch_ids, const guint32 *sample_ids,
                              guint n, guint layer, guint channels, float p, float *mask);

/* conv2d: in [n, cin, h, w], weights [n_w][cout][cin][k][k] (n_w 1 or n, @per_sample_weights),
 * bias [cout] or NULL, mask [n * cout] or NULL (applied after the activation), out
 * [n, cout, oh, ow] with oh, ow from picard_vk_conv_out_size(). */
void picard_ref_conv2d (guint n, guint cin, guint h, guint w, const float *in,
                        guint cout, guint k, const float *weights, gboolean per_sample_weights,
                        const float *bias, const PicardVkConvParams *params,
                        const float *mask, float *out);

/* Nearest resampling by an integer factor (up: out = in * factor, else in / factor). */
void picard_ref_nearest (guint n, guint c, guint h, guint w, const float *in, gboolean up,
                         guint factor, float *out);
void picard_ref_clamp (gsize count, const float *in, float lo, float hi, float *out);
/* out [n, c, h, w] = a * m + b * (1 - m): a [a_n, c, h, w], b [b_n, c, h, w], m [mask_n, 1,
 * h, w]; each of a_n, b_n, mask_n divides n and sample i reads input sample i * a_n / n. */
void picard_ref_compose (guint n, guint c, guint h, guint w, const float *a, guint a_n,
                         const float *b, guint b_n, const float *m, guint mask_n, float *out);
/* out [n, ca + cb, h, w] = [a, b]; a_n, b_n divide n, broadcast as in picard_ref_compose. */
void picard_ref_concat (guint n, guint h, guint w, guint ca, const float *a, guint a_n,
                        guint cb, const float *b, guint b_n, float *out);
/* Patches as PyTorch's unfold after "same" padding gives them: [n][L][c][k][k]. */
void picard_ref_extract_patches (guint n, guint c, guint h, guint w, const float *in, guint k,
                                 guint stride, guint rate, float *patches);
/* Each of @rows rows of @len values divided by sqrt(sum(v^2 + eps)). */
void picard_ref_patch_normalize (gsize rows, gsize len, float eps, const float *in, float *out);
/* Transposed convolution, weights [n_w][cout][cin][k][k] (PyTorch's [cin][cout] swapped):
 * out[co][iy * s - pad + ky][...] += in[ci][iy][ix] * w[co][ci][ky][kx], then * scale. */
void picard_ref_conv_transpose2d (guint n, guint cin, guint h, guint w, const float *in,
                                  guint cout, guint k, const float *weights,
                                  gboolean per_sample_weights, guint stride, guint padding,
                                  float scale, float *out);
void picard_ref_fuse (guint n, guint hb, guint wb, guint hf, guint wf, gboolean transposed,
                      const float *in, float *out);
/* Softmax over channels of scale * in * mm, times mm. */
void picard_ref_softmax (guint n, guint c, gsize hw, const float *in, const float *mm,
                         float scale, float *out);
void picard_ref_l2_distance (guint n, guint c, guint h, guint w, const float *a, const float *b,
                             guint group, guint y0, guint x0, guint rh, guint rw, float *dist);
void picard_ref_reduce_groups (PicardVkReduce op, guint groups, guint m, const float *in,
                               float *out);
/* What picard_vk_op_fma_peak writes ([invocations][4]). */
void picard_ref_fma_peak (guint invocations, guint steps, float *out);
void picard_ref_bicubic (guint n, guint c, guint h, guint w, const float *in, guint oh, guint ow,
                         float *out);

G_END_DECLS
