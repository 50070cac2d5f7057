/* PNG files and PNG-folder volumes: round trips, atomic writes, refusals, natural order,
 * lazy decoding. */
#include "picard-error.h"
#include "picard-png-folder.h"
#include "picard-png.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <png.h>
#include <string.h>

static char *
make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("picard-png-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static guint
count_entries (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* A PNG of any colour type and depth through libpng directly, to test what we refuse. */
static void
write_raw_png (const char *path, guint width, guint height, int color_type, int bit_depth,
               const guint8 *rows_data, gsize row_bytes)
{
  FILE *fp = g_fopen (path, "wb");
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);

  g_assert_nonnull (fp);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng failed writing %s", path);
  png_init_io (png, fp);
  png_set_IHDR (png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE)
    {
      png_color palette[2] = { { 0, 0, 0 }, { 255, 255, 255 } };

      png_set_PLTE (png, info, palette, 2);
    }
  png_write_info (png, info);
  for (guint r = 0; r < height; r++)
    png_write_row (png, rows_data + r * row_bytes);
  png_write_end (png, NULL);
  png_destroy_write_struct (&png, &info);
  fclose (fp);
}

static void
test_round_trip_8_and_16 (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "slice.png", NULL);
  guint8 pixels8[5 * 3];
  guint16 pixels16[5 * 3];
  g_autoptr(GError) error = NULL;
  PicardPngInfo info;

  for (guint i = 0; i < 15; i++)
    {
      pixels8[i] = (guint8) (i * 17);
      pixels16[i] = (guint16) (i * 4369 + (i & 1)); /* both bytes matter */
    }
  g_assert_true (picard_png_write_gray (path, pixels8, 5, 3, 8, &error));
  g_assert_no_error (error);
  {
    g_autofree guint16 *read = picard_png_read (path, &info, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (info.width, ==, 5);
    g_assert_cmpuint (info.height, ==, 3);
    g_assert_cmpuint (info.bit_depth, ==, 8);
    for (guint i = 0; i < 15; i++)
      g_assert_cmpuint (read[i], ==, pixels8[i]);
  }
  /* Overwriting is atomic too, and leaves only the file. */
  g_assert_true (picard_png_write_gray (path, pixels16, 5, 3, 16, &error));
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_assert_true (picard_png_read_info (path, &info, &error));
  g_assert_cmpuint (info.bit_depth, ==, 16);
  {
    g_autofree guint16 *read = picard_png_read (path, &info, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (read, sizeof pixels16, pixels16, sizeof pixels16);
  }
  picard_test_remove_tree (dir);
}

static void
test_write_errors (void)
{
  guint8 pixel = 0;
  g_autoptr(GError) error = NULL;

  g_assert_false (picard_png_write_gray ("/nonexistent-dir/out.png", &pixel, 1, 1, 8, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/out.png"));
}

static void
test_refusals (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *rgb = g_build_filename (dir, "rgb.png", NULL);
  g_autofree char *palette = g_build_filename (dir, "palette.png", NULL);
  g_autofree char *alpha = g_build_filename (dir, "alpha.png", NULL);
  g_autofree char *text = g_build_filename (dir, "text.png", NULL);
  g_autofree char *truncated = g_build_filename (dir, "truncated.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.png", NULL);
  g_autofree char *good = g_build_filename (dir, "good.png", NULL);
  guint8 data[4 * 4 * 4] = { 0 };
  guint16 big[64 * 64];
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;
  PicardPngInfo info;

  write_raw_png (rgb, 4, 4, PNG_COLOR_TYPE_RGB, 8, data, 12);
  g_assert_null (picard_png_read (rgb, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "rgb.png: an RGB PNG"));
  g_clear_error (&error);

  write_raw_png (palette, 4, 4, PNG_COLOR_TYPE_PALETTE, 8, data, 4);
  g_assert_false (picard_png_read_info (palette, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "palette"));
  g_clear_error (&error);

  write_raw_png (alpha, 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8, data, 8);
  g_assert_null (picard_png_read (alpha, &info, &error));
  g_assert_nonnull (strstr (error->message, "grey with alpha"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (text, "not a png at all", -1, NULL));
  g_assert_null (picard_png_read (text, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "not a PNG file"));
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (big); i++)
    big[i] = (guint16) g_test_rand_int ();
  g_assert_true (picard_png_write_gray (good, big, 64, 64, 16, &error));
  g_assert_true (g_file_get_contents (good, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (truncated, contents, length / 2, NULL));
  g_assert_null (picard_png_read (truncated, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "truncated.png"));
  g_clear_error (&error);

  g_assert_null (picard_png_read (missing, &info, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  picard_test_remove_tree (dir);
}

static void
test_low_bit_depth_widens (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "one-bit.png", NULL);
  guint8 rows[2] = { 0xA0, 0x50 }; /* 1010 / 0101 */
  g_autoptr(GError) error = NULL;
  g_autofree guint16 *read = NULL;
  PicardPngInfo info;

  write_raw_png (path, 4, 2, PNG_COLOR_TYPE_GRAY, 1, rows, 1);
  read = picard_png_read (path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.bit_depth, ==, 8);
  g_assert_cmpuint (read[0], ==, 255);
  g_assert_cmpuint (read[1], ==, 0);
  g_assert_cmpuint (read[2], ==, 255);
  g_assert_cmpuint (read[4], ==, 0);
  g_assert_cmpuint (read[5], ==, 255);
  picard_test_remove_tree (dir);
}

#define W 9
#define H 7

static guint16
slice_value (guint slice, guint i, guint bits)
{
  return bits == 8 ? (guint16) ((slice * 13 + i) % 256) : (guint16) (slice * 4099 + i * 7);
}

/* slice1.png .. slice12.png (listed out of order by the file system, if anything). */
static char *
make_folder (guint bits)
{
  char *dir = make_tmp_dir ();

  for (guint s = 1; s <= 12; s++)
    {
      g_autofree char *name = g_strdup_printf ("slice%u.png", s);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      guint16 v16[W * H];
      guint8 v8[W * H];

      for (guint i = 0; i < W * H; i++)
        {
          v16[i] = slice_value (s, i, bits);
          v8[i] = (guint8) v16[i];
        }
      g_assert_true (picard_png_write_gray (path, bits == 8 ? (void *) v8 : (void *) v16, W, H,
                                            bits, NULL));
    }
  return dir;
}

static void
check_folder (guint bits)
{
  g_autofree char *dir = make_folder (bits);
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  const PicardVolumeInfo *info;

  /* Files that are not slices are ignored. */
  {
    g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
    g_autofree char *sub = g_build_filename (dir, "sub.png", NULL);

    g_assert_true (g_file_set_contents (notes, "hello", -1, NULL));
    g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  }
  volume = picard_volume_open (dir, &error);
  g_assert_no_error (error);
  info = picard_volume_get_info (volume);
  g_assert_cmpstr (info->format, ==, "PNG folder");
  g_assert_cmpstr (info->path, ==, dir);
  g_assert_cmpuint (info->frames, ==, 12);
  g_assert_cmpuint (info->columns, ==, W);
  g_assert_cmpuint (info->rows, ==, H);
  g_assert_cmpuint (info->bits_stored, ==, bits);
  g_assert_false (info->has_window);
  g_assert_cmpstr (info->transfer_syntax_name, ==, "PNG (lossless)");
  g_assert_null (info->transfer_syntax_uid);
  g_assert_cmpint (info->header_laterality, ==, PICARD_LATERALITY_UNKNOWN);
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 0);

  for (guint f = 0; f < 12; f++)
    {
      g_autoptr(GBytes) frame = picard_volume_get_frame (volume, f, NULL, &error);
      const guint16 *values;

      g_assert_no_error (error);
      g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, f + 1);
      values = g_bytes_get_data (frame, NULL);
      /* Natural order: frame 1 is slice2, frame 9 is slice10. */
      for (guint i = 0; i < W * H; i++)
        g_assert_cmpuint (values[i], ==, slice_value (f + 1, i, bits));
    }
  picard_test_remove_tree (dir);
}

static void
test_folder_8_bit (void)
{
  check_folder (8);
}

static void
test_folder_16_bit (void)
{
  check_folder (16);
}

static void
test_folder_lazy (void)
{
  g_autofree char *dir = make_folder (16);
  g_autoptr(PicardVolume) volume = picard_png_folder_open (dir, NULL);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 0);
  frame = picard_volume_get_frame (volume, 9, NULL, NULL);
  g_assert_cmpuint (((const guint16 *) g_bytes_get_data (frame, NULL))[1], ==,
                    slice_value (10, 1, 16));
  g_bytes_unref (picard_volume_get_frame (volume, 9, NULL, NULL));
  g_assert_cmpuint (picard_volume_get_decode_count (volume), ==, 1);

  /* A slice that vanished after opening: an error, not a crash. */
  {
    g_autofree char *gone = g_build_filename (dir, "slice3.png", NULL);

    g_assert_cmpint (g_unlink (gone), ==, 0);
    g_assert_null (picard_volume_get_frame (volume, 2, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "slice3.png"));
    g_clear_error (&error);
  }
  /* A slice replaced by one of another size. */
  {
    g_autofree char *other = g_build_filename (dir, "slice4.png", NULL);
    guint8 small[4] = { 0 };

    g_assert_true (picard_png_write_gray (other, small, 2, 2, 8, NULL));
    g_assert_null (picard_volume_get_frame (volume, 3, NULL, &error));
    g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "open the folder again"));
  }
  picard_test_remove_tree (dir);
}

static void
test_folder_errors (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *notes = g_build_filename (dir, "readme.txt", NULL);
  g_autofree char *a = g_build_filename (dir, "img2.png", NULL);
  g_autofree char *b = g_build_filename (dir, "img10.png", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  guint8 pixels[16] = { 0 };
  guint16 pixels16[16] = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_null (picard_png_folder_open (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no .png files"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (notes, "x", -1, NULL));
  g_assert_null (picard_png_folder_open (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (picard_png_folder_open (missing, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* A size that differs names the odd file (and the reference one). */
  g_assert_true (picard_png_write_gray (a, pixels, 4, 4, 8, NULL));
  g_assert_true (picard_png_write_gray (b, pixels, 2, 8, 8, NULL));
  g_assert_null (picard_png_folder_open (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "img10.png is 2 x 8, 8-bit, but img2.png is 4 x 4"));
  g_clear_error (&error);

  /* So does a depth that differs. */
  g_assert_true (picard_png_write_gray (b, pixels16, 4, 4, 16, NULL));
  g_assert_null (picard_png_folder_open (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "img10.png is 4 x 4, 16-bit"));
  g_clear_error (&error);

  /* A damaged .png is named too. */
  g_assert_true (g_file_set_contents (b, "garbage", -1, NULL));
  g_assert_null (picard_png_folder_open (dir, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "img10.png"));
  picard_test_remove_tree (dir);
}

static void
test_natural_order_names (void)
{
  const char *names[] = { "s10.png", "s2.png", "s1.png", "s02b.png", "s002.png", "a.PNG",
                          "s2.png.bak", ".hidden.png" };
  const char *expected[] = { "a.PNG", "s1.png", "s002.png", "s2.png", "s02b.png", "s10.png" };
  g_autofree char *dir = make_tmp_dir ();
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      guint8 value = 0;

      for (guint k = 0; k < G_N_ELEMENTS (expected); k++)
        if (strcmp (expected[k], names[i]) == 0)
          value = (guint8) (k + 1);
      g_assert_true (picard_png_write_gray (path, &value, 1, 1, 8, NULL));
    }
  volume = picard_png_folder_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (picard_volume_get_n_frames (volume), ==, G_N_ELEMENTS (expected));
  for (guint f = 0; f < G_N_ELEMENTS (expected); f++)
    {
      g_autoptr(GBytes) frame = picard_volume_get_frame (volume, f, NULL, NULL);

      g_assert_cmpuint (((const guint16 *) g_bytes_get_data (frame, NULL))[0], ==, f + 1);
    }
  picard_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/png/round-trip", test_round_trip_8_and_16);
  g_test_add_func ("/png/write-errors", test_write_errors);
  g_test_add_func ("/png/refusals", test_refusals);
  g_test_add_func ("/png/low-bit-depth", test_low_bit_depth_widens);
  g_test_add_func ("/png-folder/8-bit", test_folder_8_bit);
  g_test_add_func ("/png-folder/16-bit", test_folder_16_bit);
  g_test_add_func ("/png-folder/lazy", test_folder_lazy);
  g_test_add_func ("/png-folder/errors", test_folder_errors);
  g_test_add_func ("/png-folder/natural-order", test_natural_order_names);
  return g_test_run ();
}
