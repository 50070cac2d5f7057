/* picard-network.c: the DeepFill v1 generator and the local critic as Vulkan graphs. */
#include "picard-network.h"

#include <math.h>
#include <string.h>

#include "picard-checkpoint.h"
#include "picard-error.h"
#include "picard-ref.h"
#include "picard-vk-ops.h"

/* lavapipe cannot allocate one buffer beyond 128 MiB; other devices have their own range. */
#define BUFFER_CAP ((gsize) 128 * 1024 * 1024)
/* The share of device memory one chunk may use, and an absolute ceiling (CPU devices report
 * all of system memory as their heap). */
#define MEMORY_BUDGET_MAX ((gsize) 2 * 1024 * 1024 * 1024)
#define ATTENTION_EPS 1e-4f
#define SOFTMAX_SCALE 10.0f
#define LEAKY_SLOPE 0.2f

static const char *const dropout_released[] = {
  "coarse_generator.conv2_downsample", "coarse_generator.conv3",
  "coarse_generator.conv4_downsample", "coarse_generator.conv5", "coarse_generator.conv6",
  "coarse_generator.conv7_atrous", "coarse_generator.conv8_atrous",
  "coarse_generator.conv9_atrous", "coarse_generator.conv10_atrous", NULL,
};

static const char *const dropout_paper[] = {
  "coarse_generator.conv2_downsample", "coarse_generator.conv3",
  "coarse_generator.conv4_downsample", "coarse_generator.conv5", "coarse_generator.conv6",
  "coarse_generator.conv7_atrous", "coarse_generator.conv8_atrous",
  "coarse_generator.conv9_atrous", "coarse_generator.conv10_atrous",
  "fine_generator.conv2_downsample", "fine_generator.conv3",
  "fine_generator.conv4_downsample", "fine_generator.conv5", "fine_generator.conv6",
  "fine_generator.conv7_atrous", "fine_generator.conv8_atrous",
  "fine_generator.conv9_atrous", "fine_generator.conv10_atrous",
  "fine_generator.pmconv2_downsample", "fine_generator.pmconv3",
  "fine_generator.pmconv4_downsample", "fine_generator.pmconv5", "fine_generator.pmconv6",
  NULL,
};

/* Layer indices in picard_generator_layers(), which lists them in execution order. */
enum {
  COARSE_FIRST = 0, COARSE_LAST = 16,
  FINE_CONV_FIRST = 17, FINE_CONV_LAST = 26,
  FINE_PM_FIRST = 27, FINE_PM6 = 32, FINE_PM9 = 33, FINE_PM10 = 34,
  FINE_ALL_FIRST = 35, FINE_ALL_LAST = 41,
};

typedef struct {
  const PicardGeneratorLayer *info;
  guint cin, cout;
  PicardVkWeights *weights;
  PicardVkBuffer *bias;
  int dropout_slot; /* index into the active dropout layers, or -1 */
} Layer;

typedef struct {
  guint cin, cout;
  PicardVkWeights *weights;
  PicardVkBuffer *bias;
} CriticLayer;

