/* The BCS-DBT tables: boxes, file paths, labels; matching rows to a volume; paths. */
#include "picard-dataset.h"
#include "picard-error.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static const char boxes_csv[] =
  "PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,VolumeSlices\r\n"
  "DBT-P00013,DBT-S00163,rmlo,0,16,1116,1724,218,105,cancer,0,32\r\n"
  "DBT-P00013,DBT-S00163,RMLO,1,20,900,800,50,60,Benign,1,32\r\n"
  "DBT-P00013,DBT-S00163,rcc,0,18,1000,1500,100,90,cancer,0,37\r\n"
  "DBT-P00024,DBT-S00999,lcc,0,5,10,20,30,40,benign,0,60\r\n";

static GArray *
parse_boxes (const char *text, GError **error)
{
  return picard_boxes_parse ("boxes.csv", text, strlen (text), error);
}

static void
assert_boxes_error (const char *text, int code, const char *message)
{
  g_autoptr(GError) error = NULL;
  GArray *boxes = parse_boxes (text, &error);

  g_assert_null (boxes);
  g_assert_error (error, PICARD_ERROR, code);
  if (strcmp (error->message, message) != 0)
    g_error ("expected '%s', got '%s'", message, error->message);
}

static void
test_views (void)
{
  PicardView view = PICARD_VIEW_UNKNOWN;

  g_assert_true (picard_view_from_string ("lcc", &view));
  g_assert_cmpint (view, ==, PICARD_VIEW_LCC);
  g_assert_true (picard_view_from_string (" RMLO ", &view));
  g_assert_cmpint (view, ==, PICARD_VIEW_RMLO);
  g_assert_true (picard_view_from_string ("Lmlo", &view));
  g_assert_cmpint (view, ==, PICARD_VIEW_LMLO);
  g_assert_false (picard_view_from_string ("cc", &view));
  g_assert_false (picard_view_from_string ("", &view));
  g_assert_false (picard_view_from_string (NULL, &view));
  g_assert_cmpstr (picard_view_to_string (PICARD_VIEW_RCC), ==, "rcc");
  g_assert_cmpint (picard_view_get_laterality (PICARD_VIEW_RCC), ==, PICARD_LATERALITY_RIGHT);
  g_assert_cmpint (picard_view_get_laterality (PICARD_VIEW_LMLO), ==, PICARD_LATERALITY_LEFT);
  g_assert_cmpint (picard_view_get_laterality (PICARD_VIEW_UNKNOWN), ==,
                   PICARD_LATERALITY_UNKNOWN);
  g_assert_cmpint (picard_view_from_header (PICARD_LATERALITY_RIGHT, "MLO"), ==,
                   PICARD_VIEW_RMLO);
  g_assert_cmpint (picard_view_from_header (PICARD_LATERALITY_LEFT, "CC"), ==,
                   PICARD_VIEW_LCC);
  g_assert_cmpint (picard_view_from_header (PICARD_LATERALITY_LEFT, "XCCL"), ==,
                   PICARD_VIEW_UNKNOWN);
  g_assert_cmpint (picard_view_from_header (PICARD_LATERALITY_UNKNOWN, "CC"), ==,
                   PICARD_VIEW_UNKNOWN);
}

static void
test_boxes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) boxes = parse_boxes (boxes_csv, &error);
  const PicardBox *b;

  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, ==, 4);
  b = &g_array_index (boxes, PicardBox, 0);
  g_assert_cmpstr (b->patient_id, ==, "DBT-P00013");
  g_assert_cmpstr (b->study_uid, ==, "DBT-S00163");
  g_assert_cmpint (b->view, ==, PICARD_VIEW_RMLO);
  g_assert_cmpstr (b->subject, ==, "0");
  g_assert_cmpint (b->slice, ==, 16);
  g_assert_cmpint (b->x, ==, 1116);
  g_assert_cmpint (b->y, ==, 1724);
  g_assert_cmpint (b->width, ==, 218);
  g_assert_cmpint (b->height, ==, 105);
  g_assert_cmpint (b->klass, ==, PICARD_BOX_CANCER);
  g_assert_false (b->ad);
  g_assert_cmpint (b->volume_slices, ==, 32);
  g_assert_cmpuint (b->line, ==, 2);
  b = &g_array_index (boxes, PicardBox, 1);
  g_assert_cmpint (b->view, ==, PICARD_VIEW_RMLO);
  g_assert_cmpint (b->klass, ==, PICARD_BOX_BENIGN);
  g_assert_true (b->ad);
  g_assert_cmpstr (picard_box_class_to_string (b->klass), ==, "benign");
}

