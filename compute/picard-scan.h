/* picard-scan.h: the PICARD scan of a slice (SPEC section 1): every sliding-window patch gets
 * its hole completed M times by a PicardCompleter, and is scored by the distances between the
 * hidden ground truth and the completions.
 *
 * Geometry.  A slice is rows x columns floats in [0, 1]; a patch is those pixels times 2 minus 1.
 * Patch (i, j) of the lattice has its top-left pixel at row i*stride, column j*stride; only
 * patches fully inside the slice exist, so the lattice is n_h x n_w with
 * n_h = (rows - P) / stride + 1 (integer division), n_w likewise.  Its hole covers rows
 * i*stride + (P-H)/2 .. i*stride + (P+H)/2 - 1 (P - H must be even), so the hole centre in
 * pixel-centre coordinates (pixel k spans k-0.5 .. k+0.5) is y = i*stride + (P-1)/2
 * (P 256: i*32 + 127.5), x likewise.  A patch's id is i * n_w + j.
 *
 * Scores.  For every scanned patch the result keeps the L2 distance (plain Frobenius norm of
 * the difference, not squared, not averaged) of each of the M completions to the ground truth,
 * in image space (the H x H hole crop in [-1, 1]) and, when the completer has a critic, in
 * feature space; MCD, MeanCD and MedCD of either space are then read off without recomputing.
 *
 * Progressive order.  Patches run coarse-to-fine: first the lattice at 4x the stride
 * (cells whose offset (i - i0, j - j0) from the scanned region's first cell has both
 * components divisible by 4), then the remaining cells of the 2x lattice, then the rest; within
 * a phase in row-major order; every patch exactly once.  Batches never straddle phases. */
#pragma once

#include "picard-completer.h"

G_BEGIN_DECLS

/* A rectangle in pixels: columns x .. x+width-1, rows y .. y+height-1. */
typedef struct {
  int x;
  int y;
  int width;
  int height;
} PicardRect;

#define PICARD_SCAN_DEFAULT_PATCH 256
#define PICARD_SCAN_DEFAULT_HOLE 128
#define PICARD_SCAN_DEFAULT_STRIDE 32
#define PICARD_SCAN_DEFAULT_SAMPLES 10
#define PICARD_SCAN_DEFAULT_SEED 1337
/* Caps against absurd requests (a sample count or patch far beyond any use). */
#define PICARD_SCAN_MAX_SAMPLES 1024
#define PICARD_SCAN_MAX_PATCH 4096
#define PICARD_SCAN_PHASES 3

typedef struct {
  guint patch_size;   /* P, default 256 */
  guint hole_size;    /* H, default 128, centred; P - H even */
  guint stride;       /* default 32 */
  guint n_samples;    /* M, default 10 */
  guint64 seed;       /* default 1337 */
  guint batch_size;   /* patches per completer call; 0 = the completer's preference.  Does not
                       * change the results. */
  /* Tissue skip: a patch all of whose P x P pixels are <= air_level (in [0, 1]) is not
   * completed; it is counted as skipped and its scores are NaN.  Default off (as the paper). */
  gboolean skip_air;
  float air_level;    /* default 0 */
  /* Region of interest: only patches whose hole intersects @roi are scanned.  The ROI must lie
   * inside the slice. */
  gboolean has_roi;
  PicardRect roi;
} PicardScanParams;

void picard_scan_params_init (PicardScanParams *params);

typedef enum {
  PICARD_SCAN_SPACE_IMAGE,
  PICARD_SCAN_SPACE_FEATURE,
} PicardScanSpace;

typedef enum {
  PICARD_SCAN_REDUCE_MIN,    /* MCD */
  PICARD_SCAN_REDUCE_MEAN,   /* MeanCD */
  PICARD_SCAN_REDUCE_MEDIAN, /* MedCD: for even M the mean of the two middle distances */
} PicardScanReduce;

typedef struct {
  PicardScanReduce reduce;
  PicardScanSpace space;
} PicardScanMetric;

/* "mcd", "meancd", "medcd" (image space), with "-feature" or "-image" appended to choose the
 * space: "mcd-feature".  Any case. */
gboolean picard_scan_metric_from_string (const char *text, PicardScanMetric *metric);
/* The canonical name, "mcd-image" ...; the string is static. */
const char *picard_scan_metric_to_string (PicardScanMetric metric);

