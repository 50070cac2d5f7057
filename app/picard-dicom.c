/* picard-dicom.c: DICOM volumes. DCMTK (through picard-dcmtk.h) parses the header and
 * decodes native, RLE, JPEG and JPEG-LS frames; OpenJPEG (picard-j2k.h) decodes JPEG 2000
 * frames taken out of the encapsulated pixel data. Pixel data stay on disk until a frame
 * is asked for. */
#define _GNU_SOURCE /* memfd_create */
#include "picard-dicom.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "picard-dcmtk.h"
#include "picard-error.h"
#include "picard-j2k.h"

/* Header values longer than this stay on disk: everything but the pixel data. */
#define MAX_READ_LENGTH 4096u

#define UID_J2K_LOSSLESS "1.2.840.10008.1.2.4.90"
#define UID_J2K "1.2.840.10008.1.2.4.91"

typedef enum {
  CODEC_NATIVE, /* plain pixel data, read in place */
  CODEC_DCMTK,  /* encapsulated; a DCMTK codec decodes it */
  CODEC_J2K,    /* encapsulated JPEG 2000; OpenJPEG decodes it */
} Codec;

typedef struct {
  GMutex lock; /* serialises every DCMTK call on dcm */
  PicardDcm *dcm;
  char *name;  /* the file, for messages */
  int memfd;   /* backing file of picard_dicom_open_memory, or -1 */
  Codec codec;
  guint frames, rows, columns;
  guint bits_allocated, bits_stored;
  gboolean is_signed, monochrome1;
  /* Encapsulated: frame i is fragments first_fragment[i] .. + n_fragments[i] - 1 (0-based,
   * counted after the basic offset table). */
  guint *first_fragment;
  guint *n_fragments;
  guint32 *fragment_lengths;
} DicomSource;

static void
dicom_source_free (gpointer data)
{
  DicomSource *source = data;

  if (source == NULL)
    return;
  g_clear_pointer (&source->dcm, picard_dcm_free);
  if (source->memfd >= 0)
    close (source->memfd);
  g_free (source->name);
  g_free (source->first_fragment);
  g_free (source->n_fragments);
  g_free (source->fragment_lengths);
  g_mutex_clear (&source->lock);
  g_free (source);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DicomSource, dicom_source_free)

void
picard_dicom_limits_init (PicardDicomLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_rows = PICARD_VOLUME_MAX_ROWS;
  limits->max_columns = PICARD_VOLUME_MAX_COLUMNS;
  limits->max_frames = PICARD_VOLUME_MAX_FRAMES;
  limits->max_total_bytes = PICARD_DICOM_MAX_TOTAL_BYTES;
}

/* ---- Frames ---- */

static gsize
raw_frame_bytes (DicomSource *source)
{
  return (gsize) source->rows * source->columns * (source->bits_allocated / 8);
}

/* Turns stored values into unsigned MONOCHROME2-sense values of bits_stored bits. */
static void
convert_values (DicomSource *source, guint16 *out)
{
  gsize count = (gsize) source->rows * source->columns;
  guint16 mask = (guint16) ((1u << source->bits_stored) - 1);
  guint16 sign = source->is_signed ? (guint16) (1u << (source->bits_stored - 1)) : 0;

  if (source->bits_allocated == 8)
    {
      const guint8 *bytes = (const guint8 *) out;

      /* Widen in place from the end so no byte is overwritten before it is read. */
      for (gsize i = count; i-- > 0;)
        out[i] = bytes[i];
    }
  for (gsize i = 0; i < count; i++)
    {
      /* Flipping the sign bit maps two's complement onto offset binary. */
      guint16 v = (out[i] & mask) ^ sign;

      out[i] = source->monochrome1 ? mask - v : v;
    }
}

static gboolean
frame_error (DicomSource *source, guint index, char *message, GError **error)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: frame %u could not be read: %s; the file may be truncated or damaged, "
               "re-export or re-download it", source->name, index + 1,
               message != NULL ? message : "unknown reason");
  g_free (message);
  return FALSE;
}

/* The frame's JPEG 2000 codestream, its fragments joined. Called locked. */
static guint8 *
read_codestream (DicomSource *source, guint index, gsize *size, GError **error)
{
  guint first = source->first_fragment[index];
  guint n = source->n_fragments[index];
  /* A codestream far larger than the raw frame is a damaged length, not an image. */
  guint64 cap = (guint64) raw_frame_bytes (source) * 2 + 65536;
  guint64 total = 0;
  g_autofree guint8 *data = NULL;
  gsize pos = 0;

  for (guint k = first; k < first + n; k++)
    total += source->fragment_lengths[k];
  if (total > cap)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: frame %u holds %" G_GUINT64_FORMAT " compressed bytes, more than a "
                   "%u x %u frame can need; the file is damaged", source->name, index + 1,
                   total, source->rows, source->columns);
      return NULL;
    }
  data = g_try_malloc (MAX (total, 1));
  if (data == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: not enough memory to read frame %u", source->name, index + 1);
      return NULL;
    }
  for (guint k = first; k < first + n; k++)
    {
      char *message = NULL;

      if (!picard_dcm_read_item (source->dcm, k + 1, 0, data + pos, source->fragment_lengths[k],
                                 &message))
        {
          frame_error (source, index, message, error);
          return NULL;
        }
      pos += source->fragment_lengths[k];
    }
  *size = pos;
  return g_steal_pointer (&data);
}

