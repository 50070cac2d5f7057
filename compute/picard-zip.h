/* picard-zip.h: a bounds-checked reader of zip archives held in memory (PyTorch checkpoints). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Caps that keep a hostile archive from costing more than the file itself. */
#define PICARD_ZIP_MAX_ENTRIES 65536
#define PICARD_ZIP_MAX_NAME 4096
#define PICARD_ZIP_MAX_INFLATED (G_GUINT64_CONSTANT (1) << 31)

typedef struct _PicardZip PicardZip;

/* Parses the central directory of @data (kept referenced); @display_name names the archive in
 * error messages.  Stored and deflated entries, ZIP64 records; no encryption, one disk. */
PicardZip *picard_zip_new (GBytes *data, const char *display_name, GError **error);
void picard_zip_free (PicardZip *zip);

guint picard_zip_get_n_entries (const PicardZip *zip);
const char *picard_zip_get_entry_name (const PicardZip *zip, guint index);
guint64 picard_zip_get_entry_size (const PicardZip *zip, guint index);
gboolean picard_zip_find (const PicardZip *zip, const char *name, guint *index);

/* The entry's uncompressed contents, CRC-checked.  Stored entries share @data's memory. */
GBytes *picard_zip_read (const PicardZip *zip, guint index, GError **error);

guint32 picard_crc32 (guint32 crc, const guint8 *data, gsize size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardZip, picard_zip_free)

G_END_DECLS
