/* picard-network-vk.c: the network's Vulkan backend: the weights in device buffers, one graph
 * per (size, chunk) recorded once and replayed. */
#include <string.h>

#include "picard-error.h"
#include "picard-network-private.h"
#include "picard-vk-ops.h"

/* lavapipe cannot allocate one buffer beyond 128 MiB; other devices have their own range. */
#define BUFFER_CAP ((gsize) 128 * 1024 * 1024)
/* The share of device memory one chunk may use, and an absolute ceiling (CPU devices report
 * all of system memory as their heap). */
#define MEMORY_BUDGET_MAX ((gsize) 2 * 1024 * 1024 * 1024)

typedef struct {
  PicardVkWeights *weights;
  PicardVkBuffer *bias;
} VkConv;

/* One recorded graph for (height, width, n, rows, mask_n) with its tensors: x holds the rows
 * distinct inputs (n / rows consecutive samples share one), mask and om 1 or rows. */
typedef struct {
  guint h, w, n, rows, mask_n;
  PicardVkGraph *graph;
  GPtrArray *tensors;   /* owned PicardVkTensor */
  GPtrArray *weights;   /* owned PicardVkWeights */
  GPtrArray *buffers;   /* owned PicardVkBuffer */
  GPtrArray *views;     /* PicardVkTensor structs over scratch buffers (g_free) */
  PicardVkTensor *x, *om, *mask, *xs1, *xs2, *completion, *p6, *att, *att_out;
  PicardVkBuffer *mm;
  PicardVkBuffer **dropout; /* one per active dropout layer */
} Plan;

typedef struct {
  guint n, size;
  PicardVkGraph *graph;
  PicardVkTensor *in, *out[4];
} CriticPlan;

typedef struct {
  PicardVkDevice *device;
  VkConv layers[PICARD_GENERATOR_N_LAYERS];
  VkConv critic[4];
  Plan *plan;
  CriticPlan *critic_plan;
} VkBackend;

#define VK(net) ((VkBackend *) (net)->backend_data)

static void
plan_free (Plan *plan)
{
  if (plan == NULL)
    return;
  picard_vk_graph_free (plan->graph);
  g_ptr_array_unref (plan->tensors);
  g_ptr_array_unref (plan->weights);
  g_ptr_array_unref (plan->buffers);
  g_ptr_array_unref (plan->views);
  g_free (plan->dropout);
  g_free (plan);
}

static void
critic_plan_free (CriticPlan *plan)
{
  if (plan == NULL)
    return;
  picard_vk_graph_free (plan->graph);
  picard_vk_tensor_free (plan->in);
  for (guint i = 0; i < 4; i++)
    picard_vk_tensor_free (plan->out[i]);
  g_free (plan);
}

static void
vk_conv_clear (VkConv *c)
{
  picard_vk_weights_free (c->weights);
  if (c->bias != NULL)
    picard_vk_buffer_free (c->bias);
}

static void
vk_free (PicardNetwork *net)
{
  VkBackend *vk = VK (net);

  plan_free (vk->plan);
  critic_plan_free (vk->critic_plan);
  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    vk_conv_clear (&vk->layers[i]);
  for (guint i = 0; i < 4; i++)
    vk_conv_clear (&vk->critic[i]);
  g_free (vk);
}

static gboolean
vk_conv_upload (PicardVkDevice *device, guint cin, guint cout, guint k, const float *weight,
                const float *bias, VkConv *c, GError **error)
{
  c->weights = picard_vk_weights_new (device, 1, cout, cin, k, PICARD_VK_DTYPE_F32, error);
  if (c->weights == NULL || !picard_vk_weights_upload (c->weights, weight, error))
    return FALSE;
  c->bias = picard_vk_buffer_new (device, cout * sizeof (float), error);
  return c->bias != NULL && picard_vk_buffer_upload (c->bias, 0, bias, cout * sizeof (float),
                                                     error);
}

static void
vk_invalidate (PicardNetwork *net)
{
  g_clear_pointer (&VK (net)->plan, plan_free);
}

static const char *
vk_device_name (PicardNetwork *net)
{
  return picard_vk_device_get_info (VK (net)->device)->name;
}

