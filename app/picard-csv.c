#include "picard-csv.h"

#include "picard-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  guint first_field; /* index into fields */
  guint n_fields;
  guint line;
} CsvRow;

struct _PicardCsv {
  char *name;
  GString *text;  /* every field, each NUL-terminated */
  GArray *fields; /* guint offsets into text */
  GArray *rows;   /* CsvRow; row 0 is the header */
  guint n_columns;
};

void
picard_csv_free (PicardCsv *csv)
{
  if (csv == NULL)
    return;
  g_free (csv->name);
  g_string_free (csv->text, TRUE);
  g_array_unref (csv->fields);
  g_array_unref (csv->rows);
  g_free (csv);
}

static gboolean
is_line_end (char c)
{
  return c == '\n' || c == '\r';
}

/* Consumes one line end at *pos (CRLF, LF or lone CR). */
static void
skip_line_end (const char *data, gsize length, gsize *pos)
{
  if (data[*pos] == '\r' && *pos + 1 < length && data[*pos + 1] == '\n')
    *pos += 2;
  else
    *pos += 1;
}

static guint
line_of_offset (const char *data, gsize offset)
{
  guint line = 1;

  for (gsize i = 0; i < offset; i++)
    if (data[i] == '\n' || (data[i] == '\r' && data[i + 1] != '\n'))
      line++;
  return line;
}

static gboolean
field_too_long (PicardCsv *csv, gsize field_start, guint line, GError **error)
{
  if (csv->text->len - field_start <= PICARD_CSV_MAX_FIELD_LENGTH)
    return FALSE;
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
               "%s line %u: a field is longer than %" G_GSIZE_FORMAT " bytes; "
               "is this the right file (or a quote left open)?",
               csv->name, line, PICARD_CSV_MAX_FIELD_LENGTH);
  return TRUE;
}

/* Reads one field starting at *pos into csv->text. */
static gboolean
parse_field (PicardCsv *csv, const char *data, gsize length, gsize *pos, guint *line,
             GError **error)
{
  gsize field_start = csv->text->len;
  guint field_line = *line;
  guint offset = field_start;

  g_array_append_val (csv->fields, offset);
  if (*pos < length && data[*pos] == '"')
    {
      (*pos)++;
      for (;;)
        {
          char c;

          if (*pos >= length)
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                           "%s line %u: unterminated quoted field (a '\"' opens it but "
                           "none closes it)", csv->name, field_line);
              return FALSE;
            }
          c = data[*pos];
          if (c == '"')
            {
              if (*pos + 1 < length && data[*pos + 1] == '"')
                {
                  g_string_append_c (csv->text, '"');
                  *pos += 2;
                  continue;
                }
              (*pos)++;
              break;
            }
          if (c == '\n' || (c == '\r' && (*pos + 1 >= length || data[*pos + 1] != '\n')))
            (*line)++;
          g_string_append_c (csv->text, c);
          (*pos)++;
          if (field_too_long (csv, field_start, field_line, error))
            return FALSE;
        }
      if (*pos < length && data[*pos] != ',' && !is_line_end (data[*pos]))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s line %u: unexpected text after a closing quote (inside a quoted "
                       "field, write a quote as \"\")", csv->name, *line);
          return FALSE;
        }
    }
  else
    {
      gsize start = *pos;

      while (*pos < length && data[*pos] != ',' && !is_line_end (data[*pos]))
        {
          if (data[*pos] == '"')
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                           "%s line %u: a quote inside an unquoted field (quote the whole "
                           "field and write the quote as \"\")", csv->name, *line);
              return FALSE;
            }
          (*pos)++;
        }
      g_string_append_len (csv->text, data + start, *pos - start);
      if (field_too_long (csv, field_start, field_line, error))
        return FALSE;
    }
  g_string_append_c (csv->text, '\0');
  return TRUE;
}

