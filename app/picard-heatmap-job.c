/* picard-heatmap-job.c: volumes and slices -> heatmap files (see the header). */
#include "picard-heatmap-job.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-eval.h"
#include "picard-export.h"
#include "picard-npy.h"
#include "picard-overlay.h"
#include "picard-png.h"
#include "picard-scan-cache.h"

/* ---- small parsers ---- */

static gboolean
parse_uint (const char *text, guint *out)
{
  guint64 value;
  char *end = NULL;

  while (g_ascii_isspace (*text))
    text++;
  if (!g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || value > G_MAXINT)
    return FALSE;
  while (g_ascii_isspace (*end))
    end++;
  if (*end != '\0')
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

static gboolean
parse_uint_list (const char *text, char separator, guint n, guint *out)
{
  g_auto(GStrv) parts = NULL;
  char separators[2] = { separator, '\0' };

  if (text == NULL)
    return FALSE;
  parts = g_strsplit (text, separators, -1);
  if (g_strv_length (parts) != n)
    return FALSE;
  for (guint k = 0; k < n; k++)
    if (!parse_uint (parts[k], &out[k]))
      return FALSE;
  return TRUE;
}

gboolean
picard_heatmap_job_parse_shard (const char *text, guint *index, guint *count, GError **error)
{
  guint v[2];

  if (!parse_uint_list (text, '/', 2, v) || v[1] == 0 || v[0] >= v[1])
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "bad shard '%s': give I/N with 0 <= I < N (e.g. 0/4 .. 3/4)",
                   text != NULL ? text : "");
      return FALSE;
    }
  *index = v[0];
  *count = v[1];
  return TRUE;
}

gboolean
picard_heatmap_job_parse_range (const char *text, guint *first, guint *last, GError **error)
{
  guint v[2];

  if (!parse_uint_list (text, ':', 2, v) || v[0] > v[1])
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "bad slice range '%s': give A:B with 0 <= A <= B (both included)",
                   text != NULL ? text : "");
      return FALSE;
    }
  *first = v[0];
  *last = v[1];
  return TRUE;
}

gboolean
picard_heatmap_job_parse_roi (const char *text, PicardRect *roi, GError **error)
{
  guint v[4];

  if (!parse_uint_list (text, ',', 4, v) || v[2] == 0 || v[3] == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "bad region of interest '%s': give X,Y,W,H in pixels of the aligned "
                   "slice, W and H positive", text != NULL ? text : "");
      return FALSE;
    }
  roi->x = (int) v[0];
  roi->y = (int) v[1];
  roi->width = (int) v[2];
  roi->height = (int) v[3];
  return TRUE;
}

guint *
picard_heatmap_job_shard (guint n_items, guint index, guint count, guint *n_out)
{
  guint *positions;
  guint n = 0;

  g_return_val_if_fail (count > 0 && index < count && n_out != NULL, NULL);
  positions = g_new (guint, n_items / count + 1);
  for (guint k = index; k < n_items; k += count)
    positions[n++] = k;
  *n_out = n;
  return positions;
}

static int
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

guint *
picard_heatmap_job_lesion_slices (GArray *boxes, const char *patient_id,
                                  const char *study_uid, PicardView view, guint frames,
                                  guint *n_out)
{
  g_autoptr(GArray) matched = picard_boxes_match (boxes, patient_id, study_uid, view);
  guint *slices = g_new (guint, matched->len + 1);
  guint n = 0;

  for (guint k = 0; k < matched->len; k++)
    {
      const PicardBox *box = &g_array_index (matched, PicardBox, k);
      if (box->slice >= 0 && (guint) box->slice < frames)
        slices[n++] = (guint) box->slice;
    }
  qsort (slices, n, sizeof *slices, compare_uint);
  guint distinct = 0;
  for (guint k = 0; k < n; k++)
    if (distinct == 0 || slices[distinct - 1] != slices[k])
      slices[distinct++] = slices[k];
  *n_out = distinct;
  return slices;
}

/* ---- volumes ---- */

char *
picard_heatmap_job_volume_tag (const PicardVolumeInfo *info, PicardView view)
{
  g_autofree char *base = NULL;
  g_autofree char *study = NULL;
  GString *tag = g_string_new (NULL);
  const char *who = info->patient_id;

  if (who == NULL || *who == '\0')
    who = base = g_path_get_basename (info->path != NULL ? info->path : "volume");
  study = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                         info->study_instance_uid != NULL
                                           ? info->study_instance_uid : "", -1);
  g_string_append_printf (tag, "%s_%s_%.8s", who, picard_view_to_string (view), study);
  /* Only what every file system and shell takes without quoting. */
  for (gsize k = 0; k < tag->len; k++)
    if (!g_ascii_isalnum (tag->str[k]) && strchr ("-_.", tag->str[k]) == NULL)
      tag->str[k] = '_';
  if (tag->str[0] == '.')
    tag->str[0] = '_';
  return g_string_free (tag, FALSE);
}