static gboolean
dicom_decode_frame (gpointer data, guint index, guint16 *out, GCancellable *cancellable,
                    GError **error)
{
  DicomSource *source = data;
  gsize raw = raw_frame_bytes (source);
  char *message = NULL;
  gboolean ok;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (source->codec == CODEC_J2K)
    {
      g_autofree guint8 *codestream = NULL;
      gsize size = 0;

      g_mutex_lock (&source->lock);
      codestream = read_codestream (source, index, &size, error);
      g_mutex_unlock (&source->lock);
      if (codestream == NULL)
        return FALSE;
      /* OpenJPEG runs outside the lock: frames decode in parallel. */
      if (!picard_j2k_decode (codestream, size, source->rows, source->columns, out, NULL,
                              error))
        {
          g_prefix_error (error, "%s: frame %u: ", source->name, index + 1);
          return FALSE;
        }
      convert_values (source, out);
      return TRUE;
    }

  g_mutex_lock (&source->lock);
  if (source->codec == CODEC_NATIVE)
    ok = picard_dcm_read_native (source->dcm, (guint32) (raw * index), out, (guint32) raw,
                                 &message);
  else
    {
      /* DCMTK wants an even buffer size; out holds two bytes per value, always enough. */
      gsize size = MIN (raw + (raw & 1), (gsize) source->rows * source->columns * 2);

      ok = picard_dcm_decode_frame (source->dcm, index, source->first_fragment[index] + 1, out,
                                    (guint32) size, &message);
    }
  g_mutex_unlock (&source->lock);
  if (!ok)
    return frame_error (source, index, message, error);
  convert_values (source, out);
  return TRUE;
}

static const PicardFrameSourceFuncs dicom_funcs = { dicom_decode_frame, dicom_source_free };

/* ---- Header ---- */

static gboolean
parse_uint (const char *text, guint max, guint *value)
{
  guint64 v;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, max, &v, NULL))
    return FALSE;
  *value = (guint) v;
  return TRUE;
}

/* An unsigned header value: @fallback when absent (G_MAXUINT: required). */
static gboolean
get_uint (DicomSource *source, const char *keyword, const char *tag, guint fallback,
          guint max, guint *value, GError **error)
{
  g_autofree char *text = picard_dcm_get_string (source->dcm, keyword);

  if (text == NULL)
    {
      if (fallback != G_MAXUINT)
        {
          *value = fallback;
          return TRUE;
        }
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: the DICOM header lacks %s %s, so it is not a readable image; "
                   "choose an image file", source->name, keyword, tag);
      return FALSE;
    }
  if (!parse_uint (text, max, value))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: %s %s is \"%s\", not a number from 0 to %u; the header is damaged",
                   source->name, keyword, tag, text, max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_double (PicardDcm *dcm, const char *path, double *value)
{
  g_autofree char *text = picard_dcm_get_string (dcm, path);
  char *end = NULL;

  if (text == NULL)
    return FALSE;
  *value = g_ascii_strtod (text, &end);
  return end != text && *end == '\0' && isfinite (*value);
}

/* Window centre/width: top level, else shared functional groups, else the first frame's. */
static void
read_window (PicardDcm *dcm, PicardVolumeInfo *info)
{
  static const char *const prefixes[] = {
    "",
    "SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0].",
    "PerFrameFunctionalGroupsSequence[0].FrameVOILUTSequence[0].",
  };

  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      g_autofree char *center = g_strconcat (prefixes[i], "WindowCenter", NULL);
      g_autofree char *width = g_strconcat (prefixes[i], "WindowWidth", NULL);
      double c, w;

      if (get_double (dcm, center, &c) && get_double (dcm, width, &w) && w > 0)
        {
          info->has_window = TRUE;
          info->window_center = c;
          info->window_width = w;
          return;
        }
    }
}

static PicardLaterality
laterality_from (const char *text)
{
  if (g_strcmp0 (text, "L") == 0)
    return PICARD_LATERALITY_LEFT;
  if (g_strcmp0 (text, "R") == 0)
    return PICARD_LATERALITY_RIGHT;
  return PICARD_LATERALITY_UNKNOWN;
}

static PicardLaterality
read_laterality (PicardDcm *dcm)
{
  static const char *const paths[] = {
    "SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality",
    "PerFrameFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality",
    "ImageLaterality",
    "Laterality",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *text = picard_dcm_get_string (dcm, paths[i]);
      PicardLaterality laterality = laterality_from (text);

      if (laterality != PICARD_LATERALITY_UNKNOWN)
        return laterality;
    }
  return PICARD_LATERALITY_UNKNOWN;
}

/* Mammography views by SNOMED CT code, legacy SNOMED-RT code and meaning. */
static const struct {
  const char *view;
  const char *sct;
  const char *srt;
  const char *meaning; /* lower case, without spaces and hyphens */
} views[] = {
  { "CC", "399162004", "R-10242", "craniocaudal" },
  { "MLO", "399368009", "R-10226", "mediolateraloblique" },
  { "ML", "399260004", "R-10224", "mediolateral" },
  { "LM", "399352003", "R-10228", "lateromedial" },
  { "XCCL", "399192003", "R-1024A", "craniocaudalexaggeratedlaterally" },
  { "XCCM", "399101009", "R-1024B", "craniocaudalexaggeratedmedially" },
};

