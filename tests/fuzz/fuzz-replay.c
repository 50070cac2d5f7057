/* fuzz-replay: runs every file of the given corpus folders (or files) through a fuzz
 * target once, so that `meson test` replays the seeds, and any crash found later, with
 * any compiler. Fails when it finds no input at all, so a lost corpus cannot pass. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Larger inputs are cut here; every target caps its own input far below. */
#define MAX_REPLAY_BYTES ((gsize) 16 * 1024 * 1024)

static gboolean
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      fprintf (stderr, "fuzz-replay: %s\n", error->message);
      return FALSE;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, MIN (length, MAX_REPLAY_BYTES));
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
main (int argc, char **argv)
{
  guint inputs = 0, failures = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GError) error = NULL;
          GDir *dir = g_dir_open (argv[i], 0, &error);
          const char *name;

          if (dir == NULL)
            {
              fprintf (stderr, "fuzz-replay: %s\n", error->message);
              failures++;
              continue;
            }
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              char *path = g_build_filename (argv[i], name, NULL);

              if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
                g_ptr_array_add (files, path);
              else
                g_free (path);
            }
          g_dir_close (dir);
          /* A fixed order, so that a failure is reproducible. */
          g_ptr_array_sort (files, compare_names);
        }
      else
        g_ptr_array_add (files, g_strdup (argv[i]));

      for (guint k = 0; k < files->len; k++)
        {
          if (run_file (g_ptr_array_index (files, k)))
            inputs++;
          else
            failures++;
        }
    }
  printf ("fuzz-replay: %u inputs replayed, %u unreadable\n", inputs, failures);
  if (inputs == 0)
    {
      fprintf (stderr, "fuzz-replay: no input found; give corpus folders or files\n");
      return 1;
    }
  return failures == 0 ? 0 : 1;
}
