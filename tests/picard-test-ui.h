/* Helpers for the ui suite: waiting on the main loop and saving screenshots as artefacts. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Iterates the default main context until @done returns TRUE or @timeout_ms passes. */
gboolean picard_test_ui_wait (gboolean (*done) (gpointer data), gpointer data, guint timeout_ms);
/* Renders @widget as it is on screen and saves it under the build's test-artefacts folder;
 * returns the texture for pixel checks. */
GdkTexture *picard_test_ui_screenshot (GtkWidget *widget, const char *name);

G_END_DECLS
