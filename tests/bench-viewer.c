/* bench-viewer: the viewer's responsiveness in a real window (run under Xvfb by
 * `meson test --benchmark bench-viewer`).
 *
 * (a) Frame times while a scan runs: the demo volume in a window, the demo model loaded;
 *     the slice changes on every frame (a tick callback on the slice view) for SECONDS
 *     seconds without a scan, then for SECONDS seconds while a scan of the slice runs. For
 *     each phase: the intervals between frames (GdkFrameClock frame times) and the main
 *     thread's work per frame (before-paint to after-paint): median, 95th percentile, max,
 *     and the share over 16 ms. Peer: the same scrolling without a scan.
 * (b) Time to the first slice on screen for a 70-frame JPEG 2000 volume (2457 x 1996, made
 *     by `picard-cli phantom`): from picard_window_open_file() to the end of the first frame
 *     painted with the slice. Peers: opening the file and decoding that frame alone in this
 *     process, and `picard-cli slice` writing it to a PNG (a whole process).
 *
 * Usage: bench-viewer [--seconds S] [--frames F] [--part scroll|first-slice] */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "picard-model-loader.h"
#include "picard-test-cli.h"
#include "picard-test-ui.h"
#include "picard-window.h"

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* CPU time of the calling (main) thread: the work itself, without the time the thread
 * waited for a core on a loaded machine. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct {
  double median, p95, max, over_16, missed;
  guint n;
} Stats;

static Stats
stats_of (GArray *values, double period)
{
  Stats s = { 0 };
  double *v = (double *) values->data;

  s.n = values->len;
  if (s.n == 0)
    return s;
  qsort (v, s.n, sizeof (double), compare_double);
  s.median = v[s.n / 2];
  s.p95 = v[MIN (s.n - 1, (guint) ceil (0.95 * s.n) - 1)];
  s.max = v[s.n - 1];
  for (guint k = 0; k < s.n; k++)
    {
      s.over_16 += v[k] > 16.0;
      /* A frame clock paced at the refresh rate: longer than 1.5 periods is a missed one. */
      s.missed += v[k] > 1.5 * period;
    }
  s.over_16 /= s.n;
  s.missed /= s.n;
  return s;
}

/* ---- (a) scrolling, with and without a scan ---- */

typedef struct {
  PicardWindow *window;
  guint frames;
  gboolean recording;
  gint64 last_frame_time;
  double work_start, cpu_start;
  GArray *intervals;   /* ms */
  GArray *work;        /* ms */
  GArray *cpu;         /* ms of main-thread CPU time per frame */
  guint last_shown;
  guint n_painted, n_new_slice;  /* frames painted; those showing another slice */
} Scroll;

static gboolean
scroll_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer user_data)
{
  Scroll *s = user_data;
  gint64 t = gdk_frame_clock_get_frame_time (clock);

  if (s->recording)
    {
      if (s->last_frame_time > 0)
        {
          double interval = (t - s->last_frame_time) / 1000.0;

          g_array_append_val (s->intervals, interval);
        }
      s->last_frame_time = t;
      picard_window_set_slice (s->window, (picard_window_get_slice (s->window) + 1) % s->frames);
    }
  return G_SOURCE_CONTINUE;
}

static void
frame_begin (GdkFrameClock *clock, Scroll *s)
{
  s->work_start = now_ms ();
  s->cpu_start = thread_cpu_ms ();
}

static void
frame_end (GdkFrameClock *clock, Scroll *s)
{
  double work = now_ms () - s->work_start;
  double cpu = thread_cpu_ms () - s->cpu_start;

  if (s->recording && s->work_start > 0)
    {
      guint shown = picard_window_get_shown_slice (s->window);

      g_array_append_val (s->work, work);
      g_array_append_val (s->cpu, cpu);
      s->n_painted++;
      s->n_new_slice += shown != s->last_shown;
      s->last_shown = shown;
    }

}

