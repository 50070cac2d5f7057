/* picard-csv.h: RFC 4180 tables (read from a file or from memory) and a small writer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Caps: far above the BCS-DBT tables (a few MB, ~25,000 rows), far below what would exhaust
 * memory when a wrong file is given. */
#define PICARD_CSV_MAX_FILE_SIZE ((gsize) 256 * 1024 * 1024)
#define PICARD_CSV_MAX_ROWS 2000000u
#define PICARD_CSV_MAX_COLUMNS 1024u
#define PICARD_CSV_MAX_FIELD_LENGTH ((gsize) 65536)

/* A parsed table: a header row and data rows of UTF-8 fields. Quoted fields may hold commas,
 * quotes ("") and line breaks; records end at LF, CRLF or a lone CR; a leading UTF-8 BOM is
 * skipped; empty lines (outside quotes) are skipped wherever they are. A row with fewer
 * fields than the header reads the missing ones as ""; one with more is an error. */
typedef struct _PicardCsv PicardCsv;

/* @name is what error messages call the table (usually the file's base name). */
PicardCsv *picard_csv_parse (const char *name, const char *data, gsize length,
                             GError **error);
PicardCsv *picard_csv_load (const char *path, GError **error);
void picard_csv_free (PicardCsv *csv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardCsv, picard_csv_free)

const char *picard_csv_get_name (const PicardCsv *csv);
guint picard_csv_get_n_columns (const PicardCsv *csv);
/* Data rows, the header not counted. */
guint picard_csv_get_n_rows (const PicardCsv *csv);
const char *picard_csv_get_column_name (const PicardCsv *csv, guint column);
/* The column whose header is exactly @name (surrounding spaces ignored), or -1. */
int picard_csv_find_column (const PicardCsv *csv, const char *name);
/* Looks up every name of the NULL-terminated @names and stores their indices in @columns.
 * A missing one is PICARD_ERROR_NOT_FOUND: "labels.csv: missing column 'Cancer' (expected
 * PatientID,StudyUID,View,Normal,Actionable,Benign,Cancer)". */
gboolean picard_csv_require_columns (const PicardCsv *csv, const char *const *names,
                                     guint *columns, GError **error);

const char *picard_csv_get (const PicardCsv *csv, guint row, guint column);
/* The 1-based line of the file where @row starts (the header is line 1 unless blank lines
 * come first). */
guint picard_csv_get_line (const PicardCsv *csv, guint row);

/* Fields as numbers, with errors naming the table, the line, the column and the text.
 * Integers may be written as "12" or "12.0"; surrounding spaces are allowed. */
gboolean picard_csv_get_int (const PicardCsv *csv, guint row, guint column,
                             gint64 min, gint64 max, gint64 *value, GError **error);
gboolean picard_csv_get_double (const PicardCsv *csv, guint row, guint column,
                                double *value, GError **error);
/* "0"/"1" (also "true"/"false", "0.0"/"1.0" as pandas writes them). */
gboolean picard_csv_get_bool (const PicardCsv *csv, guint row, guint column,
                              gboolean *value, GError **error);

/* Writer: appends one field, quoted when it holds a comma, a quote, CR or LF, starts with a
 * BOM, or starts or ends with a space; separators go between the fields of a row. */
void picard_csv_append_field (GString *out, gboolean first_in_row, const char *field);
/* Appends a whole record followed by "\n". */
void picard_csv_append_row (GString *out, const char *const *fields, gsize n_fields);
/* Writes @contents atomically (temporary file in the same folder, fsync, rename). */
gboolean picard_csv_write_file (const char *path, const GString *contents, GError **error);

G_END_DECLS