/* One recorded graph for (height, width, n, mask_n) with its tensors. */
typedef struct {
  guint h, w, n, mask_n;
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

struct _PicardNetwork {
  PicardVkDevice *device;
  char *gen_path, *dis_path;
  gint64 iteration;
  guint input_dim, cnum, ndf;
  Layer layers[PICARD_GENERATOR_N_LAYERS];
  CriticLayer critic[4];
  float *linear_w, *linear_b; /* the critic's Linear(4d*s*s -> 1), s = its input size / 16 */
  gsize linear_len;
  GChecksum *weights_hash;    /* over every tensor, finished per dropout setting */
  char *model_hash;
  GPtrArray *dropout_names;   /* active layers, NULL-terminated */
  float dropout_p;
  guint max_chunk;
  Plan *plan;
  CriticPlan *critic_plan;
};

const char *const *
picard_network_dropout_released (void)
{
  return dropout_released;
}

const char *const *
picard_network_dropout_paper (void)
{
  return dropout_paper;
}

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

void
picard_network_free (PicardNetwork *net)
{
  if (net == NULL)
    return;
  plan_free (net->plan);
  critic_plan_free (net->critic_plan);
  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    {
      picard_vk_weights_free (net->layers[i].weights);
      if (net->layers[i].bias != NULL)
        picard_vk_buffer_free (net->layers[i].bias);
    }
  for (guint i = 0; i < 4; i++)
    {
      picard_vk_weights_free (net->critic[i].weights);
      if (net->critic[i].bias != NULL)
        picard_vk_buffer_free (net->critic[i].bias);
    }
  g_free (net->linear_w);
  g_free (net->linear_b);
  if (net->weights_hash != NULL)
    g_checksum_free (net->weights_hash);
  g_free (net->model_hash);
  if (net->dropout_names != NULL)
    g_ptr_array_unref (net->dropout_names);
  g_free (net->gen_path);
  g_free (net->dis_path);
  g_free (net);
}

static void
hash_tensor (GChecksum *sum, const PicardTensor *t)
{
  guint32 dims[PICARD_TENSOR_MAX_DIMS + 1] = { t->ndim };

  g_checksum_update (sum, (const guchar *) t->name, (gssize) strlen (t->name) + 1);
  for (guint i = 0; i < t->ndim; i++)
    dims[i + 1] = (guint32) t->shape[i];
  g_checksum_update (sum, (const guchar *) dims, sizeof dims);
  if (t->n_elements > 0)
    g_checksum_update (sum, (const guchar *) t->data, (gssize) (t->n_elements * sizeof (float)));
}

/* Uploads @weight_name (cout x cin x k x k) and @bias_name into fresh device buffers. */
static gboolean
upload_conv (PicardNetwork *net, const PicardCheckpoint *ck, const char *prefix,
             const char *layer, guint cin, guint cout, guint k, PicardVkWeights **weights,
             PicardVkBuffer **bias, GError **error)
{
  g_autofree char *wname = g_strdup_printf ("%s%s.conv.weight", prefix, layer);
  g_autofree char *bname = g_strdup_printf ("%s%s.conv.bias", prefix, layer);
  const PicardTensor *wt = picard_checkpoint_lookup (ck, wname);
  const PicardTensor *bt = picard_checkpoint_lookup (ck, bname);

  /* The validators checked names and shapes; this guards against a mismatch between them
   * and the table used here. */
  if (wt == NULL || bt == NULL || wt->n_elements != (gsize) cout * cin * k * k
      || bt->n_elements != cout)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: tensor %s or its bias is missing or misshapen",
                   picard_checkpoint_get_source (ck), wname);
      return FALSE;
    }
  hash_tensor (net->weights_hash, wt);
  hash_tensor (net->weights_hash, bt);
  *weights = picard_vk_weights_new (net->device, 1, cout, cin, k, PICARD_VK_DTYPE_F32, error);
  if (*weights == NULL || !picard_vk_weights_upload (*weights, wt->data, error))
    return FALSE;
  *bias = picard_vk_buffer_new (net->device, cout * sizeof (float), error);
  return *bias != NULL && picard_vk_buffer_upload (*bias, 0, bt->data, cout * sizeof (float),
                                                   error);
}

static gboolean
load_critic (PicardNetwork *net, GError **error)
{
  g_autoptr(PicardCheckpoint) ck = picard_checkpoint_load (net->dis_path, error);
  guint input_dim, ndf;
  const PicardTensor *lw, *lb;

  if (ck == NULL)
    return FALSE;
  /* Any hole size: the demo model's critic was trained on 32 x 32 crops. */
  if (!picard_checkpoint_validate_critic (ck, "localD.", PICARD_CRITIC_ANY_SIZE, &input_dim, &ndf,
                                          error))
    return FALSE;
  if (input_dim != net->input_dim)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: the local critic reads %u channels but the generator %u; the two "
                   "files do not belong together", net->dis_path, input_dim, net->input_dim);
      return FALSE;
    }
  net->ndf = ndf;
  for (guint i = 0; i < 4; i++)
    {
      static const guint in_mult[] = { 0, 1, 2, 4 }, out_mult[] = { 1, 2, 4, 4 };
      g_autofree char *layer = g_strdup_printf ("dis_conv_module.conv%u", i + 1);
      CriticLayer *cl = &net->critic[i];

      cl->cin = i == 0 ? input_dim : in_mult[i] * ndf;
      cl->cout = out_mult[i] * ndf;
      if (!upload_conv (net, ck, "localD.", layer, cl->cin, cl->cout, 5, &cl->weights,
                        &cl->bias, error))
        return FALSE;
    }
  lw = picard_checkpoint_lookup (ck, "localD.linear.weight");
  lb = picard_checkpoint_lookup (ck, "localD.linear.bias");
  if (lw == NULL || lb == NULL || lw->n_elements % ((gsize) 4 * ndf) != 0 || lb->n_elements != 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the local critic's linear layer is missing or misshapen",
                   net->dis_path);
      return FALSE;
    }
  hash_tensor (net->weights_hash, lw);
  hash_tensor (net->weights_hash, lb);
  net->linear_len = lw->n_elements;
  net->linear_w = g_memdup2 (lw->data, lw->n_elements * sizeof (float));
  net->linear_b = g_memdup2 (lb->data, sizeof (float));
  return TRUE;
}

static void update_model_hash (PicardNetwork *net);

