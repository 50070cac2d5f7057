/* picard-heatmap-eval.h: evaluation of a folder of heatmaps written by picard-heatmap-job.h
 * (one or several shards into the same folder, or several folders) against the lesion boxes.
 *
 * A slice counts when its sidecar (slice_NNNN.json) exists.  Boxes are matched to a slice's
 * volume by PatientID, StudyUID and view and to the slice by their central slice; they are
 * given in dataset orientation and mapped to the heatmap's aligned space with the orientation
 * recorded in the sidecar.  Pixel view: per-slice AUC and AP (app/picard-eval.h), mean and
 * bootstrap confidence interval over the slices that have a lesion.  Detection view: the
 * local maxima of every heatmap against every box of the scanned volumes, DBTex FROC at 1, 2,
 * 3 and 4 false positives per volume. */
#pragma once

#include "picard-dataset.h"
#include "picard-eval.h"
#include "picard-orientation.h"

G_BEGIN_DECLS

typedef struct {
  char *sidecar;         /* path */
  char *tag;
  char *patient_id;
  char *study_uid;
  PicardView view;
  guint slice;
  guint rows, columns;
  char *metric;
  char *mode;
  char *model_hash;
  guint n_boxes;         /* boxes on this slice */
  PicardPixelScores scores;
  PicardEvalCurves curves;
} PicardHeatmapEvalSlice;

typedef struct {
  gboolean breast_only;  /* score only breast pixels (the sidecar's breast mask) */
  guint bootstrap;       /* resamples, default 1000 */
  double confidence;     /* default 0.95 */
  guint64 seed;          /* of the bootstrap, default 0 */
  double curve_resolution; /* thinning of the ROC curves kept for plotting, default 0.002 */
  /* Detections: non-maximum suppression radius and box size in pixels (default: the scan's
   * hole size from the sidecar), at most this many per slice (default 20). */
  double detection_radius;
  guint detection_box;
  guint max_detections;
} PicardHeatmapEvalOptions;

typedef struct {
  GPtrArray *slices;     /* PicardHeatmapEvalSlice, sorted by tag then slice */
  guint n_volumes;
  guint n_truths;        /* boxes of the scanned volumes (FROC) */
  PicardEvalSummary auc; /* over slices with a lesion; n 0 when none */
  PicardEvalSummary ap;
  double confidence;
  double froc_fps[4];
  double froc_sensitivity[4]; /* NaN without boxes */
} PicardHeatmapEvalReport;

void picard_heatmap_eval_options_init (PicardHeatmapEvalOptions *options);

/* Reads every sidecar under each of @dirs (recursively).  PICARD_ERROR_NOT_FOUND when there
 * is none; PICARD_ERROR_CORRUPT naming the file for a damaged sidecar or heatmap;
 * PICARD_ERROR_INVALID_ARGUMENT when one slice appears twice (overlapping shards). */
PicardHeatmapEvalReport *picard_heatmap_eval_run (const char *const *dirs, GArray *boxes,
                                                  const PicardHeatmapEvalOptions *options,
                                                  GError **error);
void picard_heatmap_eval_report_free (PicardHeatmapEvalReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardHeatmapEvalReport, picard_heatmap_eval_report_free)

/* The table printed by picard-cli eval. */
char *picard_heatmap_eval_report_to_table (const PicardHeatmapEvalReport *report);
/* One row per slice: tag,patient_id,study_uid,view,slice,boxes,positives,negatives,auc,ap */
char *picard_heatmap_eval_report_to_csv (const PicardHeatmapEvalReport *report);
char *picard_heatmap_eval_report_to_json (const PicardHeatmapEvalReport *report);

G_END_DECLS