static char *
read_view (PicardDcm *dcm)
{
  g_autofree char *code = picard_dcm_get_string (dcm, "ViewCodeSequence[0].CodeValue");
  g_autofree char *meaning = picard_dcm_get_string (dcm, "ViewCodeSequence[0].CodeMeaning");
  g_autofree char *position = NULL;

  if (meaning != NULL)
    {
      g_autoptr(GString) squashed = g_string_new (NULL);

      for (const char *p = meaning; *p != '\0'; p++)
        if (g_ascii_isalpha (*p))
          g_string_append_c (squashed, g_ascii_tolower (*p));
      for (guint i = 0; i < G_N_ELEMENTS (views); i++)
        if (strcmp (squashed->str, views[i].meaning) == 0)
          return g_strdup (views[i].view);
    }
  for (guint i = 0; code != NULL && i < G_N_ELEMENTS (views); i++)
    if (strcmp (code, views[i].sct) == 0 || strcmp (code, views[i].srt) == 0)
      return g_strdup (views[i].view);
  position = picard_dcm_get_string (dcm, "ViewPosition");
  if (position != NULL)
    return g_steal_pointer (&position);
  return g_steal_pointer (&meaning);
}

/* Whether a fragment starts a new frame, for files without an offset table. */
static gboolean
starts_frame (DicomSource *source, const guint8 *head, guint32 length)
{
  static const guint8 jp2[12] = { 0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20,
                                  0x0d, 0x0a, 0x87, 0x0a };

  if (source->codec == CODEC_J2K)
    return (length >= 4 && head[0] == 0xff && head[1] == 0x4f && head[2] == 0xff
            && head[3] == 0x51)
           || (length >= 12 && memcmp (head, jp2, 12) == 0);
  /* JPEG and JPEG-LS frames open with SOI. */
  return length >= 2 && head[0] == 0xff && head[1] == 0xd8;
}

static gboolean
mismatch (DicomSource *source, guint found, GError **error)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: the header says %u frames (NumberOfFrames) but the pixel data hold %u; "
               "the file is inconsistent or truncated, re-export it", source->name,
               source->frames, found);
  return FALSE;
}

/* Maps frames onto fragments: the basic offset table when present, else one fragment per
 * frame, else every fragment for a single frame, else the frames' start markers. */
static gboolean
map_fragments (DicomSource *source, const char *uid, guint n_fragments, GError **error)
{
  guint32 table_length = 0;
  char *message = NULL;
  guint frames = source->frames;

  source->first_fragment = g_new0 (guint, frames);
  source->n_fragments = g_new0 (guint, frames);
  source->fragment_lengths = g_new0 (guint32, n_fragments);
  for (guint k = 0; k < n_fragments; k++)
    if (!picard_dcm_get_item_length (source->dcm, k + 1, &source->fragment_lengths[k],
                                     &message))
      return frame_error (source, 0, message, error);
  if (!picard_dcm_get_item_length (source->dcm, 0, &table_length, &message))
    return frame_error (source, 0, message, error);

  if (table_length > 0)
    {
      g_autofree guint32 *offsets = NULL;
      guint64 position = 0;
      guint k = 0;

      if (table_length % 4 != 0 || table_length / 4 != frames)
        return mismatch (source, table_length / 4, error);
      offsets = g_new (guint32, frames);
      if (!picard_dcm_read_item (source->dcm, 0, 0, offsets, table_length, &message))
        return frame_error (source, 0, message, error);
      for (guint i = 0; i < frames; i++)
        {
          guint32 offset = GUINT32_FROM_LE (offsets[i]);

          /* Walk to the fragment that starts at this offset (item headers are 8 bytes). */
          while (k < n_fragments && position < offset)
            position += 8 + (guint64) source->fragment_lengths[k++];
          if (k >= n_fragments || position != offset || (i > 0 && k <= source->first_fragment[i - 1]))
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                           "%s: the basic offset table entry of frame %u (%u) does not point "
                           "at a fragment; the file is damaged, re-export it", source->name,
                           i + 1, offset);
              return FALSE;
            }
          source->first_fragment[i] = k;
          if (i > 0)
            source->n_fragments[i - 1] = k - source->first_fragment[i - 1];
        }
      source->n_fragments[frames - 1] = n_fragments - source->first_fragment[frames - 1];
      return TRUE;
    }

  if (n_fragments == frames)
    {
      for (guint i = 0; i < frames; i++)
        {
          source->first_fragment[i] = i;
          source->n_fragments[i] = 1;
        }
      return TRUE;
    }
  if (frames == 1)
    {
      source->n_fragments[0] = n_fragments;
      return TRUE;
    }
  if (n_fragments < frames || g_strcmp0 (uid, "1.2.840.10008.1.2.5") == 0)
    return mismatch (source, n_fragments, error); /* RLE has one fragment per frame */

  {
    guint found = 0;

    for (guint k = 0; k < n_fragments; k++)
      {
        guint8 head[12] = { 0 };
        guint32 length = MIN (source->fragment_lengths[k], sizeof head);

        if (!picard_dcm_read_item (source->dcm, k + 1, 0, head, length, &message))
          return frame_error (source, 0, message, error);
        if (starts_frame (source, head, length))
          {
            if (found < frames)
              source->first_fragment[found] = k;
            found++;
          }
        else if (k == 0)
          {
            g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                         "%s: the first pixel data fragment does not start a frame; the "
                         "file is damaged, re-export it", source->name);
            return FALSE;
          }
      }
    if (found != frames)
      return mismatch (source, found, error);
    for (guint i = 0; i < frames; i++)
      source->n_fragments[i] = (i + 1 < frames ? source->first_fragment[i + 1] : n_fragments)
                               - source->first_fragment[i];
  }
  return TRUE;
}

