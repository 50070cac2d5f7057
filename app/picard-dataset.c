#include "picard-dataset.h"

#include "picard-csv.h"
#include "picard-error.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *const view_names[] = { "unknown", "lcc", "lmlo", "rcc", "rmlo" };

gboolean
picard_view_from_string (const char *text, PicardView *view)
{
  g_autofree char *copy = NULL;

  g_return_val_if_fail (view != NULL, FALSE);

  if (text == NULL)
    return FALSE;
  copy = g_strstrip (g_strdup (text));
  for (guint i = PICARD_VIEW_LCC; i <= PICARD_VIEW_RMLO; i++)
    if (g_ascii_strcasecmp (copy, view_names[i]) == 0)
      {
        *view = (PicardView) i;
        return TRUE;
      }
  return FALSE;
}

const char *
picard_view_to_string (PicardView view)
{
  g_return_val_if_fail (view <= PICARD_VIEW_RMLO, "unknown");
  return view_names[view];
}

PicardLaterality
picard_view_get_laterality (PicardView view)
{
  switch (view)
    {
    case PICARD_VIEW_LCC:
    case PICARD_VIEW_LMLO:
      return PICARD_LATERALITY_LEFT;
    case PICARD_VIEW_RCC:
    case PICARD_VIEW_RMLO:
      return PICARD_LATERALITY_RIGHT;
    case PICARD_VIEW_UNKNOWN:
    default:
      return PICARD_LATERALITY_UNKNOWN;
    }
}

PicardView
picard_view_from_header (PicardLaterality laterality, const char *view_code)
{
  gboolean cc, mlo;

  if (view_code == NULL || laterality == PICARD_LATERALITY_UNKNOWN)
    return PICARD_VIEW_UNKNOWN;
  cc = g_ascii_strcasecmp (view_code, "CC") == 0;
  mlo = g_ascii_strcasecmp (view_code, "MLO") == 0;
  if (!cc && !mlo)
    return PICARD_VIEW_UNKNOWN;
  if (laterality == PICARD_LATERALITY_LEFT)
    return cc ? PICARD_VIEW_LCC : PICARD_VIEW_LMLO;
  return cc ? PICARD_VIEW_RCC : PICARD_VIEW_RMLO;
}

const char *
picard_box_class_to_string (PicardBoxClass klass)
{
  return klass == PICARD_BOX_CANCER ? "cancer" : "benign";
}

void
picard_box_clear (PicardBox *box)
{
  g_clear_pointer (&box->patient_id, g_free);
  g_clear_pointer (&box->study_uid, g_free);
  g_clear_pointer (&box->subject, g_free);
}

void
picard_box_copy (const PicardBox *src, PicardBox *dest)
{
  *dest = *src;
  dest->patient_id = g_strdup (src->patient_id);
  dest->study_uid = g_strdup (src->study_uid);
  dest->subject = g_strdup (src->subject);
}

static void
file_path_clear (PicardFilePath *path)
{
  g_clear_pointer (&path->patient_id, g_free);
  g_clear_pointer (&path->study_uid, g_free);
  g_clear_pointer (&path->descriptive_path, g_free);
  g_clear_pointer (&path->classic_path, g_free);
}

static void
label_clear (PicardLabel *label)
{
  g_clear_pointer (&label->patient_id, g_free);
  g_clear_pointer (&label->study_uid, g_free);
}

static char *
get_trimmed (const PicardCsv *csv, guint row, guint column)
{
  return g_strstrip (g_strdup (picard_csv_get (csv, row, column)));
}

/* A required text field; empty is an error. */
static char *
get_text (const PicardCsv *csv, guint row, guint column, GError **error)
{
  char *text = get_trimmed (csv, row, column);

  if (*text == '\0')
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: column '%s' is empty", picard_csv_get_name (csv),
                   picard_csv_get_line (csv, row), picard_csv_get_column_name (csv, column));
      g_free (text);
      return NULL;
    }
  return text;
}

