/* test-vk-ops: every op and variant on the Vulkan device against the C reference
 * (compute/picard-ref.c), in the manner of ggml's test-backend-ops: random inputs, a grid of
 * shapes (every convolution of the network at reduced size, odd sizes that do not divide
 * the tiles), normalised mean squared error thresholds per op and precision, NaN/Inf checks.
 * A missing Vulkan device fails the tests: they are never skipped. */
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-ref.h"
#include "picard-test-cli.h"
#include "picard-vk-ops-private.h"

static PicardVkDevice *device;
static GRand *rng;

/* Thresholds: fp32 differs from the reference by summation order only; fp16 stores inputs
 * (pre-rounded, so exact) and outputs with an 11-bit mantissa. */
#define NMSE_F32 1e-9
#define NMSE_F32_EXACT 1e-12
#define NMSE_F16 2e-6

static PicardVkDevice *
get_device (void)
{
  if (device == NULL)
    {
      g_autoptr (GError) error = NULL;
      device = picard_vk_device_new (&error);
      g_assert_no_error (error);
    }
  return device;
}

static float *
random_floats (gsize count, double lo, double hi, PicardVkDtype dtype)
{
  float *v = g_new (float, count);
  for (gsize i = 0; i < count; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
  if (dtype == PICARD_VK_DTYPE_F16)
    picard_ref_round_to_half (v, count);
  return v;
}

static gboolean
dtypes (guint i, PicardVkDtype *dtype)
{
  if (i == 0)
    *dtype = PICARD_VK_DTYPE_F32;
  else if (i == 1 && picard_vk_device_has_fp16 (get_device ()))
    *dtype = PICARD_VK_DTYPE_F16;
  else
    return FALSE;
  return TRUE;
}

static PicardVkTensor *
tensor_with (guint n, guint c, guint h, guint w, PicardVkDtype dtype, const float *data)
{
  g_autoptr (GError) error = NULL;
  PicardVkTensor *t = picard_vk_tensor_new (get_device (), n, c, h, w, dtype, &error);
  g_assert_no_error (error);
  if (data != NULL)
    {
      picard_vk_tensor_upload (t, data, &error);
      g_assert_no_error (error);
    }
  return t;
}

static PicardVkBuffer *
floats_buffer (const float *data, gsize count)
{
  g_autoptr (GError) error = NULL;
  PicardVkBuffer *b = picard_vk_buffer_new (get_device (), count * sizeof (float), &error);
  g_assert_no_error (error);
  if (data != NULL)
    {
      picard_vk_buffer_upload (b, 0, data, count * sizeof (float), &error);
      g_assert_no_error (error);
    }
  return b;
}

static void
run_graph (PicardVkGraph *graph)
{
  g_autoptr (GError) error = NULL;
  picard_vk_graph_run (graph, &error);
  g_assert_no_error (error);
}

static float *
download (PicardVkTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *v = g_new (float, (gsize) t->n * t->c * t->h * t->w);
  picard_vk_tensor_download (t, v, &error);
  g_assert_no_error (error);
  return v;
}

/* ---- convolution ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  guint cin, cout, k, stride, dilation;
  PicardVkActivation act;
} ConvShape;

/* Every convolution of the generator (c = 32) and of the local critic (d = 32); the
 * network's padding is dilation * (k / 2). */
static const ConvShape network_convs[] = {
  { "conv1 5x5 3->32", 3, 32, 5, 1, 1, PICARD_VK_ACT_ELU },
  { "conv2_downsample 32->64 s2", 32, 64, 3, 2, 1, PICARD_VK_ACT_ELU },
  { "conv3 64->64", 64, 64, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "conv4_downsample 64->128 s2", 64, 128, 3, 2, 1, PICARD_VK_ACT_ELU },
  { "conv5 128->128", 128, 128, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "conv7_atrous d2", 128, 128, 3, 1, 2, PICARD_VK_ACT_ELU },
  { "conv8_atrous d4", 128, 128, 3, 1, 4, PICARD_VK_ACT_ELU },
  { "conv9_atrous d8", 128, 128, 3, 1, 8, PICARD_VK_ACT_ELU },
  { "conv10_atrous d16", 128, 128, 3, 1, 16, PICARD_VK_ACT_ELU },
  { "conv13 128->64", 128, 64, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "conv15 64->32", 64, 32, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "conv16 32->16", 32, 16, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "conv17 16->1", 16, 1, 3, 1, 1, PICARD_VK_ACT_NONE },
  { "fine conv2_downsample 32->32 s2", 32, 32, 3, 2, 1, PICARD_VK_ACT_ELU },
  { "fine conv3 32->64", 32, 64, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "fine conv5 64->128", 64, 128, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "pmconv6 relu", 128, 128, 3, 1, 1, PICARD_VK_ACT_RELU },
  { "allconv11 256->128", 256, 128, 3, 1, 1, PICARD_VK_ACT_ELU },
  { "critic conv1 5x5 s2", 1, 32, 5, 2, 1, PICARD_VK_ACT_LEAKY_RELU },
  { "critic conv2 5x5 s2", 32, 64, 5, 2, 1, PICARD_VK_ACT_LEAKY_RELU },
  { "critic conv3 5x5 s2", 64, 128, 5, 2, 1, PICARD_VK_ACT_LEAKY_RELU },
  { "critic conv4 5x5 s2", 128, 128, 5, 2, 1, PICARD_VK_ACT_LEAKY_RELU },
};

typedef struct {
  guint n, h, w;
  gboolean bias, mask, per_sample;
  guint out_extra;  /* channels of a larger output tensor before the result (multiple of 4) */
  guint padding;    /* G_MAXUINT: dilation * (k / 2) */
} ConvCase;

static void
check_conv (const ConvShape *s, const ConvCase *cc, PicardVkDtype dtype)
{
  g_autoptr (GError) error = NULL;
  PicardVkConvParams p = {
    .stride = s->stride, .dilation = s->dilation,
    .padding = cc->padding == G_MAXUINT ? s->dilation * (s->k / 2) : cc->padding,
    .act = s->act, .alpha = 0.2f, .out_c_offset = cc->out_extra,
  };
  guint oh = picard_vk_conv_out_size (cc->h, s->k, p.stride, p.dilation, p.padding);
  guint ow = picard_vk_conv_out_size (cc->w, s->k, p.stride, p.dilation, p.padding);
  guint nw = cc->per_sample ? cc->n : 1;
  gsize in_count = (gsize) cc->n * s->cin * cc->h * cc->w;
  gsize w_count = (gsize) nw * s->cout * s->cin * s->k * s->k;
  gsize out_count = (gsize) cc->n * s->cout * oh * ow;
  g_autofree float *x = random_floats (in_count, -1.0, 1.0, dtype);
  g_autofree float *wt = random_floats (w_count, -1.0, 1.0, dtype);
  g_autofree float *bias = random_floats (s->cout, -0.5, 0.5, PICARD_VK_DTYPE_F32);
  g_autofree float *mask = g_new (float, (gsize) cc->n * s->cout);
  g_autofree float *want = g_new (float, out_count);

  /* Weights scaled so that activations stay O(1) as in a trained network. */
  float scale = 1.0f / sqrtf ((float) (s->cin * s->k * s->k));
  for (gsize i = 0; i < w_count; i++)
    wt[i] *= scale;
  if (dtype == PICARD_VK_DTYPE_F16)
    picard_ref_round_to_half (wt, w_count);
  for (gsize i = 0; i < (gsize) cc->n * s->cout; i++)
    mask[i] = g_rand_boolean (rng) ? 2.0f : 0.0f;

  PicardVkTensor *tin = tensor_with (cc->n, s->cin, cc->h, cc->w, dtype, x);
  PicardVkTensor *tout = tensor_with (cc->n, cc->out_extra + s->cout, oh, ow, dtype, NULL);
  PicardVkWeights *tw = picard_vk_weights_new (get_device (), nw, s->cout, s->cin, s->k, dtype,
                                               &error);
  g_assert_no_error (error);
  picard_vk_weights_upload (tw, wt, &error);
  g_assert_no_error (error);
  PicardVkBuffer *bbias = floats_buffer (bias, s->cout);
  PicardVkBuffer *bmask = floats_buffer (mask, (gsize) cc->n * s->cout);
  picard_vk_buffer_fill_zero (tout->buffer, &error);
  g_assert_no_error (error);

  PicardVkGraph *graph = picard_vk_graph_new (get_device ());
  picard_vk_op_conv2d (graph, &p, tin, tw, cc->bias ? bbias : NULL, cc->mask ? bmask : NULL,
                       tout, &error);
  g_assert_no_error (error);
  run_graph (graph);

  picard_ref_conv2d (cc->n, s->cin, cc->h, cc->w, x, s->cout, s->k, wt, cc->per_sample,
                     cc->bias ? bias : NULL, &p, cc->mask ? mask : NULL, want);
  g_autofree float *all = download (tout);
  g_autofree float *got = g_new (float, out_count);
  for (guint i = 0; i < cc->n; i++)
    {
      const gsize plane = (gsize) oh * ow;
      memcpy (got + (gsize) i * s->cout * plane,
              all + ((gsize) i * (cc->out_extra + s->cout) + cc->out_extra) * plane,
              s->cout * plane * sizeof (float));
      /* Channels before the slice stay untouched (zero). */
      for (gsize e = 0; e < cc->out_extra * plane; e++)
        g_assert_cmpfloat (all[(gsize) i * (cc->out_extra + s->cout) * plane + e], ==, 0.0f);
    }
  const PicardVkConvAlgo algo = picard_vk_device_get_conv_algo (get_device ());
  g_autofree char *what = g_strdup_printf ("conv %s %ux%u n%u %s %s", s->name, cc->h, cc->w,
                                           cc->n, dtype == PICARD_VK_DTYPE_F16 ? "f16" : "f32",
                                           algo == PICARD_VK_CONV_DIRECT ? "direct"
                                           : dtype == PICARD_VK_DTYPE_F16
                                             && picard_vk_device_has_coopmat (get_device ())
                                           ? "coopmat" : "tiled");
  picard_test_assert_close (what, got, want, out_count,
                            dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : NMSE_F32);

  picard_vk_graph_free (graph);
  picard_vk_tensor_free (tin);
  picard_vk_tensor_free (tout);
  picard_vk_weights_free (tw);
  picard_vk_buffer_free (bbias);
  picard_vk_buffer_free (bmask);
}

static void
test_conv_network (gconstpointer data)
{
  const PicardVkConvAlgo algo = GPOINTER_TO_INT (data);
  PicardVkDtype dtype;
  PicardVkConvAlgo saved = picard_vk_device_get_conv_algo (get_device ());

  picard_vk_device_set_conv_algo (get_device (), algo);
  for (guint d = 0; dtypes (d, &dtype); d++)
    for (gsize i = 0; i < G_N_ELEMENTS (network_convs); i++)
      {
        const ConvShape *s = &network_convs[i];
        /* Spatial sizes large enough for the dilation, odd so that no tile divides them;
         * every third shape also on a larger image spanning several workgroups. */
        ConvCase cc = { 2, s->dilation > 4 ? 17 : 7, 9, TRUE, FALSE, FALSE, 0, G_MAXUINT };
        check_conv (s, &cc, dtype);
        if (d == 0 && i % 3 == 0)
          {
            ConvCase big = { 1, 35, 18, TRUE, FALSE, FALSE, 0, G_MAXUINT };
            check_conv (s, &big, dtype);
          }
      }
  picard_vk_device_set_conv_algo (get_device (), saved);
}

static void
test_conv_options (gconstpointer data)
{
  const PicardVkConvAlgo algo = GPOINTER_TO_INT (data);
  PicardVkConvAlgo saved = picard_vk_device_get_conv_algo (get_device ());
  PicardVkDtype dtype;
  static const ConvShape shapes[] = {
    { "none", 5, 7, 3, 1, 1, PICARD_VK_ACT_NONE },
    { "elu", 8, 20, 3, 1, 3, PICARD_VK_ACT_ELU },
    { "relu", 12, 4, 5, 2, 1, PICARD_VK_ACT_RELU },
    { "leaky", 4, 36, 3, 2, 2, PICARD_VK_ACT_LEAKY_RELU },
    { "wide", 6, 200, 3, 1, 1, PICARD_VK_ACT_ELU },  /* more channels than one tile */
  };

  picard_vk_device_set_conv_algo (get_device (), algo);
  for (guint d = 0; dtypes (d, &dtype); d++)
    for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
      {
        /* No bias, dropout, per-sample weights, output into a channel slice, and a
         * padding other than the network's. */
        ConvCase plain = { 3, 11, 7, FALSE, FALSE, FALSE, 0, G_MAXUINT };
        ConvCase dropout = { 3, 6, 17, TRUE, TRUE, FALSE, 0, G_MAXUINT };
        ConvCase per_sample = { 3, 10, 9, TRUE, FALSE, TRUE, 0, 0 };
        ConvCase slice = { 2, 8, 8, TRUE, TRUE, FALSE, 8, 1 };
        check_conv (&shapes[i], &plain, dtype);
        check_conv (&shapes[i], &dropout, dtype);
        check_conv (&shapes[i], &per_sample, dtype);
        check_conv (&shapes[i], &slice, dtype);
      }
  picard_vk_device_set_conv_algo (get_device (), saved);
}

/* Tiles other than the ones each layer gets (PICARD_VK_CONV_TILE sweeps them): the tiled
 * shader must be exact for any tile the device accepts. The last entry is a table: each shape
 * takes a different tile of it. */
static void
test_conv_tiles (void)
{
  static const char *tiles[] = { "4x128x4x4x4", "16x64x8x4x4x2", "32x32x2x8x8", "128x64x4x8x4",
                                 "128x128x4x8x8", "64x64x4x8x8x2", "128x192x4x8x8",
                                 "64x64x5x8x8x2", "4x64x1x4x4x2",
                                 "4x128x4x4x4,32x32x2x8x8,64x64x4x8x8x2,128x64x4x8x4" };
  static const ConvShape shapes[] = {
    { "conv1", 3, 32, 5, 1, 1, PICARD_VK_ACT_ELU },
    { "down", 32, 64, 3, 2, 1, PICARD_VK_ACT_ELU },
    { "atrous", 20, 130, 3, 1, 4, PICARD_VK_ACT_ELU },
    { "last", 16, 1, 3, 1, 1, PICARD_VK_ACT_NONE },
  };
  PicardVkConvAlgo saved = picard_vk_device_get_conv_algo (get_device ());
  g_autoptr (GError) error = NULL;

  picard_vk_device_set_conv_algo (get_device (), PICARD_VK_CONV_TILED);
  for (gsize t = 0; t < G_N_ELEMENTS (tiles); t++)
    {
      g_assert_true (picard_vk_device_set_conv_tile (get_device (), tiles[t], &error));
      g_assert_no_error (error);
      for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
        {
          ConvCase cc = { 2, 19, 13, TRUE, TRUE, t % 2 == 1, 0, G_MAXUINT };
          check_conv (&shapes[i], &cc, PICARD_VK_DTYPE_F32);
        }
    }
  g_assert_false (picard_vk_device_set_conv_tile (get_device (), "8x8x1x3x1", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (picard_vk_device_set_conv_tile (get_device (), "8x8x1x4x2", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (picard_vk_device_set_conv_tile (get_device (), "8x8x1x4x4x3", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_true (picard_vk_device_set_conv_tile (get_device (), NULL, NULL));
  picard_vk_device_set_conv_algo (get_device (), saved);
}

/* fp16 convolutions in the tiled layout's place: on cooperative matrices where the device has
 * them (a GPU), else the tiled shader's fp16 variant (lavapipe has none). Images of several
 * pixel tiles, more channels than a channel tile, per-sample weights and dropout. */
static void
test_conv_coopmat (void)
{
  static const ConvShape wide = { "wide", 6, 200, 3, 1, 1, PICARD_VK_ACT_LEAKY_RELU };
  PicardVkConvAlgo saved = picard_vk_device_get_conv_algo (get_device ());
  const PicardVkDeviceInfo *info = picard_vk_device_get_info (get_device ());

  if (!picard_vk_device_has_fp16 (get_device ()))
    {
      g_assert_false (picard_vk_device_has_coopmat (get_device ()));
      return;
    }
  g_assert_true (!picard_vk_device_has_coopmat (get_device ()) || info->cooperative_matrix);
  picard_vk_device_set_conv_algo (get_device (), PICARD_VK_CONV_TILED);
  for (gsize i = 0; i < G_N_ELEMENTS (network_convs); i++)
    {
      ConvCase cc = { 2, 23, 13, TRUE, i % 3 == 0, i % 2 == 1, 0, G_MAXUINT };
      check_conv (&network_convs[i], &cc, PICARD_VK_DTYPE_F16);
    }
  ConvCase slice = { 3, 17, 19, TRUE, TRUE, FALSE, 8, 1 };
  check_conv (&wide, &slice, PICARD_VK_DTYPE_F16);
  picard_vk_device_set_conv_algo (get_device (), saved);
}

static void
test_conv_errors (void)
{
  g_autoptr (GError) error = NULL;
  PicardVkTensor *in = tensor_with (1, 4, 8, 8, PICARD_VK_DTYPE_F32, NULL);
  PicardVkTensor *out = tensor_with (1, 4, 8, 8, PICARD_VK_DTYPE_F32, NULL);
  PicardVkWeights *wt = picard_vk_weights_new (get_device (), 1, 4, 5, 3, PICARD_VK_DTYPE_F32,
                                               &error);
  g_assert_no_error (error);
  PicardVkGraph *graph = picard_vk_graph_new (get_device ());
  PicardVkConvParams p = { 1, 1, 1, PICARD_VK_ACT_NONE, 0.0f, 0 };

  /* cin 5 against a 4-channel input. */
  g_assert_false (picard_vk_op_conv2d (graph, &p, in, wt, NULL, NULL, out, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* A kernel larger than the padded input. */
  PicardVkConvParams big = { 1, 8, 0, PICARD_VK_ACT_NONE, 0.0f, 0 };
  g_assert_false (picard_vk_op_conv2d (graph, &big, in, wt, NULL, NULL, out, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (picard_vk_graph_get_n_dispatches (graph), ==, 0);

  picard_vk_graph_free (graph);
  picard_vk_weights_free (wt);
  picard_vk_tensor_free (in);
  picard_vk_tensor_free (out);
}

/* ---- dropout ------------------------------------------------------------------------------ */

static float *
gpu_masks (guint n, const guint32 *patches, const guint32 *samples, guint64 seed, guint layer,
           guint channels, float p)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint32 *ids = g_new (guint32, 2 * n);
  for (guint i = 0; i < n; i++)
    {
      ids[2 * i] = patches[i];
      ids[2 * i + 1] = samples[i];
    }
  PicardVkBuffer *bids = picard_vk_buffer_new (get_device (), 2 * n * sizeof (guint32), &error);
  g_assert_no_error (error);
  picard_vk_buffer_upload (bids, 0, ids, 2 * n * sizeof (guint32), &error);
  g_assert_no_error (error);
  PicardVkBuffer *bmask = floats_buffer (NULL, (gsize) n * channels);
  PicardVkGraph *graph = picard_vk_graph_new (get_device ());
  picard_vk_op_dropout_mask (graph, bids, n, seed, layer, channels, p, bmask, &error);
  g_assert_no_error (error);
  run_graph (graph);
  float *mask = g_new (float, (gsize) n * channels);
  picard_vk_buffer_download (bmask, 0, mask, (gsize) n * channels * sizeof (float), &error);
  g_assert_no_error (error);
  picard_vk_graph_free (graph);
  picard_vk_buffer_free (bids);
  picard_vk_buffer_free (bmask);
  return mask;
}

static void
test_dropout_masks (void)
{
  const guint channels = 128, layer = 7;
  const guint64 seed = 1337;
  /* A batch of 4 patches x 10 samples, and the same patch 2 alone in a batch of 10. */
  guint32 patches[40], samples[40];
  for (guint i = 0; i < 40; i++)
    {
      patches[i] = 100 + i / 10;
      samples[i] = i % 10;
    }
  g_autofree float *gpu = gpu_masks (40, patches, samples, seed, layer, channels, 0.5f);
  g_autofree float *ref = g_new (float, 40 * channels);
  picard_ref_dropout_mask (seed, patches, samples, 40, layer, channels, 0.5f, ref);
  g_assert_cmpmem (gpu, 40 * channels * sizeof (float), ref, 40 * channels * sizeof (float));

  g_autofree float *alone = gpu_masks (10, patches + 20, samples + 20, seed, layer, channels,
                                       0.5f);
  g_assert_cmpmem (alone, 10 * channels * sizeof (float), gpu + 20 * channels,
                   10 * channels * sizeof (float));

  /* About half the channels survive, scaled by 2; layers and seeds give other masks. */
  guint kept = 0;
  for (guint i = 0; i < 40 * channels; i++)
    {
      g_assert_true (gpu[i] == 0.0f || gpu[i] == 2.0f);
      kept += gpu[i] != 0.0f;
    }
  g_assert_cmpuint (kept, >, 40 * channels * 45 / 100);
  g_assert_cmpuint (kept, <, 40 * channels * 55 / 100);
  g_autofree float *other_layer = gpu_masks (40, patches, samples, seed, layer + 1, channels,
                                             0.5f);
  g_autofree float *other_seed = gpu_masks (40, patches, samples, seed + 1, layer, channels,
                                            0.5f);
  g_assert_true (memcmp (other_layer, gpu, 40 * channels * sizeof (float)) != 0);
  g_assert_true (memcmp (other_seed, gpu, 40 * channels * sizeof (float)) != 0);

  /* p = 0 keeps everything at scale 1; p = 1 drops everything. */
  g_autofree float *none = gpu_masks (4, patches, samples, seed, layer, channels, 0.0f);
  g_autofree float *all = gpu_masks (4, patches, samples, seed, layer, channels, 1.0f);
  for (guint i = 0; i < 4 * channels; i++)
    {
      g_assert_cmpfloat (none[i], ==, 1.0f);
      g_assert_cmpfloat (all[i], ==, 0.0f);
    }
}

static void
test_philox (void)
{
  /* Known-answer vectors of Random123 for Philox4x32-10. */
  static const guint32 cases[3][10] = {
    { 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
    { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
    { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint32 out[4];
      picard_ref_philox4x32 (cases[i], cases[i] + 4, out);
      g_assert_cmpmem (out, sizeof out, cases[i] + 6, sizeof out);
    }
}

static void
test_half (void)
{
  static const struct { float f; guint16 h; } cases[] = {
    { 0.0f, 0x0000 }, { -0.0f, 0x8000 }, { 1.0f, 0x3c00 }, { -2.0f, 0xc000 },
    { 65504.0f, 0x7bff }, { 65519.0f, 0x7bff }, { 65520.0f, 0x7c00 }, { 1e9f, 0x7c00 },
    { 5.9604645e-08f, 0x0001 }, { 6.1035156e-05f, 0x0400 }, { 1.0009765625f, 0x3c01 },
    /* Ties round to even. */
    { 1.00048828125f, 0x3c00 }, { 1.00146484375f, 0x3c02 }, { 2.98023224e-08f, 0x0000 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmphex (picard_half_from_float (cases[i].f), ==, cases[i].h);
      if (cases[i].h != 0x7c00 || cases[i].f == 65520.0f)
        g_assert_true (isinf (picard_half_to_float (cases[i].h))
                       || fabsf (picard_half_to_float (cases[i].h) - cases[i].f)
                          <= fabsf (cases[i].f) * 1e-3f + 3e-8f);
    }
  g_assert_true (isnan (picard_half_to_float (picard_half_from_float (NAN))));
  /* Every half survives the round trip. */
  for (guint32 h = 0; h < 0x10000; h++)
    if ((h & 0x7c00) != 0x7c00 || (h & 0x3ff) == 0)
      g_assert_cmphex (picard_half_from_float (picard_half_to_float ((guint16) h)), ==, h);
}

/* ---- resampling and elementwise ops ------------------------------------------------------------ */

static void
test_nearest (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    for (guint up = 0; up < 2; up++)
      {
        const guint n = 3, c = 6, h = up ? 9 : 17, w = up ? 7 : 19, f = up ? 2 : (d ? 8 : 2);
        const guint oh = up ? h * f : h / f, ow = up ? w * f : w / f;
        g_autofree float *x = random_floats ((gsize) n * c * h * w, -2, 2, dtype);
        g_autofree float *want = g_new (float, (gsize) n * c * oh * ow);
        PicardVkTensor *tin = tensor_with (n, c, h, w, dtype, x);
        PicardVkTensor *tout = tensor_with (n, c, oh, ow, dtype, NULL);
        PicardVkGraph *graph = picard_vk_graph_new (get_device ());
        if (up)
          picard_vk_op_upsample_nearest (graph, f, tin, tout, &error);
        else
          picard_vk_op_downsample_nearest (graph, f, tin, tout, &error);
        g_assert_no_error (error);
        run_graph (graph);
        picard_ref_nearest (n, c, h, w, x, up, f, want);
        g_autofree float *got = download (tout);
        picard_test_assert_close (up ? "upsample" : "downsample", got, want,
                                  (gsize) n * c * oh * ow, NMSE_F32_EXACT);
        picard_vk_graph_free (graph);
        picard_vk_tensor_free (tin);
        picard_vk_tensor_free (tout);
      }
}

static void
test_clamp_compose_concat (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    {
      const guint n = 4, c = 5, h = 7, w = 11;
      const gsize count = (gsize) n * c * h * w, hw = (gsize) h * w;
      g_autofree float *a = random_floats (count, -3, 3, dtype);
      g_autofree float *b = random_floats (count, -3, 3, dtype);
      g_autofree float *m1 = random_floats (hw, 0, 1, dtype);
      g_autofree float *mn = random_floats (n * hw, 0, 1, dtype);
      g_autofree float *ones = g_new (float, hw);
      for (gsize i = 0; i < hw; i++)
        ones[i] = 1.0f;
      g_autofree float *want = g_new (float, count);
      g_autofree float *want_cat = g_new (float, (gsize) n * (c + 1) * hw);
      g_autofree float *want_cat2 = g_new (float, (gsize) n * (2 * c) * hw);

      PicardVkTensor *ta = tensor_with (n, c, h, w, dtype, a);
      PicardVkTensor *tb = tensor_with (n, c, h, w, dtype, b);
      PicardVkTensor *tm1 = tensor_with (1, 1, h, w, dtype, m1);
      PicardVkTensor *tmn = tensor_with (n, 1, h, w, dtype, mn);
      PicardVkTensor *tones = tensor_with (1, 1, h, w, dtype, ones);
      PicardVkTensor *tclamp = tensor_with (n, c, h, w, dtype, NULL);
      PicardVkTensor *tc1 = tensor_with (n, c, h, w, dtype, NULL);
      PicardVkTensor *tcn = tensor_with (n, c, h, w, dtype, NULL);
      PicardVkTensor *tcat = tensor_with (n, c + 1, h, w, dtype, NULL);
      PicardVkTensor *tcat2 = tensor_with (n, 2 * c, h, w, dtype, NULL);
      PicardVkGraph *graph = picard_vk_graph_new (get_device ());
      picard_vk_op_clamp (graph, -1.0f, 1.0f, ta, tclamp, &error);
      g_assert_no_error (error);
      picard_vk_op_compose (graph, ta, tb, tm1, tc1, &error);
      g_assert_no_error (error);
      picard_vk_op_compose (graph, ta, tb, tmn, tcn, &error);
      g_assert_no_error (error);
      picard_vk_op_concat (graph, ta, tones, tcat, &error);
      g_assert_no_error (error);
      picard_vk_op_concat (graph, tb, ta, tcat2, &error);
      g_assert_no_error (error);
      /* In place, after the others have read ta. */
      picard_vk_op_clamp (graph, -0.5f, 0.5f, tb, tb, &error);
      g_assert_no_error (error);
      run_graph (graph);

      double limit = dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : NMSE_F32_EXACT;
      g_autofree float *got = download (tclamp);
      picard_ref_clamp (count, a, -1.0f, 1.0f, want);
      picard_test_assert_close ("clamp", got, want, count, NMSE_F32_EXACT);
      g_free (got);
      got = download (tc1);
      picard_ref_compose (n, c, h, w, a, n, b, n, m1, 1, want);
      picard_test_assert_close ("compose broadcast mask", got, want, count, limit);
      g_free (got);
      got = download (tcn);
      picard_ref_compose (n, c, h, w, a, n, b, n, mn, n, want);
      picard_test_assert_close ("compose", got, want, count, limit);
      g_free (got);
      got = download (tcat);
      picard_ref_concat (n, h, w, c, a, n, 1, ones, 1, want_cat);
      picard_test_assert_close ("concat broadcast", got, want_cat, (gsize) n * (c + 1) * hw,
                                NMSE_F32_EXACT);
      g_free (got);
      got = download (tcat2);
      picard_ref_concat (n, h, w, c, b, n, c, a, n, want_cat2);
      picard_test_assert_close ("concat", got, want_cat2, (gsize) n * 2 * c * hw, NMSE_F32_EXACT);
      g_free (got);
      got = download (tb);
      picard_ref_clamp (count, b, -0.5f, 0.5f, want);
      picard_test_assert_close ("clamp in place", got, want, count, NMSE_F32_EXACT);

      picard_vk_graph_free (graph);
      PicardVkTensor *all[] = { ta, tb, tm1, tmn, tones, tclamp, tc1, tcn, tcat, tcat2 };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        picard_vk_tensor_free (all[i]);
    }
}

/* Inputs whose batch divides the output's, read in groups (output sample i reads input
 * sample i * batch / n): a shared input per group of samples, as the network's forward uses
 * for the samples of one patch. */
static void
test_grouped_broadcast (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    {
      /* Six samples in groups of three (b, om) and of two (a2, m3). */
      const guint n = 6, c = 5, h = 5, w = 9, gb = 2, ga = 3;
      const gsize hw = (gsize) h * w, count = (gsize) n * c * hw;
      g_autofree float *a = random_floats (count, -3, 3, dtype);
      g_autofree float *a2 = random_floats (ga * c * hw, -3, 3, dtype);
      g_autofree float *b = random_floats (gb * c * hw, -3, 3, dtype);
      g_autofree float *m2 = random_floats (gb * hw, 0, 1, dtype);
      g_autofree float *m3 = random_floats (ga * hw, 0, 1, dtype);
      g_autofree float *om = random_floats (gb * 2 * hw, -1, 1, dtype);
      g_autofree float *want = g_new (float, count);
      g_autofree float *want_cat = g_new (float, (gsize) n * (c + 2) * hw);
      g_autofree float *want_cat2 = g_new (float, (gsize) n * 2 * c * hw);
      g_autofree float *one = g_new (float, c * hw);
      g_autofree float *got = NULL;

      PicardVkTensor *ta = tensor_with (n, c, h, w, dtype, a);
      PicardVkTensor *ta2 = tensor_with (ga, c, h, w, dtype, a2);
      PicardVkTensor *tb = tensor_with (gb, c, h, w, dtype, b);
      PicardVkTensor *tm2 = tensor_with (gb, 1, h, w, dtype, m2);
      PicardVkTensor *tm3 = tensor_with (ga, 1, h, w, dtype, m3);
      PicardVkTensor *tom = tensor_with (gb, 2, h, w, dtype, om);
      PicardVkTensor *tc1 = tensor_with (n, c, h, w, dtype, NULL);
      PicardVkTensor *tc2 = tensor_with (n, c, h, w, dtype, NULL);
      PicardVkTensor *tcat = tensor_with (n, c + 2, h, w, dtype, NULL);
      PicardVkTensor *tcat2 = tensor_with (n, 2 * c, h, w, dtype, NULL);
      PicardVkTensor *tbad = tensor_with (4, c, h, w, dtype, NULL);
      PicardVkGraph *graph = picard_vk_graph_new (get_device ());

      /* As the generator: x_stage * mask + x * (1 - mask) with x shared per group... */
      g_assert_true (picard_vk_op_compose (graph, ta, tb, tm2, tc1, &error));
      g_assert_no_error (error);
      /* ...and groups of another size on a, with the mask per group of a. */
      g_assert_true (picard_vk_op_compose (graph, ta2, ta, tm3, tc2, &error));
      g_assert_no_error (error);
      /* concat (x, ones_mask), both shared per group, and a grouped second input. */
      g_assert_true (picard_vk_op_concat (graph, tb, tom, tcat, &error));
      g_assert_no_error (error);
      g_assert_true (picard_vk_op_concat (graph, ta, ta2, tcat2, &error));
      g_assert_no_error (error);
      /* Four samples do not divide six. */
      g_assert_false (picard_vk_op_compose (graph, ta, tbad, tm2, tc1, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (picard_vk_op_compose (graph, ta, tb, tm2, tbad, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (picard_vk_op_concat (graph, tbad, tom, tcat, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      run_graph (graph);

      double limit = dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : NMSE_F32_EXACT;
      got = download (tc1);
      picard_ref_compose (n, c, h, w, a, n, b, gb, m2, gb, want);
      picard_test_assert_close ("compose grouped b and mask", got, want, count, limit);
      /* The reference reads the group's input: sample 4 is in the second group of three. */
      picard_ref_compose (1, c, h, w, a + 4 * c * hw, 1, b + c * hw, 1, m2 + hw, 1, one);
      g_assert_cmpmem (want + 4 * c * hw, c * hw * sizeof (float), one, c * hw * sizeof (float));
      g_free (got);
      got = download (tc2);
      picard_ref_compose (n, c, h, w, a2, ga, a, n, m3, ga, want);
      picard_test_assert_close ("compose grouped a", got, want, count, limit);
      g_free (got);
      got = download (tcat);
      picard_ref_concat (n, h, w, c, b, gb, 2, om, gb, want_cat);
      picard_test_assert_close ("concat grouped", got, want_cat, (gsize) n * (c + 2) * hw,
                                NMSE_F32_EXACT);
      for (guint i = 0; i < n; i++)
        g_assert_cmpmem (want_cat + (gsize) i * (c + 2) * hw, c * hw * sizeof (float),
                         b + (gsize) (i / 3) * c * hw, c * hw * sizeof (float));
      g_free (got);
      got = download (tcat2);
      picard_ref_concat (n, h, w, c, a, n, c, a2, ga, want_cat2);
      picard_test_assert_close ("concat grouped b", got, want_cat2, (gsize) n * 2 * c * hw,
                                NMSE_F32_EXACT);
      for (guint i = 0; i < n; i++)
        g_assert_cmpmem (want_cat2 + ((gsize) i * 2 + 1) * c * hw, c * hw * sizeof (float),
                         a2 + (gsize) (i / 2) * c * hw, c * hw * sizeof (float));

      picard_vk_graph_free (graph);
      PicardVkTensor *all[] = { ta, ta2, tb, tm2, tm3, tom, tc1, tc2, tcat, tcat2, tbad };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        picard_vk_tensor_free (all[i]);
    }
}

static void
test_bicubic (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;
  static const guint sizes[][4] = {
    { 5, 7, 37, 23 },   /* a score grid stretched over an image */
    { 16, 12, 16, 12 }, /* identity */
    { 19, 23, 8, 9 },   /* downsampling */
    { 1, 1, 4, 3 },
  };

  for (guint d = 0; dtypes (d, &dtype); d++)
    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        const guint n = 2, c = 3, h = sizes[i][0], w = sizes[i][1];
        const guint oh = sizes[i][2], ow = sizes[i][3];
        g_autofree float *x = random_floats ((gsize) n * c * h * w, -1, 1, dtype);
        g_autofree float *want = g_new (float, (gsize) n * c * oh * ow);
        PicardVkTensor *tin = tensor_with (n, c, h, w, dtype, x);
        PicardVkTensor *tout = tensor_with (n, c, oh, ow, dtype, NULL);
        PicardVkGraph *graph = picard_vk_graph_new (get_device ());
        picard_vk_op_bicubic (graph, tin, tout, &error);
        g_assert_no_error (error);
        run_graph (graph);
        picard_ref_bicubic (n, c, h, w, x, oh, ow, want);
        g_autofree float *got = download (tout);
        picard_test_assert_close ("bicubic", got, want, (gsize) n * c * oh * ow,
                                  dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : 1e-11);
        picard_vk_graph_free (graph);
        picard_vk_tensor_free (tin);
        picard_vk_tensor_free (tout);
      }
}

static void
test_bicubic_pytorch (void)
{
  /* Debian's PyTorch 1.13: F.interpolate(torch.arange(12.).reshape(1,1,3,4), size=(5,7),
   * mode='bicubic', align_corners=False), first two rows. */
  static const float want[14] = {
    -0.4832165f, -0.1047548f, 0.5125924f, 1.1160005f, 1.7194074f, 2.3367543f, 2.7152169f,
    1.1647860f, 1.5432469f, 2.1605937f, 2.7640018f, 3.3674085f, 3.9847558f, 4.3632178f,
  };
  g_autoptr (GError) error = NULL;
  float x[12];
  for (guint i = 0; i < 12; i++)
    x[i] = (float) i;
  float ref[35];
  picard_ref_bicubic (1, 1, 3, 4, x, 5, 7, ref);
  for (guint i = 0; i < 14; i++)
    g_assert_cmpfloat_with_epsilon (ref[i], want[i], 2e-5);
  PicardVkTensor *tin = tensor_with (1, 1, 3, 4, PICARD_VK_DTYPE_F32, x);
  PicardVkTensor *tout = tensor_with (1, 1, 5, 7, PICARD_VK_DTYPE_F32, NULL);
  PicardVkGraph *graph = picard_vk_graph_new (get_device ());
  picard_vk_op_bicubic (graph, tin, tout, &error);
  g_assert_no_error (error);
  run_graph (graph);
  g_autofree float *got = download (tout);
  for (guint i = 0; i < 14; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], 2e-5);
  picard_vk_graph_free (graph);
  picard_vk_tensor_free (tin);
  picard_vk_tensor_free (tout);
}

/* ---- contextual attention ---------------------------------------------------------------------- */

static void
test_patches (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;
  /* Raw patches (k 4, stride 2) and matching patches (k 3, stride 1), odd sizes. */
  static const guint params[][3] = { { 4, 2, 1 }, { 3, 1, 1 }, { 3, 2, 2 } };

  for (guint d = 0; dtypes (d, &dtype); d++)
    for (guint i = 0; i < G_N_ELEMENTS (params); i++)
      for (guint transposed = 0; transposed < 2; transposed++)
        {
          const guint n = 2, c = 6, h = 9, w = 7;
          const guint k = params[i][0], stride = params[i][1], rate = params[i][2];
          guint lh = picard_vk_same_padding (h, k, stride, rate, NULL);
          guint lw = picard_vk_same_padding (w, k, stride, rate, NULL);
          guint l = lh * lw;
          gsize count = (gsize) n * l * c * k * k;
          g_autofree float *x = random_floats ((gsize) n * c * h * w, -1, 1, dtype);
          g_autofree float *patches = g_new (float, count);
          g_autofree float *want = g_new (float, count);
          g_autofree float *got = g_new (float, count);
          PicardVkTensor *tin = tensor_with (n, c, h, w, dtype, x);
          PicardVkWeights *wt = picard_vk_weights_new (get_device (), n, transposed ? c : l,
                                                       transposed ? l : c, k, dtype, &error);
          g_assert_no_error (error);
          PicardVkGraph *graph = picard_vk_graph_new (get_device ());
          picard_vk_op_extract_patches (graph, k, stride, rate, transposed, tin, wt, &error);
          g_assert_no_error (error);
          run_graph (graph);
          picard_vk_weights_download (wt, got, &error);
          g_assert_no_error (error);
          picard_ref_extract_patches (n, c, h, w, x, k, stride, rate, patches);
          if (!transposed)
            memcpy (want, patches, count * sizeof (float));
          else
            for (guint b = 0; b < n; b++)
              for (guint p = 0; p < l; p++)
                for (guint ch = 0; ch < c; ch++)
                  memcpy (want + ((((gsize) b * c + ch) * l) + p) * k * k,
                          patches + ((((gsize) b * l + p) * c) + ch) * k * k,
                          k * k * sizeof (float));
          picard_test_assert_close ("patches", got, want, count, NMSE_F32_EXACT);
          picard_vk_graph_free (graph);
          picard_vk_tensor_free (tin);
          picard_vk_weights_free (wt);
        }
}

/* The matching step: normalised patches of b (3x3, stride 1) correlated with f. */
static void
test_matching (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    {
      const guint n = 2, c = 9, h = 7, w = 6, k = 3, l = h * w;
      g_autofree float *f = random_floats ((gsize) n * c * h * w, -1, 1, dtype);
      g_autofree float *bg = random_floats ((gsize) n * c * h * w, -1, 1, dtype);
      g_autofree float *patches = g_new (float, (gsize) n * l * c * k * k);
      g_autofree float *normed = g_new (float, (gsize) n * l * c * k * k);
      g_autofree float *want = g_new (float, (gsize) n * l * h * w);
      PicardVkTensor *tf = tensor_with (n, c, h, w, dtype, f);
      PicardVkTensor *tb = tensor_with (n, c, h, w, dtype, bg);
      PicardVkTensor *tout = tensor_with (n, l, h, w, dtype, NULL);
      PicardVkWeights *raw = picard_vk_weights_new (get_device (), n, l, c, k, dtype, &error);
      g_assert_no_error (error);
      PicardVkWeights *wn = picard_vk_weights_new (get_device (), n, l, c, k, dtype, &error);
      g_assert_no_error (error);
      PicardVkGraph *graph = picard_vk_graph_new (get_device ());
      PicardVkConvParams p = { 1, 1, 1, PICARD_VK_ACT_NONE, 0.0f, 0 };
      picard_vk_op_extract_patches (graph, k, 1, 1, FALSE, tb, raw, &error);
      g_assert_no_error (error);
      picard_vk_op_patch_normalize (graph, 1e-4f, raw, wn, &error);
      g_assert_no_error (error);
      picard_vk_op_conv2d (graph, &p, tf, wn, NULL, NULL, tout, &error);
      g_assert_no_error (error);
      run_graph (graph);

      picard_ref_extract_patches (n, c, h, w, bg, k, 1, 1, patches);
      picard_ref_patch_normalize ((gsize) n * l, (gsize) c * k * k, 1e-4f, patches, normed);
      g_autofree float *got_norm = g_new (float, (gsize) n * l * c * k * k);
      picard_vk_weights_download (wn, got_norm, &error);
      g_assert_no_error (error);
      picard_test_assert_close ("patch-norm", got_norm, normed, (gsize) n * l * c * k * k,
                                dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : 1e-11);
      /* The convolution is checked on what the device normalised (fp16 rounds it). */
      picard_ref_conv2d (n, c, h, w, f, l, k, got_norm, TRUE, NULL, &p, NULL, want);
      g_autofree float *got = download (tout);
      picard_test_assert_close ("matching", got, want, (gsize) n * l * h * w,
                                dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : NMSE_F32);

      picard_vk_graph_free (graph);
      picard_vk_tensor_free (tf);
      picard_vk_tensor_free (tb);
      picard_vk_tensor_free (tout);
      picard_vk_weights_free (raw);
      picard_vk_weights_free (wn);
    }
}

/* Both layouts (the direct one for lavapipe, the tiled one for GPUs). */
static void
test_conv_transpose (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;
  /* Contextual attention's paste (k 4, stride 2, padding 1, / 4) and odd others: more output
   * channels than a channel tile, a kernel smaller than the stride (phases without taps). */
  static const guint params[][6] = {
    /* cin, cout, k, stride, padding, per-sample */
    { 42, 12, 4, 2, 1, 1 }, { 7, 3, 3, 2, 0, 0 }, { 9, 20, 5, 3, 2, 1 }, { 4, 4, 3, 1, 1, 0 },
    { 64, 130, 4, 2, 1, 1 }, { 5, 6, 1, 2, 0, 0 },
  };
  PicardVkConvAlgo saved = picard_vk_device_get_conv_algo (get_device ());

  for (guint algo = 0; algo < 2; algo++)
    for (guint d = 0; dtypes (d, &dtype); d++)
      for (guint i = 0; i < G_N_ELEMENTS (params); i++)
        {
          const guint n = 2, h = 13, w = 11, cin = params[i][0], cout = params[i][1];
          const guint k = params[i][2], stride = params[i][3], pad = params[i][4];
          const gboolean per_sample = params[i][5];
          const guint oh = (h - 1) * stride + k - 2 * pad, ow = (w - 1) * stride + k - 2 * pad;
          const guint nw = per_sample ? n : 1;
          g_autofree float *x = random_floats ((gsize) n * cin * h * w, -1, 1, dtype);
          g_autofree float *wt = random_floats ((gsize) nw * cout * cin * k * k, -1, 1, dtype);
          g_autofree float *want = g_new (float, (gsize) n * cout * oh * ow);
          PicardVkTensor *tin = tensor_with (n, cin, h, w, dtype, x);
          PicardVkTensor *tout = tensor_with (n, cout, oh, ow, dtype, NULL);
          PicardVkWeights *tw = picard_vk_weights_new (get_device (), nw, cout, cin, k, dtype,
                                                       &error);
          g_assert_no_error (error);
          picard_vk_weights_upload (tw, wt, &error);
          g_assert_no_error (error);
          picard_vk_device_set_conv_algo (get_device (),
                                          algo == 0 ? PICARD_VK_CONV_DIRECT : PICARD_VK_CONV_TILED);
          PicardVkGraph *graph = picard_vk_graph_new (get_device ());
          picard_vk_op_conv_transpose2d (graph, stride, pad, 0.25f, tin, tw, tout, &error);
          g_assert_no_error (error);
          run_graph (graph);
          picard_ref_conv_transpose2d (n, cin, h, w, x, cout, k, wt, per_sample, stride, pad,
                                       0.25f, want);
          g_autofree float *got = download (tout);
          picard_test_assert_close ("conv-transpose", got, want, (gsize) n * cout * oh * ow,
                                    dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : NMSE_F32);
          picard_vk_graph_free (graph);
          picard_vk_tensor_free (tin);
          picard_vk_tensor_free (tout);
          picard_vk_weights_free (tw);
        }
  picard_vk_device_set_conv_algo (get_device (), saved);
}

static void
test_fuse_softmax (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    {
      const guint n = 2, hb = 3, wb = 5, hf = 4, wf = 7, l = hb * wb;
      const gsize count = (gsize) n * l * hf * wf;
      g_autofree float *x = random_floats (count, -1, 1, dtype);
      g_autofree float *mm = g_new (float, l);
      for (guint i = 0; i < l; i++)
        mm[i] = i % 4 == 1 ? 0.0f : 1.0f;
      g_autofree float *f1 = g_new (float, count);
      g_autofree float *f2 = g_new (float, count);
      g_autofree float *want = g_new (float, count);
      PicardVkTensor *tin = tensor_with (n, l, hf, wf, dtype, x);
      PicardVkTensor *t1 = tensor_with (n, l, hf, wf, dtype, NULL);
      PicardVkTensor *t2 = tensor_with (n, l, hf, wf, dtype, NULL);
      PicardVkTensor *ts = tensor_with (n, l, hf, wf, dtype, NULL);
      PicardVkBuffer *bmm = floats_buffer (mm, l);
      PicardVkGraph *graph = picard_vk_graph_new (get_device ());
      picard_vk_op_fuse (graph, hb, wb, FALSE, tin, t1, &error);
      g_assert_no_error (error);
      picard_vk_op_fuse (graph, hb, wb, TRUE, t1, t2, &error);
      g_assert_no_error (error);
      picard_vk_op_softmax (graph, 10.0f, bmm, t2, ts, &error);
      g_assert_no_error (error);
      run_graph (graph);

      double limit = dtype == PICARD_VK_DTYPE_F16 ? NMSE_F16 : 1e-11;
      g_autofree float *got1 = download (t1);
      picard_ref_fuse (n, hb, wb, hf, wf, FALSE, x, f1);
      picard_test_assert_close ("fuse", got1, f1, count, limit);
      /* Each later step starts from the device's previous result (fp16 rounds it). */
      g_autofree float *got2 = download (t2);
      picard_ref_fuse (n, hb, wb, hf, wf, TRUE, got1, f2);
      picard_test_assert_close ("fuse transposed", got2, f2, count, limit);
      g_autofree float *got = download (ts);
      picard_ref_softmax (n, l, (gsize) hf * wf, got2, mm, 10.0f, want);
      picard_test_assert_close ("softmax", got, want, count, limit);

      picard_vk_graph_free (graph);
      picard_vk_tensor_free (tin);
      picard_vk_tensor_free (t1);
      picard_vk_tensor_free (t2);
      picard_vk_tensor_free (ts);
      picard_vk_buffer_free (bmm);
    }
}

/* ---- scoring ------------------------------------------------------------------------------------ */

static void
test_l2_reduce (void)
{
  PicardVkDtype dtype;
  g_autoptr (GError) error = NULL;

  for (guint d = 0; dtypes (d, &dtype); d++)
    {
      /* 3 patches x 10 samples, 1-channel 32x32 crops of region 8..23, and 5-channel
       * features over everything. */
      const guint m = 10, groups = 3, n = m * groups;
      static const guint shapes[][6] = { { 1, 32, 32, 8, 8, 16 }, { 5, 4, 4, 0, 0, 4 } };
      for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
        {
          const guint c = shapes[s][0], h = shapes[s][1], w = shapes[s][2];
          const guint y0 = shapes[s][3], x0 = shapes[s][4], r = shapes[s][5];
          g_autofree float *a = random_floats ((gsize) n * c * h * w, -1, 1, dtype);
          g_autofree float *b = random_floats ((gsize) groups * c * h * w, -1, 1, dtype);
          g_autofree float *want = g_new (float, n);
          g_autofree float *got = g_new (float, n);
          PicardVkTensor *ta = tensor_with (n, c, h, w, dtype, a);
          PicardVkTensor *tb = tensor_with (groups, c, h, w, dtype, b);
          PicardVkBuffer *dist = floats_buffer (NULL, n);
          PicardVkGraph *graph = picard_vk_graph_new (get_device ());
          picard_vk_op_l2_distance (graph, ta, tb, m, y0, x0, r, r, dist, &error);
          g_assert_no_error (error);
          run_graph (graph);
          picard_vk_buffer_download (dist, 0, got, n * sizeof (float), &error);
          g_assert_no_error (error);
          picard_ref_l2_distance (n, c, h, w, a, b, m, y0, x0, r, r, want);
          picard_test_assert_close ("l2", got, want, n, 1e-11);
          picard_vk_graph_free (graph);
          picard_vk_tensor_free (ta);
          picard_vk_tensor_free (tb);
          picard_vk_buffer_free (dist);
        }
    }

  for (guint m = 1; m <= 12; m += 3)
    for (guint op = PICARD_VK_REDUCE_MIN; op <= PICARD_VK_REDUCE_MEDIAN; op++)
      {
        /* Once more groups than one row of dispatch_1d's grid holds (65535 x 64). */
        const guint groups = m == 1 && op == PICARD_VK_REDUCE_MIN ? 65535 * 64 + 37 : 37;
        g_autofree float *x = random_floats ((gsize) groups * m, 0, 100, PICARD_VK_DTYPE_F32);
        g_autofree float *want = g_new (float, groups);
        g_autofree float *got = g_new (float, groups);
        PicardVkBuffer *bin = floats_buffer (x, (gsize) groups * m);
        PicardVkBuffer *bout = floats_buffer (NULL, groups);
        PicardVkGraph *graph = picard_vk_graph_new (get_device ());
        picard_vk_op_reduce_groups (graph, op, groups, m, bin, bout, &error);
        g_assert_no_error (error);
        run_graph (graph);
        picard_vk_buffer_download (bout, 0, got, groups * sizeof (float), &error);
        g_assert_no_error (error);
        picard_ref_reduce_groups (op, groups, m, x, want);
        picard_test_assert_close ("reduce", got, want, groups, NMSE_F32_EXACT);
        picard_vk_graph_free (graph);
        picard_vk_buffer_free (bin);
        picard_vk_buffer_free (bout);
      }
  /* The reference's median of an even group is the mean of the middle pair. */
  const float v[4] = { 4.0f, 1.0f, 3.0f, 2.0f };
  float med;
  picard_ref_reduce_groups (PICARD_VK_REDUCE_MEDIAN, 1, 4, v, &med);
  g_assert_cmpfloat (med, ==, 2.5f);

  PicardVkBuffer *tiny = floats_buffer (NULL, 4);
  PicardVkGraph *graph = picard_vk_graph_new (get_device ());
  g_assert_false (picard_vk_op_reduce_groups (graph, PICARD_VK_REDUCE_MIN, 1, 65, tiny, tiny,
                                              &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  picard_vk_graph_free (graph);
  picard_vk_buffer_free (tiny);
}

/* Past 65535 workgroups one-dimensional ops fold their grid into rows of equal length. */
static void
test_fold_groups (void)
{
  static const gsize counts[] = { 0, 1, 65535, 65536, 65537, 131070, 131071, 1 << 22,
                                  (gsize) 65535 * 65535 };
  guint32 gx, gy;

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_assert_true (picard_vk_ops_fold_groups (counts[i], &gx, &gy));
      g_assert_cmpuint (gx, <=, 65535);
      g_assert_cmpuint (gy, >=, 1);
      g_assert_cmpuint ((gsize) gx * gy, >=, counts[i]);
      g_assert_cmpuint ((gsize) gx * gy - counts[i], <, gy);  /* less than one per row idle */
    }
  g_assert_true (picard_vk_ops_fold_groups (65536, &gx, &gy));
  g_assert_cmpuint (gx, ==, 32768);
  g_assert_cmpuint (gy, ==, 2);
  g_assert_false (picard_vk_ops_fold_groups ((gsize) 65535 * 65535 + 1, &gx, &gy));
}

/* The peak benchmark's shader computes what it says: its results are bench-conv's yardstick. */
static void
test_fma_peak (void)
{
  g_autoptr (GError) error = NULL;
  /* The second size needs a folded grid of two rows. */
  const guint sizes[] = { 1000, 65535 * 64 + 100 }, steps = 3;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      const guint invocations = sizes[i];
      g_autofree float *want = g_new (float, (gsize) invocations * 4);
      g_autofree float *got = g_new (float, (gsize) invocations * 4);
      PicardVkBuffer *out = floats_buffer (NULL, (gsize) invocations * 4);
      PicardVkGraph *graph = picard_vk_graph_new (get_device ());

      picard_vk_op_fma_peak (graph, invocations, steps, out, &error);
      g_assert_no_error (error);
      run_graph (graph);
      picard_vk_buffer_download (out, 0, got, (gsize) invocations * 4 * sizeof (float), &error);
      g_assert_no_error (error);
      picard_ref_fma_peak (invocations, steps, want);
      picard_test_assert_close ("fma-peak", got, want, (gsize) invocations * 4, NMSE_F32);
      g_assert_false (picard_vk_op_fma_peak (graph, invocations + 1, steps, out, &error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      picard_vk_graph_free (graph);
      picard_vk_buffer_free (out);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20240611);

  g_test_add_func ("/vk/ref/half", test_half);
  g_test_add_func ("/vk/ref/philox", test_philox);
  g_test_add_func ("/vk/dropout/masks", test_dropout_masks);
  g_test_add_data_func ("/vk/conv/network/direct", GINT_TO_POINTER (PICARD_VK_CONV_DIRECT),
                        test_conv_network);
  g_test_add_data_func ("/vk/conv/network/tiled", GINT_TO_POINTER (PICARD_VK_CONV_TILED),
                        test_conv_network);
  g_test_add_data_func ("/vk/conv/options/direct", GINT_TO_POINTER (PICARD_VK_CONV_DIRECT),
                        test_conv_options);
  g_test_add_data_func ("/vk/conv/options/tiled", GINT_TO_POINTER (PICARD_VK_CONV_TILED),
                        test_conv_options);
  g_test_add_func ("/vk/conv/tiles", test_conv_tiles);
  g_test_add_func ("/vk/conv/coopmat", test_conv_coopmat);
  g_test_add_func ("/vk/conv/errors", test_conv_errors);
  g_test_add_func ("/vk/ops/nearest", test_nearest);
  g_test_add_func ("/vk/ops/clamp-compose-concat", test_clamp_compose_concat);
  g_test_add_func ("/vk/ops/grouped-broadcast", test_grouped_broadcast);
  g_test_add_func ("/vk/ops/bicubic", test_bicubic);
  g_test_add_func ("/vk/ops/bicubic-pytorch", test_bicubic_pytorch);
  g_test_add_func ("/vk/ops/patches", test_patches);
  g_test_add_func ("/vk/ops/matching", test_matching);
  g_test_add_func ("/vk/ops/conv-transpose", test_conv_transpose);
  g_test_add_func ("/vk/ops/fuse-softmax", test_fuse_softmax);
  g_test_add_func ("/vk/ops/l2-reduce", test_l2_reduce);
  g_test_add_func ("/vk/ops/fold-groups", test_fold_groups);
  g_test_add_func ("/vk/ops/fma-peak", test_fma_peak);

  int status = g_test_run ();
  picard_vk_device_free (device);
  g_rand_free (rng);
  return status;
}
