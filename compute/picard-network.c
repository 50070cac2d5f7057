/* picard-network.c: the DeepFill v1 generator and the local critic: weights, dropout, batching
 * and the choice of backend; the backends (picard-network-vk.c, picard-network-cpu.c) run the
 * layers. */
#include "picard-network-private.h"

#include <string.h>

#include "picard-error.h"
#include "picard-ref.h"

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

void
picard_network_free (PicardNetwork *net)
{
  if (net == NULL)
    return;
  if (net->backend != NULL)
    net->backend->free (net);
  for (guint i = 0; i < PICARD_GENERATOR_N_LAYERS; i++)
    {
      g_free (net->layers[i].weight);
      g_free (net->layers[i].bias);
    }
  for (guint i = 0; i < 4; i++)
    {
      g_free (net->critic[i].weight);
      g_free (net->critic[i].bias);
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
  g_free (net->backend_reason);
  if (net->owned_device != NULL)
    picard_vk_device_free (net->owned_device);
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

/* Copies @weight_name (cout x cin x k x k) and @bias_name, and hashes them. */
static gboolean
copy_conv (PicardNetwork *net, const PicardCheckpoint *ck, const char *prefix,
           const char *layer, guint cin, guint cout, guint k, float **weight, float **bias,
           GError **error)
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
  *weight = g_memdup2 (wt->data, wt->n_elements * sizeof (float));
  *bias = g_memdup2 (bt->data, cout * sizeof (float));
  return TRUE;
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
      PicardCriticLayer *cl = &net->critic[i];

      cl->cin = i == 0 ? input_dim : in_mult[i] * ndf;
      cl->cout = out_mult[i] * ndf;
      if (!copy_conv (net, ck, "localD.", layer, cl->cin, cl->cout, 5, &cl->weight, &cl->bias,
                      error))
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

/* Reads the checkpoint into a network without a backend. */
static PicardNetwork *
network_load (const char *path, gint64 iteration, GError **error)
{
  g_autoptr(PicardNetwork) net = g_new0 (PicardNetwork, 1);
  g_autoptr(PicardCheckpoint) ck = NULL;
  const PicardGeneratorLayer *table;
  guint n_layers;

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
      PicardNetworkLayer *l = &net->layers[i];

      l->info = &table[i];
      l->cin = picard_generator_layer_in_channels (l->info, net->input_dim, net->cnum);
      l->cout = picard_generator_layer_out_channels (l->info, net->input_dim, net->cnum);
      l->dropout_slot = -1;
      if (!copy_conv (net, ck, "", l->info->name, l->cin, l->cout, l->info->kernel, &l->weight,
                      &l->bias, error))
        return NULL;
    }
  if (net->dis_path != NULL && !load_critic (net, error))
    return NULL;
  update_model_hash (net);
  return g_steal_pointer (&net);
}

PicardNetwork *
picard_network_new (PicardVkDevice *device, const char *path, gint64 iteration,
                    GError **error)
{
  g_autoptr(PicardNetwork) net = NULL;

  g_return_val_if_fail (device != NULL && path != NULL, NULL);

  net = network_load (path, iteration, error);
  if (net == NULL || !picard_network_vk_attach (net, device, error))
    return NULL;
  net->backend_reason = g_strdup ("Vulkan was asked for");
  return g_steal_pointer (&net);
}

PicardNetwork *
picard_network_new_cpu (const char *path, gint64 iteration, GError **error)
{
  g_autoptr(PicardNetwork) net = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  net = network_load (path, iteration, error);
  if (net == NULL || !picard_network_cpu_attach (net, error))
    return NULL;
  net->backend_reason = g_strdup ("the CPU backend was asked for");
  return g_steal_pointer (&net);
}

gboolean
picard_backend_from_string (const char *text, PicardBackend *backend, GError **error)
{
  static const char *const names[] = { "auto", "vulkan", "cpu" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (text != NULL && g_ascii_strcasecmp (text, names[i]) == 0)
      {
        *backend = (PicardBackend) i;
        return TRUE;
      }
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
               "Unknown backend '%s': use auto, vulkan (GPU shaders) or cpu (oneDNN)",
               text != NULL ? text : "");
  return FALSE;
}

PicardBackend
picard_backend_choose (PicardBackend backend, PicardVkDevice **device, char **reason,
                       GError **error)
{
  g_autoptr(GError) vk_error = NULL;
  const char *env = g_getenv ("PICARD_BACKEND");
  const PicardVkDeviceInfo *info;

  g_return_val_if_fail (device != NULL && reason != NULL, PICARD_BACKEND_AUTO);

  *device = NULL;
  *reason = NULL;
  if (backend == PICARD_BACKEND_AUTO && env != NULL && *env != '\0'
      && !picard_backend_from_string (env, &backend, error))
    {
      g_prefix_error (error, "PICARD_BACKEND: ");
      return PICARD_BACKEND_AUTO;
    }
  if (backend == PICARD_BACKEND_CPU)
    {
      *reason = g_strdup ("oneDNN on the CPU, as asked");
      return PICARD_BACKEND_CPU;
    }
  *device = picard_vk_device_new (backend == PICARD_BACKEND_VULKAN ? error : &vk_error);
  if (*device == NULL && backend == PICARD_BACKEND_VULKAN)
    return PICARD_BACKEND_AUTO;
  info = *device != NULL ? picard_vk_device_get_info (*device) : NULL;
  if (backend == PICARD_BACKEND_VULKAN)
    {
      *reason = g_strdup_printf ("Vulkan on %s, as asked", info->name);
      return PICARD_BACKEND_VULKAN;
    }
  /* Shaders on a CPU Vulkan device (lavapipe) run several times slower than oneDNN on the
   * same cores; a device named in PICARD_VK_DEVICE is the user's explicit choice. */
  if (info != NULL
      && (info->type != VK_PHYSICAL_DEVICE_TYPE_CPU || g_getenv ("PICARD_VK_DEVICE") != NULL))
    {
      *reason = g_strdup_printf ("Vulkan on %s (%s)", info->name,
                                 picard_vk_device_type_name (info->type));
      return PICARD_BACKEND_VULKAN;
    }
  *reason = info == NULL
            ? g_strdup_printf ("oneDNN on the CPU, because there is no Vulkan device (%s)",
                               vk_error->message)
            : g_strdup_printf ("oneDNN on the CPU, because the only Vulkan device, %s, runs on "
                               "the CPU itself", info->name);
  g_clear_pointer (device, picard_vk_device_free);
  return PICARD_BACKEND_CPU;
}

PicardNetwork *
picard_network_open (PicardBackend backend, const char *path, gint64 iteration,
                     GError **error)
{
  g_autoptr(PicardNetwork) net = NULL;
  g_autoptr(PicardVkDevice) device = NULL;
  g_autofree char *reason = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (picard_backend_choose (backend, &device, &reason, error) == PICARD_BACKEND_AUTO
      || (net = network_load (path, iteration, error)) == NULL)
    return NULL;
  if (device != NULL)
    {
      if (!picard_network_vk_attach (net, device, error))
        return NULL;
      net->owned_device = g_steal_pointer (&device);
    }
  else if (!picard_network_cpu_attach (net, error))
    return NULL;
  net->backend_reason = g_steal_pointer (&reason);
  return g_steal_pointer (&net);
}

PicardVkDevice *
picard_network_get_device (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return picard_network_vk_get_device (net);
}

const char *
picard_network_get_backend_name (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->backend->name;
}

const char *
picard_network_get_device_name (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->backend->device_name (net);
}

const char *
picard_network_get_backend_reason (PicardNetwork *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->backend_reason;
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

int
picard_network_find_layer (const char *name)
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
  i = picard_network_find_layer (layer);
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
      int index = picard_network_find_layer (layers[i]);

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
  /* A backend's plan binds one mask per active layer: make a new one. */
  net->backend->invalidate (net);
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
  net->backend->invalidate (net);
}

gboolean
picard_network_layer_upsamples (const PicardNetworkLayer *l)
{
  const char *dot = strrchr (l->info->name, '.');
  const char *base = dot != NULL ? dot + 1 : l->info->name;

  return strcmp (base, "conv13") == 0 || strcmp (base, "conv15") == 0
         || strcmp (base, "allconv13") == 0 || strcmp (base, "allconv15") == 0;
}

guint
picard_network_get_chunk_size (PicardNetwork *net, guint height, guint width)
{
  guint n;

  g_return_val_if_fail (net != NULL, 1);
  n = net->backend->chunk_size (net, height, width);
  if (net->max_chunk > 0)
    n = MIN (n, net->max_chunk);
  return MAX (n, 1);
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
  guint repeat = MAX (in->repeat, 1);

  if (in->n == 0 || in->x == NULL || in->mask == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The network needs at least one sample, its input and a mask");
      return FALSE;
    }
  if (in->n % repeat != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%u samples do not split into groups of %u that share an input; give a "
                   "multiple of the repeat", in->n, repeat);
      return FALSE;
    }
  if (in->mask_n != 1 && in->mask_n != in->n / repeat)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "The network needs one mask for the batch or one per input row (%u), not "
                   "%u", in->n / repeat, in->mask_n);
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
  guint d, h, w, chunk, repeat, group, rows, n_drop;
  gsize plane, sample, feat_plane, mm_len;
  g_autofree float *xbuf = NULL, *mbuf = NULL, *ombuf = NULL, *mm = NULL, *scores = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  g_autofree float **dbuf = NULL;
  PicardNetworkChunk c = { 0 };
  gboolean ok = TRUE;

  g_return_val_if_fail (net != NULL && in != NULL && out != NULL, FALSE);

  if (!check_input (net, in, error))
    return FALSE;
  d = net->input_dim, h = in->height, w = in->width;
  plane = (gsize) h * w;
  sample = plane * d;
  feat_plane = (gsize) 4 * net->cnum * (h / 4) * (w / 4);
  mm_len = (gsize) (h / 8) * (w / 8);
  n_drop = net->dropout_names->len - 1;
  repeat = MAX (in->repeat, 1);
  chunk = picard_network_get_chunk_size (net, h, w);
  /* Chunks of whole groups, so that a shared input travels once; a chunk smaller than a group
   * gives each of its samples its own copy (the results are the same either way). */
  group = chunk >= repeat ? repeat : 1;
  chunk = MIN (chunk / group * group, in->n);
  rows = chunk / group;

  mm = g_new (float, mm_len);
  attention_mm (in->mask, h, w, mm);
  xbuf = g_new (float, sample * rows);
  if (in->mask_n != 1)
    mbuf = g_new (float, plane * rows);
  ombuf = g_new (float, plane * 2 * (in->mask_n == 1 ? 1 : rows));
  pids = g_new (guint32, chunk);
  sids = g_new (guint32, chunk);
  dbuf = g_new0 (float *, MAX (n_drop, 1));
  if (out->offsets != NULL)
    scores = g_new (float, (gsize) chunk * mm_len * mm_len);
  c.height = h, c.width = w, c.capacity = chunk, c.repeat = group, c.mm = mm;
  c.x = xbuf;
  c.mask = in->mask_n == 1 ? in->mask : mbuf;
  c.ones_mask = ombuf;
  c.dropout = (const float *const *) dbuf;
  for (guint start = 0; start < in->n && ok; start += chunk)
    {
      guint valid = MIN (chunk, in->n - start), valid_rows = valid / group;
      gsize prev = G_MAXSIZE;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      c.n = valid;
      c.mask_n = in->mask_n == 1 ? 1 : valid_rows;
      for (guint r = 0; r < valid_rows; r++)
        {
          /* The input row that the chunk's row r reads. */
          gsize src = (start + (gsize) r * group) / repeat;
          const float *m = in->mask + (in->mask_n == 1 ? 0 : src * plane);
          float *x = xbuf + (gsize) r * sample;

          /* PICARD blanks the hole before completing: once per input row. */
          if (src == prev)
            memcpy (x, x - sample, sample * sizeof (float));
          else
            for (guint ch = 0; ch < d; ch++)
              for (gsize k = 0; k < plane; k++)
                x[ch * plane + k] = in->x[src * sample + ch * plane + k] * (1.0f - m[k]);
          prev = src;
          if (mbuf != NULL)
            memcpy (mbuf + (gsize) r * plane, m, plane * sizeof (float));
          if (r < c.mask_n)
            for (gsize k = 0; k < plane; k++)
              {
                ombuf[(gsize) r * 2 * plane + k] = 1.0f;
                ombuf[(gsize) r * 2 * plane + plane + k] = m[k];
              }
        }
      for (guint i = 0; i < valid; i++)
        {
          pids[i] = in->patch_ids != NULL ? in->patch_ids[start + i] : 0;
          sids[i] = in->sample_ids != NULL ? in->sample_ids[start + i] : 0;
        }
      for (guint k = 0; k < n_drop; k++)
        {
          int index = picard_network_find_layer (g_ptr_array_index (net->dropout_names, k));
          guint channels = net->layers[index].cout;

          dbuf[k] = g_renew (float, dbuf[k], (gsize) chunk * channels);
          picard_ref_dropout_mask (in->seed, pids, sids, valid, (guint) index, channels,
                                   net->dropout_p, dbuf[k]);
          if (out->dropout_masks != NULL && out->dropout_masks[k] != NULL)
            memcpy (out->dropout_masks[k] + (gsize) start * channels, dbuf[k],
                    (gsize) valid * channels * sizeof (float));
        }
#define AT(field, per_sample) (out->field != NULL ? out->field + (gsize) start * (per_sample) : NULL)
      c.x_stage1 = AT (x_stage1, sample);
      c.x_stage2 = AT (x_stage2, sample);
      c.completion = AT (completion, sample);
      c.attention = AT (attention, feat_plane);
      c.pmconv6 = AT (pmconv6, feat_plane);
#undef AT
      c.scores = scores;
      ok = net->backend->run (net, &c, error);
      for (guint i = 0; ok && out->offsets != NULL && i < valid; i++)
        for (gsize pos = 0; pos < mm_len; pos++)
          {
            const float *a = scores + (gsize) i * mm_len * mm_len;
            gsize best = 0;
            float *o = out->offsets + ((gsize) (start + i) * 2) * mm_len;

            /* The first maximum, as torch.argmax. */
            for (gsize k = 1; k < mm_len; k++)
              if (a[k * mm_len + pos] > a[best * mm_len + pos])
                best = k;
            o[pos] = (float) (best / (w / 8));
            o[mm_len + pos] = (float) (best % (w / 8));
          }
    }
  for (guint k = 0; k < n_drop; k++)
    g_free (dbuf[k]);
  return ok;
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

