/* picard-heatmap-job.h: the batch side of the PICARD scan (picard-cli heatmap): volumes and
 * slices -> per-slice files in an output folder, for any PicardCompleter.
 *
 * Files of slice N of a volume, in OUTDIR/TAG/ (TAG = picard_heatmap_job_volume_tag()):
 *   slice_NNNN.heatmap.npy    rows x columns float32, aligned (left-aligned) space, NaN where a
 *                             registered heatmap has no value
 *   slice_NNNN.grid.npy       n_h x n_w float32 scores of the metric (NaN: not scanned)
 *   slice_NNNN.distances.npy  n_h x n_w x M float32 image-space distances of every sample
 *   slice_NNNN.feature-distances.npy  the same in critic-feature space (when there is a critic)
 *   slice_NNNN.breast.png     8-bit mask, 255 where the slice shows breast (eval --breast-only)
 *   slice_NNNN.overlay.png    the slice with the heatmap in jet, slice size
 *   slice_NNNN.json           the sidecar: every parameter, the orientation, the model's hash,
 *                             the device and the timing; written last, so a slice counts as
 *                             done only when its sidecar exists.
 * Every file is written atomically (temporary file, fsync, rename) and only from a complete
 * scan, so a partial run never replaces a complete output.
 *
 * Sharding: the job's items are (volume, slice) pairs listed with volumes in the given order
 * and each volume's slices ascending; item k (0-based) belongs to shard k mod n.  Shards are
 * thus disjoint, cover every item, and differ in size by at most one. */
#pragma once

#include "picard-dataset.h"
#include "picard-heatmap.h"
#include "picard-orientation.h"
#include "picard-volume.h"
#include "picard-window-level.h"

G_BEGIN_DECLS

#define PICARD_HEATMAP_SIDECAR_FORMAT "picard-heatmap/1"

/* "i/n" with 0 <= i < n. */
gboolean picard_heatmap_job_parse_shard (const char *text, guint *index, guint *count,
                                         GError **error);
/* "A:B" (inclusive, A <= B). */
gboolean picard_heatmap_job_parse_range (const char *text, guint *first, guint *last,
                                         GError **error);
/* "X,Y,W,H" with W, H > 0 and X, Y >= 0. */
gboolean picard_heatmap_job_parse_roi (const char *text, PicardRect *roi, GError **error);

/* The positions (0 .. n_items-1) of shard @index of @count (see above); g_free. */
guint *picard_heatmap_job_shard (guint n_items, guint index, guint count, guint *n_out);

/* The sorted, distinct central slices of the boxes of @boxes that match the volume, within
 * 0 .. frames-1 (g_free; *n_out may be 0). */
guint *picard_heatmap_job_lesion_slices (GArray *boxes, const char *patient_id,
                                         const char *study_uid, PicardView view, guint frames,
                                         guint *n_out);

/* One volume to scan. */
typedef struct {
  PicardVolume *volume;
  char *path;
  PicardView view;          /* --view, else the header's */
  PicardLaterality view_laterality;
  char *tag;                /* the output subfolder */
  guint *slices;            /* ascending */
  guint n_slices;
} PicardHeatmapVolume;

/* Opens @path; @view UNKNOWN takes the view from the header. */
PicardHeatmapVolume *picard_heatmap_volume_open (const char *path, PicardView view,
                                                 GError **error);
void picard_heatmap_volume_free (PicardHeatmapVolume *volume);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardHeatmapVolume, picard_heatmap_volume_free)

/* PatientID_view_XXXXXXXX (8 hex digits of the StudyUID's SHA-256), made safe for a file
 * name; the file's base name stands in for a missing PatientID. */
char *picard_heatmap_job_volume_tag (const PicardVolumeInfo *info, PicardView view);

/* Slice @index as PICARD reads it: file -> aligned orientation (measured on that frame),
 * windowed (the file's window, else the automatic one) through 8 bits into [0, 1]. */
float *picard_heatmap_job_read_slice (PicardHeatmapVolume *volume, guint index,
                                      PicardOrientation *orientation, PicardWindowLevel *wl,
                                      GCancellable *cancellable, GError **error);

/* What a slice's files were written from; passed to the slice callback. */
typedef struct {
  const PicardHeatmapVolume *volume;
  guint slice;
  const char *sidecar_path;
  double seconds;
  guint completed;  /* patches scored (now or in a cached run) */
  guint skipped;    /* air patches skipped (--skip-air) */
  guint position;  /* slices written so far in this job, this one included */
  guint total;
} PicardHeatmapSliceReport;

typedef struct {
  PicardScanParams scan;
  PicardScanMetric metric;
  PicardHeatmapMode mode;
  const char *output_dir;
  const char *cache_dir;       /* NULL: no scan cache */
  /* Recorded in the sidecars. */
  const char *checkpoint;
  int iteration;               /* -1: the newest */
  const char *dropout_layers;
  double dropout_p;
  /* Optional, on the scanning thread. */
  PicardScanProgressFunc progress;
  gpointer progress_data;
  void (*slice_written) (const PicardHeatmapSliceReport *report, gpointer user_data);
  gpointer slice_written_data;
} PicardHeatmapJobOptions;

void picard_heatmap_job_options_init (PicardHeatmapJobOptions *options);

/* Checks the parameters against every volume's slice size before any model is loaded:
 * PICARD_ERROR_INVALID_ARGUMENT naming the problem and the volume. */
gboolean picard_heatmap_job_check (const PicardHeatmapJobOptions *options,
                                   PicardHeatmapVolume **volumes, guint n_volumes,
                                   GError **error);

/* Scans the slices of every volume with @completer and writes their files.  Cancelled:
 * G_IO_ERROR_CANCELLED, finished slices written and finished batches in the cache. */
gboolean picard_heatmap_job_run (const PicardHeatmapJobOptions *options,
                                 PicardHeatmapVolume **volumes, guint n_volumes,
                                 PicardCompleter *completer, GCancellable *cancellable,
                                 GError **error);

/* The files of slice @slice under @dir (OUTDIR/TAG): "slice_NNNN" + @suffix. */
char *picard_heatmap_job_slice_path (const char *dir, guint slice, const char *suffix);

G_END_DECLS
