/* Helpers for the ui suite: waiting on the main loop, saving screenshots as artefacts, real
 * keyboard and pointer input through the X server (XTest, under Xvfb), and test volumes. */
#pragma once

#include <gtk/gtk.h>

#include "picard-application.h"
#include "picard-test-cli.h"
#include "picard-volume.h"
#include "picard-window.h"

G_BEGIN_DECLS

/* Iterates the default main context until @done returns TRUE or @timeout_ms passes. */
gboolean picard_test_ui_wait (gboolean (*done) (gpointer data), gpointer data, guint timeout_ms);
/* Iterates the default main context for @ms milliseconds. */
void picard_test_ui_iterate (guint ms);
/* Conditions for picard_test_ui_wait on a PicardWindow: nothing of the window's pending, the
 * scan panel's model loaded, its completions of a patch done, its scan stopped. */
gboolean picard_test_ui_window_idle (gpointer window);
gboolean picard_test_ui_model_loaded (gpointer window);
gboolean picard_test_ui_completions_done (gpointer window);
gboolean picard_test_ui_scan_stopped (gpointer window);
/* Activates @app (as starting it without files does) and returns the window that opened. */
PicardWindow *picard_test_ui_activate (PicardApplication *app);
/* Renders @widget as it is on screen and saves it under the build's test-artefacts folder;
 * returns the texture for pixel checks. */
GdkTexture *picard_test_ui_screenshot (GtkWidget *widget, const char *name);
/* A pixel of a texture as 0xAARRGGBB. */
guint32 picard_test_ui_pixel (GdkTexture *texture, int x, int y);

/* Gives @window the X input focus and waits until GTK knows. */
void picard_test_ui_focus (GtkWindow *window);
/* Presses and releases a key with modifiers (Shift, Control) through the X server, then
 * lets GTK handle it. */
void picard_test_ui_key (GtkWidget *widget, guint keyval, GdkModifierType modifiers);
/* Moves the pointer to (@x, @y) in @widget's coordinates. */
void picard_test_ui_pointer_move (GtkWidget *widget, double x, double y);
/* Presses or releases a pointer button (1 left, 3 right, 4/5 wheel up/down), with
 * @modifiers held around it. */
void picard_test_ui_button (GtkWidget *widget, guint button, gboolean press,
                            GdkModifierType modifiers);
void picard_test_ui_click (GtkWidget *widget, guint button, GdkModifierType modifiers);

/* A volume whose stored value at file pixel (x, y) of frame f is
 * 1 + y * columns + x + f * 1000, so a readout proves where it looked. */
PicardVolume *picard_test_ui_coded_volume_new (guint frames, guint rows, guint columns);
guint picard_test_ui_coded_value (guint columns, guint f, guint x, guint y);

/* An in-memory left-breast phantom volume with one mass (picard-phantom.h), named @path. */
PicardVolume *picard_test_ui_phantom_volume (const char *path, guint64 seed, guint frames,
                                             guint rows, guint columns);
/* Runs `picard-cli phantom` (env PICARD_CLI) into @dir with the given extra arguments. */
void picard_test_ui_make_phantoms (const char *dir, const char *const *args);

G_END_DECLS
