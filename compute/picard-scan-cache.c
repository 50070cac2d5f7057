#include "picard-scan-cache.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "picard-error.h"

#define CACHE_MAGIC "PICSCAN1"
#define CACHE_VERSION 1u
#define CACHE_MAX_STRING 4096u
#define DIGEST_BYTES 32u

char *
picard_scan_cache_default_dir (void)
{
  const char *env = g_getenv ("PICARD_CACHE_DIR");
  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_cache_dir (), "picard-viewer", NULL);
}

char *
picard_scan_hash_slice (const float *slice, guint rows, guint columns)
{
  g_return_val_if_fail (slice != NULL || (gsize) rows * columns == 0, NULL);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint32 dims[2] = { GUINT32_TO_LE (rows), GUINT32_TO_LE (columns) };
  g_checksum_update (sum, (const guchar *) dims, sizeof dims);
  /* In pieces: g_checksum_update takes a gssize length. */
  const guchar *bytes = (const guchar *) slice;
  gsize left = (gsize) rows * columns * sizeof (float);
  while (left > 0)
    {
      gsize piece = MIN (left, (gsize) 1 << 30);
      g_checksum_update (sum, bytes, piece);
      bytes += piece;
      left -= piece;
    }
  return g_strdup (g_checksum_get_string (sum));
}

char *
picard_scan_cache_key (const char *content_hash, guint slice_index, guint rows, guint columns,
                       const char *model_hash, guint feature_length,
                       const PicardScanParams *params)
{
  g_return_val_if_fail (content_hash != NULL && model_hash != NULL && params != NULL, NULL);
  g_autoptr (GString) text = g_string_new ("picard-scan 1\n");
  g_string_append_printf (text, "content %s\nslice %u\nsize %u %u\nmodel %s\nfeatures %u\n",
                          content_hash, slice_index, rows, columns, model_hash, feature_length);
  g_string_append_printf (text, "patch %u\nhole %u\nstride %u\nsamples %u\nseed %"
                          G_GUINT64_FORMAT "\n", params->patch_size, params->hole_size,
                          params->stride, params->n_samples, params->seed);
  if (params->skip_air)
    g_string_append_printf (text, "skip-air %a\n", (double) params->air_level);
  if (params->has_roi)
    g_string_append_printf (text, "roi %d %d %d %d\n", params->roi.x, params->roi.y,
                            params->roi.width, params->roi.height);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text->str, text->len);
}

/* ---- the file format (little-endian) ---- */

static void
put_u32 (GByteArray *out, guint32 value)
{
  guint32 le = GUINT32_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *out, guint64 value)
{
  guint64 le = GUINT64_TO_LE (value);
  g_byte_array_append (out, (const guint8 *) &le, 8);
}

static void
put_f32 (GByteArray *out, float value)
{
  guint32 bits;
  memcpy (&bits, &value, 4);
  put_u32 (out, bits);
}

static void
put_string (GByteArray *out, const char *text)
{
  if (text == NULL)
    {
      put_u32 (out, G_MAXUINT32);
      return;
    }
  put_u32 (out, (guint32) strlen (text));
  g_byte_array_append (out, (const guint8 *) text, (guint) strlen (text));
}

static void
put_floats (GByteArray *out, const float *values, gsize n)
{
  for (gsize k = 0; k < n; k++)
    put_f32 (out, values[k]);
}

GBytes *
picard_scan_result_serialize (const PicardScanResult *result, const char *key)
{
  g_return_val_if_fail (result != NULL && key != NULL, NULL);
  const PicardScanParams *p = &result->params;
  gsize cells = (gsize) result->n_h * result->n_w;
  gsize values = cells * p->n_samples;

  GByteArray *out = g_byte_array_sized_new (64 + cells + values * 8);
  g_byte_array_append (out, (const guint8 *) CACHE_MAGIC, 8);
  put_u32 (out, CACHE_VERSION);
  put_string (out, key);
  put_string (out, result->model_hash);
  put_u32 (out, result->rows);
  put_u32 (out, result->columns);
  put_u32 (out, result->slice_index);
  put_u32 (out, p->patch_size);
  put_u32 (out, p->hole_size);
  put_u32 (out, p->stride);
  put_u32 (out, p->n_samples);
  put_u64 (out, p->seed);
  put_u32 (out, p->batch_size);
  put_u32 (out, p->skip_air ? 1 : 0);
  put_f32 (out, p->air_level);
  put_u32 (out, p->has_roi ? 1 : 0);
  put_u32 (out, (guint32) p->roi.x);
  put_u32 (out, (guint32) p->roi.y);
  put_u32 (out, (guint32) p->roi.width);
  put_u32 (out, (guint32) p->roi.height);
  put_u32 (out, result->feature_length);
  put_u32 (out, result->n_h);
  put_u32 (out, result->n_w);
  g_byte_array_append (out, result->cells, (guint) cells);
  put_floats (out, result->image_distances, values);
  if (result->feature_length > 0)
    put_floats (out, result->feature_distances, values);

  guint8 digest[DIGEST_BYTES];
  gsize digest_len = sizeof digest;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, out->data, out->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  g_byte_array_append (out, digest, DIGEST_BYTES);
  return g_byte_array_free_to_bytes (out);
}

