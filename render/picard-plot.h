/* picard-plot.h: ROC and precision-recall curves (app/picard-eval.h) drawn with axes, ticks,
 * labels and a legend, written atomically through picard-export.h (PNG, SVG or PDF by the
 * file name's extension). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PICARD_PLOT_ROC, /* false positive rate -> true positive rate, with the chance diagonal */
  PICARD_PLOT_PR,  /* recall -> precision */
} PicardPlotKind;

typedef struct {
  const double *x;    /* n values in [0, 1] */
  const double *y;
  guint n;
  const char *label;  /* legend text, e.g. "slice 31 (AUC 0.874)"; may be NULL */
} PicardPlotSeries;

/* Draws the curves on a @size x @size square to @path.  Values outside [0, 1] are clipped to
 * the frame.  PICARD_ERROR_INVALID_ARGUMENT for an unknown extension or a series without
 * points; PICARD_ERROR_IO when the file cannot be written (an existing file stays). */
gboolean picard_plot_curves (const char *path, PicardPlotKind kind, const char *title,
                             const PicardPlotSeries *series, guint n_series, guint size,
                             GError **error);

G_END_DECLS
