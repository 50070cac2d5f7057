/* picard-cli slices, run as a user would: ranges, bit depths, orientation, and that every
 * slice it writes equals what picard-cli slice writes for that frame. */
#include "picard-error.h"
#include "picard-png.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <string.h>

#define W 30
#define H 20
#define FRAMES 4

typedef struct {
  char *dir;    /* temporary */
  char *volume; /* a PNG folder, breast against the right edge */
} Fixture;

static guint16
pixel (guint f, guint r, guint c)
{
  return c >= W / 2 ? (guint16) (900 + f * 300 + r * 37 + c * 11) : (guint16) (c % 3);
}

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint16 frame[W * H];

  fx->dir = g_dir_make_tmp ("picard-slices-XXXXXX", &error);
  g_assert_no_error (error);
  fx->volume = g_build_filename (fx->dir, "volume", NULL);
  g_assert_cmpint (g_mkdir (fx->volume, 0755), ==, 0);
  for (guint f = 0; f < FRAMES; f++)
    {
      g_autofree char *name = g_strdup_printf ("frame%u.png", f + 1);
      g_autofree char *path = g_build_filename (fx->volume, name, NULL);

      for (guint r = 0; r < H; r++)
        for (guint c = 0; c < W; c++)
          frame[r * W + c] = pixel (f, r, c);
      g_assert_true (picard_png_write_gray (path, frame, W, H, 16, &error));
    }
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  picard_test_remove_tree (fx->dir);
  g_free (fx->dir);
  g_free (fx->volume);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char **
list_dir (const char *path)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* The PNG that `picard-cli slice` writes for @index (with @extra, or NULL) equals @path. */
static void
assert_same_as_slice (Fixture *fx, const char *path, guint index, guint bits,
                      const char *extra)
{
  g_autofree char *single = g_build_filename (fx->dir, "single.png", NULL);
  g_autofree char *index_text = g_strdup_printf ("%u", index);
  g_autofree char *bits_text = g_strdup_printf ("%u", bits);
  g_autofree char *err = NULL;
  g_autofree guint16 *a = NULL;
  g_autofree guint16 *b = NULL;
  g_autoptr(GError) error = NULL;
  PicardPngInfo ia, ib;

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slice", fx->volume, "--index", index_text,
                                        "-o", single, "--bits", bits_text, extra, NULL), ==, 0);
  a = picard_png_read (path, &ia, &error);
  g_assert_no_error (error);
  b = picard_png_read (single, &ib, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ia.width, ==, W);
  g_assert_cmpuint (ia.height, ==, H);
  g_assert_cmpuint (ia.bit_depth, ==, bits);
  g_assert_cmpuint (ib.bit_depth, ==, bits);
  g_assert_cmpmem (a, W * H * sizeof (guint16), b, W * H * sizeof (guint16));
  g_assert_cmpint (g_remove (single), ==, 0);
}

static void
test_all_frames (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = g_build_filename (fx->dir, "out", "nested", NULL);
  g_autofree char *err = NULL;
  g_auto(GStrv) names = NULL;

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, "-o", out, NULL), ==, 0);
  names = list_dir (out);
  g_assert_cmpuint (g_strv_length (names), ==, FRAMES);
  for (guint f = 0; f < FRAMES; f++)
    {
      g_autofree char *want = g_strdup_printf ("slice_%04u.png", f);
      g_autofree char *path = g_build_filename (out, want, NULL);

      g_assert_cmpstr (names[f], ==, want);
      assert_same_as_slice (fx, path, f, 8, NULL);
    }
  /* Left-aligned: the breast (bright) now touches the left edge. */
  {
    g_autofree char *path = g_build_filename (out, "slice_0000.png", NULL);
    g_autoptr(GError) error = NULL;
    PicardPngInfo info;
    g_autofree guint16 *pixels = picard_png_read (path, &info, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (pixels[0], >, pixels[W - 1]);
  }
}

static void
test_range_bits_orientation (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = g_build_filename (fx->dir, "range", NULL);
  g_autofree char *one = g_build_filename (fx->dir, "one", NULL);
  g_autofree char *err = NULL;
  g_auto(GStrv) names = NULL;
  static const struct {
    const char *frames;
    guint first, last;
  } ranges[] = { { "3", 3, 3 }, { "1:1", 1, 1 }, { ":1", 0, 1 }, { "2:", 2, FRAMES - 1 } };

  /* Both ends included, as `heatmap --slices` counts. */
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, "-o", out, "--frames",
                                        "1:2", "--bits", "16", "--no-align", "--quiet",
                                        NULL), ==, 0);
  names = list_dir (out);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpstr (names[0], ==, "slice_0001.png");
  g_assert_cmpstr (names[1], ==, "slice_0002.png");
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *path = g_build_filename (out, names[i], NULL);

      assert_same_as_slice (fx, path, i + 1, 16, "--no-align");
    }

  /* "A" alone is one frame, as is "A:A"; ":B" starts at 0; "A:" runs to the last frame. */
  for (gsize i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_auto(GStrv) written = NULL;
      g_autofree char *summary = NULL;
      g_autofree char *said = g_strdup_printf ("(frames %u..%u)", ranges[i].first,
                                               ranges[i].last);

      g_clear_pointer (&err, g_free);
      g_assert_cmpint (picard_test_run_cli (&summary, &err, "slices", fx->volume, "-o", one,
                                            "--frames", ranges[i].frames, NULL), ==, 0);
      g_assert_nonnull (strstr (summary, said));
      written = list_dir (one);
      g_assert_cmpuint (g_strv_length (written), ==, ranges[i].last - ranges[i].first + 1);
      for (guint f = ranges[i].first; f <= ranges[i].last; f++)
        {
          g_autofree char *want = g_strdup_printf ("slice_%04u.png", f);

          g_assert_cmpstr (written[f - ranges[i].first], ==, want);
        }
      picard_test_remove_tree (one);
    }
}

static void
test_errors (Fixture *fx, gconstpointer data)
{
  g_autofree char *out = g_build_filename (fx->dir, "bad", NULL);
  g_autofree char *missing = g_build_filename (fx->dir, "missing.dcm", NULL);
  const char *bad_frames[] = { "2:1", "3:4", "1:9", "4", "4:", "x", "1:y", "-1:2", "1:2:3", "" };
  char *err = NULL;

  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "-o DIR"));
  g_clear_pointer (&err, g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_frames); i++)
    {
      g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, "-o", out, "--frames",
                                            bad_frames[i], NULL), ==, 1);
      g_assert_nonnull (strstr (err, "picard-cli slices: --frames"));
      g_clear_pointer (&err, g_free);
    }
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, "-o", out, "--bits", "12",
                                        NULL), ==, 1);
  g_assert_nonnull (strstr (err, "--bits must be 8 or 16"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", fx->volume, "-o", out, "--view", "xx",
                                        NULL), ==, 1);
  g_assert_nonnull (strstr (err, "unknown view"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (picard_test_run_cli (NULL, &err, "slices", missing, "-o", out, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "missing.dcm"));
  g_clear_pointer (&err, g_free);
  /* Nothing was written by the failed runs. */
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cli-slices/all-frames", Fixture, NULL, fixture_set_up, test_all_frames,
              fixture_tear_down);
  g_test_add ("/cli-slices/range-bits-orientation", Fixture, NULL, fixture_set_up,
              test_range_bits_orientation, fixture_tear_down);
  g_test_add ("/cli-slices/errors", Fixture, NULL, fixture_set_up, test_errors,
              fixture_tear_down);
  return g_test_run ();
}
