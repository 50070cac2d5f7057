/* picard-cli phantom: synthetic BCS-DBT-like volumes with the dataset's three CSV tables. */
#include "picard-cli.h"

#include "picard-csv.h"
#include "picard-dicom.h"
#include "picard-error.h"
#include "picard-phantom.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_COUNT 100000

typedef struct {
  gboolean tty;
  gint64 start_us;
  guint done, total;
} Progress;

static void
progress_print (Progress *p, double volume_fraction)
{
  double done = p->done + volume_fraction;
  double elapsed = (g_get_monotonic_time () - p->start_us) / 1e6;

  if (!p->tty)
    return;
  if (done > 0.0 && elapsed > 0.5)
    g_printerr ("\rphantom: %u/%u volumes, about %.0f s left   ", p->done, p->total,
                elapsed * (p->total - done) / done);
  else
    g_printerr ("\rphantom: %u/%u volumes   ", p->done, p->total);
}

static void
progress_frame (double fraction, gpointer data)
{
  progress_print (data, fraction);
}

static gboolean
parse_laterality (const char *text, PicardLaterality *out, GError **error)
{
  if (text == NULL || g_ascii_strcasecmp (text, "random") == 0)
    *out = PICARD_LATERALITY_UNKNOWN;
  else if (g_ascii_strcasecmp (text, "L") == 0)
    *out = PICARD_LATERALITY_LEFT;
  else if (g_ascii_strcasecmp (text, "R") == 0)
    *out = PICARD_LATERALITY_RIGHT;
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Unknown laterality '%s': use L, R or random", text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_view (const char *text, const char **out, GError **error)
{
  if (text == NULL || g_ascii_strcasecmp (text, "random") == 0)
    *out = NULL;
  else if (g_ascii_strcasecmp (text, "CC") == 0)
    *out = "CC";
  else if (g_ascii_strcasecmp (text, "MLO") == 0)
    *out = "MLO";
  else
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "Unknown view '%s': use CC, MLO or random", text);
      return FALSE;
    }
  return TRUE;
}

static void
append_row (GString *out, const char *const *fields, gsize n)
{
  picard_csv_append_row (out, fields, n);
}

static void
append_tables (const PicardPhantom *ph, const char *relative_path, GString *paths,
               GString *labels, GString *boxes)
{
  const char *view = picard_phantom_view_code (ph);
  gboolean benign = FALSE, cancer = FALSE;

  {
    const char *row[] = { ph->patient_id, ph->study_instance_uid, view, relative_path,
                          relative_path };

    append_row (paths, row, G_N_ELEMENTS (row));
  }
  for (guint i = 0; i < ph->n_lesions; i++)
    {
      const PicardPhantomLesion *les = &ph->lesions[i];
      char subject[16], slice[16], x[16], y[16], w[16], h[16], slices[16];
      const char *row[] = { ph->patient_id, ph->study_instance_uid, view, subject, slice, x, y,
                            w, h, picard_phantom_class_name (les->klass), "0", slices };

      if (les->klass == PICARD_PHANTOM_CLASS_CANCER)
        cancer = TRUE;
      else
        benign = TRUE;
      /* Subject numbers the lesions of a view, from 1. */
      g_snprintf (subject, sizeof subject, "%u", i + 1);
      g_snprintf (slice, sizeof slice, "%u", les->slice);
      g_snprintf (x, sizeof x, "%u", les->x);
      g_snprintf (y, sizeof y, "%u", les->y);
      g_snprintf (w, sizeof w, "%u", les->width);
      g_snprintf (h, sizeof h, "%u", les->height);
      g_snprintf (slices, sizeof slices, "%u", les->volume_slices);
      append_row (boxes, row, G_N_ELEMENTS (row));
    }
  {
    /* One class per view, as in BCS-DBT: a cancer outranks a benign finding. */
    const char *row[] = { ph->patient_id, ph->study_instance_uid, view,
                          (!benign && !cancer) ? "1" : "0", "0",
                          (benign && !cancer) ? "1" : "0", cancer ? "1" : "0" };

    append_row (labels, row, G_N_ELEMENTS (row));
  }
}