/* ---- memory planning ------------------------------------------------------------------ */

static gsize
packed (guint c, guint h, guint w)
{
  return (gsize) ((c + 3) / 4) * 4 * h * w;
}

/* Floats per sample: the largest activation of the conv chains (*scratch), the largest single
 * tensor (*largest) and the whole graph (*total, the two scratch buffers included). */
static void
plan_sizes (PicardNetwork *net, guint h, guint w, gsize *scratch, gsize *largest,
            gsize *total)
{
  guint c4 = 4 * net->cnum, d = net->input_dim;
  guint h4 = h / 4, w4 = w / 4, h8 = h / 8, w8 = w / 8, l = h8 * w8;
  gsize s = packed (d + 2, h, w), sizes[16];
  guint n_sizes = 0, ch = h, cw = w;

  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    {
      const PicardNetworkLayer *layer = &net->layers[i];

      if (i == PICARD_FINE_CONV_FIRST || i == PICARD_FINE_PM_FIRST)
        ch = h, cw = w;
      else if (i == PICARD_FINE_PM9 || i == PICARD_FINE_ALL_FIRST)
        ch = h4, cw = w4;
      if (picard_network_layer_upsamples (layer))
        {
          ch *= 2, cw *= 2;
          s = MAX (s, packed (layer->cin, ch, cw));
        }
      /* Padding (k - 1) / 2 * dilation: the output is the input divided by the stride. */
      ch = (ch + layer->info->stride - 1) / layer->info->stride;
      cw = (cw + layer->info->stride - 1) / layer->info->stride;
      s = MAX (s, packed (layer->cout, ch, cw));
    }
  sizes[n_sizes++] = packed (d, h, w) * 7;           /* x, mask, xs1, x1, xs2, completion */
  sizes[n_sizes++] = packed (d + 2, h, w) * 3;       /* om, the two concatenated inputs */
  sizes[n_sizes++] = packed (2 * c4, h4, w4);        /* merge */
  sizes[n_sizes++] = packed (c4, h4, w4) * 2;        /* p6, att_out */
  sizes[n_sizes++] = (gsize) c4 * ((l + 3) / 4) * 4 * 16; /* raw patches */
  sizes[n_sizes++] = packed (c4, h8, w8);            /* pd */
  sizes[n_sizes++] = (gsize) l * ((c4 + 3) / 4) * 4 * 9 * 2; /* matching patches, normalised */
  sizes[n_sizes++] = packed (l, h8, w8) * 4;         /* scores, two fuses, attention */
  *scratch = s;
  *largest = MAX (s, MAX (packed (2 * c4, h4, w4), MAX ((gsize) c4 * ((l + 3) / 4) * 4 * 16,
                                                        packed (l, h8, w8))));
  *largest = MAX (*largest, (gsize) l * ((c4 + 3) / 4) * 4 * 9);
  *total = 2 * s;
  for (guint i = 0; i < n_sizes; i++)
    *total += sizes[i];
}

static gsize
device_budget (PicardNetwork *net, gsize *buffer_cap)
{
  const PicardVkDeviceInfo *info = picard_vk_device_get_info (VK (net)->device);
  VkDeviceSize heap = 0;

  for (guint i = 0; i < info->n_heaps; i++)
    if (info->heap_device_local[i])
      heap = MAX (heap, info->heap_size[i]);
  *buffer_cap = (gsize) MIN ((VkDeviceSize) BUFFER_CAP, info->max_storage_buffer_range);
  return (gsize) MIN ((VkDeviceSize) MEMORY_BUDGET_MAX, heap / 4);
}

static guint
vk_chunk_size (PicardNetwork *net, guint height, guint width)
{
  gsize scratch, largest, total, cap, budget, n;

  plan_sizes (net, height, width, &scratch, &largest, &total);
  budget = device_budget (net, &cap);
  n = MIN (cap / (largest * sizeof (float)), budget / (total * sizeof (float)));
  return (guint) MIN (n, 4096);
}

/* ---- graph ---------------------------------------------------------------------------- */

