/* picard-vk-ops.c: tensors, weights and the convolution (the other ops are in
 * picard-vk-ops-misc.c). */
#include "picard-vk-ops.h"

#include <string.h>

#include "picard-error.h"
#include "picard-ref.h"
#include "picard-vk-private.h"
#include "picard-vk-ops-private.h"

gsize
picard_vk_dtype_size (PicardVkDtype dtype)
{
  return dtype == PICARD_VK_DTYPE_F16 ? 2 : 4;
}

gboolean
picard_vk_ops_check_dtype (PicardVkDevice *device, PicardVkDtype dtype, GError **error)
{
  if (dtype == PICARD_VK_DTYPE_F32)
    return TRUE;
  if (dtype == PICARD_VK_DTYPE_F16 && picard_vk_device_has_fp16 (device))
    return TRUE;
  if (dtype == PICARD_VK_DTYPE_F16)
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                 "fp16 tensors need shaderFloat16 and 16-bit storage, which '%s' lacks or "
                 "PICARD_VK_DISABLE switched off: use fp32",
                 picard_vk_device_get_info (device)->name);
  else
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT, "Unknown tensor type %d",
                 (int) dtype);
  return FALSE;
}

PicardVkPipeline *
picard_vk_ops_pipeline (PicardVkDevice *device, const char *shader, PicardVkDtype dtype,
                        gboolean typed, const guint32 *spec, guint n_spec, GError **error)
{
  g_autofree char *name = typed ? g_strdup_printf ("%s-%s", shader,
                                                   dtype == PICARD_VK_DTYPE_F16 ? "f16" : "f32")
                                : g_strdup (shader);
  return picard_vk_pipeline_get (device, name, spec, n_spec, error);
}

static gboolean
check_size (gsize elements, gsize element_size, GError **error)
{
  if (elements == 0 || elements > G_MAXSIZE / element_size / 2 || elements > G_MAXUINT32)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "A tensor of %" G_GSIZE_FORMAT " elements is empty or too large", elements);
      return FALSE;
    }
  return TRUE;
}

PicardVkTensor *
picard_vk_tensor_new (PicardVkDevice *device, guint n, guint c, guint h, guint w,
                      PicardVkDtype dtype, GError **error)
{
  g_return_val_if_fail (device != NULL, NULL);

  if (!picard_vk_ops_check_dtype (device, dtype, error))
    return NULL;
  if (n == 0 || c == 0 || h == 0 || w == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A tensor of %u x %u x %u x %u is empty", n, c, h, w);
      return NULL;
    }
  PicardVkTensor tmp = { NULL, n, c, h, w, dtype };
  gsize count = 0;
  if (!g_size_checked_mul (&count, n, (c + 3) / 4) || !g_size_checked_mul (&count, count, h)
      || !g_size_checked_mul (&count, count, w) || !g_size_checked_mul (&count, count, 4))
    count = G_MAXSIZE;  /* rejected below */
  if (!check_size (count, picard_vk_dtype_size (dtype), error))
    return NULL;
  PicardVkBuffer *buffer = picard_vk_buffer_new (device, count * picard_vk_dtype_size (dtype),
                                                 error);
  if (buffer == NULL)
    return NULL;
  PicardVkTensor *t = g_new (PicardVkTensor, 1);
  *t = tmp;
  t->buffer = buffer;
  return t;
}

void
picard_vk_tensor_free (PicardVkTensor *tensor)
{
  if (tensor == NULL)
    return;
  picard_vk_buffer_free (tensor->buffer);
  g_free (tensor);
}

gsize
picard_vk_tensor_packed_count (const PicardVkTensor *t)
{
  g_return_val_if_fail (t != NULL, 0);
  /* Computed in 64 bits: callers check the result against the limits. */
  return (gsize) t->n * ((t->c + 3) / 4) * t->h * t->w * 4;
}

static inline void
put (void *dst, gsize i, float v, PicardVkDtype dtype)
{
  if (dtype == PICARD_VK_DTYPE_F16)
    ((guint16 *) dst)[i] = picard_half_from_float (v);
  else
    ((float *) dst)[i] = v;
}

