/* fuzz-zip: arbitrary bytes as a checkpoint file (zip container, pickle, tensors, safetensors),
 * then the architecture checks on whatever loaded. */
#include "picard-checkpoint.h"
#include "picard-zip.h"

#include <stdint.h>

#define FUZZ_MAX_INPUT ((size_t) 1 << 20)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(PicardZip) zip = NULL;
  g_autoptr(PicardCheckpoint) checkpoint = NULL;

  if (size > FUZZ_MAX_INPUT)
    return 0;
  bytes = g_bytes_new_static (data, size);

  /* The container alone: every entry read, so inflation and checksums are exercised even when
   * the pickle inside is rejected. */
  zip = picard_zip_new (bytes, "fuzz.pt", NULL);
  if (zip != NULL)
    for (guint i = 0; i < picard_zip_get_n_entries (zip); i++)
      {
        g_autoptr(GBytes) entry = picard_zip_read (zip, i, NULL);
        if (entry != NULL)
          g_assert_cmpuint (g_bytes_get_size (entry), ==, picard_zip_get_entry_size (zip, i));
      }

  checkpoint = picard_checkpoint_load_bytes (bytes, "fuzz.pt", NULL);
  if (checkpoint != NULL)
    {
      double sum = 0;

      for (guint i = 0; i < picard_checkpoint_get_n_tensors (checkpoint); i++)
        {
          const PicardTensor *tensor = picard_checkpoint_get_tensor (checkpoint, i);

          g_assert_true (picard_checkpoint_lookup (checkpoint, tensor->name) == tensor);
          for (gsize k = 0; k < tensor->n_elements; k++)
            sum += tensor->data[k];
        }
      (void) sum;
      picard_checkpoint_validate_generator (checkpoint, NULL, NULL, NULL);
      picard_checkpoint_validate_critic (checkpoint, "", PICARD_CRITIC_LOCAL, NULL, NULL, NULL);
      picard_checkpoint_validate_critic (checkpoint, "localD.", PICARD_CRITIC_LOCAL, NULL, NULL,
                                         NULL);
    }
  return 0;
}
