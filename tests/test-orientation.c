/* FILE, DATASET and ALIGNED spaces: the duke-dbt-data decision, and exact, invertible maps
 * of points, boxes and whole frames. */
#include "picard-error.h"
#include "picard-orientation.h"

#include <string.h>

#define ROWS 40
#define COLUMNS 30
#define LESION 4000
#define TISSUE 1000

/* A lesion box in dataset orientation: columns 20..24, rows 5..8 (inclusive). */
static const int box_x = 20, box_y = 5, box_w = 4, box_h = 3;

/* A slice as the data set shows it: breast against the @laterality side, lesion inside
 * it at the box (mirrored into the breast when the breast is on the left). */
static guint16 *
make_dataset_frame (PicardLaterality laterality, int *lesion_x)
{
  guint16 *frame = g_new0 (guint16, ROWS * COLUMNS);
  int lx = laterality == PICARD_LATERALITY_RIGHT ? box_x : 2;

  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < COLUMNS; c++)
      {
        gboolean in_breast = laterality == PICARD_LATERALITY_RIGHT ? c >= 12 : c < 18;

        if (in_breast)
          frame[r * COLUMNS + c] = TISSUE + (guint16) (r * 7 + c);
        if (r >= box_y && r <= box_y + box_h && c >= lx && c <= lx + box_w)
          frame[r * COLUMNS + c] = LESION;
      }
  *lesion_x = lx;
  return frame;
}

static guint16 *
rotate_180 (const guint16 *in)
{
  guint16 *out = g_new (guint16, ROWS * COLUMNS);

  for (int i = 0; i < ROWS * COLUMNS; i++)
    out[i] = in[ROWS * COLUMNS - 1 - i];
  return out;
}

/* The box covers exactly the lesion: every pixel inside is LESION, none just outside. */
static void
assert_box_on_lesion (const guint16 *frame, int x, int y, int w, int h)
{
  for (int r = y - 1; r <= y + h + 1; r++)
    for (int c = x - 1; c <= x + w + 1; c++)
      {
        gboolean inside = r >= y && r <= y + h && c >= x && c <= x + w;

        if (r < 0 || r >= ROWS || c < 0 || c >= COLUMNS)
          continue;
        if (inside)
          g_assert_cmpuint (frame[r * COLUMNS + c], ==, LESION);
        else
          g_assert_cmpuint (frame[r * COLUMNS + c], !=, LESION);
      }
}

static void
check_case (PicardLaterality laterality, gboolean stored_flipped)
{
  int lesion_x;
  g_autofree guint16 *dataset = make_dataset_frame (laterality, &lesion_x);
  g_autofree guint16 *file = stored_flipped ? rotate_180 (dataset)
                                            : g_memdup2 (dataset, ROWS * COLUMNS * 2);
  g_autofree guint16 *out = g_new (guint16, ROWS * COLUMNS);
  g_autofree guint16 *back = g_new (guint16, ROWS * COLUMNS);
  PicardOrientation o;
  int x, y;

  picard_orientation_decide (&o, file, ROWS, COLUMNS, 0, laterality,
                             PICARD_LATERALITY_SOURCE_VIEW);
  g_assert_cmpint (o.view_laterality, ==, laterality);
  g_assert_cmpint (o.view_laterality_source, ==, PICARD_LATERALITY_SOURCE_VIEW);
  g_assert_cmpint (o.flip, ==, stored_flipped);
  g_assert_cmpint (o.mirror, ==, laterality == PICARD_LATERALITY_RIGHT);
  g_assert_cmpint (o.pixel_laterality, ==,
                   stored_flipped ? (laterality == PICARD_LATERALITY_RIGHT
                                     ? PICARD_LATERALITY_LEFT : PICARD_LATERALITY_RIGHT)
                                  : laterality);

  /* FILE -> DATASET reproduces the data set's slice exactly. */
  picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_DATASET, file, out);
  g_assert_cmpmem (out, ROWS * COLUMNS * 2, dataset, ROWS * COLUMNS * 2);

  /* FILE -> ALIGNED puts the breast on the left, and the box lands on the lesion. */
  picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, file, out);
  g_assert_cmpint (picard_orientation_pixel_laterality (out, ROWS, COLUMNS, NULL, NULL), ==,
                   PICARD_LATERALITY_LEFT);
  x = lesion_x;
  y = box_y;
  picard_orientation_map_box (&o, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED, &x, &y, box_w,
                              box_h);
  assert_box_on_lesion (out, x, y, box_w, box_h);
  if (laterality == PICARD_LATERALITY_RIGHT)
    g_assert_cmpint (x, ==, COLUMNS - 1 - (box_x + box_w));

  /* Back from ALIGNED to FILE: onto the lesion as stored. */
  picard_orientation_map_box (&o, PICARD_SPACE_ALIGNED, PICARD_SPACE_FILE, &x, &y, box_w,
                              box_h);
  assert_box_on_lesion (file, x, y, box_w, box_h);

  /* The inverse frame map restores the file's pixels. */
  picard_orientation_apply_u16 (&o, PICARD_SPACE_ALIGNED, PICARD_SPACE_FILE, out, back);
  g_assert_cmpmem (back, ROWS * COLUMNS * 2, file, ROWS * COLUMNS * 2);
}

