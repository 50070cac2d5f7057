#include "picard-volume.h"

#include "picard-dicom.h"
#include "picard-error.h"
#include "picard-png-folder.h"

/* 1 GiB: about 10 full-size DBT frames, enough to scroll smoothly without holding
 * the ~600 MB of a decoded volume twice. */
#define DEFAULT_CACHE_LIMIT ((gsize) 1024 * 1024 * 1024)

typedef struct {
  guint index;
  GBytes *bytes;   /* NULL while a thread decodes it */
  GList *lru_link; /* in lru, most recent first; NULL while pending */
} CacheEntry;

struct _PicardVolume {
  GObject parent_instance;

  PicardVolumeInfo info;
  const PicardFrameSourceFuncs *funcs;
  gpointer source;
  guint16 *memory_frames; /* for picard_volume_new_from_memory */

  GMutex lock;
  GCond decoded;
  GHashTable *cache; /* frame index -> CacheEntry */
  GQueue lru;        /* of CacheEntry */
  gsize cached_bytes;
  gsize cache_limit;
  guint decode_count;
};

G_DEFINE_FINAL_TYPE (PicardVolume, picard_volume, G_TYPE_OBJECT)

void
picard_volume_info_clear (PicardVolumeInfo *info)
{
  g_clear_pointer (&info->path, g_free);
  g_clear_pointer (&info->format, g_free);
  g_clear_pointer (&info->patient_id, g_free);
  g_clear_pointer (&info->study_instance_uid, g_free);
  g_clear_pointer (&info->series_instance_uid, g_free);
  g_clear_pointer (&info->sop_class_uid, g_free);
  g_clear_pointer (&info->sop_instance_uid, g_free);
  g_clear_pointer (&info->transfer_syntax_uid, g_free);
  g_clear_pointer (&info->transfer_syntax_name, g_free);
  g_clear_pointer (&info->photometric, g_free);
  g_clear_pointer (&info->view, g_free);
}

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_clear_pointer (&entry->bytes, g_bytes_unref);
  g_free (entry);
}

static void
picard_volume_finalize (GObject *object)
{
  PicardVolume *self = PICARD_VOLUME (object);

  g_hash_table_destroy (self->cache);
  g_queue_clear (&self->lru);
  if (self->funcs != NULL && self->funcs->free != NULL)
    self->funcs->free (self->source);
  g_free (self->memory_frames);
  picard_volume_info_clear (&self->info);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->decoded);

  G_OBJECT_CLASS (picard_volume_parent_class)->finalize (object);
}

static void
picard_volume_class_init (PicardVolumeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_volume_finalize;
}

static void
picard_volume_init (PicardVolume *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->decoded);
  self->cache = g_hash_table_new_full (NULL, NULL, NULL, cache_entry_free);
  g_queue_init (&self->lru);
  self->cache_limit = DEFAULT_CACHE_LIMIT;
}

static gsize
frame_bytes (PicardVolume *self)
{
  return (gsize) self->info.rows * self->info.columns * sizeof (guint16);
}

PicardVolume *
picard_volume_new_from_source (PicardVolumeInfo *info,
                               const PicardFrameSourceFuncs *funcs,
                               gpointer source)
{
  PicardVolume *self;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (funcs != NULL && funcs->decode_frame != NULL, NULL);
  g_return_val_if_fail (info->rows > 0 && info->columns > 0 && info->frames > 0, NULL);

  self = g_object_new (PICARD_TYPE_VOLUME, NULL);
  self->info = *info;
  memset (info, 0, sizeof *info);
  self->funcs = funcs;
  self->source = source;
  return self;
}

static gboolean
memory_decode_frame (gpointer source, guint index, guint16 *out,
                     GCancellable *cancellable, GError **error)
{
  PicardVolume *self = source;

  memcpy (out, self->memory_frames + (gsize) index * self->info.rows * self->info.columns,
          frame_bytes (self));
  return TRUE;
}

static const PicardFrameSourceFuncs memory_funcs = { memory_decode_frame, NULL };

PicardVolume *
picard_volume_new_from_memory (PicardVolumeInfo *info, guint16 *frames)
{
  PicardVolume *self;

  g_return_val_if_fail (frames != NULL, NULL);

  self = picard_volume_new_from_source (info, &memory_funcs, NULL);
  self->source = self; /* weak: the frames live as long as the volume */
  self->memory_frames = frames;
  return self;
}

PicardVolume *
picard_volume_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return picard_png_folder_open (path, error);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: no such file or folder; check the path", path);
      return NULL;
    }
  return picard_dicom_open (path, error);
}

const PicardVolumeInfo *
picard_volume_get_info (PicardVolume *self)
{
  g_return_val_if_fail (PICARD_IS_VOLUME (self), NULL);
  return &self->info;
}