static PicardVkTensor *
plan_tensor (Plan *plan, PicardNetwork *net, guint n, guint c, guint h, guint w, GError **error)
{
  PicardVkTensor *t = picard_vk_tensor_new (VK (net)->device, n, c, h, w, PICARD_VK_DTYPE_F32, error);

  if (t != NULL)
    g_ptr_array_add (plan->tensors, t);
  return t;
}

static PicardVkWeights *
plan_weights (Plan *plan, PicardNetwork *net, guint n, guint cout, guint cin, guint k,
              GError **error)
{
  PicardVkWeights *w = picard_vk_weights_new (VK (net)->device, n, cout, cin, k, PICARD_VK_DTYPE_F32,
                                              error);

  if (w != NULL)
    g_ptr_array_add (plan->weights, w);
  return w;
}

/* A tensor over one of the scratch buffers. */
static PicardVkTensor *
plan_view (Plan *plan, PicardVkBuffer *buffer, guint n, guint c, guint h, guint w)
{
  PicardVkTensor *t = g_new0 (PicardVkTensor, 1);

  t->buffer = buffer;
  t->n = n, t->c = c, t->h = h, t->w = w;
  t->dtype = PICARD_VK_DTYPE_F32;
  g_ptr_array_add (plan->views, t);
  return t;
}

static gboolean
conv (Plan *plan, PicardNetwork *net, guint index, PicardVkTensor *in, PicardVkTensor *out,
      guint out_c_offset, GError **error)
{
  const PicardNetworkLayer *l = &net->layers[index];
  PicardVkConvParams params = {
    .stride = l->info->stride, .dilation = l->info->dilation,
    .padding = l->info->dilation * (l->info->kernel - 1) / 2,
    .act = l->info->activation == PICARD_ACTIVATION_ELU ? PICARD_VK_ACT_ELU
           : l->info->activation == PICARD_ACTIVATION_RELU ? PICARD_VK_ACT_RELU
           : PICARD_VK_ACT_NONE,
    .alpha = 1.0f, .out_c_offset = out_c_offset,
  };
  PicardVkBuffer *mask = l->dropout_slot >= 0 ? plan->dropout[l->dropout_slot] : NULL;

  return picard_vk_op_conv2d (plan->graph, &params, in, VK (net)->layers[index].weights,
                              VK (net)->layers[index].bias, mask, out, error);
}

/* Runs layers first..last from @in through the scratch buffers; the last writes into @final
 * (at @final_offset) unless it is NULL, in which case the result is returned in *result. */
static gboolean
chain (Plan *plan, PicardNetwork *net, guint first, guint last, PicardVkTensor *in,
       PicardVkBuffer *scratch[2], PicardVkTensor *final, guint final_offset,
       PicardVkTensor **result, GError **error)
{
  PicardVkTensor *cur = in;
  guint turn = 0;

  for (guint i = first; i <= last; i++)
    {
      const PicardNetworkLayer *l = &net->layers[i];
      guint oh, ow;
      PicardVkTensor *out;

      if (picard_network_layer_upsamples (l))
        {
          PicardVkTensor *up = plan_view (plan, scratch[turn], plan->n, cur->c, cur->h * 2,
                                          cur->w * 2);
          turn ^= 1;
          if (!picard_vk_op_upsample_nearest (plan->graph, 2, cur, up, error))
            return FALSE;
          cur = up;
        }
      oh = picard_vk_conv_out_size (cur->h, l->info->kernel, l->info->stride, l->info->dilation,
                                    l->info->dilation * (l->info->kernel - 1) / 2);
      ow = picard_vk_conv_out_size (cur->w, l->info->kernel, l->info->stride, l->info->dilation,
                                    l->info->dilation * (l->info->kernel - 1) / 2);
      if (i == last && final != NULL)
        out = final;
      else
        {
          out = plan_view (plan, scratch[turn], plan->n, l->cout, oh, ow);
          turn ^= 1;
        }
      if (!conv (plan, net, i, cur, out, i == last && final != NULL ? final_offset : 0, error))
        return FALSE;
      cur = out;
    }
  if (result != NULL)
    *result = cur;
  return TRUE;
}

