#include "picard-export.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "picard-error.h"

#define MAX_PNG_SIDE 32767.0
/* PDF viewers and cairo limit pages to 14400 points a side (PDF 1.x user space). */
#define MAX_PDF_SIDE 14400.0
#define MAX_SVG_SIDE 1e6

gboolean
picard_export_format_from_path (const char *path, PicardExportFormat *format)
{
  static const struct {
    const char *suffix;
    PicardExportFormat format;
  } suffixes[] = {
    { ".png", PICARD_EXPORT_FORMAT_PNG },
    { ".svg", PICARD_EXPORT_FORMAT_SVG },
    { ".pdf", PICARD_EXPORT_FORMAT_PDF },
  };
  gsize length;

  g_return_val_if_fail (path != NULL, FALSE);

  length = strlen (path);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (length > 4 && g_ascii_strcasecmp (path + length - 4, suffixes[i].suffix) == 0)
      {
        if (format != NULL)
          *format = suffixes[i].format;
        return TRUE;
      }
  return FALSE;
}

gboolean
picard_export_check_scale (const char *path, double scale, GError **error)
{
  if (scale > 0.0 && isfinite (scale))
    return TRUE;
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
               "Cannot export “%s”: the scale must be a positive number, not %g", path, scale);
  return FALSE;
}

const char *
picard_export_format_get_name (PicardExportFormat format)
{
  switch (format)
    {
    case PICARD_EXPORT_FORMAT_PNG:
      return "PNG";
    case PICARD_EXPORT_FORMAT_SVG:
      return "SVG";
    case PICARD_EXPORT_FORMAT_PDF:
      return "PDF";
    case PICARD_EXPORT_FORMAT_AUTO:
    default:
      return "automatic";
    }
}

/* What to tell the user for a failed system call. */
static const char *
errno_advice (int errsv)
{
  switch (errsv)
    {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
      return "The disk is full: free some space or choose another disk";
    case ENOENT:
    case ENOTDIR:
      return "The folder does not exist: choose an existing folder";
    case EACCES:
    case EPERM:
    case EROFS:
      return "There is no permission to write in that folder: choose another folder";
    case EFBIG:
      return "The file is larger than this file system or the file size limit allows: "
             "export at a smaller scale or to another disk";
    case EISDIR:
      return "A folder has that name: choose a file name";
    case ENAMETOOLONG:
      return "The name is too long: choose a shorter one";
    default:
      return "Check the folder and try again";
    }
}

static void
set_errno_error (GError **error, const char *path, int errsv)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not write “%s”: %s. %s%s.", path,
               g_strerror (errsv), errno_advice (errsv),
               g_file_test (path, G_FILE_TEST_IS_REGULAR) ? " (the existing file is unchanged)"
                                                          : "");
}

typedef struct {
  int fd;
  int saved_errno;
  GByteArray *buffer; /* SVG: kept in memory to add its title first */
} Sink;

static gboolean
write_all (int fd, const guint8 *data, gsize length, int *saved_errno)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          *saved_errno = errno;
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static cairo_status_t
sink_write (void *closure, const unsigned char *data, unsigned int length)
{
  Sink *sink = closure;

  if (sink->saved_errno != 0)
    return CAIRO_STATUS_WRITE_ERROR;
  if (sink->buffer != NULL)
    {
      g_byte_array_append (sink->buffer, data, length);
      return CAIRO_STATUS_SUCCESS;
    }
  return write_all (sink->fd, data, length, &sink->saved_errno) ? CAIRO_STATUS_SUCCESS
                                                                 : CAIRO_STATUS_WRITE_ERROR;
}

/* Puts <title> and <desc> right after the root element's start tag. */
static gboolean
svg_write_with_title (Sink *sink, const char *title, const char *description)
{
  const char *data = (const char *) sink->buffer->data;
  gsize length = sink->buffer->len;
  const char *root = g_strstr_len (data, (gssize) length, "<svg");
  const char *end = root != NULL ? memchr (root, '>', length - (gsize) (root - data)) : NULL;
  GString *insert = g_string_new ("\n");
  gboolean ok;

  if (end == NULL)
    {
      g_string_free (insert, TRUE);
      return write_all (sink->fd, sink->buffer->data, length, &sink->saved_errno);
    }
  end++;
  if (title != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (title, -1);
      g_autofree char *escaped = g_markup_escape_text (valid, -1);

      g_string_append_printf (insert, "<title>%s</title>\n", escaped);
    }
  if (description != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (description, -1);
      g_autofree char *escaped = g_markup_escape_text (valid, -1);

      g_string_append_printf (insert, "<desc>%s</desc>\n", escaped);
    }
  ok = write_all (sink->fd, sink->buffer->data, (gsize) (end - data), &sink->saved_errno)
       && write_all (sink->fd, (const guint8 *) insert->str, insert->len, &sink->saved_errno)
       && write_all (sink->fd, (const guint8 *) end, length - (gsize) (end - data),
                     &sink->saved_errno);
  g_string_free (insert, TRUE);
  return ok;
}

