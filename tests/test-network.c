/* The completion network against the PyTorch reference (train/picard_model.py, run by
 * tests/network-reference.py): random-weight checkpoints written by torch.save, loaded by
 * both; coarse, fine and attention outputs and the local critic's features must agree within
 * a normalised MSE of 1e-6, with dropout off and with the C side's dropout masks given to
 * PyTorch. Also the completer's contract (a completion does not depend on its batch).
 * PICARD_TEST_BACKEND=vulkan|cpu picks the backend under test (meson runs both). */
#include "picard-error.h"
#include "picard-network.h"
#include "picard-npy.h"
#include "picard-test-cli.h"
#include "picard-scan.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define NMSE_LIMIT 1e-6

static PicardVkDevice *device;

/* One Vulkan instance per process, never destroyed (lavapipe leaks otherwise). */
static PicardVkDevice *
get_device (void)
{
  if (device == NULL)
    {
      g_autoptr(GError) error = NULL;
      device = picard_vk_device_new (&error);
      g_assert_no_error (error);
    }
  return device;
}

static PicardNetwork *
open_net (const char *path, gint64 iteration, GError **error)
{
  const char *backend = g_getenv ("PICARD_TEST_BACKEND");
  PicardNetwork *net;

  g_assert_true (backend != NULL && (strcmp (backend, "cpu") == 0
                                     || strcmp (backend, "vulkan") == 0));
  net = strcmp (backend, "cpu") == 0 ? picard_network_new_cpu (path, iteration, error)
                                     : picard_network_new (get_device (), path, iteration, error);
  if (net != NULL)
    g_assert_cmpstr (picard_network_get_backend_name (net), ==, backend);
  return net;
}

/* tests/network-reference.py with the NULL-terminated arguments; fails the test if it does. */
static void
run_python (const char *first, ...)
{
  g_autofree char *script = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "tests",
                                              "network-reference.py", NULL);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list list;

  g_ptr_array_add (args, script);
  va_start (list, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (list, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (list);
  g_ptr_array_add (args, NULL);
  g_free (picard_test_run_python (NULL, (const char *const *) args->pdata));
}

static void
compare (const char *dir, const char *name, const float *got, gsize n)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".npy", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(PicardNpy) want = picard_npy_load (path, &error);
  double e;

  g_assert_no_error (error);
  g_assert_cmpuint (want->n_elements, ==, n);
  e = picard_test_nmse (got, want->data, n);
  g_test_message ("%s: nmse %.3g", name, e);
  if (!(e < NMSE_LIMIT))
    g_error ("%s differs from PyTorch: normalised MSE %.3g", name, e);
}

static float
lcg (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return (float) ((*state >> 8) / (double) (1 << 24)) * 2.0f - 1.0f;
}

typedef struct {
  guint cnum, input_dim, ndf, size, hole;
} Config;

/* picard-cli infer on the same files gives the same outputs (dropout off), and with dropout
 * writes one keep mask per layer. */
static void
check_cli (const char *dir, const float *comp, const float *features, gsize n_comp,
           gsize n_features)
{
  const char *cli = g_getenv ("PICARD_CLI");
  g_autofree char *x = g_build_filename (dir, "x.npy", NULL);
  g_autofree char *mask = g_build_filename (dir, "mask.npy", NULL);
  g_autofree char *out = g_build_filename (dir, "cli", NULL);
  g_autofree char *out2 = g_build_filename (dir, "cli-dropout", NULL);
  g_autofree char *masks = g_build_filename (out2, "dropout", NULL);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;
  const char *argv[] = { cli, "infer", "--checkpoint", dir, "--input", x, "--mask", mask,
                         "-o", out, NULL, NULL, NULL };
  GDir *listing;
  guint files = 0;

  g_assert_nonnull (cli);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("picard-cli infer failed: %s", err);
  compare (out, "completion", comp, n_comp);
  compare (out, "features", features, n_features);
  g_clear_pointer (&err, g_free);

  argv[9] = out2;
  argv[10] = "--dropout-layers";
  argv[11] = "released";
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("picard-cli infer --dropout-layers failed: %s", err);
  listing = g_dir_open (masks, 0, &error);
  g_assert_no_error (error);
  while (g_dir_read_name (listing) != NULL)
    files++;
  g_dir_close (listing);
  g_assert_cmpuint (files, ==, 9);
  g_clear_pointer (&err, g_free);

  /* A wrong mask shape is refused with a message naming the file. */
  g_autofree char *wrong = g_build_filename (out, "offsets.npy", NULL);
  argv[7] = wrong;
  argv[10] = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "offsets.npy: the mask must be"));
}

