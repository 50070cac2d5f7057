/* picard-vk-ops-misc.c: every op but the convolution (see picard-vk-ops.h). */
#include "picard-vk-ops.h"

#include <math.h>

#include "picard-error.h"
#include "picard-ref.h"
#include "picard-vk-ops-private.h"

static gboolean
fail (GError **error, const char *op, const char *what)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT, "%s: %s", op, what);
  return FALSE;
}

static gboolean
same_dtype (const char *op, PicardVkTensor *a, PicardVkTensor *b, GError **error)
{
  if (a->dtype != b->dtype)
    return fail (error, op, "the tensors' storage types differ");
  return TRUE;
}

static gsize
texels (const PicardVkTensor *t)
{
  return picard_vk_tensor_packed_count (t) / 4;
}

gboolean
picard_vk_ops_fold_groups (gsize groups, guint32 *gx, guint32 *gy)
{
  g_return_val_if_fail (gx != NULL && gy != NULL, FALSE);

  const gsize rows = (groups + 65534) / 65535;
  if (rows > 65535)
    return FALSE;
  *gy = (guint32) MAX (rows, 1);
  *gx = (guint32) ((groups + *gy - 1) / *gy);
  return TRUE;
}

/* Appends a dispatch of @count invocations in workgroups of 64 (the shaders rebuild the index
 * from a folded grid). */
static gboolean
dispatch_1d (PicardVkGraph *graph, PicardVkPipeline *pipeline, const PicardVkBindings *b,
             const void *push, gsize push_size, gsize count, GError **error)
{
  guint32 gx, gy;

  if (!picard_vk_ops_fold_groups ((count + 63) / 64, &gx, &gy))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "An op over %" G_GSIZE_FORMAT " elements is too large for one dispatch: "
                   "use a smaller batch", count);
      return FALSE;
    }
  return picard_vk_graph_dispatch (graph, pipeline, b, push, push_size, gx, gy, 1, error);
}

static PicardVkPipeline *
pipeline_for (PicardVkGraph *graph, const char *shader, PicardVkDtype dtype, GError **error)
{
  PicardVkDevice *device = picard_vk_graph_get_device (graph);
  if (!picard_vk_ops_check_dtype (device, dtype, error))
    return NULL;
  return picard_vk_ops_pipeline (device, shader, dtype, TRUE, NULL, 0, error);
}

/* ---- dropout masks ---------------------------------------------------------------------- */

typedef struct {
  guint32 seed_lo, seed_hi, layer, channels;
  guint32 n, threshold;
  float scale;
} PicardVkDropoutPush;
G_STATIC_ASSERT (sizeof (PicardVkDropoutPush) == 28);

gboolean
picard_vk_op_dropout_mask (PicardVkGraph *graph, PicardVkBuffer *ids, guint n, guint64 seed,
                           guint layer, guint channels, float p, PicardVkBuffer *mask,
                           GError **error)
{
  g_return_val_if_fail (graph != NULL && ids != NULL && mask != NULL, FALSE);

  if (n == 0 || channels == 0 || !(p >= 0.0f && p <= 1.0f))
    return fail (error, "dropout", "needs a batch, channels and 0 <= p <= 1");
  if (picard_vk_buffer_get_size (ids) < (gsize) n * 2 * sizeof (guint32)
      || picard_vk_buffer_get_size (mask) < (gsize) n * channels * sizeof (float))
    return fail (error, "dropout", "the id or mask buffer is too small for the batch");
  PicardVkPipeline *pipeline = picard_vk_ops_pipeline (picard_vk_graph_get_device (graph),
                                                       "dropout-mask", PICARD_VK_DTYPE_F32,
                                                       FALSE, NULL, 0, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkDropoutPush push = {
    .seed_lo = (guint32) seed, .seed_hi = (guint32) (seed >> 32), .layer = layer,
    .channels = channels, .n = n, .threshold = picard_ref_dropout_threshold (p),
    .scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f,
  };
  PicardVkBindings b = { .storage = { ids, mask } };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, (gsize) n * channels, error);
}

/* ---- resampling, clamp, composition, concatenation ------------------------------------- */

typedef struct {
  guint32 invocations, steps;
} PicardVkFmaPeakPush;
G_STATIC_ASSERT (sizeof (PicardVkFmaPeakPush) == 8);