static void
test_boxes_extra_and_reordered_columns (void)
{
  g_autoptr(GError) error = NULL;
  const char *text =
    "\xEF\xBB\xBF" "Note,VolumeSlices,AD,Class,Height,Width,Y,X,Slice,Subject,View,StudyUID,"
    "PatientID\n"
    "\"seen, twice\",40,0,cancer,7,6,5,4,3,s,lcc,S1,P1\n\n";
  g_autoptr(GArray) boxes = parse_boxes (text, &error);
  const PicardBox *b;

  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, ==, 1);
  b = &g_array_index (boxes, PicardBox, 0);
  g_assert_cmpstr (b->patient_id, ==, "P1");
  g_assert_cmpint (b->x, ==, 4);
  g_assert_cmpint (b->y, ==, 5);
  g_assert_cmpint (b->width, ==, 6);
  g_assert_cmpint (b->height, ==, 7);
  g_assert_cmpint (b->slice, ==, 3);
  g_assert_cmpint (b->volume_slices, ==, 40);
}

static void
test_boxes_errors (void)
{
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Class,AD,"
                      "VolumeSlices\n", PICARD_ERROR_NOT_FOUND,
                      "boxes.csv: missing column 'Height' (expected PatientID,StudyUID,View,"
                      "Subject,Slice,X,Y,Width,Height,Class,AD,VolumeSlices)");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,2,3,4,5,cancer,0,10\n"
                      "P,S,lcc,0,1,2,3,four,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 3: column 'Width' is 'four', not an integer");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,-2,3,4,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: column 'X' is -2, outside 0..16383");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,2,3,0,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: column 'Width' is 0, outside 1..16384");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,2,3,4,5,malignant,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: Class 'malignant' is neither benign nor cancer");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lc,0,1,2,3,4,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: View 'lc' is not one of lcc, lmlo, rcc, rmlo");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      ",S,lcc,0,1,2,3,4,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: column 'PatientID' is empty");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,10,2,3,4,5,cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: Slice 10 is outside the volume's 10 slices "
                      "(VolumeSlices)");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,2,3,4,5,cancer,yes,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: column 'AD' is 'yes', not 0 or 1");
  assert_boxes_error ("PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                      "VolumeSlices\n"
                      "P,S,lcc,0,1,2,3,4,5,\"cancer,0,10\n", PICARD_ERROR_CORRUPT,
                      "boxes.csv line 2: unterminated quoted field (a '\"' opens it but "
                      "none closes it)");
}

static void
test_match (void)
{
  g_autoptr(GArray) boxes = parse_boxes (boxes_csv, NULL);
  g_autoptr(GArray) rmlo = picard_boxes_match (boxes, "DBT-P00013", "DBT-S00163",
                                               PICARD_VIEW_RMLO);
  g_autoptr(GArray) rcc = picard_boxes_match (boxes, "DBT-P00013", NULL, PICARD_VIEW_RCC);
  g_autoptr(GArray) none = picard_boxes_match (boxes, "DBT-P00013", "DBT-S00163",
                                               PICARD_VIEW_LCC);
  g_autoptr(GArray) other = picard_boxes_match (boxes, "DBT-P00014", NULL, PICARD_VIEW_RMLO);

  g_assert_cmpuint (rmlo->len, ==, 2);
  g_assert_cmpint (g_array_index (rmlo, PicardBox, 0).slice, ==, 16);
  g_assert_cmpint (g_array_index (rmlo, PicardBox, 1).slice, ==, 20);
  /* Deep copies: they outlive the table. */
  g_assert_true (g_array_index (rmlo, PicardBox, 0).patient_id
                 != g_array_index (boxes, PicardBox, 0).patient_id);
  g_assert_cmpuint (rcc->len, ==, 1);
  g_assert_cmpint (g_array_index (rcc, PicardBox, 0).volume_slices, ==, 37);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (other->len, ==, 0);
}

