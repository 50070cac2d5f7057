/* picard-scan-panel.h: the heatmap's side panel: the model, the scan's parameters, start /
 * pause / resume / cancel with progress, the overlay's thresholds and lattice, and a patch's
 * completions (picked by a click or Enter on the slice).  Scans and completions run on worker
 * threads; the panel hands their snapshots to the window's heatmap layer. */
#pragma once

#include <gtk/gtk.h>

#include "picard-completer.h"
#include "picard-export.h"
#include "picard-scan.h"

G_BEGIN_DECLS

typedef struct _PicardWindow PicardWindow;

typedef enum {
  PICARD_SCAN_STATE_IDLE,
  PICARD_SCAN_STATE_RUNNING,
  PICARD_SCAN_STATE_PAUSED,
} PicardScanState;

#define PICARD_TYPE_SCAN_PANEL (picard_scan_panel_get_type ())
G_DECLARE_FINAL_TYPE (PicardScanPanel, picard_scan_panel, PICARD, SCAN_PANEL, GtkBox)

/* The window whose volume is scanned and whose heatmap layer is filled (not referenced). */
void picard_scan_panel_set_window (PicardScanPanel *self, PicardWindow *window);
/* The model; cancels a running scan and forgets results of another model. */
void picard_scan_panel_set_completer (PicardScanPanel *self, PicardCompleter *completer,
                                      const char *model_name);

/* The window opened another volume: the results of the last one go, Start follows. */
void picard_scan_panel_volume_changed (PicardScanPanel *self);

/* Loads a checkpoint (a gen_*.pt file or a run's folder: the latest gen/dis pair; NULL: the
 * bundled demo model) on a worker thread with the dropout settings, then uses it. */
void picard_scan_panel_load_model (PicardScanPanel *self, const char *path);
gboolean picard_scan_panel_is_loading (PicardScanPanel *self);

/* Starts scanning what the settings say (this slice, the volume or a range), resuming the
 * slices already partly scanned with the same parameters; finished ones come back at once. */
void picard_scan_panel_start (PicardScanPanel *self);
void picard_scan_panel_pause (PicardScanPanel *self);
void picard_scan_panel_resume (PicardScanPanel *self);
void picard_scan_panel_cancel (PicardScanPanel *self);
PicardScanState picard_scan_panel_get_state (PicardScanPanel *self);
/* The latest snapshot of a slice's scan, or NULL. */
const PicardScanResult *picard_scan_panel_get_result (PicardScanPanel *self, guint slice);
/* Snapshots received with a heatmap since the panel was made. */
guint picard_scan_panel_get_n_updates (PicardScanPanel *self);
/* Heatmap redraws finished (after a metric or scan update). */
guint picard_scan_panel_get_n_redraws (PicardScanPanel *self);
/* The status line's and the progress bar's text. */
const char *picard_scan_panel_get_status (PicardScanPanel *self);
const char *picard_scan_panel_get_progress_text (PicardScanPanel *self);

/* Redraws every heatmap with @metric from the stored distances (no completions). */
void picard_scan_panel_set_metric (PicardScanPanel *self, PicardScanMetric metric);

/* Picks the patch whose hole centre is nearest file pixel (@x, @y) of the current slice and
 * computes its completions.  A click or Enter on the slice does this. */
void picard_scan_panel_select_point (PicardScanPanel *self, double file_x, double file_y);
/* Draws as many completions again (new sample ids) for the selected patch. */
void picard_scan_panel_more_samples (PicardScanPanel *self);
/* Whether a patch's completions are being computed. */
gboolean picard_scan_panel_is_completing (PicardScanPanel *self);
/* The selected patch's lattice cell, completions shown and their smallest distance. */
gboolean picard_scan_panel_get_selected (PicardScanPanel *self, guint *i, guint *j);
guint picard_scan_panel_get_n_completions (PicardScanPanel *self);
double picard_scan_panel_get_min_distance (PicardScanPanel *self);
/* What hovering completion @rank (0 = closest) shows; FALSE for no such completion. */
gboolean picard_scan_panel_hover_completion (PicardScanPanel *self, guint rank);
const char *picard_scan_panel_get_hover_text (PicardScanPanel *self);
GtkWidget *picard_scan_panel_get_patch_widget (PicardScanPanel *self);

/* Inside the network, on request (the "show-stages" property, action scan.show-stages,
 * Ctrl+Shift+A): per sample of the selected patch, the coarse stage's completion above the
 * final one and contextual attention's offsets, computed on a worker thread. */
void picard_scan_panel_set_show_stages (PicardScanPanel *self, gboolean show);
gboolean picard_scan_panel_get_show_stages (PicardScanPanel *self);
/* Whether they are shown, for the patch's current samples. */
gboolean picard_scan_panel_has_stages (PicardScanPanel *self);
/* What the panel says about them (computing, shown, or why not). */
const char *picard_scan_panel_get_stages_text (PicardScanPanel *self);
GtkWidget *picard_scan_panel_get_stages_widget (PicardScanPanel *self);
/* Where a tile lies in that widget: @row 0 coarse, 1 final, 2 attention; @column the
 * sample's rank (0 = closest). */
gboolean picard_scan_panel_get_stages_tile (PicardScanPanel *self, guint row, guint column,
                                            double *x, double *y, double *size);

/* Writes the completions figure (the strip) atomically on a worker thread. */
void picard_scan_panel_export_patch_async (PicardScanPanel *self, const char *path,
                                           PicardExportFormat format, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean picard_scan_panel_export_patch_finish (PicardScanPanel *self, GAsyncResult *result,
                                                GError **error);

/* "vulkan" or "cpu" while a PICARD network is loaded, else NULL. */
const char *picard_scan_panel_get_backend_name (PicardScanPanel *self);

G_END_DECLS