PicardHeatmapVolume *
picard_heatmap_volume_open (const char *path, PicardView view, GError **error)
{
  g_autoptr(PicardVolume) opened = picard_volume_open (path, error);
  PicardHeatmapVolume *volume;
  const PicardVolumeInfo *info;

  if (opened == NULL)
    return NULL;
  info = picard_volume_get_info (opened);
  volume = g_new0 (PicardHeatmapVolume, 1);
  volume->volume = g_steal_pointer (&opened);
  volume->path = g_strdup (path);
  if (view == PICARD_VIEW_UNKNOWN)
    view = picard_view_from_header (info->header_laterality, info->view);
  volume->view = view;
  volume->view_laterality = picard_view_get_laterality (view);
  volume->tag = picard_heatmap_job_volume_tag (info, view);
  return volume;
}

void
picard_heatmap_volume_free (PicardHeatmapVolume *volume)
{
  if (volume == NULL)
    return;
  g_clear_object (&volume->volume);
  g_free (volume->path);
  g_free (volume->tag);
  g_free (volume->slices);
  g_free (volume);
}

float *
picard_heatmap_job_read_slice (PicardHeatmapVolume *volume, guint index,
                               PicardOrientation *orientation, PicardWindowLevel *wl,
                               GCancellable *cancellable, GError **error)
{
  const PicardVolumeInfo *info = picard_volume_get_info (volume->volume);
  g_autoptr(GBytes) pixels = NULL;
  g_autofree guint16 *aligned = NULL;
  float *slice;
  gsize n = (gsize) info->rows * info->columns;

  if (index >= info->frames)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "slice %u is outside 0..%u of %s", index, info->frames - 1, volume->path);
      return NULL;
    }
  pixels = picard_volume_get_frame (volume->volume, index, cancellable, error);
  if (pixels == NULL)
    return NULL;
  /* duke-dbt-data measures the laterality on the frame it reads. */
  if (!picard_orientation_compute (orientation, volume->volume,
                                   volume->view_laterality, index, cancellable, error))
    return NULL;
  if (info->has_window)
    {
      wl->center = info->window_center;
      wl->width = info->window_width;
    }
  else
    *wl = picard_window_level_auto (g_bytes_get_data (pixels, NULL), n, info->bits_stored,
                                    0.5, 99.5);
  /* Readers deliver MONOCHROME2 sense whatever the file's photometric. */
  wl->invert = FALSE;
  aligned = g_new (guint16, n);
  picard_orientation_apply_u16 (orientation, PICARD_SPACE_FILE, PICARD_SPACE_ALIGNED,
                                g_bytes_get_data (pixels, NULL), aligned);
  slice = g_new (float, n);
  picard_window_level_apply_unit (wl, aligned, slice, n);
  return slice;
}

/* ---- the job ---- */

void
picard_heatmap_job_options_init (PicardHeatmapJobOptions *options)
{
  memset (options, 0, sizeof *options);
  picard_scan_params_init (&options->scan);
  options->metric.reduce = PICARD_SCAN_REDUCE_MIN;
  options->metric.space = PICARD_SCAN_SPACE_IMAGE;
  options->mode = PICARD_HEATMAP_REGISTERED;
  options->iteration = -1;
  options->dropout_p = 0.5;
}

gboolean
picard_heatmap_job_check (const PicardHeatmapJobOptions *options,
                          PicardHeatmapVolume **volumes, guint n_volumes, GError **error)
{
  for (guint v = 0; v < n_volumes; v++)
    {
      const PicardVolumeInfo *info = picard_volume_get_info (volumes[v]->volume);
      g_autoptr(PicardScanResult) probe = NULL;
      GError *local_error = NULL;

      probe = picard_scan_result_new (info->rows, info->columns, 0, &options->scan, 0,
                                      &local_error);
      if (probe == NULL)
        {
          g_propagate_prefixed_error (error, local_error, "%s (%u x %u pixels): ",
                                      volumes[v]->path, info->columns, info->rows);
          return FALSE;
        }
      for (guint k = 0; k < volumes[v]->n_slices; k++)
        if (volumes[v]->slices[k] >= info->frames)
          {
            g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "slice %u is outside 0..%u of %s", volumes[v]->slices[k],
                         info->frames - 1, volumes[v]->path);
            return FALSE;
          }
    }
  return TRUE;
}