PicardNetwork *
picard_network_new (PicardVkDevice *device, const char *path, gint64 iteration,
                    GError **error)
{
  g_autoptr(PicardNetwork) net = NULL;
  g_autoptr(PicardCheckpoint) ck = NULL;
  const PicardGeneratorLayer *table;
  guint n_layers;

  g_return_val_if_fail (device != NULL && path != NULL, NULL);

  net = g_new0 (PicardNetwork, 1);
  net->device = device;
  net->weights_hash = g_checksum_new (G_CHECKSUM_SHA256);
  net->dropout_names = g_ptr_array_new ();
  g_ptr_array_add (net->dropout_names, NULL);
  net->dropout_p = 0.5f;
  if (!picard_checkpoint_locate (path, iteration, &net->gen_path, &net->dis_path,
                                 &net->iteration, error))
    return NULL;
  ck = picard_checkpoint_load (net->gen_path, error);
  if (ck == NULL
      || !picard_checkpoint_validate_generator (ck, &net->input_dim, &net->cnum, error))
    return NULL;
  table = picard_generator_layers (&n_layers);
  g_assert (n_layers == PICARD_GENERATOR_N_LAYERS);
  for (guint i = 0; i < n_layers; i++)
    {
      Layer *l = &net->layers[i];

      l->info = &table[i];
      l->cin = picard_generator_layer_in_channels (l->info, net->input_dim, net->cnum);
      l->cout = picard_generator_layer_out_channels (l->info, net->input_dim, net->cnum);
      l->dropout_slot = -1;
      if (!upload_conv (net, ck, "", l->info->name, l->cin, l->cout, l->info->kernel,
                        &l->weights, &l->bias, error))
        return NULL;
    }
  if (net->dis_path != NULL && !load_critic (net, error))
    return NULL;
  update_model_hash (net);
  return g_steal_pointer (&net);
}

PicardVkDevice *
picard_network_get_device (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->device;
}

guint
picard_network_get_input_dim (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, 0);
  return net->input_dim;
}

guint
picard_network_get_cnum (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, 0);
  return net->cnum;
}

guint
picard_network_get_ndf (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, 0);
  return net->ndf;
}

gint64
picard_network_get_iteration (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, -1);
  return net->iteration;
}

const char *
picard_network_get_generator_path (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->gen_path;
}

const char *
picard_network_get_critic_path (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->ndf > 0 ? net->dis_path : NULL;
}

static int
find_layer (const char *name)
{
  guint n;
  const PicardGeneratorLayer *table = picard_generator_layers (&n);

  for (guint i = 0; i < n; i++)
    if (strcmp (table[i].name, name) == 0)
      return (int) i;
  return -1;
}

guint
picard_network_layer_channels (PicardNetwork *net, const char *layer)
{
  int i;

  g_return_val_if_fail (net != NULL && layer != NULL, 0);
  i = find_layer (layer);
  return i < 0 ? 0 : net->layers[i].cout;
}

static void
update_model_hash (PicardNetwork *net)
{
  GChecksum *sum = g_checksum_copy (net->weights_hash);
  g_autofree char *p = g_strdup_printf ("dropout-p:%.9g;precision:fp32;", net->dropout_p);

  g_checksum_update (sum, (const guchar *) "dropout:", -1);
  for (guint i = 0; i + 1 < net->dropout_names->len; i++)
    {
      g_checksum_update (sum, g_ptr_array_index (net->dropout_names, i), -1);
      g_checksum_update (sum, (const guchar *) ";", 1);
    }
  /* p matters only when some layer drops. */
  if (net->dropout_names->len > 1)
    g_checksum_update (sum, (const guchar *) p, -1);
  else
    g_checksum_update (sum, (const guchar *) "precision:fp32;", -1);
  g_free (net->model_hash);
  net->model_hash = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
}

gboolean
picard_network_set_dropout (PicardNetwork *net, const char *const *layers, float p,
                            GError **error)
{
  gboolean active[PICARD_GENERATOR_N_LAYERS] = { FALSE };
  guint slot = 0;

  g_return_val_if_fail (net != NULL, FALSE);

  if (!(p >= 0.0f && p < 1.0f))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The dropout probability must be in [0, 1), not %g", p);
      return FALSE;
    }
  for (guint i = 0; layers != NULL && layers[i] != NULL; i++)
    {
      int index = find_layer (layers[i]);

      if (index < 0)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "Unknown dropout layer '%s': use full names such as "
                       "'coarse_generator.conv3'", layers[i]);
          return FALSE;
        }
      active[index] = TRUE;
    }
  g_ptr_array_set_size (net->dropout_names, 0);
  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    {
      net->layers[i].dropout_slot = active[i] ? (int) slot++ : -1;
      if (active[i])
        g_ptr_array_add (net->dropout_names, (gpointer) net->layers[i].info->name);
    }
  g_ptr_array_add (net->dropout_names, NULL);
  net->dropout_p = p;
  /* The graph binds one mask buffer per active layer: record a new one. */
  g_clear_pointer (&net->plan, plan_free);
  update_model_hash (net);
  return TRUE;
}

const char *const *
picard_network_get_dropout_layers (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return (const char *const *) net->dropout_names->pdata;
}

float
picard_network_get_dropout_p (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, 0.0f);
  return net->dropout_p;
}

const char *
picard_network_get_model_hash (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->model_hash;
}

void
picard_network_set_max_chunk (PicardNetwork *net, guint max_chunk)
{
  g_return_if_fail (net != NULL);
  net->max_chunk = max_chunk;
  g_clear_pointer (&net->plan, plan_free);
}

/* ---- memory planning ------------------------------------------------------------------ */

static gsize
packed (guint c, guint h, guint w)
{
  return (gsize) ((c + 3) / 4) * 4 * h * w;
}