static inline float
get (const void *src, gsize i, PicardVkDtype dtype)
{
  if (dtype == PICARD_VK_DTYPE_F16)
    return picard_half_to_float (((const guint16 *) src)[i]);
  return ((const float *) src)[i];
}

/* One block of four channels as texels, @real of them from @planes and the rest zeros; inlined
 * per count so that the pixel loop has no branch (a discrete GPU's staging memory is
 * write-combined: whole texels in order). */
static inline void
pack_block_f32 (float *out, const float *const planes[4], guint real, gsize hw)
{
  for (gsize p = 0; p < hw; p++)
    for (guint j = 0; j < 4; j++)
      out[p * 4 + j] = j < real ? planes[j][p] : 0.0f;
}

gboolean
picard_vk_tensor_upload (PicardVkTensor *t, const float *nchw, GError **error)
{
  g_return_val_if_fail (t != NULL && nchw != NULL, FALSE);

  const gsize count = picard_vk_tensor_packed_count (t);
  const gsize bytes = count * picard_vk_dtype_size (t->dtype);
  const gsize hw = (gsize) t->h * t->w;
  const guint c4 = (t->c + 3) / 4;
  void *dst = picard_vk_buffer_begin_write (t->buffer, bytes, error);

  if (dst == NULL)
    return FALSE;
  for (guint n = 0; n < t->n; n++)
    for (guint b = 0; b < c4; b++)
      {
        const gsize block = ((gsize) n * c4 + b) * hw * 4;
        const guint real = MIN (t->c - b * 4, 4);
        const float *planes[4] = { NULL };

        for (guint j = 0; j < real; j++)
          planes[j] = nchw + ((gsize) n * t->c + b * 4 + j) * hw;
        if (t->dtype == PICARD_VK_DTYPE_F16)
          for (gsize p = 0; p < hw; p++)
            for (guint j = 0; j < 4; j++)
              ((guint16 *) dst)[block + p * 4 + j]
                = picard_half_from_float (j < real ? planes[j][p] : 0.0f);
        else if (real == 4)
          pack_block_f32 ((float *) dst + block, planes, 4, hw);
        else if (real == 3)
          pack_block_f32 ((float *) dst + block, planes, 3, hw);
        else if (real == 2)
          pack_block_f32 ((float *) dst + block, planes, 2, hw);
        else
          pack_block_f32 ((float *) dst + block, planes, 1, hw);
      }
  return picard_vk_buffer_end_write (t->buffer, 0, bytes, error);
}

gboolean
picard_vk_tensor_download (PicardVkTensor *t, float *nchw, GError **error)
{
  g_return_val_if_fail (t != NULL && nchw != NULL, FALSE);

  const gsize bytes = picard_vk_tensor_packed_count (t) * picard_vk_dtype_size (t->dtype);
  const gsize hw = (gsize) t->h * t->w;
  const guint c4 = (t->c + 3) / 4;
  const void *src = picard_vk_buffer_begin_read (t->buffer, bytes, error);

  if (src == NULL)
    return FALSE;
  for (guint n = 0; n < t->n; n++)
    for (guint c = 0; c < t->c; c++)
      {
        const gsize texels = (((gsize) n * c4 + c / 4) * hw) * 4 + c % 4;
        float *plane = nchw + ((gsize) n * t->c + c) * hw;

        if (t->dtype == PICARD_VK_DTYPE_F16)
          for (gsize p = 0; p < hw; p++)
            plane[p] = picard_half_to_float (((const guint16 *) src)[texels + p * 4]);
        else
          for (gsize p = 0; p < hw; p++)
            plane[p] = ((const float *) src)[texels + p * 4];
      }
  picard_vk_buffer_end_read (t->buffer);
  return TRUE;
}

gsize
picard_vk_weights_packed_count (guint n, guint cout, guint cin, guint k)
{
  return (gsize) n * cout * ((cin + 3) / 4) * k * k * 4;
}