static void
scroll_phase (Scroll *s, double seconds, GArray **intervals, GArray **work, GArray **cpu)
{
  s->intervals = g_array_new (FALSE, FALSE, sizeof (double));
  s->work = g_array_new (FALSE, FALSE, sizeof (double));
  s->cpu = g_array_new (FALSE, FALSE, sizeof (double));
  s->last_frame_time = 0;
  s->work_start = 0;
  s->n_painted = 0;
  s->n_new_slice = 0;
  s->recording = TRUE;
  picard_test_ui_iterate ((guint) (seconds * 1000.0));
  s->recording = FALSE;
  *intervals = s->intervals;
  *work = s->work;
  *cpu = s->cpu;
}

static void
print_stats (const char *name, const Scroll *s, GArray *intervals, GArray *work, GArray *cpu,
             double period)
{
  Stats i = stats_of (intervals, period), w = stats_of (work, period);
  Stats c = stats_of (cpu, period);

  printf ("%s: %u frames, %.0f %% of them showing a new slice\n", name, i.n,
          100.0 * s->n_new_slice / MAX (s->n_painted, 1u));
  printf ("  frame interval: median %.1f ms, p95 %.1f ms, max %.1f ms, missed refreshes "
          "(interval over 1.5 periods) %.1f %%\n", i.median, i.p95, i.max, 100.0 * i.missed);
  printf ("  main-thread work per frame: median %.2f ms, p95 %.2f ms, max %.1f ms, over 16 ms "
          "%.1f %%\n", w.median, w.p95, w.max, 100.0 * w.over_16);
  printf ("  main-thread CPU time per frame: median %.2f ms, p95 %.2f ms, max %.1f ms, over "
          "16 ms %.1f %%\n", c.median, c.p95, c.max, 100.0 * c.over_16);
}

static double
median_of (GArray *values)
{
  return stats_of (values, 16.7).median;
}

static void
bench_scroll_during_scan (PicardApplication *app, const char *demo, double seconds)
{
  PicardWindow *window = picard_window_new (app);
  PicardScanPanel *panel = picard_window_get_scan_panel (window);
  GtkWidget *view = GTK_WIDGET (picard_window_get_slice_view (window));
  g_autoptr(GFile) file = g_file_new_for_path (demo);
  g_autoptr(GSettings) settings = g_settings_new ("org.picard.Viewer");
  GArray *idle_intervals, *idle_work, *idle_cpu, *scan_intervals, *scan_work, *scan_cpu;
  GdkFrameClock *clock;
  Scroll s = { 0 };
  double period;
  guint done;

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 900);
  gtk_window_present (GTK_WINDOW (window));
  picard_window_open_file (window, file);
  if (!picard_test_ui_wait (picard_test_ui_window_idle, window, 60000))
    g_error ("The demo volume %s did not open", demo);
  picard_scan_panel_load_model (panel, NULL);
  if (!picard_test_ui_wait (picard_test_ui_model_loaded, window, 120000)
      || picard_window_get_message (window) != NULL)
    g_error ("The demo model did not load: %s", picard_window_get_message (window));
  g_settings_set_string (settings, "scan-range", "slice");
  g_settings_set_boolean (settings, "scan-roi", FALSE);
  s.window = window;
  s.frames = picard_volume_get_n_frames (picard_window_get_volume (window));
  /* Every frame decoded once, as after a first look through the volume. */
  for (guint f = 0; f < s.frames; f++)
    {
      picard_window_set_slice (window, f);
      picard_test_ui_wait (picard_test_ui_window_idle, window, 20000);
    }
  clock = gtk_widget_get_frame_clock (view);
  g_signal_connect (clock, "before-paint", G_CALLBACK (frame_begin), &s);
  g_signal_connect (clock, "after-paint", G_CALLBACK (frame_end), &s);
  gtk_widget_add_tick_callback (view, scroll_tick, &s, NULL);
  {
    GdkMonitor *monitor = gdk_display_get_monitor_at_surface (gtk_widget_get_display (view),
                                                              gtk_native_get_surface (GTK_NATIVE (window)));
    int mhz = monitor != NULL ? gdk_monitor_get_refresh_rate (monitor) : 0;

    period = mhz > 0 ? 1e6 / mhz : 1000.0 / 60.0;
  }

  printf ("(a) scrolling the demo volume (%u frames of %u x %u) one slice per frame, %.0f s "
          "each; refresh period %.1f ms\n", s.frames,
          picard_volume_get_columns (picard_window_get_volume (window)),
          picard_volume_get_rows (picard_window_get_volume (window)), seconds, period);
  scroll_phase (&s, seconds, &idle_intervals, &idle_work, &idle_cpu);
  print_stats ("without a scan", &s, idle_intervals, idle_work, idle_cpu, period);
  picard_window_set_slice (window, s.frames / 2);
  picard_test_ui_wait (picard_test_ui_window_idle, window, 20000);
  picard_scan_panel_start (panel);
  if (picard_scan_panel_get_state (panel) != PICARD_SCAN_STATE_RUNNING)
    g_error ("The scan did not start: %s", picard_scan_panel_get_status (panel));
  scroll_phase (&s, seconds, &scan_intervals, &scan_work, &scan_cpu);
  print_stats ("while the demo model scans the slice", &s, scan_intervals, scan_work, scan_cpu,
               period);
  done = picard_scan_panel_get_n_updates (panel);
  if (picard_scan_panel_get_state (panel) != PICARD_SCAN_STATE_RUNNING)
    g_error ("The scan stopped before the measurement ended: %s",
             picard_scan_panel_get_status (panel));
  picard_scan_panel_cancel (panel);
  picard_test_ui_wait (picard_test_ui_scan_stopped, window, 300000);

  printf ("  heatmap updates received during the scan: %u\n", done);
  printf ("  ratio of median frame intervals, scanning / not scanning: %.2f\n",
          median_of (scan_intervals) / MAX (median_of (idle_intervals), 1e-9));
  g_array_unref (idle_intervals);
  g_array_unref (idle_work);
  g_array_unref (scan_intervals);
  g_array_unref (scan_work);
  g_array_unref (idle_cpu);
  g_array_unref (scan_cpu);
  g_signal_handlers_disconnect_by_data (clock, &s);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (100);
}

