/* picard-viewer: the GUI entry point. */
#include <locale.h>

#include "picard-application.h"

int
main (int argc, char **argv)
{
  g_autoptr(PicardApplication) app = NULL;

  setlocale (LC_ALL, "");
  app = picard_application_new ();
  /* With no file given, the window opens the demo volume generated with the build and
   * loads the bundled demo model. */
  picard_application_set_demo_volume (app, PICARD_DEMO_VOLUME);
  picard_application_set_load_demo_model (app, TRUE);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
