/* Heatmap evaluation (app/picard-eval.h) against scikit-learn, FROC on a hand-made case, and
 * the ROC/PR plots (render/picard-plot.h). */
#include <cairo.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "picard-error.h"
#include "picard-eval.h"
#include "picard-plot.h"
#include "picard-test-cli.h"

static void
test_box_labels (void)
{
  PicardRect boxes[] = { { 2, 1, 3, 2 }, { 8, 6, 5, 5 }, { -3, -3, 1, 1 } };
  g_autofree guint8 *labels = picard_eval_box_labels (8, 10, boxes, G_N_ELEMENTS (boxes));
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 10; x++)
      {
        /* Box 1: rows 1..3, columns 2..5 (edges included); box 2 clipped: rows 6..7,
         * columns 8..9; box 3: rows -3..-2, columns -3..-2, all outside. */
        gboolean in = (y >= 1 && y <= 3 && x >= 2 && x <= 5) || (y >= 6 && x >= 8);
        g_assert_cmpuint (labels[y * 10 + x], ==, in);
      }
  float slice[4] = { 0.0f, 0.2f, -0.1f, 1.0f };
  g_autofree guint8 *mask = picard_eval_breast_mask (slice, 2, 2);
  g_assert_cmpuint (mask[0], ==, 0);
  g_assert_cmpuint (mask[1], ==, 1);
  g_assert_cmpuint (mask[2], ==, 0);
  g_assert_cmpuint (mask[3], ==, 1);
}

typedef struct {
  char *name;
  float *scores;
  guint8 *labels;
  guint8 *include; /* may be NULL */
  gsize n;
} Case;

static void
case_free (Case *c)
{
  g_free (c->name);
  g_free (c->scores);
  g_free (c->labels);
  g_free (c->include);
  g_free (c);
}

static Case *
random_case (const char *name, gsize n, guint32 seed, int levels, double positive_rate)
{
  Case *c = g_new0 (Case, 1);
  c->name = g_strdup (name);
  c->n = n;
  c->scores = g_new (float, n);
  c->labels = g_new (guint8, n);
  GRand *rand = g_rand_new_with_seed (seed);
  for (gsize k = 0; k < n; k++)
    {
      c->labels[k] = g_rand_double (rand) < positive_rate;
      double s = g_rand_double (rand) + (c->labels[k] ? 0.3 : 0.0);
      c->scores[k] = levels > 0 ? (float) floor (s * levels) / levels : (float) s;
    }
  g_rand_free (rand);
  return c;
}

