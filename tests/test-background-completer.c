/* The viewer's background completer: the network's work on a thread of its own at lower
 * priority, with results, errors and everything else exactly those of the inner completer. */
#include <string.h>
#include <sys/resource.h>

#include "picard-background-completer.h"
#include "picard-error.h"
#include "picard-test-completer.h"

#define PATCH 32
#define HOLE 16
#define N_PATCHES 3
#define N_SAMPLES 2

typedef struct {
  float patches[N_PATCHES * PATCH * PATCH];
  guint32 patch_ids[N_PATCHES];
  guint32 sample_ids[N_SAMPLES];
  PicardCompletionBatch batch;
} Batch;

static void
batch_init (Batch *b)
{
  for (guint k = 0; k < G_N_ELEMENTS (b->patches); k++)
    b->patches[k] = (float) ((k * 37u) % 200u) / 100.0f - 1.0f;
  for (guint k = 0; k < N_PATCHES; k++)
    b->patch_ids[k] = 10 + 7 * k;
  for (guint k = 0; k < N_SAMPLES; k++)
    b->sample_ids[k] = k;
  b->batch.patch_size = PATCH;
  b->batch.hole_size = HOLE;
  b->batch.n_patches = N_PATCHES;
  b->batch.patches = b->patches;
  b->batch.patch_ids = b->patch_ids;
  b->batch.n_samples = N_SAMPLES;
  b->batch.sample_ids = b->sample_ids;
  b->batch.seed = 1234;
}

static int
current_nice (void)
{
  return getpriority (PRIO_PROCESS, 0);
}

