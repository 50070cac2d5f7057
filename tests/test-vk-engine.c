/* test-vk-engine: the Vulkan engine itself: device selection and report, the environment
 * switches, errors, the buffer pool, transfers, recorded graphs and their device time, and
 * `picard-cli devices`.
 * A missing Vulkan device fails the tests: they are never skipped. */
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-ref.h"
#include "picard-vk-ops.h"
#include "picard-vk-private.h"

static PicardVkDevice *device;

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

static void
test_report (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) devices = picard_vk_enumerate_devices (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, >, 0);
  int chosen = picard_vk_select_device (devices, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chosen, >=, 0);

  const PicardVkDeviceInfo *info = picard_vk_device_get_info (get_device ());
  const PicardVkDeviceInfo *listed = devices->pdata[chosen];
  g_assert_cmpstr (info->name, ==, listed->name);
  g_assert_true (info->usable);
  g_assert_cmpuint (info->subgroup_size, >=, 1);
  g_assert_cmpuint (info->api_version, >=, VK_API_VERSION_1_1);
  g_assert_cmpuint (info->n_heaps, >=, 1);
  g_assert_cmpuint (info->max_workgroup_invocations, >=, 128);
  g_assert_cmpuint (info->max_push_constants, >=, PICARD_VK_PUSH_CONSTANT_SIZE);

  g_autofree char *report = picard_vk_device_info_format (info, 2);
  g_assert_nonnull (strstr (report, info->name));
  g_assert_nonnull (strstr (report, "subgroup size:"));
  g_assert_nonnull (strstr (report, "memory heap 0:"));
  g_assert_nonnull (strstr (report, picard_vk_device_type_name (info->type)));
  g_autofree char *choices = picard_vk_device_describe_choices (get_device ());
  g_assert_nonnull (strstr (choices, "convolution"));
  /* A CPU device gets the direct layout, a GPU the tiled one. */
  g_assert_cmpint (picard_vk_device_get_conv_algo (get_device ()), ==,
                   info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? PICARD_VK_CONV_DIRECT
                                                             : PICARD_VK_CONV_TILED);
  /* Cooperative matrices only where the device has them, for fp16, and said so. */
  gboolean coopmat = picard_vk_device_has_coopmat (get_device ());
  g_assert_true (!coopmat
                 || (info->cooperative_matrix && picard_vk_device_has_fp16 (get_device ())));
  g_assert_true ((strstr (choices, "cooperative matrix on") != NULL) == coopmat);
}

static void
test_no_device (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_setenv ("VK_ICD_FILENAMES", "/nonexistent", TRUE);
      g_setenv ("VK_DRIVER_FILES", "/nonexistent", TRUE);
      PicardVkDevice *none = picard_vk_device_new (&error);
      g_assert_null (none);
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE);
      g_printerr ("%s\n", error->message);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*No Vulkan device found*mesa-vulkan-drivers*");
}