gboolean
picard_vk_op_fma_peak (PicardVkGraph *graph, guint invocations, guint steps,
                       PicardVkBuffer *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && out != NULL, FALSE);

  if (invocations == 0 || picard_vk_buffer_get_size (out) < (gsize) invocations * 16)
    return fail (error, "fma-peak", "one vec4 of output per invocation needed");
  PicardVkPipeline *pipeline = picard_vk_ops_pipeline (picard_vk_graph_get_device (graph),
                                                       "fma-peak", PICARD_VK_DTYPE_F32, FALSE,
                                                       NULL, 0, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkFmaPeakPush push = { invocations, steps };
  PicardVkBindings b = { .storage = { NULL, NULL, out } };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, invocations, error);
}

typedef struct {
  guint32 texels, h, w, oh;
  guint32 ow, factor, up;
} PicardVkNearestPush;
G_STATIC_ASSERT (sizeof (PicardVkNearestPush) == 28);

static gboolean
nearest (PicardVkGraph *graph, gboolean up, guint factor, PicardVkTensor *in,
         PicardVkTensor *out, GError **error)
{
  const char *op = up ? "upsample" : "downsample";

  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);
  if (factor == 0 || factor > 64)
    return fail (error, op, "the factor must be 1..64");
  guint64 oh = up ? (guint64) in->h * factor : in->h / factor;
  guint64 ow = up ? (guint64) in->w * factor : in->w / factor;
  if (oh == 0 || ow == 0 || out->h != oh || out->w != ow || out->n != in->n || out->c != in->c)
    return fail (error, op, "the output shape does not match the input and factor");
  if (!same_dtype (op, in, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "nearest", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkNearestPush push = {
    (guint32) texels (out), in->h, in->w, out->h, out->w, factor, up,
  };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, texels (out), error);
}

gboolean
picard_vk_op_upsample_nearest (PicardVkGraph *graph, guint factor, PicardVkTensor *in,
                               PicardVkTensor *out, GError **error)
{
  return nearest (graph, TRUE, factor, in, out, error);
}

gboolean
picard_vk_op_downsample_nearest (PicardVkGraph *graph, guint factor, PicardVkTensor *in,
                                 PicardVkTensor *out, GError **error)
{
  return nearest (graph, FALSE, factor, in, out, error);
}

typedef struct {
  guint32 texels;
  float lo, hi;
} PicardVkClampPush;
G_STATIC_ASSERT (sizeof (PicardVkClampPush) == 12);

gboolean
picard_vk_op_clamp (PicardVkGraph *graph, float lo, float hi, PicardVkTensor *in,
                    PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);

  if (!(lo <= 0.0f && hi >= 0.0f))
    return fail (error, "clamp", "needs lo <= 0 <= hi");
  if (out->n != in->n || out->c != in->c || out->h != in->h || out->w != in->w)
    return fail (error, "clamp", "the output shape differs from the input's");
  if (!same_dtype ("clamp", in, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "clamp", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkClampPush push = { (guint32) texels (out), lo, hi };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, texels (out), error);
}

typedef struct {
  guint32 texels, c4, hw, a_batch;
  guint32 b_batch, mask_batch, out_batch;
} PicardVkComposePush;
G_STATIC_ASSERT (sizeof (PicardVkComposePush) == 28);

/* Whether an input of @in_n samples can be broadcast in groups over @out_n (output sample n
 * reads input sample n * in_n / out_n), with that product inside the shaders' 32 bits. */
static gboolean
broadcasts (guint in_n, guint out_n)
{
  return in_n > 0 && out_n > 0 && out_n % in_n == 0 && (guint64) in_n * out_n <= G_MAXUINT32;
}

