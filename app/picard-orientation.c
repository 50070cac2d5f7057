#include "picard-orientation.h"

#include "picard-error.h"

#include <string.h>

const char *
picard_laterality_to_string (PicardLaterality laterality)
{
  switch (laterality)
    {
    case PICARD_LATERALITY_LEFT:
      return "L";
    case PICARD_LATERALITY_RIGHT:
      return "R";
    case PICARD_LATERALITY_UNKNOWN:
    default:
      return "unknown";
    }
}

const char *
picard_laterality_source_to_string (PicardLateralitySource source)
{
  switch (source)
    {
    case PICARD_LATERALITY_SOURCE_VIEW:
      return "view";
    case PICARD_LATERALITY_SOURCE_HEADER:
      return "header";
    case PICARD_LATERALITY_SOURCE_NONE:
    default:
      return "none";
    }
}

PicardLaterality
picard_orientation_pixel_laterality (const guint16 *frame, guint rows, guint columns,
                                     guint64 *first_sum, guint64 *last_sum)
{
  guint64 first = 0, last = 0;

  g_return_val_if_fail (frame != NULL && rows > 0 && columns > 0, PICARD_LATERALITY_UNKNOWN);

  /* Exact integer sums, as numpy's sum of unsigned pixels; 64 bits cannot overflow for
   * 16384 rows of 16-bit values. */
  for (guint r = 0; r < rows; r++)
    {
      first += frame[(gsize) r * columns];
      last += frame[(gsize) r * columns + columns - 1];
    }
  if (first_sum != NULL)
    *first_sum = first;
  if (last_sum != NULL)
    *last_sum = last;
  /* A tie (an empty frame) reads as "L", as in duke-dbt-data. */
  return first < last ? PICARD_LATERALITY_RIGHT : PICARD_LATERALITY_LEFT;
}

void
picard_orientation_decide (PicardOrientation *orientation, const guint16 *frame, guint rows,
                           guint columns, guint measured_frame,
                           PicardLaterality view_laterality, PicardLateralitySource source)
{
  g_return_if_fail (orientation != NULL && frame != NULL && rows > 0 && columns > 0);

  memset (orientation, 0, sizeof *orientation);
  orientation->rows = rows;
  orientation->columns = columns;
  orientation->measured_frame = measured_frame;
  orientation->pixel_laterality =
    picard_orientation_pixel_laterality (frame, rows, columns,
                                         &orientation->first_column_sum,
                                         &orientation->last_column_sum);
  if (view_laterality == PICARD_LATERALITY_UNKNOWN)
    {
      orientation->view_laterality = PICARD_LATERALITY_UNKNOWN;
      orientation->view_laterality_source = PICARD_LATERALITY_SOURCE_NONE;
      orientation->flip = FALSE;
      orientation->mirror = orientation->pixel_laterality == PICARD_LATERALITY_RIGHT;
      return;
    }
  orientation->view_laterality = view_laterality;
  orientation->view_laterality_source = source;
  orientation->flip = orientation->pixel_laterality != view_laterality;
  /* After the flip the breast lies on its view's side; PICARD wants it on the left. */
  orientation->mirror = view_laterality == PICARD_LATERALITY_RIGHT;
}

gboolean
picard_orientation_compute (PicardOrientation *orientation, PicardVolume *volume,
                            PicardLaterality view_laterality, guint frame,
                            GCancellable *cancellable, GError **error)
{
  const PicardVolumeInfo *info;
  PicardLateralitySource source = PICARD_LATERALITY_SOURCE_VIEW;
  g_autoptr(GBytes) pixels = NULL;

  g_return_val_if_fail (orientation != NULL, FALSE);
  g_return_val_if_fail (PICARD_IS_VOLUME (volume), FALSE);

  info = picard_volume_get_info (volume);
  if (frame >= info->frames)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s: frame %u does not exist (the volume has %u frames, 0..%u)",
                   info->path != NULL ? info->path : "volume", frame, info->frames,
                   info->frames - 1);
      return FALSE;
    }
  if (view_laterality == PICARD_LATERALITY_UNKNOWN)
    {
      view_laterality = info->header_laterality;
      source = PICARD_LATERALITY_SOURCE_HEADER;
    }
  pixels = picard_volume_get_frame (volume, frame, cancellable, error);
  if (pixels == NULL)
    return FALSE;
  picard_orientation_decide (orientation, g_bytes_get_data (pixels, NULL), info->rows,
                             info->columns, frame, view_laterality, source);
  return TRUE;
}

/* Each space's flips relative to FILE; the flips commute, so any pair differs by XOR. */
static void
flips_from_file (const PicardOrientation *orientation, PicardSpace space, gboolean *flip_x,
                 gboolean *flip_y)
{
  gboolean fx = FALSE, fy = FALSE;

  if (space == PICARD_SPACE_DATASET || space == PICARD_SPACE_ALIGNED)
    fx = fy = orientation->flip;
  if (space == PICARD_SPACE_ALIGNED && orientation->mirror)
    fx = !fx;
  *flip_x = fx;
  *flip_y = fy;
}

