/* The trainer's output read by the viewer's checkpoint reader: a two-iteration run of
 * train/train.py at PICARD's 256/128 geometry (tiny widths), then the files it wrote are
 * located, validated as PICARD's generator and critics, and every tensor's values are
 * compared with what PyTorch reads from the same files. */
#include "picard-checkpoint.h"
#include "picard-error.h"
#include "picard-png.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SLICE_W 288
#define SLICE_H 272

static char *tmp_dir;
static char *run_dir;

/* Two volumes (folders) of two 8-bit slices each: a smooth pattern plus hashed noise. */
static void
write_slices (const char *root)
{
  g_autofree guint8 *pixels = g_new (guint8, SLICE_W * SLICE_H);
  g_autoptr(GError) error = NULL;

  for (guint v = 0; v < 2; v++)
    for (guint s = 0; s < 2; s++)
      {
        g_autofree char *folder = g_strdup_printf ("%s/volume%u", root, v);
        g_autofree char *name = g_strdup_printf ("%s/slice_%04u.png", folder, s);

        g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
        for (guint r = 0; r < SLICE_H; r++)
          for (guint c = 0; c < SLICE_W; c++)
            {
              guint32 h = (r * 2654435761u) ^ (c * 40503u) ^ (v * 97u + s * 13u);
              double smooth = 90.0 + 60.0 * sin (r * 0.05 + v) * cos (c * 0.04 + s);

              h ^= h >> 13;
              h *= 0x5bd1e995u;
              pixels[r * SLICE_W + c] = (guint8) CLAMP (smooth + (h % 41u), 0.0, 255.0);
            }
        g_assert_true (picard_png_write_gray (name, pixels, SLICE_W, SLICE_H, 8, &error));
        g_assert_no_error (error);
      }
}

static void
train_once (void)
{
  g_autofree char *slices = g_build_filename (tmp_dir, "slices", NULL);
  g_autofree char *out = NULL;
  const char *args[] = {
    "-m", "train.train", "--slices", slices, "-o", run_dir, "--cnum", "2", "--ndf", "1",
    "--batch-size", "2", "--iterations", "2", "--n-critic", "1", "--checkpoint-interval", "1",
    "--val-patches", "2", "--threads", "1", NULL
  };

  write_slices (slices);
  out = picard_test_run_python (NULL, args);
  g_assert_nonnull (strstr (out, "held-out hole L1"));
}

/* name -> "sum abs_sum count" as PyTorch sees the file, flattened like the C reader does. */
static GHashTable *
torch_sums (const char *path)
{
  static const char script[] =
    "import sys, torch\n"
    "def walk(prefix, obj):\n"
    "    for k, v in obj.items():\n"
    "        if isinstance(v, dict):\n"
    "            walk(prefix + k + '.', v)\n"
    "        else:\n"
    "            v = v.double()\n"
    "            print('%s %.17g %.17g %d' % (prefix + k, v.sum().item(),\n"
    "                  v.abs().sum().item(), v.numel()))\n"
    "walk('', torch.load(sys.argv[1], map_location='cpu'))\n";
  const char *args[] = { "-c", script, path, NULL };
  g_autofree char *out = picard_test_run_python (NULL, args);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  GHashTable *sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *space = strchr (lines[i], ' ');

      if (space != NULL)
        g_hash_table_insert (sums, g_strndup (lines[i], (gsize) (space - lines[i])),
                             g_strdup (space + 1));
    }
  return sums;
}

static void
assert_same_values (const PicardCheckpoint *checkpoint, const char *path)
{
  g_autoptr(GHashTable) sums = torch_sums (path);

  g_assert_cmpuint (g_hash_table_size (sums), ==, picard_checkpoint_get_n_tensors (checkpoint));
  for (guint i = 0; i < picard_checkpoint_get_n_tensors (checkpoint); i++)
    {
      const PicardTensor *t = picard_checkpoint_get_tensor (checkpoint, i);
      const char *expected = g_hash_table_lookup (sums, t->name);
      double sum = 0.0, abs_sum = 0.0, want_sum, want_abs;
      guint64 count;

      if (expected == NULL)
        g_error ("%s: tensor %s is not in PyTorch's view of the file", path, t->name);
      g_assert_cmpint (sscanf (expected, "%lf %lf %" G_GUINT64_FORMAT, &want_sum, &want_abs,
                               &count), ==, 3);
      g_assert_cmpuint (t->n_elements, ==, count);
      g_assert_cmpint (t->source_dtype, ==, PICARD_DTYPE_FLOAT32);
      for (gsize k = 0; k < t->n_elements; k++)
        {
          g_assert_true (isfinite (t->data[k]));
          sum += t->data[k];
          abs_sum += fabs (t->data[k]);
        }
      /* Same float32 values summed in double: equal up to summation order. */
      g_assert_cmpfloat (fabs (sum - want_sum), <=, 1e-9 * want_abs + 1e-12);
      g_assert_cmpfloat (fabs (abs_sum - want_abs), <=, 1e-9 * want_abs + 1e-12);
      g_assert_cmpfloat (want_abs, >, 0.0);
    }
}

