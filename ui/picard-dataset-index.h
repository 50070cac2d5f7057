/* picard-dataset-index.h: a BCS-DBT data set as the viewer uses it: its volumes as a list
 * model for the browser, and the lesions of any one volume.
 *
 * The data set tables (app/picard-dataset.h) are read here and handed to the rest of the
 * viewer as PicardLesion: plain values, nothing to free, cheap to keep per volume. */
#pragma once

#include <gio/gio.h>

#include "picard-volume.h"

G_BEGIN_DECLS

#define PICARD_DATASET_FILE_PATHS_NAME "BCS-DBT-file-paths.csv"
#define PICARD_DATASET_LABELS_NAME "BCS-DBT-labels.csv"
#define PICARD_DATASET_BOXES_NAME "BCS-DBT-boxes.csv"

/* One lesion box in dataset orientation (see picard-orientation.h). */
typedef struct {
  int subject;
  int slice;          /* central frame, 0-based */
  int x, y, width, height;
  int volume_slices;
  gboolean cancer;    /* else benign */
  gboolean ad;        /* architectural distortion */
} PicardLesion;

/* How many slices either side of its central one a lesion's box is drawn on: DBTex counts
 * a detection within VolumeSlices / 4 slices as a hit, so the box stands for that span. */
int picard_lesion_get_half_depth (const PicardLesion *lesion);

#define PICARD_TYPE_DATASET_ENTRY (picard_dataset_entry_get_type ())
G_DECLARE_FINAL_TYPE (PicardDatasetEntry, picard_dataset_entry, PICARD, DATASET_ENTRY, GObject)

const char *picard_dataset_entry_get_patient_id (PicardDatasetEntry *self);
const char *picard_dataset_entry_get_study_uid (PicardDatasetEntry *self);
/* "lcc", "lmlo", "rcc", "rmlo" */
const char *picard_dataset_entry_get_view (PicardDatasetEntry *self);
PicardLaterality picard_dataset_entry_get_laterality (PicardDatasetEntry *self);
/* "normal", "actionable", "benign", "cancer", or "unlabelled" without a labels table. */
const char *picard_dataset_entry_get_label (PicardDatasetEntry *self);
guint picard_dataset_entry_get_n_lesions (PicardDatasetEntry *self);
/* The row's file under the data set's folder (descriptive path, else classic path when only
 * that one exists), or NULL with @error set when the table's path is unusable. */
char *picard_dataset_entry_resolve (PicardDatasetEntry *self, GError **error);
/* The entry's lesions (PicardLesion), table order. */
GArray *picard_dataset_entry_get_lesions (PicardDatasetEntry *self);

#define PICARD_TYPE_DATASET_INDEX (picard_dataset_index_get_type ())
G_DECLARE_FINAL_TYPE (PicardDatasetIndex, picard_dataset_index, PICARD, DATASET_INDEX, GObject)

/* Reads a file-paths table and, when given (NULL: the BCS-DBT file of that name beside it,
 * if there is one), the labels and boxes tables. Blocking: call it from a worker thread. */
PicardDatasetIndex *picard_dataset_index_load (const char *file_paths_csv,
                                               const char *labels_csv,
                                               const char *boxes_csv,
                                               GCancellable *cancellable, GError **error);
/* Looks for BCS-DBT-file-paths.csv in @file's folder and up to three folders above it and
 * returns the entry whose path names @file; NULL without an error when there is none, with
 * @error set when a table exists but cannot be read. Blocking. */
PicardDatasetEntry *picard_dataset_index_find_for_file (const char *file,
                                                        GCancellable *cancellable,
                                                        GError **error);

const char *picard_dataset_index_get_root (PicardDatasetIndex *self);
const char *picard_dataset_index_get_file_paths_csv (PicardDatasetIndex *self);
/* Whether a boxes / labels table was read. */
gboolean picard_dataset_index_has_boxes (PicardDatasetIndex *self);
gboolean picard_dataset_index_has_labels (PicardDatasetIndex *self);
/* A GListModel of PicardDatasetEntry, table order. */
GListModel *picard_dataset_index_get_entries (PicardDatasetIndex *self);

G_END_DECLS
