/* picard-cpu-ops.h: the CPU backend's own ops (picard-network-cpu.c), on plain row-major
 * float arrays of one sample, exposed so that tests/test-cpu-ops.c can hold each against its
 * C reference (picard-ref.h). The network runs them inside its plans. */
#pragma once

#include <glib.h>

#include "picard-vk-ops.h"

G_BEGIN_DECLS

/* A oneDNN convolution of @n samples [cin, h, w] with the activation and the per-sample,
 * per-channel @mask ([n * cout] or NULL) fused as post-ops, as picard_ref_conv2d() with
 * per-sample weights off and "same"-style padding dilation * (k - 1) / 2. */
gboolean picard_cpu_conv2d (guint n, guint cin, guint h, guint w, const float *in, guint cout,
                            guint k, const float *weights, const float *bias,
                            const PicardVkConvParams *params, const float *mask, float *out,
                            GError **error);
/* PyTorch's unfold after "same" padding (rate 1): row l of @out is patch l, (c, ky, kx). */
void picard_cpu_extract_patches (guint c, guint h, guint w, const float *in, guint k,
                                 guint stride, float *out);
/* As picard_ref_patch_normalize(). */
void picard_cpu_patch_normalize (gsize rows, gsize len, float eps, const float *in, float *out);
/* scores[k][pos] = normalized[k] . patches[pos]: the matching convolution of contextual
 * attention, for @l patches of @len values. */
gboolean picard_cpu_match (gsize l, gsize len, const float *normalized, const float *patches,
                           float *scores, GError **error);
/* As picard_ref_fuse() with hb = hf = h8, wb = wf = w8, one sample. */
void picard_cpu_fuse (guint h8, guint w8, gboolean transposed, const float *in, float *out);
/* As picard_ref_softmax() for one sample of @l channels and @l positions. */
void picard_cpu_softmax (gsize l, const float *in, const float *mm, float scale, float *out);
/* The transposed convolution (kernel 4, stride 2, padding 1, scale 1/4) of @weights [L][L]
 * (channels, h8 x w8 positions) with @raw [L][c * 16] as kernels: @out [c][2 h8][2 w8];
 * @cols is c * 16 * L scratch. */
gboolean picard_cpu_reconstruct (guint c, guint h8, guint w8, const float *weights,
                                 const float *raw, float *cols, float *out, GError **error);

G_END_DECLS