static void
test_select_env (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) devices = picard_vk_enumerate_devices (&error);
      g_assert_no_error (error);

      g_setenv ("PICARD_VK_DEVICE", "no such device anywhere", TRUE);
      g_assert_cmpint (picard_vk_select_device (devices, &error), ==, -1);
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
      g_clear_error (&error);
      g_assert_null (picard_vk_device_new (&error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
      g_clear_error (&error);

      g_setenv ("PICARD_VK_DEVICE", "99", TRUE);
      g_assert_cmpint (picard_vk_select_device (devices, &error), ==, -1);
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
      g_clear_error (&error);

      /* By index, and by a name substring in another case. */
      const PicardVkDeviceInfo *last = devices->pdata[devices->len - 1];
      g_autofree char *index = g_strdup_printf ("%u", devices->len - 1);
      g_setenv ("PICARD_VK_DEVICE", index, TRUE);
      g_assert_cmpint (picard_vk_select_device (devices, &error), ==, (int) devices->len - 1);
      g_assert_no_error (error);
      g_autofree char *upper = g_ascii_strup (last->name, 5);
      g_setenv ("PICARD_VK_DEVICE", upper, TRUE);
      int by_name = picard_vk_select_device (devices, &error);
      g_assert_no_error (error);
      g_assert_cmpint (by_name, >=, 0);
      g_assert_true (g_ascii_strncasecmp (((PicardVkDeviceInfo *) devices->pdata[by_name])->name,
                                          last->name, 5) == 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Buffers and tensors round-trip through @dev's memory (mapped or staged). */
static void
check_transfers (PicardVkDevice *dev)
{
  g_autoptr (GError) error = NULL;
  guint8 data[300], back[300];

  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 7 + 3);
  PicardVkBuffer *b = picard_vk_buffer_new (dev, 300, &error);
  g_assert_no_error (error);
  picard_vk_buffer_fill_zero (b, &error);
  g_assert_no_error (error);
  g_assert_true (picard_vk_buffer_upload (b, 100, data, 200, &error));
  g_assert_no_error (error);
  g_assert_true (picard_vk_buffer_download (b, 0, back, 300, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (back[i], ==, 0);
  g_assert_cmpmem (back + 100, 200, data, 200);

  g_assert_false (picard_vk_buffer_upload (b, 250, data, 51, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (picard_vk_buffer_download (b, G_MAXSIZE, back, 2, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  picard_vk_buffer_free (b);

  /* Tensors round-trip through the packed layout, padding channels included. */
  g_clear_error (&error);
  float x[3 * 5 * 2 * 3], y[3 * 5 * 2 * 3];
  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) i - 20.5f;
  g_autoptr (PicardVkTensor) t = picard_vk_tensor_new (dev, 3, 5, 2, 3,
                                                       PICARD_VK_DTYPE_F32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_vk_tensor_packed_count (t), ==, 3 * 8 * 2 * 3);
  picard_vk_tensor_upload (t, x, &error);
  g_assert_no_error (error);
  picard_vk_tensor_download (t, y, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (x, sizeof x, y, sizeof y);
  float packed[3 * 8 * 6];
  picard_vk_buffer_download (t->buffer, 0, packed, sizeof packed, &error);
  g_assert_no_error (error);
  /* Element (n 1, c 4, y 1, x 2) sits in block 1, component 0; channels 5..7 are zero. */
  g_assert_cmpfloat (packed[((1 * 2 + 1) * 6 + 5) * 4 + 0], ==, x[((1 * 5 + 4) * 2 + 1) * 3 + 2]);
  for (guint p = 0; p < 6; p++)
    for (guint j = 1; j < 4; j++)
      g_assert_cmpfloat (packed[((1 * 2 + 1) * 6 + p) * 4 + j], ==, 0.0f);

  g_assert_null (picard_vk_tensor_new (dev, 0, 1, 1, 1, PICARD_VK_DTYPE_F32, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (picard_vk_tensor_new (dev, 65536, 65536, 65536, 65536,
                                       PICARD_VK_DTYPE_F32, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
}

static void
test_transfers (void)
{
  check_transfers (get_device ());
}

static void
test_env_switches (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;

      g_setenv ("PICARD_VK_DISABLE", "fp16,warp-drive", TRUE);
      g_assert_null (picard_vk_device_new (&error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_setenv ("PICARD_VK_DISABLE", "fp16", TRUE);
      g_setenv ("PICARD_VK_CONV", "sideways", TRUE);
      g_assert_null (picard_vk_device_new (&error));
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_setenv ("PICARD_VK_CONV", "tiled", TRUE);
      /* A tile of four numbers, one with TM not a multiple of 4, one of 4096 invocations, a
       * list not by increasing BM. */
      const char *bad_tiles[] = { "64x64x4x4", "64x64x4x2x4", "256x256x1x4x4",
                                  "64x64x4x4x4,16x64x4x4x4" };
      for (guint i = 0; i < G_N_ELEMENTS (bad_tiles); i++)
        {
          g_setenv ("PICARD_VK_CONV_TILE", bad_tiles[i], TRUE);
          g_assert_null (picard_vk_device_new (&error));
          g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
          g_assert_nonnull (strstr (error->message, bad_tiles[i]));
          g_clear_error (&error);
        }
      g_unsetenv ("PICARD_VK_CONV_TILE");

      /* Every fallback forced: no fp16, the tiled layout, no cooperative matrices, buffers
       * staged as on a discrete GPU. */
      g_setenv ("PICARD_VK_DISABLE", "fp16, coopmat, mapped", TRUE);
      g_setenv ("PICARD_VK_CONV", "tiled", TRUE);
      g_autoptr (PicardVkDevice) dev = picard_vk_device_new (&error);
      g_assert_no_error (error);
      g_assert_false (picard_vk_device_has_fp16 (dev));
      g_assert_false (picard_vk_device_has_coopmat (dev));
      g_assert_cmpint (picard_vk_device_get_conv_algo (dev), ==, PICARD_VK_CONV_TILED);
      g_autofree char *choices = picard_vk_device_describe_choices (dev);
      g_assert_nonnull (strstr (choices, "staged"));
      check_transfers (dev);
      PicardVkTensor *t = picard_vk_tensor_new (dev, 1, 4, 4, 4, PICARD_VK_DTYPE_F16, &error);
      g_assert_null (t);
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
      g_clear_error (&error);

      g_setenv ("PICARD_VK_CONV", "direct", TRUE);
      g_unsetenv ("PICARD_VK_DISABLE");
      g_autoptr (PicardVkDevice) dev2 = picard_vk_device_new (&error);
      g_assert_no_error (error);
      g_assert_cmpint (picard_vk_device_get_conv_algo (dev2), ==, PICARD_VK_CONV_DIRECT);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_error_mapping (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (picard_vk_check (VK_SUCCESS, "vkNothing", &error));
  g_assert_no_error (error);
  g_assert_false (picard_vk_check (VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "vkAllocateMemory"));
  g_assert_nonnull (strstr (error->message, "smaller batch"));
  g_clear_error (&error);
  g_assert_false (picard_vk_check (VK_ERROR_OUT_OF_HOST_MEMORY, "vkCreateBuffer", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);
  g_assert_false (picard_vk_check (VK_ERROR_DEVICE_LOST, "vkQueueSubmit", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE_LOST);
  g_assert_nonnull (strstr (error->message, "VK_ERROR_DEVICE_LOST"));
  g_clear_error (&error);
  g_assert_false (picard_vk_check (VK_ERROR_INITIALIZATION_FAILED, "vkCreateDevice", &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE);
}

static void
test_pool (void)
{
  g_autoptr (GError) error = NULL;
  PicardVkDevice *dev = get_device ();

  PicardVkBuffer *a = picard_vk_buffer_new (dev, 100000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_vk_buffer_get_size (a), ==, 100000);
  guint created = picard_vk_device_get_pool_created (dev);
  picard_vk_buffer_free (a);
  guint parked = picard_vk_device_get_pool_parked (dev);
  /* A buffer of a similar size comes back from the pool: nothing new is created. */
  PicardVkBuffer *b = picard_vk_buffer_new (dev, 99000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_vk_device_get_pool_created (dev), ==, created);
  g_assert_cmpuint (picard_vk_device_get_pool_parked (dev), ==, parked - 1);
  g_assert_cmpuint (picard_vk_buffer_get_size (b), ==, 99000);
  /* A very different size needs a new one. */
  PicardVkBuffer *c = picard_vk_buffer_new (dev, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_vk_device_get_pool_created (dev), ==, created + 1);
  picard_vk_buffer_free (b);
  picard_vk_buffer_free (c);

  /* Beyond the storage-buffer limit: an error, not an abort. */
  gsize limit = (gsize) picard_vk_device_get_info (dev)->max_storage_buffer_range;
  g_assert_null (picard_vk_buffer_new (dev, limit + 1, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
}

/* A graph is recorded once and replayed with new inputs, allocating nothing per run. */
static void
test_graph_replay (void)
{
  g_autoptr (GError) error = NULL;
  PicardVkDevice *dev = get_device ();
  const guint n = 2, c = 3, h = 5, w = 6;
  float x[2 * 3 * 5 * 6], y[2 * 3 * 10 * 12], want[2 * 3 * 10 * 12];

  g_autoptr (PicardVkTensor) in = picard_vk_tensor_new (dev, n, c, h, w, PICARD_VK_DTYPE_F32,
                                                        &error);
  g_assert_no_error (error);
  g_autoptr (PicardVkTensor) up = picard_vk_tensor_new (dev, n, c, 2 * h, 2 * w,
                                                        PICARD_VK_DTYPE_F32, &error);
  g_assert_no_error (error);
  g_autoptr (PicardVkTensor) out = picard_vk_tensor_new (dev, n, c, 2 * h, 2 * w,
                                                         PICARD_VK_DTYPE_F32, &error);
  g_assert_no_error (error);
  g_autoptr (PicardVkGraph) graph = picard_vk_graph_new (dev);
  g_assert_true (picard_vk_op_upsample_nearest (graph, 2, in, up, &error));
  g_assert_true (picard_vk_op_clamp (graph, -1.0f, 1.0f, up, out, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (picard_vk_graph_get_n_dispatches (graph), ==, 2);

  guint pipelines = 0, created = 0;
  for (guint run = 0; run < 4; run++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (x); i++)
        x[i] = (float) ((i * 37 + run * 11) % 17) / 4.0f - 2.0f;
      picard_vk_tensor_upload (in, x, &error);
      g_assert_no_error (error);
      picard_vk_graph_run (graph, &error);
      g_assert_no_error (error);
      picard_vk_tensor_download (out, y, &error);
      g_assert_no_error (error);
      picard_ref_nearest (n, c, h, w, x, TRUE, 2, want);
      picard_ref_clamp (G_N_ELEMENTS (want), want, -1.0f, 1.0f, want);
      g_assert_cmpmem (y, sizeof y, want, sizeof want);
      if (run == 0)
        {
          pipelines = picard_vk_device_get_pipeline_count (dev);
          created = picard_vk_device_get_pool_created (dev);
        }
      g_assert_cmpuint (picard_vk_device_get_pipeline_count (dev), ==, pipelines);
      g_assert_cmpuint (picard_vk_device_get_pool_created (dev), ==, created);
    }
  /* Recorded graphs do not grow. */
  g_assert_false (picard_vk_op_clamp (graph, -1.0f, 1.0f, out, out, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Cached pipelines: asking again creates nothing. */
  g_assert_nonnull (picard_vk_pipeline_get (dev, "clamp-f32", NULL, 0, &error));
  g_assert_cmpuint (picard_vk_device_get_pipeline_count (dev), ==, pipelines);
  g_assert_null (picard_vk_pipeline_get (dev, "no-such-shader", NULL, 0, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
}

/* A run's device time (timestamps around its dispatches) lies within the run's wall-clock time
 * and grows with the work: 64 times the multiply-adds take more than 4 times as long. */
static void
test_device_time (void)
{
  g_autoptr (GError) error = NULL;
  PicardVkDevice *dev = get_device ();
  const guint invocations = 1 << 12, steps[2] = { 16, 1024 };
  double device_seconds[2];

  g_assert_cmpfloat (picard_vk_device_get_info (dev)->timestamp_period, >, 0.0f);
  for (guint i = 0; i < 2; i++)
    {
      PicardVkBuffer *out = picard_vk_buffer_new (dev, invocations * 16, &error);
      g_assert_no_error (error);
      g_autoptr (PicardVkGraph) graph = picard_vk_graph_new (dev);
      g_assert_true (picard_vk_op_fma_peak (graph, invocations, steps[i], out, &error));
      g_assert_false (picard_vk_graph_get_device_seconds (graph, &device_seconds[i]));
      g_assert_true (picard_vk_graph_run (graph, &error));  /* compiles and records */
      gint64 start = g_get_monotonic_time ();
      g_assert_true (picard_vk_graph_run (graph, &error));
      double wall = (g_get_monotonic_time () - start) / 1e6;
      g_assert_no_error (error);
      g_assert_true (picard_vk_graph_get_device_seconds (graph, &device_seconds[i]));
      g_assert_cmpfloat (device_seconds[i], >, 0.0);
      g_assert_cmpfloat (device_seconds[i], <=, wall);
      g_test_message ("%u steps: %.3f ms on the device, %.3f ms wall-clock", steps[i],
                      device_seconds[i] * 1e3, wall * 1e3);
      picard_vk_buffer_free (out);
    }
  g_assert_cmpfloat (device_seconds[1], >, 4.0 * device_seconds[0]);
}

/* The staging memory type over memory tables like those drivers report. */
static void
test_staging_memory (void)
{
  enum {
    L = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, V = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
    C = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, H = VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
  };
  static const struct {
    VkMemoryPropertyFlags types[5];
    guint n;
    int want;
  } tables[] = {
    { { L, V | C, V | C | H, L | V | C }, 4, 2 },  /* discrete, uncached before cached */
    { { L, V | C | H, V | C, L | V | C }, 4, 1 },  /* discrete, cached first */
    { { L, V | H, V | C }, 3, 2 },                 /* coherent before cached */
    { { L, L | V | C }, 2, 1 },                    /* only the device's own window */
    { { L | V | C | H }, 1, 0 },                   /* one memory (lavapipe) */
    { { L, 0 }, 2, -1 },                           /* nothing host-visible */
  };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      VkPhysicalDeviceMemoryProperties mem = { .memoryTypeCount = tables[t].n };
      for (guint i = 0; i < tables[t].n; i++)
        mem.memoryTypes[i].propertyFlags = tables[t].types[i];
      g_assert_cmpint (picard_vk_memory_staging_type (&mem), ==, tables[t].want);
    }
}

/* Profiles: device time per pipeline, heaviest first, summed over runs; none without
 * profiling. */
static void
test_profile (void)
{
  g_autoptr (GError) error = NULL;
  PicardVkDevice *dev = get_device ();
  const guint invocations = 1 << 12;
  PicardVkBuffer *out = picard_vk_buffer_new (dev, invocations * 16, &error);
  PicardVkTensor *t = picard_vk_tensor_new (dev, 1, 4, 8, 8, PICARD_VK_DTYPE_F32, &error);
  g_assert_no_error (error);

  for (guint profiling = 0; profiling < 2; profiling++)
    {
      g_autoptr (PicardVkGraph) graph = picard_vk_graph_new (dev);
      picard_vk_graph_set_profiling (graph, profiling);
      g_assert_true (picard_vk_op_clamp (graph, -1.0f, 1.0f, t, t, &error));
      g_assert_true (picard_vk_op_fma_peak (graph, invocations, 2048, out, &error));
      g_assert_true (picard_vk_op_fma_peak (graph, invocations, 2048, out, &error));
      g_assert_null (picard_vk_graph_dup_profile (graph));
      g_assert_true (picard_vk_graph_run (graph, &error));
      g_assert_true (picard_vk_graph_run (graph, &error));
      g_assert_no_error (error);
      g_autofree char *profile = picard_vk_graph_dup_profile (graph);
      if (!profiling)
        {
          g_assert_null (profile);
          continue;
        }
      g_test_message ("%s", profile);
      g_auto (GStrv) lines = g_strsplit (profile, "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, 4);  /* header, two pipelines, "" */
      g_assert_true (g_str_has_prefix (lines[0], "Vulkan profile: 3 dispatches, 2 runs, "));
      g_assert_nonnull (strstr (lines[1], "2 dispatches  fma-peak"));
      g_assert_nonnull (strstr (lines[2], "1 dispatch    clamp-f32"));
      double share[2];
      for (guint i = 0; i < 2; i++)
        share[i] = g_ascii_strtod (strstr (lines[i + 1], " ms ") + 4, NULL);
      g_assert_cmpfloat (share[0], >, share[1]);
      g_assert_cmpfloat (fabs (share[0] + share[1] - 100.0), <, 0.2);
    }
  /* A graph of one dispatch profiles too. */
  g_autoptr (PicardVkGraph) one = picard_vk_graph_new (dev);
  picard_vk_graph_set_profiling (one, TRUE);
  g_assert_true (picard_vk_op_clamp (one, -1.0f, 1.0f, t, t, &error));
  g_assert_true (picard_vk_graph_run (one, &error));
  g_autofree char *profile = picard_vk_graph_dup_profile (one);
  g_assert_nonnull (strstr (profile, "1 dispatch    clamp-f32"));
  picard_vk_tensor_free (t);
  picard_vk_buffer_free (out);
}

static void
run_cli (const char *icd, int *status, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  const char *cli = g_getenv ("PICARD_CLI");
  g_assert_nonnull (cli);
  g_auto (GStrv) env = g_get_environ ();
  if (icd != NULL)
    {
      env = g_environ_setenv (env, "VK_ICD_FILENAMES", icd, TRUE);
      env = g_environ_setenv (env, "VK_DRIVER_FILES", icd, TRUE);
    }
  const char *argv[] = { cli, "devices", NULL };
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, status,
                &error);
  g_assert_no_error (error);
}

static void
test_cli_devices (void)
{
  g_autofree char *out = NULL, *err = NULL;
  int status;
  g_autoptr (GError) error = NULL;

  run_cli (NULL, &status, &out, &err);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_nonnull (strstr (out, picard_vk_device_get_info (get_device ())->name));
  g_assert_nonnull (strstr (out, "selected"));
  g_assert_nonnull (strstr (out, "subgroup size:"));
  /* lavapipe alone: the network goes to oneDNN, and says why. */
  g_assert_nonnull (strstr (out, "Network backend: oneDNN on the CPU, because the only Vulkan "
                                 "device"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  run_cli ("/nonexistent", &status, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, &error));
  g_assert_nonnull (strstr (err, "No Vulkan device found"));
  g_assert_nonnull (strstr (out, "Network backend: oneDNN on the CPU, because there is no "
                                 "Vulkan device"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vk/engine/report", test_report);
  g_test_add_func ("/vk/engine/no-device", test_no_device);
  g_test_add_func ("/vk/engine/select-env", test_select_env);
  g_test_add_func ("/vk/engine/env-switches", test_env_switches);
  g_test_add_func ("/vk/engine/error-mapping", test_error_mapping);
  g_test_add_func ("/vk/engine/pool", test_pool);
  g_test_add_func ("/vk/engine/transfers", test_transfers);
  g_test_add_func ("/vk/engine/graph-replay", test_graph_replay);
  g_test_add_func ("/vk/engine/device-time", test_device_time);
  g_test_add_func ("/vk/engine/profile", test_profile);
  g_test_add_func ("/vk/engine/staging-memory", test_staging_memory);
  g_test_add_func ("/vk/engine/cli-devices", test_cli_devices);

  int status = g_test_run ();
  picard_vk_device_free (device);
  return status;
}