static Plan *
plan_new (PicardNetwork *net, guint h, guint w, guint n, guint rows, guint mask_n,
          GError **error)
{
  Plan *plan = g_new0 (Plan, 1);
  guint d = net->input_dim, c4 = 4 * net->cnum;
  guint h4 = h / 4, w4 = w / 4, h8 = h / 8, w8 = w / 8, l = h8 * w8;
  guint n_drop = net->dropout_names->len - 1;
  gsize scratch_floats, largest, total;
  PicardVkBuffer *scratch[2];
  PicardVkTensor *xin, *x1, *xnow, *merge, *pd, *sc, *f1, *f2;
  PicardVkWeights *raw, *pat, *pn;
  PicardVkConvParams match = { 1, 1, 1, PICARD_VK_ACT_NONE, 0.0f, 0 };

  plan->h = h, plan->w = w, plan->n = n, plan->rows = rows, plan->mask_n = mask_n;
  plan->graph = picard_vk_graph_new (VK (net)->device);
  plan->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_tensor_free);
  plan->weights = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_weights_free);
  plan->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_buffer_free);
  plan->views = g_ptr_array_new_with_free_func (g_free);
  plan->dropout = g_new0 (PicardVkBuffer *, MAX (n_drop, 1));

  plan_sizes (net, h, w, &scratch_floats, &largest, &total);
  for (guint i = 0; i < 2; i++)
    {
      scratch[i] = picard_vk_buffer_new (VK (net)->device, scratch_floats * n * sizeof (float),
                                         error);
      if (scratch[i] == NULL)
        goto fail;
      g_ptr_array_add (plan->buffers, scratch[i]);
    }
  for (guint i = 0; i < n_drop; i++)
    {
      int index = picard_network_find_layer (g_ptr_array_index (net->dropout_names, i));
      plan->dropout[i] = picard_vk_buffer_new (VK (net)->device,
                                               (gsize) n * net->layers[index].cout * sizeof (float),
                                               error);
      if (plan->dropout[i] == NULL)
        goto fail;
      g_ptr_array_add (plan->buffers, plan->dropout[i]);
    }
  plan->mm = picard_vk_buffer_new (VK (net)->device, (gsize) l * sizeof (float), error);
  if (plan->mm == NULL)
    goto fail;
  g_ptr_array_add (plan->buffers, plan->mm);

  if ((plan->x = plan_tensor (plan, net, rows, d, h, w, error)) == NULL
      || (plan->om = plan_tensor (plan, net, mask_n, 2, h, w, error)) == NULL
      || (plan->mask = plan_tensor (plan, net, mask_n, 1, h, w, error)) == NULL
      || (xin = plan_tensor (plan, net, n, d + 2, h, w, error)) == NULL
      || (plan->xs1 = plan_tensor (plan, net, n, d, h, w, error)) == NULL
      || (x1 = plan_tensor (plan, net, n, d, h, w, error)) == NULL
      || (xnow = plan_tensor (plan, net, n, d + 2, h, w, error)) == NULL
      || (merge = plan_tensor (plan, net, n, 2 * c4, h4, w4, error)) == NULL
      || (plan->p6 = plan_tensor (plan, net, n, c4, h4, w4, error)) == NULL
      || (pd = plan_tensor (plan, net, n, c4, h8, w8, error)) == NULL
      || (sc = plan_tensor (plan, net, n, l, h8, w8, error)) == NULL
      || (f1 = plan_tensor (plan, net, n, l, h8, w8, error)) == NULL
      || (f2 = plan_tensor (plan, net, n, l, h8, w8, error)) == NULL
      || (plan->att = plan_tensor (plan, net, n, l, h8, w8, error)) == NULL
      || (plan->att_out = plan_tensor (plan, net, n, c4, h4, w4, error)) == NULL
      || (plan->xs2 = plan_tensor (plan, net, n, d, h, w, error)) == NULL
      || (plan->completion = plan_tensor (plan, net, n, d, h, w, error)) == NULL
      || (raw = plan_weights (plan, net, n, c4, l, 4, error)) == NULL
      || (pat = plan_weights (plan, net, n, l, c4, 3, error)) == NULL
      || (pn = plan_weights (plan, net, n, l, c4, 3, error)) == NULL)
    goto fail;

  /* x, om and mask are read in groups (n / rows samples per row) by the concats and the
   * composes, which expand them on the device.
   * Coarse: concat(x, ones, mask) -> conv1 .. conv17, clamp. */
  if (!picard_vk_op_concat (plan->graph, plan->x, plan->om, xin, error)
      || !chain (plan, net, PICARD_COARSE_FIRST, PICARD_COARSE_LAST, xin, scratch, plan->xs1, 0, NULL, error)
      || !picard_vk_op_clamp (plan->graph, -1.0f, 1.0f, plan->xs1, plan->xs1, error)
      /* Fine input: x_stage1 in the hole, x outside. */
      || !picard_vk_op_compose (plan->graph, plan->xs1, plan->x, plan->mask, x1, error)
      || !picard_vk_op_concat (plan->graph, x1, plan->om, xnow, error)
      /* The convolution branch ends in the first half of the merge tensor... */
      || !chain (plan, net, PICARD_FINE_CONV_FIRST, PICARD_FINE_CONV_LAST, xnow, scratch, merge, 0, NULL,
                 error)
      /* ...the attention branch in the second. */
      || !chain (plan, net, PICARD_FINE_PM_FIRST, PICARD_FINE_PM6, xnow, scratch, plan->p6, 0, NULL, error)
      || !picard_vk_op_extract_patches (plan->graph, 4, 2, 1, TRUE, plan->p6, raw, error)
      || !picard_vk_op_downsample_nearest (plan->graph, 2, plan->p6, pd, error)
      || !picard_vk_op_extract_patches (plan->graph, 3, 1, 1, FALSE, pd, pat, error)
      || !picard_vk_op_patch_normalize (plan->graph, PICARD_NETWORK_ATTENTION_EPS, pat, pn, error)
      || !picard_vk_op_conv2d (plan->graph, &match, pd, pn, NULL, NULL, sc, error)
      || !picard_vk_op_fuse (plan->graph, h8, w8, FALSE, sc, f1, error)
      || !picard_vk_op_fuse (plan->graph, h8, w8, TRUE, f1, f2, error)
      || !picard_vk_op_softmax (plan->graph, PICARD_NETWORK_SOFTMAX_SCALE, plan->mm, f2, plan->att, error)
      || !picard_vk_op_conv_transpose2d (plan->graph, 2, 1, 0.25f, plan->att, raw,
                                         plan->att_out, error)
      || !chain (plan, net, PICARD_FINE_PM9, PICARD_FINE_PM10, plan->att_out, scratch, merge, c4, NULL,
                 error)
      || !chain (plan, net, PICARD_FINE_ALL_FIRST, PICARD_FINE_ALL_LAST, merge, scratch, plan->xs2, 0, NULL,
                 error)
      || !picard_vk_op_clamp (plan->graph, -1.0f, 1.0f, plan->xs2, plan->xs2, error)
      || !picard_vk_op_compose (plan->graph, plan->xs2, plan->x, plan->mask, plan->completion,
                                error))
    goto fail;
  return plan;