PicardVkWeights *
picard_vk_weights_new (PicardVkDevice *device, guint n, guint cout, guint cin, guint k,
                       PicardVkDtype dtype, GError **error)
{
  g_return_val_if_fail (device != NULL, NULL);

  if (!picard_vk_ops_check_dtype (device, dtype, error))
    return NULL;
  if (n == 0 || cout == 0 || cin == 0 || k == 0 || k > 64 || n > 65536 || cout > 65536
      || cin > 65536)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Convolution weights of %u x %u x %u x %u x %u are not supported",
                   n, cout, cin, k, k);
      return NULL;
    }
  gsize count = picard_vk_weights_packed_count (n, cout, cin, k);
  if (!check_size (count, picard_vk_dtype_size (dtype), error))
    return NULL;
  PicardVkBuffer *buffer = picard_vk_buffer_new (device, count * picard_vk_dtype_size (dtype),
                                                 error);
  if (buffer == NULL)
    return NULL;
  PicardVkWeights *wt = g_new (PicardVkWeights, 1);
  *wt = (PicardVkWeights) { buffer, n, cout, cin, k, dtype };
  return wt;
}

void
picard_vk_weights_free (PicardVkWeights *weights)
{
  if (weights == NULL)
    return;
  picard_vk_buffer_free (weights->buffer);
  g_free (weights);
}

gboolean
picard_vk_weights_upload (PicardVkWeights *wt, const float *oihw, GError **error)
{
  g_return_val_if_fail (wt != NULL && oihw != NULL, FALSE);

  const gsize count = picard_vk_weights_packed_count (wt->n, wt->cout, wt->cin, wt->k);
  const gsize bytes = count * picard_vk_dtype_size (wt->dtype);
  const guint kk = wt->k * wt->k, c4 = (wt->cin + 3) / 4;
  void *dst = picard_vk_buffer_begin_write (wt->buffer, bytes, error);

  if (dst == NULL)
    return FALSE;
  for (guint n = 0; n < wt->n; n++)
    for (guint o = 0; o < wt->cout; o++)
      for (guint b = 0; b < c4; b++)
        for (guint t = 0; t < kk; t++)
          for (guint j = 0; j < 4; j++)
            {
              guint i = b * 4 + j;
              float v = i < wt->cin
                        ? oihw[(((gsize) n * wt->cout + o) * wt->cin + i) * kk + t] : 0.0f;
              put (dst, ((((gsize) n * wt->cout + o) * c4 + b) * kk + t) * 4 + j, v, wt->dtype);
            }
  return picard_vk_buffer_end_write (wt->buffer, 0, bytes, error);
}

gboolean
picard_vk_weights_download (PicardVkWeights *wt, float *oihw, GError **error)
{
  g_return_val_if_fail (wt != NULL && oihw != NULL, FALSE);

  const gsize count = picard_vk_weights_packed_count (wt->n, wt->cout, wt->cin, wt->k);
  const gsize bytes = count * picard_vk_dtype_size (wt->dtype);
  const guint kk = wt->k * wt->k, c4 = (wt->cin + 3) / 4;
  const void *src = picard_vk_buffer_begin_read (wt->buffer, bytes, error);

  if (src == NULL)
    return FALSE;
  for (guint n = 0; n < wt->n; n++)
    for (guint o = 0; o < wt->cout; o++)
      for (guint i = 0; i < wt->cin; i++)
        for (guint t = 0; t < kk; t++)
          oihw[(((gsize) n * wt->cout + o) * wt->cin + i) * kk + t]
            = get (src, ((((gsize) n * wt->cout + o) * c4 + i / 4) * kk + t) * 4 + i % 4,
                   wt->dtype);
  picard_vk_buffer_end_read (wt->buffer);
  return TRUE;
}

guint
picard_vk_conv_out_size (guint size, guint k, guint stride, guint dilation, guint padding)
{
  guint64 span = (guint64) (k - 1) * dilation + 1;
  guint64 padded = (guint64) size + 2 * (guint64) padding;

  if (k == 0 || stride == 0 || dilation == 0 || padded < span)
    return 0;
  return (guint) ((padded - span) / stride + 1);
}

