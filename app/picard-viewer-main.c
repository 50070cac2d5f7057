/* picard-viewer: the GUI entry point. */
#include <locale.h>

#include "picard-application.h"

int
main (int argc, char **argv)
{
  g_autoptr(PicardApplication) app = NULL;

  setlocale (LC_ALL, "");
  app = picard_application_new ();
  /* With no file given, the window opens the demo volume generated with the build. */
  picard_application_set_demo_volume (app, PICARD_DEMO_VOLUME);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