static void
test_against_pytorch (gconstpointer data)
{
  const Config *cfg = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autofree char *cnum = g_strdup_printf ("%u", cfg->cnum);
  g_autofree char *dim = g_strdup_printf ("%u", cfg->input_dim);
  g_autofree char *ndf = g_strdup_printf ("%u", cfg->ndf);
  const guint n = 3, d = cfg->input_dim, s = cfg->size, hole = cfg->hole;
  /* An off-centre hole, so that attention sees background on every side but unevenly. */
  const guint y0 = s / 2 - hole / 2 + 8, x0 = s / 2 - hole / 2 - 8;
  g_autofree char *crop = g_strdup_printf ("%u,%u,%u", y0, x0, hole);
  gsize plane = (gsize) s * s, sample = plane * d, feat = (gsize) 4 * cfg->cnum * (s / 4) * (s / 4);
  g_autofree float *x = g_new (float, sample * n);
  g_autofree float *mask = g_new0 (float, plane);
  g_autofree float *xs1 = g_new (float, sample * n), *xs2 = g_new (float, sample * n);
  g_autofree float *comp = g_new (float, sample * n);
  g_autofree float *att = g_new (float, feat * n), *p6 = g_new (float, feat * n);
  g_autofree float *crops = g_new (float, (gsize) n * d * hole * hole);
  g_autofree float *offsets = g_new (float, (gsize) n * 2 * (s / 8) * (s / 8));
  g_autoptr(PicardNetwork) net = NULL;
  guint f;
  g_autofree float *features = NULL;
  guint32 state = 12345;
  guint32 pids[3] = { 7, 7, 1000 }, sids[3] = { 0, 1, 0 };
  g_autofree float *xs2_off = g_new (float, sample * n);

  g_assert_no_error (error);
  run_python ("checkpoint", dir, "--cnum", cnum, "--input-dim", dim, "--ndf", ndf, NULL);

  net = open_net (dir, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_network_get_cnum (net), ==, cfg->cnum);
  g_assert_cmpuint (picard_network_get_input_dim (net), ==, d);
  g_assert_cmpuint (picard_network_get_ndf (net), ==, cfg->ndf);
  g_assert_cmpint (picard_network_get_iteration (net), ==, 0);
  f = picard_network_get_feature_length (net, hole);
  g_assert_cmpuint (f, ==, 4 * cfg->ndf * (hole / 16) * (hole / 16));
  features = g_new (float, (gsize) n * f);

  for (guint r = y0; r < y0 + hole; r++)
    for (guint c = x0; c < x0 + hole; c++)
      mask[(gsize) r * s + c] = 1.0f;
  /* Smooth structure plus noise, the hole blanked as PICARD does. */
  for (guint i = 0; i < n; i++)
    for (guint ch = 0; ch < d; ch++)
      for (gsize k = 0; k < plane; k++)
        {
          float v = 0.6f * sinf ((float) (k % s) * 0.11f * (i + 1) + ch)
                    * cosf ((float) (k / s) * 0.07f) + 0.3f * lcg (&state);
          x[(gsize) i * sample + ch * plane + k] = v * (1.0f - mask[k]);
        }
  {
    g_autofree char *xp = g_build_filename (dir, "x.npy", NULL);
    g_autofree char *mp = g_build_filename (dir, "mask.npy", NULL);
    gsize xshape[4] = { n, d, s, s }, mshape[4] = { 1, 1, s, s };
    g_autofree float *masks = g_new (float, plane * n);

    g_assert_true (picard_npy_save_float32 (xp, 4, xshape, x, &error));
    for (guint i = 0; i < n; i++)
      memcpy (masks + (gsize) i * plane, mask, plane * sizeof (float));
    mshape[0] = n;
    g_assert_true (picard_npy_save_float32 (mp, 4, mshape, masks, &error));
    g_assert_no_error (error);
  }

  for (guint pass = 0; pass < 2; pass++)
    {
      const char *tag = pass == 0 ? "off" : "dropout";
      g_autofree char *out_dir = g_build_filename (dir, tag, NULL);
      g_autofree char *mask_dir = g_build_filename (dir, "masks", NULL);
      PicardNetworkInput in = { n, s, s, x, mask, 1, pids, sids, 99 };
      PicardNetworkOutput out = { xs1, xs2, comp, att, p6, offsets, NULL };
      g_autoptr(GPtrArray) dmasks = g_ptr_array_new_with_free_func (g_free);
      const char *const *layers;

      if (pass == 1)
        {
          g_assert_true (picard_network_set_dropout (net, picard_network_dropout_released (),
                                                     0.5f, &error));
          g_assert_no_error (error);
          /* Two chunks of two: the last one padded. */
          picard_network_set_max_chunk (net, 2);
        }
      layers = picard_network_get_dropout_layers (net);
      for (guint k = 0; layers[k] != NULL; k++)
        g_ptr_array_add (dmasks, g_new (float, n * picard_network_layer_channels (net,
                                                                                  layers[k])));
      g_assert_cmpuint (dmasks->len, ==, pass == 0 ? 0 : 9);
      out.dropout_masks = (float **) dmasks->pdata;
      g_assert_true (picard_network_forward (net, &in, &out, NULL, &error));
      g_assert_no_error (error);

      if (pass == 1)
        {
          guint dropped = 0, total = 0;

          g_assert_cmpint (g_mkdir (mask_dir, 0755), ==, 0);
          for (guint k = 0; layers[k] != NULL; k++)
            {
              guint c = picard_network_layer_channels (net, layers[k]);
              g_autofree char *file = g_strconcat (layers[k], ".npy", NULL);
              g_autofree char *path = g_build_filename (mask_dir, file, NULL);
              g_autofree float *keep = g_new (float, n * c);
              gsize shape[2] = { n, c };
              float *m = g_ptr_array_index (dmasks, k);

              for (gsize i = 0; i < (gsize) n * c; i++)
                {
                  g_assert_true (m[i] == 0.0f || m[i] == 2.0f);
                  keep[i] = m[i] > 0.0f;
                  dropped += m[i] == 0.0f;
                  total++;
                }
              /* Samples 0 and 1 of patch 7 differ: the masks are per sample. */
              g_assert_false (memcmp (m, m + c, c * sizeof (float)) == 0);
              g_assert_true (picard_npy_save_float32 (path, 2, shape, keep, &error));
            }
          /* About half of the channels drop at p = 0.5. */
          g_assert_cmpuint (dropped, >, total / 4);
          g_assert_cmpuint (dropped, <, 3 * total / 4);
          run_python ("run", dir, "--crop", crop, "--dropout", mask_dir, "--dropout-p", "0.5",
                      "--out", out_dir, NULL);
        }
      else
        run_python ("run", dir, "--crop", crop, "--out", out_dir, NULL);

      for (guint i = 0; i < n; i++)
        for (guint ch = 0; ch < d; ch++)
          for (guint r = 0; r < hole; r++)
            memcpy (crops + (((gsize) i * d + ch) * hole + r) * hole,
                    comp + (gsize) i * sample + ch * plane + (gsize) (y0 + r) * s + x0,
                    hole * sizeof (float));
      g_assert_true (picard_network_critic (net, n, hole, crops, features, NULL, &error));
      g_assert_no_error (error);

      compare (out_dir, "x_stage1", xs1, sample * n);
      compare (out_dir, "x_stage2", xs2, sample * n);
      compare (out_dir, "completion", comp, sample * n);
      compare (out_dir, "pmconv6", p6, feat * n);
      compare (out_dir, "attention", att, feat * n);
      compare (out_dir, "features", features, (gsize) n * f);
      /* Dropout changes the output (else the masks were not tested). */
      if (pass == 0)
        memcpy (xs2_off, xs2, sample * n * sizeof (float));
      else
        g_assert_cmpfloat (picard_test_nmse (xs2, xs2_off, sample * n), >, 1e-4);
      if (pass == 0 && cfg->cnum == 8 && d == 1)
        check_cli (dir, comp, features, (gsize) n * sample, (gsize) n * f);
      /* Outside the hole the completion is the input, exactly. */
      for (gsize k = 0; k < plane; k++)
        if (mask[k] == 0.0f)
          g_assert_cmpfloat (comp[k], ==, x[k]);
    }
  picard_test_remove_tree (dir);
}

