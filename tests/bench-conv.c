/* bench-conv: GFLOP/s of every convolution shape of the completion network (c = 32, a
 * 256x256 input) on the Vulkan device, against PyTorch's conv2d on the same machine in the
 * same run (CUDA where PyTorch has a GPU), and over the whole network: the layers timed apart,
 * each weighted by how often the generator uses it, and all of them in one submission as the
 * generator runs them. `meson test --benchmark bench-conv`; see BENCHMARKS.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "picard-vk-ops.h"

typedef struct {
  const char *name;
  guint cin, cout, k, stride, dilation, size, count;
} Shape;

/* The generator at 256x256: coarse, fine convolution branch, attention branch, merge. */
static const Shape shapes[] = {
  { "conv1 5x5 3->32 @256", 3, 32, 5, 1, 1, 256, 3 },
  { "conv2_downsample 32->64 s2 @256", 32, 64, 3, 2, 1, 256, 1 },
  { "fine conv2_downsample 32->32 s2 @256", 32, 32, 3, 2, 1, 256, 2 },
  { "conv3 64->64 @128", 64, 64, 3, 1, 1, 128, 3 },
  { "fine conv3 32->64 @128", 32, 64, 3, 1, 1, 128, 2 },
  { "conv4_downsample 64->128 s2 @128", 64, 128, 3, 2, 1, 128, 2 },
  { "fine conv4_downsample 64->64 s2 @128", 64, 64, 3, 2, 1, 128, 1 },
  { "fine conv5 64->128 @64", 64, 128, 3, 1, 1, 64, 1 },
  { "conv5 128->128 @64", 128, 128, 3, 1, 1, 64, 10 },
  { "conv7_atrous d2 @64", 128, 128, 3, 1, 2, 64, 2 },
  { "conv8_atrous d4 @64", 128, 128, 3, 1, 4, 64, 2 },
  { "conv9_atrous d8 @64", 128, 128, 3, 1, 8, 64, 2 },
  { "conv10_atrous d16 @64", 128, 128, 3, 1, 16, 64, 2 },
  { "allconv11 256->128 @64", 256, 128, 3, 1, 1, 64, 1 },
  { "conv13 128->64 @128", 128, 64, 3, 1, 1, 128, 2 },
  { "conv15 64->32 @256", 64, 32, 3, 1, 1, 256, 2 },
  { "conv16 32->16 @256", 32, 16, 3, 1, 1, 256, 2 },
  { "conv17 16->1 @256", 16, 1, 3, 1, 1, 256, 2 },
};

static double
flop_of (const Shape *s, guint batch)
{
  guint o = picard_vk_conv_out_size (s->size, s->k, s->stride, s->dilation,
                                     s->dilation * (s->k / 2));
  return 2.0 * batch * s->cout * o * o * s->cin * s->k * s->k;
}

/* How a layer is timed: wall-clock, by the device's timestamps, in CPU seconds. */
enum { WALL, DEVICE, CPU, N_MEASURES };

/* One line of the table: GFLOP, then per measure the Vulkan and PyTorch rates and their
 * ratio (PyTorch's 0 where it did not run). */
static void
print_row (const char *label, double flop, const double *vk_rate, const double *torch_rate)
{
  printf ("%-40s %7.2f", label, flop / 1e9);
  for (guint m = 0; m < N_MEASURES; m++)
    printf (" | %8.1f %8.1f %6.2f", vk_rate[m], torch_rate[m],
            torch_rate[m] > 0 ? vk_rate[m] / torch_rate[m] : 0.0);
  printf ("\n");
}

/* CPU seconds of this process, the device's worker threads included on a CPU device. */
static double
cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* The index of the median of @v (the upper middle one of an even count). */
static guint
median_index (const double *v, guint n)
{
  for (guint r = 0; r < n; r++)
    {
      guint below = 0;
      for (guint q = 0; q < n; q++)
        below += v[q] < v[r] || (v[q] == v[r] && q < r);
      if (below == n / 2)
        return r;
    }
  return 0;
}

/* One layer's tensors, with hashed inputs and weights: a hash, not sin(), as the GPU's batch
 * sizes make inputs of 10^8 values. */
typedef struct {
  PicardVkConvParams params;
  PicardVkTensor *in, *out;
  PicardVkWeights *wt;
} Layer;

