/* picard-eval.h: how good a heatmap is.
 *
 * Pixel view (the paper's): per slice, the pixels inside any lesion box are positive, all
 * others negative, and the heatmap is scored by ROC AUC and average precision exactly as
 * scikit-learn's roc_auc_score and average_precision_score compute them (ties included: the
 * scores sorted descending, one point per distinct score, AUC by the trapezoid rule,
 * AP = sum (R_n - R_{n-1}) P_n).  NaN scores (pixels a registered heatmap does not cover) rank
 * below every number, as one tied lowest score; scikit-learn refuses NaN, so give it the
 * minimum minus one to compare.
 *
 * Detection view (DBTex): local maxima of the heatmap become candidate boxes; they are scored
 * by FROC, sensitivity at 1, 2, 3 and 4 false positives per volume, with the DBTex hit rule
 * (SPEC section 3). */
#pragma once

#include "picard-scan.h"

G_BEGIN_DECLS

/* rows x columns labels (g_free): 1 inside any box, edges included (rows y .. y+height and
 * columns x .. x+width, as the boxes table means them), clipped to the image; 0 elsewhere. */
guint8 *picard_eval_box_labels (guint rows, guint columns, const PicardRect *boxes,
                                guint n_boxes);
/* rows x columns mask (g_free): 1 where the slice shows breast (value > 0). */
guint8 *picard_eval_breast_mask (const float *slice, guint rows, guint columns);

typedef struct {
  double auc;             /* NaN when there are no positives or no negatives */
  double ap;              /* NaN when there are no positives */
  guint64 n_positive;
  guint64 n_negative;
} PicardPixelScores;

/* Scores @n pixels.  @include (may be NULL: all) restricts them, e.g. to the breast.
 * PICARD_ERROR_INVALID_ARGUMENT when no pixel is included. */
gboolean picard_eval_pixels (const float *scores, const guint8 *labels, const guint8 *include,
                             gsize n, PicardPixelScores *out, GError **error);

typedef struct {
  /* ROC: n_roc points from (0, 0) to (1, 1), one per distinct score. */
  double *fpr;
  double *tpr;
  guint n_roc;
  /* Precision-recall: n_pr points in order of falling threshold, recall rising, starting at
   * recall 0, precision 1 (scikit-learn's end point). */
  double *recall;
  double *precision;
  guint n_pr;
} PicardEvalCurves;

/* The curves for plotting.  @resolution > 0 thins them: a point is kept when it moves at
 * least that far (in either coordinate) from the last kept one; ends are always kept. */
gboolean picard_eval_curves (const float *scores, const guint8 *labels, const guint8 *include,
                             gsize n, double resolution, PicardEvalCurves *out, GError **error);
void picard_eval_curves_clear (PicardEvalCurves *curves);

typedef struct {
  double mean;
  double low;     /* the (1 - confidence) / 2 percentile of the bootstrap means */
  double high;
  guint n;        /* values used (NaN skipped) */
} PicardEvalSummary;

/* Mean of @values (NaN skipped) and a percentile bootstrap confidence interval: @resamples
 * means of n values drawn with replacement by a generator seeded with @seed, percentiles
 * interpolated linearly (numpy's default).  FALSE when no value is a number. */
gboolean picard_eval_bootstrap (const double *values, guint n, guint resamples,
                                double confidence, guint64 seed, PicardEvalSummary *out);

/* A candidate lesion: a local maximum of a heatmap. */
typedef struct {
  guint volume;      /* the caller's volume number */
  guint slice;
  double x, y;       /* centre, pixels */
  PicardRect box;    /* box_size x box_size around the centre */
  float score;
} PicardDetection;

/* Local maxima of @heatmap (finite, >= their 8 neighbours), strongest first, with
 * non-maximum suppression: a maximum within @radius pixels of a stronger kept one is dropped.
 * At most @max_detections (0: all).  Appends to @detections (GArray of PicardDetection). */
void picard_eval_find_detections (const float *heatmap, guint rows, guint columns,
                                  guint volume, guint slice, double radius, guint box_size,
                                  guint max_detections, GArray *detections);

/* A ground-truth lesion for FROC: its box on its central slice, and the volume's slice count
 * as annotated (VolumeSlices). */
typedef struct {
  guint volume;
  guint slice;
  PicardRect box;
  int volume_slices;
} PicardFrocTruth;

/* DBTex FROC.  A detection hits a truth of its volume when its centre lies within
 * max(half the box diagonal, 100 px) of the box centre (x + width/2, y + height/2) and its
 * slice within volume_slices/4 of the truth's; a detection hitting several takes the nearest
 * (3-D distance).  Thresholds: every hitting detection's score (plus max+1 and min-1); at each,
 * sensitivity = distinct truths hit / all truths, false positives = non-hitting detections /
 * @n_volumes; sensitivities at @fps (e.g. 1, 2, 3, 4) are interpolated as numpy.interp does.
 * PICARD_ERROR_INVALID_ARGUMENT without truths or volumes. */
gboolean picard_eval_froc (const PicardFrocTruth *truths, guint n_truths,
                           const PicardDetection *detections, guint n_detections,
                           guint n_volumes, const double *fps, guint n_fps,
                           double *sensitivity, GError **error);

G_END_DECLS