static void
test_locate_latest (void)
{
  g_autofree char *gen = NULL;
  g_autofree char *dis = NULL;
  g_autoptr(GError) error = NULL;
  gint64 iteration = -7;

  g_assert_true (picard_checkpoint_locate (run_dir, -1, &gen, &dis, &iteration, &error));
  g_assert_no_error (error);
  g_assert_cmpint (iteration, ==, 2);
  g_assert_true (g_str_has_suffix (gen, "gen_00000002.pt"));
  g_assert_nonnull (dis);
  g_assert_true (g_str_has_suffix (dis, "dis_00000002.pt"));

  g_clear_pointer (&gen, g_free);
  g_clear_pointer (&dis, g_free);
  g_assert_true (picard_checkpoint_locate (run_dir, 1, &gen, &dis, &iteration, &error));
  g_assert_cmpint (iteration, ==, 1);
  g_assert_true (g_str_has_suffix (dis, "dis_00000001.pt"));
}

static void
test_generator (void)
{
  for (guint it = 1; it <= 2; it++)
    {
      g_autofree char *name = g_strdup_printf ("gen_%08u.pt", it);
      g_autofree char *path = g_build_filename (run_dir, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load (path, &error);
      guint input_dim = 0, cnum = 0;

      g_assert_no_error (error);
      g_assert_true (picard_checkpoint_validate_generator (checkpoint, &input_dim, &cnum,
                                                           &error));
      g_assert_no_error (error);
      g_assert_cmpuint (input_dim, ==, 1);
      g_assert_cmpuint (cnum, ==, 2);
      g_assert_cmpuint (picard_checkpoint_get_n_tensors (checkpoint), ==,
                        PICARD_GENERATOR_N_TENSORS);
      assert_same_values (checkpoint, path);
    }
}

static void
test_critics (void)
{
  g_autofree char *path = g_build_filename (run_dir, "dis_00000002.pt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load (path, &error);
  guint input_dim = 0, ndf = 0;

  g_assert_no_error (error);
  g_assert_true (picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_LOCAL,
                                                    &input_dim, &ndf, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (input_dim, ==, 1);
  g_assert_cmpuint (ndf, ==, 1);
  g_assert_true (picard_checkpoint_validate_critic (checkpoint, "globalD.",
                                                    PICARD_CRITIC_GLOBAL, &input_dim, &ndf,
                                                    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ndf, ==, 1);
  /* Two critics of 10 tensors each, nothing else. */
  g_assert_cmpuint (picard_checkpoint_get_n_tensors (checkpoint), ==, 20);
  assert_same_values (checkpoint, path);
}

/* best.txt names a pair that exists and is a valid generator. */
static void
test_best (void)
{
  g_autofree char *best_path = g_build_filename (run_dir, "best.txt", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  const char *gen_name = NULL;
  guint found = 0;

  g_assert_true (g_file_get_contents (best_path, &text, NULL, &error));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "gen "))
        gen_name = lines[i] + 4;
      if (g_str_has_prefix (lines[i], "iteration "))
        found = (guint) g_ascii_strtoull (lines[i] + 10, NULL, 10);
    }
  g_assert_nonnull (gen_name);
  g_assert_true (found == 1 || found == 2);
  {
    g_autofree char *gen = g_build_filename (run_dir, gen_name, NULL);
    g_autoptr(PicardCheckpoint) checkpoint = picard_checkpoint_load (gen, &error);

    g_assert_no_error (error);
    g_assert_true (picard_checkpoint_validate_generator (checkpoint, NULL, NULL, &error));
  }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("picard-train-XXXXXX", &error);
  g_assert_no_error (error);
  run_dir = g_build_filename (tmp_dir, "run", NULL);
  train_once ();

  g_test_add_func ("/train-checkpoint/locate-latest", test_locate_latest);
  g_test_add_func ("/train-checkpoint/generator", test_generator);
  g_test_add_func ("/train-checkpoint/critics", test_critics);
  g_test_add_func ("/train-checkpoint/best", test_best);
  status = g_test_run ();

  picard_test_remove_tree (tmp_dir);
  g_free (run_dir);
  g_free (tmp_dir);
  return status;
}