/* Checks that the pixel data hold exactly the frames the header announces, and that the
 * file is long enough to hold them. */
static gboolean
check_pixels (DicomSource *source, const char *uid, GError **error)
{
  PicardDcmPixels pixels;
  char *message = NULL;
  guint8 probe[2];

  if (!picard_dcm_get_pixels (source->dcm, &pixels, &message))
    return frame_error (source, 0, message, error);
  if (!pixels.present)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: the DICOM file has no pixel data (7FE0,0010); it is not an image, "
                   "choose an image file", source->name);
      return FALSE;
    }
  if (pixels.encapsulated != (source->codec != CODEC_NATIVE))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the pixel data are %s but the transfer syntax says otherwise; the "
                   "file is damaged", source->name,
                   pixels.encapsulated ? "encapsulated" : "not encapsulated");
      return FALSE;
    }

  if (source->codec == CODEC_NATIVE)
    {
      guint64 frame = raw_frame_bytes (source);
      guint64 needed = frame * source->frames;

      guint32 tail = (guint32) MIN (needed, sizeof probe);

      /* Values are padded to an even length: one spare byte is no extra frame. */
      if (pixels.length < needed || pixels.length >= needed + MAX (frame, 2))
        return mismatch (source, (guint) MIN (pixels.length / frame, G_MAXUINT), error);
      /* Pixel data stay on disk: reading their last bytes proves the file is complete. */
      if (!picard_dcm_read_native (source->dcm, (guint32) (needed - tail), probe, tail,
                                   &message))
        return frame_error (source, source->frames - 1, message, error);
      return TRUE;
    }

  if (pixels.n_fragments == 0)
    return mismatch (source, 0, error);
  if (!map_fragments (source, uid, pixels.n_fragments, error))
    return FALSE;
  /* Same proof for the last fragment. */
  {
    guint last = pixels.n_fragments - 1;
    guint32 length = source->fragment_lengths[last];

    if (length > 0
        && !picard_dcm_read_item (source->dcm, last + 1, length - 1, probe, 1, &message))
      return frame_error (source, source->frames - 1, message, error);
  }
  return TRUE;
}

static gboolean
has_dicm_marker (const char *path, gboolean *empty, GError **error)
{
  guint8 head[132];
  ssize_t n;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, PICARD_ERROR, saved == ENOENT ? PICARD_ERROR_NOT_FOUND
                                                        : PICARD_ERROR_IO,
                   "%s: cannot open it: %s", path, g_strerror (saved));
      return FALSE;
    }
  n = read (fd, head, sizeof head);
  close (fd);
  *empty = n <= 0;
  return n == (ssize_t) sizeof head && memcmp (head + 128, "DICM", 4) == 0;
}