typedef enum {
  PICARD_SCAN_CELL_PENDING, /* inside the scanned region, not yet scored */
  PICARD_SCAN_CELL_DONE,
  PICARD_SCAN_CELL_SKIPPED, /* air only (skip_air): no scores, NaN */
  PICARD_SCAN_CELL_OUTSIDE, /* outside the region of interest: never scanned, NaN */
} PicardScanCell;

/* The state and scores of one slice's scan.  Reference counted; the fields are read-only for
 * everyone but the scan.  While picard_scan_run() works on a result, only its progress
 * callback (on the scanning thread) may read it: copy it there for other threads. */
typedef struct {
  guint rows, columns;      /* the slice */
  guint slice_index;
  PicardScanParams params;
  guint n_h, n_w;           /* the lattice of patches fully inside the slice */
  guint feature_length;     /* F of the completer; 0 = no feature-space distances */
  char *model_hash;         /* the completer's, set when scanning starts; NULL before */
  /* The scanned region of the lattice: rows i0 .. i0+region_h-1, columns j0 .. j0+region_w-1 */
  guint i0, j0, region_h, region_w;
  guint8 *cells;            /* n_h * n_w PicardScanCell, row-major */
  float *image_distances;   /* n_h * n_w * M: distance of each sample, NaN unless DONE */
  float *feature_distances; /* the same in feature space; NULL when F is 0 */
  guint n_total;            /* cells in the region */
  guint n_done;
  guint n_skipped;
  gatomicrefcount ref_count; /* private */
} PicardScanResult;

/* An empty result (every region cell pending).  Checks the parameters against the slice:
 * PICARD_ERROR_INVALID_ARGUMENT naming the problem (patch larger than the slice, hole larger
 * than the patch, stride or M zero, ROI outside the slice, ...). */
PicardScanResult *picard_scan_result_new (guint rows, guint columns, guint slice_index,
                                          const PicardScanParams *params, guint feature_length,
                                          GError **error);
PicardScanResult *picard_scan_result_ref (PicardScanResult *result);
void picard_scan_result_unref (PicardScanResult *result);
/* A deep copy, e.g. to hand a snapshot to the main thread from a progress callback. */
PicardScanResult *picard_scan_result_copy (const PicardScanResult *result);

gboolean picard_scan_result_is_complete (const PicardScanResult *result);
/* Whether the metric is available: feature space needs F > 0. */
gboolean picard_scan_result_has_metric (const PicardScanResult *result, PicardScanMetric metric);
/* The M distances of patch (i, j) in @space (NaN unless DONE), or NULL without that space. */
const float *picard_scan_result_get_distances (const PicardScanResult *result,
                                               PicardScanSpace space, guint i, guint j);
/* The score of patch (i, j); NaN unless DONE or without that space. */
float picard_scan_result_get_score (const PicardScanResult *result, PicardScanMetric metric,
                                    guint i, guint j);
/* n_h * n_w scores, row-major (g_free); NaN for cells not DONE. */
float *picard_scan_result_get_grid (const PicardScanResult *result, PicardScanMetric metric);
/* The pixels of patch (i, j) and of its hole. */
void picard_scan_result_get_patch_rect (const PicardScanResult *result, guint i, guint j,
                                        PicardRect *patch, PicardRect *hole);

/* The order of the scan: every region cell index (i * n_w + j) once, coarse to fine (see
 * above), whatever their state.  @phase_ends[k] is the end (exclusive) of phase k in the
 * returned array, which has *n_cells entries (g_free). */
guint *picard_scan_schedule (const PicardScanResult *result, guint *n_cells,
                             guint phase_ends[PICARD_SCAN_PHASES]);
/* The phase (0, 1, 2) of region cell (i, j). */
guint picard_scan_cell_phase (const PicardScanResult *result, guint i, guint j);

/* Pause control for a running scan; thread-safe, reference counted.  A paused scan stops after
 * the batch in flight and waits (cancellation still ends it) until resumed. */
typedef struct _PicardScanControl PicardScanControl;

