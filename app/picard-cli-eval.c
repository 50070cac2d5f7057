/* picard-cli eval: scores the heatmaps written by picard-cli heatmap (one folder, or the
 * folders of several shards) against the lesion boxes: a table on stdout, optionally CSV,
 * JSON and a ROC plot (app/picard-heatmap-eval.h does the work). */
#include "picard-cli.h"

#include <stdio.h>

#include "picard-error.h"
#include "picard-heatmap-eval.h"
#include "picard-plot.h"

static gboolean
write_text (const char *path, const char *text, GError **error)
{
  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, error))
    return FALSE;
  return TRUE;
}

/* Every slice with a lesion as one ROC curve. */
static gboolean
write_roc (const char *path, const PicardHeatmapEvalReport *report, GError **error)
{
  g_autoptr(GArray) series = g_array_new (FALSE, TRUE, sizeof (PicardPlotSeries));
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *title = NULL;

  for (guint k = 0; k < report->slices->len; k++)
    {
      const PicardHeatmapEvalSlice *s = g_ptr_array_index (report->slices, k);
      PicardPlotSeries one = { 0 };
      char *label;

      if (s->curves.n_roc == 0)
        continue;
      label = g_strdup_printf ("%s slice %u (AUC %.3f)", s->tag, s->slice, s->scores.auc);
      g_ptr_array_add (labels, label);
      one.x = s->curves.fpr;
      one.y = s->curves.tpr;
      one.n = s->curves.n_roc;
      one.label = label;
      g_array_append_val (series, one);
    }
  if (series->len == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "no slice has a lesion box, so there is no ROC curve to draw in %s; check "
                   "that the boxes table matches the volumes", path);
      return FALSE;
    }
  title = g_strdup_printf ("Pixel ROC, mean AUC %.3f over %u slices", report->auc.mean,
                           report->auc.n);
  return picard_plot_curves (path, PICARD_PLOT_ROC, title,
                             (const PicardPlotSeries *) (void *) series->data, series->len,
                             800, error);
}

int
picard_cli_eval (int argc, char **argv)
{
  g_autofree char *boxes_path = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *csv_path = NULL;
  g_autofree char *roc_path = NULL;
  gboolean breast_only = FALSE;
  int bootstrap = 1000;
  const GOptionEntry entries[] = {
    { "boxes", 'b', 0, G_OPTION_ARG_FILENAME, &boxes_path,
      "The lesion boxes table (BCS-DBT boxes CSV, required)", "CSV" },
    { "breast-only", 0, 0, G_OPTION_ARG_NONE, &breast_only,
      "Score only the breast's pixels (the paper scores the whole image)", NULL },
    { "bootstrap", 0, 0, G_OPTION_ARG_INT, &bootstrap,
      "Bootstrap resamples of the confidence interval (default 1000)", "N" },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Also write the results as JSON",
      "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, "Also write the per-slice table as CSV",
      "FILE" },
    { "roc", 0, 0, G_OPTION_ARG_FILENAME, &roc_path,
      "Also draw the slices' ROC curves (PNG, SVG or PDF)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GArray) boxes = NULL;
  g_autoptr(PicardHeatmapEvalReport) report = NULL;
  g_autofree char *table = NULL;
  g_auto(GStrv) dirs = NULL;
  PicardHeatmapEvalOptions options;
  GError *error = NULL;

  context = g_option_context_new ("OUTDIR...");
  g_option_context_set_summary (context,
    "Score the heatmaps that picard-cli heatmap wrote to OUTDIR against the lesion boxes:\n"
    "per-slice pixel AUC and AP, their mean with a bootstrap confidence interval, and FROC\n"
    "sensitivity at 1, 2, 3 and 4 false positives per volume.  Shards merge when they wrote\n"
    "to one OUTDIR or when their folders are all given.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("eval", error);
  if (argc < 2)
    return picard_cli_fail_usage ("eval", "give the folder that picard-cli heatmap wrote (OUTDIR)");
  if (boxes_path == NULL)
    return picard_cli_fail_usage ("eval", "give the lesion boxes table with --boxes CSV");
  if (bootstrap < 1)
    return picard_cli_fail_usage ("eval", "--bootstrap must be at least 1, not %d", bootstrap);
  for (int a = 1; a < argc; a++)
    if (!g_file_test (argv[a], G_FILE_TEST_IS_DIR))
      return picard_cli_fail_usage ("eval",
          "%s is not a folder: give the OUTDIR of picard-cli heatmap", argv[a]);

  boxes = picard_boxes_load (boxes_path, &error);
  if (boxes == NULL)
    return picard_cli_fail ("eval", error);
  picard_heatmap_eval_options_init (&options);
  options.breast_only = breast_only;
  options.bootstrap = (guint) bootstrap;
  dirs = g_new0 (char *, argc);
  for (int a = 1; a < argc; a++)
    dirs[a - 1] = g_strdup (argv[a]);
  report = picard_heatmap_eval_run ((const char *const *) dirs, boxes, &options, &error);
  if (report == NULL)
    return picard_cli_fail ("eval", error);

  table = picard_heatmap_eval_report_to_table (report);
  fputs (table, stdout);
  if (csv_path != NULL)
    {
      g_autofree char *csv = picard_heatmap_eval_report_to_csv (report);
      if (!write_text (csv_path, csv, &error))
        return picard_cli_fail ("eval", error);
    }
  if (json_path != NULL)
    {
      g_autofree char *json = picard_heatmap_eval_report_to_json (report);
      if (!write_text (json_path, json, &error))
        return picard_cli_fail ("eval", error);
    }
  if (roc_path != NULL && !write_roc (roc_path, report, &error))
    return picard_cli_fail ("eval", error);
  return 0;
}
