/* picard-test-cli.c: running picard-cli and python3 from tests, and removing their trees. */
#include "picard-test-cli.h"

#include <errno.h>
#include <math.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

int
picard_test_run_cliv (char **out, char **err, const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dropped_out = NULL;
  g_autofree char *dropped_err = NULL;
  const char *cli = g_getenv ("PICARD_CLI");
  int status = -1;

  if (cli == NULL)
    g_error ("PICARD_CLI is not set: run this test through meson test");
  g_ptr_array_add (argv, (gpointer) cli);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  /* Captured even when unwanted: inherited, the child's stdout would corrupt the TAP stream. */
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               out != NULL ? out : &dropped_out,
                               err != NULL ? err : &dropped_err, &status, &error));
  g_assert_no_error (error);
  if (!WIFEXITED (status))
    g_error ("picard-cli did not exit normally (status %d)", status);
  return WEXITSTATUS (status);
}

int
picard_test_run_cli (char **out, char **err, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, err);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return picard_test_run_cliv (out, err, (const char *const *) args->pdata);
}

gboolean
picard_test_spawn_python (const char *cwd, const char *const *args, char **out,
                          GError **error)
{
  const char *python = g_getenv ("PYTHON");
  const char *source_dir = g_getenv ("PICARD_SOURCE_DIR");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *child_out = NULL;
  g_autofree char *child_err = NULL;
  int status = -1;

  if (source_dir == NULL)
    g_error ("PICARD_SOURCE_DIR is not set: run this test through meson test");
  /* Debian's python3 has torch, numpy and scikit-learn; a python on PATH may lack them. */
  g_ptr_array_add (argv, (gpointer) (python != NULL ? python : "/usr/bin/python3"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  env = g_environ_setenv (env, "PYTHONPATH", source_dir, TRUE);
  env = g_environ_setenv (env, "PYTHONDONTWRITEBYTECODE", "1", TRUE);
  if (!g_spawn_sync (cwd != NULL ? cwd : source_dir, (char **) argv->pdata, env,
                     G_SPAWN_DEFAULT, NULL, NULL, &child_out, &child_err, &status,
                     &local_error)
      || !g_spawn_check_wait_status (status, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code, "%s %s: %s\n%s",
                   (const char *) argv->pdata[0], args[0] != NULL ? args[0] : "",
                   local_error->message, child_err != NULL ? child_err : "");
      return FALSE;
    }
  if (out != NULL)
    *out = g_steal_pointer (&child_out);
  return TRUE;
}

char *
picard_test_run_python (const char *cwd, const char *const *args)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  if (!picard_test_spawn_python (cwd, args, &out, &error))
    g_error ("python failed: %s", error->message);
  return out;
}

void
picard_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = NULL;
      const char *name;

      g_chmod (path, 0755);
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          picard_test_remove_tree (child);
        }
    }
  if (g_remove (path) != 0)
    g_error ("could not remove %s: %s", path, g_strerror (errno));
}

void
picard_test_dir_set_up (PicardTestDir *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("picard-test-XXXXXX", &error);
  g_assert_no_error (error);
}

void
picard_test_dir_tear_down (PicardTestDir *fixture, gconstpointer data)
{
  picard_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

double
picard_test_nmse (const float *got, const float *want, gsize n)
{
  double num = 0.0, den = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      double d = (double) got[i] - want[i];
      num += d * d;
      den += (double) want[i] * want[i];
    }
  return den > 0.0 ? num / den : num;
}

void
picard_test_assert_close (const char *what, const float *got, const float *want, gsize n,
                          double limit)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (got[i]))
      g_error ("%s: element %" G_GSIZE_FORMAT " is %g", what, i, got[i]);
  double nmse = picard_test_nmse (got, want, n);
  if (g_test_verbose ())
    g_test_message ("%s: nmse %.3g (limit %.3g)", what, nmse, limit);
  if (!(nmse <= limit))
    g_error ("%s: NMSE %.3g exceeds %.3g", what, nmse, limit);
}
