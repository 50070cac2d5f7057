/* picard-dataset.h: the BCS-DBT tables (lesion boxes, file paths, labels) and matching
 * their rows to a volume by PatientID, StudyUID and View. */
#pragma once

#include "picard-volume.h"

G_BEGIN_DECLS

typedef enum {
  PICARD_VIEW_UNKNOWN,
  PICARD_VIEW_LCC,
  PICARD_VIEW_LMLO,
  PICARD_VIEW_RCC,
  PICARD_VIEW_RMLO,
} PicardView;

/* "lcc", "lmlo", "rcc", "rmlo", any case, surrounding spaces ignored. */
gboolean picard_view_from_string (const char *text, PicardView *view);
/* "lcc" ... ; "unknown" for PICARD_VIEW_UNKNOWN. */
const char *picard_view_to_string (PicardView view);
PicardLaterality picard_view_get_laterality (PicardView view);
/* A view from a volume header's laterality and view code ("CC", "MLO"); UNKNOWN when either
 * is missing or another projection. */
PicardView picard_view_from_header (PicardLaterality laterality, const char *view_code);

typedef enum {
  PICARD_BOX_BENIGN,
  PICARD_BOX_CANCER,
} PicardBoxClass;

const char *picard_box_class_to_string (PicardBoxClass klass);

/* One lesion box of the boxes table, in dataset orientation: X,Y is the top-left pixel,
 * the box covers columns X..X+Width and rows Y..Y+Height. */
typedef struct {
  char *patient_id;
  char *study_uid;
  PicardView view;
  char *subject;
  int slice;          /* 0-based central frame */
  int x;
  int y;
  int width;
  int height;
  PicardBoxClass klass;
  gboolean ad;        /* architectural distortion */
  int volume_slices;  /* frames of the lesion's volume, as annotated */
  guint line;         /* where it was read, for messages */
} PicardBox;

typedef struct {
  char *patient_id;
  char *study_uid;
  PicardView view;
  char *descriptive_path;
  char *classic_path;
  guint line;
} PicardFilePath;

typedef struct {
  char *patient_id;
  char *study_uid;
  PicardView view;
  gboolean normal;
  gboolean actionable;
  gboolean benign;
  gboolean cancer;
  guint line;
} PicardLabel;

/* Each returns a GArray of its struct (with a clear function, so g_array_unref frees it
 * all). Extra columns are ignored; a missing required column is PICARD_ERROR_NOT_FOUND, a
 * bad value PICARD_ERROR_CORRUPT naming the line and the column. @name names the table in
 * messages. */
GArray *picard_boxes_parse (const char *name, const char *data, gsize length, GError **error);
GArray *picard_boxes_load (const char *path, GError **error);
GArray *picard_file_paths_parse (const char *name, const char *data, gsize length,
                                 GError **error);
GArray *picard_file_paths_load (const char *path, GError **error);
GArray *picard_labels_parse (const char *name, const char *data, gsize length,
                             GError **error);
GArray *picard_labels_load (const char *path, GError **error);

void picard_box_clear (PicardBox *box);
void picard_box_copy (const PicardBox *src, PicardBox *dest);

/* The boxes of one volume (deep copies, in table order); an empty array when none match.
 * PatientID and StudyUID compare exactly; a NULL one matches any. */
GArray *picard_boxes_match (GArray *boxes, const char *patient_id, const char *study_uid,
                            PicardView view);
/* The first row for the volume, or NULL. */
const PicardFilePath *picard_file_paths_find (GArray *paths, const char *patient_id,
                                              const char *study_uid, PicardView view);
const PicardLabel *picard_labels_find (GArray *labels, const char *patient_id,
                                       const char *study_uid, PicardView view);
/* The row whose descriptive or classic path, under @root, names the same file as @file,
 * or NULL. This is how a file the user opened finds its view and boxes. */
const PicardFilePath *picard_file_paths_find_file (GArray *paths, const char *root,
                                                   const char *file);

/* The absolute path of a row's file under the data set's @root folder. The table's paths
 * use '/' and must stay inside @root: an absolute path or a ".." part is
 * PICARD_ERROR_CORRUPT. */
char *picard_file_path_resolve (const PicardFilePath *path, const char *root,
                                gboolean classic, GError **error);

G_END_DECLS