static void
conv_tile (PicardVkDevice *device, guint cout, guint32 tile[PICARD_VK_CONV_TILE_FIELDS])
{
  /* BM output channels x BN pixels per workgroup, each invocation TM x TN of them, BK
   * (channel block, tap) columns staged per step in one or two shared-memory stages: the
   * outputs' channels fill BM, and narrower layers trade channels for pixels. Measured on an
   * H200 with tests/bench-conv-tiles.sh (BENCHMARKS.md). */
  static const guint32 tiles[][1 + PICARD_VK_CONV_TILE_FIELDS] = {
    /* up to cout: BM, BN, BK, TM, TN, stages */
    { 4, 4, 128, 4, 4, 4, 1 },
    { 16, 16, 256, 8, 4, 8, 1 },
    { 32, 32, 256, 4, 8, 8, 2 },
    { 64, 64, 128, 8, 8, 8, 1 },
    { G_MAXUINT32, 128, 128, 8, 8, 8, 1 },
  };
  guint i = 0;

  if (device->n_conv_tiles > 0)
    {
      while (i + 1 < device->n_conv_tiles && cout > device->conv_tiles[i][0])
        i++;
      memcpy (tile, device->conv_tiles[i], sizeof device->conv_tiles[i]);
      return;
    }
  while (cout > tiles[i][0])
    i++;
  memcpy (tile, tiles[i] + 1, PICARD_VK_CONV_TILE_FIELDS * sizeof *tile);
  /* Smaller devices (Vulkan promises only 128 invocations and 16 KiB of shared memory): fewer
   * pixels per workgroup, then one stage, then fewer columns per step. */
  while (!picard_vk_device_conv_tile_fits (device, tile))
    if (tile[1] / tile[4] * (tile[0] / tile[3]) > device->info->max_workgroup_invocations
        && tile[1] > tile[4])
      tile[1] /= 2;
    else if (tile[5] > 1)
      tile[5] = 1;
    else if (tile[2] > 1)
      tile[2] /= 2;
    else
      break;  /* below Vulkan's minimum limits: pipeline creation reports it */
}

/* The specialization constants of shaders/conv2d-coopmat.comp for a layer of @cout output
 * channels and a @k x @k kernel, or FALSE where the device has no cooperative matrices (or
 * its subgroups make the workgroup too large). */
static gboolean
coopmat_tile (PicardVkDevice *device, guint cout, guint k, guint32 spec[10])
{
  /* Subgroups as WARPS_M x WARPS_N, each 64 x 32 outputs at most: channels fill TILE_M,
   * narrower layers take more pixels. */
  static const guint32 tiles[][5] = {
    /* up to cout: TILE_M, TILE_N, WARPS_M, WARPS_N */
    { 16, 16, 256, 1, 8 },
    { 32, 32, 256, 1, 8 },
    { 64, 64, 128, 2, 4 },
    { G_MAXUINT32, 128, 128, 2, 4 },
  };
  const PicardVkDeviceInfo *info = device->info;
  const guint32 *shape = info->coopmat_shape;
  guint i = 0;

  if (!device->coopmat)
    return FALSE;
  while (cout > tiles[i][0])
    i++;
  const guint32 warps_m = tiles[i][3], warps_n = tiles[i][4];
  const guint32 tile_m = MAX (tiles[i][1], shape[0] * warps_m);
  const guint32 tile_n = MAX (tiles[i][2], shape[1] * warps_n);
  const guint32 tile_k = MAX (32, shape[2]);
  const guint32 threads = warps_m * warps_n * info->subgroup_size;
  const guint64 shared = (guint64) (tile_m + tile_n) * (tile_k / 4 + 2) * 8
                         + (guint64) warps_m * warps_n * shape[0] * shape[1] * 4;
  if (threads > info->max_workgroup_invocations || threads > info->max_workgroup_size[0]
      || shared > info->max_shared_memory || (tile_m / warps_m) % shape[0] != 0
      || (tile_n / warps_n) % shape[1] != 0 || tile_k % shape[2] != 0)
    return FALSE;
  const guint32 values[10] = { shape[0], shape[1], shape[2], tile_m, tile_n, tile_k,
                               warps_m, warps_n, threads, k };
  memcpy (spec, values, sizeof values);
  return TRUE;
}

/* Mirrors the push constant block of the convolution shaders (shaders/conv2d-common.glsl). */
typedef struct {
  guint32 n, cin4, h, w;
  guint32 cout, cout4_total, cout4_offset, oh;
  guint32 ow, k, stride, dil;
  gint32 pad;
  guint32 act;
  float alpha;
  guint32 has_bias;
  guint32 has_mask, w_batch_stride;
} PicardVkConvPush;
G_STATIC_ASSERT (sizeof (PicardVkConvPush) == 72);
G_STATIC_ASSERT (sizeof (PicardVkConvPush) <= PICARD_VK_PUSH_CONSTANT_SIZE);