static void
test_four_cases (void)
{
  check_case (PICARD_LATERALITY_RIGHT, TRUE);
  check_case (PICARD_LATERALITY_RIGHT, FALSE);
  check_case (PICARD_LATERALITY_LEFT, TRUE);
  check_case (PICARD_LATERALITY_LEFT, FALSE);
}

static void
test_right_breast_stored_rotated (void)
{
  int lesion_x;
  g_autofree guint16 *dataset = make_dataset_frame (PICARD_LATERALITY_RIGHT, &lesion_x);
  g_autofree guint16 *file = rotate_180 (dataset);
  g_autofree guint16 *aligned = g_new (guint16, ROWS * COLUMNS);
  PicardOrientation o;
  int x = box_x, y = box_y;

  picard_orientation_decide (&o, file, ROWS, COLUMNS, 0, PICARD_LATERALITY_RIGHT,
                             PICARD_LATERALITY_SOURCE_VIEW);
  /* Stored rotated, the breast sits on the left of the file: pixel laterality L. */
  g_assert_cmpint (o.pixel_laterality, ==, PICARD_LATERALITY_LEFT);
  g_assert_cmpuint (o.first_column_sum, >, o.last_column_sum);
  g_assert_true (o.flip);
  g_assert_true (o.mirror);
  picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, file, aligned);
  picard_orientation_map_box (&o, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED, &x, &y, box_w,
                              box_h);
  /* Flip then mirror: only the rows are reversed relative to the file. */
  g_assert_cmpint (x, ==, 5);
  g_assert_cmpint (y, ==, 5);
  assert_box_on_lesion (aligned, x, y, box_w, box_h);
  x = box_x;
  y = box_y;
  picard_orientation_map_box (&o, PICARD_SPACE_DATASET, PICARD_SPACE_FILE, &x, &y, box_w,
                              box_h);
  g_assert_cmpint (x, ==, COLUMNS - 1 - (box_x + box_w));
  g_assert_cmpint (y, ==, ROWS - 1 - (box_y + box_h));
  assert_box_on_lesion (file, x, y, box_w, box_h);
}

static const PicardSpace spaces[] = {
  PICARD_SPACE_FILE, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED
};

