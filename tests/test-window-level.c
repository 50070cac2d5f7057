/* Window/level: DICOM's linear VOI function at its edges, invert, the automatic window,
 * and parsing "C,W". */
#include "picard-error.h"
#include "picard-window-level.h"

#include <math.h>
#include <string.h>

/* PS3.3 C.11.2.1.2.1, written out piecewise as the standard states it. */
static double
reference (double x, double c, double w, double ymax)
{
  if (x <= c - 0.5 - (w - 1.0) / 2.0)
    return 0.0;
  if (x > c - 0.5 + (w - 1.0) / 2.0)
    return ymax;
  return ((x - (c - 0.5)) / (w - 1.0) + 0.5) * ymax;
}

static void
test_linear_edges (void)
{
  PicardWindowLevel wl = { 100.0, 11.0, FALSE };
  guint16 in[] = { 0, 94, 95, 99, 100, 104, 105, 106, 65535 };
  guint8 expected8[] = { 0, 0, 13, 115, 140, 242, 255, 255, 255 };
  guint8 out8[G_N_ELEMENTS (in)];
  guint16 out16[G_N_ELEMENTS (in)];

  /* Worked by hand: x=95 -> (95-99.5)/10+0.5 = 0.05 -> 12.75 -> 13; x=104 -> 0.95 -> 242. */
  picard_window_level_apply_u8 (&wl, in, out8, G_N_ELEMENTS (in));
  g_assert_cmpmem (out8, sizeof out8, expected8, sizeof expected8);
  picard_window_level_apply_u16 (&wl, in, out16, G_N_ELEMENTS (in));
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    g_assert_cmpuint (out16[i], ==, (guint16) lround (reference (in[i], 100, 11, 65535)));
  g_assert_cmpuint (out16[2], ==, 3277); /* 0.05 * 65535 = 3276.75 */
}

static void
test_matches_reference_everywhere (void)
{
  const double windows[][2] = {
    { 512, 1024 }, { 2047.5, 4096 }, { 300, 2 }, { 37.25, 17.5 }, { 0, 100 }, { 65535, 3 },
  };
  g_autofree guint16 *in = g_new (guint16, 65536);
  g_autofree guint8 *out8 = g_new (guint8, 65536);
  g_autofree guint16 *out16 = g_new (guint16, 65536);

  for (guint i = 0; i < 65536; i++)
    in[i] = (guint16) i;
  for (guint k = 0; k < G_N_ELEMENTS (windows); k++)
    {
      PicardWindowLevel wl = { windows[k][0], windows[k][1], FALSE };

      picard_window_level_apply_u8 (&wl, in, out8, 65536);
      picard_window_level_apply_u16 (&wl, in, out16, 65536);
      for (guint i = 0; i < 65536; i++)
        {
          g_assert_cmpint (out8[i], ==, (int) lround (reference (i, wl.center, wl.width, 255)));
          g_assert_cmpint (out16[i], ==,
                           (int) lround (reference (i, wl.center, wl.width, 65535)));
        }
    }
}

static void
test_width_one_is_a_threshold (void)
{
  guint16 in[] = { 98, 99, 100, 101 };
  guint8 out[4];

  for (int k = 0; k < 2; k++)
    {
      /* Widths below 1 act as 1: a step at the centre (x <= c - 0.5 is black). */
      PicardWindowLevel wl = { 100.0, k == 0 ? 1.0 : 0.0, FALSE };

      picard_window_level_apply_u8 (&wl, in, out, 4);
      g_assert_cmpuint (out[0], ==, 0);
      g_assert_cmpuint (out[1], ==, 0);
      g_assert_cmpuint (out[2], ==, 255);
      g_assert_cmpuint (out[3], ==, 255);
    }
}

static void
test_invert (void)
{
  PicardWindowLevel wl = { 100.0, 11.0, TRUE };
  guint16 in[] = { 0, 95, 100, 105 };
  guint8 out[4];
  float unit[4];

  picard_window_level_apply_u8 (&wl, in, out, 4);
  g_assert_cmpuint (out[0], ==, 255);
  g_assert_cmpuint (out[1], ==, 242); /* 1 - 0.05 = 0.95 -> 242.25 */
  g_assert_cmpuint (out[2], ==, 115); /* 1 - 0.55 = 0.45 -> 114.75 */
  g_assert_cmpuint (out[3], ==, 0);
  picard_window_level_apply_unit (&wl, in, unit, 4);
  g_assert_cmpfloat (unit[0], ==, 1.0f);
  g_assert_cmpfloat (unit[2], ==, 115.0f / 255.0f);
  g_assert_cmpfloat (unit[3], ==, 0.0f);
}

