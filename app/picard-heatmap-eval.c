/* picard-heatmap-eval.c: a folder of heatmaps against the lesion boxes (see the header). */
#include "picard-heatmap-eval.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-heatmap-job.h"
#include "picard-npy.h"
#include "picard-png.h"

void
picard_heatmap_eval_options_init (PicardHeatmapEvalOptions *options)
{
  memset (options, 0, sizeof *options);
  options->bootstrap = 1000;
  options->confidence = 0.95;
  options->curve_resolution = 0.002;
  options->max_detections = 20;
}

static void
eval_slice_free (gpointer data)
{
  PicardHeatmapEvalSlice *slice = data;

  g_free (slice->sidecar);
  g_free (slice->tag);
  g_free (slice->patient_id);
  g_free (slice->study_uid);
  g_free (slice->metric);
  g_free (slice->mode);
  g_free (slice->model_hash);
  picard_eval_curves_clear (&slice->curves);
  g_free (slice);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardHeatmapEvalSlice, eval_slice_free)

void
picard_heatmap_eval_report_free (PicardHeatmapEvalReport *report)
{
  if (report == NULL)
    return;
  g_clear_pointer (&report->slices, g_ptr_array_unref);
  g_free (report);
}

/* Every slice_NNNN.json under @dir, recursively. */
static gboolean
collect_sidecars (const char *dir, GPtrArray *paths, guint depth, GError **error)
{
  g_autoptr(GDir) handle = NULL;
  const char *name;

  /* Shards and volumes are one or two levels deep; a deep tree is not ours. */
  if (depth > 8)
    return TRUE;
  handle = g_dir_open (dir, 0, error);
  if (handle == NULL)
    return FALSE;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      guint digits = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        {
          if (!collect_sidecars (path, paths, depth + 1, error))
            return FALSE;
          continue;
        }
      if (!g_str_has_prefix (name, "slice_") || !g_str_has_suffix (name, ".json"))
        continue;
      for (const char *c = name + 6; g_ascii_isdigit (*c); c++)
        digits++;
      if (digits >= 4 && strcmp (name + 6 + digits, ".json") == 0)
        g_ptr_array_add (paths, g_steal_pointer (&path));
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
corrupt (GError **error, const char *path, const char *what)
{
  g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
               "%s is not a complete heatmap sidecar: %s; rerun picard-cli heatmap for it or "
               "remove it", path, what);
  return FALSE;
}

static const char *
get_string (JsonObject *object, const char *key)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
get_uint (JsonObject *object, const char *key, guint *out)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;
  gint64 value;
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  value = json_node_get_int (node);
  if (value < 0 || value > G_MAXINT)
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

static gboolean
get_bool (JsonObject *object, const char *key, gboolean *out)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, key) : NULL;
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return FALSE;
  *out = json_node_get_boolean (node);
  return TRUE;
}

static JsonObject *
get_object (JsonObject *object, const char *key)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_get_object (node);
}

/* A file named by the sidecar, next to it; only a plain name is accepted. */
static char *
sidecar_file (const char *sidecar, JsonObject *files, const char *key)
{
  const char *name = get_string (files, key);
  g_autofree char *dir = NULL;

  if (name == NULL || *name == '\0' || strchr (name, '/') != NULL || strcmp (name, "..") == 0)
    return NULL;
  dir = g_path_get_dirname (sidecar);
  return g_build_filename (dir, name, NULL);
}

typedef struct {
  char *key;          /* patient \t study \t view */
  guint number;
  PicardOrientation orientation;
} EvalVolume;

static void
eval_volume_free (gpointer data)
{
  EvalVolume *volume = data;
  g_free (volume->key);
  g_free (volume);
}

static int
compare_slices (gconstpointer a, gconstpointer b)
{
  const PicardHeatmapEvalSlice *x = *(PicardHeatmapEvalSlice *const *) a;
  const PicardHeatmapEvalSlice *y = *(PicardHeatmapEvalSlice *const *) b;
  int c = strcmp (x->tag, y->tag);
  if (c != 0)
    return c;
  return x->slice < y->slice ? -1 : x->slice > y->slice;
}