static void
layer_clear (Layer *l)
{
  g_clear_pointer (&l->in, picard_vk_tensor_free);
  g_clear_pointer (&l->out, picard_vk_tensor_free);
  g_clear_pointer (&l->wt, picard_vk_weights_free);
}

static gboolean
layer_init (Layer *l, PicardVkDevice *device, const Shape *s, guint batch, PicardVkDtype dtype,
            GError **error)
{
  l->params = (PicardVkConvParams) { s->stride, s->dilation, s->dilation * (s->k / 2),
                                     PICARD_VK_ACT_ELU, 1.0f, 0 };
  guint o = picard_vk_conv_out_size (s->size, s->k, s->stride, s->dilation, l->params.padding);
  gsize in_count = (gsize) batch * s->cin * s->size * s->size;
  gsize w_count = (gsize) s->cout * s->cin * s->k * s->k;
  g_autofree float *x = g_new (float, in_count);
  g_autofree float *w = g_new (float, w_count);

  for (gsize i = 0; i < in_count; i++)
    x[i] = (float) ((guint32) (i * 2654435761u) >> 16) / 32768.0f - 1.0f;
  for (gsize i = 0; i < w_count; i++)
    w[i] = ((float) ((guint32) (i * 2246822519u) >> 16) / 32768.0f - 1.0f)
           / (float) (s->cin * s->k * s->k);
  l->in = picard_vk_tensor_new (device, batch, s->cin, s->size, s->size, dtype, error);
  l->out = l->in == NULL ? NULL
    : picard_vk_tensor_new (device, batch, s->cout, o, o, dtype, error);
  l->wt = l->out == NULL ? NULL
    : picard_vk_weights_new (device, 1, s->cout, s->cin, s->k, dtype, error);
  return l->wt != NULL && picard_vk_tensor_upload (l->in, x, error)
         && picard_vk_weights_upload (l->wt, w, error);
}

/* Runs @graph @reps times after a warm-up: the wall-clock seconds of the median repetition
 * (@cpu: its CPU seconds), and in @device_seconds the median of the device's own times
 * (wall-clock ones where the queue has no timestamps); -1 on failure. */
static double
time_graph (PicardVkGraph *graph, guint reps, double *cpu, double *device_seconds,
            GError **error)
{
  if (!picard_vk_graph_run (graph, error))  /* compiles and records */
    return -1.0;
  /* Warm-up of at least a quarter of a second: a GPU left idle while the inputs were made
   * takes that long to raise its clocks again. */
  for (gint64 start = g_get_monotonic_time (); g_get_monotonic_time () - start < 250000;)
    if (!picard_vk_graph_run (graph, error))
      return -1.0;
  /* The median repetition: the machines this runs on are often shared, and the median
   * ignores the repetitions another process interrupted, on both sides of the comparison. */
  g_autofree double *wall = g_new (double, reps);
  g_autofree double *cpu_of = g_new (double, reps);
  g_autofree double *on_device = g_new (double, reps);
  for (guint r = 0; r < reps; r++)
    {
      gint64 start = g_get_monotonic_time ();
      double cpu_start = cpu_seconds ();
      if (!picard_vk_graph_run (graph, error))
        return -1.0;
      wall[r] = (g_get_monotonic_time () - start) / 1e6;
      cpu_of[r] = cpu_seconds () - cpu_start;
      if (!picard_vk_graph_get_device_seconds (graph, &on_device[r]))
        on_device[r] = wall[r];
    }
  guint median = median_index (wall, reps);
  *cpu = cpu_of[median];
  *device_seconds = on_device[median_index (on_device, reps)];
  return wall[median];
}

/* One layer alone, a submission and a wait per repetition (see time_graph). */
static double
time_layer (PicardVkDevice *device, const Shape *s, guint batch, PicardVkDtype dtype,
            guint reps, double *cpu, double *device_seconds, GError **error)
{
  Layer l = { 0 };
  PicardVkGraph *graph = picard_vk_graph_new (device);
  double seconds = layer_init (&l, device, s, batch, dtype, error)
                       && picard_vk_op_conv2d (graph, &l.params, l.in, l.wt, NULL, NULL, l.out,
                                               error)
                     ? time_graph (graph, reps, cpu, device_seconds, error)
                     : -1.0;
  picard_vk_graph_free (graph);  /* before the buffers it uses */
  layer_clear (&l);
  return seconds;
}

