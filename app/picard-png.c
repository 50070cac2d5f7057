#include "picard-png.h"

#include "picard-error.h"
#include "picard-volume.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <png.h>
#include <string.h>

/* Ancillary chunks (text, ICC profiles) above this are refused: slices need none. */
#define MAX_CHUNK_BYTES ((png_alloc_size_t) 8 * 1024 * 1024)

/* All state lives here, not in locals, so that nothing is clobbered by libpng's longjmp. */
typedef struct {
  const char *path;
  FILE *fp;
  png_structp png;
  png_infop info;
  PicardPngInfo header;
  guint color_type;
  guint16 *pixels; /* destination, width*height values */
  png_bytep *rows;
  GByteArray *encoded;
  const void *source;
  char message[256];
} PngJob;

static void
on_png_error (png_structp png, png_const_charp message)
{
  PngJob *job = png_get_error_ptr (png);

  g_strlcpy (job->message, message, sizeof job->message);
  png_longjmp (png, 1);
}

static void
on_png_warning (png_structp png, png_const_charp message)
{
  /* Benign problems (unknown chunks, bad gamma) do not matter for grey stored values. */
}

static const char *
color_type_name (guint color_type)
{
  switch (color_type)
    {
    case PNG_COLOR_TYPE_PALETTE:
      return "a palette (indexed colour)";
    case PNG_COLOR_TYPE_RGB:
      return "an RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return "an RGBA";
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return "a grey with alpha";
    default:
      return "an unknown colour type";
    }
}

G_GNUC_NO_INLINE static void
read_header (PngJob *job)
{
  png_uint_32 width, height;
  int bit_depth, color_type, interlace;

  png_init_io (job->png, job->fp);
  png_set_sig_bytes (job->png, 8);
  png_set_user_limits (job->png, PICARD_VOLUME_MAX_COLUMNS, PICARD_VOLUME_MAX_ROWS);
  png_set_chunk_malloc_max (job->png, MAX_CHUNK_BYTES);
  png_read_info (job->png, job->info);
  png_get_IHDR (job->png, job->info, &width, &height, &bit_depth, &color_type, &interlace,
                NULL, NULL);
  job->header.width = width;
  job->header.height = height;
  job->header.bit_depth = bit_depth == 16 ? 16 : 8;
  job->color_type = color_type;
  if (color_type != PNG_COLOR_TYPE_GRAY)
    return;
  if (bit_depth < 8)
    png_set_expand_gray_1_2_4_to_8 (job->png);
  if (bit_depth == 16 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (job->png);
  png_set_interlace_handling (job->png);
  png_read_update_info (job->png, job->info);
}

G_GNUC_NO_INLINE static void
read_pixels (PngJob *job)
{
  gsize n = (gsize) job->header.width * job->header.height;
  guint8 *bytes = (guint8 *) job->pixels;

  /* 8-bit rows are decoded into the front of the buffer, then widened from the end so
   * that no byte is overwritten before it is read. */
  for (guint r = 0; r < job->header.height; r++)
    job->rows[r] = job->header.bit_depth == 16
                   ? (png_bytep) (job->pixels + (gsize) r * job->header.width)
                   : bytes + (gsize) r * job->header.width;
  png_read_image (job->png, job->rows);
  png_read_end (job->png, NULL);
  if (job->header.bit_depth == 8)
    for (gsize i = n; i-- > 0;)
      job->pixels[i] = bytes[i];
}

static gboolean
guarded_read_header (PngJob *job)
{
  if (setjmp (png_jmpbuf (job->png)))
    return FALSE;
  read_header (job);
  return TRUE;
}

static gboolean
guarded_read_pixels (PngJob *job)
{
  if (setjmp (png_jmpbuf (job->png)))
    return FALSE;
  read_pixels (job);
  return TRUE;
}

static void
job_close (PngJob *job)
{
  if (job->png != NULL)
    png_destroy_read_struct (&job->png, job->info != NULL ? &job->info : NULL, NULL);
  if (job->fp != NULL)
    fclose (job->fp);
  g_free (job->rows);
}

/* Opens, checks the signature and reads the header; on failure sets @error. */
static gboolean
job_open (PngJob *job, const char *path, GError **error)
{
  png_byte signature[8];

  memset (job, 0, sizeof *job);
  job->path = path;
  job->fp = g_fopen (path, "rb");
  if (job->fp == NULL)
    {
      int saved = errno;

      g_set_error (error, PICARD_ERROR,
                   saved == ENOENT ? PICARD_ERROR_NOT_FOUND : PICARD_ERROR_IO,
                   "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (fread (signature, 1, sizeof signature, job->fp) != sizeof signature
      || png_sig_cmp (signature, 0, sizeof signature) != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: not a PNG file (no PNG signature)", path);
      return FALSE;
    }
  job->png = png_create_read_struct (PNG_LIBPNG_VER_STRING, job, on_png_error,
                                     on_png_warning);
  if (job->png != NULL)
    job->info = png_create_info_struct (job->png);
  if (job->png == NULL || job->info == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "%s: out of memory", path);
      return FALSE;
    }
  if (!guarded_read_header (job))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: damaged or unreadable PNG (%s)", path, job->message);
      return FALSE;
    }
  if (job->color_type != PNG_COLOR_TYPE_GRAY)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: %s PNG; slices must be grayscale PNGs of 8 or 16 bits "
                   "(convert it to grey first)", path, color_type_name (job->color_type));
      return FALSE;
    }
  return TRUE;
}