static PicardVolume *
open_file (const char *path, const char *name, int memfd, const PicardDicomLimits *limits,
           GError **error)
{
  g_autoptr(DicomSource) source = g_new0 (DicomSource, 1);
  PicardVolumeInfo info = { 0 };
  g_autofree char *uid = NULL;
  g_autofree char *photometric = NULL;
  char *message = NULL;
  guint samples = 1, high_bit, representation;
  gboolean dicm, empty = FALSE;
  GError *local = NULL;
  PicardDicomLimits defaults;

  if (limits == NULL)
    {
      picard_dicom_limits_init (&defaults);
      limits = &defaults;
    }
  g_mutex_init (&source->lock);
  source->memfd = memfd;
  source->name = g_strdup (name);

  picard_dcm_init ();
  dicm = has_dicm_marker (path, &empty, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (empty)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the file is empty; choose a DICOM file", name);
      return NULL;
    }
  source->dcm = picard_dcm_load (path, MAX_READ_LENGTH, &message);
  if (source->dcm == NULL)
    {
      if (dicm)
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                     "%s: the DICOM file is damaged or truncated: %s; re-export or "
                     "re-download it", name, message);
      else
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                     "%s: not a DICOM file (no DICM marker and DCMTK cannot parse it: %s); "
                     "choose a DICOM file or a folder of PNG slices", name, message);
      g_free (message);
      return NULL;
    }
  /* Without the DICM marker DCMTK parses almost anything as a bare dataset: demand an image. */
  if (!dicm)
    {
      g_autofree char *rows = picard_dcm_get_string (source->dcm, "Rows");
      g_autofree char *ts = picard_dcm_get_transfer_syntax (source->dcm);
      PicardDcmPixels pixels = { 0 };

      if (rows == NULL || ts == NULL || !picard_dcm_get_pixels (source->dcm, &pixels, NULL)
          || !pixels.present)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "%s: not a DICOM image (no DICM marker, no image in what DCMTK "
                       "parsed); choose a DICOM file or a folder of PNG slices", name);
          return NULL;
        }
    }

  if (!get_uint (source, "Rows", "(0028,0010)", G_MAXUINT, G_MAXUINT16, &source->rows, error)
      || !get_uint (source, "Columns", "(0028,0011)", G_MAXUINT, G_MAXUINT16,
                    &source->columns, error)
      || !get_uint (source, "NumberOfFrames", "(0028,0008)", 1, G_MAXINT32, &source->frames,
                    error)
      || !get_uint (source, "SamplesPerPixel", "(0028,0002)", 1, G_MAXUINT16, &samples, error)
      || !get_uint (source, "BitsAllocated", "(0028,0100)", G_MAXUINT, G_MAXUINT16,
                    &source->bits_allocated, error)
      || !get_uint (source, "BitsStored", "(0028,0101)", source->bits_allocated, G_MAXUINT16,
                    &source->bits_stored, error)
      || !get_uint (source, "HighBit", "(0028,0102)", source->bits_stored - 1, G_MAXUINT16,
                    &high_bit, error)
      || !get_uint (source, "PixelRepresentation", "(0028,0103)", 0, 1, &representation,
                    error))
    return NULL;

  if (source->rows == 0 || source->columns == 0 || source->frames == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the image is empty (%u frames of %u x %u); the header is damaged",
                   name, source->frames, source->rows, source->columns);
      return NULL;
    }
  if (source->rows > limits->max_rows || source->columns > limits->max_columns
      || source->frames > limits->max_frames
      || (guint64) source->frames * source->rows * source->columns * 2 > limits->max_total_bytes
      || (gsize) source->rows * source->columns * 2 > PICARD_VOLUME_MAX_FRAME_BYTES)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: %u frames of %u x %u exceed the limits (%u frames, %u x %u, "
                   "%" G_GUINT64_FORMAT " MiB); the header is probably damaged", name,
                   source->frames, source->rows, source->columns, limits->max_frames,
                   limits->max_rows, limits->max_columns, limits->max_total_bytes >> 20);
      return NULL;
    }

  photometric = picard_dcm_get_string (source->dcm, "PhotometricInterpretation");
  if (photometric == NULL && samples == 1)
    photometric = g_strdup ("MONOCHROME2");
  if (samples != 1 || (g_strcmp0 (photometric, "MONOCHROME2") != 0
                       && g_strcmp0 (photometric, "MONOCHROME1") != 0))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: a %s image (%u samples per pixel) is not supported; Picard Viewer "
                   "reads greyscale (MONOCHROME1 or MONOCHROME2) images only", name,
                   photometric != NULL ? photometric : "colour", samples);
      return NULL;
    }
  source->monochrome1 = g_strcmp0 (photometric, "MONOCHROME1") == 0;
  source->is_signed = representation == 1;
  if (source->bits_allocated != 8 && source->bits_allocated != 16)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: %u bits allocated per pixel are not supported; Picard Viewer reads "
                   "8- and 16-bit images", name, source->bits_allocated);
      return NULL;
    }
  if (source->bits_stored < 1 || source->bits_stored > source->bits_allocated)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: BitsStored %u does not fit BitsAllocated %u; the header is damaged",
                   name, source->bits_stored, source->bits_allocated);
      return NULL;
    }
  if (high_bit != source->bits_stored - 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: HighBit %u with BitsStored %u (bits not aligned at 0) is not "
                   "supported", name, high_bit, source->bits_stored);
      return NULL;
    }

  uid = picard_dcm_get_transfer_syntax (source->dcm);
  if (uid == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: the transfer syntax is unknown to DCMTK; convert the file to an "
                   "uncompressed syntax (e.g. with gdcmconv --raw)", name);
      return NULL;
    }
  if (g_strcmp0 (uid, UID_J2K_LOSSLESS) == 0 || g_strcmp0 (uid, UID_J2K) == 0)
    source->codec = CODEC_J2K;
  else if (!picard_dcm_transfer_syntax_is_encapsulated (uid))
    source->codec = CODEC_NATIVE;
  else if (picard_dcm_can_decode (uid))
    source->codec = CODEC_DCMTK;
  else
    {
      g_autofree char *ts_name = picard_dcm_transfer_syntax_name (uid);

      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: the transfer syntax %s (%s) is not supported; convert the file to "
                   "an uncompressed syntax (e.g. with gdcmconv --raw)", name, ts_name, uid);
      return NULL;
    }
  if (!check_pixels (source, uid, error))
    return NULL;

  info.path = g_strdup (name);
  info.format = g_strdup ("DICOM");
  info.patient_id = picard_dcm_get_string (source->dcm, "PatientID");
  info.study_instance_uid = picard_dcm_get_string (source->dcm, "StudyInstanceUID");
  info.series_instance_uid = picard_dcm_get_string (source->dcm, "SeriesInstanceUID");
  info.sop_class_uid = picard_dcm_get_string (source->dcm, "SOPClassUID");
  info.sop_instance_uid = picard_dcm_get_string (source->dcm, "SOPInstanceUID");
  info.transfer_syntax_uid = g_strdup (uid);
  info.transfer_syntax_name = picard_dcm_transfer_syntax_name (uid);
  info.photometric = g_steal_pointer (&photometric);
  info.view = read_view (source->dcm);
  info.header_laterality = read_laterality (source->dcm);
  info.bits_allocated = source->bits_allocated;
  info.bits_stored = source->bits_stored;
  info.frames = source->frames;
  info.rows = source->rows;
  info.columns = source->columns;
  read_window (source->dcm, &info);
  /* The window follows the values into unsigned MONOCHROME2 sense. */
  if (info.has_window && source->is_signed)
    info.window_center += (double) (1u << (source->bits_stored - 1));
  if (info.has_window && source->monochrome1)
    info.window_center = (double) ((1u << source->bits_stored) - 1) - info.window_center;

  return picard_volume_new_from_source (&info, &dicom_funcs, g_steal_pointer (&source));
}