static void
test_round_trips (void)
{
  for (int flip = 0; flip < 2; flip++)
    for (int mirror = 0; mirror < 2; mirror++)
      {
        PicardOrientation o = { 0 };

        o.rows = ROWS;
        o.columns = COLUMNS;
        o.flip = flip;
        o.mirror = mirror;
        for (guint a = 0; a < G_N_ELEMENTS (spaces); a++)
          for (guint b = 0; b < G_N_ELEMENTS (spaces); b++)
            for (int i = 0; i < 50; i++)
              {
                int x = g_test_rand_int_range (-5, COLUMNS + 5);
                int y = g_test_rand_int_range (-5, ROWS + 5);
                int w = g_test_rand_int_range (1, 20), h = g_test_rand_int_range (1, 20);
                int px = x, py = y, bx = x, by = y;
                double fx = x + 0.25, fy = y - 0.5;

                picard_orientation_map_point (&o, spaces[a], spaces[b], &px, &py);
                picard_orientation_map_point (&o, spaces[b], spaces[a], &px, &py);
                g_assert_cmpint (px, ==, x);
                g_assert_cmpint (py, ==, y);
                picard_orientation_map_box (&o, spaces[a], spaces[b], &bx, &by, w, h);
                picard_orientation_map_box (&o, spaces[b], spaces[a], &bx, &by, w, h);
                g_assert_cmpint (bx, ==, x);
                g_assert_cmpint (by, ==, y);
                picard_orientation_map_point_f (&o, spaces[a], spaces[b], &fx, &fy);
                picard_orientation_map_point_f (&o, spaces[b], spaces[a], &fx, &fy);
                g_assert_cmpfloat (fx, ==, x + 0.25);
                g_assert_cmpfloat (fy, ==, y - 0.5);
              }
        /* Composition: FILE -> DATASET -> ALIGNED equals FILE -> ALIGNED. */
        {
          int x1 = 3, y1 = 7, x2 = 3, y2 = 7;

          picard_orientation_map_point (&o, PICARD_SPACE_FILE, PICARD_SPACE_DATASET, &x1, &y1);
          picard_orientation_map_point (&o, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED, &x1,
                                        &y1);
          picard_orientation_map_point (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, &x2, &y2);
          g_assert_cmpint (x1, ==, x2);
          g_assert_cmpint (y1, ==, y2);
        }
      }
}

/* A box maps like the pixels it covers. */
static void
test_box_follows_pixels (void)
{
  PicardOrientation o = { 0 };
  g_autofree guint8 *mask = g_new0 (guint8, ROWS * COLUMNS);
  g_autofree guint8 *mapped = g_new (guint8, ROWS * COLUMNS);

  o.rows = ROWS;
  o.columns = COLUMNS;
  o.flip = TRUE;
  o.mirror = FALSE;
  for (int r = 10; r <= 10 + 6; r++)
    for (int c = 3; c <= 3 + 9; c++)
      mask[r * COLUMNS + c] = 1;
  for (guint a = 0; a < G_N_ELEMENTS (spaces); a++)
    for (guint b = 0; b < G_N_ELEMENTS (spaces); b++)
      for (int m = 0; m < 2; m++)
        {
          int x = 3, y = 10, count = 0;

          o.mirror = m;
          picard_orientation_apply_u8 (&o, spaces[a], spaces[b], mask, mapped);
          picard_orientation_map_box (&o, spaces[a], spaces[b], &x, &y, 9, 6);
          for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < COLUMNS; c++)
              {
                gboolean inside = r >= y && r <= y + 6 && c >= x && c <= x + 9;

                g_assert_cmpuint (mapped[r * COLUMNS + c], ==, inside ? 1 : 0);
                count += inside;
              }
          g_assert_cmpint (count, ==, 70);
        }
}