fail:
  plan_free (plan);
  return NULL;
}

static CriticPlan *
critic_plan_new (PicardNetwork *net, guint n, guint size, GError **error)
{
  CriticPlan *plan = g_new0 (CriticPlan, 1);
  PicardVkTensor *cur;
  guint s = size;

  plan->n = n, plan->size = size;
  plan->graph = picard_vk_graph_new (VK (net)->device);
  plan->in = picard_vk_tensor_new (VK (net)->device, n, net->input_dim, size, size,
                                   PICARD_VK_DTYPE_F32, error);
  if (plan->in == NULL)
    goto fail;
  cur = plan->in;
  for (guint i = 0; i < 4; i++)
    {
      PicardVkConvParams params = { 2, 1, 2, PICARD_VK_ACT_LEAKY_RELU, PICARD_NETWORK_LEAKY_SLOPE, 0 };

      s = picard_vk_conv_out_size (s, 5, 2, 1, 2);
      plan->out[i] = picard_vk_tensor_new (VK (net)->device, n, net->critic[i].cout, s, s,
                                           PICARD_VK_DTYPE_F32, error);
      if (plan->out[i] == NULL
          || !picard_vk_op_conv2d (plan->graph, &params, cur, VK (net)->critic[i].weights,
                                   VK (net)->critic[i].bias, NULL, plan->out[i], error))
        goto fail;
      cur = plan->out[i];
    }
  return plan;

fail:
  critic_plan_free (plan);
  return NULL;
}