static void
test_forwards (void)
{
  g_autoptr(PicardTestCompleter) direct = picard_test_completer_new (4, TRUE);
  g_autoptr(PicardTestCompleter) inner = picard_test_completer_new (4, TRUE);
  g_autoptr(PicardBackgroundCompleter) bg = picard_background_completer_new ();
  PicardCompleter *c = PICARD_COMPLETER (bg);
  guint f = picard_completer_get_feature_length (PICARD_COMPLETER (direct), HOLE);
  gsize n_holes = N_PATCHES * N_SAMPLES * HOLE * HOLE;
  g_autofree float *holes_a = g_new0 (float, n_holes);
  g_autofree float *holes_b = g_new0 (float, n_holes);
  g_autofree float *feat_a = g_new0 (float, N_PATCHES * N_SAMPLES * f);
  g_autofree float *feat_b = g_new0 (float, N_PATCHES * N_SAMPLES * f);
  g_autofree float *gt_a = g_new0 (float, N_PATCHES * f);
  g_autofree float *gt_b = g_new0 (float, N_PATCHES * f);
  g_autoptr(GError) error = NULL;
  Batch b;

  batch_init (&b);
  picard_background_completer_set_inner (bg, PICARD_COMPLETER (inner));
  g_assert_true (picard_background_completer_get_inner (bg) == PICARD_COMPLETER (inner));
  g_assert_cmpuint (f, >, 0);
  g_assert_cmpuint (picard_completer_get_batch_size (c), ==, 4);
  g_assert_cmpuint (picard_completer_get_feature_length (c, HOLE), ==, f);
  g_assert_cmpstr (picard_completer_get_model_hash (c), ==,
                   picard_completer_get_model_hash (PICARD_COMPLETER (direct)));
  g_assert_cmpstr (picard_completer_get_device_name (c), ==,
                   picard_completer_get_device_name (PICARD_COMPLETER (direct)));
  g_assert_true (picard_completer_check_geometry (c, PATCH, HOLE, &error));
  g_assert_no_error (error);

  g_assert_true (picard_completer_complete (PICARD_COMPLETER (direct), &b.batch, holes_a, feat_a,
                                            gt_a, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (picard_completer_complete (c, &b.batch, holes_b, feat_b, gt_b, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (picard_test_completer_get_calls (inner), ==, 1);
  g_assert_cmpmem (holes_a, n_holes * sizeof (float), holes_b, n_holes * sizeof (float));
  g_assert_cmpmem (feat_a, N_PATCHES * N_SAMPLES * f * sizeof (float), feat_b,
                   N_PATCHES * N_SAMPLES * f * sizeof (float));
  g_assert_cmpmem (gt_a, N_PATCHES * f * sizeof (float), gt_b, N_PATCHES * f * sizeof (float));
}

typedef struct {
  GThread *thread;
  int nice;
} Seen;

static void
record_hook (PicardTestCompleter *completer, guint call, gpointer user_data)
{
  Seen *seen = user_data;

  seen->thread = g_thread_self ();
  seen->nice = current_nice ();
}

static void
record_func (gpointer data)
{
  record_hook (NULL, 0, data);
}

static void
test_priority (void)
{
  g_autoptr(PicardTestCompleter) inner = picard_test_completer_new (4, FALSE);
  g_autoptr(PicardBackgroundCompleter) bg = picard_background_completer_new ();
  g_autofree float *holes = g_new0 (float, N_PATCHES * N_SAMPLES * HOLE * HOLE);
  g_autoptr(GError) error = NULL;
  int caller = current_nice ();
  int expected = MIN (caller + PICARD_BACKGROUND_NICE, 19);
  Seen in_complete = { 0 }, in_run = { 0 };
  Batch b;

  batch_init (&b);
  picard_test_completer_set_hook (inner, record_hook, &in_complete);
  picard_background_completer_set_inner (bg, PICARD_COMPLETER (inner));
  g_assert_true (picard_completer_complete (PICARD_COMPLETER (bg), &b.batch, holes, NULL, NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  /* Not on the caller's thread, and behind it. */
  g_assert_nonnull (in_complete.thread);
  g_assert_true (in_complete.thread != g_thread_self ());
  g_assert_cmpint (in_complete.nice, ==, expected);
  /* The caller keeps its own priority. */
  g_assert_cmpint (current_nice (), ==, caller);
  /* Other work (opening the network) runs on that same thread. */
  picard_background_completer_run (bg, record_func, &in_run);
  g_assert_true (in_run.thread == in_complete.thread);
  g_assert_cmpint (in_run.nice, ==, expected);
}

static void
test_errors (void)
{
  g_autoptr(PicardTestCompleter) inner = picard_test_completer_new (4, FALSE);
  g_autoptr(PicardBackgroundCompleter) bg = picard_background_completer_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree float *holes = g_new0 (float, N_PATCHES * N_SAMPLES * HOLE * HOLE);
  g_autoptr(GError) error = NULL;
  Batch b;

  batch_init (&b);
  picard_background_completer_set_inner (bg, PICARD_COMPLETER (inner));
  picard_test_completer_set_fail_at (inner, 1);
  g_assert_false (picard_completer_complete (PICARD_COMPLETER (bg), &b.batch, holes, NULL, NULL,
                                             NULL, &error));
  g_assert_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE);
  g_clear_error (&error);
  /* The thread goes on after a failure. */
  g_assert_true (picard_completer_complete (PICARD_COMPLETER (bg), &b.batch, holes, NULL, NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  g_assert_false (picard_completer_complete (PICARD_COMPLETER (bg), &b.batch, holes, NULL, NULL,
                                             cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (picard_test_completer_get_calls (inner), ==, 3);
}

/* Many completers made and dropped: each one's thread ends with it (joined; ASan's leak
 * check would see a thread left behind). */
static void
test_lifetime (void)
{
  for (guint k = 0; k < 20; k++)
    {
      g_autoptr(PicardBackgroundCompleter) bg = picard_background_completer_new ();
      Seen seen = { 0 };

      picard_background_completer_run (bg, record_func, &seen);
      g_assert_nonnull (seen.thread);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/background-completer/forwards", test_forwards);
  g_test_add_func ("/background-completer/priority", test_priority);
  g_test_add_func ("/background-completer/errors", test_errors);
  g_test_add_func ("/background-completer/lifetime", test_lifetime);
  return g_test_run ();
}
