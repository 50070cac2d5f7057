/* picard-safetensors.c: a strict, bounded JSON reader just big enough for safetensors headers.
 *
 * The header is an object mapping tensor names to {"dtype", "shape", "data_offsets"} plus an
 * optional "__metadata__" object of strings.  Anything else is refused rather than guessed. */
#include "picard-safetensors.h"

#include "picard-error.h"

#include <stdarg.h>
#include <string.h>

#define MAX_DEPTH 16

typedef struct {
  const char *text;
  gsize len;
  gsize pos;
  const char *name;
} Json;

G_GNUC_PRINTF (3, 4) static gboolean
fail (Json *j, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s: bad safetensors header at byte %" G_GSIZE_FORMAT ": %s", j->name,
               j->pos, message);
  return FALSE;
}

static void
skip_space (Json *j)
{
  while (j->pos < j->len
         && (j->text[j->pos] == ' ' || j->text[j->pos] == '\t' || j->text[j->pos] == '\n'
             || j->text[j->pos] == '\r'))
    j->pos++;
}

static gboolean
expect (Json *j, char c, GError **error)
{
  skip_space (j);
  if (j->pos >= j->len || j->text[j->pos] != c)
    return fail (j, error, "expected '%c'", c);
  j->pos++;
  return TRUE;
}

/* TRUE and consumes @c if it is next. */
static gboolean
accept (Json *j, char c)
{
  skip_space (j);
  if (j->pos < j->len && j->text[j->pos] == c)
    {
      j->pos++;
      return TRUE;
    }
  return FALSE;
}

static int
hex4 (const char *s)
{
  int value = 0;

  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (s[i]);
      if (d < 0)
        return -1;
      value = value * 16 + d;
    }
  return value;
}

