/* .npy files against numpy itself (/usr/bin/python3): what we write numpy reads back exactly,
 * what numpy writes (versions 1.0 and 2.0, several dtypes and ranks) we read exactly, and
 * damaged headers are refused with clear errors. */
#include "picard-error.h"
#include "picard-npy.h"
#include "picard-test-cli.h"

#include <glib/gstdio.h>
#include <string.h>

typedef PicardTestDir Fixture;

/* Runs a Python snippet with numpy in @dir; returns its stdout. */
static char *
run_python (const char *dir, const char *script)
{
  const char *args[] = { "-c", script, NULL };

  return picard_test_run_python (dir, args);
}

static void
test_write_read_by_numpy (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *f32 = g_build_filename (fx->dir, "a.npy", NULL);
  g_autofree char *u16 = g_build_filename (fx->dir, "b.npy", NULL);
  g_autofree char *one = g_build_filename (fx->dir, "c.npy", NULL);
  g_autofree char *out = NULL;
  gsize shape[4] = { 2, 3, 4, 5 };
  gsize shape1[1] = { 7 };
  float values[120];
  guint16 words[60];

  for (guint i = 0; i < 120; i++)
    values[i] = (float) i * 0.25f - 7.0f + (i == 5 ? 1e-7f : 0.0f);
  for (guint i = 0; i < 60; i++)
    words[i] = (guint16) (i * 1000 + 3);
  g_assert_true (picard_npy_save_float32 (f32, 4, shape, values, &error));
  g_assert_no_error (error);
  g_assert_true (picard_npy_save_uint16 (u16, 3, shape + 1, words, &error));
  g_assert_true (picard_npy_save_float32 (one, 1, shape1, values, &error));

  out = run_python (fx->dir,
    "import numpy as np\n"
    "a = np.load('a.npy'); b = np.load('b.npy'); c = np.load('c.npy')\n"
    "ea = (np.arange(120, dtype=np.float32) * np.float32(0.25) - np.float32(7)).reshape(2, 3, 4, 5)\n"
    "ea.flat[5] += np.float32(1e-7)\n"
    "assert a.dtype == np.float32 and a.shape == (2, 3, 4, 5) and np.array_equal(a, ea)\n"
    "assert b.dtype == np.uint16 and b.shape == (3, 4, 5)\n"
    "assert np.array_equal(b.ravel(), np.arange(60) * 1000 + 3)\n"
    "assert c.shape == (7,) and np.array_equal(c, ea.ravel()[:7])\n"
    "print('ok')\n");
  g_assert_cmpstr (out, ==, "ok\n");
}

static void
test_read_numpy_files (Fixture *fx, gconstpointer data)
{
  static const struct {
    const char *file;
    guint ndim;
    gsize shape[4];
  } cases[] = {
    { "f4.npy", 4, { 2, 1, 3, 5 } },
    { "v2.npy", 2, { 3, 10 } },
    { "f8.npy", 1, { 30 } },
    { "u2.npy", 3, { 2, 3, 5 } },
    { "be.npy", 2, { 5, 6 } },
    { "u1.npy", 2, { 6, 5 } },
    { "scalar.npy", 0, { 0 } },
    { "empty.npy", 2, { 0, 4 } },
  };
  g_autofree char *out = NULL;

  out = run_python (fx->dir,
    "import numpy as np\n"
    "from numpy.lib import format as f\n"
    "x = (np.arange(30) * 0.5 - 3).astype(np.float32)\n"
    "np.save('f4.npy', x.reshape(2, 1, 3, 5))\n"
    "with open('v2.npy', 'wb') as h:\n"
    "    f.write_array(h, x.reshape(3, 10), version=(2, 0))\n"
    "np.save('f8.npy', x.astype(np.float64))\n"
    "np.save('u2.npy', (np.arange(30) * 2000).astype(np.uint16).reshape(2, 3, 5))\n"
    "np.save('be.npy', x.astype('>f4').reshape(5, 6))\n"
    "np.save('u1.npy', np.arange(30, dtype=np.uint8).reshape(6, 5))\n"
    "np.save('scalar.npy', np.float32(2.5))\n"
    "np.save('empty.npy', np.zeros((0, 4), np.float32))\n"
    "np.save('fortran.npy', np.asfortranarray(x.reshape(5, 6)))\n"
    "np.save('c8.npy', x.astype(np.complex64))\n"
    "np.save('five.npy', np.zeros((1, 1, 1, 1, 2), np.float32))\n"
    "print('ok')\n");
  g_assert_cmpstr (out, ==, "ok\n");

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = g_build_filename (fx->dir, cases[c].file, NULL);
      g_autoptr(PicardNpy) npy = picard_npy_load (path, &error);

      g_assert_no_error (error);
      g_assert_nonnull (npy);
      g_assert_cmpuint (npy->ndim, ==, cases[c].ndim);
      for (guint d = 0; d < npy->ndim; d++)
        g_assert_cmpuint (npy->shape[d], ==, cases[c].shape[d]);
      if (strcmp (cases[c].file, "scalar.npy") == 0)
        {
          g_assert_cmpuint (npy->n_elements, ==, 1);
          g_assert_cmpfloat (npy->data[0], ==, 2.5f);
        }
      else if (strcmp (cases[c].file, "empty.npy") == 0)
        g_assert_cmpuint (npy->n_elements, ==, 0);
      else if (strcmp (cases[c].file, "u2.npy") == 0)
        for (guint i = 0; i < 30; i++)
          g_assert_cmpfloat (npy->data[i], ==, (float) (i * 2000));
      else if (strcmp (cases[c].file, "u1.npy") == 0)
        for (guint i = 0; i < 30; i++)
          g_assert_cmpfloat (npy->data[i], ==, (float) i);
      else
        for (guint i = 0; i < 30; i++)
          g_assert_cmpfloat (npy->data[i], ==, (float) i * 0.5f - 3.0f);
    }

  {
    static const struct { const char *file; int code; const char *words; } bad[] = {
      { "fortran.npy", PICARD_ERROR_NOT_SUPPORTED, "Fortran" },
      { "c8.npy", PICARD_ERROR_NOT_SUPPORTED, "'<c8'" },
      { "five.npy", PICARD_ERROR_NOT_SUPPORTED, "more than 4 dimensions" },
    };
    for (gsize c = 0; c < G_N_ELEMENTS (bad); c++)
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_build_filename (fx->dir, bad[c].file, NULL);
        g_autoptr(PicardNpy) npy = picard_npy_load (path, &error);

        g_assert_null (npy);
        g_assert_error (error, PICARD_ERROR, bad[c].code);
        g_assert_nonnull (strstr (error->message, bad[c].file));
        g_assert_nonnull (strstr (error->message, bad[c].words));
      }
  }
}