static void
check_in_place (guint rows, guint columns)
{
  PicardOrientation o = { 0 };
  gsize n = (gsize) rows * columns;
  g_autofree float *grid = g_new (float, n);
  g_autofree float *expected = g_new (float, n);
  g_autofree guint16 *u16 = g_new (guint16, n);
  g_autofree guint16 *u16_expected = g_new (guint16, n);

  o.rows = rows;
  o.columns = columns;
  for (int flip = 0; flip < 2; flip++)
    for (int mirror = 0; mirror < 2; mirror++)
      {
        gboolean fx, fy;

        o.flip = flip;
        o.mirror = mirror;
        for (gsize i = 0; i < n; i++)
          {
            grid[i] = (float) i * 0.5f;
            u16[i] = (guint16) i;
          }
        picard_orientation_apply_float (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, grid,
                                        expected);
        picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, u16,
                                      u16_expected);
        picard_orientation_get_flips (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, &fx, &fy);
        for (guint r = 0; r < rows; r++)
          for (guint c = 0; c < columns; c++)
            {
              guint sr = fy ? rows - 1 - r : r, sc = fx ? columns - 1 - c : c;

              g_assert_cmpfloat (expected[r * columns + c], ==,
                                 (float) (sr * columns + sc) * 0.5f);
            }
        picard_orientation_apply_float (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, grid,
                                        grid);
        g_assert_cmpmem (grid, n * sizeof (float), expected, n * sizeof (float));
        picard_orientation_apply_u16 (&o, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED, u16, u16);
        g_assert_cmpmem (u16, n * 2, u16_expected, n * 2);
        /* And back, in place. */
        picard_orientation_apply_float (&o, PICARD_SPACE_ALIGNED, PICARD_SPACE_FILE, grid,
                                        grid);
        for (gsize i = 0; i < n; i++)
          g_assert_cmpfloat (grid[i], ==, (float) i * 0.5f);
      }
}

static void
test_in_place (void)
{
  check_in_place (5, 7);
  check_in_place (4, 6);
  check_in_place (1, 1);
  check_in_place (1, 4);
  check_in_place (3, 1);
}

static void
test_pixel_laterality_rule (void)
{
  guint16 frame[2 * 3] = { 5, 0, 4,
                           5, 0, 6 };
  guint64 first, last;

  /* 10 < 10 is false: a tie reads as L, as in duke-dbt-data. */
  g_assert_cmpint (picard_orientation_pixel_laterality (frame, 2, 3, &first, &last), ==,
                   PICARD_LATERALITY_LEFT);
  g_assert_cmpuint (first, ==, 10);
  g_assert_cmpuint (last, ==, 10);
  frame[5] = 7;
  g_assert_cmpint (picard_orientation_pixel_laterality (frame, 2, 3, NULL, NULL), ==,
                   PICARD_LATERALITY_RIGHT);
  /* Sums wider than 16 or 32 bits stay exact. */
  {
    guint rows = 70000;
    g_autofree guint16 *tall = g_new (guint16, rows * 2);

    for (guint r = 0; r < rows; r++)
      {
        tall[r * 2] = 65535;
        tall[r * 2 + 1] = r == 0 ? 65534 : 65535;
      }
    g_assert_cmpint (picard_orientation_pixel_laterality (tall, rows, 2, &first, &last), ==,
                     PICARD_LATERALITY_LEFT);
    g_assert_cmpuint (first, ==, (guint64) 65535 * rows);
    g_assert_cmpuint (last, ==, (guint64) 65535 * rows - 1);
  }
}

static void
test_unknown_view (void)
{
  int lesion_x;
  g_autofree guint16 *dataset = make_dataset_frame (PICARD_LATERALITY_RIGHT, &lesion_x);
  PicardOrientation o;

  picard_orientation_decide (&o, dataset, ROWS, COLUMNS, 3, PICARD_LATERALITY_UNKNOWN,
                             PICARD_LATERALITY_SOURCE_HEADER);
  g_assert_cmpint (o.view_laterality_source, ==, PICARD_LATERALITY_SOURCE_NONE);
  g_assert_cmpuint (o.measured_frame, ==, 3);
  g_assert_false (o.flip);
  g_assert_true (o.mirror);
}

