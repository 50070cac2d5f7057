/* fuzz-pickle: arbitrary bytes as the data.pkl of a checkpoint; the object graph that comes
 * out (cycles included) is walked with a depth limit. */
#include "picard-pickle.h"

#include <stdint.h>

#define FUZZ_MAX_INPUT ((size_t) 256 << 10)
#define MAX_WALK_DEPTH 16

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gsize
walk (const PicardPickleValue *value, guint depth)
{
  gsize visited = 1;

  if (depth > MAX_WALK_DEPTH)
    return 0;
  switch (value->type)
    {
    case PICARD_PICKLE_TUPLE:
      for (gsize i = 0; i < value->tuple.n_items; i++)
        visited += walk (value->tuple.items[i], depth + 1);
      break;
    case PICARD_PICKLE_DICT:
      g_assert_cmpuint (value->dict.keys->len, ==, value->dict.values->len);
      for (guint i = 0; i < value->dict.keys->len; i++)
        {
          const PicardPickleValue *key = value->dict.keys->pdata[i];

          g_assert_cmpint (key->type, ==, PICARD_PICKLE_STRING);
          visited += walk (value->dict.values->pdata[i], depth + 1);
        }
      break;
    case PICARD_PICKLE_TENSOR:
      g_assert_cmpint (value->tensor.storage->type, ==, PICARD_PICKLE_STORAGE);
      g_assert_cmpuint (value->tensor.ndim, <=, PICARD_PICKLE_MAX_DIMS);
      break;
    case PICARD_PICKLE_STRING:
      g_assert_true (g_utf8_validate (value->string.str, (gssize) value->string.len, NULL));
      break;
    default:
      break;
    }
  return visited;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(PicardPickle) pickle = NULL;

  if (size > FUZZ_MAX_INPUT)
    return 0;
  pickle = picard_pickle_load (data, size, "fuzz.pkl", NULL);
  if (pickle != NULL)
    walk (picard_pickle_get_root (pickle), 0);
  return 0;
}