static gboolean
needs_upsample (const Layer *l)
{
  const char *dot = strrchr (l->info->name, '.');
  const char *base = dot != NULL ? dot + 1 : l->info->name;

  return strcmp (base, "conv13") == 0 || strcmp (base, "conv15") == 0
         || strcmp (base, "allconv13") == 0 || strcmp (base, "allconv15") == 0;
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
      const Layer *layer = &net->layers[i];

      if (i == FINE_CONV_FIRST || i == FINE_PM_FIRST)
        ch = h, cw = w;
      else if (i == FINE_PM9 || i == FINE_ALL_FIRST)
        ch = h4, cw = w4;
      if (needs_upsample (layer))
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
  const PicardVkDeviceInfo *info = picard_vk_device_get_info (net->device);
  VkDeviceSize heap = 0;

  for (guint i = 0; i < info->n_heaps; i++)
    if (info->heap_device_local[i])
      heap = MAX (heap, info->heap_size[i]);
  *buffer_cap = (gsize) MIN ((VkDeviceSize) BUFFER_CAP, info->max_storage_buffer_range);
  return (gsize) MIN ((VkDeviceSize) MEMORY_BUDGET_MAX, heap / 4);
}

guint
picard_network_get_chunk_size (PicardNetwork *net, guint height, guint width)
{
  gsize scratch, largest, total, cap, budget, n;

  g_return_val_if_fail (net != NULL, 1);
  plan_sizes (net, height, width, &scratch, &largest, &total);
  budget = device_budget (net, &cap);
  n = MIN (cap / (largest * sizeof (float)), budget / (total * sizeof (float)));
  n = MIN (n, 4096);
  if (net->max_chunk > 0)
    n = MIN (n, net->max_chunk);
  return (guint) MAX (n, 1);
}

/* ---- graph ---------------------------------------------------------------------------- */

static PicardVkTensor *
plan_tensor (Plan *plan, PicardNetwork *net, guint n, guint c, guint h, guint w, GError **error)
{
  PicardVkTensor *t = picard_vk_tensor_new (net->device, n, c, h, w, PICARD_VK_DTYPE_F32, error);

  if (t != NULL)
    g_ptr_array_add (plan->tensors, t);
  return t;
}