static const char labels_csv[] =
  "PatientID,StudyUID,View,Normal,Actionable,Benign,Cancer\n"
  "DBT-P00001,DBT-S01,lcc,1,0,0,0\n"
  "DBT-P00002,DBT-S02,rmlo,0,0,0,1\n";

static void
test_labels (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) labels = picard_labels_parse ("labels.csv", labels_csv,
                                                  strlen (labels_csv), &error);
  const PicardLabel *label;

  g_assert_no_error (error);
  g_assert_cmpuint (labels->len, ==, 2);
  label = picard_labels_find (labels, "DBT-P00002", "DBT-S02", PICARD_VIEW_RMLO);
  g_assert_nonnull (label);
  g_assert_false (label->normal);
  g_assert_false (label->actionable);
  g_assert_false (label->benign);
  g_assert_true (label->cancer);
  g_assert_cmpuint (label->line, ==, 3);
  label = picard_labels_find (labels, "DBT-P00001", "DBT-S01", PICARD_VIEW_LCC);
  g_assert_true (label->normal);
  g_assert_null (picard_labels_find (labels, "DBT-P00001", "DBT-S01", PICARD_VIEW_LMLO));

  {
    const char *bad = "PatientID,StudyUID,View,Normal,Actionable,Benign,Cancer\n"
                      "P,S,lcc,1,0,0,x\n";
    GArray *none = picard_labels_parse ("labels.csv", bad, strlen (bad), &error);

    g_assert_null (none);
    g_assert_cmpstr (error->message, ==,
                     "labels.csv line 2: column 'Cancer' is 'x', not 0 or 1");
    g_clear_error (&error);
  }
  {
    const char *bad = "PatientID,StudyUID,View,Normal,Actionable,Benign\nP,S,lcc,1,0,0\n";
    GArray *none = picard_labels_parse ("labels.csv", bad, strlen (bad), &error);

    g_assert_null (none);
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
    g_assert_cmpstr (error->message, ==,
                     "labels.csv: missing column 'Cancer' (expected PatientID,StudyUID,View,"
                     "Normal,Actionable,Benign,Cancer)");
  }
}

static const char paths_csv[] =
  "PatientID,StudyUID,View,descriptive_path,classic_path\n"
  "DBT-P00013,DBT-S00163,rmlo,Breast-Cancer-Screening-DBT/DBT-P00013/01-01-2000-DBT-S00163-"
  "MAMMO screening digital bilateral-33603/18377.000000-NA-92351/1-1.dcm,"
  "Breast-Cancer-Screening-DBT/DBT-P00013/1.2.826.0.1.3680043.8.498.1/"
  "1.2.826.0.1.3680043.8.498.2/1-1.dcm\n"
  "DBT-P00013,DBT-S00163,lcc,a/b/1-1.dcm,c/d/1-1.dcm\n";

static void
write_file (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
}