static void
test_unit_goes_through_8_bits (void)
{
  PicardWindowLevel wl = { 512.0, 1024.0, FALSE };
  g_autofree guint16 *in = g_new (guint16, 1024);
  g_autofree guint8 *u8 = g_new (guint8, 1024);
  g_autofree float *unit = g_new (float, 1024);

  for (guint i = 0; i < 1024; i++)
    in[i] = (guint16) i;
  picard_window_level_apply_u8 (&wl, in, u8, 1024);
  picard_window_level_apply_unit (&wl, in, unit, 1024);
  for (guint i = 0; i < 1024; i++)
    g_assert_cmpfloat (unit[i], ==, (float) u8[i] / 255.0f);
  g_assert_cmpfloat (unit[0], ==, 0.0f);
  g_assert_cmpfloat (unit[1023], ==, 1.0f);
}

static void
test_auto_percentiles (void)
{
  guint16 values[300];
  PicardWindowLevel wl;

  /* 100 zeros (background, ignored) and the tissue values 1..200. */
  memset (values, 0, sizeof values);
  for (guint i = 0; i < 200; i++)
    values[100 + i] = (guint16) (i + 1);
  wl = picard_window_level_auto (values, G_N_ELEMENTS (values), 10, 1.0, 99.0);
  /* 1% of 200 = 2 -> low 2; 99% = 198 -> high 198. */
  g_assert_cmpfloat (wl.width, ==, 198.0 - 2.0 + 1.0);
  g_assert_cmpfloat (wl.center, ==, 2.0 + wl.width / 2.0);
  g_assert_false (wl.invert);

  wl = picard_window_level_auto (values, G_N_ELEMENTS (values), 10, 0.0, 100.0);
  g_assert_cmpfloat (wl.width, ==, 200.0);
  g_assert_cmpfloat (wl.center, ==, 1.0 + 100.0);
}

static void
test_auto_degenerate (void)
{
  guint16 zeros[16] = { 0 };
  guint16 flat[16];
  guint16 outside[4] = { 300, 300, 300, 5 };
  PicardWindowLevel wl;

  /* Nothing but background: the full range of the stored bits. */
  wl = picard_window_level_auto (zeros, 16, 10, 0.5, 99.5);
  g_assert_cmpfloat (wl.width, ==, 1024.0);
  g_assert_cmpfloat (wl.center, ==, 512.0);
  wl = picard_window_level_auto (zeros, 0, 16, 0.5, 99.5);
  g_assert_cmpfloat (wl.width, ==, 65536.0);

  /* One tissue value: a window at least two levels wide, not zero. */
  for (guint i = 0; i < 16; i++)
    flat[i] = 7;
  wl = picard_window_level_auto (flat, 16, 10, 0.5, 99.5);
  g_assert_cmpfloat (wl.width, ==, 2.0);
  g_assert_cmpfloat (wl.center, ==, 8.0);

  /* Values above bits_stored are not tissue of this image. */
  wl = picard_window_level_auto (outside, 4, 8, 0.0, 100.0);
  g_assert_cmpfloat (wl.width, ==, 2.0);
  g_assert_cmpfloat (wl.center, ==, 6.0);
}

static void
test_parse (void)
{
  const char *good[] = { "512,1024", " 512 , 1024 ", "-10.5,3e2", "0,0.5" };
  const double good_values[][2] = { { 512, 1024 }, { 512, 1024 }, { -10.5, 300 }, { 0, 0.5 } };
  const char *bad[] = { "", "512", "512,", ",1024", "a,b", "512;1024", "512,1024,3",
                        "512,0", "512,-1", "nan,5", "5,inf", "512 1024", "1e999,5" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      PicardWindowLevel wl = { 0, 0, TRUE };
      g_autoptr(GError) error = NULL;

      g_assert_true (picard_window_level_parse (good[i], &wl, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (wl.center, ==, good_values[i][0]);
      g_assert_cmpfloat (wl.width, ==, good_values[i][1]);
      g_assert_false (wl.invert);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      PicardWindowLevel wl = { 1, 2, FALSE };
      g_autoptr(GError) error = NULL;

      if (picard_window_level_parse (bad[i], &wl, &error))
        g_error ("'%s' parsed as a window", bad[i]);
      g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
      g_assert_true (strstr (error->message, "CENTER,WIDTH") != NULL);
      g_assert_cmpfloat (wl.center, ==, 1);
      g_assert_cmpfloat (wl.width, ==, 2);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/window-level/linear-edges", test_linear_edges);
  g_test_add_func ("/window-level/matches-reference", test_matches_reference_everywhere);
  g_test_add_func ("/window-level/width-one", test_width_one_is_a_threshold);
  g_test_add_func ("/window-level/invert", test_invert);
  g_test_add_func ("/window-level/unit-through-8-bits", test_unit_goes_through_8_bits);
  g_test_add_func ("/window-level/auto-percentiles", test_auto_percentiles);
  g_test_add_func ("/window-level/auto-degenerate", test_auto_degenerate);
  g_test_add_func ("/window-level/parse", test_parse);
  return g_test_run ();
}