/* Scores one sidecar's slice; adds its detections. */
static gboolean
eval_sidecar (const char *path, GArray *boxes, const PicardHeatmapEvalOptions *options,
              GHashTable *volumes, GHashTable *seen, GPtrArray *slices, GArray *detections,
              GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(PicardHeatmapEvalSlice) slice = NULL;
  g_autoptr(PicardNpy) heatmap = NULL;
  g_autoptr(GArray) matched = NULL;
  g_autofree PicardRect *rects = NULL;
  g_autofree guint8 *labels = NULL;
  g_autofree guint8 *include = NULL;
  g_autofree char *heatmap_path = NULL;
  g_autofree char *volume_key = NULL;
  g_autofree char *slice_key = NULL;
  JsonObject *root, *orientation_object, *files, *parameters;
  const char *view_name;
  PicardOrientation orientation = { 0 };
  EvalVolume *volume;
  GError *local_error = NULL;
  guint hole = 0;
  gsize n;

  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT, "%s: %s", path,
                   local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return corrupt (error, path, "not a JSON object");
  root = json_node_get_object (json_parser_get_root (parser));
  /* Another program's slice_NNNN.json is none of our business. */
  if (g_strcmp0 (get_string (root, "format"), PICARD_HEATMAP_SIDECAR_FORMAT) != 0)
    return TRUE;

  slice = g_new0 (PicardHeatmapEvalSlice, 1);
  slice->sidecar = g_strdup (path);
  slice->tag = g_strdup (get_string (root, "tag"));
  slice->patient_id = g_strdup (get_string (root, "patient_id"));
  slice->study_uid = g_strdup (get_string (root, "study_uid"));
  view_name = get_string (root, "view");
  orientation_object = get_object (root, "orientation");
  files = get_object (root, "files");
  parameters = get_object (root, "parameters");
  if (slice->tag == NULL || view_name == NULL || orientation_object == NULL || files == NULL
      || parameters == NULL)
    return corrupt (error, path, "tag, view, orientation, parameters or files missing");
  if (!picard_view_from_string (view_name, &slice->view))
    slice->view = PICARD_VIEW_UNKNOWN;
  if (!get_uint (root, "slice", &slice->slice) || !get_uint (root, "rows", &slice->rows)
      || !get_uint (root, "columns", &slice->columns) || slice->rows == 0
      || slice->columns == 0)
    return corrupt (error, path, "slice, rows or columns missing");
  if (!get_bool (orientation_object, "flip", &orientation.flip)
      || !get_bool (orientation_object, "mirror", &orientation.mirror))
    return corrupt (error, path, "orientation.flip or orientation.mirror missing");
  get_uint (parameters, "hole_size", &hole);
  slice->metric = g_strdup (get_string (parameters, "metric"));
  slice->mode = g_strdup (get_string (parameters, "mode"));
  slice->model_hash = g_strdup (get_string (get_object (root, "model"), "hash"));
  orientation.rows = slice->rows;
  orientation.columns = slice->columns;

  slice_key = g_strdup_printf ("%s\t%u", slice->tag, slice->slice);
  if (g_hash_table_contains (seen, slice_key))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "slice %u of %s appears twice (%s and %s): give each shard's output once",
                   slice->slice, slice->tag,
                   (const char *) g_hash_table_lookup (seen, slice_key), path);
      return FALSE;
    }
  g_hash_table_insert (seen, g_steal_pointer (&slice_key), g_strdup (path));

  heatmap_path = sidecar_file (path, files, "heatmap");
  if (heatmap_path == NULL)
    return corrupt (error, path, "files.heatmap missing");
  heatmap = picard_npy_load (heatmap_path, error);
  if (heatmap == NULL)
    return FALSE;
  if (heatmap->ndim != 2 || heatmap->shape[0] != slice->rows
      || heatmap->shape[1] != slice->columns)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                   "%s is not %u x %u as its sidecar %s says", heatmap_path, slice->rows,
                   slice->columns, path);
      return FALSE;
    }
  n = (gsize) slice->rows * slice->columns;

  if (options->breast_only)
    {
      g_autofree char *mask_path = sidecar_file (path, files, "breast");
      g_autofree guint16 *mask = NULL;
      PicardPngInfo info;

      if (mask_path == NULL)
        return corrupt (error, path, "files.breast missing");
      mask = picard_png_read (mask_path, &info, error);
      if (mask == NULL)
        return FALSE;
      if (info.width != slice->columns || info.height != slice->rows)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_CORRUPT,
                       "%s is not %u x %u as its sidecar %s says", mask_path, slice->columns,
                       slice->rows, path);
          return FALSE;
        }
      include = g_new (guint8, n);
      for (gsize k = 0; k < n; k++)
        include[k] = mask[k] != 0;
    }

  volume_key = g_strdup_printf ("%s\t%s\t%s", slice->patient_id ? slice->patient_id : "",
                                slice->study_uid ? slice->study_uid : "", view_name);
  volume = g_hash_table_lookup (volumes, volume_key);
  if (volume == NULL)
    {
      volume = g_new0 (EvalVolume, 1);
      volume->key = g_steal_pointer (&volume_key);
      volume->number = g_hash_table_size (volumes);
      volume->orientation = orientation;
      g_hash_table_insert (volumes, volume->key, volume);
    }

  matched = picard_boxes_match (boxes, slice->patient_id, slice->study_uid, slice->view);
  rects = g_new (PicardRect, matched->len + 1);
  for (guint k = 0; k < matched->len; k++)
    {
      const PicardBox *box = &g_array_index (matched, PicardBox, k);
      PicardRect *rect = &rects[slice->n_boxes];

      if (box->slice < 0 || (guint) box->slice != slice->slice)
        continue;
      rect->x = box->x;
      rect->y = box->y;
      rect->width = box->width;
      rect->height = box->height;
      picard_orientation_map_box (&orientation, PICARD_SPACE_DATASET, PICARD_SPACE_ALIGNED,
                                  &rect->x, &rect->y, rect->width, rect->height);
      slice->n_boxes++;
    }
  labels = picard_eval_box_labels (slice->rows, slice->columns, rects, slice->n_boxes);
  if (!picard_eval_pixels (heatmap->data, labels, include, n, &slice->scores, error))
    {
      g_prefix_error (error, "%s: ", heatmap_path);
      return FALSE;
    }
  if (slice->scores.n_positive > 0 && slice->scores.n_negative > 0
      && !picard_eval_curves (heatmap->data, labels, include, n, options->curve_resolution,
                              &slice->curves, error))
    return FALSE;

  picard_eval_find_detections (heatmap->data, slice->rows, slice->columns, volume->number,
                               slice->slice,
                               options->detection_radius > 0 ? options->detection_radius
                                                             : MAX (hole, 1u),
                               options->detection_box > 0 ? options->detection_box
                                                          : MAX (hole, 1u),
                               options->max_detections, detections);
  g_ptr_array_add (slices, g_steal_pointer (&slice));
  return TRUE;
}