PicardCsv *
picard_csv_parse (const char *name, const char *data, gsize length, GError **error)
{
  g_autoptr(PicardCsv) csv = NULL;
  const char *invalid = NULL;
  gsize pos = 0;
  guint line = 1;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > PICARD_CSV_MAX_FILE_SIZE)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: %" G_GSIZE_FORMAT " bytes is more than the %" G_GSIZE_FORMAT
                   " MiB a table may have; is this the right file?",
                   name, length, PICARD_CSV_MAX_FILE_SIZE / (1024 * 1024));
      return NULL;
    }
  /* Also rejects NUL bytes, so that the parser below may look one byte ahead safely. */
  if (length > 0 && !g_utf8_validate_len (data, length, &invalid))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: not UTF-8 text (is it a CSV file? save it as UTF-8)",
                   name, line_of_offset (data, invalid - data));
      return NULL;
    }

  csv = g_new0 (PicardCsv, 1);
  csv->name = g_strdup (name);
  csv->text = g_string_new (NULL);
  csv->fields = g_array_new (FALSE, FALSE, sizeof (guint));
  csv->rows = g_array_new (FALSE, FALSE, sizeof (CsvRow));

  if (length >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;

  while (pos < length)
    {
      CsvRow row;

      if (is_line_end (data[pos]))
        {
          skip_line_end (data, length, &pos);
          line++;
          continue;
        }
      row.first_field = csv->fields->len;
      row.line = line;
      for (;;)
        {
          if (!parse_field (csv, data, length, &pos, &line, error))
            return NULL;
          if (csv->fields->len - row.first_field > PICARD_CSV_MAX_COLUMNS)
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                           "%s line %u: more than %u fields", name, row.line,
                           PICARD_CSV_MAX_COLUMNS);
              return NULL;
            }
          if (pos < length && data[pos] == ',')
            {
              pos++;
              continue;
            }
          if (pos < length)
            {
              skip_line_end (data, length, &pos);
              line++;
            }
          break;
        }
      row.n_fields = csv->fields->len - row.first_field;
      if (csv->rows->len == 0)
        csv->n_columns = row.n_fields;
      else if (row.n_fields > csv->n_columns)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s line %u: %u fields, but the header has only %u columns "
                       "(a comma too many, or a field that needs quotes?)",
                       name, row.line, row.n_fields, csv->n_columns);
          return NULL;
        }
      if (csv->rows->len > PICARD_CSV_MAX_ROWS)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                       "%s: more than %u rows; is this the right file?", name,
                       PICARD_CSV_MAX_ROWS);
          return NULL;
        }
      g_array_append_val (csv->rows, row);
    }

  if (csv->rows->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the table is empty (expected a header row of column names)", name);
      return NULL;
    }
  return g_steal_pointer (&csv);
}

PicardCsv *
picard_csv_load (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GError) local_error = NULL;
  GStatBuf st;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, PICARD_ERROR,
                   saved == ENOENT ? PICARD_ERROR_NOT_FOUND : PICARD_ERROR_IO,
                   "%s: %s; check the path", path, g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                   "%s: not a regular file (expected a CSV table)", path);
      return NULL;
    }
  if ((guint64) st.st_size > PICARD_CSV_MAX_FILE_SIZE)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: %" G_GUINT64_FORMAT " bytes is more than the %" G_GSIZE_FORMAT
                   " MiB a table may have; is this the right file?",
                   path, (guint64) st.st_size, PICARD_CSV_MAX_FILE_SIZE / (1024 * 1024));
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "%s: %s", path,
                   local_error->message);
      return NULL;
    }
  name = g_path_get_basename (path);
  return picard_csv_parse (name, contents, length, error);
}

const char *
picard_csv_get_name (const PicardCsv *csv)
{
  g_return_val_if_fail (csv != NULL, NULL);
  return csv->name;
}

guint
picard_csv_get_n_columns (const PicardCsv *csv)
{
  g_return_val_if_fail (csv != NULL, 0);
  return csv->n_columns;
}

guint
picard_csv_get_n_rows (const PicardCsv *csv)
{
  g_return_val_if_fail (csv != NULL, 0);
  return csv->rows->len - 1;
}

static const char *
row_field (const PicardCsv *csv, guint row_index, guint column)
{
  const CsvRow *row = &g_array_index (csv->rows, CsvRow, row_index);

  if (column >= row->n_fields)
    return "";
  return csv->text->str + g_array_index (csv->fields, guint, row->first_field + column);
}