static PicardVolume *
make_volume (PicardLaterality header, const guint16 *frame0, const guint16 *frame1)
{
  PicardVolumeInfo info = { 0 };
  guint16 *frames = g_new (guint16, 2 * ROWS * COLUMNS);

  memcpy (frames, frame0, ROWS * COLUMNS * 2);
  memcpy (frames + ROWS * COLUMNS, frame1, ROWS * COLUMNS * 2);
  info.path = g_strdup ("memory");
  info.header_laterality = header;
  info.frames = 2;
  info.rows = ROWS;
  info.columns = COLUMNS;
  info.bits_stored = 16;
  return picard_volume_new_from_memory (&info, frames);
}

static void
test_compute_on_volume (void)
{
  int lesion_x;
  g_autofree guint16 *right = make_dataset_frame (PICARD_LATERALITY_RIGHT, &lesion_x);
  g_autofree guint16 *rotated = rotate_180 (right);
  /* The header says L (wrong, as in some BCS-DBT files); frame 1 is stored rotated. */
  g_autoptr(PicardVolume) volume = make_volume (PICARD_LATERALITY_LEFT, right, rotated);
  g_autoptr(GError) error = NULL;
  PicardOrientation o;

  g_assert_true (picard_orientation_compute (&o, volume, PICARD_LATERALITY_UNKNOWN, 0, NULL,
                                             &error));
  g_assert_cmpint (o.view_laterality, ==, PICARD_LATERALITY_LEFT);
  g_assert_cmpint (o.view_laterality_source, ==, PICARD_LATERALITY_SOURCE_HEADER);
  g_assert_cmpint (o.pixel_laterality, ==, PICARD_LATERALITY_RIGHT);
  g_assert_true (o.flip);
  g_assert_false (o.mirror);

  /* The view letter overrides the header. */
  g_assert_true (picard_orientation_compute (&o, volume, PICARD_LATERALITY_RIGHT, 0, NULL,
                                             &error));
  g_assert_cmpint (o.view_laterality_source, ==, PICARD_LATERALITY_SOURCE_VIEW);
  g_assert_false (o.flip);
  g_assert_true (o.mirror);

  /* Measured on another frame, as duke-dbt-data does for a given index. */
  g_assert_true (picard_orientation_compute (&o, volume, PICARD_LATERALITY_RIGHT, 1, NULL,
                                             &error));
  g_assert_cmpuint (o.measured_frame, ==, 1);
  g_assert_cmpint (o.pixel_laterality, ==, PICARD_LATERALITY_LEFT);
  g_assert_true (o.flip);

  g_assert_false (picard_orientation_compute (&o, volume, PICARD_LATERALITY_RIGHT, 2, NULL,
                                              &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "frame 2"));
}

static void
test_names (void)
{
  g_assert_cmpstr (picard_laterality_to_string (PICARD_LATERALITY_LEFT), ==, "L");
  g_assert_cmpstr (picard_laterality_to_string (PICARD_LATERALITY_RIGHT), ==, "R");
  g_assert_cmpstr (picard_laterality_to_string (PICARD_LATERALITY_UNKNOWN), ==, "unknown");
  g_assert_cmpstr (picard_laterality_source_to_string (PICARD_LATERALITY_SOURCE_VIEW), ==,
                   "view");
  g_assert_cmpstr (picard_laterality_source_to_string (PICARD_LATERALITY_SOURCE_HEADER), ==,
                   "header");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/orientation/right-breast-stored-rotated",
                   test_right_breast_stored_rotated);
  g_test_add_func ("/orientation/four-cases", test_four_cases);
  g_test_add_func ("/orientation/round-trips", test_round_trips);
  g_test_add_func ("/orientation/box-follows-pixels", test_box_follows_pixels);
  g_test_add_func ("/orientation/in-place", test_in_place);
  g_test_add_func ("/orientation/pixel-laterality-rule", test_pixel_laterality_rule);
  g_test_add_func ("/orientation/unknown-view", test_unknown_view);
  g_test_add_func ("/orientation/compute-on-volume", test_compute_on_volume);
  g_test_add_func ("/orientation/names", test_names);
  return g_test_run ();
}