typedef struct {
  const guint8 *data;
  gsize length;
  gsize pos;
  gboolean short_read;
} Reader;

static const guint8 *
take (Reader *reader, gsize n)
{
  if (reader->short_read || reader->length - reader->pos < n)
    {
      reader->short_read = TRUE;
      return NULL;
    }
  const guint8 *at = reader->data + reader->pos;
  reader->pos += n;
  return at;
}

static guint32
get_u32 (Reader *reader)
{
  const guint8 *at = take (reader, 4);
  guint32 le = 0;
  if (at != NULL)
    memcpy (&le, at, 4);
  return GUINT32_FROM_LE (le);
}

static guint64
get_u64 (Reader *reader)
{
  const guint8 *at = take (reader, 8);
  guint64 le = 0;
  if (at != NULL)
    memcpy (&le, at, 8);
  return GUINT64_FROM_LE (le);
}

static float
get_f32 (Reader *reader)
{
  guint32 bits = get_u32 (reader);
  float value;
  memcpy (&value, &bits, 4);
  return value;
}

/* A string, or NULL (*ok stays TRUE for a stored NULL; FALSE when damaged). */
static char *
get_string (Reader *reader, gboolean *ok)
{
  guint32 len = get_u32 (reader);
  *ok = !reader->short_read;
  if (!*ok || len == G_MAXUINT32)
    return NULL;
  const guint8 *at = len <= CACHE_MAX_STRING ? take (reader, len) : NULL;
  if (at == NULL || memchr (at, '\0', len) != NULL)
    {
      *ok = FALSE;
      return NULL;
    }
  return g_strndup ((const char *) at, len);
}

static PicardScanResult *
corrupt (GError **error, const char *name, const char *problem)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "Scan cache file %s is damaged (%s): delete it to rescan", name, problem);
  return NULL;
}