PicardVolume *
picard_dicom_open_with_limits (const char *path, const PicardDicomLimits *limits,
                               GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return open_file (path, path, -1, limits, error);
}

PicardVolume *
picard_dicom_open (const char *path, GError **error)
{
  return picard_dicom_open_with_limits (path, NULL, error);
}

PicardVolume *
picard_dicom_open_memory (const guint8 *data, gsize size, const PicardDicomLimits *limits,
                          GError **error)
{
  g_autofree char *path = NULL;
  PicardVolume *volume;
  gsize done = 0;
  int fd;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A memory-backed file lets DCMTK read frames on demand exactly as from disk. */
  fd = memfd_create ("picard-dicom", MFD_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "memory: cannot create a file: %s",
                   g_strerror (errno));
      return NULL;
    }
  while (done < size)
    {
      ssize_t n = write (fd, data + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                       "memory: cannot fill a file: %s", g_strerror (errno));
          close (fd);
          return NULL;
        }
      done += (gsize) n;
    }
  path = g_strdup_printf ("/proc/self/fd/%d", fd);
  volume = open_file (path, "memory", fd, limits, error);
  /* On failure the source (and the descriptor) is gone already. */
  return volume;
}

/* ---- Writing ---- */

static const struct {
  const char *name;
  const char *uid;
} syntaxes[] = {
  [PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE] = { "explicit", "1.2.840.10008.1.2.1" },
  [PICARD_DICOM_SYNTAX_IMPLICIT_LITTLE] = { "implicit", "1.2.840.10008.1.2" },
  [PICARD_DICOM_SYNTAX_DEFLATED] = { "deflated", "1.2.840.10008.1.2.1.99" },
  [PICARD_DICOM_SYNTAX_RLE] = { "rle", "1.2.840.10008.1.2.5" },
  [PICARD_DICOM_SYNTAX_JPEG_LOSSLESS] = { "jpeg-lossless", "1.2.840.10008.1.2.4.70" },
  [PICARD_DICOM_SYNTAX_JPEG_LS] = { "jpeg-ls", "1.2.840.10008.1.2.4.80" },
  [PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS] = { "j2k-lossless", UID_J2K_LOSSLESS },
  [PICARD_DICOM_SYNTAX_JPEG2000] = { "j2k", UID_J2K },
};

gboolean
picard_dicom_syntax_from_name (const char *name, PicardDicomSyntax *syntax, GError **error)
{
  g_autoptr(GString) known = g_string_new (NULL);

  g_return_val_if_fail (name != NULL && syntax != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (syntaxes); i++)
    {
      if (strcmp (name, syntaxes[i].name) == 0)
        {
          *syntax = (PicardDicomSyntax) i;
          return TRUE;
        }
      g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", syntaxes[i].name);
    }
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
               "unknown transfer syntax \"%s\"; use one of %s", name, known->str);
  return FALSE;
}

const char *
picard_dicom_syntax_name (PicardDicomSyntax syntax)
{
  g_return_val_if_fail ((guint) syntax < G_N_ELEMENTS (syntaxes), NULL);
  return syntaxes[syntax].name;
}

const char *
picard_dicom_syntax_uid (PicardDicomSyntax syntax)
{
  g_return_val_if_fail ((guint) syntax < G_N_ELEMENTS (syntaxes), NULL);
  return syntaxes[syntax].uid;
}

/* Collects attribute writes; the first failure wins. */
typedef struct {
  PicardDcm *dcm;
  char *message;
} Writer;

static void
put (Writer *writer, const char *path, const char *value)
{
  if (writer->message == NULL)
    picard_dcm_put_string (writer->dcm, path, value, &writer->message);
}

static void
put_uint (Writer *writer, const char *path, guint value)
{
  char text[16];

  g_snprintf (text, sizeof text, "%u", value);
  put (writer, path, text);
}

static void
put_double (Writer *writer, const char *path, double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  /* DS values hold at most 16 characters. */
  put (writer, path, g_ascii_formatd (text, sizeof text, "%.8g", value));
}

static void
put_code (Writer *writer, const char *sequence, const char *value, const char *scheme,
          const char *meaning)
{
  g_autofree char *v = g_strconcat (sequence, "[0].CodeValue", NULL);
  g_autofree char *s = g_strconcat (sequence, "[0].CodingSchemeDesignator", NULL);
  g_autofree char *m = g_strconcat (sequence, "[0].CodeMeaning", NULL);

  put (writer, v, value);
  put (writer, s, scheme);
  put (writer, m, meaning);
}

