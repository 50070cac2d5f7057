#include "picard-dataset-index.h"

#include <glib/gstdio.h>
#include <stdlib.h>

#include "picard-dataset.h"
#include "picard-error.h"

int
picard_lesion_get_half_depth (const PicardLesion *lesion)
{
  g_return_val_if_fail (lesion != NULL, 0);
  return MAX (lesion->volume_slices / 4, 1);
}

/* ---- entries ---- */

struct _PicardDatasetEntry {
  GObject parent_instance;

  char *root;
  char *patient_id;
  char *study_uid;
  PicardView view;
  char *descriptive_path;
  char *classic_path;
  guint line;
  const char *label;
  GArray *lesions; /* PicardLesion */
};

G_DEFINE_FINAL_TYPE (PicardDatasetEntry, picard_dataset_entry, G_TYPE_OBJECT)

static void
picard_dataset_entry_finalize (GObject *object)
{
  PicardDatasetEntry *self = PICARD_DATASET_ENTRY (object);

  g_free (self->root);
  g_free (self->patient_id);
  g_free (self->study_uid);
  g_free (self->descriptive_path);
  g_free (self->classic_path);
  g_array_unref (self->lesions);
  G_OBJECT_CLASS (picard_dataset_entry_parent_class)->finalize (object);
}

static void
picard_dataset_entry_class_init (PicardDatasetEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_dataset_entry_finalize;
}

static void
picard_dataset_entry_init (PicardDatasetEntry *self)
{
  self->lesions = g_array_new (FALSE, TRUE, sizeof (PicardLesion));
  self->label = "unlabelled";
}

const char *
picard_dataset_entry_get_patient_id (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);
  return self->patient_id;
}

const char *
picard_dataset_entry_get_study_uid (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);
  return self->study_uid;
}

const char *
picard_dataset_entry_get_view (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);
  return picard_view_to_string (self->view);
}

PicardLaterality
picard_dataset_entry_get_laterality (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), PICARD_LATERALITY_UNKNOWN);
  return picard_view_get_laterality (self->view);
}

const char *
picard_dataset_entry_get_label (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);
  return self->label;
}

guint
picard_dataset_entry_get_n_lesions (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), 0);
  return self->lesions->len;
}

GArray *
picard_dataset_entry_get_lesions (PicardDatasetEntry *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);
  return self->lesions;
}

