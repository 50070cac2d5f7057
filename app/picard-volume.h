/* picard-volume.h: a DBT volume, frames x rows x columns of 16-bit stored values,
 * decoded lazily frame by frame into a bounded cache. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Caps against absurd headers: far above any DBT scanner, far below what would exhaust memory. */
#define PICARD_VOLUME_MAX_ROWS 16384u
#define PICARD_VOLUME_MAX_COLUMNS 16384u
#define PICARD_VOLUME_MAX_FRAMES 4096u
#define PICARD_VOLUME_MAX_FRAME_BYTES ((gsize) 512 * 1024 * 1024)

typedef enum {
  PICARD_LATERALITY_UNKNOWN,
  PICARD_LATERALITY_LEFT,
  PICARD_LATERALITY_RIGHT,
} PicardLaterality;

typedef struct {
  char *path;
  char *format;               /* "DICOM" or "PNG folder" */
  char *patient_id;
  char *study_instance_uid;
  char *series_instance_uid;
  char *sop_class_uid;
  char *sop_instance_uid;
  char *transfer_syntax_uid;
  char *transfer_syntax_name; /* human-readable */
  char *photometric;          /* "MONOCHROME2", ... */
  char *view;                 /* "CC", "MLO", ... or NULL */
  PicardLaterality header_laterality; /* from the header; may be wrong in BCS-DBT */
  guint bits_allocated;
  guint bits_stored;
  gboolean has_window;
  double window_center;
  double window_width;
  guint frames;
  guint rows;
  guint columns;
} PicardVolumeInfo;

void picard_volume_info_clear (PicardVolumeInfo *info);

/* A decoder of frames for one opened file. decode_frame is called from worker threads,
 * possibly concurrently: it must be thread-safe. It writes rows*columns values, already
 * masked to bits_stored, in file orientation. */
typedef struct {
  gboolean (*decode_frame) (gpointer source, guint index, guint16 *out,
                            GCancellable *cancellable, GError **error);
  void (*free) (gpointer source);
} PicardFrameSourceFuncs;

#define PICARD_TYPE_VOLUME (picard_volume_get_type ())
G_DECLARE_FINAL_TYPE (PicardVolume, picard_volume, PICARD, VOLUME, GObject)

/* Takes ownership of @info (its strings) and @source. */
PicardVolume *picard_volume_new_from_source (PicardVolumeInfo *info,
                                             const PicardFrameSourceFuncs *funcs,
                                             gpointer source);
/* Wraps frames already in memory; takes ownership of @frames (g_free). */
PicardVolume *picard_volume_new_from_memory (PicardVolumeInfo *info, guint16 *frames);

/* Opens a DICOM file or a folder of PNG slices. Reads headers only. */
PicardVolume *picard_volume_open (const char *path, GError **error);

const PicardVolumeInfo *picard_volume_get_info (PicardVolume *self);
guint picard_volume_get_n_frames (PicardVolume *self);
guint picard_volume_get_rows (PicardVolume *self);
guint picard_volume_get_columns (PicardVolume *self);

/* One frame in file orientation as rows*columns guint16 values. Blocks while it decodes;
 * returns the cached copy when there is one. */
GBytes *picard_volume_get_frame (PicardVolume *self, guint index,
                                 GCancellable *cancellable, GError **error);
void picard_volume_get_frame_async (PicardVolume *self, guint index,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
GBytes *picard_volume_get_frame_finish (PicardVolume *self, GAsyncResult *result,
                                        GError **error);
/* Starts decoding a frame in the background so a later get_frame finds it cached. */
void picard_volume_prefetch (PicardVolume *self, guint index);

/* The cache holds at most this many bytes of decoded frames (at least one frame). */
void picard_volume_set_cache_limit (PicardVolume *self, gsize bytes);
/* How many frames were decoded from the source so far (cache misses). */
guint picard_volume_get_decode_count (PicardVolume *self);

G_END_DECLS
