#include "picard-test-completer.h"

#include <math.h>

#include "picard-error.h"

struct _PicardTestCompleter {
  GObject parent_instance;
  guint batch_size;
  gboolean with_features;
  PicardTestCompleterHook hook;
  gpointer hook_data;
  guint fail_at;
  guint calls;
  GArray *patch_ids;
  gboolean saw_air;
};

static void picard_test_completer_iface_init (PicardCompleterInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PicardTestCompleter, picard_test_completer, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PICARD_TYPE_COMPLETER,
                                                picard_test_completer_iface_init))

/* splitmix64: a well-mixed hash of the coordinates of one noise value. */
static guint64
mix (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static float
noise (guint64 seed, guint32 patch, guint32 sample, guint32 pixel)
{
  guint64 h = mix (seed ^ mix (((guint64) patch << 32) | sample) ^ mix (pixel + 0x1234567ull));
  return (float) ((h >> 40) / (double) (1 << 24)) * 2.0f - 1.0f;
}

static void
pool (const float *crop, guint h, float *out)
{
  guint n = h / 4;
  for (guint a = 0; a < n; a++)
    for (guint b = 0; b < n; b++)
      {
        float sum = 0.0f;
        for (guint r = 0; r < 4; r++)
          for (guint c = 0; c < 4; c++)
            sum += crop[(a * 4 + r) * h + b * 4 + c];
        out[a * n + b] = sum / 16.0f;
      }
}

static guint
test_get_batch_size (PicardCompleter *completer)
{
  return PICARD_TEST_COMPLETER (completer)->batch_size;
}

static guint
test_get_feature_length (PicardCompleter *completer, guint hole_size)
{
  PicardTestCompleter *self = PICARD_TEST_COMPLETER (completer);
  return self->with_features ? (hole_size / 4) * (hole_size / 4) : 0;
}

static const char *
test_get_model_hash (PicardCompleter *completer)
{
  return PICARD_TEST_COMPLETER (completer)->with_features ? "test-model-features-1"
                                                          : "test-model-1";
}

static const char *
test_get_device_name (PicardCompleter *completer)
{
  return "the test's CPU";
}

static gboolean
test_check_geometry (PicardCompleter *completer, guint patch_size, guint hole_size,
                     GError **error)
{
  if (hole_size % 4 != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "The test model needs a hole size divisible by 4, not %u", hole_size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
test_complete (PicardCompleter *completer, const PicardCompletionBatch *batch, float *holes,
               float *features, float *gt_features, GCancellable *cancellable, GError **error)
{
  PicardTestCompleter *self = PICARD_TEST_COMPLETER (completer);
  self->calls++;
  if (self->hook != NULL)
    self->hook (self, self->calls, self->hook_data);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (self->fail_at == self->calls)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE, "The test device failed");
      return FALSE;
    }

  guint p = batch->patch_size, h = batch->hole_size, offset = (p - h) / 2;
  gsize hole_values = (gsize) h * h;
  guint f = test_get_feature_length (completer, h);
  g_autofree float *gt = g_new (float, hole_values);
  for (guint b = 0; b < batch->n_patches; b++)
    {
      const float *patch = batch->patches + (gsize) b * p * p;
      gboolean air = TRUE;
      for (gsize k = 0; k < (gsize) p * p; k++)
        air = air && patch[k] <= -1.0f;
      self->saw_air = self->saw_air || air;
      g_array_append_val (self->patch_ids, batch->patch_ids[b]);

      guint bright = 0;
      for (guint r = 0; r < h; r++)
        for (guint c = 0; c < h; c++)
          {
            float v = patch[(gsize) (r + offset) * p + offset + c];
            gt[(gsize) r * h + c] = v;
            bright += v > 0.6f;
          }
      float amplitude = 0.05f + 0.6f * bright / (float) hole_values;
      if (f > 0)
        pool (gt, h, gt_features + (gsize) b * f);
      for (guint s = 0; s < batch->n_samples; s++)
        {
          float *out = holes + ((gsize) b * batch->n_samples + s) * hole_values;
          for (gsize k = 0; k < hole_values; k++)
            out[k] = CLAMP (gt[k] + amplitude * noise (batch->seed, batch->patch_ids[b],
                                                       batch->sample_ids[s], (guint32) k),
                            -1.0f, 1.0f);
          if (f > 0)
            pool (out, h, features + ((gsize) b * batch->n_samples + s) * f);
        }
    }
  return TRUE;
}

static void
picard_test_completer_iface_init (PicardCompleterInterface *iface)
{
  iface->get_batch_size = test_get_batch_size;
  iface->get_feature_length = test_get_feature_length;
  iface->get_model_hash = test_get_model_hash;
  iface->get_device_name = test_get_device_name;
  iface->check_geometry = test_check_geometry;
  iface->complete = test_complete;
}

static void
picard_test_completer_finalize (GObject *object)
{
  PicardTestCompleter *self = PICARD_TEST_COMPLETER (object);
  g_array_unref (self->patch_ids);
  G_OBJECT_CLASS (picard_test_completer_parent_class)->finalize (object);
}

static void
picard_test_completer_class_init (PicardTestCompleterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_test_completer_finalize;
}

static void
picard_test_completer_init (PicardTestCompleter *self)
{
  self->patch_ids = g_array_new (FALSE, FALSE, sizeof (guint32));
}

PicardTestCompleter *
picard_test_completer_new (guint batch_size, gboolean with_features)
{
  PicardTestCompleter *self = g_object_new (PICARD_TYPE_TEST_COMPLETER, NULL);
  self->batch_size = batch_size;
  self->with_features = with_features;
  return self;
}

void
picard_test_completer_set_hook (PicardTestCompleter *self, PicardTestCompleterHook hook,
                                gpointer user_data)
{
  self->hook = hook;
  self->hook_data = user_data;
}

void
picard_test_completer_set_fail_at (PicardTestCompleter *self, guint call)
{
  self->fail_at = call;
}

guint
picard_test_completer_get_calls (PicardTestCompleter *self)
{
  return self->calls;
}

GArray *
picard_test_completer_get_patch_ids (PicardTestCompleter *self)
{
  return self->patch_ids;
}

gboolean
picard_test_completer_saw_air (PicardTestCompleter *self)
{
  return self->saw_air;
}

void
picard_test_completer_reset_counts (PicardTestCompleter *self)
{
  self->calls = 0;
  self->saw_air = FALSE;
  g_array_set_size (self->patch_ids, 0);
}
