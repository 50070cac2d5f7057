/* picard-background-completer.h: a PicardCompleter that runs another one on a thread of its
 * own at background priority (nice + PICARD_BACKGROUND_NICE).
 *
 * On a machine with few cores a scan keeps every core busy; at equal priority the main loop
 * then waits for a core on many frames. The completion network's threads (OpenMP, the Vulkan
 * driver's) are created by the thread that first runs it and inherit its priority, so running
 * the network only on this thread keeps all of them behind the main loop. A thread of its own,
 * because a thread cannot raise its priority back: a niced GLib pool thread would stay slow
 * for the window's later jobs. */
#pragma once

#include "picard-completer.h"

G_BEGIN_DECLS

/* Added to the nice value of the creating thread (capped at 19). */
#define PICARD_BACKGROUND_NICE 10

#define PICARD_TYPE_BACKGROUND_COMPLETER (picard_background_completer_get_type ())
G_DECLARE_FINAL_TYPE (PicardBackgroundCompleter, picard_background_completer, PICARD,
                      BACKGROUND_COMPLETER, GObject)

typedef void (*PicardBackgroundFunc) (gpointer data);

/* Starts the thread; the inner completer comes later (set_inner), so that the network can be
 * opened on that thread too. */
PicardBackgroundCompleter *picard_background_completer_new (void);
/* Takes a reference. */
void picard_background_completer_set_inner (PicardBackgroundCompleter *self,
                                            PicardCompleter *inner);
PicardCompleter *picard_background_completer_get_inner (PicardBackgroundCompleter *self);
/* Runs @func (@data) on the background thread and returns when it has. Any thread, except
 * the background thread itself. */
void picard_background_completer_run (PicardBackgroundCompleter *self, PicardBackgroundFunc func,
                                      gpointer data);

G_END_DECLS
