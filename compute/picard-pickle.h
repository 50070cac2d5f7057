/* picard-pickle.h: a safe reader of the pickles that torch.save writes for a state_dict.
 *
 * It is not a general unpickler: it knows the handful of opcodes and globals a state_dict
 * needs (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter, the float storage types) and
 * refuses everything else.  Nothing in the input is ever called. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PICARD_PICKLE_MAX_DIMS 8

typedef enum {
  PICARD_PICKLE_NONE,
  PICARD_PICKLE_BOOL,
  PICARD_PICKLE_INT,
  PICARD_PICKLE_STRING,
  PICARD_PICKLE_TUPLE,
  PICARD_PICKLE_DICT,
  PICARD_PICKLE_GLOBAL,  /* one of the allowed callables or storage types */
  PICARD_PICKLE_STORAGE, /* a persistent storage reference: data/<key> in the archive */
  PICARD_PICKLE_TENSOR,
} PicardPickleType;

typedef enum {
  PICARD_PICKLE_GLOBAL_ORDERED_DICT,
  PICARD_PICKLE_GLOBAL_REBUILD_TENSOR_V2,
  PICARD_PICKLE_GLOBAL_REBUILD_PARAMETER,
  PICARD_PICKLE_GLOBAL_FLOAT_STORAGE,
  PICARD_PICKLE_GLOBAL_HALF_STORAGE,
  PICARD_PICKLE_GLOBAL_BFLOAT16_STORAGE,
} PicardPickleGlobal;

typedef enum {
  PICARD_STORAGE_FLOAT32,
  PICARD_STORAGE_FLOAT16,
  PICARD_STORAGE_BFLOAT16,
} PicardStorageType;

typedef struct _PicardPickleValue PicardPickleValue;

struct _PicardPickleValue {
  PicardPickleType type;
  union {
    gboolean boolean;
    gint64 integer;
    struct {
      char *str; /* valid UTF-8, no NUL */
      gsize len;
    } string;
    struct {
      PicardPickleValue **items;
      gsize n_items;
    } tuple;
    struct {
      GPtrArray *keys;   /* PicardPickleValue strings, in insertion order */
      GPtrArray *values;
      GHashTable *index; /* key string -> position + 1 */
    } dict;
    PicardPickleGlobal global;
    struct {
      PicardStorageType type;
      char *key;
      gint64 numel;
    } storage;
    struct {
      PicardPickleValue *storage;
      gint64 offset;
      guint ndim;
      gint64 shape[PICARD_PICKLE_MAX_DIMS];
      gint64 stride[PICARD_PICKLE_MAX_DIMS];
    } tensor;
  };
};

/* The parsed object graph; every value belongs to it and lives as long as it does. */
typedef struct _PicardPickle PicardPickle;

PicardPickle *picard_pickle_load (const guint8 *data, gsize size, const char *display_name,
                                  GError **error);
void picard_pickle_free (PicardPickle *pickle);
const PicardPickleValue *picard_pickle_get_root (const PicardPickle *pickle);

const char *picard_pickle_type_name (PicardPickleType type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardPickle, picard_pickle_free)

G_END_DECLS
