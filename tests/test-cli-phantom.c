/* picard-cli phantom, run as a user would: DICOM volumes that hold exactly the generated
 * values, and BCS-DBT tables that describe them. */
#include "picard-csv.h"
#include "picard-error.h"
#include "picard-phantom.h"
#include "picard-volume.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <string.h>

#define ROWS 160u
#define COLUMNS 128u
#define FRAMES 4u

typedef PicardTestDir Fixture;

/* The tables picard-cli phantom writes, with the header line each must start with. */
typedef enum { TABLE_PATHS, TABLE_LABELS, TABLE_BOXES } Table;

static const struct {
  const char *name;
  const char *header;
} tables[] = {
  [TABLE_PATHS] = { "BCS-DBT-file-paths.csv",
                    "PatientID,StudyUID,View,descriptive_path,classic_path" },
  [TABLE_LABELS] = { "BCS-DBT-labels.csv",
                     "PatientID,StudyUID,View,Normal,Actionable,Benign,Cancer" },
  [TABLE_BOXES] = { "BCS-DBT-boxes.csv",
                    "PatientID,StudyUID,View,Subject,Slice,X,Y,Width,Height,Class,AD,"
                    "VolumeSlices" },
};

static PicardCsv *
load_table (const Fixture *fx, Table table)
{
  const char *name = tables[table].name;
  const char *header = tables[table].header;
  g_autofree char *path = g_build_filename (fx->dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  PicardCsv *csv;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, header));
  g_assert_cmpint (text[strlen (header)], ==, '\n');
  csv = picard_csv_load (path, &error);
  g_assert_no_error (error);
  return csv;
}

static const char *
cell (const PicardCsv *csv, guint row, const char *column)
{
  int c = picard_csv_find_column (csv, column);

  g_assert_cmpint (c, >=, 0);
  return picard_csv_get (csv, row, (guint) c);
}

static void
assert_cell_uint (const PicardCsv *csv, guint row, const char *column, guint expected)
{
  g_autofree char *text = g_strdup_printf ("%u", expected);

  g_assert_cmpstr (cell (csv, row, column), ==, text);
}