/* One dispatch of conv2d-tiled.comp (@shader: its plain or its transposed variant) with the
 * tile for @push's output channels: @taps per kernel axis, @npix pixels per workgroup layer,
 * @layers layers. */
static gboolean
tiled_dispatch (PicardVkGraph *graph, const char *shader, PicardVkDtype dtype,
                const PicardVkBindings *b, const PicardVkConvPush *push, guint taps, guint npix,
                guint layers, GError **error)
{
  PicardVkDevice *device = picard_vk_graph_get_device (graph);
  guint32 tile[PICARD_VK_CONV_TILE_FIELDS];

  conv_tile (device, push->cout, tile);
  const guint32 spec[9] = { tile[0], tile[1], tile[2], tile[3], tile[4],
                            tile[1] / tile[4], tile[0] / tile[3], taps, tile[5] };
  PicardVkPipeline *pipeline = picard_vk_ops_pipeline (device, shader, dtype, TRUE, spec, 9,
                                                       error);
  return pipeline != NULL
         && picard_vk_graph_dispatch (graph, pipeline, b, push, sizeof *push,
                                      (npix + tile[1] - 1) / tile[1],
                                      (push->cout + tile[0] - 1) / tile[0], layers, error);
}

gboolean
picard_vk_op_conv2d (PicardVkGraph *graph, const PicardVkConvParams *p, PicardVkTensor *in,
                     PicardVkWeights *wt, PicardVkBuffer *bias, PicardVkBuffer *mask,
                     PicardVkTensor *out, GError **error)
{
  g_return_val_if_fail (graph != NULL && p != NULL && in != NULL && wt != NULL && out != NULL,
                        FALSE);

  PicardVkDevice *device = picard_vk_graph_get_device (graph);
  const guint oh = picard_vk_conv_out_size (in->h, wt->k, p->stride, p->dilation, p->padding);
  const guint ow = picard_vk_conv_out_size (in->w, wt->k, p->stride, p->dilation, p->padding);

  if (oh == 0 || ow == 0 || p->act > PICARD_VK_ACT_LEAKY_RELU)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "conv2d: a %ux%u kernel (stride %u, dilation %u, padding %u) does not fit "
                   "a %ux%u input, or the activation is unknown", wt->k, wt->k, p->stride,
                   p->dilation, p->padding, in->h, in->w);
      return FALSE;
    }
  if (wt->cin != in->c || (wt->n != 1 && wt->n != in->n) || out->n != in->n || out->h != oh
      || out->w != ow || p->out_c_offset % 4 != 0 || p->out_c_offset + wt->cout > out->c
      /* The result's last channel block must not be shared with other channels. */
      || ((p->out_c_offset + wt->cout) % 4 != 0 && p->out_c_offset + wt->cout != out->c)
      || in->dtype != wt->dtype || in->dtype != out->dtype)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "conv2d: shapes do not match: input %ux%ux%ux%u, weights %ux%ux%ux%u "
                   "(%u sets), output %ux%ux%ux%u at channel %u (expected %ux%u)",
                   in->n, in->c, in->h, in->w, wt->cout, wt->cin, wt->k, wt->k, wt->n,
                   out->n, out->c, out->h, out->w, p->out_c_offset, oh, ow);
      return FALSE;
    }
  if ((bias != NULL && picard_vk_buffer_get_size (bias) < wt->cout * sizeof (float))
      || (mask != NULL
          && picard_vk_buffer_get_size (mask) < (gsize) in->n * wt->cout * sizeof (float)))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "conv2d: the bias or dropout mask buffer is too small");
      return FALSE;
    }
  if (p->stride > 64 || p->dilation > 64 || p->padding > 256)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "conv2d: stride %u, dilation %u or padding %u is out of range",
                   p->stride, p->dilation, p->padding);
      return FALSE;
    }

  const guint kk = wt->k * wt->k, cin4 = (in->c + 3) / 4;
  PicardVkConvPush push = {
    .n = in->n, .cin4 = cin4, .h = in->h, .w = in->w,
    .cout = wt->cout, .cout4_total = (out->c + 3) / 4, .cout4_offset = p->out_c_offset / 4,
    .oh = oh, .ow = ow, .k = wt->k, .stride = p->stride, .dil = p->dilation,
    .pad = (gint32) p->padding, .act = p->act, .alpha = p->alpha,
    .has_bias = bias != NULL, .has_mask = mask != NULL,
    .w_batch_stride = wt->n == 1 ? 0 : wt->cout * cin4 * kk,
  };
  const guint npix = oh * ow;
  PicardVkBindings b = { .texel_dtype = in->dtype };

  if (picard_vk_device_get_conv_algo (device) == PICARD_VK_CONV_DIRECT)
    {
      /* Tile sizes measured on lavapipe (see BENCHMARKS.md). Outputs of up to 4 channels
       * (the last layers) get narrow tiles, inputs of up to 4 (the first) no channel loop;
       * few variants, as LLVM takes seconds to compile each. */
      const guint32 tco = wt->cout <= 4 ? 4 : 16, tpx = 16, wg = 8;
      const guint32 spec[4] = { wg, tco, tpx, cin4 == 1 };
      PicardVkPipeline *pipeline = picard_vk_ops_pipeline (device, "conv2d-direct", in->dtype,
                                                           TRUE, spec, 4, error);
      if (pipeline == NULL)
        return FALSE;
      b.storage[0] = bias;
      b.storage[1] = mask;
      b.storage[2] = out->buffer;
      b.texel[0] = in->buffer;
      b.texel[1] = wt->buffer;
      return picard_vk_graph_dispatch (graph, pipeline, &b, &push, sizeof push,
                                       (npix + wg * tpx - 1) / (wg * tpx),
                                       (wt->cout + tco - 1) / tco, in->n, error);
    }

  b.storage[0] = bias;
  b.storage[1] = mask;
  b.storage[2] = out->buffer;
  b.storage[3] = in->buffer;
  b.storage[4] = wt->buffer;
  guint32 coopmat_spec[10];
  if (in->dtype == PICARD_VK_DTYPE_F16 && coopmat_tile (device, wt->cout, wt->k, coopmat_spec))
    {
      PicardVkPipeline *pipeline = picard_vk_ops_pipeline (device, "conv2d-coopmat", in->dtype,
                                                           TRUE, coopmat_spec, 10, error);
      return pipeline != NULL
             && picard_vk_graph_dispatch (graph, pipeline, &b, &push, sizeof push,
                                          (npix + coopmat_spec[4] - 1) / coopmat_spec[4],
                                          (wt->cout + coopmat_spec[3] - 1) / coopmat_spec[3],
                                          in->n, error);
    }

  return tiled_dispatch (graph, "conv2d-tiled", in->dtype, &b, &push, wt->k, npix, in->n,
                         error);
}

