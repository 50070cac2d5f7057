/* picard-npy.h: NumPy .npy arrays (format versions 1.0, 2.0 and 3.0) read into float32 and
 * written as little-endian float32 or uint16, C order, up to four dimensions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PICARD_NPY_MAX_DIMS 4u
/* Caps: a header longer than this is not an array header; an array larger than this is not
 * one of ours (a 320 x 3 x 256 x 256 float batch is 250 MB). */
#define PICARD_NPY_MAX_HEADER ((gsize) 65536)
#define PICARD_NPY_MAX_ELEMENTS ((gsize) 1 << 30)

/* An array read from (or to be written to) a .npy file. The data are float32 whatever the
 * stored type ('<f4', '<f8', '<u2', '|u1', '<i2', '<i4' and their big-endian forms are
 * read; 'float64' and 'int32' values are rounded to float). */
typedef struct {
  guint ndim;
  gsize shape[PICARD_NPY_MAX_DIMS];
  gsize n_elements;
  float *data;
} PicardNpy;

/* A zero-filled array; NULL when the element count overflows or passes the cap. */
PicardNpy *picard_npy_new (guint ndim, const gsize *shape);
void picard_npy_free (PicardNpy *npy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardNpy, picard_npy_free)

/* @name is what errors call the data (usually the file's base name). Strict: the magic, the
 * version, a header dict with exactly 'descr', 'fortran_order' (False only) and 'shape', the
 * header length, and a payload of exactly the declared size are all checked. */
PicardNpy *picard_npy_parse (const guint8 *data, gsize size, const char *name,
                             GError **error);
PicardNpy *picard_npy_load (const char *path, GError **error);

/* The bytes of a .npy file (version 1.0) holding @data as '<f4' or '<u2'. */
GBytes *picard_npy_encode_float32 (guint ndim, const gsize *shape, const float *data);
GBytes *picard_npy_encode_uint16 (guint ndim, const gsize *shape, const guint16 *data);

/* Written atomically (temporary file in the same folder, fsync, rename). */
gboolean picard_npy_save_float32 (const char *path, guint ndim, const gsize *shape,
                                  const float *data, GError **error);
gboolean picard_npy_save_uint16 (const char *path, guint ndim, const gsize *shape,
                                 const guint16 *data, GError **error);
gboolean picard_npy_save (const char *path, const PicardNpy *npy, GError **error);

G_END_DECLS
