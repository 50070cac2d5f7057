#include "picard-window-level.h"

#include "picard-error.h"

#include <errno.h>
#include <math.h>

/* Fraction of the output range for one stored value, DICOM's linear VOI LUT function:
 * below c - 0.5 - (w-1)/2 -> 0, above c - 0.5 + (w-1)/2 -> 1, linear between. */
static inline double
window_fraction (const PicardWindowLevel *wl, double x)
{
  double width = MAX (wl->width, 1.0);
  double f;

  if (width <= 1.0)
    f = x <= wl->center - 0.5 ? 0.0 : 1.0;
  else
    f = ((x - (wl->center - 0.5)) / (width - 1.0)) + 0.5;
  f = CLAMP (f, 0.0, 1.0);
  return wl->invert ? 1.0 - f : f;
}

void
picard_window_level_apply_u8 (const PicardWindowLevel *wl, const guint16 *in, guint8 *out,
                              gsize n)
{
  g_return_if_fail (wl != NULL && (n == 0 || (in != NULL && out != NULL)));

  for (gsize i = 0; i < n; i++)
    out[i] = (guint8) lround (window_fraction (wl, in[i]) * 255.0);
}

void
picard_window_level_apply_u16 (const PicardWindowLevel *wl, const guint16 *in,
                               guint16 *out, gsize n)
{
  g_return_if_fail (wl != NULL && (n == 0 || (in != NULL && out != NULL)));

  for (gsize i = 0; i < n; i++)
    out[i] = (guint16) lround (window_fraction (wl, in[i]) * 65535.0);
}

void
picard_window_level_apply_unit (const PicardWindowLevel *wl, const guint16 *in, float *out,
                                gsize n)
{
  g_return_if_fail (wl != NULL && (n == 0 || (in != NULL && out != NULL)));

  /* Through 8 bits, as PICARD's PNG slices: the network was trained on such values. */
  for (gsize i = 0; i < n; i++)
    out[i] = (float) lround (window_fraction (wl, in[i]) * 255.0) / 255.0f;
}

PicardWindowLevel
picard_window_level_auto (const guint16 *in, gsize n, guint bits_stored,
                          double low_percentile, double high_percentile)
{
  PicardWindowLevel wl = { 0 };
  guint levels = 1u << CLAMP (bits_stored, 1u, 16u);
  g_autofree guint64 *histogram = g_new0 (guint64, levels);
  guint64 tissue = 0, seen = 0;
  guint low = 0, high = levels - 1;
  gboolean have_low = FALSE;

  for (gsize i = 0; i < n; i++)
    if (in[i] != 0 && in[i] < levels)
      {
        histogram[in[i]]++;
        tissue++;
      }
  if (tissue > 0)
    for (guint v = 1; v < levels; v++)
      {
        seen += histogram[v];
        /* seen > 0: a 0th percentile is the smallest tissue value, not level 1. */
        if (!have_low && seen > 0 && seen >= low_percentile / 100.0 * tissue)
          {
            low = v;
            have_low = TRUE;
          }
        if (seen > 0 && seen >= high_percentile / 100.0 * tissue)
          {
            high = v;
            break;
          }
      }
  high = MAX (high, low + 1);
  wl.width = high - low + 1.0;
  wl.center = low + wl.width / 2.0;
  return wl;
}

static gboolean
parse_number (const char *text, double *value)
{
  char *end = NULL;

  errno = 0;
  *value = g_ascii_strtod (text, &end);
  if (end == text || errno != 0 || !isfinite (*value))
    return FALSE;
  while (g_ascii_isspace (*end))
    end++;
  return *end == '\0';
}

gboolean
picard_window_level_parse (const char *text, PicardWindowLevel *wl, GError **error)
{
  g_auto(GStrv) parts = NULL;
  double center, width;

  g_return_val_if_fail (text != NULL && wl != NULL, FALSE);

  parts = g_strsplit (text, ",", -1);
  if (g_strv_length (parts) != 2 || !parse_number (parts[0], &center)
      || !parse_number (parts[1], &width))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "'%s' is not a window; write CENTER,WIDTH (for example 512,1024)", text);
      return FALSE;
    }
  if (width <= 0.0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "window width %g is not positive; write CENTER,WIDTH with WIDTH > 0",
                   width);
      return FALSE;
    }
  wl->center = center;
  wl->width = width;
  wl->invert = FALSE;
  return TRUE;
}