/* ---- (b) the first slice of a 70-frame J2K volume ---- */

typedef struct {
  PicardWindow *window;
  double shown_ms;
} FirstSlice;

static void
first_after_paint (GdkFrameClock *clock, FirstSlice *f)
{
  if (f->shown_ms == 0 && picard_window_is_slice_shown (f->window))
    f->shown_ms = now_ms ();
}

static gboolean
first_shown (gpointer data)
{
  return ((FirstSlice *) data)->shown_ms > 0;
}

static char *
find_dicom (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      char *found;

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && (found = find_dicom (path)) != NULL)
        return found;
      if (g_str_has_suffix (name, ".dcm"))
        return g_steal_pointer (&path);
    }
  return NULL;
}

static void
bench_first_slice (PicardApplication *app, const char *dir, guint frames)
{
  g_autofree char *frames_text = g_strdup_printf ("%u", frames);
  g_autofree char *middle_text = g_strdup_printf ("%u", frames / 2);
  g_autofree char *path = NULL;
  g_autofree char *png = g_build_filename (dir, "slice.png", NULL);
  g_autofree char *err = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GError) error = NULL;
  PicardWindow *window;
  FirstSlice first = { 0 };
  double t0, generate_s, cli_ms, open_ms, decode_ms, window_ms, start_ms;

  t0 = now_ms ();
  if (picard_test_run_cli (NULL, &err, "phantom", "-o", dir, "--frames", frames_text,
                           "--seed", "3", "--syntax", "j2k-lossless", NULL) != 0)
    g_error ("picard-cli phantom failed: %s", err);
  generate_s = (now_ms () - t0) / 1000.0;
  path = find_dicom (dir);
  g_assert (path != NULL);

  /* Peer 1: a whole picard-cli process writing that frame as PNG (warms the page cache). */
  t0 = now_ms ();
  if (picard_test_run_cli (NULL, &err, "slice", path, "-i", middle_text, "-o", png, NULL) != 0)
    g_error ("picard-cli slice failed: %s", err);
  cli_ms = now_ms () - t0;
  /* Peer 2: opening the file and decoding that frame in this process. */
  t0 = now_ms ();
  volume = picard_volume_open (path, &error);
  g_assert_no_error (error);
  open_ms = now_ms () - t0;
  frame = picard_volume_get_frame (volume, frames / 2, NULL, &error);
  g_assert_no_error (error);
  decode_ms = now_ms () - t0;

  /* The window first (empty), so that only opening the file is timed after it. */
  start_ms = now_ms ();
  window = picard_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 900);
  gtk_window_present (GTK_WINDOW (window));
  picard_test_ui_wait ((gboolean (*) (gpointer)) gtk_widget_get_mapped, window, 20000);
  picard_test_ui_iterate (300);
  window_ms = now_ms () - start_ms;
  first.window = window;
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                    G_CALLBACK (first_after_paint), &first);
  file = g_file_new_for_path (path);
  t0 = now_ms ();
  picard_window_open_file (window, file);
  if (!picard_test_ui_wait (first_shown, &first, 60000))
    g_error ("The first slice of %s never showed", path);
  printf ("(b) first slice on screen, %u-frame JPEG 2000 lossless volume of %u x %u "
          "(made in %.1f s), middle frame %u\n", frames, picard_volume_get_columns (volume),
          picard_volume_get_rows (volume), generate_s, frames / 2);
  printf ("  open call to the end of the first frame painted with the slice: %.0f ms\n",
          first.shown_ms - t0);
  printf ("  peer, in this process: open %.0f ms + decode the frame = %.0f ms; ratio %.2f\n",
          open_ms, decode_ms, (first.shown_ms - t0) / decode_ms);
  printf ("  peer, picard-cli slice (process start to PNG written): %.0f ms; ratio %.2f\n",
          cli_ms, (first.shown_ms - t0) / cli_ms);
  printf ("  (the empty window took %.0f ms to map before the open call)\n", window_ms);
  g_signal_handlers_disconnect_by_data (gtk_widget_get_frame_clock (GTK_WIDGET (window)),
                                        &first);
  gtk_window_destroy (GTK_WINDOW (window));
  picard_test_ui_iterate (100);
}

