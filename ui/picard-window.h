#pragma once

#include <gtk/gtk.h>

#include "picard-application.h"
#include "picard-dataset-browser.h"
#include "picard-dataset-index.h"
#include "picard-export.h"
#include "picard-orientation.h"
#include "picard-scan-panel.h"
#include "picard-slice-view.h"
#include "picard-volume.h"
#include "picard-window-level.h"

G_BEGIN_DECLS

#define PICARD_TYPE_WINDOW (picard_window_get_type ())
G_DECLARE_FINAL_TYPE (PicardWindow, picard_window, PICARD, WINDOW, GtkApplicationWindow)

PicardWindow *picard_window_new (PicardApplication *app);

/* Opens what @file is: a DICOM volume, a folder of PNG slices, or a data set (a
 * BCS-DBT-file-paths.csv table, or a folder holding one) in the browser. A volume inside a
 * data set's folder tree gets its view and lesion boxes from the tables. On failure a
 * message shows in the window and what was shown stays. */
void picard_window_open_file (PicardWindow *self, GFile *file);
/* Opens one volume of a data set (from the browser). */
void picard_window_open_dataset_entry (PicardWindow *self, PicardDatasetEntry *entry);
/* Shows the data set browser for a file-paths table (NULL labels/boxes: those beside it). */
PicardDatasetBrowser *picard_window_open_dataset (PicardWindow *self, const char *file_paths_csv,
                                                  const char *labels_csv,
                                                  const char *boxes_csv);
/* Shows a volume already opened (no data set). */
void picard_window_set_volume (PicardWindow *self, PicardVolume *volume);

PicardVolume *picard_window_get_volume (PicardWindow *self);
PicardSliceView *picard_window_get_slice_view (PicardWindow *self);
/* Whether a decoded slice is on screen (for tests and benchmarks). */
gboolean picard_window_is_slice_shown (PicardWindow *self);
/* Whether the slice on screen is the one asked for, drawn as asked (window, orientation,
 * heatmap), with nothing being opened. */
gboolean picard_window_is_idle (PicardWindow *self);
/* Whether @slice is drawn already for the current window/level and overlay, so that showing
 * it needs no work (prefetched neighbours are). */
gboolean picard_window_is_slice_ready (PicardWindow *self, guint slice);
/* The slice asked for (the slider's) and the one on screen. */
guint picard_window_get_slice (PicardWindow *self);
void picard_window_set_slice (PicardWindow *self, guint slice);
guint picard_window_get_shown_slice (PicardWindow *self);
const PicardOrientation *picard_window_get_orientation (PicardWindow *self);
PicardSpace picard_window_get_space (PicardWindow *self);
/* The window shown and asked for. */
void picard_window_get_window_level (PicardWindow *self, PicardWindowLevel *wl);
void picard_window_set_window_level (PicardWindow *self, double center, double width);
/* The pixel readout's text ("" when the pointer is off the slice). */
const char *picard_window_get_readout (PicardWindow *self);
/* Shows a message above the slice (@error: as a warning). */
void picard_window_show_message (PicardWindow *self, gboolean error, const char *text);
/* The message shown above the slice, or NULL when none is. */
const char *picard_window_get_message (PicardWindow *self);
/* Lesions of the open volume (PicardLesion, dataset orientation), or NULL. */
GArray *picard_window_get_lesions (PicardWindow *self);

/* The heatmap layer: one slice's scores (rows*columns floats in @space's orientation, NaN
 * = not scanned yet), drawn with the overlay style of the settings; NULL removes it. */
void picard_window_set_heatmap (PicardWindow *self, guint slice, PicardSpace space,
                                const float *values);
void picard_window_clear_heatmaps (PicardWindow *self);
/* The metric's name and units, under the colour bar. */
void picard_window_set_heatmap_label (PicardWindow *self, const char *label);

/* The heatmap's scan panel, and the model it scans with (NULL: none). */
PicardScanPanel *picard_window_get_scan_panel (PicardWindow *self);
void picard_window_set_completer (PicardWindow *self, PicardCompleter *completer,
                                  const char *model_name);

/* Exports the current view on a worker thread, atomically: @native draws the whole slice
 * at one image pixel per slice pixel with the colour bar and caption beside it; otherwise
 * the view as on screen. An existing @path is replaced only with @replace. */
void picard_window_export_async (PicardWindow *self, const char *path, PicardExportFormat format,
                                 gboolean native, gboolean caption, gboolean replace,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean picard_window_export_finish (PicardWindow *self, GAsyncResult *result, GError **error);
/* The caption lines of an export of the current view (NULL-terminated). */
char **picard_window_get_caption (PicardWindow *self);

G_END_DECLS