PicardHeatmapEvalReport *
picard_heatmap_eval_run (const char *const *dirs, GArray *boxes,
                         const PicardHeatmapEvalOptions *options, GError **error)
{
  g_autoptr(PicardHeatmapEvalReport) report = g_new0 (PicardHeatmapEvalReport, 1);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) volumes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         eval_volume_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                      g_free);
  g_autoptr(GArray) detections = g_array_new (FALSE, FALSE, sizeof (PicardDetection));
  g_autoptr(GArray) truths = g_array_new (FALSE, FALSE, sizeof (PicardFrocTruth));
  g_autofree double *aucs = NULL;
  g_autofree double *aps = NULL;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (dirs != NULL && boxes != NULL && options != NULL, NULL);

  for (guint d = 0; dirs[d] != NULL; d++)
    if (!collect_sidecars (dirs[d], paths, 0, error))
      return NULL;
  if (paths->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "no heatmap sidecars (slice_NNNN.json) under %s: run picard-cli heatmap "
                   "with -o there first", dirs[0] != NULL ? dirs[0] : "(no folder)");
      return NULL;
    }
  /* Readdir order is the file system's; sort so volume numbers are reproducible. */
  g_ptr_array_sort (paths, compare_strings);

  report->slices = g_ptr_array_new_with_free_func (eval_slice_free);
  for (guint k = 0; k < paths->len; k++)
    if (!eval_sidecar (g_ptr_array_index (paths, k), boxes, options, volumes, seen,
                       report->slices, detections, error))
      return NULL;
  if (report->slices->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "no picard-cli heatmap sidecars under %s", dirs[0]);
      return NULL;
    }
  g_ptr_array_sort (report->slices, compare_slices);
  report->n_volumes = g_hash_table_size (volumes);
  report->confidence = options->confidence;

  aucs = g_new (double, report->slices->len);
  aps = g_new (double, report->slices->len);
  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *slice = g_ptr_array_index (report->slices, k);
      /* Slices without a lesion have no AUC; they count for the FROC only. */
      aucs[k] = slice->n_boxes > 0 ? slice->scores.auc : NAN;
      aps[k] = slice->n_boxes > 0 ? slice->scores.ap : NAN;
    }
  if (!picard_eval_bootstrap (aucs, report->slices->len, options->bootstrap,
                              options->confidence, options->seed, &report->auc))
    report->auc = (PicardEvalSummary) { NAN, NAN, NAN, 0 };
  if (!picard_eval_bootstrap (aps, report->slices->len, options->bootstrap,
                              options->confidence, options->seed, &report->ap))
    report->ap = (PicardEvalSummary) { NAN, NAN, NAN, 0 };

  /* FROC truths: every box of every scanned volume, scanned slice or not. */
  g_hash_table_iter_init (&iter, volumes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      EvalVolume *volume = value;
      g_auto(GStrv) parts = g_strsplit (volume->key, "\t", 3);
      g_autoptr(GArray) matched = NULL;
      PicardView view = PICARD_VIEW_UNKNOWN;

      picard_view_from_string (parts[2], &view);
      matched = picard_boxes_match (boxes, *parts[0] ? parts[0] : NULL,
                                    *parts[1] ? parts[1] : NULL, view);
      for (guint k = 0; k < matched->len; k++)
        {
          const PicardBox *box = &g_array_index (matched, PicardBox, k);
          PicardFrocTruth truth = {
            .volume = volume->number, .slice = (guint) MAX (box->slice, 0),
            .box = { box->x, box->y, box->width, box->height },
            .volume_slices = box->volume_slices,
          };
          picard_orientation_map_box (&volume->orientation, PICARD_SPACE_DATASET,
                                      PICARD_SPACE_ALIGNED, &truth.box.x, &truth.box.y,
                                      truth.box.width, truth.box.height);
          g_array_append_val (truths, truth);
        }
    }
  report->n_truths = truths->len;
  for (guint k = 0; k < 4; k++)
    {
      report->froc_fps[k] = k + 1;
      report->froc_sensitivity[k] = NAN;
    }
  if (truths->len > 0
      && !picard_eval_froc ((const PicardFrocTruth *) (void *) truths->data, truths->len,
                            (const PicardDetection *) (void *) detections->data,
                            detections->len, report->n_volumes, report->froc_fps, 4,
                            report->froc_sensitivity, error))
    return NULL;
  return g_steal_pointer (&report);
}

