/* picard-dataset-browser.h: a window listing the volumes of a BCS-DBT data set (patient,
 * view, class, boxes), filterable, from which one is opened (::open-entry). */
#pragma once

#include <gtk/gtk.h>

#include "picard-dataset-index.h"

G_BEGIN_DECLS

#define PICARD_TYPE_DATASET_BROWSER (picard_dataset_browser_get_type ())
G_DECLARE_FINAL_TYPE (PicardDatasetBrowser, picard_dataset_browser, PICARD, DATASET_BROWSER,
                      GtkWindow)

PicardDatasetBrowser *picard_dataset_browser_new (GtkWindow *parent);

/* Reads the tables on a worker thread (NULL labels/boxes: the BCS-DBT files beside the
 * file-paths table) and lists the volumes; errors show in the window. */
void picard_dataset_browser_load (PicardDatasetBrowser *self, const char *file_paths_csv,
                                  const char *labels_csv, const char *boxes_csv);
gboolean picard_dataset_browser_is_loading (PicardDatasetBrowser *self);
/* The data set shown, or NULL. */
PicardDatasetIndex *picard_dataset_browser_get_index (PicardDatasetBrowser *self);

/* The volumes that pass the filters (PicardDatasetEntry). */
GListModel *picard_dataset_browser_get_shown (PicardDatasetBrowser *self);
/* Sets the filter widgets: patient ID substring (NULL: any), view ("lcc".., NULL: any),
 * class ("normal", "actionable", "benign", "cancer", NULL: any), boxes only. */
void picard_dataset_browser_set_filter (PicardDatasetBrowser *self, const char *patient,
                                        const char *view, const char *label,
                                        gboolean with_boxes_only);
/* The list, for keyboard focus and tests. */
GtkColumnView *picard_dataset_browser_get_column_view (PicardDatasetBrowser *self);
/* A text for the status line (what is shown, which tables, or what went wrong). */
const char *picard_dataset_browser_get_status (PicardDatasetBrowser *self);

G_END_DECLS
