/* picard-cli heatmap: PICARD heatmaps of slices of DBT volumes, written per slice as NumPy
 * arrays, a JSON sidecar and an overlay PNG (app/picard-heatmap-job.h does the work). */
#include "picard-cli.h"

#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picard-error.h"
#include "picard-heatmap-job.h"
#include "picard-network.h"
#include "picard-scan-cache.h"

/* The network outlives the completer that points into it. */
typedef struct {
  PicardNetwork *network;
  PicardCompleter *completer;
} Model;

static void
model_clear (Model *model)
{
  g_clear_object (&model->completer);
  g_clear_pointer (&model->network, picard_network_free);
}

/* The completion network of @checkpoint: the one place this command makes a completer.
 * @input_dim is the volume's channel count, which the network must take. */
static gboolean
load_model (Model *model, const char *backend, const char *checkpoint, int iteration,
            const char *dropout_layers, double dropout_p, guint n_samples, guint input_dim,
            gboolean quiet, GError **error)
{
  model->network = picard_cli_open_network (backend, checkpoint, iteration, dropout_layers,
                                            dropout_p, error);
  if (model->network == NULL)
    return FALSE;
  if (picard_network_get_input_dim (model->network) != input_dim)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "the network of %s takes %u channels, but DBT slices have %u: use a "
                   "checkpoint trained on single-channel slices (input_dim %u)",
                   picard_network_get_generator_path (model->network),
                   picard_network_get_input_dim (model->network), input_dim, input_dim);
      return FALSE;
    }
  if (!quiet)
    picard_cli_say_network (model->network);
  model->completer = picard_network_completer_new (model->network, n_samples);
  return TRUE;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Model, model_clear)

typedef struct {
  gboolean tty;
  gboolean quiet;
  gboolean bar_shown;
  guint slices_total;
} Progress;