/* Runs scikit-learn over every case (one process) and compares. */
static void
compare_with_sklearn (GPtrArray *cases)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-eval-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();
  g_strv_builder_add_many (args, "-c",
    "import numpy, sys\n"
    "from sklearn.metrics import roc_auc_score, average_precision_score\n"
    "for k in range(2, len(sys.argv), 3):\n"
    "    s = numpy.fromfile(sys.argv[k], dtype=numpy.float32)\n"
    "    y = numpy.fromfile(sys.argv[k + 1], dtype=numpy.uint8)\n"
    "    if sys.argv[k + 2] != '-':\n"
    "        m = numpy.fromfile(sys.argv[k + 2], dtype=numpy.uint8).astype(bool)\n"
    "        s, y = s[m], y[m]\n"
    "    s = numpy.where(numpy.isnan(s), numpy.nanmin(s) - 1, s)\n"
    "    print(repr(roc_auc_score(y, s)), repr(average_precision_score(y, s)))\n", "-",
    NULL);
  for (guint c = 0; c < cases->len; c++)
    {
      Case *cs = cases->pdata[c];
      g_autofree char *sname = g_strdup_printf ("s%u", c), *lname = g_strdup_printf ("l%u", c);
      g_autofree char *mname = g_strdup_printf ("m%u", c);
      g_autofree char *sp = g_build_filename (dir, sname, NULL);
      g_autofree char *lp = g_build_filename (dir, lname, NULL);
      g_autofree char *mp = g_build_filename (dir, mname, NULL);
      g_assert_true (g_file_set_contents (sp, (char *) cs->scores, (gssize) (cs->n * 4), NULL));
      g_assert_true (g_file_set_contents (lp, (char *) cs->labels, (gssize) cs->n, NULL));
      if (cs->include != NULL)
        g_assert_true (g_file_set_contents (mp, (char *) cs->include, (gssize) cs->n, NULL));
      g_strv_builder_add_many (args, sp, lp, cs->include != NULL ? mp : "-", NULL);
    }
  g_auto (GStrv) argv = g_strv_builder_end (args);
  g_autofree char *out = picard_test_run_python (NULL, (const char *const *) argv);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint c = 0; c < cases->len; c++)
    {
      Case *cs = cases->pdata[c];
      g_assert_nonnull (lines[c]);
      double auc, ap;
      g_assert_cmpint (sscanf (lines[c], "%lf %lf", &auc, &ap), ==, 2);
      PicardPixelScores mine;
      g_assert_true (picard_eval_pixels (cs->scores, cs->labels, cs->include, cs->n, &mine,
                                         &error));
      g_assert_no_error (error);
      if (fabs (mine.auc - auc) > 1e-9 || fabs (mine.ap - ap) > 1e-9)
        g_error ("%s: AUC %.12f AP %.12f, scikit-learn %.12f %.12f", cs->name, mine.auc,
                 mine.ap, auc, ap);

      /* The ROC curve's trapezoids give the same area. */
      PicardEvalCurves curves;
      g_assert_true (picard_eval_curves (cs->scores, cs->labels, cs->include, cs->n, 0.0,
                                         &curves, &error));
      double area = 0.0;
      for (guint k = 1; k < curves.n_roc; k++)
        area += (curves.fpr[k] - curves.fpr[k - 1]) * (curves.tpr[k] + curves.tpr[k - 1]) / 2;
      g_assert_cmpfloat_with_epsilon (area, auc, 1e-9);
      g_assert_cmpfloat (curves.fpr[0], ==, 0.0);
      g_assert_cmpfloat (curves.tpr[curves.n_roc - 1], ==, 1.0);
      g_assert_cmpfloat (curves.fpr[curves.n_roc - 1], ==, 1.0);
      g_assert_cmpfloat (curves.recall[0], ==, 0.0);
      g_assert_cmpfloat (curves.precision[0], ==, 1.0);
      g_assert_cmpfloat (curves.recall[curves.n_pr - 1], ==, 1.0);
      picard_eval_curves_clear (&curves);
    }
  picard_test_remove_tree (dir);
}