static void
test_file_paths (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) paths = picard_file_paths_parse ("paths.csv", paths_csv,
                                                     strlen (paths_csv), &error);
  g_autofree char *root = g_dir_make_tmp ("picard-dataset-XXXXXX", NULL);
  g_autofree char *descriptive = NULL;
  g_autofree char *classic = NULL;
  g_autofree char *link = NULL;
  g_autofree char *unrelated = NULL;
  const PicardFilePath *row;

  g_assert_no_error (error);
  g_assert_cmpuint (paths->len, ==, 2);
  row = picard_file_paths_find (paths, "DBT-P00013", "DBT-S00163", PICARD_VIEW_RMLO);
  g_assert_nonnull (row);
  descriptive = picard_file_path_resolve (row, root, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (descriptive, root));
  g_assert_true (g_str_has_suffix (descriptive, "/Breast-Cancer-Screening-DBT/DBT-P00013/"
                                   "01-01-2000-DBT-S00163-MAMMO screening digital "
                                   "bilateral-33603/18377.000000-NA-92351/1-1.dcm"));
  classic = picard_file_path_resolve (row, root, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (classic, "/1.2.826.0.1.3680043.8.498.2/1-1.dcm"));

  /* A file the user opens finds its row, by either path, even through a link. */
  write_file (descriptive);
  write_file (classic);
  g_assert_true (picard_file_paths_find_file (paths, root, descriptive) == row);
  g_assert_true (picard_file_paths_find_file (paths, root, classic) == row);
  link = g_build_filename (root, "link", NULL);
  {
    g_autofree char *target = g_path_get_dirname (descriptive);

    g_assert_cmpint (symlink (target, link), ==, 0);
  }
  {
    g_autofree char *via_link = g_build_filename (link, "1-1.dcm", NULL);

    g_assert_true (picard_file_paths_find_file (paths, root, via_link) == row);
  }
  unrelated = g_build_filename (root, "1-1.dcm", NULL);
  write_file (unrelated);
  g_assert_null (picard_file_paths_find_file (paths, root, unrelated));
  row = picard_file_paths_find (paths, "DBT-P00013", "DBT-S00163", PICARD_VIEW_LCC);
  g_assert_cmpuint (row->line, ==, 3);
  g_assert_null (picard_file_paths_find (paths, "DBT-P00013", "DBT-S00163",
                                         PICARD_VIEW_RCC));

  picard_test_remove_tree (root);
}

static void
test_file_paths_outside_root (void)
{
  const char *text = "PatientID,StudyUID,View,descriptive_path,classic_path\n"
                     "P,S,lcc,/etc/passwd,a/../../b.dcm\n"
                     "P,S,rcc,a\\b\\c.dcm,\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) paths = picard_file_paths_parse ("paths.csv", text, strlen (text),
                                                     &error);
  const PicardFilePath *row = &g_array_index (paths, PicardFilePath, 0);
  char *resolved;

  g_assert_no_error (error);
  resolved = picard_file_path_resolve (row, "/data", FALSE, &error);
  g_assert_null (resolved);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "absolute"));
  g_clear_error (&error);
  resolved = picard_file_path_resolve (row, "/data", TRUE, &error);
  g_assert_null (resolved);
  g_assert_nonnull (strstr (error->message, "leaves the data set's folder"));
  g_clear_error (&error);

  row = &g_array_index (paths, PicardFilePath, 1);
  resolved = picard_file_path_resolve (row, "/data", FALSE, &error);
  g_assert_cmpstr (resolved, ==, "/data/a/b/c.dcm");
  g_free (resolved);
  resolved = picard_file_path_resolve (row, "/data", TRUE, &error);
  g_assert_null (resolved);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  text = "PatientID,StudyUID,View,descriptive_path,classic_path\nP,S,lcc,,\n";
  g_assert_null (picard_file_paths_parse ("paths.csv", text, strlen (text), &error));
  g_assert_cmpstr (error->message, ==,
                   "paths.csv line 2: both descriptive_path and classic_path are empty");
}

static void
test_load_from_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-dataset-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "boxes.csv", NULL);
  g_autoptr(GArray) boxes = NULL;
  GArray *none;

  g_assert_true (g_file_set_contents (path, boxes_csv, -1, NULL));
  boxes = picard_boxes_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, ==, 4);
  none = picard_labels_load (path, &error);
  g_assert_null (none);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "boxes.csv: missing column 'Normal'"));
  g_clear_error (&error);
  none = picard_file_paths_load (path, &error);
  g_assert_null (none);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  none = picard_boxes_load (path, &error);
  g_assert_null (none);
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dataset/views", test_views);
  g_test_add_func ("/dataset/boxes", test_boxes);
  g_test_add_func ("/dataset/boxes-extra-columns", test_boxes_extra_and_reordered_columns);
  g_test_add_func ("/dataset/boxes-errors", test_boxes_errors);
  g_test_add_func ("/dataset/match", test_match);
  g_test_add_func ("/dataset/labels", test_labels);
  g_test_add_func ("/dataset/file-paths", test_file_paths);
  g_test_add_func ("/dataset/file-paths-outside-root", test_file_paths_outside_root);
  g_test_add_func ("/dataset/load", test_load_from_file);
  return g_test_run ();
}
