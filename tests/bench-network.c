/* bench-network: completions per second of 256x256 patches with a 128x128 hole at the
 * reference settings (c = 32, one channel, dropout on the released layer set, p 0.5) on the
 * Vulkan device, against the PyTorch reference (train/picard_model.py) on the CPU of the
 * same machine in the same run. `meson test --benchmark bench-network`; see BENCHMARKS.md.
 * Options: --batch N (samples per pass, default: the network's chunk, at most 8),
 * --reps R (default 2). */
#include <stdio.h>
#include <string.h>

#include "picard-network.h"
#include "picard-vk.h"

#include <glib/gstdio.h>

static char *
python_out (const char *const *args)
{
  const char *source_dir = g_getenv ("PICARD_SOURCE_DIR");
  const char *python = g_getenv ("PYTHON") ? g_getenv ("PYTHON") : "/usr/bin/python3";
  g_autofree char *script = g_build_filename (source_dir, "tests", "network-reference.py", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status;

  g_ptr_array_add (argv, (gpointer) python);
  g_ptr_array_add (argv, script);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  env = g_environ_setenv (env, "PYTHONPATH", source_dir, TRUE);
  env = g_environ_setenv (env, "PYTHONDONTWRITEBYTECODE", "1", TRUE);
  if (!g_spawn_sync (source_dir, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &out,
                     NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("network-reference.py: %s", error->message);
  return out;
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_dir_close (dir);
    }
  g_remove (path);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *torch_out = NULL;
  g_autofree char *batch_text = NULL, *reps_text = NULL;
  PicardVkDevice *device;
  g_autoptr(PicardNetwork) net = NULL;
  guint batch = 0, reps = 2, p = 256;
  gsize plane = (gsize) p * p;
  g_autofree float *x = NULL, *mask = NULL, *comp = NULL;
  g_autofree guint32 *pids = NULL, *sids = NULL;
  gint64 start;
  double vk_rate;

  for (int i = 1; i + 1 < argc; i++)
    {
      if (strcmp (argv[i], "--batch") == 0)
        batch = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--reps") == 0)
        {
          reps = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
          reps = MAX (reps, 1);
        }
    }
  dir = g_dir_make_tmp ("picard-bench-network-XXXXXX", &error);
  g_assert_no_error (error);
  {
    const char *args[] = { "checkpoint", dir, "--cnum", "32", "--input-dim", "1", "--ndf",
                           "32", NULL };
    g_free (python_out (args));
  }
  device = picard_vk_device_new (&error);
  g_assert_no_error (error);
  net = picard_network_new (device, dir, -1, &error);
  g_assert_no_error (error);
  g_assert_true (picard_network_set_dropout (net, picard_network_dropout_released (), 0.5f,
                                             &error));
  if (batch == 0)
    batch = MIN (8, picard_network_get_chunk_size (net, p, p));

  x = g_new (float, plane * batch);
  mask = g_new0 (float, plane);
  comp = g_new (float, plane * batch);
  pids = g_new0 (guint32, batch);
  sids = g_new (guint32, batch);
  for (gsize k = 0; k < plane * batch; k++)
    x[k] = (float) ((k * 2654435761u) % 1000) / 500.0f - 1.0f;
  for (guint r = 64; r < 192; r++)
    for (guint c = 64; c < 192; c++)
      mask[r * p + c] = 1.0f;
  for (guint i = 0; i < batch; i++)
    sids[i] = i;
  {
    PicardNetworkInput in = { batch, p, p, x, mask, 1, pids, sids, 1 };
    PicardNetworkOutput out = { .completion = comp };

    /* Warm-up: records the graph, compiles the pipelines. */
    g_assert_true (picard_network_forward (net, &in, &out, NULL, &error));
    start = g_get_monotonic_time ();
    for (guint r = 0; r < reps; r++)
      {
        in.seed = r + 2;
        g_assert_true (picard_network_forward (net, &in, &out, NULL, &error));
      }
    vk_rate = (double) batch * reps / ((g_get_monotonic_time () - start) / 1e6);
  }
  batch_text = g_strdup_printf ("%u", batch);
  reps_text = g_strdup_printf ("%u", reps);
  {
    const char *args[] = { "bench", dir, "--batch", batch_text, "--reps", reps_text, NULL };
    torch_out = python_out (args);
  }
  printf ("device: %s\n", picard_vk_device_get_info (device)->name);
  printf ("256x256 patches, 128 hole, c 32, dropout released p 0.5, batch %u, %u reps\n",
          batch, reps);
  printf ("Vulkan:  %.3f completions/s\n", vk_rate);
  printf ("PyTorch: %.3f completions/s (CPU, all cores)\n", g_ascii_strtod (torch_out, NULL));
  g_clear_pointer (&net, picard_network_free);
  remove_tree (dir);
  return 0;
}