const char *
picard_csv_get_column_name (const PicardCsv *csv, guint column)
{
  g_return_val_if_fail (csv != NULL, NULL);
  g_return_val_if_fail (column < csv->n_columns, NULL);
  return row_field (csv, 0, column);
}

static gboolean
name_matches (const char *header, const char *name)
{
  gsize n = strlen (name);

  while (*header == ' ' || *header == '\t')
    header++;
  if (strncmp (header, name, n) != 0)
    return FALSE;
  for (header += n; *header == ' ' || *header == '\t'; header++)
    ;
  return *header == '\0';
}

int
picard_csv_find_column (const PicardCsv *csv, const char *name)
{
  g_return_val_if_fail (csv != NULL && name != NULL, -1);

  for (guint i = 0; i < csv->n_columns; i++)
    if (name_matches (row_field (csv, 0, i), name))
      return (int) i;
  return -1;
}

gboolean
picard_csv_require_columns (const PicardCsv *csv, const char *const *names, guint *columns,
                            GError **error)
{
  g_return_val_if_fail (csv != NULL && names != NULL && columns != NULL, FALSE);

  for (guint i = 0; names[i] != NULL; i++)
    {
      int column = picard_csv_find_column (csv, names[i]);

      if (column < 0)
        {
          g_autofree char *expected = g_strjoinv (",", (char **) names);

          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                       "%s: missing column '%s' (expected %s)", csv->name, names[i],
                       expected);
          return FALSE;
        }
      columns[i] = (guint) column;
    }
  return TRUE;
}

const char *
picard_csv_get (const PicardCsv *csv, guint row, guint column)
{
  g_return_val_if_fail (csv != NULL, NULL);
  g_return_val_if_fail (row + 1 < csv->rows->len, NULL);
  g_return_val_if_fail (column < csv->n_columns, NULL);
  return row_field (csv, row + 1, column);
}

guint
picard_csv_get_line (const PicardCsv *csv, guint row)
{
  g_return_val_if_fail (csv != NULL, 0);
  g_return_val_if_fail (row + 1 < csv->rows->len, 0);
  return g_array_index (csv->rows, CsvRow, row + 1).line;
}

/* The field without surrounding spaces, into @buffer; FALSE when it does not fit (no
 * number is that long). */
static gboolean
trimmed_field (const PicardCsv *csv, guint row, guint column, char *buffer, gsize size)
{
  const char *text = picard_csv_get (csv, row, column);
  gsize n;

  while (*text == ' ' || *text == '\t')
    text++;
  n = strlen (text);
  while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
    n--;
  if (n >= size)
    return FALSE;
  memcpy (buffer, text, n);
  buffer[n] = '\0';
  return TRUE;
}

static void
set_number_error (const PicardCsv *csv, guint row, guint column, const char *what,
                  GError **error)
{
  const char *text = picard_csv_get (csv, row, column);
  g_autofree char *excerpt = NULL;

  if (*text == '\0')
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                 "%s line %u: column '%s' is empty (expected %s)", csv->name,
                 picard_csv_get_line (csv, row), row_field (csv, 0, column), what);
  else
    {
      /* Cut on a character boundary so that the message stays valid UTF-8. */
      if (g_utf8_strlen (text, -1) > 40)
        {
          g_autofree char *head = g_utf8_substring (text, 0, 40);

          excerpt = g_strconcat (head, "...", NULL);
        }
      else
        excerpt = g_strdup (text);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: column '%s' is '%s', not %s", csv->name,
                   picard_csv_get_line (csv, row), row_field (csv, 0, column), excerpt,
                   what);
    }
}

