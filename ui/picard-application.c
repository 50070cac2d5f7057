#include "picard-application.h"

#include "picard-model-loader.h"
#include "picard-resources.h"
#include "picard-window.h"

struct _PicardApplication {
  GtkApplication parent_instance;

  char *demo_volume;
  gboolean load_demo_model;
};

G_DEFINE_FINAL_TYPE (PicardApplication, picard_application, GTK_TYPE_APPLICATION)

void
picard_ui_ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      picard_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}

void
picard_ui_load_style (void)
{
  static gboolean loaded = FALSE;
  GtkCssProvider *provider;

  if (loaded || gdk_display_get_default () == NULL)
    return;
  loaded = TRUE;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/org/picard/Viewer/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref (provider);
}

static void
picard_application_activate (GApplication *app)
{
  PicardApplication *self = PICARD_APPLICATION (app);
  PicardWindow *window = picard_window_new (self);

  if (self->demo_volume != NULL)
    {
      g_autoptr(GFile) demo = g_file_new_for_path (self->demo_volume);

      picard_window_open_file (window, demo);
      /* Loaded on a worker thread while the volume opens; the scan waits for Start. */
      if (self->load_demo_model && picard_model_get_demo_path () != NULL)
        picard_scan_panel_load_model (picard_window_get_scan_panel (window), NULL);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static void
picard_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      PicardWindow *window = picard_window_new (PICARD_APPLICATION (app));

      picard_window_open_file (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
about_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  static const char *authors[] = { "The Picard Viewer developers", NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (user_data),
                         "program-name", "Picard Viewer",
                         "logo-icon-name", PICARD_APPLICATION_ID,
                         "version", PICARD_VERSION,
                         "comments", "Unsupervised anomaly localisation in breast "
                                     "tomosynthesis by pluralistic image completion (PICARD)",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         NULL);
}

static void
quit_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GList *windows = gtk_application_get_windows (user_data);

  /* Closing each window lets it save its state. */
  while (windows != NULL)
    {
      GList *next = windows->next;

      gtk_window_close (windows->data);
      windows = next;
    }
}

static void
picard_application_startup (GApplication *app)
{
  static const GActionEntry entries[] = {
    { .name = "about", .activate = about_action },
    { .name = "quit", .activate = quit_action },
  };
  static const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (picard_application_parent_class)->startup (app);
  picard_ui_load_style ();
  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
}

static void
picard_application_finalize (GObject *object)
{
  g_free (PICARD_APPLICATION (object)->demo_volume);
  G_OBJECT_CLASS (picard_application_parent_class)->finalize (object);
}

static void
picard_application_class_init (PicardApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  picard_ui_ensure_resources ();
  G_OBJECT_CLASS (klass)->finalize = picard_application_finalize;
  app_class->startup = picard_application_startup;
  app_class->activate = picard_application_activate;
  app_class->open = picard_application_open;
}

static void
picard_application_init (PicardApplication *self)
{
}

PicardApplication *
picard_application_new (void)
{
  return g_object_new (PICARD_TYPE_APPLICATION,
                       "application-id", PICARD_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       NULL);
}

void
picard_application_set_demo_volume (PicardApplication *self, const char *path)
{
  g_return_if_fail (PICARD_IS_APPLICATION (self));

  g_free (self->demo_volume);
  self->demo_volume = g_strdup (path);
}

void
picard_application_set_load_demo_model (PicardApplication *self, gboolean load)
{
  g_return_if_fail (PICARD_IS_APPLICATION (self));

  self->load_demo_model = load;
}