/* PatientID, StudyUID and View: the first three columns of every table. */
static gboolean
read_key (const PicardCsv *csv, guint row, const guint *columns, char **patient_id,
          char **study_uid, PicardView *view, GError **error)
{
  g_autofree char *view_text = NULL;

  *patient_id = get_text (csv, row, columns[0], error);
  if (*patient_id == NULL)
    return FALSE;
  *study_uid = get_text (csv, row, columns[1], error);
  if (*study_uid == NULL)
    return FALSE;
  view_text = get_trimmed (csv, row, columns[2]);
  if (!picard_view_from_string (view_text, view))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: View '%s' is not one of lcc, lmlo, rcc, rmlo",
                   picard_csv_get_name (csv), picard_csv_get_line (csv, row), view_text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_int (const PicardCsv *csv, guint row, guint column, gint64 min, gint64 max, int *out,
         GError **error)
{
  gint64 value;

  if (!picard_csv_get_int (csv, row, column, min, max, &value, error))
    return FALSE;
  *out = (int) value;
  return TRUE;
}

static const char *const box_columns[] = {
  "PatientID", "StudyUID", "View", "Subject", "Slice", "X", "Y", "Width", "Height",
  "Class", "AD", "VolumeSlices", NULL
};

static gboolean
read_box (const PicardCsv *csv, guint row, const guint *c, PicardBox *box, GError **error)
{
  g_autofree char *klass = NULL;

  box->line = picard_csv_get_line (csv, row);
  if (!read_key (csv, row, c, &box->patient_id, &box->study_uid, &box->view, error))
    return FALSE;
  box->subject = get_trimmed (csv, row, c[3]);
  if (!get_int (csv, row, c[4], 0, PICARD_VOLUME_MAX_FRAMES - 1, &box->slice, error)
      || !get_int (csv, row, c[5], 0, PICARD_VOLUME_MAX_COLUMNS - 1, &box->x, error)
      || !get_int (csv, row, c[6], 0, PICARD_VOLUME_MAX_ROWS - 1, &box->y, error)
      || !get_int (csv, row, c[7], 1, PICARD_VOLUME_MAX_COLUMNS, &box->width, error)
      || !get_int (csv, row, c[8], 1, PICARD_VOLUME_MAX_ROWS, &box->height, error)
      || !picard_csv_get_bool (csv, row, c[10], &box->ad, error)
      || !get_int (csv, row, c[11], 1, PICARD_VOLUME_MAX_FRAMES, &box->volume_slices,
                   error))
    return FALSE;
  klass = get_trimmed (csv, row, c[9]);
  if (g_ascii_strcasecmp (klass, "benign") == 0)
    box->klass = PICARD_BOX_BENIGN;
  else if (g_ascii_strcasecmp (klass, "cancer") == 0)
    box->klass = PICARD_BOX_CANCER;
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: Class '%s' is neither benign nor cancer",
                   picard_csv_get_name (csv), box->line, klass);
      return FALSE;
    }
  if (box->slice >= box->volume_slices)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: Slice %d is outside the volume's %d slices (VolumeSlices)",
                   picard_csv_get_name (csv), box->line, box->slice, box->volume_slices);
      return FALSE;
    }
  return TRUE;
}

static const char *const file_path_columns[] = {
  "PatientID", "StudyUID", "View", "descriptive_path", "classic_path", NULL
};

static gboolean
read_file_path (const PicardCsv *csv, guint row, const guint *c, PicardFilePath *path,
                GError **error)
{
  path->line = picard_csv_get_line (csv, row);
  if (!read_key (csv, row, c, &path->patient_id, &path->study_uid, &path->view, error))
    return FALSE;
  path->descriptive_path = get_trimmed (csv, row, c[3]);
  path->classic_path = get_trimmed (csv, row, c[4]);
  if (path->descriptive_path[0] == '\0' && path->classic_path[0] == '\0')
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: both descriptive_path and classic_path are empty",
                   picard_csv_get_name (csv), path->line);
      return FALSE;
    }
  return TRUE;
}

static const char *const label_columns[] = {
  "PatientID", "StudyUID", "View", "Normal", "Actionable", "Benign", "Cancer", NULL
};

static gboolean
read_label (const PicardCsv *csv, guint row, const guint *c, PicardLabel *label,
            GError **error)
{
  label->line = picard_csv_get_line (csv, row);
  return read_key (csv, row, c, &label->patient_id, &label->study_uid, &label->view, error)
         && picard_csv_get_bool (csv, row, c[3], &label->normal, error)
         && picard_csv_get_bool (csv, row, c[4], &label->actionable, error)
         && picard_csv_get_bool (csv, row, c[5], &label->benign, error)
         && picard_csv_get_bool (csv, row, c[6], &label->cancer, error);
}

