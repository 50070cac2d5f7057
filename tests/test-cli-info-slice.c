/* picard-cli info and slice, run as a user would, on a PNG folder. */
#include "picard-dataset.h"
#include "picard-dicom.h"
#include "picard-error.h"
#include "picard-orientation.h"
#include "picard-png.h"
#include "picard-window-level.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <string.h>

#define W 24
#define H 16
#define FRAMES 3

typedef struct {
  char *dir;    /* temporary */
  char *volume; /* the PNG folder */
  guint16 frames[FRAMES][W * H];
} Fixture;

/* Breast against the right edge (pixel laterality R), values that differ everywhere. */
static guint16
pixel (guint f, guint r, guint c)
{
  return c >= W / 3 ? (guint16) (1000 + f * 500 + r * 40 + c * 3) : (guint16) (c == 0 ? 0 : 5);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("picard-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fx->volume = g_build_filename (fx->dir, "volume", NULL);
  g_assert_cmpint (g_mkdir (fx->volume, 0755), ==, 0);
  for (guint f = 0; f < FRAMES; f++)
    {
      g_autofree char *name = g_strdup_printf ("slice%u.png", f + 1);
      g_autofree char *path = g_build_filename (fx->volume, name, NULL);

      for (guint r = 0; r < H; r++)
        for (guint c = 0; c < W; c++)
          fx->frames[f][r * W + c] = pixel (f, r, c);
      g_assert_true (picard_png_write_gray (path, fx->frames[f], W, H, 16, &error));
    }
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  picard_test_remove_tree (fx->dir);
  g_free (fx->dir);
  g_free (fx->volume);
}

static void
test_info (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (picard_test_run_cli (&out, &err, "info", fx->volume, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Format:            PNG folder"));
  g_assert_nonnull (strstr (out, "Dimensions:        24 x 16 pixels (columns x rows), 3 frames"));
  g_assert_nonnull (strstr (out, "Bits:              16 stored"));
  g_assert_nonnull (strstr (out, "Transfer syntax:   PNG (lossless)\n"));
  g_assert_nonnull (strstr (out, "Window:            none in the file; automatic"));
  g_assert_nonnull (strstr (out, "View laterality:   unknown"));
  g_assert_nonnull (strstr (out, "Pixel laterality:  R (first column sum 0, last column sum"));
  g_assert_nonnull (strstr (out, "Flip 180 degrees:  no"));
  g_assert_nonnull (strstr (out, "Left-align mirror: yes"));

  /* A left view on a breast that sits on the right: rotate, then no mirror. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (&out, &err, "info", fx->volume, "--view", "LMLO", "--frame",
                                        "2", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "measured on frame 2"));
  g_assert_nonnull (strstr (out, "View laterality:   L (from --view LMLO)"));
  g_assert_nonnull (strstr (out, "Flip 180 degrees:  yes"));
  g_assert_nonnull (strstr (out, "Left-align mirror: no"));
  g_assert_nonnull (strstr (out, "View:              lmlo (from --view"));
}

static void
expected_slice (const Fixture *fx, guint frame, gboolean view_left, gboolean align,
                const PicardWindowLevel *wl, guint bits, guint16 *expected)
{
  guint16 oriented[W * H];
  guint8 u8[W * H];

  for (guint r = 0; r < H; r++)
    for (guint c = 0; c < W; c++)
      {
        guint sr = r, sc = c;

        if (view_left)
          {
            /* Pixel laterality R disagrees with L: 180 degrees; no mirror for a left breast. */
            sr = H - 1 - r;
            sc = W - 1 - c;
          }
        else if (align)
          sc = W - 1 - c; /* unknown view, breast on the right: mirror */
        oriented[r * W + c] = fx->frames[frame][sr * W + sc];
      }
  if (bits == 8)
    {
      picard_window_level_apply_u8 (wl, oriented, u8, W * H);
      for (guint i = 0; i < W * H; i++)
        expected[i] = u8[i];
    }
  else
    picard_window_level_apply_u16 (wl, oriented, expected, W * H);
}

static void
check_png (const char *path, guint bits, const guint16 *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint16 *read = NULL;
  PicardPngInfo info;

  read = picard_png_read (path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.width, ==, W);
  g_assert_cmpuint (info.height, ==, H);
  g_assert_cmpuint (info.bit_depth, ==, bits);
  g_assert_cmpmem (read, W * H * 2, expected, W * H * 2);
}

static void
test_slice_window (Fixture *fx, gconstpointer data)
{
  g_autofree char *png = g_build_filename (fx->dir, "out.png", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  PicardWindowLevel wl = { 1800, 1200, FALSE };
  guint16 expected[W * H];
  guint distinct = 0;

  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", fx->volume, "--index", "1", "-o", png,
                                        "--window", "1800,1200", NULL), ==, 0);
  expected_slice (fx, 1, FALSE, TRUE, &wl, 8, expected);
  check_png (png, 8, expected);
  /* The window spreads the values: the check above compares more than black and white. */
  for (guint i = 1; i < W * H; i++)
    distinct += expected[i] != expected[i - 1] && expected[i] != 0 && expected[i] != 255;
  g_assert_cmpuint (distinct, >, 50);
  g_assert_nonnull (strstr (out, "aligned"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", fx->volume, "--index", "2", "-o", png,
                                        "--window", "1800,1200", "--bits", "16", "--view", "lcc",
                                        NULL), ==, 0);
  expected_slice (fx, 2, TRUE, TRUE, &wl, 16, expected);
  check_png (png, 16, expected);

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", fx->volume, "--index", "0", "-o", png,
                                        "--window", "1800,1200", "--no-align", NULL), ==, 0);
  expected_slice (fx, 0, FALSE, FALSE, &wl, 8, expected);
  check_png (png, 8, expected);
}

