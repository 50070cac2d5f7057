/* picard-j2k.c: JPEG 2000 decode and encode from memory with OpenJPEG. */
#include "picard-j2k.h"

#include <openjpeg.h>
#include <string.h>

#include "picard-error.h"

/* Peak signal to noise ratio of lossy frames: far above what a reader notices on 10-bit
 * DBT data, yet it halves the size of a lossless frame. */
#define LOSSY_PSNR_DB 55.0f

static guint j2k_threads = 0;

void
picard_j2k_set_threads (guint threads)
{
  g_atomic_int_set (&j2k_threads, threads);
}

static void
set_codec_threads (opj_codec_t *codec)
{
  guint threads = g_atomic_int_get (&j2k_threads);

  if (threads == 0)
    threads = g_get_num_processors ();
  /* Without thread support OpenJPEG decodes on the calling thread: still correct. */
  if (threads > 1 && opj_has_thread_support ())
    opj_codec_set_threads (codec, (int) MIN (threads, 64));
}

/* OpenJPEG's first error, kept for the GError; its handlers may run on worker threads. */
typedef struct {
  GMutex lock;
  char *first_error;
} Messages;

static void
on_error (const char *msg, void *data)
{
  Messages *messages = data;

  g_mutex_lock (&messages->lock);
  if (messages->first_error == NULL)
    messages->first_error = g_strchomp (g_strdup (msg));
  g_mutex_unlock (&messages->lock);
}

static void
on_quiet (const char *msg, void *data)
{
}

static void
messages_init (Messages *messages, opj_codec_t *codec)
{
  g_mutex_init (&messages->lock);
  messages->first_error = NULL;
  opj_set_error_handler (codec, on_error, messages);
  opj_set_warning_handler (codec, on_quiet, NULL);
  opj_set_info_handler (codec, on_quiet, NULL);
}

static void
messages_clear (Messages *messages)
{
  g_free (messages->first_error);
  g_mutex_clear (&messages->lock);
}

static const char *
messages_text (Messages *messages)
{
  return messages->first_error != NULL ? messages->first_error : "no detail from OpenJPEG";
}

/* A read-only stream over a buffer. */
typedef struct {
  const guint8 *data;
  gsize size;
  gsize pos;
} Reader;

static OPJ_SIZE_T
reader_read (void *buffer, OPJ_SIZE_T n, void *user)
{
  Reader *reader = user;

  if (reader->pos >= reader->size)
    return (OPJ_SIZE_T) -1;
  n = MIN (n, reader->size - reader->pos);
  memcpy (buffer, reader->data + reader->pos, n);
  reader->pos += n;
  return n;
}

static OPJ_OFF_T
reader_skip (OPJ_OFF_T n, void *user)
{
  Reader *reader = user;

  if (n < 0)
    {
      if ((guint64) -n > reader->pos)
        return -1;
      reader->pos -= (gsize) -n;
      return n;
    }
  if (reader->pos >= reader->size && n > 0)
    return -1;
  n = (OPJ_OFF_T) MIN ((guint64) n, reader->size - reader->pos);
  reader->pos += (gsize) n;
  return n;
}

static OPJ_BOOL
reader_seek (OPJ_OFF_T n, void *user)
{
  Reader *reader = user;

  if (n < 0 || (guint64) n > reader->size)
    return OPJ_FALSE;
  reader->pos = (gsize) n;
  return OPJ_TRUE;
}

/* A growing output buffer; OpenJPEG seeks back to patch marker lengths. */
typedef struct {
  GByteArray *bytes;
  gsize pos;
} Writer;

static gboolean
writer_reserve (Writer *writer, gsize end)
{
  if (end > G_MAXUINT)
    return FALSE;
  if (end > writer->bytes->len)
    {
      guint old = writer->bytes->len;

      g_byte_array_set_size (writer->bytes, (guint) end);
      memset (writer->bytes->data + old, 0, end - old);
    }
  return TRUE;
}

static OPJ_SIZE_T
writer_write (void *buffer, OPJ_SIZE_T n, void *user)
{
  Writer *writer = user;

  if (!writer_reserve (writer, writer->pos + n))
    return (OPJ_SIZE_T) -1;
  memcpy (writer->bytes->data + writer->pos, buffer, n);
  writer->pos += n;
  return n;
}

static OPJ_OFF_T
writer_skip (OPJ_OFF_T n, void *user)
{
  Writer *writer = user;

  if (n < 0 ? (guint64) -n > writer->pos : !writer_reserve (writer, writer->pos + (gsize) n))
    return -1;
  writer->pos = n < 0 ? writer->pos - (gsize) -n : writer->pos + (gsize) n;
  return n;
}

