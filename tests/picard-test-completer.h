/* picard-test-completer.h: a synthetic PicardCompleter for the scan's tests.
 *
 * A completion is the ground truth plus uniform noise whose amplitude grows with the fraction
 * of bright ("anomalous", > 0.6 in [-1, 1]) ground-truth pixels in the hole, deterministic in
 * (seed, patch id, sample id, pixel) only; the critic feature is the crop averaged over 4 x 4
 * blocks (F = (H/4)^2, so H must be a multiple of 4). */
#pragma once

#include "picard-completer.h"

G_BEGIN_DECLS

#define PICARD_TYPE_TEST_COMPLETER (picard_test_completer_get_type ())
G_DECLARE_FINAL_TYPE (PicardTestCompleter, picard_test_completer, PICARD, TEST_COMPLETER,
                      GObject)

/* Called at the start of every complete() with the 1-based call number. */
typedef void (*PicardTestCompleterHook) (PicardTestCompleter *self, guint call,
                                         gpointer user_data);

PicardTestCompleter *picard_test_completer_new (guint batch_size, gboolean with_features);
void picard_test_completer_set_hook (PicardTestCompleter *self, PicardTestCompleterHook hook,
                                     gpointer user_data);
/* complete() call number @call fails with PICARD_ERROR_DEVICE (0: never). */
void picard_test_completer_set_fail_at (PicardTestCompleter *self, guint call);
guint picard_test_completer_get_calls (PicardTestCompleter *self);
/* Every patch id completed so far, in order (the completer's own array). */
GArray *picard_test_completer_get_patch_ids (PicardTestCompleter *self);
/* Whether any patch handed over was all air (-1). */
gboolean picard_test_completer_saw_air (PicardTestCompleter *self);
void picard_test_completer_reset_counts (PicardTestCompleter *self);

G_END_DECLS
