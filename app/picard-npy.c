/* picard-npy.c: a strict .npy reader and a small writer. */
#include "picard-npy.h"

#include "picard-error.h"

#include <string.h>

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

typedef enum {
  NPY_F4, NPY_F8, NPY_U1, NPY_U2, NPY_I2, NPY_I4,
} NpyType;

static const struct {
  const char *code; /* without the byte-order character */
  NpyType type;
  guint size;
} npy_types[] = {
  { "f4", NPY_F4, 4 }, { "f8", NPY_F8, 8 }, { "u1", NPY_U1, 1 },
  { "u2", NPY_U2, 2 }, { "i2", NPY_I2, 2 }, { "i4", NPY_I4, 4 },
};

static gboolean
count_elements (guint ndim, const gsize *shape, gsize *n_elements)
{
  gsize n = 1;

  for (guint i = 0; i < ndim; i++)
    {
      if (shape[i] != 0 && n > PICARD_NPY_MAX_ELEMENTS / shape[i])
        return FALSE;
      n *= shape[i];
    }
  if (n > PICARD_NPY_MAX_ELEMENTS)
    return FALSE;
  *n_elements = n;
  return TRUE;
}

PicardNpy *
picard_npy_new (guint ndim, const gsize *shape)
{
  PicardNpy *npy;
  gsize n;

  g_return_val_if_fail (ndim <= PICARD_NPY_MAX_DIMS, NULL);
  g_return_val_if_fail (ndim == 0 || shape != NULL, NULL);

  if (!count_elements (ndim, shape, &n))
    return NULL;
  npy = g_new0 (PicardNpy, 1);
  npy->ndim = ndim;
  for (guint i = 0; i < ndim; i++)
    npy->shape[i] = shape[i];
  npy->n_elements = n;
  /* One element at least, so that data is never NULL. */
  npy->data = g_new0 (float, MAX (n, 1));
  return npy;
}

void
picard_npy_free (PicardNpy *npy)
{
  if (npy == NULL)
    return;
  g_free (npy->data);
  g_free (npy);
}

/* The header dict: a tiny recursive-descent reader over Python literal syntax, accepting
 * only what numpy writes (strings, True/False, a tuple of non-negative integers). */
typedef struct {
  const char *p;
  const char *end;
  const char *name;
  GError **error;
} HeaderReader;

static gboolean header_fail (HeaderReader *r, const char *what) G_GNUC_WARN_UNUSED_RESULT;

static gboolean
header_fail (HeaderReader *r, const char *what)
{
  g_set_error (r->error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: malformed .npy header (%s); the file is not a NumPy array written by "
               "numpy.save", r->name, what);
  return FALSE;
}

