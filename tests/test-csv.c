/* RFC 4180 tables: quoting, line ends, BOM, caps, errors with lines, numbers, the writer. */
#include "picard-csv.h"
#include "picard-error.h"

#include <glib/gstdio.h>
#include <string.h>

static PicardCsv *
parse (const char *text, GError **error)
{
  return picard_csv_parse ("t.csv", text, strlen (text), error);
}

static void
assert_parse_error (const char *text, int code, const char *message)
{
  g_autoptr(GError) error = NULL;
  PicardCsv *csv = parse (text, &error);

  g_assert_null (csv);
  g_assert_error (error, PICARD_ERROR, code);
  if (strstr (error->message, message) == NULL)
    g_error ("expected '%s' in '%s'", message, error->message);
}

static void
test_simple (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCsv) csv = parse ("a,b,c\n1,2,3\n4,5,6\n", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (picard_csv_get_name (csv), ==, "t.csv");
  g_assert_cmpuint (picard_csv_get_n_columns (csv), ==, 3);
  g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 2);
  g_assert_cmpstr (picard_csv_get_column_name (csv, 1), ==, "b");
  g_assert_cmpint (picard_csv_find_column (csv, "c"), ==, 2);
  g_assert_cmpint (picard_csv_find_column (csv, "d"), ==, -1);
  g_assert_cmpstr (picard_csv_get (csv, 0, 0), ==, "1");
  g_assert_cmpstr (picard_csv_get (csv, 1, 2), ==, "6");
  g_assert_cmpuint (picard_csv_get_line (csv, 0), ==, 2);
  g_assert_cmpuint (picard_csv_get_line (csv, 1), ==, 3);
}

static void
test_quoted_fields (void)
{
  g_autoptr(GError) error = NULL;
  const char *text =
    "name,note,n\n"
    "\"Smith, J\",\"said \"\"hi\"\"\",1\n"
    "x,\"two\nlines\",2\n"
    "\"\",\"\"\"\",3\n"
    "y,\"a,\r\nb\",4\n";
  g_autoptr(PicardCsv) csv = parse (text, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 4);
  g_assert_cmpstr (picard_csv_get (csv, 0, 0), ==, "Smith, J");
  g_assert_cmpstr (picard_csv_get (csv, 0, 1), ==, "said \"hi\"");
  g_assert_cmpstr (picard_csv_get (csv, 1, 1), ==, "two\nlines");
  g_assert_cmpstr (picard_csv_get (csv, 2, 0), ==, "");
  g_assert_cmpstr (picard_csv_get (csv, 2, 1), ==, "\"");
  g_assert_cmpstr (picard_csv_get (csv, 3, 1), ==, "a,\r\nb");
  /* Line numbers count the line breaks inside quoted fields. */
  g_assert_cmpuint (picard_csv_get_line (csv, 1), ==, 3);
  g_assert_cmpuint (picard_csv_get_line (csv, 2), ==, 5);
  g_assert_cmpuint (picard_csv_get_line (csv, 3), ==, 6);
}

static void
test_line_ends_bom_blank_lines (void)
{
  const char *texts[] = {
    "a,b\r\n1,2\r\n3,4\r\n",
    "a,b\n1,2\n3,4",
    "\357\273\277a,b\n1,2\n3,4\n\n\n", /* with a BOM */
    "a,b\r1,2\r3,4\r",
    "\n\na,b\n1,2\n\n3,4\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PicardCsv) csv = parse (texts[i], &error);

      g_assert_no_error (error);
      g_assert_cmpuint (picard_csv_get_n_columns (csv), ==, 2);
      g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 2);
      g_assert_cmpint (picard_csv_find_column (csv, "a"), ==, 0);
      g_assert_cmpstr (picard_csv_get (csv, 0, 1), ==, "2");
      g_assert_cmpstr (picard_csv_get (csv, 1, 1), ==, "4");
    }
  {
    g_autoptr(PicardCsv) csv = parse (texts[4], NULL);

    g_assert_cmpuint (picard_csv_get_line (csv, 0), ==, 4);
    g_assert_cmpuint (picard_csv_get_line (csv, 1), ==, 6);
  }
}