gboolean
picard_csv_get_int (const PicardCsv *csv, guint row, guint column, gint64 min, gint64 max,
                    gint64 *value, GError **error)
{
  char buffer[64];
  char *end = NULL;
  gint64 v;

  g_return_val_if_fail (csv != NULL && value != NULL, FALSE);
  g_return_val_if_fail (min <= max, FALSE);

  if (!trimmed_field (csv, row, column, buffer, sizeof buffer) || buffer[0] == '\0')
    {
      set_number_error (csv, row, column, "an integer", error);
      return FALSE;
    }
  errno = 0;
  v = g_ascii_strtoll (buffer, &end, 10);
  if (*end != '\0' || end == buffer || errno != 0)
    {
      /* pandas writes integer columns that held a NaN as "12.0". */
      double d;

      errno = 0;
      d = g_ascii_strtod (buffer, &end);
      if (*end != '\0' || end == buffer || errno != 0 || !isfinite (d) || d != floor (d)
          || d < -9.0e18 || d > 9.0e18)
        {
          set_number_error (csv, row, column, "an integer", error);
          return FALSE;
        }
      v = (gint64) d;
    }
  if (v < min || v > max)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s line %u: column '%s' is %" G_GINT64_FORMAT ", outside %"
                   G_GINT64_FORMAT "..%" G_GINT64_FORMAT, csv->name,
                   picard_csv_get_line (csv, row), row_field (csv, 0, column), v, min, max);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
picard_csv_get_double (const PicardCsv *csv, guint row, guint column, double *value,
                       GError **error)
{
  char buffer[64];
  char *end = NULL;
  double d;

  g_return_val_if_fail (csv != NULL && value != NULL, FALSE);

  if (!trimmed_field (csv, row, column, buffer, sizeof buffer) || buffer[0] == '\0')
    {
      set_number_error (csv, row, column, "a number", error);
      return FALSE;
    }
  errno = 0;
  d = g_ascii_strtod (buffer, &end);
  if (*end != '\0' || end == buffer || errno != 0 || !isfinite (d))
    {
      set_number_error (csv, row, column, "a number", error);
      return FALSE;
    }
  *value = d;
  return TRUE;
}

gboolean
picard_csv_get_bool (const PicardCsv *csv, guint row, guint column, gboolean *value,
                     GError **error)
{
  char buffer[16];

  g_return_val_if_fail (csv != NULL && value != NULL, FALSE);

  if (trimmed_field (csv, row, column, buffer, sizeof buffer))
    {
      if (strcmp (buffer, "1") == 0 || strcmp (buffer, "1.0") == 0
          || g_ascii_strcasecmp (buffer, "true") == 0)
        {
          *value = TRUE;
          return TRUE;
        }
      if (strcmp (buffer, "0") == 0 || strcmp (buffer, "0.0") == 0
          || g_ascii_strcasecmp (buffer, "false") == 0)
        {
          *value = FALSE;
          return TRUE;
        }
    }
  set_number_error (csv, row, column, "0 or 1", error);
  return FALSE;
}

void
picard_csv_append_field (GString *out, gboolean first_in_row, const char *field)
{
  gsize n;

  g_return_if_fail (out != NULL);

  if (!first_in_row)
    g_string_append_c (out, ',');
  if (field == NULL)
    return;
  n = strlen (field);
  /* A leading BOM would be taken for the file's own when the field starts the file. */
  if (strpbrk (field, ",\"\r\n") == NULL
      && (n == 0 || (field[0] != ' ' && field[n - 1] != ' '))
      && !g_str_has_prefix (field, "\xEF\xBB\xBF"))
    {
      g_string_append_len (out, field, n);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = field; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

void
picard_csv_append_row (GString *out, const char *const *fields, gsize n_fields)
{
  g_return_if_fail (out != NULL && (fields != NULL || n_fields == 0));

  for (gsize i = 0; i < n_fields; i++)
    picard_csv_append_field (out, i == 0, fields[i]);
  /* A lone empty field would read back as a blank line, which readers skip. */
  if (n_fields == 1 && (fields[0] == NULL || fields[0][0] == '\0'))
    g_string_append (out, "\"\"");
  g_string_append_c (out, '\n');
}

gboolean
picard_csv_write_file (const char *path, const GString *contents, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL && contents != NULL, FALSE);

  if (!g_file_set_contents_full (path, contents->str, contents->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0666, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                   "Could not write %s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}