static void
skip_space (HeaderReader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static gboolean
expect_char (HeaderReader *r, char c)
{
  skip_space (r);
  if (r->p >= r->end || *r->p != c)
    return FALSE;
  r->p++;
  return TRUE;
}

/* A quoted string of at most @cap - 1 characters, without escapes. */
static gboolean
read_string (HeaderReader *r, char *out, gsize cap)
{
  char quote;
  gsize n = 0;

  skip_space (r);
  if (r->p >= r->end || (*r->p != '\'' && *r->p != '"'))
    return header_fail (r, "expected a quoted string");
  quote = *r->p++;
  while (r->p < r->end && *r->p != quote)
    {
      if (*r->p == '\\' || (guchar) *r->p < 0x20 || n + 1 >= cap)
        return header_fail (r, "unexpected string");
      out[n++] = *r->p++;
    }
  if (r->p >= r->end)
    return header_fail (r, "unterminated string");
  r->p++;
  out[n] = '\0';
  return TRUE;
}

static gboolean
read_word (HeaderReader *r, const char *word)
{
  gsize n = strlen (word);

  skip_space (r);
  if ((gsize) (r->end - r->p) < n || memcmp (r->p, word, n) != 0)
    return FALSE;
  r->p += n;
  return TRUE;
}

static gboolean
read_shape (HeaderReader *r, guint *ndim, gsize *shape)
{
  gboolean comma = FALSE;

  *ndim = 0;
  if (!expect_char (r, '('))
    return header_fail (r, "'shape' is not a tuple");
  for (;;)
    {
      guint64 value = 0;
      gboolean any = FALSE;

      skip_space (r);
      if (r->p < r->end && *r->p == ')')
        {
          r->p++;
          break;
        }
      if (*ndim > 0 && !comma)
        return header_fail (r, "expected ',' in 'shape'");
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        {
          if (value > PICARD_NPY_MAX_ELEMENTS)
            return header_fail (r, "a dimension is too large");
          value = value * 10 + (guint64) (*r->p - '0');
          any = TRUE;
          r->p++;
        }
      if (!any)
        return header_fail (r, "a dimension is not a non-negative integer");
      /* Python 2 wrote long integers with a suffix. */
      if (r->p < r->end && *r->p == 'L')
        r->p++;
      if (*ndim >= PICARD_NPY_MAX_DIMS)
        {
          g_set_error (r->error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "%s: arrays of more than %u dimensions are not supported; reshape "
                       "it first", r->name, PICARD_NPY_MAX_DIMS);
          return FALSE;
        }
      if (value > PICARD_NPY_MAX_ELEMENTS)
        return header_fail (r, "a dimension is too large");
      shape[(*ndim)++] = (gsize) value;
      skip_space (r);
      comma = FALSE;
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          comma = TRUE;
        }
      else if (r->p < r->end && *r->p == ')')
        {
          r->p++;
          break;
        }
      else
        return header_fail (r, "expected ',' or ')' in 'shape'");
    }
  /* A one-element tuple needs its comma: "(3)" is not a tuple. */
  if (*ndim == 1 && !comma)
    return header_fail (r, "'shape' is not a tuple");
  return TRUE;
}

static gboolean
parse_header (HeaderReader *r, char *descr, gsize descr_cap, gboolean *fortran,
              guint *ndim, gsize *shape)
{
  gboolean have_descr = FALSE, have_fortran = FALSE, have_shape = FALSE;

  if (!expect_char (r, '{'))
    return header_fail (r, "expected '{'");
  for (;;)
    {
      char key[32];

      skip_space (r);
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          break;
        }
      if (!read_string (r, key, sizeof key))
        return FALSE;
      if (!expect_char (r, ':'))
        return header_fail (r, "expected ':'");
      if (strcmp (key, "descr") == 0 && !have_descr)
        {
          if (!read_string (r, descr, descr_cap))
            return FALSE;
          have_descr = TRUE;
        }
      else if (strcmp (key, "fortran_order") == 0 && !have_fortran)
        {
          if (read_word (r, "True"))
            *fortran = TRUE;
          else if (read_word (r, "False"))
            *fortran = FALSE;
          else
            return header_fail (r, "'fortran_order' is not True or False");
          have_fortran = TRUE;
        }
      else if (strcmp (key, "shape") == 0 && !have_shape)
        {
          if (!read_shape (r, ndim, shape))
            return FALSE;
          have_shape = TRUE;
        }
      else
        return header_fail (r, "unknown or repeated key");
      skip_space (r);
      if (r->p < r->end && *r->p == ',')
        r->p++;
      else if (!(r->p < r->end && *r->p == '}'))
        return header_fail (r, "expected ',' or '}'");
    }
  skip_space (r);
  if (r->p != r->end)
    return header_fail (r, "trailing characters after the dict");
  if (!have_descr || !have_fortran || !have_shape)
    return header_fail (r, "'descr', 'fortran_order' or 'shape' is missing");
  return TRUE;
}

