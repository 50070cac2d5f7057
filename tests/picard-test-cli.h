/* picard-test-cli.h: what tests share to run programs and to clean up after themselves:
 * the built picard-cli (env PICARD_CLI), Debian's python3 (env PYTHON), removing the folder
 * trees they made; and comparing results with references. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs picard-cli with the NULL-terminated arguments and returns its exit status; its stdout
 * and stderr go to @out and @err (either may be NULL: then they are dropped, never mixed into
 * the test's own TAP output). Not exiting normally (a crash) fails the test. */
int picard_test_run_cli (char **out, char **err, ...) G_GNUC_NULL_TERMINATED;
/* The same with the arguments as a NULL-terminated array. */
int picard_test_run_cliv (char **out, char **err, const char *const *args);

/* Runs $PYTHON (default /usr/bin/python3) with the NULL-terminated @args in @cwd (NULL: the
 * source tree), with the source tree on PYTHONPATH and no bytecode written there. Returns
 * TRUE and its stdout in @out (may be NULL); on failure sets @error with its stderr. */
gboolean picard_test_spawn_python (const char *cwd, const char *const *args, char **out,
                                   GError **error);
/* The same, failing the test when python does; returns its stdout. */
char *picard_test_run_python (const char *cwd, const char *const *args);

/* The normalised mean squared error of @got against @want (the plain one for a zero @want). */
double picard_test_nmse (const float *got, const float *want, gsize n);
/* Fails the test, naming @what, when an element of @got is not finite or the NMSE exceeds
 * @limit (the NMSE is a test message in verbose runs). */
void picard_test_assert_close (const char *what, const float *got, const float *want, gsize n,
                               double limit);

/* Removes @path and all below it, without following links into other trees; folders a test
 * made read-only are opened first. Every removal must succeed. */
void picard_test_remove_tree (const char *path);

/* A g_test_add() fixture: a fresh temporary folder per test, removed with all below it. */
typedef struct {
  char *dir;
} PicardTestDir;

void picard_test_dir_set_up (PicardTestDir *fixture, gconstpointer data);
void picard_test_dir_tear_down (PicardTestDir *fixture, gconstpointer data);

G_END_DECLS
