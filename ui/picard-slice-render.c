#include "picard-slice-render.h"

#include <math.h>
#include <string.h>

#include "picard-error.h"

void
picard_render_request_clear (PicardRenderRequest *request)
{
  g_clear_object (&request->volume);
  g_clear_pointer (&request->heatmap, g_bytes_unref);
}

void
picard_render_request_copy (const PicardRenderRequest *src, PicardRenderRequest *dest)
{
  *dest = *src;
  if (dest->volume != NULL)
    g_object_ref (dest->volume);
  if (dest->heatmap != NULL)
    g_bytes_ref (dest->heatmap);
}

static void
rendered_slice_clear (gpointer data)
{
  PicardRenderedSlice *self = data;

  g_clear_pointer (&self->values, g_bytes_unref);
  g_clear_pointer (&self->heatmap, g_bytes_unref);
  for (guint i = 0; i < PICARD_RENDER_MAX_LEVELS; i++)
    {
      g_clear_pointer (&self->slice_levels[i], cairo_surface_destroy);
      g_clear_pointer (&self->overlay_levels[i], cairo_surface_destroy);
    }
}

PicardRenderedSlice *
picard_rendered_slice_ref (PicardRenderedSlice *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
picard_rendered_slice_unref (PicardRenderedSlice *self)
{
  g_atomic_rc_box_release_full (self, rendered_slice_clear);
}

static gsize
surface_bytes (cairo_surface_t *surface)
{
  return surface == NULL ? 0
                         : (gsize) cairo_image_surface_get_stride (surface)
                             * cairo_image_surface_get_height (surface);
}

/* Reduced copies of level 0, each from the one before (a 2x2 mean of a 2x2 mean is the 4x4
 * mean), until the image is small. */
static gboolean
build_levels (cairo_surface_t **levels, guint *n_levels, GError **error)
{
  guint n = 1;

  while (n < PICARD_RENDER_MAX_LEVELS)
    {
      cairo_surface_t *prev = levels[n - 1];

      if (MAX (cairo_image_surface_get_width (prev), cairo_image_surface_get_height (prev)) < 512)
        break;
      levels[n] = picard_surface_reduce (prev, 2, error);
      if (levels[n] == NULL)
        return FALSE;
      n++;
    }
  *n_levels = n;
  return TRUE;
}

PicardRenderedSlice *
picard_rendered_slice_new (const PicardRenderRequest *request, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr(PicardRenderedSlice) self = NULL;
  g_autoptr(GBytes) frame = NULL;
  const PicardVolumeInfo *info;
  guint16 *values;
  gsize n;
  guint n_overlay_levels = 0;

  g_return_val_if_fail (request != NULL && PICARD_IS_VOLUME (request->volume), NULL);

  frame = picard_volume_get_frame (request->volume, request->slice, cancellable, error);
  if (frame == NULL)
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  info = picard_volume_get_info (request->volume);
  n = (gsize) info->rows * info->columns;

  self = g_atomic_rc_box_new0 (PicardRenderedSlice);
  self->slice = request->slice;
  self->space = request->space;
  self->rows = info->rows;
  self->columns = info->columns;
  self->overlay = request->overlay;

  values = g_memdup2 (g_bytes_get_data (frame, NULL), n * sizeof (guint16));
  picard_orientation_apply_u16 (&request->orientation, PICARD_SPACE_FILE, request->space,
                                values, values);
  self->values = g_bytes_new_take (values, n * sizeof (guint16));

  self->window_level = request->window_level;
  if (request->auto_window)
    {
      self->window_level = picard_window_level_auto (values, n, info->bits_stored,
                                                     request->auto_low, request->auto_high);
      self->window_level.invert = request->window_level.invert;
    }
  self->slice_levels[0] = picard_slice_surface_new (values, self->rows, self->columns,
                                                    &self->window_level, error);
  if (self->slice_levels[0] == NULL || !build_levels (self->slice_levels, &self->n_levels, error))
    return NULL;

  if (request->heatmap != NULL)
    {
      float *heat;

      if (g_bytes_get_size (request->heatmap) != n * sizeof (float))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "The heatmap of slice %u does not have the slice's %u x %u pixels",
                       request->slice, info->columns, info->rows);
          return NULL;
        }
      heat = g_memdup2 (g_bytes_get_data (request->heatmap, NULL), n * sizeof (float));
      picard_orientation_apply_float (&request->orientation, PICARD_SPACE_FILE,
                                      request->space, heat, heat);
      self->heatmap = g_bytes_new_take (heat, n * sizeof (float));
      self->overlay_levels[0] = picard_overlay_surface_new (&request->overlay, heat,
                                                            self->rows, self->columns,
                                                            &self->range_min,
                                                            &self->range_max, error);
      if (self->overlay_levels[0] == NULL
          || !build_levels (self->overlay_levels, &n_overlay_levels, error))
        return NULL;
      /* Both reduce alike (same size), so the level counts agree. */
      g_assert (n_overlay_levels == self->n_levels);
      /* Later draws use the resolved range, so every level agrees with the colour bar. */
      self->overlay.auto_range = FALSE;
      self->overlay.range_min = self->range_min;
      self->overlay.range_max = self->range_max;
    }

  self->bytes = 2 * n * sizeof (guint16) + (self->heatmap != NULL ? n * sizeof (float) : 0);
  for (guint i = 0; i < self->n_levels; i++)
    self->bytes += surface_bytes (self->slice_levels[i]) + surface_bytes (self->overlay_levels[i]);
  return g_steal_pointer (&self);
}

static void
render_thread (GTask *task, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  PicardRenderedSlice *rendered = picard_rendered_slice_new (task_data, cancellable, &error);

  if (rendered == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rendered, (GDestroyNotify) picard_rendered_slice_unref);
}

static void
request_free (gpointer data)
{
  picard_render_request_clear (data);
  g_free (data);
}

void
picard_rendered_slice_new_async (const PicardRenderRequest *request,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  PicardRenderRequest *copy = g_new0 (PicardRenderRequest, 1);

  g_return_if_fail (request != NULL && PICARD_IS_VOLUME (request->volume));

  picard_render_request_copy (request, copy);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, picard_rendered_slice_new_async);
  g_task_set_task_data (task, copy, request_free);
  g_task_run_in_thread (task, render_thread);
}

PicardRenderedSlice *
picard_rendered_slice_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

guint
picard_rendered_slice_pick_level (const PicardRenderedSlice *self, double zoom)
{
  guint level = 0;

  g_return_val_if_fail (self != NULL, 0);

  while (level + 1 < self->n_levels && zoom * (double) (1u << (level + 1)) <= 1.0)
    level++;
  return level;
}

gboolean
picard_rendered_slice_sample (const PicardRenderedSlice *self, int x, int y, guint16 *value,
                              double *score)
{
  gsize i;

  g_return_val_if_fail (self != NULL, FALSE);

  if (x < 0 || y < 0 || (guint) x >= self->columns || (guint) y >= self->rows)
    return FALSE;
  i = (gsize) y * self->columns + (gsize) x;
  if (value != NULL)
    *value = ((const guint16 *) g_bytes_get_data (self->values, NULL))[i];
  if (score != NULL)
    *score = self->heatmap != NULL ? ((const float *) g_bytes_get_data (self->heatmap, NULL))[i]
                                   : NAN;
  return TRUE;
}