static void
put_header (Writer *writer, const PicardDicomWriteParams *params, const char *view_code,
            const char *view_meaning)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y%m%d");
  g_autofree char *time_text = g_date_time_format (now, "%H%M%S");
  g_autofree char *date_time = g_date_time_format (now, "%Y%m%d%H%M%S");
  g_autofree char *study = params->study_instance_uid != NULL
                             ? g_strdup (params->study_instance_uid) : picard_dcm_new_uid ();
  g_autofree char *series = params->series_instance_uid != NULL
                              ? g_strdup (params->series_instance_uid) : picard_dcm_new_uid ();
  g_autofree char *instance = params->sop_instance_uid != NULL
                                ? g_strdup (params->sop_instance_uid) : picard_dcm_new_uid ();
  g_autofree char *frame_of_reference = picard_dcm_new_uid ();
  const char *laterality = params->laterality == PICARD_LATERALITY_LEFT    ? "L"
                           : params->laterality == PICARD_LATERALITY_RIGHT ? "R"
                                                                           : "U";

  /* SOP common, patient, study, series, frame of reference, equipment. */
  put (writer, "SpecificCharacterSet", "ISO_IR 192");
  put (writer, "SOPClassUID", PICARD_SOP_CLASS_BREAST_TOMOSYNTHESIS);
  put (writer, "SOPInstanceUID", instance);
  put (writer, "PatientName", "");
  put (writer, "PatientID", params->patient_id != NULL ? params->patient_id : "");
  put (writer, "PatientBirthDate", "");
  put (writer, "PatientSex", "F");
  put (writer, "StudyInstanceUID", study);
  put (writer, "StudyDate", date);
  put (writer, "StudyTime", time_text);
  put (writer, "ReferringPhysicianName", "");
  put (writer, "StudyID", "");
  put (writer, "AccessionNumber", "");
  put (writer, "Modality", "MG");
  put (writer, "SeriesInstanceUID", series);
  put (writer, "SeriesNumber", "1");
  put (writer, "FrameOfReferenceUID", frame_of_reference);
  put (writer, "PositionReferenceIndicator", "");
  put (writer, "Manufacturer", "Picard Viewer");
  put (writer, "ManufacturerModelName", "Picard Viewer");
  put (writer, "DeviceSerialNumber", "0");
  put (writer, "SoftwareVersions", PICARD_VERSION);

  /* Breast tomosynthesis image and multi-frame functional groups. */
  put (writer, "ImageType", "DERIVED\\PRIMARY\\TOMOSYNTHESIS\\NONE");
  put (writer, "InstanceNumber", "1");
  put (writer, "ContentDate", date);
  put (writer, "ContentTime", time_text);
  put (writer, "AcquisitionDateTime", date_time);
  put (writer, "PresentationIntentType", "FOR PRESENTATION");
  put (writer, "BurnedInAnnotation", "NO");
  put (writer, "VolumetricProperties", "VOLUME");
  put (writer, "ImageLaterality", laterality);
  put_uint (writer, "NumberOfFrames", params->frames);
  if (view_code != NULL)
    put_code (writer, "ViewCodeSequence", view_code, "SCT", view_meaning);

  /* Image pixel. */
  put (writer, "SamplesPerPixel", "1");
  put (writer, "PhotometricInterpretation", "MONOCHROME2");
  put_uint (writer, "Rows", params->rows);
  put_uint (writer, "Columns", params->columns);
  put (writer, "BitsAllocated", "16");
  put_uint (writer, "BitsStored", params->bits_stored);
  put_uint (writer, "HighBit", params->bits_stored - 1);
  put (writer, "PixelRepresentation", "0");

  put_double (writer, "SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0].WindowCenter",
              params->window_center);
  put_double (writer, "SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0].WindowWidth",
              params->window_width);
  put (writer, "SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].FrameLaterality",
       laterality);
  put_code (writer,
            "SharedFunctionalGroupsSequence[0].FrameAnatomySequence[0].AnatomicRegionSequence",
            "76752008", "SCT", "Breast");
  put (writer, "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing",
       "0.1\\0.1");
  put (writer, "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness",
       "1");
  for (guint i = 0; i < params->frames && writer->message == NULL; i++)
    {
      g_autofree char *stack = g_strdup_printf (
        "PerFrameFunctionalGroupsSequence[%u].FrameContentSequence[0].StackID", i);
      g_autofree char *position = g_strdup_printf (
        "PerFrameFunctionalGroupsSequence[%u].FrameContentSequence[0].InStackPositionNumber",
        i);

      put (writer, stack, "1");
      put_uint (writer, position, i + 1);
    }
}