static void
format_duration (double seconds, char *out, gsize size)
{
  guint64 s;

  if (!(seconds >= 0) || !isfinite (seconds))
    {
      g_strlcpy (out, "--:--", size);
      return;
    }
  s = (guint64) (seconds + 0.5);
  if (s >= 3600)
    g_snprintf (out, size, "%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                (guint) (s / 60 % 60), (guint) (s % 60));
  else
    g_snprintf (out, size, "%u:%02u", (guint) (s / 60), (guint) (s % 60));
}

static void
on_progress (const PicardScanProgress *p, gpointer user_data)
{
  Progress *progress = user_data;
  char eta[32];
  char bar[31];
  guint filled;
  double left;

  if (!progress->tty || progress->quiet || p->n_total == 0)
    return;
  filled = (guint) ((double) (p->n_done + p->n_skipped) / p->n_total * 30.0);
  for (guint k = 0; k < 30; k++)
    bar[k] = k < filled ? '#' : '.';
  bar[30] = '\0';
  /* This slice's remaining time plus the later slices at the measured rate. */
  left = p->eta_s;
  if (left >= 0 && p->patches_per_second > 0 && p->n_slices > p->slice_position + 1)
    left += (double) (p->n_slices - p->slice_position - 1) * p->n_total
            / p->patches_per_second;
  format_duration (left, eta, sizeof eta);
  fprintf (stderr, "\rslice %u/%u [%s] %u/%u patches  %.1f patches/s  ETA %s \033[K",
           p->slice_position + 1, p->n_slices, bar, p->n_done + p->n_skipped, p->n_total,
           p->patches_per_second, eta);
  fflush (stderr);
  progress->bar_shown = TRUE;
}

static void
on_slice_written (const PicardHeatmapSliceReport *report, gpointer user_data)
{
  Progress *progress = user_data;

  if (progress->quiet)
    return;
  if (progress->bar_shown)
    fputs ("\r\033[K", stderr);
  fprintf (stderr, "[%u/%u] %s slice %u: %u patches", report->position, report->total,
           report->volume->tag, report->slice, report->completed);
  if (report->skipped > 0)
    fprintf (stderr, " (%u all-air patches skipped)", report->skipped);
  fprintf (stderr, ", %.1f s -> %s\n", report->seconds, report->sidecar_path);
  progress->bar_shown = FALSE;
}

typedef struct {
  const PicardHeatmapJobOptions *options;
  PicardHeatmapVolume **volumes;
  guint n_volumes;
  PicardCompleter *completer;
  GCancellable *cancellable;
  GMainLoop *loop;
  GError *error;
  gboolean ok;
} Run;

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gpointer
run_thread (gpointer data)
{
  Run *run = data;

  run->ok = picard_heatmap_job_run (run->options, run->volumes, run->n_volumes,
                                    run->completer, run->cancellable, &run->error);
  /* Through the main context: a quit before the loop runs would be lost. */
  g_idle_add (quit_loop, run->loop);
  return NULL;
}

static gboolean
on_interrupt (gpointer data)
{
  Run *run = data;

  if (!g_cancellable_is_cancelled (run->cancellable))
    fputs ("\ninterrupted: stopping after the batch in flight\n", stderr);
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_count (const char *name, int value, guint *out, GError **error)
{
  if (value < 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "%s must not be negative (%d)", name, value);
      return FALSE;
    }
  *out = (guint) value;
  return TRUE;
}

int
picard_cli_heatmap (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *backend = NULL;
  g_autofree char *output = NULL;
  g_autofree char *slices_option = NULL;
  g_autofree char *lesion_slices = NULL;
  g_autofree char *metric_option = NULL;
  g_autofree char *mode_option = NULL;
  g_autofree char *dropout_layers = NULL;
  g_autofree char *roi_option = NULL;
  g_autofree char *view_option = NULL;
  g_autofree char *shard_option = NULL;
  g_autofree char *seed_option = NULL;
  g_autofree char *cache_dir = NULL;
  g_autofree char *dropout_list = NULL;
  /* G_MININT: not given (the sizes then come from the checkpoint where it tells them). */
  int iteration = -1, slice = -1, patch = G_MININT, hole = G_MININT, stride = G_MININT;
  int samples = PICARD_SCAN_DEFAULT_SAMPLES, batch = 0;
  double dropout_p = 0.5;
  gboolean skip_air = FALSE, no_cache = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "checkpoint", 'c', 0, G_OPTION_ARG_FILENAME, &checkpoint,
      "Checkpoint folder of the completion network (required)", "DIR" },
    { "iteration", 0, 0, G_OPTION_ARG_INT, &iteration,
      "Checkpoint iteration (default: the newest)", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Output folder (required); files go to OUTDIR/PATIENT_VIEW_STUDYHASH/slice_NNNN.*",
      "OUTDIR" },
    { "slice", 0, 0, G_OPTION_ARG_INT, &slice, "Scan this slice (0-based)", "N" },
    { "slices", 0, 0, G_OPTION_ARG_STRING, &slices_option,
      "Scan slices A to B, both included (default: every slice)", "A:B" },
    { "lesion-slices", 0, 0, G_OPTION_ARG_FILENAME, &lesion_slices,
      "Scan the central slices of the boxes of this table that match the volume", "CSV" },
    { "patch", 'P', 0, G_OPTION_ARG_INT, &patch,
      "Patch size (default: the checkpoint's training size, from its critics; else 256)", "P" },
    { "hole", 'H', 0, G_OPTION_ARG_INT, &hole,
      "Hole size, centred (default: the checkpoint's training size; else 128)", "H" },
    { "stride", 0, 0, G_OPTION_ARG_INT, &stride,
      "Stride (default 32; P/8 when P is the checkpoint's training size)", "S" },
    { "samples", 'M', 0, G_OPTION_ARG_INT, &samples, "Completions per patch (default 10)",
      "M" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_option, "Seed (default 1337)", "SEED" },
    { "metric", 0, 0, G_OPTION_ARG_STRING, &metric_option,
      "mcd, meancd or medcd, with -feature for the critic's space (default mcd)", "METRIC" },
    { "dropout-layers", 0, 0, G_OPTION_ARG_STRING, &dropout_layers,
      "Layers with dropout: a comma list, paper, released (default) or none", "LIST" },
    { "dropout-p", 0, 0, G_OPTION_ARG_DOUBLE, &dropout_p, "Dropout probability (default 0.5)",
      "P" },
    { "roi", 0, 0, G_OPTION_ARG_STRING, &roi_option,
      "Scan only patches whose hole meets this rectangle of the aligned slice", "X,Y,W,H" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_option,
      "Heatmap assembly: registered (default) or reference (the paper's)", "MODE" },
    { "skip-air", 0, 0, G_OPTION_ARG_NONE, &skip_air, "Skip patches that are all air", NULL },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_option,
      "The view letters from the data set (lcc, lmlo, rcc, rmlo); else the header's", "VIEW" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard_option,
      "Scan only shard I of N (0-based) of the (volume, slice) list: item k goes to shard "
      "k mod N", "I/N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &batch,
      "Patches per network call (default: the device's choice; results do not change)", "B" },
    { "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
      "Scan cache folder (default: the user cache, as the viewer)", "DIR" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache, "Keep no scan cache (no resuming)", NULL },
    PICARD_CLI_BACKEND_ENTRY (backend),
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GPtrArray) volumes = g_ptr_array_new_with_free_func (
    (GDestroyNotify) picard_heatmap_volume_free);
  g_autoptr(GArray) boxes = NULL;
  /* (volume, slice) pairs, flat */
  g_autoptr(GArray) items = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(Model) model = { 0 };
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree guint *positions = NULL;
  PicardHeatmapJobOptions options;
  PicardView view = PICARD_VIEW_UNKNOWN;
  GError *error = NULL;
  guint shard_index = 0, shard_count = 1, n_positions, first = 0, last = 0, n_selectors;
  Progress progress = { 0 };
  Run run = { 0 };
  GThread *thread;
  guint sigint, sigterm;

  picard_heatmap_job_options_init (&options);
  context = g_option_context_new ("VOLUME...");
  g_option_context_set_summary (context,
    "Scan slices of DBT volumes with PICARD and write, per slice, the heatmap (float32 .npy, "
    "left-aligned),\nthe score grid and the distances of every sample (.npy), a JSON sidecar "
    "with every parameter,\nthe model's hash, the device and the timing, and an overlay PNG.\n"
    "Finished batches are cached: an interrupted run (Ctrl+C) resumes when run again.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("heatmap", error);
  if (argc < 2)
    return picard_cli_fail_usage ("heatmap",
                                  "give at least one VOLUME (a DICOM file or a PNG folder)");
  if (checkpoint == NULL)
    return picard_cli_fail_usage ("heatmap",
                                  "give the network's checkpoint folder with --checkpoint DIR");
  if (output == NULL)
    return picard_cli_fail_usage ("heatmap", "give the output folder with -o OUTDIR");
  n_selectors = (slice >= 0) + (slices_option != NULL) + (lesion_slices != NULL);
  if (n_selectors > 1)
    return picard_cli_fail_usage ("heatmap",
                                  "give only one of --slice, --slices and --lesion-slices");
  if (slice < -1)
    return picard_cli_fail_usage ("heatmap", "--slice must not be negative (%d)", slice);
  if (slices_option != NULL && !picard_heatmap_job_parse_range (slices_option, &first, &last,
                                                                &error))
    return picard_cli_fail ("heatmap", error);
  /* Neither size given: the ones the network was trained for, with the paper's stride of a
   * patch's eighth (256 / 128 / 32 for PICARD's checkpoints; 64 / 32 / 8 for the demo model,
   * which gives no useful heatmap at 256 / 128). */
  guint trained_patch, trained_hole;
  if (picard_cli_resolve_geometry (checkpoint, iteration, &patch, &hole, &trained_patch,
                                   &trained_hole)
      && stride == G_MININT)
    stride = MAX (patch / 8, 1);
  if (stride == G_MININT)
    stride = PICARD_SCAN_DEFAULT_STRIDE;
  if (trained_patch > 0 && !quiet
      && (patch != (int) trained_patch || hole != (int) trained_hole))
    g_printerr ("picard-cli heatmap: note: %s was trained on %u x %u patches with a %u x %u "
                "hole; scanning with %d / %d\n", checkpoint, trained_patch, trained_patch,
                trained_hole, trained_hole, patch, hole);
  if (!parse_count ("-P/--patch", patch, &options.scan.patch_size, &error)
      || !parse_count ("-H/--hole", hole, &options.scan.hole_size, &error)
      || !parse_count ("--stride", stride, &options.scan.stride, &error)
      || !parse_count ("-M/--samples", samples, &options.scan.n_samples, &error)
      || !parse_count ("--batch-size", batch, &options.scan.batch_size, &error))
    return picard_cli_fail ("heatmap", error);
  if (seed_option != NULL)
    {
      guint64 seed;
      if (!g_ascii_string_to_unsigned (seed_option, 10, 0, G_MAXUINT64, &seed, NULL))
        return picard_cli_fail_usage ("heatmap",
                                      "bad --seed '%s': give a non-negative integer", seed_option);
      options.scan.seed = seed;
    }
  if (metric_option != NULL && !picard_scan_metric_from_string (metric_option, &options.metric))
    return picard_cli_fail_usage ("heatmap",
        "unknown --metric '%s'; use mcd, meancd or medcd, optionally with -feature "
                 "(mcd-feature)", metric_option);
  if (mode_option != NULL && !picard_heatmap_mode_from_string (mode_option, &options.mode))
    return picard_cli_fail_usage ("heatmap",
                                  "unknown --mode '%s'; use registered or reference", mode_option);
  if (!(dropout_p >= 0.0 && dropout_p < 1.0))
    return picard_cli_fail_usage ("heatmap", "--dropout-p must be in [0, 1), not %g", dropout_p);
  if (roi_option != NULL)
    {
      if (!picard_heatmap_job_parse_roi (roi_option, &options.scan.roi, &error))
        return picard_cli_fail ("heatmap", error);
      options.scan.has_roi = TRUE;
    }
  options.scan.skip_air = skip_air;
  if (view_option != NULL && !picard_view_from_string (view_option, &view))
    return picard_cli_fail_usage ("heatmap",
                                  "unknown view '%s'; use lcc, lmlo, rcc or rmlo", view_option);
  if (shard_option != NULL
      && !picard_heatmap_job_parse_shard (shard_option, &shard_index, &shard_count, &error))
    return picard_cli_fail ("heatmap", error);
  if (lesion_slices != NULL)
    {
      boxes = picard_boxes_load (lesion_slices, &error);
      if (boxes == NULL)
        return picard_cli_fail ("heatmap", error);
    }

  /* The (volume, slice) list, then this shard's part of it. */
  for (int a = 1; a < argc; a++)
    {
      PicardHeatmapVolume *volume = picard_heatmap_volume_open (argv[a], view, &error);
      const PicardVolumeInfo *info;
      g_autofree guint *wanted = NULL;
      guint n_wanted = 0;

      if (volume == NULL)
        return picard_cli_fail ("heatmap", error);
      g_ptr_array_add (volumes, volume);
      info = picard_volume_get_info (volume->volume);
      if (boxes != NULL)
        {
          if (volume->view == PICARD_VIEW_UNKNOWN)
            return picard_cli_fail_usage ("heatmap",
                "%s: the view is unknown (header without laterality or view); give "
                         "it with --view to match the boxes", argv[a]);
          wanted = picard_heatmap_job_lesion_slices (boxes, info->patient_id,
                                                     info->study_instance_uid, volume->view,
                                                     info->frames, &n_wanted);
          if (n_wanted == 0 && !quiet)
            g_printerr ("picard-cli heatmap: no box of %s matches %s (PatientID %s, view %s)\n",
                        lesion_slices, argv[a], info->patient_id ? info->patient_id : "-",
                        picard_view_to_string (volume->view));
        }
      else
        {
          guint from = 0, to = info->frames - 1;
          if (slice >= 0)
            from = to = (guint) slice;
          else if (slices_option != NULL)
            {
              from = first;
              to = last;
            }
          if (to >= info->frames)
            return picard_cli_fail_usage ("heatmap",
                "slice %u is outside 0..%u of %s", to, info->frames - 1, argv[a]);
          n_wanted = to - from + 1;
          wanted = g_new (guint, n_wanted);
          for (guint k = 0; k < n_wanted; k++)
            wanted[k] = from + k;
        }
      for (guint k = 0; k < n_wanted; k++)
        {
          guint item[2] = { volumes->len - 1, wanted[k] };
          g_array_append_vals (items, item, 2);
        }
    }
  positions = picard_heatmap_job_shard (items->len / 2, shard_index, shard_count, &n_positions);
  for (guint k = 0; k < n_positions; k++)
    {
      const guint *item = &g_array_index (items, guint, 2 * positions[k]);
      PicardHeatmapVolume *volume = g_ptr_array_index (volumes, item[0]);
      volume->slices = g_renew (guint, volume->slices, volume->n_slices + 1);
      volume->slices[volume->n_slices++] = item[1];
    }

  options.output_dir = output;
  options.checkpoint = checkpoint;
  options.iteration = iteration;
  options.dropout_layers = dropout_layers != NULL ? dropout_layers : "released";
  options.dropout_p = dropout_p;
  if (!no_cache && cache_dir == NULL)
    cache_dir = picard_scan_cache_default_dir ();
  options.cache_dir = no_cache ? NULL : cache_dir;
  /* Bad geometry is reported before the network is loaded. */
  if (!picard_heatmap_job_check (&options, (PicardHeatmapVolume **) volumes->pdata,
                                 volumes->len, &error))
    return picard_cli_fail ("heatmap", error);
  if (n_positions == 0)
    {
      if (!quiet)
        g_printerr ("picard-cli heatmap: nothing to scan%s\n",
                    shard_count > 1 ? " in this shard" : "");
      return 0;
    }

  if (!load_model (&model, backend, checkpoint, iteration, options.dropout_layers, dropout_p,
                   options.scan.n_samples, 1, quiet, &error))
    return picard_cli_fail ("heatmap", error);
  /* The sidecars record what was loaded, not what was asked for. */
  options.checkpoint = picard_network_get_generator_path (model.network);
  options.iteration = (int) picard_network_get_iteration (model.network);
  dropout_list = g_strjoinv (",", (char **) picard_network_get_dropout_layers (model.network));
  options.dropout_layers = dropout_list;

  progress.tty = isatty (STDERR_FILENO);
  progress.quiet = quiet;
  progress.slices_total = n_positions;
  options.progress = on_progress;
  options.progress_data = &progress;
  options.slice_written = on_slice_written;
  options.slice_written_data = &progress;

  /* The scan runs on a worker; this thread turns Ctrl+C into a clean cancellation. */
  cancellable = g_cancellable_new ();
  loop = g_main_loop_new (NULL, FALSE);
  run.options = &options;
  run.volumes = (PicardHeatmapVolume **) volumes->pdata;
  run.n_volumes = volumes->len;
  run.completer = model.completer;
  run.cancellable = cancellable;
  run.loop = loop;
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &run);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &run);
  thread = g_thread_new ("picard-heatmap", run_thread, &run);
  g_main_loop_run (loop);
  g_thread_join (thread);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  if (progress.bar_shown)
    fputs ("\r\033[K", stderr);

  if (!run.ok)
    {
      if (g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_error_free (run.error);
          g_printerr ("picard-cli heatmap: cancelled; finished slices are in %s and finished "
                      "batches in the scan cache: run the same command again to resume\n",
                      output);
          return 130;
        }
      return picard_cli_fail ("heatmap", run.error);
    }
  return 0;
}