static float
read_element (const guint8 *p, NpyType type, gboolean big_endian)
{
  guint8 b[8];
  guint size = type == NPY_F8 ? 8 : type == NPY_F4 || type == NPY_I4 ? 4
               : type == NPY_U1 ? 1 : 2;

  /* Bytes into host (little-endian on every platform we build for) order. */
  for (guint i = 0; i < size; i++)
    b[i] = big_endian ? p[size - 1 - i] : p[i];
  switch (type)
    {
    case NPY_F4:
      {
        guint32 u = (guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16
                    | (guint32) b[3] << 24;
        float f;
        memcpy (&f, &u, 4);
        return f;
      }
    case NPY_F8:
      {
        guint64 u = 0;
        double d;
        for (guint i = 0; i < 8; i++)
          u |= (guint64) b[i] << (8 * i);
        memcpy (&d, &u, 8);
        return (float) d;
      }
    case NPY_U1:
      return b[0];
    case NPY_U2:
      return (float) ((guint16) (b[0] | b[1] << 8));
    case NPY_I2:
      return (float) (gint16) (guint16) (b[0] | b[1] << 8);
    case NPY_I4:
      return (float) (gint32) ((guint32) b[0] | (guint32) b[1] << 8 | (guint32) b[2] << 16
                               | (guint32) b[3] << 24);
    default:
      g_assert_not_reached ();
    }
}

PicardNpy *
picard_npy_parse (const guint8 *data, gsize size, const char *name, GError **error)
{
  g_autoptr(PicardNpy) npy = NULL;
  HeaderReader reader;
  gsize header_len, offset, n_elements, item_size = 0;
  guint major, ndim = 0;
  gsize shape[PICARD_NPY_MAX_DIMS] = { 0 };
  char descr[16];
  gboolean fortran = FALSE, big_endian;
  NpyType type = NPY_F4;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (size < 10 || memcmp (data, npy_magic, sizeof npy_magic) != 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: not a NumPy .npy file (no \\x93NUMPY signature); save the array "
                   "with numpy.save", name);
      return NULL;
    }
  major = data[6];
  if (major == 1)
    {
      header_len = (gsize) data[8] | (gsize) data[9] << 8;
      offset = 10;
    }
  else if (major == 2 || major == 3)
    {
      if (size < 12)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s: truncated .npy header", name);
          return NULL;
        }
      header_len = (gsize) data[8] | (gsize) data[9] << 8 | (gsize) data[10] << 16
                   | (gsize) data[11] << 24;
      offset = 12;
    }
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: .npy format version %u.%u is not supported (1.0, 2.0 and 3.0 are)",
                   name, major, data[7]);
      return NULL;
    }
  if (header_len > PICARD_NPY_MAX_HEADER)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: .npy header of %" G_GSIZE_FORMAT " bytes is beyond the cap of %"
                   G_GSIZE_FORMAT, name, header_len, PICARD_NPY_MAX_HEADER);
      return NULL;
    }
  if (header_len > size - offset)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: truncated .npy header (%" G_GSIZE_FORMAT " bytes declared, %"
                   G_GSIZE_FORMAT " present)", name, header_len, size - offset);
      return NULL;
    }
  if (header_len == 0 || data[offset + header_len - 1] != '\n')
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: malformed .npy header (it does not end with a newline)", name);
      return NULL;
    }

  reader.p = (const char *) data + offset;
  reader.end = reader.p + header_len;
  reader.name = name;
  reader.error = error;
  if (!parse_header (&reader, descr, sizeof descr, &fortran, &ndim, shape))
    return NULL;

  if (fortran)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: Fortran-ordered arrays are not supported; save "
                   "numpy.ascontiguousarray(a) instead", name);
      return NULL;
    }
  big_endian = descr[0] == '>';
  for (gsize i = 0; i < G_N_ELEMENTS (npy_types); i++)
    {
      const char *code = npy_types[i].code;
      gboolean one_byte = npy_types[i].size == 1;
      gboolean order_ok = descr[0] == '<' || descr[0] == '>' || descr[0] == '|'
                          || descr[0] == '=';

      if (order_ok && (descr[0] != '|' || one_byte) && strcmp (descr + 1, code) == 0)
        {
          type = npy_types[i].type;
          item_size = npy_types[i].size;
          break;
        }
    }
  if (item_size == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: element type '%s' is not supported; use float32 ('<f4')", name,
                   descr);
      return NULL;
    }
  if (!count_elements (ndim, shape, &n_elements))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "%s: the array has more than %" G_GSIZE_FORMAT " elements", name,
                   PICARD_NPY_MAX_ELEMENTS);
      return NULL;
    }
  offset += header_len;
  if (size - offset != n_elements * item_size)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s: the data hold %" G_GSIZE_FORMAT " bytes but the header declares %"
                   G_GSIZE_FORMAT " (%s); the file is truncated or damaged", name,
                   size - offset, n_elements * item_size, descr);
      return NULL;
    }

  npy = picard_npy_new (ndim, shape);
  if (type == NPY_F4 && !big_endian && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    memcpy (npy->data, data + offset, n_elements * 4);
  else
    for (gsize i = 0; i < n_elements; i++)
      npy->data[i] = read_element (data + offset + i * item_size, type, big_endian);
  return g_steal_pointer (&npy);
}

