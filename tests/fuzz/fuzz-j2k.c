/* Fuzz target: a JPEG 2000 codestream (or JP2 file) from memory. Besides "no crash, no
 * leak": whatever decodes must survive a lossless re-encode bit for bit. */
#include "picard-j2k.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_INPUT_BYTES ((size_t) 256 * 1024)
#define MAX_PIXELS (256 * 256)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PicardJ2kInfo info;
  GError *error = NULL;
  guint16 *values, *again;
  GBytes *encoded;
  const guint8 *bytes;
  gsize n, length;
  guint16 mask;

  if (size > MAX_INPUT_BYTES)
    return 0;
  picard_j2k_set_threads (1);
  if (!picard_j2k_probe (data, size, &info, &error))
    {
      g_clear_error (&error);
      return 0;
    }
  if ((guint64) info.rows * info.columns > MAX_PIXELS)
    return 0;
  n = (gsize) info.rows * info.columns;
  values = g_new (guint16, n);
  if (!picard_j2k_decode (data, size, info.rows, info.columns, values, NULL, &error))
    {
      g_clear_error (&error);
      g_free (values);
      return 0;
    }
  /* Decoded: the stored bits must come back unchanged through our encoder. */
  mask = (guint16) ((1u << info.precision) - 1);
  for (gsize i = 0; i < n; i++)
    values[i] &= mask;
  encoded = picard_j2k_encode (values, info.rows, info.columns, info.precision, TRUE, &error);
  if (encoded == NULL)
    abort ();
  bytes = g_bytes_get_data (encoded, &length);
  again = g_new (guint16, n);
  if (!picard_j2k_decode (bytes, length, info.rows, info.columns, again, NULL, NULL)
      || memcmp (values, again, n * 2) != 0)
    abort ();
  g_free (again);
  g_bytes_unref (encoded);
  g_free (values);
  return 0;
}
