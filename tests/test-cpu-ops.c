/* The CPU backend's ops (picard-cpu-ops.h) against their C references (picard-ref.h): every
 * convolution shape of the network with its activation and with dropout, odd sizes, and each
 * step of contextual attention. */
#include <math.h>
#include <string.h>

#include "picard-cpu-ops.h"
#include "picard-ref.h"
#include "picard-test-cli.h"

#define NMSE_F32 1e-9
#define NMSE_F32_EXACT 1e-12

static GRand *rng;

static float *
random_floats (gsize count, double lo, double hi)
{
  float *v = g_new (float, count);

  for (gsize i = 0; i < count; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
  return v;
}

typedef struct {
  const char *name;
  guint cin, cout, k, stride, dilation;
  PicardVkActivation act;
} ConvShape;

/* The network's kinds of convolution (channels cut to keep the reference quick). */
static const ConvShape convs[] = {
  { "first 5x5 3->16 elu", 3, 16, 5, 1, 1, PICARD_VK_ACT_ELU },
  { "downsample 16->32 s2", 16, 32, 3, 2, 1, PICARD_VK_ACT_ELU },
  { "atrous d2", 32, 32, 3, 1, 2, PICARD_VK_ACT_ELU },
  { "atrous d4", 32, 32, 3, 1, 4, PICARD_VK_ACT_ELU },
  { "atrous d8", 24, 24, 3, 1, 8, PICARD_VK_ACT_ELU },
  { "atrous d16", 16, 16, 3, 1, 16, PICARD_VK_ACT_ELU },
  { "relu (pmconv6)", 32, 32, 3, 1, 1, PICARD_VK_ACT_RELU },
  { "last 16->1 none", 16, 1, 3, 1, 1, PICARD_VK_ACT_NONE },
  { "critic 5x5 s2 leaky", 8, 16, 5, 2, 1, PICARD_VK_ACT_LEAKY_RELU },
  { "odd channels 5->7", 5, 7, 3, 1, 1, PICARD_VK_ACT_ELU },
};

static void
test_conv (gconstpointer data)
{
  const ConvShape *s = data;
  static const guint sizes[][2] = { { 32, 32 }, { 24, 40 }, { 19, 13 } };

  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    for (guint with_mask = 0; with_mask < 2; with_mask++)
      {
        const guint n = 2, h = sizes[z][0], w = sizes[z][1];
        PicardVkConvParams p = { s->stride, s->dilation, s->dilation * (s->k - 1) / 2, s->act,
                                 s->act == PICARD_VK_ACT_LEAKY_RELU ? 0.2f : 1.0f, 0 };
        guint oh = picard_vk_conv_out_size (h, s->k, s->stride, s->dilation, p.padding);
        guint ow = picard_vk_conv_out_size (w, s->k, s->stride, s->dilation, p.padding);
        gsize out_count = (gsize) n * s->cout * oh * ow;
        g_autofree float *in = random_floats ((gsize) n * s->cin * h * w, -1, 1);
        g_autofree float *weights = random_floats ((gsize) s->cout * s->cin * s->k * s->k,
                                                   -0.3, 0.3);
        g_autofree float *bias = random_floats (s->cout, -0.5, 0.5);
        g_autofree float *mask = g_new (float, (gsize) n * s->cout);
        g_autofree float *got = g_new (float, out_count), *want = g_new (float, out_count);
        g_autofree char *what = g_strdup_printf ("%s %ux%u%s", s->name, w, h,
                                                 with_mask ? " dropout" : "");
        const guint32 patches[2] = { 3, 3 }, samples[2] = { 0, 1 };
        g_autoptr(GError) error = NULL;

        picard_ref_dropout_mask (7, patches, samples, n, 1, s->cout, 0.5f, mask);
        picard_ref_conv2d (n, s->cin, h, w, in, s->cout, s->k, weights, FALSE, bias, &p,
                           with_mask ? mask : NULL, want);
        g_assert_true (picard_cpu_conv2d (n, s->cin, h, w, in, s->cout, s->k, weights, bias, &p,
                                          with_mask ? mask : NULL, got, &error));
        g_assert_no_error (error);
        picard_test_assert_close (what, got, want, out_count, NMSE_F32);
        /* A dropped channel is exactly zero. */
        for (guint c = 0; with_mask && c < s->cout; c++)
          if (mask[c] == 0.0f)
            for (gsize k = 0; k < (gsize) oh * ow; k++)
              g_assert_cmpfloat (got[(gsize) c * oh * ow + k], ==, 0.0f);
      }
}

/* Each step of contextual attention on an h8 x w8 grid of c channels. */
static void
test_attention (void)
{
  static const guint grids[][3] = { { 4, 4, 8 }, { 8, 6, 16 }, { 5, 7, 12 } };

  for (guint g = 0; g < G_N_ELEMENTS (grids); g++)
    {
      const guint h8 = grids[g][0], w8 = grids[g][1], c = grids[g][2];
      const guint h4 = 2 * h8, w4 = 2 * w8;
      const gsize l = (gsize) h8 * w8, k9 = (gsize) c * 9, k16 = (gsize) c * 16;
      g_autofree float *p6 = random_floats ((gsize) c * h4 * w4, -1, 1);
      g_autofree float *pd = random_floats ((gsize) c * l, -1, 1);
      g_autofree float *raw = g_new (float, l * k16), *raw_ref = g_new (float, l * k16);
      g_autofree float *pat = g_new (float, l * k9), *pat_ref = g_new (float, l * k9);
      g_autofree float *pn = g_new (float, l * k9), *pn_ref = g_new (float, l * k9);
      g_autofree float *sc = g_new (float, l * l), *sc_ref = g_new (float, l * l);
      g_autofree float *fused = g_new (float, l * l), *fused_ref = g_new (float, l * l);
      g_autofree float *att = g_new (float, l * l), *att_ref = g_new (float, l * l);
      g_autofree float *mm = g_new (float, l), *cols = g_new (float, l * k16);
      g_autofree float *out = g_new (float, (gsize) c * h4 * w4);
      g_autofree float *out_ref = g_new (float, (gsize) c * h4 * w4);
      g_autofree float *weights_ref = g_new (float, l * k16);
      PicardVkConvParams match = { 1, 1, 1, PICARD_VK_ACT_NONE, 0.0f, 0 };
      g_autoptr(GError) error = NULL;

      picard_cpu_extract_patches (c, h4, w4, p6, 4, 2, raw);
      picard_ref_extract_patches (1, c, h4, w4, p6, 4, 2, 1, raw_ref);
      picard_test_assert_close ("extract 4x4 s2", raw, raw_ref, l * k16, 0.0);
      picard_cpu_extract_patches (c, h8, w8, pd, 3, 1, pat);
      picard_ref_extract_patches (1, c, h8, w8, pd, 3, 1, 1, pat_ref);
      picard_test_assert_close ("extract 3x3", pat, pat_ref, l * k9, 0.0);
      picard_cpu_patch_normalize (l, k9, 1e-4f, pat, pn);
      picard_ref_patch_normalize (l, k9, 1e-4f, pat, pn_ref);
      picard_test_assert_close ("normalize", pn, pn_ref, l * k9, NMSE_F32_EXACT);
      /* Matching: the reference is the 3 x 3 convolution with the normalised patches. */
      g_assert_true (picard_cpu_match (l, k9, pn, pat, sc, &error));
      g_assert_no_error (error);
      picard_ref_conv2d (1, c, h8, w8, pd, (guint) l, 3, pn, FALSE, NULL, &match, NULL, sc_ref);
      picard_test_assert_close ("match", sc, sc_ref, l * l, NMSE_F32);
      for (guint t = 0; t < 2; t++)
        {
          picard_cpu_fuse (h8, w8, t, sc_ref, fused);
          picard_ref_fuse (1, h8, w8, h8, w8, t, sc_ref, fused_ref);
          picard_test_assert_close (t ? "fuse transposed" : "fuse", fused, fused_ref, l * l,
                                    NMSE_F32_EXACT);
        }
      /* Some background patches masked out, as the hole does. */
      for (gsize k = 0; k < l; k++)
        mm[k] = k % 3 == 1 ? 0.0f : 1.0f;
      picard_cpu_softmax (l, fused_ref, mm, 10.0f, att);
      picard_ref_softmax (1, (guint) l, l, fused_ref, mm, 10.0f, att_ref);
      picard_test_assert_close ("softmax", att, att_ref, l * l, NMSE_F32);
      /* Reconstruction: the reference's weights are [c][L][4][4]. */
      for (gsize k = 0; k < l; k++)
        for (gsize e = 0; e < k16; e++)
          weights_ref[(e / 16 * l + k) * 16 + e % 16] = raw_ref[k * k16 + e];
      g_assert_true (picard_cpu_reconstruct (c, h8, w8, att_ref, raw_ref, cols, out, &error));
      g_assert_no_error (error);
      picard_ref_conv_transpose2d (1, (guint) l, h8, w8, att_ref, c, 4, weights_ref, FALSE, 2, 1,
                                   0.25f, out_ref);
      picard_test_assert_close ("reconstruct", out, out_ref, (gsize) c * h4 * w4, NMSE_F32);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261125);
  for (guint i = 0; i < G_N_ELEMENTS (convs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cpu-ops/conv/%s", convs[i].name);
      g_test_add_data_func (path, &convs[i], test_conv);
    }
  g_test_add_func ("/cpu-ops/attention", test_attention);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