/* The layers as the generator runs them: each as often as it uses it, all in one command
 * buffer, one submission and one wait per repetition (see time_graph). */
static double
time_network (PicardVkDevice *device, const Shape *const *chosen, guint n, guint batch,
              PicardVkDtype dtype, guint reps, double *cpu, double *device_seconds,
              GError **error)
{
  g_autofree Layer *layers = g_new0 (Layer, n);
  PicardVkGraph *graph = picard_vk_graph_new (device);
  gboolean ok = TRUE;
  for (guint i = 0; i < n && ok; i++)
    {
      ok = layer_init (&layers[i], device, chosen[i], batch, dtype, error);
      for (guint u = 0; u < chosen[i]->count && ok; u++)
        ok = picard_vk_op_conv2d (graph, &layers[i].params, layers[i].in, layers[i].wt, NULL,
                                  NULL, layers[i].out, error);
    }
  double seconds = ok ? time_graph (graph, reps, cpu, device_seconds, error) : -1.0;
  picard_vk_graph_free (graph);  /* before the buffers it uses */
  for (guint i = 0; i < n; i++)
    layer_clear (&layers[i]);
  return seconds;
}

/* The device's fp32 arithmetic peak as shaders reach it (shaders/fma-peak.comp), GFLOP/s of
 * the median of five runs of a size that takes at least a fifth of a second. */