/* The file at @relative holds exactly @ph's stored values and metadata. */
static void
assert_volume_matches (const Fixture *fx, const char *relative, const PicardPhantom *ph)
{
  g_autofree char *path = g_build_filename (fx->dir, relative, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = picard_volume_open (path, &error);
  const PicardVolumeInfo *info;
  gsize plane = (gsize) ph->rows * ph->columns;

  g_assert_no_error (error);
  info = picard_volume_get_info (volume);
  g_assert_cmpuint (info->rows, ==, ph->rows);
  g_assert_cmpuint (info->columns, ==, ph->columns);
  g_assert_cmpuint (info->frames, ==, ph->frames);
  g_assert_cmpuint (info->bits_stored, ==, 10);
  g_assert_cmpstr (info->patient_id, ==, ph->patient_id);
  g_assert_cmpstr (info->study_instance_uid, ==, ph->study_instance_uid);
  g_assert_cmpstr (info->sop_instance_uid, ==, ph->sop_instance_uid);
  g_assert_cmpstr (info->view, ==, ph->view);
  g_assert_cmpint (info->header_laterality, ==, ph->header_laterality);
  g_assert_true (info->has_window);
  g_assert_cmpfloat_with_epsilon (info->window_center, ph->window_center, 0.01);
  g_assert_cmpfloat_with_epsilon (info->window_width, ph->window_width, 0.01);
  for (guint f = 0; f < ph->frames; f++)
    {
      g_autoptr(GBytes) frame = picard_volume_get_frame (volume, f, NULL, &error);
      gsize size;
      const guint16 *values;

      g_assert_no_error (error);
      values = g_bytes_get_data (frame, &size);
      g_assert_cmpuint (size, ==, plane * sizeof (guint16));
      g_assert_true (memcmp (values, ph->voxels + f * plane, size) == 0);
    }
}

static PicardPhantom *
generate (guint64 seed, PicardLaterality laterality, const char *view, guint masses,
          guint calcs, gboolean rotated, gboolean wrong)
{
  PicardPhantomParams params;
  g_autoptr(GError) error = NULL;
  PicardPhantom *ph;

  picard_phantom_params_init (&params);
  params.seed = seed;
  params.rows = ROWS;
  params.columns = COLUMNS;
  params.frames = FRAMES;
  params.laterality = laterality;
  params.view = view;
  params.n_masses = masses;
  params.n_calcification_clusters = calcs;
  params.stored_rotated = rotated;
  params.wrong_header_laterality = wrong;
  ph = picard_phantom_generate (&params, &error);
  g_assert_no_error (error);
  return ph;
}

static void
test_set_with_lesions (Fixture *fx, gconstpointer data)
{
  const char *syntax = data;
  g_autofree char *err = NULL;
  g_autoptr(PicardCsv) paths = NULL;
  g_autoptr(PicardCsv) labels = NULL;
  g_autoptr(PicardCsv) boxes = NULL;
  guint box_row = 0;

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "-o", fx->dir, "--seed", "9",
                                        "--count", "2", "--rows", "160", "--columns", "128",
                                        "--frames", "4", "--laterality", "L", "--view", "CC",
                                        "--masses", "1", "--calcifications", "1", "--syntax",
                                        syntax, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");

  paths = load_table (fx, TABLE_PATHS);
  labels = load_table (fx, TABLE_LABELS);
  boxes = load_table (fx, TABLE_BOXES);
  g_assert_cmpuint (picard_csv_get_n_rows (paths), ==, 2);
  g_assert_cmpuint (picard_csv_get_n_rows (labels), ==, 2);
  g_assert_cmpuint (picard_csv_get_n_rows (boxes), ==, 4);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(PicardPhantom) ph = generate (9 + i, PICARD_LATERALITY_LEFT, "CC", 1, 1,
                                              FALSE, FALSE);
      gboolean cancer = FALSE, benign = FALSE;

      g_assert_cmpstr (cell (paths, i, "PatientID"), ==, ph->patient_id);
      g_assert_cmpstr (cell (paths, i, "StudyUID"), ==, ph->study_instance_uid);
      g_assert_cmpstr (cell (paths, i, "View"), ==, "lcc");
      g_assert_cmpstr (cell (paths, i, "classic_path"), ==, cell (paths, i, "descriptive_path"));
      assert_volume_matches (fx, cell (paths, i, "descriptive_path"), ph);

      for (guint k = 0; k < ph->n_lesions; k++, box_row++)
        {
          const PicardPhantomLesion *l = &ph->lesions[k];

          g_assert_cmpstr (cell (boxes, box_row, "PatientID"), ==, ph->patient_id);
          g_assert_cmpstr (cell (boxes, box_row, "StudyUID"), ==, ph->study_instance_uid);
          g_assert_cmpstr (cell (boxes, box_row, "View"), ==, "lcc");
          assert_cell_uint (boxes, box_row, "Subject", k + 1);
          assert_cell_uint (boxes, box_row, "Slice", l->slice);
          assert_cell_uint (boxes, box_row, "X", l->x);
          assert_cell_uint (boxes, box_row, "Y", l->y);
          assert_cell_uint (boxes, box_row, "Width", l->width);
          assert_cell_uint (boxes, box_row, "Height", l->height);
          assert_cell_uint (boxes, box_row, "VolumeSlices", FRAMES);
          g_assert_cmpstr (cell (boxes, box_row, "Class"), ==,
                           picard_phantom_class_name (l->klass));
          g_assert_cmpstr (cell (boxes, box_row, "AD"), ==, "0");
          cancer |= l->klass == PICARD_PHANTOM_CLASS_CANCER;
          benign |= l->klass == PICARD_PHANTOM_CLASS_BENIGN;
        }
      g_assert_cmpstr (cell (labels, i, "PatientID"), ==, ph->patient_id);
      g_assert_cmpstr (cell (labels, i, "View"), ==, "lcc");
      g_assert_cmpstr (cell (labels, i, "Normal"), ==, "0");
      g_assert_cmpstr (cell (labels, i, "Actionable"), ==, "0");
      g_assert_cmpstr (cell (labels, i, "Cancer"), ==, cancer ? "1" : "0");
      g_assert_cmpstr (cell (labels, i, "Benign"), ==, (benign && !cancer) ? "1" : "0");
    }
}

/* The orientation traps of real BCS-DBT files: pixels stored rotated, header naming the
 * wrong breast. The tables still tell the truth. */
