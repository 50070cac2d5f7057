/* picard-heatmap.h: anomaly heatmaps (rows x columns float32, slice space) from a scan's
 * score grid (picard-scan.h).
 *
 * registered (default): each score sits at its patch's hole centre, pixel-centre coordinates
 *   y = i*stride + (P-1)/2, x = j*stride + (P-1)/2 (P 256: i*32 + 127.5), and values between
 *   centres are Keys bicubic (a = -0.75) along rows then columns over the lattice.  The heatmap
 *   covers exactly the union of the scanned holes (picard_heatmap_get_extent); between the
 *   outermost centres and the edge of their holes the value of the outermost centre line is
 *   held (the lattice coordinate is clamped).  Pixels outside that union are NaN, and so is
 *   every pixel whose cubic support meets a skipped (air) or not yet scanned cell.
 * reference: the released code's assembly, PyTorch's
 *   F.interpolate(grid[None, None], size=(rows, columns), mode='bicubic', align_corners=False)
 *   over the whole n_h x n_w grid, stretched over the slice (cell i lands near
 *   (i + 0.5) * rows / n_h, not at its patch), reproduced exactly (float arithmetic, Keys
 *   a = -0.75, source indices clamped to the grid, no clamping of values).  For paper
 *   reproduction: full-slice scans.
 *
 * Progressive scans: both modes first fill the grid's pending cells from the finished coarser
 * lattice (picard_heatmap_fill_grid), so a whole-slice heatmap exists as soon as the first
 * phase (the 4x lattice) is done, and refines as the scan proceeds.  A complete scan's filled
 * grid is its score grid. */
#pragma once

#include "picard-scan.h"

G_BEGIN_DECLS

typedef enum {
  PICARD_HEATMAP_REGISTERED,
  PICARD_HEATMAP_REFERENCE,
} PicardHeatmapMode;

/* "registered" or "reference", any case. */
gboolean picard_heatmap_mode_from_string (const char *text, PicardHeatmapMode *mode);
const char *picard_heatmap_mode_to_string (PicardHeatmapMode mode);

/* Keys' cubic convolution weights (a = -0.75) of the taps at -1, 0, 1, 2 for offset t in
 * [0, 1), in float as PyTorch computes them. */
void picard_heatmap_cubic_weights (float t, float weights[4]);

/* PyTorch's bicubic resize (align_corners=False) of an n_h x n_w grid to rows x columns. */
void picard_heatmap_resize_bicubic (const float *grid, guint n_h, guint n_w, guint rows,
                                    guint columns, float *out);

/* The n_h x n_w scores of @metric with pending region cells interpolated from the coarser
 * finished lattice (g_free).  Skipped, outside and unreachable cells are NaN. */
float *picard_heatmap_fill_grid (const PicardScanResult *result, PicardScanMetric metric);

/* The pixels a registered heatmap covers: the union of the holes of the scanned region. */
void picard_heatmap_get_extent (const PicardScanResult *result, PicardRect *extent);

/* Registered assembly of the region rows i0.. x columns j0.. (region_h x region_w cells) of an
 * n_w-wide grid, with the geometry of a scan, into rows x columns pixels. */
void picard_heatmap_registered (const float *grid, guint n_w, guint i0, guint j0,
                                guint region_h, guint region_w, guint patch_size,
                                guint hole_size, guint stride, guint rows, guint columns,
                                float *out);

/* The heatmap of a (possibly partial) scan: rows x columns floats (g_free), or NULL with
 * PICARD_ERROR_INVALID_ARGUMENT when the result lacks the metric's space. */
float *picard_heatmap_from_result (const PicardScanResult *result, PicardScanMetric metric,
                                   PicardHeatmapMode mode, GError **error);

G_END_DECLS