/* Checks a finished surface; the write callback's errno says more than cairo's status. */
static gboolean
check_cairo (cairo_status_t status, const Sink *sink, const char *path, GError **error)
{
  if (sink->saved_errno != 0)
    {
      set_errno_error (error, path, sink->saved_errno);
      return FALSE;
    }
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not write “%s”: %s.%s", path,
                   cairo_status_to_string (status),
                   status == CAIRO_STATUS_NO_MEMORY
                     ? " Not enough memory: export at a smaller scale" : "");
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  PicardExportFormat format;
  double width, height;
  const char *title, *description;
  PicardExportDrawFunc draw;
  gpointer user_data;
  cairo_surface_t *png_surface; /* picard_export_png_surface: written as it is */
} Job;

static gboolean
write_contents (const Job *job, Sink *sink, const char *path, GError **error)
{
  cairo_surface_t *surface = NULL;
  cairo_status_t status;
  cairo_t *cr;

  if (job->png_surface != NULL)
    {
      status = cairo_surface_write_to_png_stream (job->png_surface, sink_write, sink);
      return check_cairo (status, sink, path, error);
    }

  switch (job->format)
    {
    case PICARD_EXPORT_FORMAT_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (job->width),
                                            (int) ceil (job->height));
      break;
    case PICARD_EXPORT_FORMAT_SVG:
      sink->buffer = g_byte_array_new ();
      surface = cairo_svg_surface_create_for_stream (sink_write, sink, job->width,
                                                     job->height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
      break;
    case PICARD_EXPORT_FORMAT_PDF:
    case PICARD_EXPORT_FORMAT_AUTO:
    default:
      surface = cairo_pdf_surface_create_for_stream (sink_write, sink, job->width, job->height);
      if (job->title != NULL)
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, job->title);
      if (job->description != NULL)
        cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_SUBJECT,
                                        job->description);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR,
                                      "Picard Viewer " PICARD_VERSION);
      break;
    }
  if (!check_cairo (cairo_surface_status (surface), sink, path, error))
    {
      cairo_surface_destroy (surface);
      return FALSE;
    }

  cr = cairo_create (surface);
  if (!job->draw (cr, job->user_data, error))
    {
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
      return FALSE;
    }
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && job->format == PICARD_EXPORT_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream (surface, sink_write, sink);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (!check_cairo (status, sink, path, error))
    return FALSE;
  if (sink->buffer != NULL)
    {
      if (!svg_write_with_title (sink, job->title, job->description))
        {
          set_errno_error (error, path, sink->saved_errno);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
export_atomic (const Job *job, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, name, NULL);
  Sink sink = { -1, 0, NULL };
  struct stat old;
  gboolean ok;
  int dir_fd;

  sink.fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (sink.fd < 0)
    {
      set_errno_error (error, path, errno);
      return FALSE;
    }
  /* Replacing a file keeps its permissions. */
  if (stat (path, &old) == 0 && S_ISREG (old.st_mode))
    (void) fchmod (sink.fd, old.st_mode & 07777);

  ok = write_contents (job, &sink, path, error);
  if (sink.buffer != NULL)
    g_byte_array_unref (sink.buffer);
  if (ok && fsync (sink.fd) != 0)
    {
      set_errno_error (error, path, errno);
      ok = FALSE;
    }
  if (close (sink.fd) != 0 && ok)
    {
      set_errno_error (error, path, errno);
      ok = FALSE;
    }
  if (ok && rename (tmp, path) != 0)
    {
      set_errno_error (error, path, errno);
      ok = FALSE;
    }
  if (!ok)
    {
      (void) g_unlink (tmp);
      return FALSE;
    }
  /* The new name itself is durable only once the folder is synced. */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    {
      (void) fsync (dir_fd);
      close (dir_fd);
    }
  return TRUE;
}

gboolean
picard_export_draw (const char *path, PicardExportFormat format, double width, double height,
                    const char *title, const char *description, PicardExportDrawFunc draw,
                    gpointer user_data, GError **error)
{
  Job job = { 0 };
  double limit;

  g_return_val_if_fail (path != NULL && draw != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (format == PICARD_EXPORT_FORMAT_AUTO && !picard_export_format_from_path (path, &format))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot tell the format of “%s”: name it .png, .svg or .pdf", path);
      return FALSE;
    }
  limit = format == PICARD_EXPORT_FORMAT_PNG   ? MAX_PNG_SIDE
          : format == PICARD_EXPORT_FORMAT_PDF ? MAX_PDF_SIDE
                                               : MAX_SVG_SIDE;
  if (!(width >= 1.0 && height >= 1.0 && width <= limit && height <= limit))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Cannot export “%s”: a %.0f x %.0f %s is outside 1 to %.0f a side; "
                   "choose another scale",
                   path, width, height, picard_export_format_get_name (format), limit);
      return FALSE;
    }
  job.format = format;
  job.width = width;
  job.height = height;
  job.title = title;
  job.description = description;
  job.draw = draw;
  job.user_data = user_data;
  return export_atomic (&job, path, error);
}

gboolean
picard_export_png_surface (cairo_surface_t *surface, const char *path, GError **error)
{
  Job job = { 0 };

  g_return_val_if_fail (surface != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job.format = PICARD_EXPORT_FORMAT_PNG;
  job.png_surface = surface;
  return export_atomic (&job, path, error);
}
