/* picard-safetensors.h: the header of a .safetensors file (JSON) read strictly. */
#pragma once

#include "picard-pickle.h"

#include <glib.h>

G_BEGIN_DECLS

#define PICARD_SAFETENSORS_MAX_HEADER (100u << 20)

typedef struct {
  char *name;
  PicardStorageType type;
  guint ndim;
  gint64 shape[PICARD_PICKLE_MAX_DIMS];
  gsize offset; /* of the first byte, from the start of the file */
  gsize size;   /* in bytes: the element count times the element size */
} PicardSafetensorsEntry;

/* TRUE if @data starts like a safetensors file (a little-endian header length, then '{'). */
gboolean picard_safetensors_sniff (const guint8 *data, gsize size);

/* The tensors of the file, in header order, every range checked against @size. */
GPtrArray *picard_safetensors_parse (const guint8 *data, gsize size, const char *display_name,
                                     GError **error);

G_END_DECLS