static PicardVkWeights *
plan_weights (Plan *plan, PicardNetwork *net, guint n, guint cout, guint cin, guint k,
              GError **error)
{
  PicardVkWeights *w = picard_vk_weights_new (net->device, n, cout, cin, k, PICARD_VK_DTYPE_F32,
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
  const Layer *l = &net->layers[index];
  PicardVkConvParams params = {
    .stride = l->info->stride, .dilation = l->info->dilation,
    .padding = l->info->dilation * (l->info->kernel - 1) / 2,
    .act = l->info->activation == PICARD_ACTIVATION_ELU ? PICARD_VK_ACT_ELU
           : l->info->activation == PICARD_ACTIVATION_RELU ? PICARD_VK_ACT_RELU
           : PICARD_VK_ACT_NONE,
    .alpha = 1.0f, .out_c_offset = out_c_offset,
  };
  PicardVkBuffer *mask = l->dropout_slot >= 0 ? plan->dropout[l->dropout_slot] : NULL;

  return picard_vk_op_conv2d (plan->graph, &params, in, l->weights, l->bias, mask, out, error);
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
      const Layer *l = &net->layers[i];
      guint oh, ow;
      PicardVkTensor *out;

      if (needs_upsample (l))
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
plan_new (PicardNetwork *net, guint h, guint w, guint n, guint mask_n, GError **error)
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

  plan->h = h, plan->w = w, plan->n = n, plan->mask_n = mask_n;
  plan->graph = picard_vk_graph_new (net->device);
  plan->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_tensor_free);
  plan->weights = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_weights_free);
  plan->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_buffer_free);
  plan->views = g_ptr_array_new_with_free_func (g_free);
  plan->dropout = g_new0 (PicardVkBuffer *, MAX (n_drop, 1));

  plan_sizes (net, h, w, &scratch_floats, &largest, &total);
  for (guint i = 0; i < 2; i++)
    {
      scratch[i] = picard_vk_buffer_new (net->device, scratch_floats * n * sizeof (float),
                                         error);
      if (scratch[i] == NULL)
        goto fail;
      g_ptr_array_add (plan->buffers, scratch[i]);
    }
  for (guint i = 0; i < n_drop; i++)
    {
      int index = find_layer (g_ptr_array_index (net->dropout_names, i));
      plan->dropout[i] = picard_vk_buffer_new (net->device,
                                               (gsize) n * net->layers[index].cout * sizeof (float),
                                               error);
      if (plan->dropout[i] == NULL)
        goto fail;
      g_ptr_array_add (plan->buffers, plan->dropout[i]);
    }
  plan->mm = picard_vk_buffer_new (net->device, (gsize) l * sizeof (float), error);
  if (plan->mm == NULL)
    goto fail;
  g_ptr_array_add (plan->buffers, plan->mm);

  if ((plan->x = plan_tensor (plan, net, n, d, h, w, error)) == NULL
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

  /* Coarse: concat(x, ones, mask) -> conv1 .. conv17, clamp. */
  if (!picard_vk_op_concat (plan->graph, plan->x, plan->om, xin, error)
      || !chain (plan, net, COARSE_FIRST, COARSE_LAST, xin, scratch, plan->xs1, 0, NULL, error)
      || !picard_vk_op_clamp (plan->graph, -1.0f, 1.0f, plan->xs1, plan->xs1, error)
      /* Fine input: x_stage1 in the hole, x outside. */
      || !picard_vk_op_compose (plan->graph, plan->xs1, plan->x, plan->mask, x1, error)
      || !picard_vk_op_concat (plan->graph, x1, plan->om, xnow, error)
      /* The convolution branch ends in the first half of the merge tensor... */
      || !chain (plan, net, FINE_CONV_FIRST, FINE_CONV_LAST, xnow, scratch, merge, 0, NULL,
                 error)
      /* ...the attention branch in the second. */
      || !chain (plan, net, FINE_PM_FIRST, FINE_PM6, xnow, scratch, plan->p6, 0, NULL, error)
      || !picard_vk_op_extract_patches (plan->graph, 4, 2, 1, TRUE, plan->p6, raw, error)
      || !picard_vk_op_downsample_nearest (plan->graph, 2, plan->p6, pd, error)
      || !picard_vk_op_extract_patches (plan->graph, 3, 1, 1, FALSE, pd, pat, error)
      || !picard_vk_op_patch_normalize (plan->graph, ATTENTION_EPS, pat, pn, error)
      || !picard_vk_op_conv2d (plan->graph, &match, pd, pn, NULL, NULL, sc, error)
      || !picard_vk_op_fuse (plan->graph, h8, w8, FALSE, sc, f1, error)
      || !picard_vk_op_fuse (plan->graph, h8, w8, TRUE, f1, f2, error)
      || !picard_vk_op_softmax (plan->graph, SOFTMAX_SCALE, plan->mm, f2, plan->att, error)
      || !picard_vk_op_conv_transpose2d (plan->graph, 2, 1, 0.25f, plan->att, raw,
                                         plan->att_out, error)
      || !chain (plan, net, FINE_PM9, FINE_PM10, plan->att_out, scratch, merge, c4, NULL,
                 error)
      || !chain (plan, net, FINE_ALL_FIRST, FINE_ALL_LAST, merge, scratch, plan->xs2, 0, NULL,
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

/* Attention's `mm`: 1 for the 3x3 patches (zero-padded, "same") of the mask downsampled by 8
 * that hold no hole pixel; from one mask only, as PICARD does. */
static void
attention_mm (const float *mask, guint h, guint w, float *mm)
{
  guint h8 = h / 8, w8 = w / 8;

  for (guint y = 0; y < h8; y++)
    for (guint x = 0; x < w8; x++)
      {
        float sum = 0.0f;

        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              int yy = (int) y + dy, xx = (int) x + dx;

              if (yy >= 0 && xx >= 0 && yy < (int) h8 && xx < (int) w8)
                sum += mask[(gsize) yy * 8 * w + (gsize) xx * 8];
            }
        mm[y * w8 + x] = sum / 9.0f == 0.0f ? 1.0f : 0.0f;
      }
}

static gboolean
check_input (PicardNetwork *net, const PicardNetworkInput *in, GError **error)
{
  if (in->n == 0 || in->x == NULL || in->mask == NULL
      || (in->mask_n != 1 && in->mask_n != in->n))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The network needs at least one sample and one mask or one per sample");
      return FALSE;
    }
  if (in->height % 8 != 0 || in->width % 8 != 0 || in->height < 16 || in->width < 16
      || in->height > 4096 || in->width > 4096)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The network completes images whose sides are multiples of 8 from 16 to "
                   "4096 pixels, not %u x %u", in->width, in->height);
      return FALSE;
    }
  return TRUE;
}