char *
picard_heatmap_job_slice_path (const char *dir, guint slice, const char *suffix)
{
  g_autofree char *name = g_strdup_printf ("slice_%04u%s", slice, suffix);
  return g_build_filename (dir, name, NULL);
}

typedef struct {
  const PicardHeatmapJobOptions *options;
  PicardHeatmapVolume *volume;
  PicardCompleter *completer;
  char *dir;
  /* The slice being scanned (the driver reads one, scans it, reports it, then the next). */
  guint slice_index;
  float *slice;
  PicardOrientation orientation;
  PicardWindowLevel wl;
  gint64 started;
  guint position, total;
  GCancellable *inner;
  GError *error;
} JobState;

static float *
job_get_slice (guint index, gpointer user_data, GCancellable *cancellable, GError **error)
{
  JobState *state = user_data;

  g_clear_pointer (&state->slice, g_free);
  state->slice = picard_heatmap_job_read_slice (state->volume, index, &state->orientation,
                                                &state->wl, cancellable, error);
  if (state->slice == NULL)
    return NULL;
  state->slice_index = index;
  state->started = g_get_monotonic_time ();
  return g_memdup2 (state->slice, (gsize) state->orientation.rows
                                    * state->orientation.columns * sizeof (float));
}

typedef struct {
  const float *slice;
  const float *heatmap;
  guint rows, columns;
} OverlayDraw;

static gboolean
draw_overlay (cairo_t *cr, gpointer user_data, GError **error)
{
  OverlayDraw *draw = user_data;
  PicardOverlayStyle style;
  cairo_surface_t *grey, *overlay;

  grey = picard_grey_surface_new_from_float (draw->slice, draw->rows, draw->columns, 0.0, 1.0,
                                             error);
  if (grey == NULL)
    return FALSE;
  picard_overlay_style_init (&style);
  overlay = picard_overlay_surface_new (&style, draw->heatmap, draw->rows, draw->columns, NULL,
                                        NULL, error);
  if (overlay == NULL)
    {
      cairo_surface_destroy (grey);
      return FALSE;
    }
  cairo_set_source_surface (cr, grey, 0, 0);
  cairo_paint (cr);
  cairo_set_source_surface (cr, overlay, 0, 0);
  cairo_paint (cr);
  cairo_surface_destroy (overlay);
  cairo_surface_destroy (grey);
  return TRUE;
}

static void
add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
add_double (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_bool (JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, value);
}

