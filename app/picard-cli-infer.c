/* picard-cli infer: the completion network on a NumPy batch, its outputs as NumPy files, so
 * that researchers can compare them with their own PyTorch code. */
#include "picard-cli.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "picard-error.h"
#include "picard-network.h"
#include "picard-npy.h"

/* Shapes as N x C x H x W: 2-d H x W and 3-d C x H x W arrays are one sample. */
static gboolean
as_nchw (const PicardNpy *npy, const char *what, guint shape[4], GError **error)
{
  guint skip = 4 - npy->ndim;

  if (npy->ndim < 2)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: expected an N x C x H x W array, got %u dimensions", what, npy->ndim);
      return FALSE;
    }
  for (guint i = 0; i < 4; i++)
    shape[i] = i < skip ? 1 : (guint) npy->shape[i - skip];
  if (npy->ndim == 2)
    shape[1] = 1;
  return TRUE;
}

/* The bounding box of the first mask's hole. */
static gboolean
hole_box (const float *mask, guint h, guint w, guint *y0, guint *x0, guint *bh, guint *bw)
{
  guint top = h, left = w, bottom = 0, right = 0;

  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      if (mask[(gsize) y * w + x] > 0.5f)
        {
          top = MIN (top, y), left = MIN (left, x);
          bottom = MAX (bottom, y + 1), right = MAX (right, x + 1);
        }
  if (top >= bottom)
    return FALSE;
  *y0 = top, *x0 = left, *bh = bottom - top, *bw = right - left;
  return TRUE;
}

static gboolean
save (const char *dir, const char *name, guint ndim, const gsize *shape, const float *data,
      GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return picard_npy_save_float32 (path, ndim, shape, data, error);
}