gboolean
picard_network_forward (PicardNetwork *net, const PicardNetworkInput *in,
                        PicardNetworkOutput *out, GCancellable *cancellable, GError **error)
{
  guint d, h, w, chunk, n_drop;
  gsize plane, sample, feat_plane, mm_len;
  g_autofree float *xbuf = NULL, *mbuf = NULL, *ombuf = NULL, *mm = NULL, *dbuf = NULL;
  g_autofree float *tmp = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;

  g_return_val_if_fail (net != NULL && in != NULL && out != NULL, FALSE);

  if (!check_input (net, in, error))
    return FALSE;
  d = net->input_dim, h = in->height, w = in->width;
  plane = (gsize) h * w;
  sample = plane * d;
  feat_plane = (gsize) 4 * net->cnum * (h / 4) * (w / 4);
  mm_len = (gsize) (h / 8) * (w / 8);
  n_drop = net->dropout_names->len - 1;
  chunk = MIN (picard_network_get_chunk_size (net, h, w), in->n);
  if (net->plan == NULL || net->plan->h != h || net->plan->w != w || net->plan->n != chunk
      || net->plan->mask_n != (in->mask_n == 1 ? 1 : chunk))
    {
      g_clear_pointer (&net->plan, plan_free);
      net->plan = plan_new (net, h, w, chunk, in->mask_n == 1 ? 1 : chunk, error);
      if (net->plan == NULL)
        return FALSE;
    }

  mm = g_new (float, mm_len);
  attention_mm (in->mask, h, w, mm);
  if (!picard_vk_buffer_upload (net->plan->mm, 0, mm, mm_len * sizeof (float), error))
    return FALSE;

  xbuf = g_new (float, sample * chunk);
  mbuf = g_new (float, plane * net->plan->mask_n);
  ombuf = g_new (float, plane * 2 * net->plan->mask_n);
  pids = g_new (guint32, chunk);
  sids = g_new (guint32, chunk);
  tmp = g_new (float, MAX (sample, feat_plane) * chunk);
  for (guint start = 0; start < in->n; start += chunk)
    {
      guint valid = MIN (chunk, in->n - start);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      /* A short last chunk repeats its last sample: the graph keeps its batch size. */
      for (guint i = 0; i < chunk; i++)
        {
          guint src = start + MIN (i, valid - 1);
          const float *m = in->mask + (in->mask_n == 1 ? 0 : (gsize) src * plane);
          float *x = xbuf + (gsize) i * sample;

          /* PICARD blanks the hole before completing. */
          for (guint ch = 0; ch < d; ch++)
            for (gsize k = 0; k < plane; k++)
              x[ch * plane + k] = in->x[(gsize) src * sample + ch * plane + k] * (1.0f - m[k]);
          if (i < net->plan->mask_n)
            {
              memcpy (mbuf + (gsize) i * plane, m, plane * sizeof (float));
              for (gsize k = 0; k < plane; k++)
                {
                  ombuf[(gsize) i * 2 * plane + k] = 1.0f;
                  ombuf[(gsize) i * 2 * plane + plane + k] = m[k];
                }
            }
          pids[i] = in->patch_ids != NULL ? in->patch_ids[src] : 0;
          sids[i] = in->sample_ids != NULL ? in->sample_ids[src] : 0;
        }
      if (!picard_vk_tensor_upload (net->plan->x, xbuf, error)
          || !picard_vk_tensor_upload (net->plan->mask, mbuf, error)
          || !picard_vk_tensor_upload (net->plan->om, ombuf, error))
        return FALSE;
      for (guint k = 0; k < n_drop; k++)
        {
          int index = find_layer (g_ptr_array_index (net->dropout_names, k));
          guint channels = net->layers[index].cout;

          dbuf = g_renew (float, dbuf, (gsize) chunk * channels);
          picard_ref_dropout_mask (in->seed, pids, sids, chunk, (guint) index, channels,
                                   net->dropout_p, dbuf);
          if (!picard_vk_buffer_upload (net->plan->dropout[k], 0, dbuf,
                                        (gsize) chunk * channels * sizeof (float), error))
            return FALSE;
          if (out->dropout_masks != NULL && out->dropout_masks[k] != NULL)
            memcpy (out->dropout_masks[k] + (gsize) start * channels, dbuf,
                    (gsize) valid * channels * sizeof (float));
        }
      if (!picard_vk_graph_run (net->plan->graph, error))
        return FALSE;

#define FETCH(field, tensor, per_sample)                                                  \
      if (out->field != NULL)                                                             \
        {                                                                                 \
          if (!picard_vk_tensor_download (net->plan->tensor, tmp, error))                 \
            return FALSE;                                                                 \
          memcpy (out->field + (gsize) start * (per_sample), tmp,                         \
                  (gsize) valid * (per_sample) * sizeof (float));                         \
        }
      FETCH (x_stage1, xs1, sample)
      FETCH (x_stage2, xs2, sample)
      FETCH (completion, completion, sample)
      FETCH (attention, att_out, feat_plane)
      FETCH (pmconv6, p6, feat_plane)
#undef FETCH
      if (out->offsets != NULL)
        {
          g_autofree float *att = g_new (float, (gsize) chunk * mm_len * mm_len);
          guint w8 = w / 8;

          if (!picard_vk_tensor_download (net->plan->att, att, error))
            return FALSE;
          for (guint i = 0; i < valid; i++)
            for (gsize pos = 0; pos < mm_len; pos++)
              {
                const float *a = att + (gsize) i * mm_len * mm_len;
                gsize best = 0;
                float *o = out->offsets + ((gsize) (start + i) * 2) * mm_len;

                /* The first maximum, as torch.argmax. */
                for (gsize k = 1; k < mm_len; k++)
                  if (a[k * mm_len + pos] > a[best * mm_len + pos])
                    best = k;
                o[pos] = (float) (best / w8);
                o[mm_len + pos] = (float) (best % w8);
              }
        }
    }
  return TRUE;
}

/* ---- critic --------------------------------------------------------------------------- */

guint
picard_network_get_feature_length (PicardNetwork *net, guint size)
{
  g_return_val_if_fail (net != NULL, 0);
  if (net->ndf == 0 || size % 16 != 0 || size == 0)
    return 0;
  return 4 * net->ndf * (size / 16) * (size / 16);
}