char *
picard_dataset_entry_resolve (PicardDatasetEntry *self, GError **error)
{
  PicardFilePath row = { 0 };
  g_autofree char *descriptive = NULL;
  g_autofree char *classic = NULL;
  g_autoptr(GError) classic_error = NULL;

  g_return_val_if_fail (PICARD_IS_DATASET_ENTRY (self), NULL);

  row.patient_id = self->patient_id;
  row.study_uid = self->study_uid;
  row.view = self->view;
  row.descriptive_path = self->descriptive_path;
  row.classic_path = self->classic_path;
  row.line = self->line;
  /* Downloads keep one of the two folder layouts: take the one that is on disk. */
  classic = picard_file_path_resolve (&row, self->root, TRUE, &classic_error);
  descriptive = picard_file_path_resolve (&row, self->root, FALSE, error);
  if (descriptive != NULL && !g_file_test (descriptive, G_FILE_TEST_EXISTS) && classic != NULL
      && g_file_test (classic, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&classic);
  if (descriptive == NULL && classic != NULL)
    {
      g_clear_error (error);
      return g_steal_pointer (&classic);
    }
  return g_steal_pointer (&descriptive);
}

/* ---- the index ---- */

struct _PicardDatasetIndex {
  GObject parent_instance;

  char *root;
  char *file_paths_csv;
  gboolean has_boxes;
  gboolean has_labels;
  GListStore *entries;
};

G_DEFINE_FINAL_TYPE (PicardDatasetIndex, picard_dataset_index, G_TYPE_OBJECT)

static void
picard_dataset_index_finalize (GObject *object)
{
  PicardDatasetIndex *self = PICARD_DATASET_INDEX (object);

  g_free (self->root);
  g_free (self->file_paths_csv);
  g_object_unref (self->entries);
  G_OBJECT_CLASS (picard_dataset_index_parent_class)->finalize (object);
}

static void
picard_dataset_index_class_init (PicardDatasetIndexClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = picard_dataset_index_finalize;
}

static void
picard_dataset_index_init (PicardDatasetIndex *self)
{
  self->entries = g_list_store_new (PICARD_TYPE_DATASET_ENTRY);
}

static const char *
label_name (const PicardLabel *label)
{
  if (label->cancer)
    return "cancer";
  if (label->benign)
    return "benign";
  if (label->actionable)
    return "actionable";
  return "normal";
}

/* The table beside @file_paths_csv named @name, when it exists. */
static char *
sibling_table (const char *file_paths_csv, const char *name)
{
  g_autofree char *dir = g_path_get_dirname (file_paths_csv);
  char *path = g_build_filename (dir, name, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_free (path);
  return NULL;
}

PicardDatasetIndex *
picard_dataset_index_load (const char *file_paths_csv, const char *labels_csv,
                           const char *boxes_csv, GCancellable *cancellable, GError **error)
{
  g_autoptr(PicardDatasetIndex) self = NULL;
  g_autoptr(GArray) paths = NULL;
  g_autoptr(GArray) labels = NULL;
  g_autoptr(GArray) boxes = NULL;
  g_autofree char *labels_path = NULL;
  g_autofree char *boxes_path = NULL;

  g_return_val_if_fail (file_paths_csv != NULL, NULL);

  paths = picard_file_paths_load (file_paths_csv, error);
  if (paths == NULL)
    return NULL;
  labels_path = labels_csv != NULL ? g_strdup (labels_csv)
                                   : sibling_table (file_paths_csv, PICARD_DATASET_LABELS_NAME);
  boxes_path = boxes_csv != NULL ? g_strdup (boxes_csv)
                                 : sibling_table (file_paths_csv, PICARD_DATASET_BOXES_NAME);
  if (labels_path != NULL && (labels = picard_labels_load (labels_path, error)) == NULL)
    return NULL;
  if (boxes_path != NULL && (boxes = picard_boxes_load (boxes_path, error)) == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  self = g_object_new (PICARD_TYPE_DATASET_INDEX, NULL);
  {
    g_autofree char *absolute = g_canonicalize_filename (file_paths_csv, NULL);

    self->root = g_path_get_dirname (absolute);
    self->file_paths_csv = g_steal_pointer (&absolute);
  }
  self->has_labels = labels != NULL;
  self->has_boxes = boxes != NULL;
  for (guint i = 0; i < paths->len; i++)
    {
      const PicardFilePath *row = &g_array_index (paths, PicardFilePath, i);
      g_autoptr(PicardDatasetEntry) entry = g_object_new (PICARD_TYPE_DATASET_ENTRY, NULL);

      entry->root = g_strdup (self->root);
      entry->patient_id = g_strdup (row->patient_id);
      entry->study_uid = g_strdup (row->study_uid);
      entry->view = row->view;
      entry->descriptive_path = g_strdup (row->descriptive_path);
      entry->classic_path = g_strdup (row->classic_path);
      entry->line = row->line;
      if (labels != NULL)
        {
          const PicardLabel *label = picard_labels_find (labels, row->patient_id,
                                                         row->study_uid, row->view);

          entry->label = label != NULL ? label_name (label) : "unlabelled";
        }
      if (boxes != NULL)
        {
          g_autoptr(GArray) matched = picard_boxes_match (boxes, row->patient_id,
                                                          row->study_uid, row->view);

          for (guint b = 0; b < matched->len; b++)
            {
              const PicardBox *box = &g_array_index (matched, PicardBox, b);
              PicardLesion lesion = { 0 };

              lesion.subject = box->subject != NULL ? atoi (box->subject) : (int) b + 1;
              lesion.slice = box->slice;
              lesion.x = box->x;
              lesion.y = box->y;
              lesion.width = box->width;
              lesion.height = box->height;
              lesion.volume_slices = box->volume_slices;
              lesion.cancer = box->klass == PICARD_BOX_CANCER;
              lesion.ad = box->ad;
              g_array_append_val (entry->lesions, lesion);
            }
        }
      g_list_store_append (self->entries, entry);
    }
  return g_steal_pointer (&self);
}

PicardDatasetEntry *
picard_dataset_index_find_for_file (const char *file, GCancellable *cancellable,
                                     GError **error)
{
  g_autofree char *absolute = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (file != NULL, NULL);

  absolute = g_canonicalize_filename (file, NULL);
  dir = g_path_get_dirname (absolute);
  /* BCS-DBT keeps its tables at the top and the files three folders down
   * (patient/study/series); the phantom tool one folder down. */
  for (int level = 0; level < 4; level++)
    {
      g_autofree char *table = g_build_filename (dir, PICARD_DATASET_FILE_PATHS_NAME, NULL);
      g_autofree char *parent = NULL;

      if (g_file_test (table, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(PicardDatasetIndex) index = picard_dataset_index_load (table, NULL, NULL,
                                                                           cancellable, error);
          guint n;

          if (index == NULL)
            return NULL;
          n = g_list_model_get_n_items (G_LIST_MODEL (index->entries));
          for (guint i = 0; i < n; i++)
            {
              g_autoptr(PicardDatasetEntry) entry
                = g_list_model_get_item (G_LIST_MODEL (index->entries), i);
              g_autofree char *path = picard_dataset_entry_resolve (entry, NULL);

              if (path != NULL)
                {
                  g_autofree char *canonical = g_canonicalize_filename (path, NULL);

                  if (g_strcmp0 (canonical, absolute) == 0)
                    return g_steal_pointer (&entry);
                }
            }
          return NULL;
        }
      parent = g_path_get_dirname (dir);
      if (g_strcmp0 (parent, dir) == 0)
        break;
      g_free (dir);
      dir = g_steal_pointer (&parent);
    }
  return NULL;
}

const char *
picard_dataset_index_get_root (PicardDatasetIndex *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_INDEX (self), NULL);
  return self->root;
}

const char *
picard_dataset_index_get_file_paths_csv (PicardDatasetIndex *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_INDEX (self), NULL);
  return self->file_paths_csv;
}

gboolean
picard_dataset_index_has_boxes (PicardDatasetIndex *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_INDEX (self), FALSE);
  return self->has_boxes;
}

gboolean
picard_dataset_index_has_labels (PicardDatasetIndex *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_INDEX (self), FALSE);
  return self->has_labels;
}

GListModel *
picard_dataset_index_get_entries (PicardDatasetIndex *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_INDEX (self), NULL);
  return G_LIST_MODEL (self->entries);
}