/* Hand-made headers: each flaw is refused with the right code. */
static void
test_malformed (void)
{
  static const struct { const char *header; int code; } cases[] = {
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", -1 },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False}", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
      PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999), }",
      PICARD_ERROR_CORRUPT },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }",
      PICARD_ERROR_TOO_LARGE },
    { "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", PICARD_ERROR_NOT_SUPPORTED },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", PICARD_ERROR_CORRUPT },
    { "{'descr': \"<f4\", 'fortran_order': False, 'shape': (2 , ) }", -1 },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) file = g_byte_array_new ();
      g_autoptr(PicardNpy) npy = NULL;
      gsize len = strlen (cases[c].header) + 1;
      guint8 lenb[2] = { (guint8) (len & 0xff), (guint8) (len >> 8) };
      float payload[2] = { 1.5f, -2.0f };

      g_byte_array_append (file, (const guint8 *) "\x93NUMPY\x01\x00", 8);
      g_byte_array_append (file, lenb, 2);
      g_byte_array_append (file, (const guint8 *) cases[c].header, (guint) len - 1);
      g_byte_array_append (file, (const guint8 *) "\n", 1);
      g_byte_array_append (file, (const guint8 *) payload, sizeof payload);
      npy = picard_npy_parse (file->data, file->len, "case.npy", &error);
      if (cases[c].code < 0)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (npy->n_elements, ==, 2);
          g_assert_cmpfloat (npy->data[1], ==, -2.0f);
        }
      else
        {
          g_assert_null (npy);
          g_assert_error (error, PICARD_ERROR, cases[c].code);
          g_assert_nonnull (strstr (error->message, "case.npy"));
        }
      /* Every truncation is refused too. */
      for (guint cut = 0; cut < file->len; cut += 7)
        {
          g_autoptr(GError) cut_error = NULL;
          g_autoptr(PicardNpy) cut_npy = picard_npy_parse (file->data, cut, "cut.npy",
                                                           &cut_error);
          g_assert_null (cut_npy);
          g_assert_nonnull (cut_error);
        }
    }
}

/* Encoded bytes parse back to the same array. */
static void
test_round_trip (void)
{
  gsize shape[3] = { 4, 1, 3 };
  float values[12];
  guint16 words[12];
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 12; i++)
    {
      values[i] = (float) i / 3.0f;
      words[i] = (guint16) (65535 - i);
    }
  for (guint ndim = 0; ndim <= 3; ndim++)
    {
      g_autoptr(GBytes) bytes = picard_npy_encode_float32 (ndim, shape, values);
      g_autoptr(GBytes) wbytes = picard_npy_encode_uint16 (ndim, shape, words);
      gsize size;
      const guint8 *raw = g_bytes_get_data (bytes, &size);
      g_autoptr(PicardNpy) npy = picard_npy_parse (raw, size, "rt.npy", &error);
      g_autoptr(PicardNpy) wnpy = NULL;

      g_assert_no_error (error);
      /* numpy's alignment: the data start at a multiple of 64. */
      g_assert_cmpuint ((size - npy->n_elements * 4) % 64, ==, 0);
      g_assert_cmpuint (npy->ndim, ==, ndim);
      g_assert_cmpmem (npy->data, npy->n_elements * 4, values, npy->n_elements * 4);
      raw = g_bytes_get_data (wbytes, &size);
      wnpy = picard_npy_parse (raw, size, "rt.npy", &error);
      g_assert_no_error (error);
      for (gsize i = 0; i < wnpy->n_elements; i++)
        g_assert_cmpfloat (wnpy->data[i], ==, (float) words[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/npy/write-read-by-numpy", Fixture, NULL, picard_test_dir_set_up,
              test_write_read_by_numpy, picard_test_dir_tear_down);
  g_test_add ("/npy/read-numpy-files", Fixture, NULL, picard_test_dir_set_up,
              test_read_numpy_files, picard_test_dir_tear_down);
  g_test_add_func ("/npy/malformed", test_malformed);
  g_test_add_func ("/npy/round-trip", test_round_trip);
  return g_test_run ();
}
