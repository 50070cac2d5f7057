/* picard-zip.c: the subset of the zip format that torch.save writes, read defensively.
 *
 * Every offset and size read from the archive is checked against the buffer before use; the
 * central directory is the only source of truth for sizes (local headers may defer them to a
 * data descriptor), and each local header must agree with it on the name. */
#include "picard-zip.h"

#include "picard-error.h"

#include <gio/gio.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_ZIP64_EOCD 0x06064b50u
#define SIG_ZIP64_LOCATOR 0x07064b50u

#define EOCD_SIZE 22
#define ZIP64_LOCATOR_SIZE 20
#define ZIP64_EOCD_SIZE 56
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30

/* Deflate cannot expand by more than about 1032:1; larger claims are lies. */
#define MAX_DEFLATE_RATIO 1032

typedef struct {
  char *name;
  guint16 method;
  guint32 crc;
  guint64 compressed_size;
  guint64 size;
  guint64 data_offset; /* start of the entry's bytes, after the local header */
} ZipEntry;

struct _PicardZip {
  GBytes *data;
  const guint8 *bytes;
  gsize length;
  char *display_name;
  ZipEntry *entries;
  guint n_entries;
  GHashTable *by_name; /* name -> index + 1 */
};

static guint16
get_u16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
get_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
get_u64 (const guint8 *p)
{
  return (guint64) get_u32 (p) | ((guint64) get_u32 (p + 4) << 32);
}

/* TRUE if [offset, offset + size) lies inside a buffer of @length bytes. */
static gboolean
in_bounds (gsize length, guint64 offset, guint64 size)
{
  return offset <= length && size <= length - offset;
}

static guint32 crc_table[256];

static gpointer
init_crc_table (gpointer unused)
{
  for (guint32 n = 0; n < 256; n++)
    {
      guint32 c = n;
      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[n] = c;
    }
  return NULL;
}

guint32
picard_crc32 (guint32 crc, const guint8 *data, gsize size)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_crc_table, NULL);
  crc = ~crc;
  for (gsize i = 0; i < size; i++)
    crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static gboolean
corrupt (GError **error, const PicardZip *zip, const char *what)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: not a valid checkpoint archive (%s); the file may be truncated or damaged, "
               "save it again with torch.save", zip->display_name, what);
  return FALSE;
}

/* The end-of-central-directory record: the last signature whose comment reaches the end. */
static gboolean
find_eocd (const PicardZip *zip, gsize *eocd)
{
  gsize lowest;

  if (zip->length < EOCD_SIZE)
    return FALSE;
  lowest = zip->length > EOCD_SIZE + 0xffff ? zip->length - EOCD_SIZE - 0xffff : 0;
  for (gsize pos = zip->length - EOCD_SIZE + 1; pos-- > lowest;)
    {
      if (get_u32 (zip->bytes + pos) == SIG_EOCD
          && pos + EOCD_SIZE + get_u16 (zip->bytes + pos + 20) == zip->length)
        {
          *eocd = pos;
          return TRUE;
        }
    }
  return FALSE;
}

/* Replaces the 0xffffffff placeholders of a central record by the ZIP64 extra field's values. */
static gboolean
read_zip64_extra (const guint8 *extra, gsize extra_len, gboolean need_size,
                  gboolean need_compressed, gboolean need_offset, guint64 *size,
                  guint64 *compressed, guint64 *offset)
{
  gsize pos = 0;

  while (pos + 4 <= extra_len)
    {
      guint16 id = get_u16 (extra + pos);
      guint16 len = get_u16 (extra + pos + 2);
      const guint8 *field = extra + pos + 4;
      gsize used = 0;

      if (len > extra_len - pos - 4)
        return FALSE;
      if (id == 0x0001)
        {
          if (need_size)
            {
              if (used + 8 > len)
                return FALSE;
              *size = get_u64 (field + used);
              used += 8;
            }
          if (need_compressed)
            {
              if (used + 8 > len)
                return FALSE;
              *compressed = get_u64 (field + used);
              used += 8;
            }
          if (need_offset)
            {
              if (used + 8 > len)
                return FALSE;
              *offset = get_u64 (field + used);
            }
          return TRUE;
        }
      pos += 4 + (gsize) len;
    }
  return !need_size && !need_compressed && !need_offset;
}