gboolean
picard_vk_op_compose (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                      PicardVkTensor *m, PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && a != NULL && b != NULL && m != NULL && out != NULL,
                        FALSE);

  if (b->c != a->c || b->h != a->h || b->w != a->w || out->c != a->c || out->h != a->h
      || out->w != a->w || m->c != 1 || m->h != a->h || m->w != a->w
      || !broadcasts (a->n, out->n) || !broadcasts (b->n, out->n) || !broadcasts (m->n, out->n))
    return fail (error, "compose", "the shapes of a, b, the one-channel mask and out differ, "
                 "or a batch does not divide out's");
  if (!same_dtype ("compose", a, b, error) || !same_dtype ("compose", a, m, error)
      || !same_dtype ("compose", a, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "compose", a->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkComposePush push = {
    (guint32) texels (out), (a->c + 3) / 4, a->h * a->w, a->n, b->n, m->n, out->n,
  };
  PicardVkBindings bind = { .storage[2] = out->buffer,
                            .texel = { a->buffer, b->buffer, m->buffer },
                            .texel_dtype = a->dtype };
  return dispatch_1d (graph, pipeline, &bind, &push, sizeof push, texels (out), error);
}

typedef struct {
  guint32 texels, c, ca, cb;
  guint32 hw, a_batch, b_batch, out_batch;
} PicardVkConcatPush;
G_STATIC_ASSERT (sizeof (PicardVkConcatPush) == 32);

gboolean
picard_vk_op_concat (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                     PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && a != NULL && b != NULL && out != NULL, FALSE);

  if (out->c != a->c + b->c || a->h != out->h || a->w != out->w || b->h != out->h
      || b->w != out->w || !broadcasts (a->n, out->n) || !broadcasts (b->n, out->n))
    return fail (error, "concat", "the inputs' shapes do not add up to the output's, or a "
                 "batch does not divide out's");
  if (!same_dtype ("concat", a, b, error) || !same_dtype ("concat", a, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "concat", a->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkConcatPush push = {
    (guint32) texels (out), out->c, a->c, b->c, out->h * out->w, a->n, b->n, out->n,
  };
  PicardVkBindings bind = { .storage[2] = out->buffer, .texel = { a->buffer, b->buffer },
                            .texel_dtype = a->dtype };
  return dispatch_1d (graph, pipeline, &bind, &push, sizeof push, texels (out), error);
}

/* ---- contextual attention ----------------------------------------------------------------- */

guint
picard_vk_same_padding (guint size, guint k, guint stride, guint rate, guint *pad_before)
{
  guint out = (size + stride - 1) / stride;
  guint64 span = (guint64) (k - 1) * rate + 1;
  guint64 need = (guint64) (out - 1) * stride + span;
  guint64 total = need > size ? need - size : 0;

  if (pad_before != NULL)
    *pad_before = (guint) (total / 2);
  return out;
}

typedef struct {
  guint32 texels, c, h, w;
  guint32 k, stride, rate, lh;
  guint32 lw, transposed;
  gint32 pad_top, pad_left;
} PicardVkPatchesPush;
G_STATIC_ASSERT (sizeof (PicardVkPatchesPush) == 48);

gboolean
picard_vk_op_extract_patches (PicardVkGraph *graph, guint k, guint stride, guint rate,
                              gboolean transposed, PicardVkTensor *in, PicardVkWeights *out,
                              GError **error)
{
  guint pad_top, pad_left;

  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);
  if (k == 0 || k > 16 || stride == 0 || stride > 16 || rate == 0 || rate > 16)
    return fail (error, "patches", "kernel, stride and rate must be 1..16");
  guint lh = picard_vk_same_padding (in->h, k, stride, rate, &pad_top);
  guint lw = picard_vk_same_padding (in->w, k, stride, rate, &pad_left);
  guint l = lh * lw;
  if (out->n != in->n || out->k != k || out->cout != (transposed ? in->c : l)
      || out->cin != (transposed ? l : in->c) || out->dtype != in->dtype)
    return fail (error, "patches", "the weights' shape does not match the patches");
  PicardVkPipeline *pipeline = pipeline_for (graph, "extract-patches", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  gsize count = picard_vk_weights_packed_count (out->n, out->cout, out->cin, k) / 4;
  PicardVkPatchesPush push = {
    (guint32) count, in->c, in->h, in->w, k, stride, rate, lh, lw, transposed,
    (gint32) pad_top, (gint32) pad_left,
  };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, count, error);
}

typedef struct {
  guint32 rows, cin, cin4, kk;
  float eps;
} PicardVkPatchNormPush;
G_STATIC_ASSERT (sizeof (PicardVkPatchNormPush) == 20);

gboolean
picard_vk_op_patch_normalize (PicardVkGraph *graph, float eps, PicardVkWeights *in,
                              PicardVkWeights *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);

  if (out->n != in->n || out->cout != in->cout || out->cin != in->cin || out->k != in->k
      || out->dtype != in->dtype || in->buffer == out->buffer)
    return fail (error, "patch-norm", "needs two distinct weight sets of the same shape");
  if (!(eps > 0.0f))
    return fail (error, "patch-norm", "eps must be positive");
  PicardVkPipeline *pipeline = pipeline_for (graph, "patch-norm", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkPatchNormPush push = {
    in->n * in->cout, in->cin, (in->cin + 3) / 4, in->k * in->k, eps,
  };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, push.rows, error);
}