typedef gboolean (*ReadRowFunc) (const PicardCsv *csv, guint row, const guint *columns,
                                 gpointer element, GError **error);

typedef struct {
  const char *const *columns;
  gsize element_size;
  GDestroyNotify clear;
  ReadRowFunc read;
} TableKind;

static const TableKind box_table = {
  box_columns, sizeof (PicardBox), (GDestroyNotify) picard_box_clear,
  (ReadRowFunc) read_box
};
static const TableKind file_path_table = {
  file_path_columns, sizeof (PicardFilePath), (GDestroyNotify) file_path_clear,
  (ReadRowFunc) read_file_path
};
static const TableKind label_table = {
  label_columns, sizeof (PicardLabel), (GDestroyNotify) label_clear,
  (ReadRowFunc) read_label
};

static GArray *
read_table (PicardCsv *parsed, const TableKind *kind, GError **error)
{
  g_autoptr(PicardCsv) csv = parsed; /* freed on every return */
  g_autoptr(GArray) table = NULL;
  guint columns[16];
  guint n_rows;

  if (csv == NULL)
    return NULL;
  g_assert (g_strv_length ((char **) kind->columns) <= G_N_ELEMENTS (columns));
  if (!picard_csv_require_columns (csv, kind->columns, columns, error))
    return NULL;

  n_rows = picard_csv_get_n_rows (csv);
  table = g_array_sized_new (FALSE, TRUE, kind->element_size, n_rows);
  g_array_set_clear_func (table, kind->clear);
  for (guint row = 0; row < n_rows; row++)
    {
      /* Appended first so that a half-read row is freed with the array. */
      g_array_set_size (table, row + 1);
      if (!kind->read (csv, row, columns,
                       table->data + (gsize) row * kind->element_size, error))
        return NULL;
    }
  return g_steal_pointer (&table);
}

GArray *
picard_boxes_parse (const char *name, const char *data, gsize length, GError **error)
{
  return read_table (picard_csv_parse (name, data, length, error), &box_table, error);
}

GArray *
picard_boxes_load (const char *path, GError **error)
{
  return read_table (picard_csv_load (path, error), &box_table, error);
}

GArray *
picard_file_paths_parse (const char *name, const char *data, gsize length, GError **error)
{
  return read_table (picard_csv_parse (name, data, length, error), &file_path_table, error);
}

GArray *
picard_file_paths_load (const char *path, GError **error)
{
  return read_table (picard_csv_load (path, error), &file_path_table, error);
}

GArray *
picard_labels_parse (const char *name, const char *data, gsize length, GError **error)
{
  return read_table (picard_csv_parse (name, data, length, error), &label_table, error);
}

GArray *
picard_labels_load (const char *path, GError **error)
{
  return read_table (picard_csv_load (path, error), &label_table, error);
}

static gboolean
key_matches (const char *patient_id, const char *study_uid, PicardView view,
             const char *want_patient, const char *want_study, PicardView want_view)
{
  return view == want_view
         && (want_patient == NULL || strcmp (patient_id, want_patient) == 0)
         && (want_study == NULL || strcmp (study_uid, want_study) == 0);
}

GArray *
picard_boxes_match (GArray *boxes, const char *patient_id, const char *study_uid,
                    PicardView view)
{
  GArray *matched;

  g_return_val_if_fail (boxes != NULL, NULL);

  matched = g_array_new (FALSE, TRUE, sizeof (PicardBox));
  g_array_set_clear_func (matched, (GDestroyNotify) picard_box_clear);
  for (guint i = 0; i < boxes->len; i++)
    {
      const PicardBox *box = &g_array_index (boxes, PicardBox, i);

      if (key_matches (box->patient_id, box->study_uid, box->view, patient_id, study_uid,
                       view))
        {
          PicardBox copy;

          picard_box_copy (box, &copy);
          g_array_append_val (matched, copy);
        }
    }
  return matched;
}

