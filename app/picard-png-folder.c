#include "picard-png-folder.h"

#include "picard-error.h"
#include "picard-png.h"

#include <errno.h>
#include <string.h>

typedef struct {
  char **files; /* full paths, in slice order */
  PicardPngInfo header;
} PngFolderSource;

static void
png_folder_source_free (gpointer data)
{
  PngFolderSource *source = data;

  g_strfreev (source->files);
  g_free (source);
}

static gboolean
png_folder_decode_frame (gpointer data, guint index, guint16 *out, GCancellable *cancellable,
                         GError **error)
{
  PngFolderSource *source = data;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  return picard_png_read_into (source->files[index], &source->header, out, error);
}

static const PicardFrameSourceFuncs png_folder_funcs = {
  png_folder_decode_frame, png_folder_source_free
};

/* Natural order: runs of digits compare by value, so slice2 sorts before slice10. Ties
 * (slice01 and slice1) fall back to plain byte order so that the order is total. */
static int
natural_compare (const char *a, const char *b)
{
  const char *pa = a, *pb = b;

  while (*pa != '\0' && *pb != '\0')
    {
      if (g_ascii_isdigit (*pa) && g_ascii_isdigit (*pb))
        {
          const char *ea, *eb;
          gsize la, lb;

          while (*pa == '0' && g_ascii_isdigit (pa[1]))
            pa++;
          while (*pb == '0' && g_ascii_isdigit (pb[1]))
            pb++;
          for (ea = pa; g_ascii_isdigit (*ea); ea++)
            ;
          for (eb = pb; g_ascii_isdigit (*eb); eb++)
            ;
          la = ea - pa;
          lb = eb - pb;
          if (la != lb)
            return la < lb ? -1 : 1;
          for (gsize i = 0; i < la; i++)
            if (pa[i] != pb[i])
              return pa[i] < pb[i] ? -1 : 1;
          pa = ea;
          pb = eb;
          continue;
        }
      if (*pa != *pb)
        return (guchar) *pa < (guchar) *pb ? -1 : 1;
      pa++;
      pb++;
    }
  if (*pa != *pb)
    return (guchar) *pa < (guchar) *pb ? -1 : 1;
  return strcmp (a, b);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return natural_compare (*(char *const *) a, *(char *const *) b);
}

static gboolean
is_png_name (const char *name)
{
  gsize n = strlen (name);

  return n > 4 && name[0] != '.' && g_ascii_strcasecmp (name + n - 4, ".png") == 0;
}

PicardVolume *
picard_png_folder_open (const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GDir) dir = NULL;
  PngFolderSource *source;
  PicardVolumeInfo info = { 0 };
  const char *name;

  g_return_val_if_fail (path != NULL, NULL);

  dir = g_dir_open (path, 0, &local_error);
  if (dir == NULL)
    {
      g_set_error (error, PICARD_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                   ? PICARD_ERROR_NOT_FOUND : PICARD_ERROR_IO,
                   "%s: cannot read the folder (%s)", path, local_error->message);
      return NULL;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = NULL;

      if (!is_png_name (name))
        continue;
      full = g_build_filename (path, name, NULL);
      if (!g_file_test (full, G_FILE_TEST_IS_REGULAR))
        continue;
      if (names->len >= PICARD_VOLUME_MAX_FRAMES)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                       "%s: more than %u PNG files; a volume has at most that many slices",
                       path, PICARD_VOLUME_MAX_FRAMES);
          return NULL;
        }
      g_ptr_array_add (names, g_strdup (name));
    }
  if (names->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "%s: no .png files in the folder (expected one grayscale PNG per slice)",
                   path);
      return NULL;
    }
  g_ptr_array_sort (names, compare_names);

  source = g_new0 (PngFolderSource, 1);
  source->files = g_new0 (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    {
      PicardPngInfo header;

      source->files[i] = g_build_filename (path, g_ptr_array_index (names, i), NULL);
      if (!picard_png_read_info (source->files[i], &header, error))
        {
          png_folder_source_free (source);
          return NULL;
        }
      if (i == 0)
        source->header = header;
      else if (header.width != source->header.width || header.height != source->header.height
               || header.bit_depth != source->header.bit_depth)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: %s is %u x %u, %u-bit, but %s is %u x %u, %u-bit; every slice "
                       "of a folder must have the same size and depth", path,
                       (const char *) g_ptr_array_index (names, i), header.width,
                       header.height, header.bit_depth,
                       (const char *) g_ptr_array_index (names, 0), source->header.width,
                       source->header.height, source->header.bit_depth);
          png_folder_source_free (source);
          return NULL;
        }
    }

  info.path = g_strdup (path);
  info.format = g_strdup ("PNG folder");
  info.transfer_syntax_name = g_strdup ("PNG (lossless)");
  info.photometric = g_strdup ("MONOCHROME2");
  info.header_laterality = PICARD_LATERALITY_UNKNOWN;
  info.bits_allocated = source->header.bit_depth;
  info.bits_stored = source->header.bit_depth;
  info.has_window = FALSE;
  info.frames = names->len;
  info.rows = source->header.height;
  info.columns = source->header.width;
  return picard_volume_new_from_source (&info, &png_folder_funcs, source);
}
