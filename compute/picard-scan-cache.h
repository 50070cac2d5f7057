/* picard-scan-cache.h: scan results kept on disk, so a reopened volume shows its finished
 * heatmaps at once and a half-finished scan resumes where it stopped.
 *
 * One file per result, <dir>/scan-<key>.picscan, keyed by a hash of the slice's pixels and
 * size, the slice index, the model hash and every parameter that changes a score.  Files are
 * written atomically (temporary file, fsync, rename) and carry a SHA-256 of their content: a
 * damaged or foreign file is ignored with a warning and rescanned, never trusted. */
#pragma once

#include "picard-scan.h"

G_BEGIN_DECLS

/* Caps of a cache file: far above a 16384 x 16384 slice at stride 1 is not needed; these bound
 * what a damaged header can make us allocate. */
#define PICARD_SCAN_CACHE_MAX_BYTES ((gsize) 1 << 31)

/* $PICARD_CACHE_DIR when set (tests), else g_get_user_cache_dir()/picard-viewer. */
char *picard_scan_cache_default_dir (void);

/* Hex SHA-256 of the slice's size and pixels (the content part of a key). */
char *picard_scan_hash_slice (const float *slice, guint rows, guint columns);

/* Hex SHA-256 naming a result: content hash, slice index, slice size, model hash, F and every
 * parameter except the batch size (which does not change results). */
char *picard_scan_cache_key (const char *content_hash, guint slice_index, guint rows,
                             guint columns, const char *model_hash, guint feature_length,
                             const PicardScanParams *params);

/* The result stored under @key, or NULL when there is none.  A file that cannot be read or is
 * damaged, or that holds another key, gives NULL and a warning. */
PicardScanResult *picard_scan_cache_load (const char *dir, const char *key);
/* Stores @result under @key (creating @dir), atomically. */
gboolean picard_scan_cache_store (const char *dir, const char *key,
                                  const PicardScanResult *result, GError **error);

/* The file format, also used by the cache's tests: a result with its key. */
GBytes *picard_scan_result_serialize (const PicardScanResult *result, const char *key);
/* PICARD_ERROR_CORRUPT naming @name when the bytes are damaged; *key_out (may be NULL)
 * receives the stored key. */
PicardScanResult *picard_scan_result_deserialize (GBytes *bytes, const char *name,
                                                  char **key_out, GError **error);

G_END_DECLS