static gboolean
parse_central_directory (PicardZip *zip, GError **error)
{
  gsize eocd;
  guint64 n_entries, cd_size, cd_offset;
  gsize pos;

  if (!find_eocd (zip, &eocd))
    return corrupt (error, zip, "no end-of-central-directory record");
  if (get_u16 (zip->bytes + eocd + 4) != 0 || get_u16 (zip->bytes + eocd + 6) != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: multi-disk zip archives are not supported; save the checkpoint again "
                   "with torch.save", zip->display_name);
      return FALSE;
    }
  n_entries = get_u16 (zip->bytes + eocd + 10);
  if (get_u16 (zip->bytes + eocd + 8) != n_entries)
    return corrupt (error, zip, "inconsistent entry counts");
  cd_size = get_u32 (zip->bytes + eocd + 12);
  cd_offset = get_u32 (zip->bytes + eocd + 16);

  if (eocd >= ZIP64_LOCATOR_SIZE
      && get_u32 (zip->bytes + eocd - ZIP64_LOCATOR_SIZE) == SIG_ZIP64_LOCATOR)
    {
      const guint8 *loc = zip->bytes + eocd - ZIP64_LOCATOR_SIZE;
      guint64 z = get_u64 (loc + 8);
      const guint8 *rec;

      if (get_u32 (loc + 4) != 0 || get_u32 (loc + 16) > 1)
        return corrupt (error, zip, "ZIP64 locator names another disk");
      if (!in_bounds (zip->length, z, ZIP64_EOCD_SIZE)
          || z + ZIP64_EOCD_SIZE > eocd - ZIP64_LOCATOR_SIZE)
        return corrupt (error, zip, "ZIP64 end record out of bounds");
      rec = zip->bytes + z;
      if (get_u32 (rec) != SIG_ZIP64_EOCD)
        return corrupt (error, zip, "bad ZIP64 end record signature");
      if (get_u32 (rec + 16) != 0 || get_u32 (rec + 20) != 0)
        return corrupt (error, zip, "ZIP64 end record names another disk");
      if (get_u64 (rec + 24) != get_u64 (rec + 32))
        return corrupt (error, zip, "inconsistent ZIP64 entry counts");
      n_entries = get_u64 (rec + 32);
      cd_size = get_u64 (rec + 40);
      cd_offset = get_u64 (rec + 48);
    }

  if (n_entries > PICARD_ZIP_MAX_ENTRIES)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: the archive has %" G_GUINT64_FORMAT " entries, more than the %d a "
                   "checkpoint may have", zip->display_name, n_entries, PICARD_ZIP_MAX_ENTRIES);
      return FALSE;
    }
  if (!in_bounds (zip->length, cd_offset, cd_size) || cd_offset + cd_size > eocd)
    return corrupt (error, zip, "central directory out of bounds");
  /* Each record takes at least CENTRAL_SIZE bytes: a count the directory cannot hold is a lie. */
  if (n_entries > cd_size / CENTRAL_SIZE)
    return corrupt (error, zip, "central directory too small for its entry count");

  zip->entries = g_new0 (ZipEntry, n_entries);
  zip->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  pos = (gsize) cd_offset;
  for (guint i = 0; i < n_entries; i++)
    {
      const guint8 *rec;
      ZipEntry *entry = &zip->entries[i];
      guint16 flags, name_len, extra_len, comment_len;
      guint64 local_offset, after;
      const guint8 *local;
      gsize local_name_len, local_extra_len;

      if (!in_bounds (cd_offset + cd_size, pos, CENTRAL_SIZE))
        return corrupt (error, zip, "central directory record out of bounds");
      rec = zip->bytes + pos;
      if (get_u32 (rec) != SIG_CENTRAL)
        return corrupt (error, zip, "bad central directory signature");
      flags = get_u16 (rec + 8);
      entry->method = get_u16 (rec + 10);
      entry->crc = get_u32 (rec + 16);
      entry->compressed_size = get_u32 (rec + 20);
      entry->size = get_u32 (rec + 24);
      name_len = get_u16 (rec + 28);
      extra_len = get_u16 (rec + 30);
      comment_len = get_u16 (rec + 32);
      local_offset = get_u32 (rec + 42);
      after = pos + (guint64) CENTRAL_SIZE + name_len + extra_len + comment_len;
      if (after > cd_offset + cd_size)
        return corrupt (error, zip, "central directory record out of bounds");
      if (name_len == 0 || name_len > PICARD_ZIP_MAX_NAME
          || memchr (rec + CENTRAL_SIZE, 0, name_len) != NULL)
        return corrupt (error, zip, "bad entry name");
      if (get_u16 (rec + 34) != 0 && get_u16 (rec + 34) != 0xffff)
        return corrupt (error, zip, "entry on another disk");
      if (flags & 0x0001)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "%s: encrypted zip entries are not supported", zip->display_name);
          return FALSE;
        }
      if (!read_zip64_extra (rec + CENTRAL_SIZE + name_len, extra_len,
                             entry->size == 0xffffffffu, entry->compressed_size == 0xffffffffu,
                             local_offset == 0xffffffffu, &entry->size,
                             &entry->compressed_size, &local_offset))
        return corrupt (error, zip, "bad ZIP64 extra field");
      entry->name = g_strndup ((const char *) rec + CENTRAL_SIZE, name_len);
      zip->n_entries = i + 1; /* owns the name from here on, for picard_zip_free */
      pos = (gsize) after;

      if (entry->method != 0 && entry->method != 8)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "%s: entry %s uses zip compression method %u; only stored and deflated "
                       "entries are supported", zip->display_name, entry->name, entry->method);
          return FALSE;
        }
      if (entry->method == 0 && entry->size != entry->compressed_size)
        return corrupt (error, zip, "stored entry with differing sizes");

      /* The local header: same name, then the data. */
      if (!in_bounds (zip->length, local_offset, LOCAL_SIZE))
        return corrupt (error, zip, "local header out of bounds");
      local = zip->bytes + local_offset;
      if (get_u32 (local) != SIG_LOCAL)
        return corrupt (error, zip, "bad local header signature");
      local_name_len = get_u16 (local + 26);
      local_extra_len = get_u16 (local + 28);
      if (!in_bounds (zip->length, local_offset + LOCAL_SIZE, local_name_len + local_extra_len))
        return corrupt (error, zip, "local header out of bounds");
      if (local_name_len != name_len || memcmp (local + LOCAL_SIZE, entry->name, name_len) != 0)
        return corrupt (error, zip, "local header disagrees with the central directory");
      entry->data_offset = local_offset + LOCAL_SIZE + local_name_len + local_extra_len;
      if (!in_bounds (zip->length, entry->data_offset, entry->compressed_size))
        return corrupt (error, zip, "entry data out of bounds");

      if (g_hash_table_contains (zip->by_name, entry->name))
        return corrupt (error, zip, "duplicate entry name");
      g_hash_table_insert (zip->by_name, entry->name, GUINT_TO_POINTER (i + 1));
    }
  return TRUE;
}