static OPJ_BOOL
writer_seek (OPJ_OFF_T n, void *user)
{
  Writer *writer = user;

  if (n < 0 || !writer_reserve (writer, (gsize) n))
    return OPJ_FALSE;
  writer->pos = (gsize) n;
  return OPJ_TRUE;
}

static const guint8 jp2_signature[12] = { 0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20,
                                          0x0d, 0x0a, 0x87, 0x0a };
static const guint8 j2k_signature[4] = { 0xff, 0x4f, 0xff, 0x51 };

/* Opens a decoder on @reader and reads the main header. */
static gboolean
open_decoder (Reader *reader, opj_codec_t **codec_out, opj_stream_t **stream_out,
              opj_image_t **image_out, Messages *messages, GError **error)
{
  OPJ_CODEC_FORMAT format;
  opj_dparameters_t params;
  opj_codec_t *codec;
  opj_stream_t *stream;

  *codec_out = NULL;
  *stream_out = NULL;
  *image_out = NULL;
  if (reader->size >= sizeof jp2_signature
      && memcmp (reader->data, jp2_signature, sizeof jp2_signature) == 0)
    format = OPJ_CODEC_JP2;
  else if (reader->size >= sizeof j2k_signature
           && memcmp (reader->data, j2k_signature, sizeof j2k_signature) == 0)
    format = OPJ_CODEC_J2K;
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the frame is not a JPEG 2000 codestream (no FF 4F FF 51 or JP2 "
                   "signature at its start)");
      return FALSE;
    }

  codec = opj_create_decompress (format);
  messages_init (messages, codec);
  opj_set_default_decoder_parameters (&params);
  if (!opj_setup_decoder (codec, &params))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "OpenJPEG could not set up a decoder: %s", messages_text (messages));
      opj_destroy_codec (codec);
      messages_clear (messages);
      return FALSE;
    }
  set_codec_threads (codec);

  stream = opj_stream_create (64 * 1024, OPJ_TRUE);
  opj_stream_set_read_function (stream, reader_read);
  opj_stream_set_skip_function (stream, reader_skip);
  opj_stream_set_seek_function (stream, reader_seek);
  opj_stream_set_user_data (stream, reader, NULL);
  opj_stream_set_user_data_length (stream, reader->size);

  *codec_out = codec;
  *stream_out = stream;
  if (!opj_read_header (stream, codec, image_out))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the JPEG 2000 header is unreadable: %s", messages_text (messages));
      return FALSE;
    }
  return TRUE;
}

static void
close_decoder (opj_codec_t *codec, opj_stream_t *stream, opj_image_t *image)
{
  if (image != NULL)
    opj_image_destroy (image);
  if (stream != NULL)
    opj_stream_destroy (stream);
  if (codec != NULL)
    opj_destroy_codec (codec);
}

static gboolean
describe (opj_image_t *image, PicardJ2kInfo *info, GError **error)
{
  memset (info, 0, sizeof *info);
  if (image->numcomps < 1 || image->x1 <= image->x0 || image->y1 <= image->y0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the JPEG 2000 codestream describes an empty image");
      return FALSE;
    }
  info->columns = image->x1 - image->x0;
  info->rows = image->y1 - image->y0;
  info->components = image->numcomps;
  info->precision = image->comps[0].prec;
  info->is_signed = image->comps[0].sgnd != 0;
  return TRUE;
}

gboolean
picard_j2k_probe (const guint8 *data, gsize size, PicardJ2kInfo *info, GError **error)
{
  Reader reader = { data, size, 0 };
  opj_codec_t *codec;
  opj_stream_t *stream;
  opj_image_t *image;
  Messages messages;
  gboolean ok;

  g_return_val_if_fail (data != NULL || size == 0, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  ok = open_decoder (&reader, &codec, &stream, &image, &messages, error)
       && describe (image, info, error);
  if (codec != NULL)
    messages_clear (&messages);
  close_decoder (codec, stream, image);
  return ok;
}

gboolean
picard_j2k_decode (const guint8 *data, gsize size, guint rows, guint columns, guint16 *out,
                   PicardJ2kInfo *info, GError **error)
{
  Reader reader = { data, size, 0 };
  opj_codec_t *codec;
  opj_stream_t *stream;
  opj_image_t *image;
  opj_image_comp_t *comp;
  PicardJ2kInfo local;
  Messages messages;
  gboolean ok = FALSE;

  g_return_val_if_fail (data != NULL || size == 0, FALSE);
  g_return_val_if_fail (out != NULL && rows > 0 && columns > 0, FALSE);

  if (info == NULL)
    info = &local;
  if (!open_decoder (&reader, &codec, &stream, &image, &messages, error)
      || !describe (image, info, error))
    goto out;
  if (info->components != 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "the JPEG 2000 frame has %u components; only greyscale (1) is supported",
                   info->components);
      goto out;
    }
  if (info->precision < 1 || info->precision > 16)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "the JPEG 2000 frame has %u-bit samples; at most 16 are supported",
                   info->precision);
      goto out;
    }
  if (info->rows != rows || info->columns != columns)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the JPEG 2000 frame is %u x %u but the DICOM header says %u x %u",
                   info->rows, info->columns, rows, columns);
      goto out;
    }
  /* Check the sizes before decoding: OpenJPEG allocates from them. */
  comp = &image->comps[0];
  if (comp->dx != 1 || comp->dy != 1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "the JPEG 2000 frame is subsampled (%u x %u)", comp->dx, comp->dy);
      goto out;
    }
  if (!opj_decode (codec, stream, image) || !opj_end_decompress (codec, stream))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the JPEG 2000 frame does not decode: %s", messages_text (&messages));
      goto out;
    }
  comp = &image->comps[0];
  if (comp->data == NULL || comp->w != columns || comp->h != rows)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "the JPEG 2000 frame decoded to an unexpected size");
      goto out;
    }
  /* Keep the stored bits: signed samples become two's complement, masked by the caller. */
  for (gsize i = 0; i < (gsize) rows * columns; i++)
    out[i] = (guint16) (guint32) comp->data[i];
  ok = TRUE;