void
picard_orientation_get_flips (const PicardOrientation *orientation, PicardSpace from,
                              PicardSpace to, gboolean *flip_x, gboolean *flip_y)
{
  gboolean from_x, from_y, to_x, to_y;

  g_return_if_fail (orientation != NULL && flip_x != NULL && flip_y != NULL);

  flips_from_file (orientation, from, &from_x, &from_y);
  flips_from_file (orientation, to, &to_x, &to_y);
  *flip_x = from_x != to_x;
  *flip_y = from_y != to_y;
}

void
picard_orientation_map_point (const PicardOrientation *orientation, PicardSpace from,
                              PicardSpace to, int *x, int *y)
{
  gboolean fx, fy;

  g_return_if_fail (x != NULL && y != NULL);

  picard_orientation_get_flips (orientation, from, to, &fx, &fy);
  if (fx)
    *x = (int) orientation->columns - 1 - *x;
  if (fy)
    *y = (int) orientation->rows - 1 - *y;
}

void
picard_orientation_map_point_f (const PicardOrientation *orientation, PicardSpace from,
                                PicardSpace to, double *x, double *y)
{
  gboolean fx, fy;

  g_return_if_fail (x != NULL && y != NULL);

  picard_orientation_get_flips (orientation, from, to, &fx, &fy);
  if (fx)
    *x = (double) orientation->columns - 1.0 - *x;
  if (fy)
    *y = (double) orientation->rows - 1.0 - *y;
}

void
picard_orientation_map_box (const PicardOrientation *orientation, PicardSpace from,
                            PicardSpace to, int *x, int *y, int width, int height)
{
  gboolean fx, fy;

  g_return_if_fail (x != NULL && y != NULL);

  /* The far corner x+width becomes the near one. */
  picard_orientation_get_flips (orientation, from, to, &fx, &fy);
  if (fx)
    *x = (int) orientation->columns - 1 - (*x + width);
  if (fy)
    *y = (int) orientation->rows - 1 - (*y + height);
}

/* Flips a grid: out-of-place row by row, or in place by swapping mirrored pairs. */
#define DEFINE_APPLY(suffix, type)                                                        \
  void                                                                                    \
  picard_orientation_apply_##suffix (const PicardOrientation *orientation,              \
                                     PicardSpace from, PicardSpace to, const type *in,   \
                                     type *out)                                          \
  {                                                                                       \
    gboolean fx, fy;                                                                      \
    gsize rows, cols;                                                                     \
                                                                                          \
    g_return_if_fail (orientation != NULL && in != NULL && out != NULL);                 \
                                                                                          \
    picard_orientation_get_flips (orientation, from, to, &fx, &fy);                      \
    rows = orientation->rows;                                                             \
    cols = orientation->columns;                                                          \
    if (in != out)                                                                        \
      {                                                                                   \
        for (gsize r = 0; r < rows; r++)                                                  \
          {                                                                               \
            const type *src = in + (fy ? rows - 1 - r : r) * cols;                        \
            type *dst = out + r * cols;                                                   \
                                                                                          \
            if (fx)                                                                       \
              for (gsize c = 0; c < cols; c++)                                            \
                dst[c] = src[cols - 1 - c];                                               \
            else                                                                          \
              memcpy (dst, src, cols * sizeof (type));                                    \
          }                                                                               \
        return;                                                                           \
      }                                                                                   \
    if (fy)                                                                               \
      for (gsize r = 0; r < rows / 2; r++)                                                \
        {                                                                                 \
          type *a = out + r * cols;                                                       \
          type *b = out + (rows - 1 - r) * cols;                                          \
                                                                                          \
          for (gsize c = 0; c < cols; c++)                                                \
            {                                                                             \
              gsize d = fx ? cols - 1 - c : c;                                            \
              type t = a[c];                                                              \
                                                                                          \
              a[c] = b[d];                                                                \
              b[d] = t;                                                                   \
            }                                                                             \
        }                                                                                 \
    if (fx)                                                                               \
      /* Rows not swapped above (all of them, or the middle one) reverse in place. */    \
      for (gsize r = fy ? rows / 2 : 0; r < (fy ? (rows + 1) / 2 : rows); r++)            \
        {                                                                                 \
          type *a = out + r * cols;                                                       \
                                                                                          \
          for (gsize c = 0; c < cols / 2; c++)                                            \
            {                                                                             \
              type t = a[c];                                                              \
                                                                                          \
              a[c] = a[cols - 1 - c];                                                     \
              a[cols - 1 - c] = t;                                                        \
            }                                                                             \
        }                                                                                 \
  }

DEFINE_APPLY (u16, guint16)
DEFINE_APPLY (u8, guint8)
DEFINE_APPLY (float, float)