static const char *
or_dash (const char *text)
{
  return text != NULL && *text != '\0' ? text : "-";
}

char *
picard_heatmap_eval_report_to_table (const PicardHeatmapEvalReport *report)
{
  GString *out = g_string_new (NULL);
  int width = 6;

  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *slice = g_ptr_array_index (report->slices, k);
      width = MAX (width, (int) strlen (slice->tag));
    }
  g_string_append_printf (out, "%-*s %6s %6s %10s %8s %8s\n", width, "volume", "slice", "boxes",
                          "positives", "AUC", "AP");
  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      g_string_append_printf (out, "%-*s %6u %6u %10" G_GUINT64_FORMAT " %8.4f %8.4f\n", width,
                              s->tag, s->slice, s->n_boxes, s->scores.n_positive,
                              s->n_boxes > 0 ? s->scores.auc : NAN,
                              s->n_boxes > 0 ? s->scores.ap : NAN);
    }
  g_string_append_printf (out, "\n%u slices of %u volumes; %u with lesions\n",
                          report->slices->len, report->n_volumes, report->auc.n);
  g_string_append_printf (out, "Mean pixel AUC %.4f (%.0f%% CI %.4f .. %.4f)\n",
                          report->auc.mean, 100.0 * report->confidence, report->auc.low,
                          report->auc.high);
  g_string_append_printf (out, "Mean pixel AP  %.4f (%.0f%% CI %.4f .. %.4f)\n",
                          report->ap.mean, 100.0 * report->confidence, report->ap.low,
                          report->ap.high);
  g_string_append_printf (out, "FROC (%u lesions): sensitivity", report->n_truths);
  for (guint k = 0; k < 4; k++)
    g_string_append_printf (out, " %.3f at %g FP%s", report->froc_sensitivity[k],
                            report->froc_fps[k], k < 3 ? "," : " per volume\n");
  return g_string_free (out, FALSE);
}