PicardZip *
picard_zip_new (GBytes *data, const char *display_name, GError **error)
{
  PicardZip *zip;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  zip = g_new0 (PicardZip, 1);
  zip->data = g_bytes_ref (data);
  zip->bytes = g_bytes_get_data (data, &zip->length);
  zip->display_name = g_strdup (display_name != NULL ? display_name : "checkpoint");
  if (!parse_central_directory (zip, error))
    {
      picard_zip_free (zip);
      return NULL;
    }
  return zip;
}

void
picard_zip_free (PicardZip *zip)
{
  if (zip == NULL)
    return;
  for (guint i = 0; i < zip->n_entries; i++)
    g_free (zip->entries[i].name);
  g_free (zip->entries);
  if (zip->by_name != NULL)
    g_hash_table_destroy (zip->by_name);
  g_bytes_unref (zip->data);
  g_free (zip->display_name);
  g_free (zip);
}

guint
picard_zip_get_n_entries (const PicardZip *zip)
{
  g_return_val_if_fail (zip != NULL, 0);
  return zip->n_entries;
}

const char *
picard_zip_get_entry_name (const PicardZip *zip, guint index)
{
  g_return_val_if_fail (zip != NULL && index < zip->n_entries, NULL);
  return zip->entries[index].name;
}

