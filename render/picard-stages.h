/* picard-stages.h: inside the completion network for one patch, per sample: the coarse
 * stage's completion above the final one, and contextual attention's offsets as a flow
 * image (each grid cell coloured by the direction and length of the step to the
 * background patch it copies from; white: no step), with a colour-wheel legend. */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

#define PICARD_STAGES_MAX_SAMPLES 1024u

/* Images are size x size floats in [-1, 1], row-major; pointers are borrowed. */
typedef struct {
  guint size;                      /* the patch side P */
  guint hole_size;                 /* the centred hole's side (0: none drawn) */
  guint tile;                      /* tile side in figure units (0: size) */
  guint n_samples;                 /* columns, in the order given */
  const float *const *coarse;      /* n_samples images: the coarse stage's completion */
  const float *const *final;       /* n_samples images: the final completion */
  /* n_samples arrays of 2 x grid x grid: (row, column) on the grid of the best background
   * cell of every cell, as picard_network_forward() gives them. */
  const float *const *offsets;
  guint grid;                      /* the offsets' grid side (P / 8) */
  const char *const *labels;       /* one per column, or NULL */
  const char *title;               /* a line above the tiles, or NULL */
} PicardStages;

typedef enum {
  PICARD_STAGES_ROW_COARSE,
  PICARD_STAGES_ROW_FINAL,
  PICARD_STAGES_ROW_ATTENTION,
} PicardStagesRow;

void picard_stages_init (PicardStages *stages);

/* The flow colour of a step of (@dy, @dx) when a step of @radius has full colour: the hue
 * gives the direction, the saturation the length (white for none); @rgb in [0, 1]. */
void picard_flow_colour (double dy, double dx, double radius, double rgb[3]);
/* The longest step of any cell of any sample, in grid cells (0 when none moves). */
double picard_stages_max_step (const PicardStages *stages);

gboolean picard_stages_get_size (const PicardStages *stages, double scale, double *width,
                                 double *height, GError **error);
/* Where the tile of @row and @column (a sample, in the given order) lies at @scale. FALSE
 * for no such tile. */
gboolean picard_stages_get_tile (const PicardStages *stages, PicardStagesRow row,
                                 guint column, double scale, double *x, double *y,
                                 double *size);
/* Draws at the origin of @cr; one figure unit per image pixel at @scale 1. */
gboolean picard_stages_render (const PicardStages *stages, cairo_t *cr, double scale,
                               GError **error);

G_END_DECLS
