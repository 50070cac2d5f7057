/* bench-network: completions per second of the whole generator on both backends (oneDNN on
 * the CPU, Vulkan on the chosen device) against the PyTorch reference (train/picard_model.py)
 * on the CPU of the same machine in the same run, at its best thread count and batch (on
 * CUDA where that torch has a GPU, at the --batch asked of Vulkan). Two geometries: PICARD's
 * 256 x 256 patch with a 128 hole at c = 32 (random weights), and the bundled demo model's
 * (train/demo-model). Dropout on the released layer set, p 0.5.
 * `meson test --benchmark bench-network`; see BENCHMARKS.md.
 * Options: --reps R (default 2), --backends cpu,vulkan (default both), --batch N (Vulkan's
 * samples per forward pass, default 8, at most a chunk). */
#include <stdio.h>
#include <string.h>

#include "picard-network.h"
#include "picard-test-cli.h"
#include "picard-vk.h"

/* tests/network-reference.py with @args (NULL-terminated); its stdout. */
static char *
python_out (const char *const *args)
{
  g_autofree char *script = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "tests",
                                              "network-reference.py", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, script);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return picard_test_run_python (NULL, (const char *const *) argv->pdata);
}

/* Completions per second of @net on batches of @batch P x P patches with a centred hole. */
static double
rate (PicardNetwork *net, guint p, guint hole, guint batch, guint reps)
{
  g_autoptr(GError) error = NULL;
  gsize plane = (gsize) p * p;
  g_autofree float *x = g_new (float, plane * batch), *mask = g_new0 (float, plane);
  g_autofree float *comp = g_new (float, plane * batch);
  g_autofree guint32 *pids = g_new0 (guint32, batch), *sids = g_new (guint32, batch);
  PicardNetworkInput in = { batch, p, p, x, mask, 1, pids, sids, 1 };
  PicardNetworkOutput out = { .completion = comp };
  gint64 start;

  g_assert_true (picard_network_set_dropout (net, picard_network_dropout_released (), 0.5f,
                                             &error));
  for (gsize k = 0; k < plane * batch; k++)
    x[k] = (float) ((k * 2654435761u) % 1000) / 500.0f - 1.0f;
  for (guint r = (p - hole) / 2; r < (p + hole) / 2; r++)
    for (guint c = (p - hole) / 2; c < (p + hole) / 2; c++)
      mask[r * p + c] = 1.0f;
  for (guint i = 0; i < batch; i++)
    sids[i] = i;
  /* Warm-up: plans, pipelines, reordered weights. */
  picard_network_forward (net, &in, &out, NULL, &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  for (guint r = 0; r < reps; r++)
    {
      in.seed = r + 2;
      g_assert_true (picard_network_forward (net, &in, &out, NULL, &error));
    }
  return (double) batch * reps / ((g_get_monotonic_time () - start) / 1e6);
}

static void
bench (const char *title, const char *dir, guint p, guint hole, guint reps,
       const char *backends, guint device_batch)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *size_text = g_strdup_printf ("%u", p), *hole_text = g_strdup_printf ("%u", hole);
  g_autofree char *reps_text = g_strdup_printf ("%u", reps);
  g_autofree char *batch_text = g_strdup_printf ("%u", device_batch);
  const char *args[] = { "bench", dir, "--size", size_text, "--hole", hole_text, "--reps",
                         reps_text, "--cuda-batch", batch_text, NULL };
  g_autofree char *torch_out = python_out (args);
  g_auto(GStrv) torch = g_strsplit (g_strstrip (torch_out), " ", 3);
  double torch_rate = g_ascii_strtod (torch[0], NULL);

  g_assert_cmpuint (g_strv_length (torch), ==, 3);
  printf ("%s: %ux%u patches, %u hole, dropout released p 0.5, %u reps\n", title, p, p, hole,
          reps);
  if (strcmp (torch[1], "cuda") == 0)
    printf ("  PyTorch %-8s %8.3f completions/s (batch %s)\n", "(CUDA)", torch_rate, torch[2]);
  else
    printf ("  PyTorch %-8s %8.3f completions/s (best: %s threads, batch %s)\n", "(CPU)",
            torch_rate, torch[1], torch[2]);
  /* The CPU backend twice: a sample per core (its default), and every core on one sample
   * at a time (PICARD_CPU_PARALLEL=layers), as PyTorch runs. */
  for (guint b = 0; b < 3; b++)
    {
      static const char *const names[] = { "cpu", "cpu (layers)", "vulkan" };
      g_autoptr(PicardNetwork) net = NULL;
      double r;
      guint batch;

      if (strstr (backends, b == 2 ? "vulkan" : "cpu") == NULL)
        continue;
      g_setenv ("PICARD_CPU_PARALLEL", b == 1 ? "layers" : "samples", TRUE);
      net = picard_network_open (b < 2 ? PICARD_BACKEND_CPU : PICARD_BACKEND_VULKAN, dir, -1,
                                 &error);
      g_assert_no_error (error);
      /* The CPU backend wants a few samples per core; a device --batch, at most a chunk. */
      batch = b < 2 ? 4 : MIN (device_batch, picard_network_get_chunk_size (net, p, p));
      r = rate (net, p, hole, batch, reps);
      printf ("  %-15s %8.3f completions/s, %.2fx PyTorch (batch %u; %s)\n", names[b], r,
              r / torch_rate, batch, picard_network_get_device_name (net));
    }
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-bench-network-XXXXXX", &error);
  g_autofree char *demo = g_build_filename (g_getenv ("PICARD_SOURCE_DIR"), "train",
                                            "demo-model", NULL);
  const char *backends = "cpu,vulkan";
  guint reps = 2, device_batch = 8;

  for (int i = 1; i + 1 < argc; i++)
    {
      if (strcmp (argv[i], "--reps") == 0)
        {
          reps = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
          reps = MAX (reps, 1);
        }
      else if (strcmp (argv[i], "--backends") == 0)
        backends = argv[++i];
      else if (strcmp (argv[i], "--batch") == 0)
        {
          device_batch = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
          device_batch = MAX (device_batch, 1);
        }
    }
  g_assert_no_error (error);
  {
    const char *args[] = { "checkpoint", dir, "--cnum", "32", "--input-dim", "1", "--ndf",
                           "32", NULL };
    g_free (python_out (args));
  }
  bench ("PICARD (c 32, random weights)", dir, 256, 128, reps, backends, device_batch);
  bench ("Demo model (train/demo-model)", demo, 64, 32, reps * 20, backends, device_batch);
  picard_test_remove_tree (dir);
  return 0;
}