gboolean
picard_network_critic (PicardNetwork *net, guint n, guint size, const float *crops,
                       float *features, float *scores, GError **error)
{
  guint f;
  g_autofree float *feat = NULL;

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
  feat = features != NULL ? NULL : g_new (float, (gsize) n * f);
  if (!net->backend->critic (net, n, size, crops, features != NULL ? features : feat, error))
    return FALSE;
  if (scores != NULL && f == net->linear_len)
    for (guint i = 0; i < n; i++)
      {
        const float *row = (features != NULL ? features : feat) + (gsize) i * f;
        double sum = net->linear_b[0];

        for (gsize k = 0; k < f; k++)
          sum += (double) row[k] * net->linear_w[k];
        scores[i] = (float) sum;
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
  return picard_network_get_device_name (PICARD_NETWORK_COMPLETER (completer)->net);
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
  g_autofree float *mask = NULL, *completion = NULL, *gt = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  PicardNetworkInput in = { 0 };
  PicardNetworkOutput out = { 0 };

  if (!completer_check_geometry (completer, p, hh, error))
    return FALSE;
  offset = (p - hh) / 2;
  n = batch->n_patches * batch->n_samples;
  if (n == 0)
    return TRUE;
  pids = g_new (guint32, n);
  sids = g_new (guint32, n);
  for (guint b = 0; b < batch->n_patches; b++)
    for (guint s = 0; s < batch->n_samples; s++)
      {
        guint i = b * batch->n_samples + s;

        pids[i] = batch->patch_ids[b];
        sids[i] = batch->sample_ids[s];
      }
  mask = g_new0 (float, plane);
  for (guint r = offset; r < offset + hh; r++)
    for (guint c = offset; c < offset + hh; c++)
      mask[(gsize) r * p + c] = 1.0f;
  completion = g_new (float, plane * n);
  /* The samples of a patch share its pixels: each patch travels once. */
  in.n = n, in.height = p, in.width = p, in.x = batch->patches, in.mask = mask, in.mask_n = 1;
  in.patch_ids = pids, in.sample_ids = sids, in.seed = batch->seed;
  in.repeat = batch->n_samples;
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