static gboolean
write_sidecar (JobState *state, const PicardScanResult *result, double seconds,
               const char *path, GError **error)
{
  const PicardHeatmapJobOptions *o = state->options;
  const PicardVolumeInfo *info = picard_volume_get_info (state->volume->volume);
  const PicardScanParams *p = &result->params;
  const PicardOrientation *or = &state->orientation;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;
  g_autofree char *checkpoint = NULL;
  gsize length;

  if (o->checkpoint != NULL)
    checkpoint = g_canonicalize_filename (o->checkpoint, NULL);
  json_builder_begin_object (b);
  add_string (b, "format", PICARD_HEATMAP_SIDECAR_FORMAT);
  add_string (b, "picard_version", PICARD_VERSION);
  add_string (b, "created", created);
  add_string (b, "volume", state->volume->path);
  add_string (b, "tag", state->volume->tag);
  add_string (b, "patient_id", info->patient_id);
  add_string (b, "study_uid", info->study_instance_uid);
  add_string (b, "series_uid", info->series_instance_uid);
  add_string (b, "view", picard_view_to_string (state->volume->view));
  add_int (b, "slice", state->slice_index);
  add_int (b, "frames", info->frames);
  add_int (b, "rows", result->rows);
  add_int (b, "columns", result->columns);
  add_string (b, "space", "aligned");

  json_builder_set_member_name (b, "orientation");
  json_builder_begin_object (b);
  add_bool (b, "flip", or->flip);
  add_bool (b, "mirror", or->mirror);
  add_string (b, "view_laterality", picard_laterality_to_string (or->view_laterality));
  add_string (b, "view_laterality_source",
              picard_laterality_source_to_string (or->view_laterality_source));
  add_string (b, "pixel_laterality", picard_laterality_to_string (or->pixel_laterality));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "window");
  json_builder_begin_object (b);
  add_double (b, "center", state->wl.center);
  add_double (b, "width", state->wl.width);
  add_string (b, "source", info->has_window ? "file" : "automatic");
  json_builder_end_object (b);

  json_builder_set_member_name (b, "parameters");
  json_builder_begin_object (b);
  add_int (b, "patch_size", p->patch_size);
  add_int (b, "hole_size", p->hole_size);
  add_int (b, "stride", p->stride);
  add_int (b, "n_samples", p->n_samples);
  /* As a string: a 64-bit seed does not survive a JSON double. */
  json_builder_set_member_name (b, "seed");
  {
    g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, p->seed);
    json_builder_add_string_value (b, seed);
  }
  add_string (b, "metric", picard_scan_metric_to_string (o->metric));
  add_string (b, "mode", picard_heatmap_mode_to_string (o->mode));
  add_string (b, "dropout_layers", o->dropout_layers);
  add_double (b, "dropout_p", o->dropout_p);
  add_bool (b, "skip_air", p->skip_air);
  add_double (b, "air_level", p->air_level);
  json_builder_set_member_name (b, "roi");
  if (p->has_roi)
    {
      json_builder_begin_array (b);
      json_builder_add_int_value (b, p->roi.x);
      json_builder_add_int_value (b, p->roi.y);
      json_builder_add_int_value (b, p->roi.width);
      json_builder_add_int_value (b, p->roi.height);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "model");
  json_builder_begin_object (b);
  add_string (b, "checkpoint", checkpoint);
  add_int (b, "iteration", o->iteration);
  add_string (b, "hash", result->model_hash);
  add_int (b, "feature_length", result->feature_length);
  add_string (b, "device", picard_completer_get_device_name (state->completer));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "scan");
  json_builder_begin_object (b);
  add_int (b, "n_h", result->n_h);
  add_int (b, "n_w", result->n_w);
  add_int (b, "patches", result->n_total);
  add_int (b, "completed", result->n_done);
  add_int (b, "skipped", result->n_skipped);
  add_double (b, "seconds", seconds);
  add_double (b, "patches_per_second", seconds > 0 ? result->n_done / seconds : NAN);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "files");
  json_builder_begin_object (b);
  {
    static const char *const keys[][2] = {
      { "heatmap", ".heatmap.npy" }, { "grid", ".grid.npy" },
      { "distances", ".distances.npy" }, { "breast", ".breast.png" },
      { "overlay", ".overlay.png" },
    };
    for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
      {
        g_autofree char *name = g_strdup_printf ("slice_%04u%s", state->slice_index,
                                                 keys[k][1]);
        add_string (b, keys[k][0], name);
      }
    if (result->feature_distances != NULL)
      {
        g_autofree char *name = g_strdup_printf ("slice_%04u.feature-distances.npy",
                                                 state->slice_index);
        add_string (b, "feature_distances", name);
      }
  }
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);
  if (!g_file_set_contents_full (path, text, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, error))
    {
      g_prefix_error (error, "cannot write the sidecar: ");
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_slice (JobState *state, PicardScanResult *result, GError **error)
{
  const PicardHeatmapJobOptions *o = state->options;
  guint rows = result->rows, columns = result->columns, m = result->params.n_samples;
  gsize n = (gsize) rows * columns;
  gsize shape[3];
  g_autofree float *heatmap = NULL;
  g_autofree float *grid = NULL;
  g_autofree guint8 *mask = NULL;
  g_autofree char *path = NULL;
  double seconds = (g_get_monotonic_time () - state->started) / 1e6;
  OverlayDraw draw;

  if (g_mkdir_with_parents (state->dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_IO, "cannot create the folder %s: %s",
                   state->dir, g_strerror (saved));
      return FALSE;
    }
  heatmap = picard_heatmap_from_result (result, o->metric, o->mode, error);
  if (heatmap == NULL)
    return FALSE;

#define SAVE_NPY(suffix, ndim, data)                                                \
  G_STMT_START {                                                                    \
    g_free (path);                                                                  \
    path = picard_heatmap_job_slice_path (state->dir, state->slice_index, suffix);  \
    if (!picard_npy_save_float32 (path, ndim, shape, data, error))                  \
      return FALSE;                                                                 \
  } G_STMT_END

  shape[0] = rows;
  shape[1] = columns;
  SAVE_NPY (".heatmap.npy", 2, heatmap);
  grid = picard_scan_result_get_grid (result, o->metric);
  shape[0] = result->n_h;
  shape[1] = result->n_w;
  shape[2] = m;
  SAVE_NPY (".grid.npy", 2, grid);
  SAVE_NPY (".distances.npy", 3, result->image_distances);
  if (result->feature_distances != NULL)
    SAVE_NPY (".feature-distances.npy", 3, result->feature_distances);
#undef SAVE_NPY

  mask = picard_eval_breast_mask (state->slice, rows, columns);
  for (gsize k = 0; k < n; k++)
    mask[k] = mask[k] ? 255 : 0;
  g_free (path);
  path = picard_heatmap_job_slice_path (state->dir, state->slice_index, ".breast.png");
  if (!picard_png_write_gray (path, mask, columns, rows, 8, error))
    return FALSE;

  draw.slice = state->slice;
  draw.heatmap = heatmap;
  draw.rows = rows;
  draw.columns = columns;
  g_free (path);
  path = picard_heatmap_job_slice_path (state->dir, state->slice_index, ".overlay.png");
  if (!picard_export_draw (path, PICARD_EXPORT_FORMAT_PNG, columns, rows, NULL, NULL,
                           draw_overlay, &draw, error))
    return FALSE;

  /* Last: the sidecar marks the slice as done. */
  g_free (path);
  path = picard_heatmap_job_slice_path (state->dir, state->slice_index, ".json");
  if (!write_sidecar (state, result, seconds, path, error))
    return FALSE;

  state->position++;
  if (o->slice_written != NULL)
    {
      PicardHeatmapSliceReport report = {
        .volume = state->volume, .slice = state->slice_index, .sidecar_path = path,
        .seconds = seconds, .completed = result->n_done, .skipped = result->n_skipped,
        .position = state->position, .total = state->total,
      };
      o->slice_written (&report, o->slice_written_data);
    }
  return TRUE;
}

static void
job_slice_done (PicardScanResult *result, gpointer user_data)
{
  JobState *state = user_data;

  if (state->error != NULL)
    return;
  if (!write_slice (state, result, &state->error))
    /* Stops the scan; the error is reported instead of the cancellation. */
    g_cancellable_cancel (state->inner);
}

static void
forward_cancel (GCancellable *outer, gpointer inner)
{
  g_cancellable_cancel (G_CANCELLABLE (inner));
}

gboolean
picard_heatmap_job_run (const PicardHeatmapJobOptions *options,
                        PicardHeatmapVolume **volumes, guint n_volumes,
                        PicardCompleter *completer, GCancellable *cancellable,
                        GError **error)
{
  g_autoptr(GCancellable) inner = g_cancellable_new ();
  JobState state = { 0 };
  gulong handler = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (options != NULL && options->output_dir != NULL, FALSE);
  g_return_val_if_fail (PICARD_IS_COMPLETER (completer), FALSE);

  if (!picard_heatmap_job_check (options, volumes, n_volumes, error))
    return FALSE;
  if (!picard_completer_check_geometry (completer, options->scan.patch_size,
                                        options->scan.hole_size, error))
    return FALSE;
  if (options->metric.space == PICARD_SCAN_SPACE_FEATURE
      && picard_completer_get_feature_length (completer, options->scan.hole_size) == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "the metric %s needs the critic, which this model lacks; use an image-"
                   "space metric (mcd, meancd, medcd)",
                   picard_scan_metric_to_string (options->metric));
      return FALSE;
    }

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel), inner, NULL);
  state.options = options;
  state.completer = completer;
  state.inner = inner;
  for (guint v = 0; v < n_volumes; v++)
    state.total += volumes[v]->n_slices;

  for (guint v = 0; v < n_volumes && ok; v++)
    {
      PicardHeatmapVolume *volume = volumes[v];
      const PicardVolumeInfo *info = picard_volume_get_info (volume->volume);
      PicardScanVolumeJob job = { 0 };
      g_autoptr(GPtrArray) results = NULL;
      GError *local_error = NULL;

      if (volume->n_slices == 0)
        continue;
      state.volume = volume;
      g_free (state.dir);
      state.dir = g_build_filename (options->output_dir, volume->tag, NULL);
      job.rows = info->rows;
      job.columns = info->columns;
      job.slices = volume->slices;
      job.n_slices = volume->n_slices;
      job.get_slice = job_get_slice;
      job.slice_data = &state;
      job.cache_dir = options->cache_dir;
      job.cache_interval_s = 30.0;
      job.progress = options->progress;
      job.progress_data = options->progress_data;
      job.slice_done = job_slice_done;
      job.slice_done_data = &state;
      results = picard_scan_volume (completer, &options->scan, &job, inner, &local_error);
      if (state.error != NULL)
        {
          g_clear_error (&local_error);
          g_propagate_error (error, g_steal_pointer (&state.error));
          ok = FALSE;
        }
      else if (results == NULL)
        {
          g_propagate_error (error, local_error);
          ok = FALSE;
        }
    }

  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);
  g_free (state.slice);
  g_free (state.dir);
  return ok;
}