PicardNpy *
picard_npy_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not read %s: %s", path,
                   local_error->message);
      return NULL;
    }
  name = g_path_get_basename (path);
  return picard_npy_parse ((const guint8 *) g_mapped_file_get_contents (file),
                           g_mapped_file_get_length (file), name, error);
}

static GBytes *
encode (guint ndim, const gsize *shape, const void *data, const char *descr, gsize item_size)
{
  g_autoptr(GString) header = g_string_new (NULL);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize n_elements, total;
  guint8 len[2];

  g_return_val_if_fail (ndim <= PICARD_NPY_MAX_DIMS, NULL);
  g_return_val_if_fail (ndim == 0 || shape != NULL, NULL);
  if (!count_elements (ndim, shape, &n_elements))
    g_return_val_if_reached (NULL);
  g_return_val_if_fail (n_elements == 0 || data != NULL, NULL);

  g_string_append_printf (header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                          descr);
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (header, "%s%" G_GSIZE_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append (header, ndim == 1 ? ",), }" : "), }");
  /* numpy pads with spaces so that the data start at a multiple of 64 bytes. */
  total = 10 + header->len + 1;
  while (total % 64 != 0)
    {
      g_string_append_c (header, ' ');
      total++;
    }
  g_string_append_c (header, '\n');

  g_byte_array_append (out, (const guint8 *) npy_magic, sizeof npy_magic);
  g_byte_array_append (out, (const guint8 *) "\x01\x00", 2);
  len[0] = (guint8) (header->len & 0xff);
  len[1] = (guint8) (header->len >> 8);
  g_byte_array_append (out, len, 2);
  g_byte_array_append (out, (const guint8 *) header->str, (guint) header->len);
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
    g_byte_array_append (out, data, (guint) (n_elements * item_size));
  else
    for (gsize i = 0; i < n_elements; i++)
      for (gsize b = 0; b < item_size; b++)
        g_byte_array_append (out, (const guint8 *) data + i * item_size + item_size - 1 - b,
                             1);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

GBytes *
picard_npy_encode_float32 (guint ndim, const gsize *shape, const float *data)
{
  return encode (ndim, shape, data, "<f4", 4);
}

GBytes *
picard_npy_encode_uint16 (guint ndim, const gsize *shape, const guint16 *data)
{
  return encode (ndim, shape, data, "<u2", 2);
}

static gboolean
write_bytes (const char *path, GBytes *bytes, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize size;
  const char *contents;

  if (bytes == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Could not write %s: the array is too large", path);
      return FALSE;
    }
  contents = g_bytes_get_data (bytes, &size);
  if (!g_file_set_contents_full (path, contents, (gssize) size,
                                 G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0666, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "Could not write %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
picard_npy_save_float32 (const char *path, guint ndim, const gsize *shape, const float *data,
                         GError **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  bytes = picard_npy_encode_float32 (ndim, shape, data);
  return write_bytes (path, bytes, error);
}

gboolean
picard_npy_save_uint16 (const char *path, guint ndim, const gsize *shape,
                        const guint16 *data, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  bytes = picard_npy_encode_uint16 (ndim, shape, data);
  return write_bytes (path, bytes, error);
}

gboolean
picard_npy_save (const char *path, const PicardNpy *npy, GError **error)
{
  g_return_val_if_fail (npy != NULL, FALSE);
  return picard_npy_save_float32 (path, npy->ndim, npy->shape, npy->data, error);
}