static char *
parse_string (Json *j, GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (!expect (j, '"', error))
    return NULL;
  for (;;)
    {
      guchar c;

      if (j->pos >= j->len)
        {
          fail (j, error, "unterminated string");
          return NULL;
        }
      c = (guchar) j->text[j->pos++];
      if (c == '"')
        break;
      if (c < 0x20)
        {
          fail (j, error, "control character in a string");
          return NULL;
        }
      if (c != '\\')
        {
          g_string_append_c (out, (char) c);
          continue;
        }
      if (j->pos >= j->len)
        {
          fail (j, error, "unterminated escape");
          return NULL;
        }
      c = (guchar) j->text[j->pos++];
      switch (c)
        {
        case '"': case '\\': case '/':
          g_string_append_c (out, (char) c);
          break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          {
            int unit, low;
            gunichar ch;

            if (j->len - j->pos < 4 || (unit = hex4 (j->text + j->pos)) < 0)
              {
                fail (j, error, "bad \\u escape");
                return NULL;
              }
            j->pos += 4;
            ch = (gunichar) unit;
            if (unit >= 0xd800 && unit < 0xdc00)
              {
                if (j->len - j->pos < 6 || j->text[j->pos] != '\\' || j->text[j->pos + 1] != 'u'
                    || (low = hex4 (j->text + j->pos + 2)) < 0xdc00 || low >= 0xe000)
                  {
                    fail (j, error, "unpaired surrogate");
                    return NULL;
                  }
                j->pos += 6;
                ch = 0x10000 + (((gunichar) unit - 0xd800) << 10) + ((gunichar) low - 0xdc00);
              }
            else if (unit >= 0xdc00 && unit < 0xe000)
              {
                fail (j, error, "unpaired surrogate");
                return NULL;
              }
            if (ch == 0)
              {
                fail (j, error, "NUL character in a string");
                return NULL;
              }
            g_string_append_unichar (out, ch);
            break;
          }
        default:
          fail (j, error, "unknown escape \\%c", g_ascii_isprint (c) ? c : '?');
          return NULL;
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A non-negative integer without sign, fraction or exponent, as the header's sizes are. */
static gboolean
parse_size (Json *j, guint64 *out, GError **error)
{
  guint64 value = 0;
  gsize start;

  skip_space (j);
  start = j->pos;
  while (j->pos < j->len && g_ascii_isdigit (j->text[j->pos]))
    {
      guint d = (guint) (j->text[j->pos] - '0');
      if (value > (G_MAXUINT64 - d) / 10)
        return fail (j, error, "number too large");
      value = value * 10 + d;
      j->pos++;
    }
  if (j->pos == start)
    return fail (j, error, "expected a non-negative integer");
  if (j->pos - start > 1 && j->text[start] == '0')
    return fail (j, error, "number with a leading zero");
  if (j->pos < j->len && (j->text[j->pos] == '.' || j->text[j->pos] == 'e' || j->text[j->pos] == 'E'))
    return fail (j, error, "expected an integer");
  *out = value;
  return TRUE;
}

static gboolean
skip_number (Json *j, GError **error)
{
  gsize digits;

  accept (j, '-');
  digits = j->pos;
  while (j->pos < j->len && g_ascii_isdigit (j->text[j->pos]))
    j->pos++;
  if (j->pos == digits || (j->pos - digits > 1 && j->text[digits] == '0'))
    return fail (j, error, "bad number");
  if (j->pos < j->len && j->text[j->pos] == '.')
    {
      j->pos++;
      digits = j->pos;
      while (j->pos < j->len && g_ascii_isdigit (j->text[j->pos]))
        j->pos++;
      if (j->pos == digits)
        return fail (j, error, "bad number");
    }
  if (j->pos < j->len && (j->text[j->pos] == 'e' || j->text[j->pos] == 'E'))
    {
      j->pos++;
      if (j->pos < j->len && (j->text[j->pos] == '+' || j->text[j->pos] == '-'))
        j->pos++;
      digits = j->pos;
      while (j->pos < j->len && g_ascii_isdigit (j->text[j->pos]))
        j->pos++;
      if (j->pos == digits)
        return fail (j, error, "bad number");
    }
  return TRUE;
}

static gboolean
skip_literal (Json *j, const char *word, GError **error)
{
  gsize n = strlen (word);

  if (j->len - j->pos < n || memcmp (j->text + j->pos, word, n) != 0)
    return fail (j, error, "unexpected character");
  j->pos += n;
  return TRUE;
}

/* Any JSON value, checked and discarded (the contents of "__metadata__"). */
static gboolean
skip_value (Json *j, int depth, GError **error)
{
  char c;

  if (depth > MAX_DEPTH)
    return fail (j, error, "nested deeper than %d", MAX_DEPTH);
  skip_space (j);
  if (j->pos >= j->len)
    return fail (j, error, "unexpected end");
  c = j->text[j->pos];
  if (c == '"')
    {
      g_autofree char *s = parse_string (j, error);
      return s != NULL;
    }
  if (c == '{' || c == '[')
    {
      char close = c == '{' ? '}' : ']';

      j->pos++;
      if (accept (j, close))
        return TRUE;
      do
        {
          if (c == '{')
            {
              g_autofree char *key = parse_string (j, error);
              if (key == NULL || !expect (j, ':', error))
                return FALSE;
            }
          if (!skip_value (j, depth + 1, error))
            return FALSE;
        }
      while (accept (j, ','));
      return expect (j, close, error);
    }
  if (c == 't')
    return skip_literal (j, "true", error);
  if (c == 'f')
    return skip_literal (j, "false", error);
  if (c == 'n')
    return skip_literal (j, "null", error);
  return skip_number (j, error);
}

static gboolean
parse_dtype (Json *j, PicardSafetensorsEntry *entry, gsize *element_size, GError **error)
{
  g_autofree char *dtype = parse_string (j, error);

  if (dtype == NULL)
    return FALSE;
  if (strcmp (dtype, "F32") == 0)
    entry->type = PICARD_STORAGE_FLOAT32, *element_size = 4;
  else if (strcmp (dtype, "F16") == 0)
    entry->type = PICARD_STORAGE_FLOAT16, *element_size = 2;
  else if (strcmp (dtype, "BF16") == 0)
    entry->type = PICARD_STORAGE_BFLOAT16, *element_size = 2;
  else
    {
      g_autofree char *shown = g_strescape (dtype, NULL);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "%s: tensor %s has dtype %.32s; only F32, F16 and BF16 are supported",
                   j->name, entry->name, shown);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_tensor (Json *j, PicardSafetensorsEntry *entry, guint64 data_start, guint64 file_size,
              GError **error)
{
  gboolean have_dtype = FALSE, have_shape = FALSE, have_offsets = FALSE;
  gsize element_size = 0;
  guint64 begin = 0, end = 0, count = 1;

  if (!expect (j, '{', error))
    return FALSE;
  if (!accept (j, '}'))
    do
      {
        g_autofree char *key = parse_string (j, error);

        if (key == NULL || !expect (j, ':', error))
          return FALSE;
        if (strcmp (key, "dtype") == 0 && !have_dtype)
          {
            if (!parse_dtype (j, entry, &element_size, error))
              return FALSE;
            have_dtype = TRUE;
          }
        else if (strcmp (key, "shape") == 0 && !have_shape)
          {
            if (!expect (j, '[', error))
              return FALSE;
            if (!accept (j, ']'))
              {
                do
                  {
                    guint64 dim;

                    if (entry->ndim >= PICARD_PICKLE_MAX_DIMS)
                      return fail (j, error, "more than %d dimensions", PICARD_PICKLE_MAX_DIMS);
                    if (!parse_size (j, &dim, error))
                      return FALSE;
                    if (dim > G_MAXINT32)
                      return fail (j, error, "dimension too large");
                    entry->shape[entry->ndim++] = (gint64) dim;
                  }
                while (accept (j, ','));
                if (!expect (j, ']', error))
                  return FALSE;
              }
            have_shape = TRUE;
          }
        else if (strcmp (key, "data_offsets") == 0 && !have_offsets)
          {
            if (!expect (j, '[', error) || !parse_size (j, &begin, error)
                || !expect (j, ',', error) || !parse_size (j, &end, error)
                || !expect (j, ']', error))
              return FALSE;
            have_offsets = TRUE;
          }
        else
          return fail (j, error, "unexpected or repeated field in tensor %s", entry->name);
      }
    while (accept (j, ','));
  if (!expect (j, '}', error))
    return FALSE;
  if (!have_dtype || !have_shape || !have_offsets)
    return fail (j, error, "tensor %s lacks dtype, shape or data_offsets", entry->name);

  for (guint i = 0; i < entry->ndim; i++)
    {
      if (entry->shape[i] != 0 && count > G_MAXINT64 / (guint64) entry->shape[i])
        return fail (j, error, "tensor %s is too large", entry->name);
      count *= (guint64) entry->shape[i];
    }
  if (begin > end || end > file_size - data_start)
    return fail (j, error, "tensor %s lies outside the file (truncated?)", entry->name);
  if (count > (end - begin) / element_size || (end - begin) != count * element_size)
    return fail (j, error, "tensor %s has %" G_GUINT64_FORMAT " bytes for %" G_GUINT64_FORMAT
                 " elements", entry->name, end - begin, count);
  entry->offset = (gsize) (data_start + begin);
  entry->size = (gsize) (end - begin);
  return TRUE;
}

static void
entry_free (gpointer data)
{
  PicardSafetensorsEntry *entry = data;

  g_free (entry->name);
  g_free (entry);
}

gboolean
picard_safetensors_sniff (const guint8 *data, gsize size)
{
  guint64 header = 0;

  if (size < 10)
    return FALSE;
  for (int i = 0; i < 8; i++)
    header |= (guint64) data[i] << (8 * i);
  return header >= 2 && header <= size - 8 && data[8] == '{';
}

GPtrArray *
picard_safetensors_parse (const guint8 *data, gsize size, const char *display_name,
                          GError **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (entry_free);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Json j = { 0 };
  guint64 header = 0;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  j.name = display_name != NULL ? display_name : "checkpoint";
  if (size < 8)
    {
      fail (&j, error, "the file is shorter than its header length");
      return NULL;
    }
  for (int i = 0; i < 8; i++)
    header |= (guint64) data[i] << (8 * i);
  if (header > PICARD_SAFETENSORS_MAX_HEADER || header > size - 8)
    {
      fail (&j, error, "header length %" G_GUINT64_FORMAT " is beyond the file or the %u-byte cap",
            header, PICARD_SAFETENSORS_MAX_HEADER);
      return NULL;
    }
  j.text = (const char *) data + 8;
  j.len = (gsize) header;
  if (!g_utf8_validate_len (j.text, j.len, NULL))
    {
      fail (&j, error, "the header is not UTF-8 text");
      return NULL;
    }
  if (!expect (&j, '{', error))
    return NULL;
  if (!accept (&j, '}'))
    do
      {
        g_autofree char *key = parse_string (&j, error);

        if (key == NULL || !expect (&j, ':', error))
          return NULL;
        if (strcmp (key, "__metadata__") == 0)
          {
            if (!skip_value (&j, 1, error))
              return NULL;
            continue;
          }
        if (g_hash_table_contains (names, key))
          {
            fail (&j, error, "tensor %s appears twice", key);
            return NULL;
          }
        {
          PicardSafetensorsEntry *entry = g_new0 (PicardSafetensorsEntry, 1);

          entry->name = g_strdup (key);
          g_ptr_array_add (entries, entry);
          g_hash_table_add (names, g_steal_pointer (&key));
          if (!parse_tensor (&j, entry, 8 + header, size, error))
            return NULL;
        }
      }
    while (accept (&j, ','));
  if (!expect (&j, '}', error))
    return NULL;
  skip_space (&j);
  if (j.pos != j.len)
    {
      fail (&j, error, "text after the header object");
      return NULL;
    }
  return g_steal_pointer (&entries);
}