static void
test_slice_auto_window (Fixture *fx, gconstpointer data)
{
  g_autofree char *png = g_build_filename (fx->dir, "auto.png", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  PicardWindowLevel wl;
  guint16 expected[W * H];
  GDir *dir;
  guint entries = 0;

  /* A PNG folder has no window: the default is the automatic one. */
  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", fx->volume, "--index", "1", "-o", png,
                                        NULL), ==, 0);
  wl = picard_window_level_auto (fx->frames[1], W * H, 16, 0.5, 99.5);
  expected_slice (fx, 1, FALSE, TRUE, &wl, 8, expected);
  check_png (png, 8, expected);
  g_assert_nonnull (strstr (out, "automatic"));

  /* Written atomically: only the volume folder and the PNG are there. */
  dir = g_dir_open (fx->dir, 0, NULL);
  while (g_dir_read_name (dir) != NULL)
    entries++;
  g_dir_close (dir);
  g_assert_cmpuint (entries, ==, 2);
}

static void
expect_failure (Fixture *fx, const char *message, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list args;

  va_start (args, message);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_str_equal (arg, "@VOLUME") ? fx->volume : (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (picard_test_run_cliv (&out, &err, (const char *const *) argv->pdata), ==, 1);
  if (strstr (err, message) == NULL)
    g_error ("expected '%s' on stderr, got '%s'", message, err);
  g_assert_cmpstr (out, ==, "");
}

static void
test_bad_arguments (Fixture *fx, gconstpointer data)
{
  g_autofree char *png = g_build_filename (fx->dir, "x.png", NULL);
  g_autofree char *missing = g_build_filename (fx->dir, "nothing-here", NULL);

  expect_failure (fx, "picard-cli info: give one FILE or DIR", "info", NULL);
  expect_failure (fx, "picard-cli info: unknown view 'top'", "info", "@VOLUME", "--view",
                  "top", NULL);
  expect_failure (fx, "--frame 7 is outside 0..2", "info", "@VOLUME", "--frame", "7", NULL);
  expect_failure (fx, "picard-cli info:", "info", "@VOLUME", "--bogus", NULL);
  expect_failure (fx, "nothing-here", "info", missing, NULL);
  expect_failure (fx, "give the frame with --index", "slice", "@VOLUME", "-o", png, NULL);
  expect_failure (fx, "give the PNG to write with -o", "slice", "@VOLUME", "--index", "0",
                  NULL);
  expect_failure (fx, "--bits must be 8 or 16, not 12", "slice", "@VOLUME", "--index", "0",
                  "-o", png, "--bits", "12", NULL);
  expect_failure (fx, "--index 3 is outside 0..2", "slice", "@VOLUME", "--index", "3", "-o",
                  png, NULL);
  expect_failure (fx, "'1400' is not a window", "slice", "@VOLUME", "--index", "0", "-o", png,
                  "--window", "1400", NULL);
  expect_failure (fx, "either --window or --auto-window", "slice", "@VOLUME", "--index", "0",
                  "-o", png, "--window", "1,2", "--auto-window", NULL);
  expect_failure (fx, "unknown view 'left'", "slice", "@VOLUME", "--index", "0", "-o", png,
                  "--view", "left", NULL);
  expect_failure (fx, "give only one FILE or DIR", "slice", "@VOLUME", "@VOLUME", "--index",
                  "0", "-o", png, NULL);
  expect_failure (fx, "/nonexistent-dir/x.png", "slice", "@VOLUME", "--index", "0", "-o",
                  "/nonexistent-dir/x.png", NULL);
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
}

/* A right MLO DICOM whose pixels are stored rotated (breast on the left of the file), with
 * a window in the header: info reports it all, slice uses that window and undoes the
 * rotation (flip 180, then mirror: rows reversed). */
static void
test_dicom (Fixture *fx, gconstpointer data)
{
  g_autofree char *dcm = g_build_filename (fx->dir, "volume.dcm", NULL);
  g_autofree char *png = g_build_filename (fx->dir, "dicom.png", NULL);
  g_autofree guint16 *stored = g_new (guint16, FRAMES * W * H);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  PicardDicomWriteParams params = { 0 };
  PicardWindowLevel wl = { 600, 500, FALSE };
  guint16 oriented[W * H];
  guint8 expected8[W * H];
  guint16 expected[W * H];

  /* 10-bit values, rotated 180 degrees relative to the fixture's right-breast frames. */
  for (guint f = 0; f < FRAMES; f++)
    for (guint i = 0; i < W * H; i++)
      stored[f * W * H + i] = fx->frames[f][W * H - 1 - i] % 1024;
  params.patient_id = "DBT-P00042";
  params.view = "MLO";
  params.laterality = PICARD_LATERALITY_RIGHT;
  params.bits_stored = 10;
  params.window_center = 600;
  params.window_width = 500;
  params.frames = FRAMES;
  params.rows = H;
  params.columns = W;
  g_assert_true (picard_dicom_write (dcm, &params, stored, PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE,
                                     &error));
  g_assert_no_error (error);

  g_assert_cmpint (picard_test_run_cli (&out, &err, "info", dcm, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Format:            DICOM"));
  g_assert_nonnull (strstr (out, "Dimensions:        24 x 16 pixels (columns x rows), 3 frames"));
  g_assert_nonnull (strstr (out, "Transfer syntax:   "));
  g_assert_nonnull (strstr (out, "1.2.840.10008.1.2.1"));
  g_assert_nonnull (strstr (out, "Bits:              10 stored, 16 allocated"));
  g_assert_nonnull (strstr (out, "Window:            center 600, width 500 (from the file"));
  g_assert_nonnull (strstr (out, "Header laterality: R"));
  g_assert_nonnull (strstr (out, "Patient ID:        DBT-P00042"));
  g_assert_nonnull (strstr (out, "SOP class UID:     " PICARD_SOP_CLASS_BREAST_TOMOSYNTHESIS));
  g_assert_nonnull (strstr (out, "View laterality:   R (from the header"));
  g_assert_nonnull (strstr (out, "Pixel laterality:  L"));
  g_assert_nonnull (strstr (out, "Flip 180 degrees:  yes"));
  g_assert_nonnull (strstr (out, "Left-align mirror: yes"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", dcm, "--index", "1", "-o", png,
                                        NULL), ==, 0);
  g_assert_nonnull (strstr (out, "window 600,500 (file)"));
  for (guint r = 0; r < H; r++)
    for (guint c = 0; c < W; c++)
      oriented[r * W + c] = stored[W * H + (H - 1 - r) * W + c];
  picard_window_level_apply_u8 (&wl, oriented, expected8, W * H);
  for (guint i = 0; i < W * H; i++)
    expected[i] = expected8[i];
  check_png (png, 8, expected);
}

/* Mean inside a box (inclusive bounds) and in a band 8 pixels wide around it. */
static double
box_contrast (const guint16 *frame, int rows, int columns, int x, int y, int w, int h)
{
  double inside = 0, ring = 0;
  guint n_inside = 0, n_ring = 0;

  for (int r = MAX (0, y - 8); r <= MIN (rows - 1, y + h + 8); r++)
    for (int c = MAX (0, x - 8); c <= MIN (columns - 1, x + w + 8); c++)
      {
        if (r >= y && r <= y + h && c >= x && c <= x + w)
          {
            inside += frame[r * columns + c];
            n_inside++;
          }
        else
          {
            ring += frame[r * columns + c];
            n_ring++;
          }
      }
  g_assert_cmpuint (n_inside, >, 0);
  g_assert_cmpuint (n_ring, >, 0);
  return (inside / n_inside) / MAX (ring / n_ring, 1.0);
}

/* The whole path a user takes: the phantom's BCS-DBT tables (boxes, file paths), files
 * stored rotated with a wrong header laterality, orientation from the CSV's view letters:
 * every box lands on its (bright) lesion in aligned space, and not when mirrored. */
static void
test_phantom_boxes (Fixture *fx, gconstpointer data)
{
  g_autofree char *root = g_build_filename (fx->dir, "phantom", NULL);
  g_autofree char *boxes_csv = g_build_filename (root, "BCS-DBT-boxes.csv", NULL);
  g_autofree char *paths_csv = g_build_filename (root, "BCS-DBT-file-paths.csv", NULL);
  g_autofree char *png = g_build_filename (fx->dir, "lesion.png", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GArray) boxes = NULL;
  g_autoptr(GArray) paths = NULL;
  g_autoptr(GError) error = NULL;
  gboolean saw_left = FALSE, saw_right = FALSE;

  g_assert_cmpint (picard_test_run_cli (&out, &err, "phantom", "-o", root, "--rows", "256",
                                        "--columns", "200", "--frames", "8", "--count", "4",
                                        "--seed", "7", "--stored-rotated",
                                        "--wrong-header-laterality", NULL), ==, 0);
  boxes = picard_boxes_load (boxes_csv, &error);
  g_assert_no_error (error);
  paths = picard_file_paths_load (paths_csv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, >=, 4);

  for (guint i = 0; i < boxes->len; i++)
    {
      const PicardBox *box = &g_array_index (boxes, PicardBox, i);
      const PicardFilePath *row = picard_file_paths_find (paths, box->patient_id,
                                                          box->study_uid, box->view);
      g_autofree char *file = NULL;
      g_autoptr(PicardVolume) volume = NULL;
      g_autoptr(GBytes) frame = NULL;
      g_autofree guint16 *aligned = NULL;
      const PicardVolumeInfo *info;
      PicardOrientation o;
      int x = box->x, y = box->y, mx;
      double hit, miss;

      g_assert_nonnull (row);
      file = picard_file_path_resolve (row, root, FALSE, &error);
      g_assert_no_error (error);
      g_assert_true (picard_file_paths_find_file (paths, root, file) == row);
      volume = picard_volume_open (file, &error);
      g_assert_no_error (error);
      info = picard_volume_get_info (volume);
      /* The header laterality is wrong on purpose; the view letter wins. */
      g_assert_cmpint (info->header_laterality, !=, picard_view_get_laterality (box->view));
      g_assert_true (picard_orientation_compute (&o, volume,
                                                 picard_view_get_laterality (box->view), 0,
                                                 NULL, &error));
      g_assert_true (o.flip);
      g_assert_cmpint (o.mirror, ==,
                       picard_view_get_laterality (box->view) == PICARD_LATERALITY_RIGHT);
      saw_left |= !o.mirror;
      saw_right |= o.mirror;

      frame = picard_volume_get_frame (volume, (guint) box->slice, NULL, &error);
      g_assert_no_error (error);
      aligned = g_new (guint16, (gsize) info->rows * info->columns);
      picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED,
                                    g_bytes_get_data (frame, NULL), aligned);
      picard_orientation_map_box (&o, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED, &x, &y,
                                  box->width, box->height);
      hit = box_contrast (aligned, info->rows, info->columns, x, y, box->width, box->height);
      mx = (int) info->columns - 1 - (x + box->width);
      miss = box_contrast (aligned, info->rows, info->columns, mx, y, box->width,
                           box->height);
      g_test_message ("box %u: contrast %.3f on the lesion, %.3f mirrored", i, hit, miss);
      if (hit < 1.15 || hit <= miss)
        g_error ("box %u (line %u) misses its lesion: contrast %.3f, mirrored %.3f", i,
                 box->line, hit, miss);

      /* The CLI writes the same aligned slice. */
      if (i == 0)
        {
          g_autofree guint16 *read = NULL;
          PicardPngInfo png_info;
          g_autofree char *index = g_strdup_printf ("%d", box->slice);

          g_clear_pointer (&out, g_free);
          g_clear_pointer (&err, g_free);
          g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", file, "--view",
                                                picard_view_to_string (box->view), "--index", index,
                                                "--bits", "16", "--window", "32768,65536", "-o",
                                                png, NULL), ==, 0);
          read = picard_png_read (png, &png_info, &error);
          g_assert_no_error (error);
          g_assert_cmpfloat (box_contrast (read, png_info.height, png_info.width, x, y,
                                           box->width, box->height), >, 1.1);
        }
    }
  g_assert_true (saw_left && saw_right);
}

static void
test_help (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (picard_test_run_cli (&out, &err, "slice", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--auto-window"));
  g_assert_nonnull (strstr (out, "--no-align"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (&out, &err, "info", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--view"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cli/info", Fixture, NULL, fixture_set_up, test_info, fixture_tear_down);
  g_test_add ("/cli/slice-window", Fixture, NULL, fixture_set_up, test_slice_window,
              fixture_tear_down);
  g_test_add ("/cli/slice-auto-window", Fixture, NULL, fixture_set_up, test_slice_auto_window,
              fixture_tear_down);
  g_test_add ("/cli/bad-arguments", Fixture, NULL, fixture_set_up, test_bad_arguments,
              fixture_tear_down);
  g_test_add ("/cli/dicom", Fixture, NULL, fixture_set_up, test_dicom, fixture_tear_down);
  g_test_add ("/cli/phantom-boxes", Fixture, NULL, fixture_set_up, test_phantom_boxes,
              fixture_tear_down);
  g_test_add ("/cli/help", Fixture, NULL, fixture_set_up, test_help, fixture_tear_down);
  return g_test_run ();
}