guint
picard_volume_get_n_frames (PicardVolume *self)
{
  g_return_val_if_fail (PICARD_IS_VOLUME (self), 0);
  return self->info.frames;
}

guint
picard_volume_get_rows (PicardVolume *self)
{
  g_return_val_if_fail (PICARD_IS_VOLUME (self), 0);
  return self->info.rows;
}

guint
picard_volume_get_columns (PicardVolume *self)
{
  g_return_val_if_fail (PICARD_IS_VOLUME (self), 0);
  return self->info.columns;
}

/* Drops least recently used frames until @incoming more bytes fit. Called locked. */
static void
evict_for (PicardVolume *self, gsize incoming)
{
  while (self->lru.length > 0 && self->cached_bytes + incoming > self->cache_limit)
    {
      CacheEntry *oldest = g_queue_pop_tail (&self->lru);

      self->cached_bytes -= g_bytes_get_size (oldest->bytes);
      g_hash_table_remove (self->cache, GUINT_TO_POINTER (oldest->index));
    }
}

GBytes *
picard_volume_get_frame (PicardVolume *self, guint index,
                         GCancellable *cancellable, GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  CacheEntry *entry;
  guint16 *pixels;
  gboolean ok;

  g_return_val_if_fail (PICARD_IS_VOLUME (self), NULL);
  g_return_val_if_fail (index < self->info.frames, NULL);

  locker = g_mutex_locker_new (&self->lock);
  for (;;)
    {
      entry = g_hash_table_lookup (self->cache, GUINT_TO_POINTER (index));
      if (entry == NULL)
        break;
      if (entry->bytes != NULL)
        {
          g_queue_unlink (&self->lru, entry->lru_link);
          g_queue_push_head_link (&self->lru, entry->lru_link);
          return g_bytes_ref (entry->bytes);
        }
      /* Another thread is decoding this frame: share its work. */
      g_cond_wait (&self->decoded, &self->lock);
    }

  entry = g_new0 (CacheEntry, 1);
  entry->index = index;
  g_hash_table_insert (self->cache, GUINT_TO_POINTER (index), entry);
  self->decode_count++;
  g_mutex_unlock (&self->lock);

  pixels = g_try_malloc (frame_bytes (self));
  if (pixels == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: not enough memory for a %u x %u frame",
                   self->info.path ? self->info.path : "volume",
                   self->info.rows, self->info.columns);
      ok = FALSE;
    }
  else
    ok = self->funcs->decode_frame (self->source, index, pixels, cancellable, error);

  g_mutex_lock (&self->lock);
  if (!ok)
    {
      g_free (pixels);
      g_hash_table_remove (self->cache, GUINT_TO_POINTER (index));
      g_cond_broadcast (&self->decoded);
      return NULL;
    }
  evict_for (self, frame_bytes (self));
  entry->bytes = g_bytes_new_take (pixels, frame_bytes (self));
  g_queue_push_head (&self->lru, entry);
  entry->lru_link = self->lru.head;
  self->cached_bytes += frame_bytes (self);
  g_cond_broadcast (&self->decoded);
  return g_bytes_ref (entry->bytes);
}

static void
get_frame_thread (GTask *task, gpointer source_object, gpointer task_data,
                  GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *bytes = picard_volume_get_frame (source_object, GPOINTER_TO_UINT (task_data),
                                           cancellable, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

void
picard_volume_get_frame_async (PicardVolume *self, guint index, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PICARD_IS_VOLUME (self));
  g_return_if_fail (index < self->info.frames);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, picard_volume_get_frame_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (index), NULL);
  g_task_run_in_thread (task, get_frame_thread);
}

GBytes *
picard_volume_get_frame_finish (PicardVolume *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
picard_volume_prefetch (PicardVolume *self, guint index)
{
  g_return_if_fail (PICARD_IS_VOLUME (self));

  if (index >= self->info.frames)
    return;
  g_mutex_lock (&self->lock);
  if (g_hash_table_contains (self->cache, GUINT_TO_POINTER (index)))
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  g_mutex_unlock (&self->lock);
  picard_volume_get_frame_async (self, index, NULL, NULL, NULL);
}

void
picard_volume_set_cache_limit (PicardVolume *self, gsize bytes)
{
  g_return_if_fail (PICARD_IS_VOLUME (self));

  g_mutex_lock (&self->lock);
  self->cache_limit = MAX (bytes, frame_bytes (self));
  evict_for (self, 0);
  g_mutex_unlock (&self->lock);
}

guint
picard_volume_get_decode_count (PicardVolume *self)
{
  guint count;

  g_return_val_if_fail (PICARD_IS_VOLUME (self), 0);
  g_mutex_lock (&self->lock);
  count = self->decode_count;
  g_mutex_unlock (&self->lock);
  return count;
}