gboolean
picard_png_read_info (const char *path, PicardPngInfo *info, GError **error)
{
  PngJob job;
  gboolean ok;

  g_return_val_if_fail (path != NULL && info != NULL, FALSE);

  ok = job_open (&job, path, error);
  if (ok)
    *info = job.header;
  job_close (&job);
  return ok;
}

static gboolean
job_read_into (PngJob *job, guint16 *out, GError **error)
{
  job->pixels = out;
  job->rows = g_try_new (png_bytep, job->header.height);
  if (job->rows == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE, "%s: out of memory",
                   job->path);
      return FALSE;
    }
  if (!guarded_read_pixels (job))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: damaged or truncated PNG (%s)", job->path, job->message);
      return FALSE;
    }
  return TRUE;
}

guint16 *
picard_png_read (const char *path, PicardPngInfo *info, GError **error)
{
  PngJob job;
  guint16 *pixels = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (job_open (&job, path, error))
    {
      pixels = g_try_new (guint16, (gsize) job.header.width * job.header.height);
      if (pixels == NULL)
        g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                     "%s: not enough memory for a %u x %u image", path, job.header.width,
                     job.header.height);
      else if (!job_read_into (&job, pixels, error))
        g_clear_pointer (&pixels, g_free);
      else if (info != NULL)
        *info = job.header;
    }
  job_close (&job);
  return pixels;
}

gboolean
picard_png_read_into (const char *path, const PicardPngInfo *expect, guint16 *out,
                      GError **error)
{
  PngJob job;
  gboolean ok;

  g_return_val_if_fail (path != NULL && expect != NULL && out != NULL, FALSE);

  ok = job_open (&job, path, error);
  if (ok && (job.header.width != expect->width || job.header.height != expect->height
             || job.header.bit_depth != expect->bit_depth))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: now %u x %u, %u-bit, but it was %u x %u, %u-bit when the folder "
                   "was opened; open the folder again", path, job.header.width,
                   job.header.height, job.header.bit_depth, expect->width, expect->height,
                   expect->bit_depth);
      ok = FALSE;
    }
  if (ok)
    ok = job_read_into (&job, out, error);
  job_close (&job);
  return ok;
}

static void
on_png_write (png_structp png, png_bytep data, png_size_t length)
{
  PngJob *job = png_get_io_ptr (png);

  g_byte_array_append (job->encoded, data, length);
}

static void
on_png_flush (png_structp png)
{
}

G_GNUC_NO_INLINE static void
write_image (PngJob *job)
{
  const PicardPngInfo *h = &job->header;
  gsize row_bytes = (gsize) h->width * (h->bit_depth / 8);

  png_set_write_fn (job->png, job, on_png_write, on_png_flush);
  png_set_IHDR (job->png, job->info, h->width, h->height, h->bit_depth, PNG_COLOR_TYPE_GRAY,
                PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (job->png, job->info);
  if (h->bit_depth == 16 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (job->png);
  for (guint r = 0; r < h->height; r++)
    png_write_row (job->png, (png_const_bytep) job->source + (gsize) r * row_bytes);
  png_write_end (job->png, NULL);
}

static gboolean
guarded_write (PngJob *job)
{
  if (setjmp (png_jmpbuf (job->png)))
    return FALSE;
  write_image (job);
  return TRUE;
}

gboolean
picard_png_write_gray (const char *path, const void *pixels, guint width, guint height,
                       guint bit_depth, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  PngJob job;
  gboolean ok;

  g_return_val_if_fail (path != NULL && pixels != NULL, FALSE);
  g_return_val_if_fail (width > 0 && height > 0, FALSE);
  g_return_val_if_fail (bit_depth == 8 || bit_depth == 16, FALSE);

  memset (&job, 0, sizeof job);
  job.path = path;
  job.header.width = width;
  job.header.height = height;
  job.header.bit_depth = bit_depth;
  job.source = pixels;
  job.encoded = g_byte_array_new ();
  job.png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &job, on_png_error,
                                     on_png_warning);
  if (job.png != NULL)
    job.info = png_create_info_struct (job.png);
  ok = job.png != NULL && job.info != NULL && guarded_write (&job);
  if (job.png != NULL)
    png_destroy_write_struct (&job.png, job.info != NULL ? &job.info : NULL);
  if (!ok)
    g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not encode %s: %s", path,
                 job.message[0] != '\0' ? job.message : "out of memory");
  else if (!g_file_set_contents_full (path, (const char *) job.encoded->data,
                                      job.encoded->len,
                                      G_FILE_SET_CONTENTS_CONSISTENT
                                      | G_FILE_SET_CONTENTS_DURABLE, 0666, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not write %s: %s", path,
                   local_error->message);
      ok = FALSE;
    }
  g_byte_array_unref (job.encoded);
  return ok;
}
