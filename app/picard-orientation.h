/* picard-orientation.h: the three pixel spaces of a slice and exact maps between them.
 *
 * FILE:    pixels as stored in the file.
 * DATASET: the orientation of duke-dbt-data's reader, in which BCS-DBT's lesion boxes are
 *          given: when the view's laterality (from the view letter, else the header)
 *          differs from the pixel laterality ("R" when the sum of the first column is less
 *          than the sum of the last column, else "L"), both axes are flipped.
 * ALIGNED: PICARD's left-aligned slices: a right breast (breast against the right edge in
 *          dataset orientation) is mirrored horizontally so that every breast faces right.
 *
 * All maps are on integer pixel indices (x -> columns-1-x, y -> rows-1-y), so they are
 * exact and each is its own inverse. */
#pragma once

#include "picard-volume.h"

G_BEGIN_DECLS

typedef enum {
  PICARD_SPACE_FILE,
  PICARD_SPACE_DATASET,
  PICARD_SPACE_ALIGNED,
} PicardSpace;

typedef enum {
  PICARD_LATERALITY_SOURCE_NONE,   /* unknown: no flip; mirror by pixel laterality */
  PICARD_LATERALITY_SOURCE_VIEW,   /* the view letter (the data set's CSV, --view) */
  PICARD_LATERALITY_SOURCE_HEADER, /* the file's header (wrong in some BCS-DBT files) */
} PicardLateralitySource;

typedef struct {
  guint rows;
  guint columns;
  PicardLaterality view_laterality;
  PicardLateralitySource view_laterality_source;
  PicardLaterality pixel_laterality;
  guint measured_frame;     /* the frame the edge sums come from */
  guint64 first_column_sum; /* in file orientation */
  guint64 last_column_sum;
  gboolean flip;            /* FILE -> DATASET: 180 degree rotation */
  gboolean mirror;          /* DATASET -> ALIGNED: horizontal mirror */
} PicardOrientation;

const char *picard_laterality_to_string (PicardLaterality laterality); /* "L", "R", "unknown" */
const char *picard_laterality_source_to_string (PicardLateralitySource source);

/* "R" when the first column's sum is less than the last column's, else "L". */
PicardLaterality picard_orientation_pixel_laterality (const guint16 *frame, guint rows,
                                                      guint columns, guint64 *first_sum,
                                                      guint64 *last_sum);

/* Decides from one frame (in file orientation). With an unknown view laterality there is
 * nothing to disagree with: no flip, and the mirror follows the pixel laterality. */
void picard_orientation_decide (PicardOrientation *orientation, const guint16 *frame,
                                guint rows, guint columns, guint measured_frame,
                                PicardLaterality view_laterality,
                                PicardLateralitySource source);

/* Decides for a volume: @view_laterality (e.g. from the data set's view letter) when known,
 * else the header's; the pixel laterality on @frame. */
gboolean picard_orientation_compute (PicardOrientation *orientation, PicardVolume *volume,
                                     PicardLaterality view_laterality, guint frame,
                                     GCancellable *cancellable, GError **error);

/* Which axes differ between two spaces. */
void picard_orientation_get_flips (const PicardOrientation *orientation, PicardSpace from,
                                   PicardSpace to, gboolean *flip_x, gboolean *flip_y);

void picard_orientation_map_point (const PicardOrientation *orientation, PicardSpace from,
                                   PicardSpace to, int *x, int *y);
/* Sub-pixel positions in the same index coordinates (pixel centres at integers). */
void picard_orientation_map_point_f (const PicardOrientation *orientation, PicardSpace from,
                                     PicardSpace to, double *x, double *y);
/* A box covering columns x..x+width and rows y..y+height; width and height are kept. */
void picard_orientation_map_box (const PicardOrientation *orientation, PicardSpace from,
                                 PicardSpace to, int *x, int *y, int width, int height);

/* Whole rows x columns grids; @in and @out may be the same buffer. */
void picard_orientation_apply_u16 (const PicardOrientation *orientation, PicardSpace from,
                                   PicardSpace to, const guint16 *in, guint16 *out);
void picard_orientation_apply_u8 (const PicardOrientation *orientation, PicardSpace from,
                                  PicardSpace to, const guint8 *in, guint8 *out);
void picard_orientation_apply_float (const PicardOrientation *orientation, PicardSpace from,
                                     PicardSpace to, const float *in, float *out);

G_END_DECLS