guint64
picard_zip_get_entry_size (const PicardZip *zip, guint index)
{
  g_return_val_if_fail (zip != NULL && index < zip->n_entries, 0);
  return zip->entries[index].size;
}

gboolean
picard_zip_find (const PicardZip *zip, const char *name, guint *index)
{
  gpointer found;

  g_return_val_if_fail (zip != NULL && name != NULL, FALSE);
  found = g_hash_table_lookup (zip->by_name, name);
  if (found == NULL)
    return FALSE;
  if (index != NULL)
    *index = GPOINTER_TO_UINT (found) - 1;
  return TRUE;
}

static GBytes *
inflate_entry (const PicardZip *zip, const ZipEntry *entry, GError **error)
{
  g_autoptr(GZlibDecompressor) inflater = NULL;
  const guint8 *in = zip->bytes + entry->data_offset;
  gsize in_left = (gsize) entry->compressed_size;
  gsize out_len = (gsize) entry->size;
  guint8 *out;
  gsize out_pos = 0;
  gboolean finished = FALSE;

  if (entry->size > PICARD_ZIP_MAX_INFLATED
      || entry->size > entry->compressed_size * MAX_DEFLATE_RATIO + 64)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: entry %s claims %" G_GUINT64_FORMAT " bytes once inflated, which is "
                   "beyond what a checkpoint may hold", zip->display_name, entry->name,
                   entry->size);
      return NULL;
    }
  inflater = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  /* One spare byte detects streams that inflate to more than the directory says. */
  out = g_malloc (out_len + 1);
  while (!finished)
    {
      gsize read = 0, written = 0;
      GConverterResult result;
      g_autoptr(GError) local_error = NULL;

      result = g_converter_convert (G_CONVERTER (inflater), in, in_left, out + out_pos,
                                    out_len + 1 - out_pos, G_CONVERTER_INPUT_AT_END, &read,
                                    &written, &local_error);
      if (result == G_CONVERTER_ERROR)
        {
          g_free (out);
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: entry %s does not inflate (%s); the file is damaged",
                       zip->display_name, entry->name, local_error->message);
          return NULL;
        }
      in += read;
      in_left -= read;
      out_pos += written;
      finished = result == G_CONVERTER_FINISHED;
      if (!finished && read == 0 && written == 0)
        break;
      if (out_pos > out_len)
        break;
    }
  if (!finished || out_pos != out_len)
    {
      g_free (out);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: entry %s inflates to a size other than the %" G_GSIZE_FORMAT
                   " bytes its directory entry says; the file is damaged", zip->display_name,
                   entry->name, out_len);
      return NULL;
    }
  return g_bytes_new_take (out, out_len);
}

GBytes *
picard_zip_read (const PicardZip *zip, guint index, GError **error)
{
  const ZipEntry *entry;
  g_autoptr(GBytes) bytes = NULL;
  const guint8 *data;
  gsize size;

  g_return_val_if_fail (zip != NULL && index < zip->n_entries, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = &zip->entries[index];
  if (entry->method == 0)
    bytes = g_bytes_new_from_bytes (zip->data, (gsize) entry->data_offset, (gsize) entry->size);
  else
    bytes = inflate_entry (zip, entry, error);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  if (picard_crc32 (0, data, size) != entry->crc)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: entry %s fails its checksum; the file is damaged", zip->display_name,
                   entry->name);
      return NULL;
    }
  return g_steal_pointer (&bytes);
}