static void
csv_field (GString *out, const char *text)
{
  text = text != NULL ? text : "";
  if (strpbrk (text, ",\"\n\r") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *c = text; *c; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

static void
append_number (GString *out, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  if (isfinite (value))
    g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.17g", value));
  else
    g_string_append (out, "nan");
}

char *
picard_heatmap_eval_report_to_csv (const PicardHeatmapEvalReport *report)
{
  GString *out = g_string_new ("tag,patient_id,study_uid,view,slice,boxes,positives,"
                               "negatives,auc,ap\n");

  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      csv_field (out, s->tag);
      g_string_append_c (out, ',');
      csv_field (out, s->patient_id);
      g_string_append_c (out, ',');
      csv_field (out, s->study_uid);
      g_string_append_printf (out, ",%s,%u,%u,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",",
                              picard_view_to_string (s->view), s->slice, s->n_boxes,
                              s->scores.n_positive, s->scores.n_negative);
      append_number (out, s->scores.auc);
      g_string_append_c (out, ',');
      append_number (out, s->scores.ap);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static void
json_number (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
json_summary (JsonBuilder *b, const char *key, const PicardEvalSummary *summary)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  json_number (b, "mean", summary->mean);
  json_number (b, "ci_low", summary->low);
  json_number (b, "ci_high", summary->high);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, summary->n);
  json_builder_end_object (b);
}

char *
picard_heatmap_eval_report_to_json (const PicardHeatmapEvalReport *report)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "slices");
  json_builder_begin_array (b);
  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "tag");
      json_builder_add_string_value (b, s->tag);
      json_builder_set_member_name (b, "patient_id");
      json_builder_add_string_value (b, or_dash (s->patient_id));
      json_builder_set_member_name (b, "view");
      json_builder_add_string_value (b, picard_view_to_string (s->view));
      json_builder_set_member_name (b, "slice");
      json_builder_add_int_value (b, s->slice);
      json_builder_set_member_name (b, "sidecar");
      json_builder_add_string_value (b, s->sidecar);
      json_builder_set_member_name (b, "metric");
      json_builder_add_string_value (b, or_dash (s->metric));
      json_builder_set_member_name (b, "mode");
      json_builder_add_string_value (b, or_dash (s->mode));
      json_builder_set_member_name (b, "boxes");
      json_builder_add_int_value (b, s->n_boxes);
      json_builder_set_member_name (b, "positives");
      json_builder_add_int_value (b, (gint64) s->scores.n_positive);
      json_builder_set_member_name (b, "negatives");
      json_builder_add_int_value (b, (gint64) s->scores.n_negative);
      json_number (b, "auc", s->scores.auc);
      json_number (b, "ap", s->scores.ap);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "volumes");
  json_builder_add_int_value (b, report->n_volumes);
  json_summary (b, "auc", &report->auc);
  json_summary (b, "ap", &report->ap);
  json_builder_set_member_name (b, "froc");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "lesions");
  json_builder_add_int_value (b, report->n_truths);
  json_builder_set_member_name (b, "fps_per_volume");
  json_builder_begin_array (b);
  for (guint k = 0; k < 4; k++)
    json_builder_add_double_value (b, report->froc_fps[k]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "sensitivity");
  json_builder_begin_array (b);
  for (guint k = 0; k < 4; k++)
    if (isfinite (report->froc_sensitivity[k]))
      json_builder_add_double_value (b, report->froc_sensitivity[k]);
    else
      json_builder_add_null_value (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}