out:
  if (codec != NULL)
    messages_clear (&messages);
  close_decoder (codec, stream, image);
  return ok;
}

static guint
resolutions_for (guint rows, guint columns)
{
  guint levels = 6; /* OpenJPEG's default: 5 decompositions */

  /* Each decomposition halves the smaller side; it must stay at least one sample. */
  while (levels > 1 && (1u << (levels - 1)) > MIN (rows, columns))
    levels--;
  return levels;
}

GBytes *
picard_j2k_encode (const guint16 *pixels, guint rows, guint columns, guint bits_stored,
                   gboolean lossless, GError **error)
{
  opj_cparameters_t params;
  opj_image_cmptparm_t cmpt = { 0 };
  opj_image_t *image;
  opj_codec_t *codec;
  opj_stream_t *stream;
  Writer writer;
  Messages messages;
  guint16 mask;
  gboolean ok;

  g_return_val_if_fail (pixels != NULL && rows > 0 && columns > 0, NULL);
  g_return_val_if_fail (bits_stored >= 1 && bits_stored <= 16, NULL);

  opj_set_default_encoder_parameters (&params);
  params.tcp_numlayers = 1;
  params.numresolution = (int) resolutions_for (rows, columns);
  if (lossless)
    {
      params.irreversible = 0;
      params.tcp_rates[0] = 0;
      params.cp_disto_alloc = 1;
    }
  else
    {
      params.irreversible = 1;
      params.tcp_distoratio[0] = LOSSY_PSNR_DB;
      params.cp_fixed_quality = 1;
    }

  cmpt.dx = 1;
  cmpt.dy = 1;
  cmpt.w = columns;
  cmpt.h = rows;
  cmpt.prec = bits_stored;
  cmpt.sgnd = 0;
  image = opj_image_create (1, &cmpt, OPJ_CLRSPC_GRAY);
  if (image == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "not enough memory to encode a %u x %u frame", rows, columns);
      return NULL;
    }
  image->x0 = 0;
  image->y0 = 0;
  image->x1 = columns;
  image->y1 = rows;
  mask = (guint16) ((1u << bits_stored) - 1);
  for (gsize i = 0; i < (gsize) rows * columns; i++)
    image->comps[0].data[i] = pixels[i] & mask;

  codec = opj_create_compress (OPJ_CODEC_J2K);
  messages_init (&messages, codec);
  writer.bytes = g_byte_array_new ();
  writer.pos = 0;
  stream = opj_stream_create (1024 * 1024, OPJ_FALSE);
  opj_stream_set_write_function (stream, writer_write);
  opj_stream_set_skip_function (stream, writer_skip);
  opj_stream_set_seek_function (stream, writer_seek);
  opj_stream_set_user_data (stream, &writer, NULL);

  ok = opj_setup_encoder (codec, &params, image);
  if (ok)
    set_codec_threads (codec);
  ok = ok && opj_start_compress (codec, image, stream) && opj_encode (codec, stream)
       && opj_end_compress (codec, stream);
  if (!ok)
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                 "OpenJPEG could not encode a %u x %u frame: %s", rows, columns,
                 messages_text (&messages));

  opj_stream_destroy (stream);
  opj_destroy_codec (codec);
  opj_image_destroy (image);
  messages_clear (&messages);
  if (!ok)
    {
      g_byte_array_unref (writer.bytes);
      return NULL;
    }
  return g_byte_array_free_to_bytes (writer.bytes);
}