typedef struct {
  guint32 n, cin4, h, w;
  guint32 cout, oh, ow, k;
  guint32 stride, pad;
  float scale;
  guint32 w_batch_stride;
} PicardVkConvTransposePush;
G_STATIC_ASSERT (sizeof (PicardVkConvTransposePush) == 48);

gboolean
picard_vk_op_conv_transpose2d (PicardVkGraph *graph, guint stride, guint padding, float scale,
                               PicardVkTensor *in, PicardVkWeights *wt, PicardVkTensor *out,
                               GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && wt != NULL && out != NULL, FALSE);

  if (stride == 0 || stride > 16 || 2 * padding >= (in->h - 1) * stride + wt->k
      || 2 * padding >= (in->w - 1) * stride + wt->k)
    return fail (error, "conv-transpose", "stride must be 1..16 and the padding smaller "
                 "than half the output");
  guint oh = (in->h - 1) * stride + wt->k - 2 * padding;
  guint ow = (in->w - 1) * stride + wt->k - 2 * padding;
  if (wt->cin != in->c || (wt->n != 1 && wt->n != in->n) || out->n != in->n
      || out->c != wt->cout || out->h != oh || out->w != ow || wt->dtype != in->dtype
      || !same_dtype ("conv-transpose", in, out, error))
    return fail (error, "conv-transpose", "the shapes of input, weights and output differ");
  PicardVkDevice *device = picard_vk_graph_get_device (graph);
  if (!picard_vk_ops_check_dtype (device, in->dtype, error))
    return FALSE;
  if (picard_vk_device_get_conv_algo (device) == PICARD_VK_CONV_TILED)
    return picard_vk_ops_conv_transpose_tiled (graph, stride, padding, scale, in, wt, out,
                                               error);
  const guint32 tco = wt->cout <= 4 ? 4 : 16, tpx = 16, wg = 8;  /* as conv2d */
  const guint32 spec[3] = { wg, tco, tpx };
  PicardVkPipeline *pipeline = picard_vk_ops_pipeline (device, "conv-transpose", in->dtype,
                                                       TRUE, spec, 3, error);
  if (pipeline == NULL)
    return FALSE;
  const guint cin4 = (in->c + 3) / 4, kk = wt->k * wt->k;
  PicardVkConvTransposePush push = {
    in->n, cin4, in->h, in->w, wt->cout, oh, ow, wt->k, stride, padding, scale,
    wt->n == 1 ? 0 : wt->cout * cin4 * kk,
  };
  /* The largest phase grid bounds the pixels of every workgroup column. */
  guint gh = (oh + stride - 1) / stride, gw = (ow + stride - 1) / stride;
  PicardVkBindings b = { .storage[2] = out->buffer, .texel = { in->buffer, wt->buffer },
                         .texel_dtype = in->dtype };
  return picard_vk_graph_dispatch (graph, pipeline, &b, &push, sizeof push,
                                   (gh * gw + wg * tpx - 1) / (wg * tpx),
                                   (wt->cout + tco - 1) / tco, in->n * stride * stride, error);
}

typedef struct {
  guint32 total, hb, wb, hf;
  guint32 wf, transposed;
} PicardVkFusePush;
G_STATIC_ASSERT (sizeof (PicardVkFusePush) == 24);

gboolean
picard_vk_op_fuse (PicardVkGraph *graph, guint hb, guint wb, gboolean transposed,
                   PicardVkTensor *in, PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);

  if ((guint64) hb * wb != in->c || out->n != in->n || out->c != in->c || out->h != in->h
      || out->w != in->w || in->buffer == out->buffer)
    return fail (error, "fuse", "needs in and out of [n, hb * wb, hf, wf], distinct");
  if (!same_dtype ("fuse", in, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "fuse", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  gsize total = picard_vk_tensor_packed_count (out);
  PicardVkFusePush push = { (guint32) total, hb, wb, in->h, in->w, transposed };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, total, error);
}

typedef struct {
  guint32 pixels, c, hw;
  float scale;
} PicardVkSoftmaxPush;
G_STATIC_ASSERT (sizeof (PicardVkSoftmaxPush) == 16);