gboolean
picard_vk_ops_conv_transpose_tiled (PicardVkGraph *graph, guint stride, guint padding,
                                    float scale, PicardVkTensor *in, PicardVkWeights *wt,
                                    PicardVkTensor *out, GError **error)
{
  const guint cin4 = (in->c + 3) / 4, taps = (wt->k + stride - 1) / stride;
  const guint gh = (out->h + stride - 1) / stride, gw = (out->w + stride - 1) / stride;
  PicardVkConvPush push = {
    .n = in->n, .cin4 = cin4, .h = in->h, .w = in->w,
    .cout = wt->cout, .cout4_total = (out->c + 3) / 4, .cout4_offset = 0,
    .oh = out->h, .ow = out->w, .k = wt->k, .stride = stride, .dil = 1,
    .pad = (gint32) padding, .act = PICARD_VK_ACT_NONE, .alpha = scale,
    .w_batch_stride = wt->n == 1 ? 0 : wt->cout * cin4 * wt->k * wt->k,
  };
  PicardVkBindings b = { .texel_dtype = in->dtype };

  b.storage[2] = out->buffer;
  b.storage[3] = in->buffer;
  b.storage[4] = wt->buffer;
  /* The phases of a sample are consecutive workgroup layers; the largest phase's pixels
   * bound every layer's columns. */
  return tiled_dispatch (graph, "conv-transpose-tiled", in->dtype, &b, &push, taps, gh * gw,
                         in->n * stride * stride, error);
}