PicardScanControl *picard_scan_control_new (void);
PicardScanControl *picard_scan_control_ref (PicardScanControl *control);
void picard_scan_control_unref (PicardScanControl *control);
void picard_scan_control_pause (PicardScanControl *control);
void picard_scan_control_resume (PicardScanControl *control);
gboolean picard_scan_control_is_paused (PicardScanControl *control);

typedef struct {
  const PicardScanResult *result; /* after the batch was stored */
  guint phase;              /* the phase the batch belonged to */
  gboolean phase_complete;  /* TRUE when the batch finished that phase */
  guint batch_completed;    /* patches completed in this batch */
  guint batch_skipped;      /* air patches skipped since the previous report */
  guint n_done, n_skipped, n_total;
  double elapsed_s;         /* time spent scanning in this run, pauses excluded */
  double patches_per_second;/* completed patches per second over the recent batches; 0 before
                             * the first measurement */
  double eta_s;             /* remaining patches / patches_per_second; negative when unknown */
  guint slice_position;     /* the volume driver: which of n_slices (0-based); else 0 of 1 */
  guint n_slices;
} PicardScanProgress;

/* Called on the scanning thread after every batch (and once at the end of a scan whose last
 * cells were all skipped).  It may pause (through the control) or cancel the scan; it must not
 * keep @progress or the result pointer beyond the call. */
typedef void (*PicardScanProgressFunc) (const PicardScanProgress *progress, gpointer user_data);

/* Scores the pending cells of @result in schedule order, in batches, calling @progress after
 * each.  @slice holds the result's rows x columns pixels in [0, 1].  Resuming is calling it
 * again on the same (or a cached) result.  @control may be NULL.  On cancellation (between
 * batches, or inside the completer) it returns FALSE with G_IO_ERROR_CANCELLED, keeping every
 * batch finished so far; on a completer error it returns FALSE with that error, likewise. */
gboolean picard_scan_run (PicardScanResult *result, PicardCompleter *completer,
                          const float *slice, PicardScanControl *control,
                          GCancellable *cancellable, PicardScanProgressFunc progress,
                          gpointer user_data, GError **error);

/* The completions of patch (i, j) for the given samples, recomputed (the scan keeps only their
 * distances): @holes receives n_samples x H x H values in [-1, 1], and @ground_truth (may be
 * NULL) the H x H hidden crop. */
gboolean picard_scan_complete_patch (const PicardScanResult *result, PicardCompleter *completer,
                                     const float *slice, guint i, guint j,
                                     const guint32 *sample_ids, guint n_samples, float *holes,
                                     float *ground_truth, GCancellable *cancellable,
                                     GError **error);

/* Multi-slice driver.  @get_slice returns slice @index as rows x columns floats in [0, 1]
 * (g_free), or NULL with an error. */
typedef float *(*PicardScanSliceFunc) (guint index, gpointer user_data,
                                       GCancellable *cancellable, GError **error);
/* Called on the scanning thread when a slice's result is complete (found in the cache or
 * scanned); the callee may keep a reference. */
typedef void (*PicardScanSliceDoneFunc) (PicardScanResult *result, gpointer user_data);

typedef struct {
  guint rows, columns;
  const guint *slices;        /* the slice indices to scan, in this order */
  guint n_slices;
  PicardScanSliceFunc get_slice;
  gpointer slice_data;
  /* The cache folder (picard-scan-cache.h) or NULL for none.  Complete results found there
   * are returned without scanning, partial ones are resumed; results are stored after every
   * slice, at most every cache_interval_s seconds while one runs, and when it stops. */
  const char *cache_dir;
  double cache_interval_s;
  PicardScanControl *control;
  PicardScanProgressFunc progress;
  gpointer progress_data;
  PicardScanSliceDoneFunc slice_done;
  gpointer slice_done_data;
} PicardScanVolumeJob;

/* Scans every slice of @job with @params; returns the results in job order (a GPtrArray
 * owning them) or NULL with an error (cancelled: G_IO_ERROR_CANCELLED; what was finished is in
 * the cache).  A failure to write the cache is a warning, not an error. */
GPtrArray *picard_scan_volume (PicardCompleter *completer, const PicardScanParams *params,
                               const PicardScanVolumeJob *job, GCancellable *cancellable,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardScanResult, picard_scan_result_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardScanControl, picard_scan_control_unref)

G_END_DECLS