static gboolean
vk_critic (PicardNetwork *net, guint n, guint size, const float *crops, float *features,
           GError **error)
{
  VkBackend *vk = VK (net);
  guint f = picard_network_get_feature_length (net, size), chunk;
  gsize crop_len = (gsize) net->input_dim * size * size, per_sample;
  const PicardVkDeviceInfo *info = picard_vk_device_get_info (vk->device);
  g_autofree float *buf = NULL, *feat = NULL;

  /* The first layer's output is the largest tensor. */
  per_sample = packed (net->ndf, size / 2, size / 2) * sizeof (float);
  chunk = (guint) MIN ((gsize) n, MAX ((gsize) 1, MIN (BUFFER_CAP,
                                                       info->max_storage_buffer_range)
                                                  / per_sample));
  chunk = MIN (chunk, 256);
  if (vk->critic_plan == NULL || vk->critic_plan->n != chunk || vk->critic_plan->size != size)
    {
      g_clear_pointer (&vk->critic_plan, critic_plan_free);
      vk->critic_plan = critic_plan_new (net, chunk, size, error);
      if (vk->critic_plan == NULL)
        return FALSE;
    }
  buf = g_new (float, crop_len * chunk);
  feat = g_new (float, (gsize) f * chunk);
  for (guint start = 0; start < n; start += chunk)
    {
      guint valid = MIN (chunk, n - start);

      /* A short last chunk repeats its last crop: the graph keeps its batch size. */
      for (guint i = 0; i < chunk; i++)
        memcpy (buf + (gsize) i * crop_len,
                crops + (gsize) (start + MIN (i, valid - 1)) * crop_len,
                crop_len * sizeof (float));
      if (!picard_vk_tensor_upload (vk->critic_plan->in, buf, error)
          || !picard_vk_graph_run (vk->critic_plan->graph, error)
          || !picard_vk_tensor_download (vk->critic_plan->out[3], feat, error))
        return FALSE;
      memcpy (features + (gsize) start * f, feat, (gsize) valid * f * sizeof (float));
    }
  return TRUE;
}

/* ---- running a chunk ------------------------------------------------------------------ */

static gboolean
download (PicardVkTensor *tensor, float *dest, gsize floats, GError **error)
{
  g_autofree float *tmp = NULL;

  if (dest == NULL)
    return TRUE;
  if (floats == (gsize) tensor->n * tensor->c * tensor->h * tensor->w)
    return picard_vk_tensor_download (tensor, dest, error);
  tmp = g_new (float, (gsize) tensor->n * tensor->c * tensor->h * tensor->w);
  if (!picard_vk_tensor_download (tensor, tmp, error))
    return FALSE;
  memcpy (dest, tmp, floats * sizeof (float));
  return TRUE;
}