PicardScanResult *
picard_scan_result_deserialize (GBytes *bytes, const char *name, char **key_out,
                                GError **error)
{
  g_return_val_if_fail (bytes != NULL && name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  if (length < 12 + DIGEST_BYTES || memcmp (data, CACHE_MAGIC, 8) != 0)
    return corrupt (error, name, "not a scan result");
  if (length > PICARD_SCAN_CACHE_MAX_BYTES)
    return corrupt (error, name, "too large");

  guint8 digest[DIGEST_BYTES];
  gsize digest_len = sizeof digest;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, data, length - DIGEST_BYTES);
  g_checksum_get_digest (sum, digest, &digest_len);
  if (memcmp (digest, data + length - DIGEST_BYTES, DIGEST_BYTES) != 0)
    return corrupt (error, name, "checksum mismatch");

  Reader reader = { data, length - DIGEST_BYTES, 8, FALSE };
  if (get_u32 (&reader) != CACHE_VERSION)
    return corrupt (error, name, "unknown version");
  gboolean ok_key, ok_hash;
  g_autofree char *key = get_string (&reader, &ok_key);
  g_autofree char *model_hash = get_string (&reader, &ok_hash);
  if (!ok_key || !ok_hash || key == NULL)
    return corrupt (error, name, "bad key or model hash");

  PicardScanParams params;
  picard_scan_params_init (&params);
  guint rows = get_u32 (&reader), columns = get_u32 (&reader);
  guint slice_index = get_u32 (&reader);
  params.patch_size = get_u32 (&reader);
  params.hole_size = get_u32 (&reader);
  params.stride = get_u32 (&reader);
  params.n_samples = get_u32 (&reader);
  params.seed = get_u64 (&reader);
  params.batch_size = get_u32 (&reader);
  guint32 skip_air = get_u32 (&reader);
  params.air_level = get_f32 (&reader);
  guint32 has_roi = get_u32 (&reader);
  params.roi.x = (int) get_u32 (&reader);
  params.roi.y = (int) get_u32 (&reader);
  params.roi.width = (int) get_u32 (&reader);
  params.roi.height = (int) get_u32 (&reader);
  guint feature_length = get_u32 (&reader);
  guint n_h = get_u32 (&reader), n_w = get_u32 (&reader);
  if (reader.short_read || skip_air > 1 || has_roi > 1)
    return corrupt (error, name, "bad header");
  params.skip_air = skip_air != 0;
  params.has_roi = has_roi != 0;

  /* Bound every allocation by the file's size before making the result. */
  if (params.n_samples == 0 || params.n_samples > PICARD_SCAN_MAX_SAMPLES
      || params.patch_size == 0 || params.stride == 0 || params.patch_size > rows
      || params.patch_size > columns || n_h != (rows - params.patch_size) / params.stride + 1
      || n_w != (columns - params.patch_size) / params.stride + 1)
    return corrupt (error, name, "inconsistent geometry");
  guint64 cells = (guint64) n_h * n_w;
  guint64 expected = cells + cells * params.n_samples * 4 * (feature_length > 0 ? 2 : 1);
  if (expected != reader.length - reader.pos)
    return corrupt (error, name, "wrong length");

  GError *local_error = NULL;
  g_autoptr (PicardScanResult) result =
    picard_scan_result_new (rows, columns, slice_index, &params, feature_length, &local_error);
  if (result == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "Scan cache file %s is damaged (%s): delete it to rescan", name,
                   local_error->message);
      g_error_free (local_error);
      return NULL;
    }
  const guint8 *states = take (&reader, cells);
  for (guint64 c = 0; c < cells; c++)
    {
      gboolean outside = result->cells[c] == PICARD_SCAN_CELL_OUTSIDE;
      if (states[c] > PICARD_SCAN_CELL_OUTSIDE
          || outside != (states[c] == PICARD_SCAN_CELL_OUTSIDE))
        return corrupt (error, name, "bad cell state");
      result->cells[c] = states[c];
      result->n_done += states[c] == PICARD_SCAN_CELL_DONE;
      result->n_skipped += states[c] == PICARD_SCAN_CELL_SKIPPED;
    }
  gsize values = cells * params.n_samples;
  for (gsize k = 0; k < values; k++)
    {
      float d = get_f32 (&reader);
      result->image_distances[k] =
        result->cells[k / params.n_samples] == PICARD_SCAN_CELL_DONE ? d : NAN;
    }
  if (feature_length > 0)
    for (gsize k = 0; k < values; k++)
      {
        float d = get_f32 (&reader);
        result->feature_distances[k] =
          result->cells[k / params.n_samples] == PICARD_SCAN_CELL_DONE ? d : NAN;
      }
  result->model_hash = g_steal_pointer (&model_hash);
  if (key_out != NULL)
    *key_out = g_steal_pointer (&key);
  return g_steal_pointer (&result);
}

static char *
cache_path (const char *dir, const char *key)
{
  g_autofree char *base = g_strdup_printf ("scan-%s.picscan", key);
  return g_build_filename (dir, base, NULL);
}

PicardScanResult *
picard_scan_cache_load (const char *dir, const char *key)
{
  g_return_val_if_fail (dir != NULL && key != NULL, NULL);
  g_autofree char *path = cache_path (dir, key);
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    {
      if (errno != ENOENT)
        g_warning ("Ignoring scan cache file %s: %s", path, g_strerror (errno));
      return NULL;
    }
  if ((guint64) st.st_size > PICARD_SCAN_CACHE_MAX_BYTES)
    {
      g_warning ("Ignoring scan cache file %s: it is larger than any scan result", path);
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  char *contents;
  gsize length;
  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      g_warning ("Ignoring scan cache file %s: %s", path, error->message);
      return NULL;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (contents, length);
  g_autofree char *stored_key = NULL;
  PicardScanResult *result = picard_scan_result_deserialize (bytes, path, &stored_key, &error);
  if (result == NULL)
    {
      g_warning ("Ignoring scan cache file: %s", error->message);
      return NULL;
    }
  if (strcmp (stored_key, key) != 0)
    {
      g_warning ("Ignoring scan cache file %s: it holds another scan", path);
      picard_scan_result_unref (result);
      return NULL;
    }
  return result;
}

gboolean
picard_scan_cache_store (const char *dir, const char *key, const PicardScanResult *result,
                         GError **error)
{
  g_return_val_if_fail (dir != NULL && key != NULL && result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                   "Could not create the scan cache folder %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  g_autofree char *path = cache_path (dir, key);
  g_autoptr (GBytes) bytes = picard_scan_result_serialize (result, key);
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);
  GError *local_error = NULL;
  /* CONSISTENT + DURABLE: a temporary file in the folder, fsync, rename. */
  if (!g_file_set_contents_full (path, data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                   "Could not write the scan cache file %s: %s", path, local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  return TRUE;
}