int
picard_cli_infer (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *input = NULL, *mask_path = NULL, *outdir = NULL;
  g_autofree char *dropout_spec = NULL, *backend = NULL;
  gint64 iteration = -1, seed = 0;
  double dropout_p = 0.5;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      "gen_*.pt file or the trainer's folder (required)", "PATH" },
    { "iteration", 0, 0, G_OPTION_ARG_INT64, &iteration,
      "Iteration to load from a folder (default: the latest)", "N" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &input,
      "float32 N x C x H x W batch in [-1, 1] (required)", "X.npy" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path,
      "N x 1 x H x W or 1 x 1 x H x W mask, 1 in the hole (required)", "MASK.npy" },
    { "dropout-layers", 0, 0, G_OPTION_ARG_STRING, &dropout_spec,
      "none (default), released, paper, or comma-separated full layer names", "SET" },
    { "dropout-p", 0, 0, G_OPTION_ARG_DOUBLE, &dropout_p, "Dropout probability (0.5)", "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Dropout seed (0)", "S" },
    PICARD_CLI_BACKEND_ENTRY (backend),
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, "Output folder (required)", "OUTDIR" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- run the completion network");
  g_autoptr(PicardNpy) x = NULL;
  g_autoptr(PicardNpy) mask = NULL;
  g_autoptr(PicardNetwork) net = NULL;
  guint xs[4], ms[4], n, d, h, w, y0, x0, bh, bw;
  gsize sample, shape[4];
  g_autofree float *xs1 = NULL, *xs2 = NULL, *comp = NULL, *att = NULL, *offsets = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  g_autoptr(GPtrArray) dmasks = g_ptr_array_new_with_free_func (g_free);
  const char *const *active;
  GError *error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Writes x_stage1.npy, x_stage2.npy, completion.npy (x_stage2 in the hole, the input\n"
    "elsewhere), attention.npy (contextual attention's output), offsets.npy (best\n"
    "background patch per position), and, when a dis_*.pt is found and the first mask's\n"
    "hole is a square whose side is a multiple of 16, features.npy (the local critic's\n"
    "conv4 output of every completion's hole crop; scores.npy too for 128 x 128). With\n"
    "dropout, sample i uses (patch id 0, sample id i) and its keep masks are written to\n"
    "dropout/<layer>.npy, ready for train/picard_model.py's dropout_masks.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("infer", error);
  if (argc > 1 || checkpoint == NULL || input == NULL || mask_path == NULL || outdir == NULL)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, argc > 1
                   ? "unexpected argument" : "--checkpoint, --input, --mask and -o are required");
      return picard_cli_fail ("infer", error);
    }

  if ((x = picard_npy_load (input, &error)) == NULL
      || (mask = picard_npy_load (mask_path, &error)) == NULL
      || !as_nchw (x, input, xs, &error) || !as_nchw (mask, mask_path, ms, &error))
    return picard_cli_fail ("infer", error);
  n = xs[0], d = xs[1], h = xs[2], w = xs[3];
  if (ms[1] != 1 || ms[2] != h || ms[3] != w || (ms[0] != 1 && ms[0] != n))
    {
      g_set_error (&error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: the mask must be 1 x 1 x %u x %u or %u x 1 x %u x %u, not %u x %u x %u "
                   "x %u", mask_path, h, w, n, h, w, ms[0], ms[1], ms[2], ms[3]);
      return picard_cli_fail ("infer", error);
    }

  net = picard_cli_open_network (backend, checkpoint, iteration,
                                 dropout_spec != NULL ? dropout_spec : "none", dropout_p,
                                 &error);
  if (net == NULL)
    return picard_cli_fail ("infer", error);
  if (d != picard_network_get_input_dim (net))
    {
      g_set_error (&error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s has %u channels but the network reads %u", input, d,
                   picard_network_get_input_dim (net));
      return picard_cli_fail ("infer", error);
    }
  picard_cli_say_network (net);
  if (g_mkdir_with_parents (outdir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (&error, PICARD_ERROR, PICARD_ERROR_IO, "Could not create %s: %s", outdir,
                   g_strerror (saved));
      return picard_cli_fail ("infer", error);
    }

  sample = (gsize) d * h * w;
  xs1 = g_new (float, sample * n);
  xs2 = g_new (float, sample * n);
  comp = g_new (float, sample * n);
  att = g_new (float, (gsize) n * 4 * picard_network_get_cnum (net) * (h / 4) * (w / 4));
  offsets = g_new (float, (gsize) n * 2 * (h / 8) * (w / 8));
  pids = g_new0 (guint32, n);
  sids = g_new (guint32, n);
  for (guint i = 0; i < n; i++)
    sids[i] = i;
  active = picard_network_get_dropout_layers (net);
  for (guint k = 0; active[k] != NULL; k++)
    g_ptr_array_add (dmasks, g_new (float, (gsize) n * picard_network_layer_channels (net,
                                                                                      active[k])));
  {
    PicardNetworkInput in = { n, h, w, x->data, mask->data, ms[0], pids, sids, (guint64) seed };
    PicardNetworkOutput out = { xs1, xs2, comp, att, NULL, offsets,
                                (float **) dmasks->pdata };

    if (!picard_network_forward (net, &in, &out, NULL, &error))
      return picard_cli_fail ("infer", error);
  }

  shape[0] = n, shape[1] = d, shape[2] = h, shape[3] = w;
  if (!save (outdir, "x_stage1.npy", 4, shape, xs1, &error)
      || !save (outdir, "x_stage2.npy", 4, shape, xs2, &error)
      || !save (outdir, "completion.npy", 4, shape, comp, &error))
    return picard_cli_fail ("infer", error);
  shape[1] = 4 * picard_network_get_cnum (net), shape[2] = h / 4, shape[3] = w / 4;
  if (!save (outdir, "attention.npy", 4, shape, att, &error))
    return picard_cli_fail ("infer", error);
  shape[1] = 2, shape[2] = h / 8, shape[3] = w / 8;
  if (!save (outdir, "offsets.npy", 4, shape, offsets, &error))
    return picard_cli_fail ("infer", error);

  if (dmasks->len > 0)
    {
      g_autofree char *mdir = g_build_filename (outdir, "dropout", NULL);

      if (g_mkdir_with_parents (mdir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (&error, PICARD_ERROR, PICARD_ERROR_IO, "Could not create %s: %s", mdir,
                       g_strerror (saved));
          return picard_cli_fail ("infer", error);
        }
      for (guint k = 0; active[k] != NULL; k++)
        {
          guint c = picard_network_layer_channels (net, active[k]);
          g_autofree char *name = g_strconcat (active[k], ".npy", NULL);
          float *m = g_ptr_array_index (dmasks, k);
          gsize mshape[2] = { n, c };

          /* Keep flags (0/1), as PyTorch's dropout_masks take them. */
          for (gsize i = 0; i < (gsize) n * c; i++)
            m[i] = m[i] > 0.0f ? 1.0f : 0.0f;
          if (!save (mdir, name, 2, mshape, m, &error))
            return picard_cli_fail ("infer", error);
        }
    }

  if (picard_network_get_ndf (net) > 0)
    {
      if (!hole_box (mask->data, h, w, &y0, &x0, &bh, &bw) || bh != bw || bh % 16 != 0)
        g_printerr ("picard-cli infer: the first mask's hole is not a square whose side is a "
                    "multiple of 16: no critic features written\n");
      else
        {
          guint f = picard_network_get_feature_length (net, bh);
          g_autofree float *crops = g_new (float, (gsize) n * d * bh * bh);
          g_autofree float *features = g_new (float, (gsize) n * f);
          g_autofree float *scores = g_new (float, n);

          for (guint i = 0; i < n; i++)
            for (guint ch = 0; ch < d; ch++)
              for (guint r = 0; r < bh; r++)
                memcpy (crops + (((gsize) i * d + ch) * bh + r) * bh,
                        comp + (gsize) i * sample + (gsize) ch * h * w
                        + (gsize) (y0 + r) * w + x0, bh * sizeof (float));
          if (!picard_network_critic (net, n, bh, crops, features, bh == 128 ? scores : NULL,
                                      &error))
            return picard_cli_fail ("infer", error);
          shape[0] = n, shape[1] = f;
          if (!save (outdir, "features.npy", 2, shape, features, &error)
              || (bh == 128 && !save (outdir, "scores.npy", 1, shape, scores, &error)))
            return picard_cli_fail ("infer", error);
        }
    }
  return 0;
}
