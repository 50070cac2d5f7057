/* Fuzz target: CSV tables from memory (generic, boxes, labels, file paths). Besides "no
 * crash, no leak", it checks that writing a parsed table and reading it back gives the
 * same fields. */
#include "picard-csv.h"
#include "picard-dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Far above any seed; keeps each run fast. */
#define MAX_INPUT_BYTES ((size_t) 256 * 1024)

/* abort (), not g_error (): libFuzzer records a crash on SIGABRT, not on SIGTRAP. */
static void fail (const char *format, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
fail (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  abort ();
}

static void
walk_fields (const PicardCsv *csv)
{
  guint rows = picard_csv_get_n_rows (csv), columns = picard_csv_get_n_columns (csv);

  for (guint c = 0; c < columns; c++)
    (void) picard_csv_find_column (csv, picard_csv_get_column_name (csv, c));
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < columns; c++)
      {
        GError *error = NULL;
        gint64 i;
        double d;
        gboolean b;

        (void) picard_csv_get_line (csv, r);
        if (!picard_csv_get_int (csv, r, c, -1000, 1000, &i, &error))
          g_clear_error (&error);
        if (!picard_csv_get_double (csv, r, c, &d, &error))
          g_clear_error (&error);
        if (!picard_csv_get_bool (csv, r, c, &b, &error))
          g_clear_error (&error);
      }
}

static void
check_round_trip (const PicardCsv *csv)
{
  guint rows = picard_csv_get_n_rows (csv), columns = picard_csv_get_n_columns (csv);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree const char **fields = g_new (const char *, columns);
  g_autoptr(PicardCsv) again = NULL;
  g_autoptr(GError) error = NULL;

  for (guint c = 0; c < columns; c++)
    fields[c] = picard_csv_get_column_name (csv, c);
  picard_csv_append_row (out, fields, columns);
  for (guint r = 0; r < rows; r++)
    {
      for (guint c = 0; c < columns; c++)
        fields[c] = picard_csv_get (csv, r, c);
      picard_csv_append_row (out, fields, columns);
    }
  again = picard_csv_parse ("again.csv", out->str, out->len, &error);
  if (again == NULL)
    fail ("a written table does not read back: %s", error->message);
  if (picard_csv_get_n_rows (again) != rows || picard_csv_get_n_columns (again) != columns)
    fail ("a written table reads back as %u x %u, not %u x %u",
             picard_csv_get_n_rows (again), picard_csv_get_n_columns (again), rows, columns);
  for (guint c = 0; c < columns; c++)
    if (g_strcmp0 (picard_csv_get_column_name (again, c),
                   picard_csv_get_column_name (csv, c)) != 0)
      fail ("header field %u changed in a round trip", c);
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < columns; c++)
      if (g_strcmp0 (picard_csv_get (again, r, c), picard_csv_get (csv, r, c)) != 0)
        fail ("field %u,%u changed in a round trip", r, c);
}

static void
use_boxes (GArray *boxes)
{
  if (boxes->len > 0)
    {
      const PicardBox *first = &g_array_index (boxes, PicardBox, 0);
      g_autoptr(GArray) matched = picard_boxes_match (boxes, first->patient_id,
                                                      first->study_uid, first->view);

      if (matched->len == 0)
        fail ("a box does not match its own key");
    }
}

static void
use_file_paths (GArray *paths)
{
  for (guint i = 0; i < paths->len && i < 16; i++)
    {
      const PicardFilePath *row = &g_array_index (paths, PicardFilePath, i);

      for (int classic = 0; classic < 2; classic++)
        {
          GError *error = NULL;
          char *resolved = picard_file_path_resolve (row, "/picard-fuzz-root", classic,
                                                     &error);

          if (resolved != NULL && !g_str_has_prefix (resolved, "/picard-fuzz-root"))
            fail ("'%s' resolved outside the root", resolved);
          g_free (resolved);
          g_clear_error (&error);
        }
      if (picard_file_paths_find (paths, row->patient_id, row->study_uid, row->view) == NULL)
        fail ("a file path row does not match its own key");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  GError *error = NULL;
  PicardCsv *csv;
  GArray *table;

  if (size > MAX_INPUT_BYTES)
    return 0;

  csv = picard_csv_parse ("fuzz.csv", text, size, &error);
  if (csv != NULL)
    {
      walk_fields (csv);
      check_round_trip (csv);
      picard_csv_free (csv);
    }
  g_clear_error (&error);

  table = picard_boxes_parse ("boxes.csv", text, size, &error);
  if (table != NULL)
    {
      use_boxes (table);
      g_array_unref (table);
    }
  g_clear_error (&error);

  table = picard_labels_parse ("labels.csv", text, size, &error);
  if (table != NULL)
    {
      if (table->len > 0)
        {
          const PicardLabel *first = &g_array_index (table, PicardLabel, 0);

          if (picard_labels_find (table, first->patient_id, first->study_uid,
                                  first->view) == NULL)
            fail ("a label row does not match its own key");
        }
      g_array_unref (table);
    }
  g_clear_error (&error);

  table = picard_file_paths_parse ("paths.csv", text, size, &error);
  if (table != NULL)
    {
      use_file_paths (table);
      g_array_unref (table);
    }
  g_clear_error (&error);
  return 0;
}