int
main (int argc, char **argv)
{
  double seconds = 10.0;
  int frames = 70;
  g_autofree char *part = NULL;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds of scrolling per phase", "S" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the J2K volume (default 70)", "F" },
    { "part", 0, 0, G_OPTION_ARG_STRING, &part, "Only one part: scroll (a) or first-slice (b)",
      "PART" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the viewer's responsiveness");
  g_autoptr(GError) error = NULL;
  g_autofree char *demo = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cache = NULL;
  PicardApplication *app;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || seconds <= 0 || frames < 2
      || (part != NULL && !g_str_equal (part, "scroll") && !g_str_equal (part, "first-slice")))
    {
      fprintf (stderr, "bench-viewer: %s\n", error != NULL ? error->message
                                                          : "give positive --seconds, "
                                                            "--frames of 2 or more and --part "
                                                            "scroll or first-slice");
      return 1;
    }
  if (g_getenv ("PICARD_BUILD_DIR") == NULL)
    {
      fprintf (stderr, "bench-viewer: run it through meson test --benchmark bench-viewer\n");
      return 1;
    }
  demo = g_build_filename (g_getenv ("PICARD_BUILD_DIR"), "demo", "Phantom-7", "rcc.dcm", NULL);
  dir = g_dir_make_tmp ("picard-bench-viewer-XXXXXX", NULL);
  cache = g_build_filename (dir, "cache", NULL);
  /* Scans are cached here: every run scans afresh. */
  g_setenv ("PICARD_CACHE_DIR", cache, TRUE);
  gtk_init ();
  app = picard_application_new ();
  g_application_register (G_APPLICATION (app), NULL, NULL);
  if (picard_model_get_demo_path () == NULL)
    g_error ("This build has no demo model");
  if (part == NULL || g_str_equal (part, "first-slice"))
    bench_first_slice (app, dir, (guint) frames);
  fflush (stdout);
  if (part == NULL || g_str_equal (part, "scroll"))
    bench_scroll_during_scan (app, demo, seconds);
  g_object_unref (app);
  picard_test_remove_tree (dir);
  return 0;
}