gboolean
picard_vk_op_softmax (PicardVkGraph *graph, float scale, PicardVkBuffer *mm, PicardVkTensor *in,
                      PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && mm != NULL && in != NULL && out != NULL, FALSE);

  if (out->n != in->n || out->c != in->c || out->h != in->h || out->w != in->w
      || picard_vk_buffer_get_size (mm) < in->c * sizeof (float))
    return fail (error, "softmax", "the output or the channel mask does not fit the input");
  if (!same_dtype ("softmax", in, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "softmax", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkSoftmaxPush push = { in->n * in->h * in->w, in->c, in->h * in->w, scale };
  PicardVkBindings b = { .storage = { mm, NULL, out->buffer }, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, push.pixels, error);
}

/* ---- scoring ---------------------------------------------------------------------------------- */

typedef struct {
  guint32 c4, h, w, group;
  guint32 y0, x0, rh, rw;
} PicardVkL2Push;
G_STATIC_ASSERT (sizeof (PicardVkL2Push) == 32);

gboolean
picard_vk_op_l2_distance (PicardVkGraph *graph, PicardVkTensor *a, PicardVkTensor *b,
                          guint group, guint y0, guint x0, guint h, guint w,
                          PicardVkBuffer *dist, GError **error)
{
  g_return_val_if_fail (graph != NULL && a != NULL && b != NULL && dist != NULL, FALSE);

  if (group == 0 || a->n % group != 0 || b->n != a->n / group || b->c != a->c
      || b->h != a->h || b->w != a->w || h == 0 || w == 0 || (guint64) y0 + h > a->h
      || (guint64) x0 + w > a->w || picard_vk_buffer_get_size (dist) < a->n * sizeof (float))
    return fail (error, "l2", "shapes, group or region do not fit");
  if (!same_dtype ("l2", a, b, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "l2dist", a->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkL2Push push = { (a->c + 3) / 4, a->h, a->w, group, y0, x0, h, w };
  PicardVkBindings bind = { .storage[2] = dist, .texel = { a->buffer, b->buffer },
                            .texel_dtype = a->dtype };
  return picard_vk_graph_dispatch (graph, pipeline, &bind, &push, sizeof push, a->n, 1, 1,
                                   error);
}

typedef struct {
  guint32 groups, m, op;
} PicardVkReducePush;
G_STATIC_ASSERT (sizeof (PicardVkReducePush) == 12);

gboolean
picard_vk_op_reduce_groups (PicardVkGraph *graph, PicardVkReduce op, guint groups, guint m,
                            PicardVkBuffer *in, PicardVkBuffer *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);

  if (groups == 0 || m == 0 || m > PICARD_VK_REDUCE_MAX_GROUP || op > PICARD_VK_REDUCE_MEDIAN
      || picard_vk_buffer_get_size (in) < (gsize) groups * m * sizeof (float)
      || picard_vk_buffer_get_size (out) < (gsize) groups * sizeof (float))
    return fail (error, "reduce", "groups of 1..64 values with buffers large enough needed");
  PicardVkPipeline *pipeline = picard_vk_ops_pipeline (picard_vk_graph_get_device (graph),
                                                       "reduce-groups", PICARD_VK_DTYPE_F32,
                                                       FALSE, NULL, 0, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkReducePush push = { groups, m, op };
  PicardVkBindings b = { .storage = { in, NULL, out } };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, groups, error);
}

typedef struct {
  guint32 texels, h, w, oh;
  guint32 ow;
  float scale_y, scale_x;
} PicardVkBicubicPush;
G_STATIC_ASSERT (sizeof (PicardVkBicubicPush) == 28);

gboolean
picard_vk_op_bicubic (PicardVkGraph *graph, PicardVkTensor *in, PicardVkTensor *out,
                      GError **error)
{
  g_return_val_if_fail (graph != NULL && in != NULL && out != NULL, FALSE);

  if (out->n != in->n || out->c != in->c)
    return fail (error, "bicubic", "the output must have the input's batch and channels");
  if (!same_dtype ("bicubic", in, out, error))
    return FALSE;
  PicardVkPipeline *pipeline = pipeline_for (graph, "bicubic", in->dtype, error);
  if (pipeline == NULL)
    return FALSE;
  PicardVkBicubicPush push = {
    (guint32) texels (out), in->h, in->w, out->h, out->w,
    (float) in->h / (float) out->h, (float) in->w / (float) out->w,
  };
  PicardVkBindings b = { .storage[2] = out->buffer, .texel[0] = in->buffer,
                         .texel_dtype = in->dtype };
  return dispatch_1d (graph, pipeline, &b, &push, sizeof push, texels (out), error);
}
