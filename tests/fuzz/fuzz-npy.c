/* fuzz-npy: arbitrary bytes as a .npy file. Besides "no crash, no leak", an array that parses
 * must be consistent with its shape and must survive writing and reading back unchanged. */
#include "picard-npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Far above any seed; keeps each run fast. */
#define MAX_INPUT_BYTES ((size_t) 1 << 20)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardNpy) npy = NULL;
  g_autoptr(PicardNpy) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize n = 1, out_size;
  const guint8 *out;

  if (size > MAX_INPUT_BYTES)
    return 0;
  npy = picard_npy_parse (data, size, "fuzz.npy", &error);
  if (npy == NULL)
    {
      /* abort (), not g_error (): libFuzzer records a crash on SIGABRT. */
      if (error == NULL || strstr (error->message, "fuzz.npy") == NULL)
        abort ();
      return 0;
    }
  for (guint i = 0; i < npy->ndim; i++)
    n *= npy->shape[i];
  if (n != npy->n_elements || npy->ndim > PICARD_NPY_MAX_DIMS)
    abort ();

  bytes = picard_npy_encode_float32 (npy->ndim, npy->shape, npy->data);
  out = g_bytes_get_data (bytes, &out_size);
  again = picard_npy_parse (out, out_size, "again.npy", NULL);
  if (again == NULL || again->ndim != npy->ndim
      || memcmp (again->shape, npy->shape, sizeof npy->shape) != 0
      || memcmp (again->data, npy->data, npy->n_elements * sizeof (float)) != 0)
    {
      fprintf (stderr, "round trip changed the array\n");
      abort ();
    }
  return 0;
}
