/* The frame cache: lazy, bounded, shared between threads, errors passed through. */
#include "picard-error.h"
#include "picard-volume.h"

typedef struct {
  guint rows, columns;
  gint decodes;
  guint fail_index; /* this frame fails to decode */
} CountingSource;

static gboolean
counting_decode (gpointer data, guint index, guint16 *out, GCancellable *cancellable,
                 GError **error)
{
  CountingSource *source = data;

  g_atomic_int_inc (&source->decodes);
  if (index == source->fail_index)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT, "frame %u is corrupt", index);
      return FALSE;
    }
  g_usleep (2000); /* long enough for concurrent requests to overlap */
  for (gsize i = 0; i < (gsize) source->rows * source->columns; i++)
    out[i] = (guint16) (index * 1000 + i);
  return TRUE;
}

static const PicardFrameSourceFuncs counting_funcs = { counting_decode, NULL };

static PicardVolume *
counting_volume_new (CountingSource *source, guint frames)
{
  PicardVolumeInfo info = { 0 };

  info.path = g_strdup ("counting");
  info.frames = frames;
  info.rows = source->rows;
  info.columns = source->columns;
  info.bits_stored = 16;
  return picard_volume_new_from_source (&info, &counting_funcs, source);
}

static void
test_lazy_and_cached (void)
{
  CountingSource source = { 8, 6, 0, G_MAXUINT };
  g_autoptr(PicardVolume) volume = counting_volume_new (&source, 70);
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;
  const guint16 *values;

  g_assert_cmpint (source.decodes, ==, 0); /* opening decodes nothing */
  a = picard_volume_get_frame (volume, 42, NULL, NULL);
  g_assert_cmpint (source.decodes, ==, 1); /* one frame costs one frame */
  b = picard_volume_get_frame (volume, 42, NULL, NULL);
  g_assert_cmpint (source.decodes, ==, 1);
  g_assert_true (a == b);
  values = g_bytes_get_data (a, NULL);
  g_assert_cmpuint (values[5], ==, 42 * 1000 + 5);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 1);
}

static void
test_bounded (void)
{
  CountingSource source = { 16, 16, 0, G_MAXUINT };
  g_autoptr(PicardVolume) volume = counting_volume_new (&source, 20);
  gsize frame = 16 * 16 * sizeof (guint16);

  picard_volume_set_cache_limit (volume, 3 * frame);
  for (guint i = 0; i < 20; i++)
    g_bytes_unref (picard_volume_get_frame (volume, i, NULL, NULL));
  g_assert_cmpint (source.decodes, ==, 20);
  /* The last three are cached, the first was evicted. */
  g_bytes_unref (picard_volume_get_frame (volume, 19, NULL, NULL));
  g_bytes_unref (picard_volume_get_frame (volume, 17, NULL, NULL));
  g_assert_cmpint (source.decodes, ==, 20);
  g_bytes_unref (picard_volume_get_frame (volume, 0, NULL, NULL));
  g_assert_cmpint (source.decodes, ==, 21);
}

static gpointer
fetch_thread (gpointer data)
{
  return picard_volume_get_frame (data, 3, NULL, NULL);
}

static void
test_concurrent_requests_share_one_decode (void)
{
  CountingSource source = { 32, 32, 0, G_MAXUINT };
  g_autoptr(PicardVolume) volume = counting_volume_new (&source, 5);
  GThread *threads[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("fetch", fetch_thread, volume);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_bytes_unref (g_thread_join (threads[i]));
  g_assert_cmpint (source.decodes, ==, 1);
}

static void
test_error_is_not_cached (void)
{
  CountingSource source = { 4, 4, 0, 2 };
  g_autoptr(PicardVolume) volume = counting_volume_new (&source, 5);
  g_autoptr(GError) error = NULL;
  GBytes *frame;

  frame = picard_volume_get_frame (volume, 2, NULL, &error);
  g_assert_null (frame);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_clear_error (&error);
  frame = picard_volume_get_frame (volume, 2, NULL, &error);
  g_assert_null (frame);
  g_assert_cmpint (source.decodes, ==, 2);
}

static void
frame_ready (GObject *object, GAsyncResult *result, gpointer user_data)
{
  GBytes **out = user_data;

  *out = picard_volume_get_frame_finish (PICARD_VOLUME (object), result, NULL);
}

static void
test_async_on_worker_thread (void)
{
  CountingSource source = { 4, 4, 0, G_MAXUINT };
  g_autoptr(PicardVolume) volume = counting_volume_new (&source, 5);
  GBytes *frame = NULL;
  const guint16 *values;

  picard_volume_get_frame_async (volume, 4, NULL, frame_ready, &frame);
  while (frame == NULL)
    g_main_context_iteration (NULL, TRUE);
  values = g_bytes_get_data (frame, NULL);
  g_assert_cmpuint (values[0], ==, 4000);
  g_bytes_unref (frame);
}

static void
test_memory_volume (void)
{
  PicardVolumeInfo info = { 0 };
  guint16 *frames = g_new (guint16, 2 * 3 * 4);
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GBytes) frame = NULL;

  for (guint i = 0; i < 24; i++)
    frames[i] = (guint16) i;
  info.frames = 2;
  info.rows = 3;
  info.columns = 4;
  volume = picard_volume_new_from_memory (&info, frames);
  frame = picard_volume_get_frame (volume, 1, NULL, NULL);
  g_assert_cmpuint (((const guint16 *) g_bytes_get_data (frame, NULL))[0], ==, 12);
}

static void
test_open_missing_path (void)
{
  g_autoptr(GError) error = NULL;
  PicardVolume *volume = picard_volume_open ("/nonexistent/volume.dcm", &error);

  g_assert_null (volume);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/volume.dcm"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/lazy-and-cached", test_lazy_and_cached);
  g_test_add_func ("/volume/bounded", test_bounded);
  g_test_add_func ("/volume/concurrent-requests", test_concurrent_requests_share_one_decode);
  g_test_add_func ("/volume/error-not-cached", test_error_is_not_cached);
  g_test_add_func ("/volume/async", test_async_on_worker_thread);
  g_test_add_func ("/volume/memory", test_memory_volume);
  g_test_add_func ("/volume/open-missing", test_open_missing_path);
  return g_test_run ();
}
