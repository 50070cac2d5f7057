#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PICARD_APPLICATION_ID "org.picard.Viewer"

#define PICARD_TYPE_APPLICATION (picard_application_get_type ())
G_DECLARE_FINAL_TYPE (PicardApplication, picard_application, PICARD, APPLICATION,
                      GtkApplication)

PicardApplication *picard_application_new (void);
/* Registers the compiled-in GResource (templates, CSS) once; every widget class calls it. */
void picard_ui_ensure_resources (void);
/* Adds the application's style sheet to the default display (once). */
void picard_ui_load_style (void);
/* The volume a window opens when the application starts without files. */
void picard_application_set_demo_volume (PicardApplication *self, const char *path);
/* Whether that window also loads the bundled demo model (ready to scan, not started), so
 * that a new user sees the whole program at once. */
void picard_application_set_load_demo_model (PicardApplication *self, gboolean load);

G_END_DECLS