static void
test_sklearn (void)
{
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func ((GDestroyNotify) case_free);
  g_ptr_array_add (cases, random_case ("random", 20000, 1, 0, 0.1));
  g_ptr_array_add (cases, random_case ("tied", 20000, 2, 4, 0.3));
  g_ptr_array_add (cases, random_case ("two levels", 5000, 3, 1, 0.5));
  Case *constant = random_case ("constant", 1000, 4, 0, 0.2);
  for (gsize k = 0; k < constant->n; k++)
    constant->scores[k] = 0.25f;
  g_ptr_array_add (cases, constant);
  Case *signs = random_case ("signed zeros and NaN", 3000, 5, 3, 0.4);
  for (gsize k = 0; k < signs->n; k += 7)
    signs->scores[k] = k % 2 ? -0.0f : 0.0f;
  for (gsize k = 3; k < signs->n; k += 11)
    signs->scores[k] = NAN;
  g_ptr_array_add (cases, signs);
  Case *masked = random_case ("masked", 10000, 6, 10, 0.2);
  masked->include = g_new (guint8, masked->n);
  for (gsize k = 0; k < masked->n; k++)
    masked->include[k] = (k * 7919) % 5 != 0;
  g_ptr_array_add (cases, masked);

  /* A real-size slice: 2457 x 1996, a smooth heatmap, two lesion boxes. */
  guint rows = 2457, cols = 1996;
  Case *real = g_new0 (Case, 1);
  real->name = g_strdup ("2457 x 1996 with boxes");
  real->n = (gsize) rows * cols;
  real->scores = g_new (float, real->n);
  PicardRect boxes[] = { { 900, 1200, 180, 150 }, { 300, 400, 60, 64 } };
  real->labels = picard_eval_box_labels (rows, cols, boxes, 2);
  for (guint y = 0; y < rows; y++)
    for (guint x = 0; x < cols; x++)
      {
        double d = hypot ((double) x - 990, (double) y - 1275) / 200.0;
        real->scores[(gsize) y * cols + x] =
          (float) (exp (-d * d) + 0.3 * sin (x * 0.01) * cos (y * 0.013));
      }
  g_ptr_array_add (cases, real);
  compare_with_sklearn (cases);

  /* Only one class: AUC undefined, AP too without positives. */
  float scores[3] = { 0.1f, 0.2f, 0.3f };
  guint8 none[3] = { 0, 0, 0 }, all[3] = { 1, 1, 1 };
  PicardPixelScores out;
  GError *error = NULL;
  g_assert_true (picard_eval_pixels (scores, none, NULL, 3, &out, &error));
  g_assert_true (isnan (out.auc) && isnan (out.ap));
  g_assert_true (picard_eval_pixels (scores, all, NULL, 3, &out, &error));
  g_assert_true (isnan (out.auc));
  g_assert_cmpfloat (out.ap, ==, 1.0);
  g_assert_false (picard_eval_pixels (scores, all, none, 3, &out, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_bootstrap (void)
{
  double values[] = { 0.8, 0.9, NAN, 0.7, 0.85, 0.95, 0.6 };
  PicardEvalSummary a, b, c;
  g_assert_true (picard_eval_bootstrap (values, G_N_ELEMENTS (values), 2000, 0.95, 42, &a));
  g_assert_true (picard_eval_bootstrap (values, G_N_ELEMENTS (values), 2000, 0.95, 42, &b));
  g_assert_true (picard_eval_bootstrap (values, G_N_ELEMENTS (values), 2000, 0.95, 43, &c));
  g_assert_cmpuint (a.n, ==, 6);
  g_assert_cmpfloat_with_epsilon (a.mean, 0.8, 1e-12);
  g_assert_cmpfloat (a.low, ==, b.low);
  g_assert_cmpfloat (a.high, ==, b.high);
  g_assert_true (a.low != c.low || a.high != c.high);
  g_assert_cmpfloat (a.low, <, a.mean);
  g_assert_cmpfloat (a.high, >, a.mean);
  g_assert_cmpfloat (a.low, >=, 0.6);
  g_assert_cmpfloat (a.high, <=, 0.95);
  /* The interval of the mean of 6 values with sd ~0.13 spans about +-2 * 0.13 / sqrt 6. */
  g_assert_cmpfloat (a.high - a.low, >, 0.12);
  g_assert_cmpfloat (a.high - a.low, <, 0.28);
  double same[] = { 0.5, 0.5, 0.5 };
  g_assert_true (picard_eval_bootstrap (same, 3, 100, 0.9, 1, &a));
  g_assert_cmpfloat (a.low, ==, 0.5);
  g_assert_cmpfloat (a.high, ==, 0.5);
  double nothing[] = { NAN };
  g_assert_false (picard_eval_bootstrap (nothing, 1, 100, 0.9, 1, &a));
}

static void
test_detections (void)
{
  guint rows = 300, cols = 400;
  g_autofree float *map = g_new (float, rows * cols);
  for (guint y = 0; y < rows; y++)
    for (guint x = 0; x < cols; x++)
      {
        double a = hypot ((double) x - 100, (double) y - 80) / 20;
        double b = hypot ((double) x - 300, (double) y - 200) / 30;
        double c = hypot ((double) x - 130, (double) y - 80) / 5; /* near a: suppressed */
        map[y * cols + x] = (float) (2 * exp (-a * a) + exp (-b * b) + 0.5 * exp (-c * c));
      }
  map[0] = NAN;
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (PicardDetection));
  picard_eval_find_detections (map, rows, cols, 3, 12, 50.0, 64, 0, found);
  /* The two peaks first; the rest are maxima of the vanishing tails (float underflow). */
  g_assert_cmpuint (found->len, >=, 2);
  for (guint k = 2; k < found->len; k++)
    {
      g_assert_cmpfloat (g_array_index (found, PicardDetection, k).score, <, 1e-6);
      g_assert_cmpfloat (fabs (g_array_index (found, PicardDetection, k).x - 130), >, 50);
    }
  PicardDetection *d0 = &g_array_index (found, PicardDetection, 0);
  PicardDetection *d1 = &g_array_index (found, PicardDetection, 1);
  g_assert_cmpfloat (d0->x, ==, 100);
  g_assert_cmpfloat (d0->y, ==, 80);
  g_assert_cmpfloat (d1->x, ==, 300);
  g_assert_cmpfloat (d1->y, ==, 200);
  g_assert_cmpfloat (d0->score, >, d1->score);
  g_assert_cmpuint (d0->volume, ==, 3);
  g_assert_cmpuint (d0->slice, ==, 12);
  g_assert_cmpint (d0->box.x, ==, 68);
  g_assert_cmpint (d0->box.width, ==, 64);
  /* A small radius keeps the third peak (pulled a pixel towards the first). */
  g_array_set_size (found, 0);
  picard_eval_find_detections (map, rows, cols, 0, 0, 10.0, 64, 3, found);
  g_assert_cmpuint (found->len, ==, 3);
  PicardDetection *d2 = &g_array_index (found, PicardDetection, 2);
  g_assert_cmpfloat (d2->y, ==, 80);
  g_assert_cmpfloat (d2->x, >=, 128);
  g_assert_cmpfloat (d2->x, <=, 130);
  /* A cap keeps the strongest. */
  g_array_set_size (found, 0);
  picard_eval_find_detections (map, rows, cols, 0, 0, 10.0, 64, 1, found);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpfloat (g_array_index (found, PicardDetection, 0).x, ==, 100);
}

static PicardDetection
det (guint volume, guint slice, double x, double y, float score)
{
  PicardDetection d = { volume, slice, x, y, { (int) x - 32, (int) y - 32, 64, 64 }, score };
  return d;
}

static void
test_froc (void)
{
  /* Two volumes of 40 slices; three lesions. */
  PicardFrocTruth truths[] = {
    { 0, 10, { 1000, 1000, 300, 400 }, 40 }, /* centre (1150, 1200), reach 250 */
    { 0, 30, { 200, 200, 40, 40 }, 40 },     /* centre (220, 220), reach 100 */
    { 1, 20, { 500, 500, 100, 100 }, 40 },   /* centre (550, 550), reach 100 */
  };
  PicardDetection dets[] = {
    det (0, 12, 1150, 1440, 0.9f),  /* hits lesion 0: 240 px <= 250, 2 slices <= 10 */
    det (0, 10, 1400, 1200, 0.8f),  /* 250 px: hits (edge included) */
    det (0, 30, 330, 220, 0.7f),    /* 110 px > 100: false positive */
    det (1, 31, 550, 550, 0.6f),    /* 11 slices > 10: false positive */
    det (1, 29, 600, 590, 0.5f),    /* hits lesion 2: 64 px, 9 slices */
    det (0, 31, 220, 230, 0.4f),    /* hits lesion 1 */
    det (1, 0, 10, 10, 0.3f),       /* false positive */
    det (0, 0, 10, 10, 0.2f),       /* false positive */
  };
  /* Thresholds high to low: 1.9: 0 hits, 0 FP; 0.9: 1/3, 0; 0.8: 1/3, 0; 0.5: 2/3, 2 FP
   * -> 1 per volume; 0.4: 3/3, 1; -0.8: 3/3, 2.  FROC points (fps, sens): (0, 0), (0, 1/3),
   * (0, 1/3), (1, 2/3), (1, 1), (2, 1).  numpy.interp at 1 takes the last point with fps 1:
   * 1; at 0.5: between (0, 1/3) and (1, 2/3) -> 0.5. */
  double fps[] = { 0.5, 1, 2, 3, 4 };
  double sens[5];
  GError *error = NULL;
  g_assert_true (picard_eval_froc (truths, 3, dets, G_N_ELEMENTS (dets), 2, fps, 5, sens,
                                   &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (sens[0], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (sens[1], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (sens[2], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (sens[4], 1.0, 1e-12);

  /* Counted over 4 volumes (two normal ones without detections), FPs per volume halve. */
  double fps2[] = { 0.25, 0.5 };
  g_assert_true (picard_eval_froc (truths, 3, dets, G_N_ELEMENTS (dets), 4, fps2, 2, sens,
                                   &error));
  g_assert_cmpfloat_with_epsilon (sens[0], 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (sens[1], 1.0, 1e-12);

  /* A detection near two lesions counts for the nearer one only. */
  PicardFrocTruth close[] = {
    { 0, 10, { 0, 0, 100, 100 }, 40 },   /* centre (50, 50) */
    { 0, 10, { 100, 0, 100, 100 }, 40 }, /* centre (150, 50) */
  };
  PicardDetection one[] = { det (0, 10, 120, 50, 1.0f) };
  double at[] = { 1 };
  g_assert_true (picard_eval_froc (close, 2, one, 1, 1, at, 1, sens, &error));
  g_assert_cmpfloat_with_epsilon (sens[0], 0.5, 1e-12);

  g_assert_false (picard_eval_froc (truths, 0, dets, 1, 1, at, 1, sens, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (picard_eval_froc (truths, 3, NULL, 0, 2, at, 1, sens, &error));
  g_assert_cmpfloat (sens[0], ==, 0.0);
}

static void
test_plot (void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("picard-plot-XXXXXX", &error);
  g_assert_no_error (error);
  double fpr[] = { 0, 0.1, 0.3, 1 }, tpr[] = { 0, 0.6, 0.9, 1 };
  double rec[] = { 0, 0.5, 1 }, prec[] = { 1, 0.8, 0.2 };
  PicardPlotSeries roc[] = { { fpr, tpr, 4, "slice 3 (AUC 0.87)" }, { tpr, fpr, 4, NULL } };
  PicardPlotSeries pr[] = { { rec, prec, 3, "slice 3 (AP 0.61)" } };
  g_autofree char *roc_path = g_build_filename (dir, "roc.png", NULL);
  g_autofree char *pr_path = g_build_filename (dir, "pr.svg", NULL);
  g_assert_true (picard_plot_curves (roc_path, PICARD_PLOT_ROC, "ROC", roc, 2, 400, &error));
  g_assert_no_error (error);
  g_assert_true (picard_plot_curves (pr_path, PICARD_PLOT_PR, "PR", pr, 1, 300, &error));
  g_assert_no_error (error);

  cairo_surface_t *image = cairo_image_surface_create_from_png (roc_path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (image), ==, 400);
  g_assert_cmpint (cairo_image_surface_get_height (image), ==, 400);
  /* The first curve passes (0.1, 0.6): frame left 56, top 36, 328 x 316 px; look around that
   * point for the first palette colour (blue). */
  cairo_surface_flush (image);
  const guint8 *px = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  int cx = (int) (56 + 0.1 * 328), cy = (int) (36 + 0.4 * 316);
  gboolean blue = FALSE;
  for (int y = cy - 3; y <= cy + 3; y++)
    for (int x = cx - 3; x <= cx + 3; x++)
      {
        const guint8 *p = px + y * stride + x * 4; /* B, G, R, A on little-endian */
        blue = blue || (p[0] > 140 && p[2] < 60);
      }
  g_assert_true (blue);
  cairo_surface_destroy (image);
  g_autofree char *svg = NULL;
  g_assert_true (g_file_get_contents (pr_path, &svg, NULL, NULL));
  g_assert_nonnull (strstr (svg, "<svg"));

  /* Bad requests leave nothing behind. */
  g_autofree char *bad = g_build_filename (dir, "plot.bmp", NULL);
  g_assert_false (picard_plot_curves (bad, PICARD_PLOT_ROC, NULL, roc, 1, 400, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  PicardPlotSeries empty[] = { { fpr, tpr, 0, "none" } };
  g_autofree char *empty_path = g_build_filename (dir, "empty.png", NULL);
  g_assert_false (picard_plot_curves (empty_path, PICARD_PLOT_ROC, NULL, empty, 1, 400,
                                      &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (g_file_test (empty_path, G_FILE_TEST_EXISTS));
  g_autofree char *missing = g_build_filename (dir, "no", "such", "roc.png", NULL);
  g_assert_false (picard_plot_curves (missing, PICARD_PLOT_ROC, NULL, roc, 1, 400, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  picard_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eval/box-labels", test_box_labels);
  g_test_add_func ("/eval/sklearn", test_sklearn);
  g_test_add_func ("/eval/bootstrap", test_bootstrap);
  g_test_add_func ("/eval/detections", test_detections);
  g_test_add_func ("/eval/froc", test_froc);
  g_test_add_func ("/eval/plot", test_plot);
  return g_test_run ();
}