static double
measure_peak (PicardVkDevice *device, GError **error)
{
  guint invocations = 1 << 14, steps = 16;
  /* GPUs want many waves of invocations; llvmpipe pays for each workgroup it starts (4M
   * short invocations measured 15 % under 256K long ones), and 4096 workgroups keep its
   * threads busy. */
  const guint max_invocations
    = picard_vk_device_get_info (device)->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 1 << 18
                                                                             : 1 << 22;
  double seconds = 0.0;

  for (;;)
    {
      PicardVkBuffer *out = picard_vk_buffer_new (device, (gsize) invocations * 16, error);
      g_autoptr (PicardVkGraph) graph = picard_vk_graph_new (device);
      gboolean ok = out != NULL && picard_vk_op_fma_peak (graph, invocations, steps, out, error)
                    && picard_vk_graph_run (graph, error);
      double runs[5];
      for (guint r = 0; ok && r < 5; r++)
        {
          gint64 start = g_get_monotonic_time ();
          ok = picard_vk_graph_run (graph, error);
          runs[r] = (g_get_monotonic_time () - start) / 1e6;
        }
      picard_vk_buffer_free (out);
      if (!ok)
        return -1.0;
      seconds = runs[median_index (runs, 5)];
      if (seconds >= 0.2)
        break;
      if (invocations < max_invocations)
        invocations *= 2;
      else
        steps *= 2;
    }
  return 256.0 * steps * invocations / seconds / 1e9;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *torch_script = NULL;
  gint batch = 4, reps = 5, threads = 2;
  g_autofree char *only = NULL;
  gboolean no_peak = FALSE, fp16 = FALSE;
  GOptionEntry entries[] = {
    { "torch", 0, 0, G_OPTION_ARG_FILENAME, &torch_script,
      "bench-conv-torch.py (omit to skip PyTorch)", "FILE" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Samples per convolution (4)", "N" },
    { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "Timed repetitions, the median is reported (5)",
      "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "PyTorch threads (2)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Only layers whose name contains TEXT",
      "TEXT" },
    { "no-peak", 0, 0, G_OPTION_ARG_NONE, &no_peak,
      "Skip the device's fp32 peak measurement (fp16 runs always do)", NULL },
    { "fp16", 0, 0, G_OPTION_ARG_NONE, &fp16,
      "fp16 tensors (on cooperative matrices where the device has them), PyTorch in fp16 too",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- convolution benchmark");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || batch < 1 || reps < 1)
    {
      g_printerr ("bench-conv: %s\n", error != NULL ? error->message : "bad batch or reps");
      return 1;
    }

  g_autoptr (PicardVkDevice) device = picard_vk_device_new (&error);
  if (device == NULL)
    {
      g_printerr ("bench-conv: %s\n", error->message);
      return 1;
    }
  if (fp16 && !picard_vk_device_has_fp16 (device))
    {
      g_printerr ("bench-conv: this device has no fp16 variants\n");
      return 1;
    }
  const PicardVkDtype dtype = fp16 ? PICARD_VK_DTYPE_F16 : PICARD_VK_DTYPE_F32;
  g_autofree char *choices = picard_vk_device_describe_choices (device);
  printf ("Device: %s (%s)\n%s\nBatch %d, %d repetitions, %s, ELU fused\n\n",
          picard_vk_device_get_info (device)->name,
          picard_vk_device_type_name (picard_vk_device_get_info (device)->type), choices, batch,
          reps, fp16 ? "fp16 tensors, fp32 sums" : "fp32");

  const Shape *chosen[G_N_ELEMENTS (shapes)];
  guint n = 0;
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    if (only == NULL || strstr (shapes[i].name, only) != NULL)
      chosen[n++] = &shapes[i];
  if (n == 0)
    {
      g_printerr ("bench-conv: no layer's name contains '%s'\n", only);
      return 1;
    }
  /* Per layer and measure: the Vulkan side's seconds, PyTorch's GFLOP/s (0: not run); the
   * last column, the layers in one submission (time_network). */
  double vk[N_MEASURES][G_N_ELEMENTS (shapes) + 1];
  double torch_rate[N_MEASURES][G_N_ELEMENTS (shapes) + 1] = { { 0 } };
  /* PyTorch's 1024^3 fp32 matrix product on the CPU and its BLAS library (0: not run). */
  double sgemm_rate = 0;
  g_autofree char *sgemm_library = NULL;
  for (guint i = 0; i < n; i++)
    {
      vk[WALL][i] = time_layer (device, chosen[i], batch, dtype, reps, &vk[CPU][i],
                                &vk[DEVICE][i], &error);
      if (vk[WALL][i] < 0)
        {
          g_printerr ("bench-conv: %s: %s\n", chosen[i]->name, error->message);
          return 1;
        }
    }
  vk[WALL][n] = time_network (device, chosen, n, batch, dtype, reps, &vk[CPU][n],
                              &vk[DEVICE][n], &error);
  if (vk[WALL][n] < 0)
    {
      g_printerr ("bench-conv: the layers in one submission: %s\n", error->message);
      return 1;
    }

  if (torch_script != NULL)
    {
      GString *json = g_string_new ("[");
      for (guint i = 0; i < n; i++)
        g_string_append_printf (json, "%s[%u,%u,%u,%u,%u,%u,%u]", i ? "," : "", chosen[i]->cin,
                                chosen[i]->cout, chosen[i]->k, chosen[i]->stride,
                                chosen[i]->dilation, chosen[i]->size, chosen[i]->count);
      g_string_append (json, "]");
      const char *python = g_getenv ("PYTHON") ? g_getenv ("PYTHON") : "/usr/bin/python3";
      g_autofree char *sb = g_strdup_printf ("%d", batch);
      g_autofree char *sr = g_strdup_printf ("%d", reps);
      g_autofree char *st = g_strdup_printf ("%d", threads);
      const char *pargv[] = { python, torch_script, json->str, sb, sr, st,
                              fp16 ? "fp16" : "fp32", NULL };
      g_autofree char *out = NULL;
      int status;
      if (!g_spawn_sync (NULL, (char **) pargv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                         &status, &error)
          || !g_spawn_check_wait_status (status, &error))
        {
          g_printerr ("bench-conv: PyTorch failed: %s\n", error->message);
          g_string_free (json, TRUE);
          return 1;
        }
      g_string_free (json, TRUE);
      g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
      if (lines[0] != NULL && g_str_has_prefix (lines[0], "device "))
        printf ("PyTorch on %s\n\n", lines[0] + strlen ("device "));
      for (guint i = 0; i <= n && lines[0] != NULL && lines[i + 1] != NULL; i++)
        {
          char *end = lines[i + 1];
          if (i == n && !g_str_has_prefix (end, "network "))
            break;
          if (i == n)
            end += strlen ("network ");
          torch_rate[WALL][i] = g_ascii_strtod (end, &end);
          torch_rate[CPU][i] = g_ascii_strtod (end, &end);
          torch_rate[DEVICE][i] = g_ascii_strtod (end, NULL);
        }
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "sgemm "))
          {
            char *end;
            sgemm_rate = g_ascii_strtod (lines[i] + strlen ("sgemm "), &end);
            sgemm_library = g_path_get_basename (g_strstrip (end));
            break;
          }
    }

  /* Wall-clock rates, the device's own (without the host's submission and wake-up; the
   * wall-clock where it has no timestamps), and rates per CPU-second (less sensitive to other
   * processes on a shared machine: lavapipe's threads count in this process's CPU time). */
  printf ("%-40s %7s | %8s %8s %6s | %8s %8s %6s | %8s %8s %6s\n", "", "", "wall", "GFLOP/s",
          "", "device", "GFLOP/s", "", "per", "CPU-s", "");
  printf ("%-40s %7s", "layer (x uses in the generator)", "GFLOP");
  for (guint m = 0; m < N_MEASURES; m++)
    printf (" | %8s %8s %6s", "Vulkan", "PyTorch", "ratio");
  printf ("\n");
  double total_flop = 0, total_vk[N_MEASURES] = { 0 }, total_torch[N_MEASURES] = { 0 };
  for (guint i = 0; i < n; i++)
    {
      const Shape *s = chosen[i];
      double flop = flop_of (s, batch), rate[N_MEASURES], peer[N_MEASURES];
      for (guint m = 0; m < N_MEASURES; m++)
        {
          rate[m] = flop / vk[m][i] / 1e9;
          peer[m] = torch_rate[m][i];
          total_vk[m] += vk[m][i] * s->count;
          total_torch[m] += peer[m] > 0 ? flop * s->count / (peer[m] * 1e9) : 0;
        }
      total_flop += flop * s->count;
      g_autofree char *label = g_strdup_printf ("%s x%u", s->name, s->count);
      print_row (label, flop, rate, peer);
    }
  double net_vk[N_MEASURES], net_torch[N_MEASURES];
  for (guint m = 0; m < N_MEASURES; m++)
    {
      net_vk[m] = total_flop / total_vk[m] / 1e9;
      net_torch[m] = total_torch[m] > 0 ? total_flop / total_torch[m] / 1e9 : 0;
    }
  print_row (n == G_N_ELEMENTS (shapes) ? "network (weighted)" : "these layers (weighted)",
             total_flop, net_vk, net_torch);
  double one_vk[N_MEASURES], one_torch[N_MEASURES];
  for (guint m = 0; m < N_MEASURES; m++)
    {
      one_vk[m] = total_flop / vk[m][n] / 1e9;
      one_torch[m] = torch_rate[m][n];
    }
  print_row (n == G_N_ELEMENTS (shapes) ? "network, one submission" : "these, one submission",
             total_flop, one_vk, one_torch);
  if (n == G_N_ELEMENTS (shapes))
    printf ("\nThe generator's convolutions: %.1f GFLOP per sample, %.2f s per sample here\n",
            total_flop / batch / 1e9, total_vk[WALL] / batch);

  /* Issue 3 sets its lavapipe target against OpenBLAS on the same cores: this yardstick
   * makes runs on machines of other speeds comparable. */
  if (sgemm_rate > 0)
    printf ("The CPU's 1024^3 fp32 matrix product through PyTorch's BLAS (%s): %.1f GFLOP/s; "
            "these convolutions run at %.1f %% of it (layers apart, wall-clock), %.1f %% (one "
            "submission)\n",
            sgemm_library, sgemm_rate, 100.0 * net_vk[WALL] / sgemm_rate,
            100.0 * one_vk[WALL] / sgemm_rate);

  /* The yardstick is fp32 multiply-adds: fp16 runs may use cooperative matrices, whose peak
   * it does not measure. */
  if (no_peak || fp16)
    return 0;
  /* Issue 3's GPU target: within 2x of the device's peak, that is at least half of it. */
  double peak = measure_peak (device, &error);
  if (peak < 0)
    {
      g_printerr ("bench-conv: the peak measurement failed: %s\n", error->message);
      return 1;
    }
  printf ("The device's fp32 peak through shaders (fma-peak.comp): %.1f GFLOP/s; these "
          "convolutions reach %.1f %% of it (layers apart, wall-clock), %.1f %% (layers apart, "
          "device time), %.1f %% (one submission, device time)\n",
          peak, 100.0 * net_vk[WALL] / peak, 100.0 * net_vk[DEVICE] / peak,
          100.0 * one_vk[DEVICE] / peak);
  return 0;
}