static void
test_short_rows_and_empty_fields (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCsv) csv = parse ("a,b,c\n1,,\n2\n3,4,\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 3);
  g_assert_cmpstr (picard_csv_get (csv, 0, 1), ==, "");
  g_assert_cmpstr (picard_csv_get (csv, 1, 0), ==, "2");
  g_assert_cmpstr (picard_csv_get (csv, 1, 2), ==, "");
  g_assert_cmpstr (picard_csv_get (csv, 2, 1), ==, "4");
  g_assert_cmpstr (picard_csv_get (csv, 2, 2), ==, "");
}

static void
test_header_spaces (void)
{
  g_autoptr(PicardCsv) csv = parse (" PatientID , View\nP1,lcc\n", NULL);

  g_assert_nonnull (csv);
  g_assert_cmpint (picard_csv_find_column (csv, "PatientID"), ==, 0);
  g_assert_cmpint (picard_csv_find_column (csv, "View"), ==, 1);
  g_assert_cmpint (picard_csv_find_column (csv, "Vie"), ==, -1);
}

static void
test_errors (void)
{
  assert_parse_error ("a,b\n1,2\n3,\"open\n4,5\n", PICARD_ERROR_CORRUPT,
                      "t.csv line 3: unterminated quoted field");
  assert_parse_error ("a,b\n1,2\n3,4,5\n", PICARD_ERROR_CORRUPT,
                      "t.csv line 3: 3 fields, but the header has only 2 columns");
  assert_parse_error ("a,b\n1,x\"y\n", PICARD_ERROR_CORRUPT,
                      "t.csv line 2: a quote inside an unquoted field");
  assert_parse_error ("a,b\n\"1\"x,2\n", PICARD_ERROR_CORRUPT,
                      "t.csv line 2: unexpected text after a closing quote");
  assert_parse_error ("", PICARD_ERROR_CORRUPT, "t.csv: the table is empty");
  assert_parse_error ("\xEF\xBB\xBF\r\n\n", PICARD_ERROR_CORRUPT, "t.csv: the table is empty");
  assert_parse_error ("a,b\n1,2\n\xff\xfe,3\n", PICARD_ERROR_CORRUPT,
                      "t.csv line 3: not UTF-8 text");

  {
    g_autoptr(GError) error = NULL;
    const char text[] = "a,b\n1,\0002\n";

    g_assert_null (picard_csv_parse ("t.csv", text, sizeof text - 1, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "line 2"));
  }
}

