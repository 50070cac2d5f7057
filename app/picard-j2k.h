/* picard-j2k.h: JPEG 2000 frames in memory with OpenJPEG (DCMTK's free edition has no
 * JPEG 2000 codec). One grey component, up to 16 bits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint rows;
  guint columns;
  guint precision;   /* bits per sample in the codestream */
  gboolean is_signed;
  guint components;
} PicardJ2kInfo;

/* OpenJPEG worker threads per decode or encode; 0 (the default) uses every processor. */
void picard_j2k_set_threads (guint threads);

/* Reads the main header of a J2K codestream (FF 4F FF 51) or a JP2 file. */
gboolean picard_j2k_probe (const guint8 *data, gsize size, PicardJ2kInfo *info,
                           GError **error);

/* Decodes a frame that must be @rows x @columns with one component into @out: the sample
 * bits as stored (signed samples in two's complement, truncated to 16 bits), unmasked.
 * @info (optional) receives what the codestream says. Errors are PICARD_ERROR_CORRUPT or
 * _NOT_SUPPORTED and do not name a file: callers prefix it. */
gboolean picard_j2k_decode (const guint8 *data, gsize size, guint rows, guint columns,
                            guint16 *out, PicardJ2kInfo *info, GError **error);

/* Encodes @rows x @columns unsigned samples of @bits_stored bits as a J2K codestream:
 * reversible 5/3 wavelet when @lossless, else the irreversible 9/7 wavelet at high quality. */
GBytes *picard_j2k_encode (const guint16 *pixels, guint rows, guint columns,
                           guint bits_stored, gboolean lossless, GError **error);

G_END_DECLS
