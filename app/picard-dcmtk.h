/* picard-dcmtk.h: the small C interface over DCMTK (picard-dcmtk.cc), the only C++ in the
 * tree. It holds no policy: picard-dicom.c decides what to read, check and write.
 * Nothing here is thread-safe per object; callers serialise access to one PicardDcm.
 * Functions that fail return FALSE/NULL and set *message (g_free) to DCMTK's reason. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PicardDcm PicardDcm;

/* Registers DCMTK's decoders and encoders and quiets its logger; idempotent, thread-safe. */
void picard_dcm_init (void);

/* Reads a file's header; values longer than @max_read_length bytes (pixel data) stay on
 * disk and are read on demand. */
PicardDcm *picard_dcm_load (const char *path, guint32 max_read_length, char **message);
/* An empty file (meta header and dataset) to fill and save. */
PicardDcm *picard_dcm_new (void);
void picard_dcm_free (PicardDcm *dcm);

/* The value at a DCMTK attribute path such as
 * "SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0].WindowCenter" (first value of a
 * multi-valued attribute, trimmed), or NULL when absent or empty. */
char *picard_dcm_get_string (PicardDcm *dcm, const char *path);
/* Creates the path as needed and sets the value (backslashes separate multiple values). */
gboolean picard_dcm_put_string (PicardDcm *dcm, const char *path, const char *value,
                                char **message);

/* The transfer syntax UID the dataset was read in (g_free), or NULL when unknown. */
char *picard_dcm_get_transfer_syntax (PicardDcm *dcm);
/* A human-readable name of a transfer syntax (g_free). */
char *picard_dcm_transfer_syntax_name (const char *uid);
gboolean picard_dcm_transfer_syntax_is_encapsulated (const char *uid);
/* Whether a registered DCMTK codec decodes this encapsulated syntax. */
gboolean picard_dcm_can_decode (const char *uid);

typedef struct {
  gboolean present;      /* a top-level PixelData (7FE0,0010) exists */
  gboolean encapsulated; /* a pixel sequence (fragments) rather than a plain value */
  guint64 length;        /* plain value: its length in bytes */
  guint n_fragments;     /* encapsulated: fragments after the basic offset table */
} PicardDcmPixels;

gboolean picard_dcm_get_pixels (PicardDcm *dcm, PicardDcmPixels *pixels, char **message);
/* Item @index of the pixel sequence: 0 is the basic offset table, 1.. the fragments. */
gboolean picard_dcm_get_item_length (PicardDcm *dcm, guint index, guint32 *length,
                                     char **message);
/* Copies @size bytes from @offset of item @index without keeping the item in memory. */
gboolean picard_dcm_read_item (PicardDcm *dcm, guint index, guint32 offset, void *buffer,
                               guint32 size, char **message);
/* Copies @size bytes at @offset of a plain PixelData value in the machine's byte order
 * (16-bit words when BitsAllocated is 16). */
gboolean picard_dcm_read_native (PicardDcm *dcm, guint32 offset, void *buffer, guint32 size,
                                 char **message);
/* Decodes frame @index with DCMTK's codecs into @buffer (@size bytes, machine byte order);
 * @start_fragment is the pixel item where it starts (1 is the first fragment after the
 * offset table; 0 lets DCMTK search). Frees the compressed fragments it loaded. */
gboolean picard_dcm_decode_frame (PicardDcm *dcm, guint index, guint start_fragment,
                                  void *buffer, guint32 size, char **message);

/* Sets PixelData (OW) to @count 16-bit values. */
gboolean picard_dcm_put_native (PicardDcm *dcm, const guint16 *values, gsize count,
                                char **message);
/* Sets PixelData to a pixel sequence with a basic offset table and one fragment per frame,
 * already encoded in transfer syntax @uid (fragments are padded to even lengths). */
gboolean picard_dcm_put_encapsulated (PicardDcm *dcm, const char *uid, guint n_frames,
                                      const guint8 *const *frames, const gsize *lengths,
                                      char **message);
/* Writes the file in transfer syntax @uid, encoding native pixels with DCMTK's RLE, JPEG
 * lossless (process 14 SV1) or JPEG-LS lossless codec where @uid asks for it. */
gboolean picard_dcm_save (PicardDcm *dcm, const char *path, const char *uid, char **message);

/* A new globally unique UID under DCMTK's root (g_free). */
char *picard_dcm_new_uid (void);

G_END_DECLS
