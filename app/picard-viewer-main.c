/* picard-viewer: the GUI entry point. */
#include <locale.h>

#include "picard-application.h"

/* Run from the build tree (README's first command: `build/picard-viewer`), the settings
 * schema is compiled beside the binary, in ui/, and not installed: GLib must be told, or the
 * first GSettings aborts the program. An installed binary has no ui/ beside it. */
static void
use_build_tree_schemas (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return;
  g_autofree char *dir = g_path_get_dirname (exe);
  g_autofree char *schemas = g_build_filename (dir, "ui", NULL);
  g_autofree char *compiled = g_build_filename (schemas, "gschemas.compiled", NULL);
  if (!g_file_test (compiled, G_FILE_TEST_IS_REGULAR))
    return;
  const char *others = g_getenv ("GSETTINGS_SCHEMA_DIR");
  g_autofree char *path = others != NULL && *others != '\0'
                            ? g_strjoin (G_SEARCHPATH_SEPARATOR_S, schemas, others, NULL)
                            : g_strdup (schemas);
  g_setenv ("GSETTINGS_SCHEMA_DIR", path, TRUE);
}

int
main (int argc, char **argv)
{
  g_autoptr(PicardApplication) app = NULL;

  setlocale (LC_ALL, "");
  use_build_tree_schemas ();
  app = picard_application_new ();
  /* With no file given, the window opens the demo volume generated with the build and
   * loads the bundled demo model. */
  picard_application_set_demo_volume (app, PICARD_DEMO_VOLUME);
  picard_application_set_load_demo_model (app, TRUE);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