static void
test_normal_rotated_wrong_header (Fixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL;
  g_autoptr(PicardCsv) paths = NULL;
  g_autoptr(PicardCsv) labels = NULL;
  g_autoptr(PicardCsv) boxes = NULL;
  g_autoptr(PicardPhantom) ph = generate (77, PICARD_LATERALITY_RIGHT, "MLO", 0, 0, TRUE, TRUE);

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "-o", fx->dir, "--seed", "77",
                                        "--rows", "160", "--columns", "128", "--frames", "4",
                                        "--laterality", "R", "--view", "MLO", "--normal",
                                        "--stored-rotated", "--wrong-header-laterality",
                                        NULL), ==, 0);
  paths = load_table (fx, TABLE_PATHS);
  labels = load_table (fx, TABLE_LABELS);
  boxes = load_table (fx, TABLE_BOXES);
  g_assert_cmpuint (picard_csv_get_n_rows (paths), ==, 1);
  g_assert_cmpuint (picard_csv_get_n_rows (boxes), ==, 0);
  g_assert_cmpstr (cell (paths, 0, "View"), ==, "rmlo");
  g_assert_cmpstr (cell (paths, 0, "descriptive_path"), ==, "Phantom-77/rmlo.dcm");
  g_assert_cmpstr (cell (labels, 0, "Normal"), ==, "1");
  g_assert_cmpstr (cell (labels, 0, "Benign"), ==, "0");
  g_assert_cmpstr (cell (labels, 0, "Cancer"), ==, "0");
  g_assert_cmpint (ph->header_laterality, ==, PICARD_LATERALITY_LEFT);
  assert_volume_matches (fx, "Phantom-77/rmlo.dcm", ph);
}

static void
test_random_choices (Fixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL;
  g_autoptr(PicardCsv) paths = NULL;

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "-o", fx->dir, "--seed", "3",
                                        "--count", "3", "--rows", "96", "--columns", "80",
                                        "--frames", "2", "--laterality", "random", "--view",
                                        "random", NULL), ==, 0);
  paths = load_table (fx, TABLE_PATHS);
  g_assert_cmpuint (picard_csv_get_n_rows (paths), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      PicardPhantomParams params;
      g_autoptr(PicardPhantom) ph = NULL;
      g_autofree char *file = NULL;

      picard_phantom_params_init (&params);
      params.seed = 3 + i;
      params.rows = 96;
      params.columns = 80;
      params.frames = 2;
      params.n_masses = 1;
      ph = picard_phantom_generate (&params, NULL);
      g_assert_cmpstr (cell (paths, i, "View"), ==, picard_phantom_view_code (ph));
      file = g_build_filename (fx->dir, cell (paths, i, "descriptive_path"), NULL);
      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
    }
}

static void
test_bad_options (Fixture *fx, gconstpointer data)
{
  struct {
    const char *args[4];
    const char *message;
  } cases[] = {
    { { "--seed", "1", NULL }, "-o OUTDIR" },
    { { "-o", NULL, "--view", "XCCL" }, "XCCL" },
    { { "-o", NULL, "--laterality", "B" }, "'B'" },
    { { "-o", NULL, "--syntax", "mpeg" }, "mpeg" },
    { { "-o", NULL, "--count", "0" }, "--count" },
    { { "-o", NULL, "--rows", "5" }, "rows" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *err = NULL;
      const char *a[4];

      memcpy (a, cases[i].args, sizeof a);
      if (g_strcmp0 (a[0], "-o") == 0)
        a[1] = fx->dir;
      g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", a[0], a[1], a[2], a[3],
                                            NULL), ==, 1);
      g_assert_true (g_str_has_prefix (err, "picard-cli phantom: "));
      g_assert_nonnull (strstr (err, cases[i].message));
    }
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "-o", fx->dir, "--normal",
                                          "--masses", "2", NULL), ==, 1);
    g_assert_nonnull (strstr (err, "--normal"));
  }
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (picard_test_run_cli (NULL, &err, "phantom", "--help", NULL), ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cli-phantom/explicit", Fixture, "explicit", picard_test_dir_set_up,
              test_set_with_lesions, picard_test_dir_tear_down);
  g_test_add ("/cli-phantom/rle", Fixture, "rle", picard_test_dir_set_up, test_set_with_lesions,
              picard_test_dir_tear_down);
  g_test_add ("/cli-phantom/j2k-lossless", Fixture, "j2k-lossless", picard_test_dir_set_up,
              test_set_with_lesions, picard_test_dir_tear_down);
  g_test_add ("/cli-phantom/normal-rotated-wrong-header", Fixture, NULL, picard_test_dir_set_up,
              test_normal_rotated_wrong_header, picard_test_dir_tear_down);
  g_test_add ("/cli-phantom/random", Fixture, NULL, picard_test_dir_set_up, test_random_choices,
              picard_test_dir_tear_down);
  g_test_add ("/cli-phantom/bad-options", Fixture, NULL, picard_test_dir_set_up, test_bad_options,
              picard_test_dir_tear_down);
  return g_test_run ();
}