static gboolean
check_params (const char *path, const PicardDicomWriteParams *params, const guint16 *frames,
              const char **view_code, const char **view_meaning, GError **error)
{
  gsize count;
  guint16 limit;

  if (params->rows == 0 || params->columns == 0 || params->frames == 0
      || params->rows > PICARD_VOLUME_MAX_ROWS || params->columns > PICARD_VOLUME_MAX_COLUMNS
      || params->frames > PICARD_VOLUME_MAX_FRAMES
      || (guint64) params->frames * params->rows * params->columns * 2 > G_MAXUINT32 - 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: cannot write %u frames of %u x %u: sizes must be positive, within "
                   "the volume limits and below 4 GiB of pixel data", path, params->frames,
                   params->rows, params->columns);
      return FALSE;
    }
  if (params->bits_stored < 1 || params->bits_stored > 16)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: BitsStored must be 1 to 16, not %u", path, params->bits_stored);
      return FALSE;
    }
  if (!isfinite (params->window_center) || !isfinite (params->window_width)
      || params->window_width <= 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: the window needs a finite centre and a positive width", path);
      return FALSE;
    }
  *view_code = NULL;
  *view_meaning = NULL;
  if (g_strcmp0 (params->view, "CC") == 0)
    {
      *view_code = views[0].sct;
      *view_meaning = "cranio-caudal";
    }
  else if (g_strcmp0 (params->view, "MLO") == 0)
    {
      *view_code = views[1].sct;
      *view_meaning = "medio-lateral oblique";
    }
  else if (params->view != NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: unknown view \"%s\"; use CC or MLO", path, params->view);
      return FALSE;
    }
  count = (gsize) params->frames * params->rows * params->columns;
  limit = (guint16) ((1u << params->bits_stored) - 1);
  for (gsize i = 0; i < count; i++)
    if (frames[i] > limit)
      {
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                     "%s: value %u at frame %" G_GSIZE_FORMAT " does not fit in %u bits "
                     "stored", path, frames[i], i / ((gsize) params->rows * params->columns) + 1,
                     params->bits_stored);
        return FALSE;
      }
  return TRUE;
}

/* Encodes every frame with OpenJPEG into one fragment each. */
static gboolean
put_j2k (Writer *writer, const PicardDicomWriteParams *params, const guint16 *frames,
         gboolean lossless, const char *path, GError **error)
{
  gsize frame = (gsize) params->rows * params->columns;
  g_autoptr(GPtrArray) encoded = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree const guint8 **data = g_new (const guint8 *, params->frames);
  g_autofree gsize *lengths = g_new (gsize, params->frames);
  guint64 total = 0;

  for (guint i = 0; i < params->frames; i++)
    {
      GBytes *bytes = picard_j2k_encode (frames + i * frame, params->rows, params->columns,
                                         params->bits_stored, lossless, error);

      if (bytes == NULL)
        {
          g_prefix_error (error, "%s: frame %u: ", path, i + 1);
          return FALSE;
        }
      g_ptr_array_add (encoded, bytes);
      data[i] = g_bytes_get_data (bytes, &lengths[i]);
      total += lengths[i];
    }
  if (!lossless)
    {
      put (writer, "LossyImageCompression", "01");
      put_double (writer, "LossyImageCompressionRatio",
                  (double) frame * 2 * params->frames / (double) MAX (total, 1));
      put (writer, "LossyImageCompressionMethod", "ISO_15444_1");
    }
  else
    put (writer, "LossyImageCompression", "00");
  if (writer->message == NULL)
    picard_dcm_put_encapsulated (writer->dcm, lossless ? UID_J2K_LOSSLESS : UID_J2K,
                                 params->frames, data, lengths, &writer->message);
  return TRUE;
}

static gboolean
sync_path (const char *path, int flags)
{
  int fd = g_open (path, flags | O_CLOEXEC, 0);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

gboolean
picard_dicom_write (const char *path, const PicardDicomWriteParams *params,
                    const guint16 *frames, PicardDicomSyntax syntax, GError **error)
{
  Writer writer = { NULL, NULL };
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *temp = NULL;
  const char *view_code, *view_meaning;
  gboolean ok = FALSE;
  int fd;

  g_return_val_if_fail (path != NULL && params != NULL && frames != NULL, FALSE);
  g_return_val_if_fail ((guint) syntax < G_N_ELEMENTS (syntaxes), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_params (path, params, frames, &view_code, &view_meaning, error))
    return FALSE;

  picard_dcm_init ();
  writer.dcm = picard_dcm_new ();
  put_header (&writer, params, view_code, view_meaning);
  if (syntax == PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS || syntax == PICARD_DICOM_SYNTAX_JPEG2000)
    {
      if (!put_j2k (&writer, params, frames, syntax == PICARD_DICOM_SYNTAX_JPEG2000_LOSSLESS,
                    path, error))
        goto out;
    }
  else
    {
      put (&writer, "LossyImageCompression", "00");
      if (writer.message == NULL)
        picard_dcm_put_native (writer.dcm, frames,
                               (gsize) params->frames * params->rows * params->columns,
                               &writer.message);
    }
  if (writer.message != NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "%s: cannot build the DICOM data: %s",
                   path, writer.message);
      goto out;
    }

  /* Atomic: a complete temporary file in the same folder replaces the target. */
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  temp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (temp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO,
                   "%s: cannot create a file in %s: %s; check the folder exists and is "
                   "writable", path, dir, g_strerror (errno));
      goto out;
    }
  close (fd);
  if (!picard_dcm_save (writer.dcm, temp, syntaxes[syntax].uid, &writer.message))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "%s: cannot write it: %s; check "
                   "the disk space", path, writer.message);
      g_unlink (temp);
      goto out;
    }
  if (!sync_path (temp, O_RDWR) || g_rename (temp, path) != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "%s: cannot store it: %s; check "
                   "the disk space and permissions", path, g_strerror (errno));
      g_unlink (temp);
      goto out;
    }
  sync_path (dir, O_RDONLY | O_DIRECTORY);
  ok = TRUE;

out:
  g_free (writer.message);
  picard_dcm_free (writer.dcm);
  return ok;
}
