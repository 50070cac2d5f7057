/* Fuzz target: a DICOM file from memory, opened with small caps, every frame decoded.
 * Besides "no crash, no leak": a volume that opens must report sizes within the caps and
 * frames either decode to values below 2^BitsStored or fail with an error. */
#include "picard-dicom.h"
#include "picard-j2k.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Far above any seed; keeps each run fast. */
#define MAX_INPUT_BYTES ((size_t) 1024 * 1024)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PicardDicomLimits limits = { 256, 256, 16, (guint64) 2 * 1024 * 1024 };
  GError *error = NULL;
  PicardVolume *volume;
  const PicardVolumeInfo *info;

  if (size > MAX_INPUT_BYTES)
    return 0;
  picard_j2k_set_threads (1);
  volume = picard_dicom_open_memory (data, size, &limits, &error);
  if (volume == NULL)
    {
      if (error == NULL)
        abort ();
      g_error_free (error);
      return 0;
    }
  info = picard_volume_get_info (volume);
  if (info->rows > limits.max_rows || info->columns > limits.max_columns
      || info->frames > limits.max_frames || info->bits_stored < 1 || info->bits_stored > 16)
    abort ();
  for (guint f = 0; f < info->frames; f++)
    {
      GBytes *bytes = picard_volume_get_frame (volume, f, NULL, &error);
      const guint16 *values;
      gsize n;

      if (bytes == NULL)
        {
          if (error == NULL)
            abort ();
          g_clear_error (&error);
          continue;
        }
      values = g_bytes_get_data (bytes, &n);
      if (n != (gsize) info->rows * info->columns * 2)
        abort ();
      for (gsize i = 0; i < n / 2; i++)
        if (values[i] >> info->bits_stored != 0)
          abort ();
      g_bytes_unref (bytes);
    }
  g_object_unref (volume);
  return 0;
}
