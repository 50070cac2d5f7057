#pragma once

#include <gtk/gtk.h>

#include "picard-application.h"
#include "picard-volume.h"

G_BEGIN_DECLS

#define PICARD_TYPE_WINDOW (picard_window_get_type ())
G_DECLARE_FINAL_TYPE (PicardWindow, picard_window, PICARD, WINDOW, GtkApplicationWindow)

PicardWindow *picard_window_new (PicardApplication *app);
void picard_window_open_file (PicardWindow *self, GFile *file);
void picard_window_set_volume (PicardWindow *self, PicardVolume *volume);
/* Whether a decoded slice is on screen (for tests and benchmarks). */
gboolean picard_window_is_slice_shown (PicardWindow *self);

G_END_DECLS