static gboolean
vk_run (PicardNetwork *net, const PicardNetworkChunk *c, GError **error)
{
  VkBackend *vk = VK (net);
  guint chunk = c->capacity, rows = chunk / c->repeat, mask_n = c->mask_n == 1 ? 1 : rows;
  guint valid_rows = c->n / c->repeat, n_drop = net->dropout_names->len - 1;
  gsize plane = (gsize) c->height * c->width, sample = plane * net->input_dim;
  gsize feat_plane = (gsize) 4 * net->cnum * (c->height / 4) * (c->width / 4);
  gsize mm_len = (gsize) (c->height / 8) * (c->width / 8);
  g_autofree float *xbuf = NULL, *mbuf = NULL, *ombuf = NULL, *dbuf = NULL;
  const float *x = c->x, *mask = c->mask, *ones_mask = c->ones_mask;

  if (vk->plan == NULL || vk->plan->h != c->height || vk->plan->w != c->width
      || vk->plan->n != chunk || vk->plan->rows != rows || vk->plan->mask_n != mask_n)
    {
      g_clear_pointer (&vk->plan, plan_free);
      vk->plan = plan_new (net, c->height, c->width, chunk, rows, mask_n, error);
      if (vk->plan == NULL)
        return FALSE;
    }
  /* Only the distinct rows travel: a full chunk's as they are; a short chunk repeats its last
   * row (and sample), so that the graph keeps its batch size. */
  if (valid_rows < rows)
    {
      x = xbuf = g_new (float, sample * rows);
      mask = mbuf = g_new (float, plane * mask_n);
      ones_mask = ombuf = g_new (float, plane * 2 * mask_n);
      for (guint i = 0; i < rows; i++)
        {
          guint src = MIN (i, valid_rows - 1);

          memcpy (xbuf + i * sample, c->x + src * sample, sample * sizeof (float));
          if (i < mask_n)
            {
              guint msrc = c->mask_n == 1 ? 0 : src;

              memcpy (mbuf + i * plane, c->mask + msrc * plane, plane * sizeof (float));
              memcpy (ombuf + i * 2 * plane, c->ones_mask + msrc * 2 * plane,
                      2 * plane * sizeof (float));
            }
        }
    }
  if (!picard_vk_tensor_upload (vk->plan->x, x, error)
      || !picard_vk_tensor_upload (vk->plan->mask, mask, error)
      || !picard_vk_tensor_upload (vk->plan->om, ones_mask, error)
      || !picard_vk_buffer_upload (vk->plan->mm, 0, c->mm, mm_len * sizeof (float), error))
    return FALSE;
  for (guint k = 0; k < n_drop; k++)
    {
      int index = picard_network_find_layer (g_ptr_array_index (net->dropout_names, k));
      gsize channels = net->layers[index].cout;

      dbuf = g_renew (float, dbuf, chunk * channels);
      for (guint i = 0; i < chunk; i++)
        memcpy (dbuf + i * channels, c->dropout[k] + MIN (i, c->n - 1) * channels,
                channels * sizeof (float));
      if (!picard_vk_buffer_upload (vk->plan->dropout[k], 0, dbuf,
                                    chunk * channels * sizeof (float), error))
        return FALSE;
    }
  return picard_vk_graph_run (vk->plan->graph, error)
         && download (vk->plan->xs1, c->x_stage1, c->n * sample, error)
         && download (vk->plan->xs2, c->x_stage2, c->n * sample, error)
         && download (vk->plan->completion, c->completion, c->n * sample, error)
         && download (vk->plan->att_out, c->attention, c->n * feat_plane, error)
         && download (vk->plan->p6, c->pmconv6, c->n * feat_plane, error)
         && download (vk->plan->att, c->scores, c->n * mm_len * mm_len, error);
}

static const PicardNetworkBackend vk_backend = {
  .name = "vulkan",
  .free = vk_free,
  .device_name = vk_device_name,
  .chunk_size = vk_chunk_size,
  .invalidate = vk_invalidate,
  .run = vk_run,
  .critic = vk_critic,
};

gboolean
picard_network_vk_attach (PicardNetwork *net, PicardVkDevice *device, GError **error)
{
  VkBackend *vk = g_new0 (VkBackend, 1);

  vk->device = device;
  net->backend = &vk_backend;
  net->backend_data = vk;
  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    {
      const PicardNetworkLayer *l = &net->layers[i];

      if (!vk_conv_upload (device, l->cin, l->cout, l->info->kernel, l->weight, l->bias,
                           &vk->layers[i], error))
        return FALSE;
    }
  for (guint i = 0; i < 4 && net->ndf > 0; i++)
    if (!vk_conv_upload (device, net->critic[i].cin, net->critic[i].cout, 5,
                         net->critic[i].weight, net->critic[i].bias, &vk->critic[i], error))
      return FALSE;
  return TRUE;
}

PicardVkDevice *
picard_network_vk_get_device (PicardNetwork *net)
{
  return net->backend == &vk_backend ? VK (net)->device : NULL;
}