const PicardFilePath *
picard_file_paths_find (GArray *paths, const char *patient_id, const char *study_uid,
                        PicardView view)
{
  g_return_val_if_fail (paths != NULL, NULL);

  for (guint i = 0; i < paths->len; i++)
    {
      const PicardFilePath *path = &g_array_index (paths, PicardFilePath, i);

      if (key_matches (path->patient_id, path->study_uid, path->view, patient_id, study_uid,
                       view))
        return path;
    }
  return NULL;
}

const PicardLabel *
picard_labels_find (GArray *labels, const char *patient_id, const char *study_uid,
                    PicardView view)
{
  g_return_val_if_fail (labels != NULL, NULL);

  for (guint i = 0; i < labels->len; i++)
    {
      const PicardLabel *label = &g_array_index (labels, PicardLabel, i);

      if (key_matches (label->patient_id, label->study_uid, label->view, patient_id,
                       study_uid, view))
        return label;
    }
  return NULL;
}

char *
picard_file_path_resolve (const PicardFilePath *path, const char *root, gboolean classic,
                          GError **error)
{
  const char *relative;
  const char *column = classic ? "classic_path" : "descriptive_path";
  g_autofree char *normalized = NULL;
  g_auto(GStrv) parts = NULL;
  GPtrArray *elements;
  char *result;

  g_return_val_if_fail (path != NULL && root != NULL, NULL);

  relative = classic ? path->classic_path : path->descriptive_path;
  if (relative == NULL || relative[0] == '\0')
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "file paths table line %u: %s is empty for %s %s %s", path->line, column,
                   path->patient_id, path->study_uid, picard_view_to_string (path->view));
      return NULL;
    }
  /* Tables written on Windows may use backslashes. */
  normalized = g_strdelimit (g_strdup (relative), "\\", '/');
  if (normalized[0] == '/' || (g_ascii_isalpha (normalized[0]) && normalized[1] == ':'))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "file paths table line %u: %s '%s' is absolute; it must be relative to the "
                   "data set's folder", path->line, column, relative);
      return NULL;
    }
  parts = g_strsplit (normalized, "/", -1);
  elements = g_ptr_array_new ();
  g_ptr_array_add (elements, (gpointer) root);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "..") == 0)
        {
          g_ptr_array_free (elements, TRUE);
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "file paths table line %u: %s '%s' leaves the data set's folder "
                       "('..')", path->line, column, relative);
          return NULL;
        }
      if (parts[i][0] != '\0' && strcmp (parts[i], ".") != 0)
        g_ptr_array_add (elements, parts[i]);
    }
  g_ptr_array_add (elements, NULL);
  result = g_build_filenamev ((char **) elements->pdata);
  g_ptr_array_free (elements, TRUE);
  return result;
}

static gboolean
same_file (const char *candidate, const char *canonical_file, const GStatBuf *file_stat)
{
  g_autofree char *canonical = g_canonicalize_filename (candidate, NULL);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  GStatBuf st;

  if (strcmp (canonical, canonical_file) == 0)
    return TRUE;
  /* Different spellings (symbolic links) of one file: only worth a stat when the names
   * agree. */
  a = g_path_get_basename (canonical);
  b = g_path_get_basename (canonical_file);
  if (file_stat == NULL || strcmp (a, b) != 0 || g_stat (canonical, &st) != 0)
    return FALSE;
  return st.st_dev == file_stat->st_dev && st.st_ino == file_stat->st_ino;
}

const PicardFilePath *
picard_file_paths_find_file (GArray *paths, const char *root, const char *file)
{
  g_autofree char *canonical_file = NULL;
  GStatBuf file_stat;
  gboolean have_stat;

  g_return_val_if_fail (paths != NULL && root != NULL && file != NULL, NULL);

  canonical_file = g_canonicalize_filename (file, NULL);
  have_stat = g_stat (canonical_file, &file_stat) == 0;
  for (guint i = 0; i < paths->len; i++)
    {
      const PicardFilePath *path = &g_array_index (paths, PicardFilePath, i);

      for (int classic = 0; classic < 2; classic++)
        {
          g_autofree char *resolved = picard_file_path_resolve (path, root, classic, NULL);

          if (resolved != NULL
              && same_file (resolved, canonical_file, have_stat ? &file_stat : NULL))
            return path;
        }
    }
  return NULL;
}