static gboolean
write_volume (const PicardPhantom *ph, const char *path, PicardDicomSyntax syntax,
              GError **error)
{
  PicardDicomWriteParams wp = { 0 };

  wp.patient_id = ph->patient_id;
  wp.study_instance_uid = ph->study_instance_uid;
  wp.series_instance_uid = ph->series_instance_uid;
  wp.sop_instance_uid = ph->sop_instance_uid;
  wp.view = ph->view;
  wp.laterality = ph->header_laterality;
  wp.bits_stored = ph->bits_stored;
  wp.window_center = ph->window_center;
  wp.window_width = ph->window_width;
  wp.frames = ph->frames;
  wp.rows = ph->rows;
  wp.columns = ph->columns;
  return picard_dicom_write (path, &wp, ph->voxels, syntax, error);
}

int
picard_cli_phantom (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *laterality_text = NULL;
  g_autofree char *view_text = NULL;
  g_autofree char *syntax_text = NULL;
  gint64 seed = 1;
  int count = 1, rows = 0, columns = 0, frames = 0, masses = -1, calcifications = -1;
  gboolean normal = FALSE, stored_rotated = FALSE, wrong_header = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Folder to write into (created)",
      "OUTDIR" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the first volume (default 1)", "N" },
    { "count", 0, 0, G_OPTION_ARG_INT, &count,
      "Number of volumes, with seeds N, N+1, ... (default 1)", "K" },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "Rows (default 2457)", "R" },
    { "columns", 0, 0, G_OPTION_ARG_INT, &columns, "Columns (default 1996)", "C" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames (default 60)", "F" },
    { "laterality", 0, 0, G_OPTION_ARG_STRING, &laterality_text,
      "Breast: L, R or random (default random, by seed)", "L|R|random" },
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_text,
      "View: CC, MLO or random (default random, by seed)", "CC|MLO|random" },
    { "masses", 0, 0, G_OPTION_ARG_INT, &masses,
      "Masses per volume, spiculated when cancer (default 1)", "N" },
    { "calcifications", 0, 0, G_OPTION_ARG_INT, &calcifications,
      "Calcification clusters per volume (default 0)", "N" },
    { "normal", 0, 0, G_OPTION_ARG_NONE, &normal, "No lesions (training data)", NULL },
    { "stored-rotated", 0, 0, G_OPTION_ARG_NONE, &stored_rotated,
      "Store pixels rotated 180 degrees, as some BCS-DBT files are", NULL },
    { "wrong-header-laterality", 0, 0, G_OPTION_ARG_NONE, &wrong_header,
      "Write the other breast's laterality in the header", NULL },
    { "syntax", 0, 0, G_OPTION_ARG_STRING, &syntax_text,
      "Transfer syntax: explicit, implicit, deflated, rle, jpeg-lossless, jpeg-ls, "
      "j2k-lossless, j2k (default explicit)", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) paths = NULL;
  g_autoptr(GString) labels = NULL;
  g_autoptr(GString) boxes = NULL;
  PicardPhantomParams params;
  PicardDicomSyntax syntax = PICARD_DICOM_SYNTAX_EXPLICIT_LITTLE;
  Progress progress = { 0 };

  context = g_option_context_new ("- generate synthetic DBT volumes");
  g_option_context_set_summary (context,
    "Writes OUTDIR/<PatientID>/<view>.dcm for each volume and the BCS-DBT tables\n"
    "OUTDIR/BCS-DBT-file-paths.csv, BCS-DBT-labels.csv and BCS-DBT-boxes.csv.\n"
    "The same seed and options give the same volumes on every machine.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("phantom", g_steal_pointer (&error));

  picard_phantom_params_init (&params);
  if (output == NULL)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "No output folder: give one with -o OUTDIR");
  else if (argc > 1)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "Unexpected argument '%s'; see --help", argv[1]);
  else if (seed < 0)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "--seed must not be negative");
  else if (count < 1 || count > MAX_COUNT)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "--count must be 1..%d", MAX_COUNT);
  else if (rows < 0 || columns < 0 || frames < 0)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "--rows, --columns and --frames must be positive");
  else if (normal && (masses > 0 || calcifications > 0))
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "--normal makes volumes without lesions: drop --masses and "
                         "--calcifications");
  else if (masses < -1 || calcifications < -1)
    error = g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                         "--masses and --calcifications must not be negative");
  if (error != NULL)
    return picard_cli_fail ("phantom", g_steal_pointer (&error));
  if (!parse_laterality (laterality_text, &params.laterality, &error)
      || !parse_view (view_text, &params.view, &error)
      || (syntax_text != NULL && !picard_dicom_syntax_from_name (syntax_text, &syntax, &error)))
    return picard_cli_fail ("phantom", g_steal_pointer (&error));

  params.rows = (guint) rows;
  params.columns = (guint) columns;
  params.frames = (guint) frames;
  params.n_masses = normal ? 0 : (masses < 0 ? 1 : (guint) masses);
  params.n_calcification_clusters = normal ? 0 : (calcifications < 0 ? 0 : (guint) calcifications);
  params.stored_rotated = stored_rotated;
  params.wrong_header_laterality = wrong_header;
  progress.tty = isatty (STDERR_FILENO);
  progress.start_us = g_get_monotonic_time ();
  progress.total = (guint) count;
  params.progress = progress_frame;
  params.progress_data = &progress;

  if (g_mkdir_with_parents (output, 0755) != 0)
    {
      int saved = errno;

      error = g_error_new (PICARD_ERROR, PICARD_ERROR_IO,
                           "Cannot create the output folder %s: %s", output,
                           g_strerror (saved));
      return picard_cli_fail ("phantom", g_steal_pointer (&error));
    }

  paths = g_string_new (NULL);
  labels = g_string_new (NULL);
  boxes = g_string_new (NULL);
  {
    const char *h1[] = { "PatientID", "StudyUID", "View", "descriptive_path", "classic_path" };
    const char *h2[] = { "PatientID", "StudyUID", "View", "Normal", "Actionable", "Benign",
                         "Cancer" };
    const char *h3[] = { "PatientID", "StudyUID", "View", "Subject", "Slice", "X", "Y", "Width",
                         "Height", "Class", "AD", "VolumeSlices" };

    append_row (paths, h1, G_N_ELEMENTS (h1));
    append_row (labels, h2, G_N_ELEMENTS (h2));
    append_row (boxes, h3, G_N_ELEMENTS (h3));
  }

  for (int i = 0; i < count; i++)
    {
      g_autoptr(PicardPhantom) ph = NULL;
      g_autofree char *folder = NULL;
      g_autofree char *relative = NULL;
      g_autofree char *path = NULL;

      params.seed = (guint64) seed + (guint64) i;
      progress.done = (guint) i;
      progress_print (&progress, 0.0);
      ph = picard_phantom_generate (&params, &error);
      if (ph == NULL)
        break;
      folder = g_build_filename (output, ph->patient_id, NULL);
      if (g_mkdir_with_parents (folder, 0755) != 0)
        {
          int saved = errno;

          g_set_error (&error, PICARD_ERROR, PICARD_ERROR_IO, "Cannot create the folder %s: %s",
                       folder, g_strerror (saved));
          break;
        }
      /* CSV paths use '/' whatever the platform, as BCS-DBT's do. */
      relative = g_strdup_printf ("%s/%s.dcm", ph->patient_id, picard_phantom_view_code (ph));
      path = g_build_filename (output, relative, NULL);
      if (!write_volume (ph, path, syntax, &error))
        break;
      append_tables (ph, relative, paths, labels, boxes);
    }
  if (progress.tty)
    g_printerr ("\r%*s\r", 60, "");
  if (error != NULL)
    return picard_cli_fail ("phantom", g_steal_pointer (&error));

  {
    const char *names[] = { "BCS-DBT-file-paths.csv", "BCS-DBT-labels.csv",
                            "BCS-DBT-boxes.csv" };
    GString *tables[] = { paths, labels, boxes };

    for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *path = g_build_filename (output, names[i], NULL);

        if (!picard_csv_write_file (path, tables[i], &error))
          return picard_cli_fail ("phantom", g_steal_pointer (&error));
      }
  }
  g_print ("Wrote %d volume%s and the BCS-DBT tables to %s\n", count, count == 1 ? "" : "s",
           output);
  return 0;
}