static CriticPlan *
critic_plan_new (PicardNetwork *net, guint n, guint size, GError **error)
{
  CriticPlan *plan = g_new0 (CriticPlan, 1);
  PicardVkTensor *cur;
  guint s = size;

  plan->n = n, plan->size = size;
  plan->graph = picard_vk_graph_new (net->device);
  plan->in = picard_vk_tensor_new (net->device, n, net->input_dim, size, size,
                                   PICARD_VK_DTYPE_F32, error);
  if (plan->in == NULL)
    goto fail;
  cur = plan->in;
  for (guint i = 0; i < 4; i++)
    {
      PicardVkConvParams params = { 2, 1, 2, PICARD_VK_ACT_LEAKY_RELU, LEAKY_SLOPE, 0 };

      s = picard_vk_conv_out_size (s, 5, 2, 1, 2);
      plan->out[i] = picard_vk_tensor_new (net->device, n, net->critic[i].cout, s, s,
                                           PICARD_VK_DTYPE_F32, error);
      if (plan->out[i] == NULL
          || !picard_vk_op_conv2d (plan->graph, &params, cur, net->critic[i].weights,
                                   net->critic[i].bias, NULL, plan->out[i], error))
        goto fail;
      cur = plan->out[i];
    }
  return plan;

fail:
  critic_plan_free (plan);
  return NULL;
}

gboolean
picard_network_critic (PicardNetwork *net, guint n, guint size, const float *crops,
                       float *features, float *scores, GError **error)
{
  guint f, chunk;
  gsize crop_len, per_sample;
  g_autofree float *buf = NULL, *feat = NULL;
  const PicardVkDeviceInfo *info;

  g_return_val_if_fail (net != NULL && (crops != NULL || n == 0), FALSE);

  if (net->ndf == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s has no matching dis_ file, so there is no local critic; put the "
                   "trainer's dis_*.pt next to it", net->gen_path);
      return FALSE;
    }
  f = picard_network_get_feature_length (net, size);
  if (f == 0 || size > 1024)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The critic reads crops whose side is a multiple of 16 up to 1024, not %u",
                   size);
      return FALSE;
    }
  if (n == 0)
    return TRUE;
  crop_len = (gsize) net->input_dim * size * size;
  /* The first layer's output is the largest tensor. */
  per_sample = packed (net->ndf, size / 2, size / 2) * sizeof (float);
  info = picard_vk_device_get_info (net->device);
  chunk = (guint) MIN ((gsize) n, MAX ((gsize) 1, MIN (BUFFER_CAP,
                                                       info->max_storage_buffer_range)
                                                  / per_sample));
  chunk = MIN (chunk, 256);
  if (net->critic_plan == NULL || net->critic_plan->n != chunk || net->critic_plan->size != size)
    {
      g_clear_pointer (&net->critic_plan, critic_plan_free);
      net->critic_plan = critic_plan_new (net, chunk, size, error);
      if (net->critic_plan == NULL)
        return FALSE;
    }
  buf = g_new (float, crop_len * chunk);
  feat = g_new (float, (gsize) f * chunk);
  for (guint start = 0; start < n; start += chunk)
    {
      guint valid = MIN (chunk, n - start);

      for (guint i = 0; i < chunk; i++)
        memcpy (buf + (gsize) i * crop_len,
                crops + (gsize) (start + MIN (i, valid - 1)) * crop_len,
                crop_len * sizeof (float));
      if (!picard_vk_tensor_upload (net->critic_plan->in, buf, error)
          || !picard_vk_graph_run (net->critic_plan->graph, error)
          || !picard_vk_tensor_download (net->critic_plan->out[3], feat, error))
        return FALSE;
      if (features != NULL)
        memcpy (features + (gsize) start * f, feat, (gsize) valid * f * sizeof (float));
      if (scores != NULL && f == net->linear_len)
        for (guint i = 0; i < valid; i++)
          {
            double sum = net->linear_b[0];

            for (gsize k = 0; k < f; k++)
              sum += (double) feat[(gsize) i * f + k] * net->linear_w[k];
            scores[start + i] = (float) sum;
          }
    }
  return TRUE;
}

/* ---- the scan's completer ------------------------------------------------------------- */

#define PICARD_TYPE_NETWORK_COMPLETER (picard_network_completer_get_type ())
G_DECLARE_FINAL_TYPE (PicardNetworkCompleter, picard_network_completer, PICARD,
                      NETWORK_COMPLETER, GObject)

struct _PicardNetworkCompleter {
  GObject parent_instance;
  PicardNetwork *net;
  guint n_samples;
};

static void picard_network_completer_iface_init (PicardCompleterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PicardNetworkCompleter, picard_network_completer, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PICARD_TYPE_COMPLETER,
                                                picard_network_completer_iface_init))

static guint
completer_get_batch_size (PicardCompleter *completer)
{
  PicardNetworkCompleter *self = PICARD_NETWORK_COMPLETER (completer);
  /* PICARD's patch size: the batch that fills about one chunk. */
  guint chunk = picard_network_get_chunk_size (self->net, 256, 256);

  return MAX (1, chunk / MAX (self->n_samples, 1));
}

static guint
completer_get_feature_length (PicardCompleter *completer, guint hole_size)
{
  return picard_network_get_feature_length (PICARD_NETWORK_COMPLETER (completer)->net,
                                            hole_size);
}