/* The critic's score on 128 x 128 crops against PyTorch's LocalDis. */
static void
test_critic_score (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autofree char *out_dir = g_build_filename (dir, "out", NULL);
  const guint n = 2, s = 128;
  gsize plane = (gsize) s * s;
  g_autofree float *x = g_new (float, plane * n), *mask = g_new0 (float, plane * n);
  g_autofree float *comp = g_new (float, plane * n);
  g_autoptr(PicardNetwork) net = NULL;
  float scores[2];
  guint f;
  g_autofree float *features = NULL;
  guint32 state = 77;

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  net = open_net (dir, 0, &error);
  g_assert_no_error (error);
  f = picard_network_get_feature_length (net, s);
  features = g_new (float, f * n);
  /* A 16 x 16 hole: the crop is the whole completion. */
  for (guint i = 0; i < n; i++)
    for (gsize k = 0; k < plane; k++)
      {
        mask[i * plane + k] = (k / s) >= 56 && (k / s) < 72 && (k % s) >= 56 && (k % s) < 72;
        x[i * plane + k] = lcg (&state) * (1.0f - mask[i * plane + k]);
      }
  {
    g_autofree char *xp = g_build_filename (dir, "x.npy", NULL);
    g_autofree char *mp = g_build_filename (dir, "mask.npy", NULL);
    gsize shape[4] = { n, 1, s, s };
    g_assert_true (picard_npy_save_float32 (xp, 4, shape, x, &error));
    g_assert_true (picard_npy_save_float32 (mp, 4, shape, mask, &error));
  }
  {
    PicardNetworkInput in = { n, s, s, x, mask, n, NULL, NULL, 0 };
    PicardNetworkOutput out = { .completion = comp };
    g_assert_true (picard_network_forward (net, &in, &out, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_true (picard_network_critic (net, n, s, comp, features, scores, &error));
  g_assert_no_error (error);
  run_python ("run", dir, "--crop", "0,0,128", "--out", out_dir, NULL);
  compare (out_dir, "completion", comp, plane * n);
  compare (out_dir, "features", features, (gsize) f * n);
  compare (out_dir, "scores", scores, n);
  picard_test_remove_tree (dir);
}

/* Same (seed, patch id, sample id, pixels): same completion, whatever the batch. */
static void
test_completer_contract (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autoptr(PicardNetwork) net = NULL;
  g_autoptr(PicardCompleter) completer = NULL;
  const guint p = 64, hh = 32, f_len = 4 * 4 * 2 * 2;
  g_autofree float *patches = g_new (float, 2 * p * p);
  float holes_a[2 * 3 * 32 * 32], holes_b[32 * 32];
  float feat_a[2 * 3 * 64], feat_b[64], gt_a[2 * 64], gt_b[64];
  guint32 ids_a[2] = { 5, 9 }, ids_b[1] = { 9 }, samples_a[3] = { 0, 1, 2 }, samples_b[1] = { 1 };
  guint32 state = 3;
  char *hash_off;

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  net = open_net (dir, -1, &error);
  g_assert_no_error (error);
  hash_off = g_strdup (picard_network_get_model_hash (net));
  g_assert_true (picard_network_set_dropout (net, picard_network_dropout_paper (), 0.5f,
                                             &error));
  g_assert_cmpstr (hash_off, !=, picard_network_get_model_hash (net));
  g_assert_cmpuint (strlen (picard_network_get_model_hash (net)), ==, 64);
  g_free (hash_off);
  completer = picard_network_completer_new (net, 3);
  g_assert_cmpuint (picard_completer_get_feature_length (completer, hh), ==, f_len);
  g_assert_cmpuint (picard_completer_get_batch_size (completer), >=, 1);
  g_assert_true (picard_completer_check_geometry (completer, p, hh, &error));
  g_assert_false (picard_completer_check_geometry (completer, p, 24, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  for (guint k = 0; k < 2 * p * p; k++)
    patches[k] = lcg (&state);

  {
    PicardCompletionBatch a = { p, hh, 2, patches, ids_a, 3, samples_a, 42 };
    PicardCompletionBatch b = { p, hh, 1, patches + p * p, ids_b, 1, samples_b, 42 };

    g_assert_true (picard_completer_complete (completer, &a, holes_a, feat_a, gt_a, NULL,
                                              &error));
    g_assert_no_error (error);
    /* A different chunking too. */
    picard_network_set_max_chunk (net, 1);
    g_assert_true (picard_completer_complete (completer, &b, holes_b, feat_b, gt_b, NULL,
                                              &error));
    g_assert_no_error (error);
    /* Patch 9 is the second patch of a; sample 1 its second sample. */
    g_assert_cmpmem (holes_b, sizeof holes_b, holes_a + (1 * 3 + 1) * hh * hh, sizeof holes_b);
    g_assert_cmpmem (feat_b, sizeof feat_b, feat_a + (1 * 3 + 1) * f_len, sizeof feat_b);
    g_assert_cmpmem (gt_b, sizeof gt_b, gt_a + f_len, sizeof gt_b);
    /* Dropout makes the samples of one patch differ. */
    g_assert_false (memcmp (holes_a, holes_a + hh * hh, sizeof holes_b) == 0);
    for (guint k = 0; k < G_N_ELEMENTS (holes_a); k++)
      g_assert_true (holes_a[k] >= -1.0f && holes_a[k] <= 1.0f);
  }
  picard_test_remove_tree (dir);
}

/* Every output of forward() for the repeat test: x_stage1, x_stage2, completion, attention,
 * pmconv6, offsets and the dropout masks. */
enum { REPEAT_OUTPUTS = 6 };

typedef struct {
  float *o[REPEAT_OUTPUTS];
  float **drop;
} RepeatOutputs;

static void
repeat_forward (PicardNetwork *net, const PicardNetworkInput *in, RepeatOutputs *r)
{
  g_autoptr(GError) error = NULL;
  PicardNetworkOutput out = { r->o[0], r->o[1], r->o[2], r->o[3], r->o[4], r->o[5], r->drop };

  g_assert_true (picard_network_forward (net, in, &out, NULL, &error));
  g_assert_no_error (error);
}

/* Samples that share an input (repeat) give the same bits as each with its own copy, whatever
 * the chunking: whole groups per chunk, a cap that is no multiple of the group (chunks of
 * whole groups below it, the last one short), and caps smaller than a group (every sample
 * its own row again); with one mask for the batch and with one per row. */
static void
test_repeat (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autoptr(PicardNetwork) net = NULL;
  enum { ROWS = 3, REPEAT = 3, N = ROWS * REPEAT, S = 32 };
  const gsize plane = (gsize) S * S, feat = (gsize) 4 * 4 * (S / 4) * (S / 4);
  const gsize lens[REPEAT_OUTPUTS] = { plane, plane, plane, feat, feat,
                                       2 * (gsize) (S / 8) * (S / 8) };
  const guint caps[] = { 0, 7, 4, 2, 1 };
  g_autofree float *x = g_new (float, plane * ROWS), *mask = g_new0 (float, plane * ROWS);
  g_autofree float *x_all = g_new (float, plane * N), *mask_all = g_new (float, plane * N);
  g_autofree float *one_mask_completion = g_new (float, plane * N);
  guint32 pids[N], sids[N], state = 21;
  const char *const *layers;
  guint n_drop;
  gsize *drop_len;
  RepeatOutputs want, got;

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  net = open_net (dir, -1, &error);
  g_assert_no_error (error);
  /* Dropout makes the samples of a group differ, so a sample reading a wrong row shows. */
  g_assert_true (picard_network_set_dropout (net, picard_network_dropout_paper (), 0.5f,
                                             &error));
  layers = picard_network_get_dropout_layers (net);
  n_drop = g_strv_length ((char **) layers);
  g_assert_cmpuint (n_drop, >, 0);
  drop_len = g_new (gsize, n_drop);
  want.drop = g_new (float *, n_drop);
  got.drop = g_new (float *, n_drop);
  for (guint k = 0; k < n_drop; k++)
    {
      drop_len[k] = (gsize) N * picard_network_layer_channels (net, layers[k]);
      want.drop[k] = g_new (float, drop_len[k]);
      got.drop[k] = g_new (float, drop_len[k]);
    }
  for (guint k = 0; k < REPEAT_OUTPUTS; k++)
    {
      want.o[k] = g_new (float, lens[k] * N);
      got.o[k] = g_new (float, lens[k] * N);
    }
  /* Each row its own pixels and hole (row 1's off centre); the pixels under the hole are set:
   * forward() blanks them. */
  for (guint r = 0; r < ROWS; r++)
    for (gsize k = 0; k < plane; k++)
      {
        guint y = k / S, xx = k % S, top = r == 1 ? 4 : 8;

        mask[r * plane + k] = y >= top && y < top + 16 && xx >= 8 && xx < 24;
        x[r * plane + k] = lcg (&state);
      }
  for (guint i = 0; i < N; i++)
    {
      memcpy (x_all + i * plane, x + (i / REPEAT) * plane, plane * sizeof (float));
      memcpy (mask_all + i * plane, mask + (i / REPEAT) * plane, plane * sizeof (float));
      pids[i] = 100 + i / REPEAT;
      sids[i] = i % REPEAT;
    }

  for (guint m = 0; m < 2; m++)
    {
      guint mask_rows = m == 0 ? 1 : ROWS;
      /* The reference: every sample its own copy, in one chunk. */
      PicardNetworkInput all = { N, S, S, x_all, m == 0 ? mask : mask_all, m == 0 ? 1 : N,
                                 pids, sids, 5, 0 };

      picard_network_set_max_chunk (net, 0);
      repeat_forward (net, &all, &want);
      /* The samples of a group differ (dropout), as do the two mask settings. */
      g_assert_false (memcmp (want.o[2], want.o[2] + plane, plane * sizeof (float)) == 0);
      if (m == 0)
        memcpy (one_mask_completion, want.o[2], plane * N * sizeof (float));
      else
        g_assert_false (memcmp (one_mask_completion + 3 * plane, want.o[2] + 3 * plane,
                                plane * sizeof (float)) == 0);
      for (guint ci = 0; ci < G_N_ELEMENTS (caps); ci++)
        {
          PicardNetworkInput in = { N, S, S, x, mask, mask_rows, pids, sids, 5, REPEAT };

          picard_network_set_max_chunk (net, caps[ci]);
          for (guint k = 0; k < REPEAT_OUTPUTS; k++)
            memset (got.o[k], 0xff, lens[k] * N * sizeof (float));
          repeat_forward (net, &in, &got);
          for (guint k = 0; k < REPEAT_OUTPUTS; k++)
            g_assert_cmpmem (got.o[k], lens[k] * N * sizeof (float), want.o[k],
                             lens[k] * N * sizeof (float));
          for (guint k = 0; k < n_drop; k++)
            g_assert_cmpmem (got.drop[k], drop_len[k] * sizeof (float), want.drop[k],
                             drop_len[k] * sizeof (float));
        }
    }
  picard_network_set_max_chunk (net, 0);
  {
    /* Eight samples are no whole groups of three; a mask per sample is not one per row. */
    PicardNetworkInput in = { N - 1, S, S, x, mask, 1, pids, sids, 5, REPEAT };
    PicardNetworkOutput out = { .completion = got.o[2] };

    g_assert_false (picard_network_forward (net, &in, &out, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    in.n = N, in.mask = mask_all, in.mask_n = N;
    g_assert_false (picard_network_forward (net, &in, &out, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  for (guint k = 0; k < REPEAT_OUTPUTS; k++)
    {
      g_free (want.o[k]);
      g_free (got.o[k]);
    }
  for (guint k = 0; k < n_drop; k++)
    {
      g_free (want.drop[k]);
      g_free (got.drop[k]);
    }
  g_free (want.drop);
  g_free (got.drop);
  g_free (drop_len);
  picard_test_remove_tree (dir);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autofree char *gen = g_build_filename (dir, "gen_00000000.pt", NULL);
  g_autoptr(PicardNetwork) net = NULL;
  const char *bad_layers[] = { "coarse_generator.conv99", NULL };
  float x[16 * 12] = { 0 };

  net = open_net (dir, -1, &error);
  g_assert_null (net);
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (gen, "not a checkpoint", -1, NULL));
  net = open_net (gen, -1, &error);
  g_assert_null (net);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (g_remove (gen), ==, 0);

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  net = open_net (dir, -1, &error);
  g_assert_no_error (error);
  g_assert_false (picard_network_set_dropout (net, bad_layers, 0.5f, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "conv99"));
  g_clear_error (&error);
  g_assert_false (picard_network_set_dropout (net, NULL, 1.0f, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  {
    /* 12 is not a multiple of 8. */
    PicardNetworkInput in = { 1, 16, 12, x, x, 1, NULL, NULL, 0 };
    PicardNetworkOutput out = { 0 };
    g_assert_false (picard_network_forward (net, &in, &out, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_false (picard_network_critic (net, 1, 24, x, NULL, NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  picard_test_remove_tree (dir);
}


/* picard-cli complete on a phantom slice: a strip image and M distances, reproducible by
 * seed, different across seeds. */
static void
test_cli_complete (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autofree char *phantom = g_build_filename (dir, "phantom", NULL);
  g_autofree char *volume = NULL;
  g_autofree char *png = g_build_filename (dir, "strip.png", NULL);
  g_autofree char *out1 = NULL, *out2 = NULL, *out3 = NULL, *err = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  GDir *listing;
  const char *name;

  g_assert_cmpint (picard_test_run_cli (NULL, NULL, "phantom", "-o", phantom, "--rows", "160", "--columns",
                            "128", "--frames", "3", "--seed", "3", NULL), ==, 0);
  g_autofree char *patient = g_build_filename (phantom, "Phantom-3", NULL);
  listing = g_dir_open (patient, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_suffix (name, ".dcm"))
      volume = g_build_filename (patient, name, NULL);
  g_dir_close (listing);
  g_assert_nonnull (volume);
  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);

  g_assert_cmpint (picard_test_run_cli (&out1, NULL, "complete", "--checkpoint", dir, "--volume", volume,
                            "--slice", "1", "--at", "500,20", "-M", "3", "--patch-size", "64",
                            "--hole-size", "32", "--seed", "5", "-o", png, NULL), ==, 0);
  g_assert_true (g_file_get_contents (png, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 8);
  g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_nonnull (strstr (out1, "completion 2: critic L2 "));
  g_assert_cmpint (picard_test_run_cli (&out2, NULL, "complete", "--checkpoint", dir, "--volume", volume,
                            "--slice", "1", "--at", "500,20", "-M", "3", "--patch-size", "64",
                            "--hole-size", "32", "--seed", "5", "-o", png, NULL), ==, 0);
  g_assert_cmpstr (out1, ==, out2);
  g_assert_cmpint (picard_test_run_cli (&out3, NULL, "complete", "--checkpoint", dir, "--volume", volume,
                            "--slice", "1", "--at", "500,20", "-M", "3", "--patch-size", "64",
                            "--hole-size", "32", "--seed", "6", "-o", png, NULL), ==, 0);
  g_assert_cmpstr (out1, !=, out3);
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "complete", "--checkpoint", dir, "--volume", volume,
                            "--slice", "9", "--at", "50,50", "-o", png, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "slice 9 is outside"));
  /* No sizes given: the demo model's own (64 / 32), which this 128-pixel-wide slice holds;
   * the default 256 would not fit. */
  g_autofree char *demo = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "train",
                                            "demo-model", NULL);
  g_autofree char *demo_out = NULL;
  g_assert_cmpint (picard_test_run_cli (&demo_out, NULL, "complete", "--checkpoint", demo,
                                        "--volume", volume, "--slice", "1", "--at", "60,60",
                                        "-M", "2", "-o", png, NULL), ==, 0);
  g_assert_nonnull (strstr (demo_out, "completion 1: critic L2 "));
  picard_test_remove_tree (dir);
}

/* AUTO takes oneDNN when the only Vulkan device is a CPU one (lavapipe here), and Vulkan
 * when PICARD_VK_DEVICE names a device; PICARD_BACKEND and the explicit choices override. */
static void
test_backend_choice (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  g_autofree char *backend = g_strdup (g_getenv ("PICARD_BACKEND"));
  PicardNetwork *net;
  PicardBackend parsed;

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  g_unsetenv ("PICARD_BACKEND");
  g_unsetenv ("PICARD_VK_DEVICE");
  net = picard_network_open (PICARD_BACKEND_AUTO, dir, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (picard_network_get_backend_name (net), ==, "cpu");
  g_assert_null (picard_network_get_device (net));
  g_assert_nonnull (strstr (picard_network_get_backend_reason (net), "runs on the CPU"));
  g_assert_nonnull (strstr (picard_network_get_device_name (net), "oneDNN"));
  picard_network_free (net);

  g_setenv ("PICARD_VK_DEVICE", "0", TRUE);
  net = picard_network_open (PICARD_BACKEND_AUTO, dir, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (picard_network_get_backend_name (net), ==, "vulkan");
  g_assert_nonnull (picard_network_get_device (net));
  picard_network_free (net);
  g_unsetenv ("PICARD_VK_DEVICE");

  g_setenv ("PICARD_BACKEND", "vulkan", TRUE);
  net = picard_network_open (PICARD_BACKEND_AUTO, dir, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (picard_network_get_backend_name (net), ==, "vulkan");
  picard_network_free (net);
  /* An explicit choice wins over the environment. */
  net = picard_network_open (PICARD_BACKEND_CPU, dir, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (picard_network_get_backend_name (net), ==, "cpu");
  picard_network_free (net);

  g_setenv ("PICARD_BACKEND", "tpu", TRUE);
  g_assert_null (picard_network_open (PICARD_BACKEND_AUTO, dir, -1, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "PICARD_BACKEND"));
  g_clear_error (&error);
  g_assert_true (picard_backend_from_string ("CPU", &parsed, NULL));
  g_assert_cmpint (parsed, ==, PICARD_BACKEND_CPU);
  g_assert_false (picard_backend_from_string ("gpu", &parsed, &error));
  g_assert_nonnull (strstr (error->message, "vulkan"));
  g_setenv ("PICARD_BACKEND", backend, TRUE);
  picard_test_remove_tree (dir);
}

/* The same scan (dropout on, same seed) on both backends: the same heatmap, up to rounding. */
static void
test_backends_agree (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-network-XXXXXX", &error);
  const guint rows = 96, columns = 112;
  g_autofree float *slice = g_new (float, rows * columns);
  PicardScanResult *results[2];
  PicardScanParams params;
  PicardScanMetric mcd = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_IMAGE };
  PicardScanMetric feature = { PICARD_SCAN_REDUCE_MIN, PICARD_SCAN_SPACE_FEATURE };
  float *grids[4];
  guint32 state = 9;

  run_python ("checkpoint", dir, "--cnum", "4", "--input-dim", "1", "--ndf", "4", NULL);
  for (guint k = 0; k < rows * columns; k++)
    slice[k] = 0.5f + 0.3f * sinf ((float) (k % columns) * 0.2f) * cosf ((float) (k / columns)
                                                                          * 0.15f)
               + 0.1f * lcg (&state);
  picard_scan_params_init (&params);
  params.patch_size = 64, params.hole_size = 32, params.stride = 16, params.n_samples = 4;
  for (guint b = 0; b < 2; b++)
    {
      g_autoptr(PicardNetwork) net = b == 0 ? picard_network_new (get_device (), dir, -1, &error)
                                            : picard_network_new_cpu (dir, -1, &error);
      g_autoptr(PicardCompleter) completer = NULL;

      g_assert_no_error (error);
      g_assert_true (picard_network_set_dropout (net, picard_network_dropout_released (), 0.5f,
                                                 &error));
      completer = picard_network_completer_new (net, params.n_samples);
      results[b] = picard_scan_result_new (rows, columns, 0, &params,
                                           picard_completer_get_feature_length (completer, 32),
                                           &error);
      g_assert_no_error (error);
      g_assert_true (picard_scan_run (results[b], completer, slice, NULL, NULL, NULL, NULL,
                                      &error));
      g_assert_no_error (error);
      g_assert_true (picard_scan_result_is_complete (results[b]));
      grids[2 * b] = picard_scan_result_get_grid (results[b], mcd);
      grids[2 * b + 1] = picard_scan_result_get_grid (results[b], feature);
    }
  g_assert_cmpuint (results[0]->n_h * results[0]->n_w, ==, 3 * 4);
  for (guint k = 0; k < 2; k++)
    {
      gsize n = (gsize) results[0]->n_h * results[0]->n_w;
      double spread = 0.0;

      for (gsize i = 1; i < n; i++)
        spread += fabs (grids[k][i] - grids[k][0]);
      /* The grid varies (else the comparison proves little) and the two agree. */
      g_assert_cmpfloat (spread, >, 0.0);
      g_assert_cmpfloat (picard_test_nmse (grids[2 + k], grids[k], n), <, NMSE_LIMIT);
    }
  for (guint k = 0; k < G_N_ELEMENTS (grids); k++)
    g_free (grids[k]);
  picard_scan_result_unref (results[0]);
  picard_scan_result_unref (results[1]);
  picard_test_remove_tree (dir);
}

static const Config config_small = { 8, 1, 8, 64, 32 };
static const Config config_c16 = { 16, 1, 4, 64, 32 };
static const Config config_rgb = { 8, 3, 4, 64, 32 };

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/network/pytorch/c8", &config_small, test_against_pytorch);
  g_test_add_data_func ("/network/pytorch/c16", &config_c16, test_against_pytorch);
  g_test_add_data_func ("/network/pytorch/input-dim-3", &config_rgb, test_against_pytorch);
  g_test_add_func ("/network/critic-score", test_critic_score);
  g_test_add_func ("/network/completer-contract", test_completer_contract);
  g_test_add_func ("/network/repeat", test_repeat);
  g_test_add_func ("/network/errors", test_errors);
  g_test_add_func ("/network/cli-complete", test_cli_complete);
  /* Both backends in one process: once is enough. */
  if (g_strcmp0 (g_getenv ("PICARD_TEST_BACKEND"), "cpu") == 0)
    {
      g_test_add_func ("/network/backend-choice", test_backend_choice);
      g_test_add_func ("/network/backends-agree", test_backends_agree);
    }
  return g_test_run ();
}