static void
test_caps (void)
{
  g_autoptr(GString) text = g_string_new ("a\n");
  g_autoptr(GError) error = NULL;

  g_string_append_c (text, '"');
  for (gsize i = 0; i <= PICARD_CSV_MAX_FIELD_LENGTH; i++)
    g_string_append_c (text, 'x');
  g_string_append (text, "\"\n");
  g_assert_null (picard_csv_parse ("t.csv", text->str, text->len, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "t.csv line 2"));
  g_clear_error (&error);

  /* The size cap is checked before anything is read. */
  g_assert_null (picard_csv_parse ("t.csv", text->str, PICARD_CSV_MAX_FILE_SIZE + 1, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_string_assign (text, "");
  for (guint i = 0; i <= PICARD_CSV_MAX_COLUMNS; i++)
    g_string_append (text, i == 0 ? "c" : ",c");
  g_assert_null (picard_csv_parse ("t.csv", text->str, text->len, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE);
}

static void
test_required_columns (void)
{
  static const char *const names[] = {
    "PatientID", "StudyUID", "View", "Normal", "Actionable", "Benign", "Cancer", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCsv) csv = NULL;
  guint columns[7];
  const char *text;

  text = "Extra,View,StudyUID,PatientID,Cancer,Benign,Actionable,Normal\n";
  csv = picard_csv_parse ("labels.csv", text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_true (picard_csv_require_columns (csv, names, columns, &error));
  g_assert_cmpuint (columns[0], ==, 3);
  g_assert_cmpuint (columns[6], ==, 4);
  g_clear_pointer (&csv, picard_csv_free);

  text = "PatientID,StudyUID,View,Normal,Actionable,Benign\n";
  csv = picard_csv_parse ("labels.csv", text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_false (picard_csv_require_columns (csv, names, columns, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "labels.csv: missing column 'Cancer' (expected PatientID,StudyUID,View,"
                   "Normal,Actionable,Benign,Cancer)");
}

static void
test_numbers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardCsv) csv = parse ("X,Y,Z\n"
                                    " 12 ,12.0,-3\n"
                                    "abc,,1e3\n"
                                    "99999999999999999999,12.5,inf\n"
                                    "true,0.0,2\n", &error);
  gint64 v;
  double d;
  gboolean b;

  g_assert_no_error (error);
  g_assert_true (picard_csv_get_int (csv, 0, 0, 0, 100, &v, &error));
  g_assert_cmpint (v, ==, 12);
  g_assert_true (picard_csv_get_int (csv, 0, 1, 0, 100, &v, &error));
  g_assert_cmpint (v, ==, 12);
  g_assert_true (picard_csv_get_int (csv, 0, 2, -10, 10, &v, &error));
  g_assert_cmpint (v, ==, -3);
  g_assert_true (picard_csv_get_int (csv, 1, 2, 0, 5000, &v, &error));
  g_assert_cmpint (v, ==, 1000);

  g_assert_false (picard_csv_get_int (csv, 0, 2, 0, 10, &v, &error));
  g_assert_cmpstr (error->message, ==, "t.csv line 2: column 'Z' is -3, outside 0..10");
  g_clear_error (&error);
  g_assert_false (picard_csv_get_int (csv, 1, 0, 0, 10, &v, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_cmpstr (error->message, ==,
                   "t.csv line 3: column 'X' is 'abc', not an integer");
  g_clear_error (&error);
  g_assert_false (picard_csv_get_int (csv, 1, 1, 0, 10, &v, &error));
  g_assert_cmpstr (error->message, ==,
                   "t.csv line 3: column 'Y' is empty (expected an integer)");
  g_clear_error (&error);
  g_assert_false (picard_csv_get_int (csv, 2, 0, G_MININT64, G_MAXINT64, &v, &error));
  g_clear_error (&error);
  g_assert_false (picard_csv_get_int (csv, 2, 1, 0, 100, &v, &error));
  g_assert_nonnull (strstr (error->message, "'12.5', not an integer"));
  g_clear_error (&error);

  g_assert_true (picard_csv_get_double (csv, 2, 1, &d, &error));
  g_assert_cmpfloat (d, ==, 12.5);
  g_assert_false (picard_csv_get_double (csv, 2, 2, &d, &error));
  g_assert_nonnull (strstr (error->message, "line 4: column 'Z' is 'inf', not a number"));
  g_clear_error (&error);

  g_assert_true (picard_csv_get_bool (csv, 3, 0, &b, &error));
  g_assert_true (b);
  g_assert_true (picard_csv_get_bool (csv, 3, 1, &b, &error));
  g_assert_false (b);
  g_assert_false (picard_csv_get_bool (csv, 3, 2, &b, &error));
  g_assert_cmpstr (error->message, ==, "t.csv line 5: column 'Z' is '2', not 0 or 1");
}

static void
test_long_value_in_message_stays_utf8 (void)
{
  g_autoptr(GString) text = g_string_new ("X\n");
  g_autoptr(PicardCsv) csv = NULL;
  g_autoptr(GError) error = NULL;
  gint64 v;

  for (int i = 0; i < 50; i++)
    g_string_append (text, "\xc3\xa9"); /* é */
  g_string_append_c (text, '\n');
  csv = picard_csv_parse ("t.csv", text->str, text->len, &error);
  g_assert_no_error (error);
  g_assert_false (picard_csv_get_int (csv, 0, 0, 0, 1, &v, &error));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, "..."));
}

static void
test_writer_round_trip (void)
{
  const char *fields[] = { "plain", "with,comma", "with \"quote\"", "two\nlines", "", " pad",
                           "cr\rhere" };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(PicardCsv) csv = NULL;
  g_autoptr(GError) error = NULL;
  const char *single[] = { "" };

  picard_csv_append_row (out, fields, G_N_ELEMENTS (fields));
  picard_csv_append_row (out, fields, G_N_ELEMENTS (fields));
  g_assert_true (g_str_has_prefix (out->str,
                                   "plain,\"with,comma\",\"with \"\"quote\"\"\",\"two\nlines\","
                                   ",\" pad\",\"cr\rhere\"\n"));
  csv = picard_csv_parse ("w.csv", out->str, out->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_assert_cmpstr (picard_csv_get_column_name (csv, i), ==, fields[i]);
      g_assert_cmpstr (picard_csv_get (csv, 0, i), ==, fields[i]);
    }
  g_clear_pointer (&csv, picard_csv_free);

  /* A first field that starts with a BOM must not be taken for the file's BOM. */
  {
    const char *bom_row[] = { "\xEF\xBB\xBF", "x" };

    g_string_assign (out, "");
    picard_csv_append_row (out, bom_row, 2);
    picard_csv_append_row (out, bom_row, 2);
    csv = picard_csv_parse ("w.csv", out->str, out->len, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 1);
    g_assert_cmpstr (picard_csv_get_column_name (csv, 0), ==, "\xEF\xBB\xBF");
    g_assert_cmpstr (picard_csv_get (csv, 0, 0), ==, "\xEF\xBB\xBF");
    g_clear_pointer (&csv, picard_csv_free);
  }

  /* A row of one empty field must not read back as a skipped blank line. */
  g_string_assign (out, "h\n");
  picard_csv_append_row (out, single, 1);
  csv = picard_csv_parse ("w.csv", out->str, out->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_csv_get_n_rows (csv), ==, 1);
  g_assert_cmpstr (picard_csv_get (csv, 0, 0), ==, "");
}

static void
test_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-csv-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree char *missing = NULL;
  g_autoptr(GString) out = g_string_new ("a,b\n");
  g_autoptr(PicardCsv) csv = NULL;
  const char *row[] = { "1", "x,y" };
  GDir *listing;
  guint entries = 0;

  g_assert_no_error (error);
  path = g_build_filename (dir, "table.csv", NULL);
  picard_csv_append_row (out, row, 2);
  g_assert_true (picard_csv_write_file (path, out, &error));
  g_assert_no_error (error);
  csv = picard_csv_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (picard_csv_get_name (csv), ==, "table.csv");
  g_assert_cmpstr (picard_csv_get (csv, 0, 1), ==, "x,y");

  /* Written atomically: no temporary file is left behind. */
  listing = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (listing) != NULL)
    entries++;
  g_dir_close (listing);
  g_assert_cmpuint (entries, ==, 1);

  missing = g_build_filename (dir, "missing.csv", NULL);
  g_assert_null (picard_csv_load (missing, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_null (picard_csv_load (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_clear_error (&error);

  g_assert_false (picard_csv_write_file ("/nonexistent-dir/x.csv", out, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/x.csv"));

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csv/simple", test_simple);
  g_test_add_func ("/csv/quoted-fields", test_quoted_fields);
  g_test_add_func ("/csv/line-ends-bom-blank-lines", test_line_ends_bom_blank_lines);
  g_test_add_func ("/csv/short-rows", test_short_rows_and_empty_fields);
  g_test_add_func ("/csv/header-spaces", test_header_spaces);
  g_test_add_func ("/csv/errors", test_errors);
  g_test_add_func ("/csv/caps", test_caps);
  g_test_add_func ("/csv/required-columns", test_required_columns);
  g_test_add_func ("/csv/numbers", test_numbers);
  g_test_add_func ("/csv/long-value-utf8", test_long_value_in_message_stays_utf8);
  g_test_add_func ("/csv/writer-round-trip", test_writer_round_trip);
  g_test_add_func ("/csv/files", test_files);
  return g_test_run ();
}