static const char *
completer_get_model_hash (PicardCompleter *completer)
{
  return picard_network_get_model_hash (PICARD_NETWORK_COMPLETER (completer)->net);
}

static const char *
completer_get_device_name (PicardCompleter *completer)
{
  PicardNetwork *net = PICARD_NETWORK_COMPLETER (completer)->net;

  return picard_vk_device_get_info (net->device)->name;
}

static gboolean
completer_check_geometry (PicardCompleter *completer, guint patch_size, guint hole_size,
                          GError **error)
{
  PicardNetwork *net = PICARD_NETWORK_COMPLETER (completer)->net;

  if (net->input_dim != 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s completes %u-channel images; a scan needs a one-channel network",
                   net->gen_path, net->input_dim);
      return FALSE;
    }
  if (patch_size % 8 != 0 || patch_size < 16 || patch_size > 4096 || hole_size == 0
      || hole_size >= patch_size || (patch_size - hole_size) % 2 != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "The network needs a patch side that is a multiple of 8 (16 to 4096) and a "
                   "smaller centred hole, not a %u patch with a %u hole", patch_size, hole_size);
      return FALSE;
    }
  if (net->ndf > 0 && hole_size % 16 != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "The local critic reads holes whose side is a multiple of 16, not %u",
                   hole_size);
      return FALSE;
    }
  return TRUE;
}

static void
crop (const float *image, guint size, guint offset, guint hole, float *out)
{
  for (guint r = 0; r < hole; r++)
    memcpy (out + (gsize) r * hole, image + (gsize) (r + offset) * size + offset,
            hole * sizeof (float));
}

static gboolean
completer_complete (PicardCompleter *completer, const PicardCompletionBatch *batch,
                    float *holes, float *features, float *gt_features,
                    GCancellable *cancellable, GError **error)
{
  PicardNetwork *net = PICARD_NETWORK_COMPLETER (completer)->net;
  guint p = batch->patch_size, hh = batch->hole_size, offset, n;
  gsize plane = (gsize) p * p, hole_len = (gsize) hh * hh;
  g_autofree float *x = NULL, *mask = NULL, *completion = NULL, *gt = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  PicardNetworkInput in = { 0 };
  PicardNetworkOutput out = { 0 };

  if (!completer_check_geometry (completer, p, hh, error))
    return FALSE;
  offset = (p - hh) / 2;
  n = batch->n_patches * batch->n_samples;
  if (n == 0)
    return TRUE;
  x = g_new (float, plane * n);
  pids = g_new (guint32, n);
  sids = g_new (guint32, n);
  for (guint b = 0; b < batch->n_patches; b++)
    for (guint s = 0; s < batch->n_samples; s++)
      {
        guint i = b * batch->n_samples + s;

        memcpy (x + (gsize) i * plane, batch->patches + (gsize) b * plane,
                plane * sizeof (float));
        pids[i] = batch->patch_ids[b];
        sids[i] = batch->sample_ids[s];
      }
  mask = g_new0 (float, plane);
  for (guint r = offset; r < offset + hh; r++)
    for (guint c = offset; c < offset + hh; c++)
      mask[(gsize) r * p + c] = 1.0f;
  completion = g_new (float, plane * n);
  in.n = n, in.height = p, in.width = p, in.x = x, in.mask = mask, in.mask_n = 1;
  in.patch_ids = pids, in.sample_ids = sids, in.seed = batch->seed;
  out.completion = completion;
  if (!picard_network_forward (net, &in, &out, cancellable, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    crop (completion + (gsize) i * plane, p, offset, hh, holes + (gsize) i * hole_len);
  if (features != NULL && net->ndf > 0)
    {
      gt = g_new (float, hole_len * batch->n_patches);
      for (guint b = 0; b < batch->n_patches; b++)
        crop (batch->patches + (gsize) b * plane, p, offset, hh, gt + (gsize) b * hole_len);
      if (!picard_network_critic (net, n, hh, holes, features, NULL, error)
          || (gt_features != NULL
              && !picard_network_critic (net, batch->n_patches, hh, gt, gt_features, NULL,
                                         error)))
        return FALSE;
    }
  return TRUE;
}

static void
picard_network_completer_iface_init (PicardCompleterInterface *iface)
{
  iface->get_batch_size = completer_get_batch_size;
  iface->get_feature_length = completer_get_feature_length;
  iface->get_model_hash = completer_get_model_hash;
  iface->get_device_name = completer_get_device_name;
  iface->check_geometry = completer_check_geometry;
  iface->complete = completer_complete;
}

static void
picard_network_completer_class_init (PicardNetworkCompleterClass *klass)
{
}

static void
picard_network_completer_init (PicardNetworkCompleter *self)
{
}

PicardCompleter *
picard_network_completer_new (PicardNetwork *net, guint n_samples)
{
  PicardNetworkCompleter *self;

  g_return_val_if_fail (net != NULL, NULL);
  self = g_object_new (PICARD_TYPE_NETWORK_COMPLETER, NULL);
  self->net = net;
  self->n_samples = MAX (n_samples, 1);
  return PICARD_COMPLETER (self);
}
