#include "picard-dataset-browser.h"

#include "picard-application.h"

struct _PicardDatasetBrowser {
  GtkWindow parent_instance;

  GtkLabel *subtitle_label;
  GtkSearchEntry *search_entry;
  GtkDropDown *view_dropdown;
  GtkDropDown *class_dropdown;
  GtkCheckButton *boxes_check;
  GtkColumnView *column_view;
  GtkLabel *status_label;

  GListStore *empty;
  GtkCustomFilter *filter;
  GtkFilterListModel *filtered;
  GtkSingleSelection *selection;

  PicardDatasetIndex *index;
  char *file_paths_csv;
  char *labels_csv;
  char *boxes_csv;
  GCancellable *cancellable;
  gboolean loading;
  char *error_text;
};

G_DEFINE_FINAL_TYPE (PicardDatasetBrowser, picard_dataset_browser, GTK_TYPE_WINDOW)

enum {
  SIGNAL_OPEN_ENTRY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The dropdowns' entries after "All …", in their order. */
static const char *const view_names[] = { "lcc", "lmlo", "rcc", "rmlo" };
static const char *const label_names[] = { "normal", "actionable", "benign", "cancer" };

static gboolean
entry_passes (gpointer item, gpointer user_data)
{
  PicardDatasetBrowser *self = user_data;
  PicardDatasetEntry *entry = item;
  const char *search = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  guint view = gtk_drop_down_get_selected (self->view_dropdown);
  guint klass = gtk_drop_down_get_selected (self->class_dropdown);

  if (search[0] != '\0')
    {
      g_autofree char *needle = g_utf8_casefold (search, -1);
      g_autofree char *haystack = g_utf8_casefold (picard_dataset_entry_get_patient_id (entry), -1);

      if (strstr (haystack, needle) == NULL)
        return FALSE;
    }
  if (view > 0 && view <= G_N_ELEMENTS (view_names)
      && g_strcmp0 (picard_dataset_entry_get_view (entry), view_names[view - 1]) != 0)
    return FALSE;
  if (klass > 0 && klass <= G_N_ELEMENTS (label_names)
      && g_strcmp0 (picard_dataset_entry_get_label (entry), label_names[klass - 1]) != 0)
    return FALSE;
  if (gtk_check_button_get_active (self->boxes_check)
      && picard_dataset_entry_get_n_lesions (entry) == 0)
    return FALSE;
  return TRUE;
}

static void
update_status (PicardDatasetBrowser *self)
{
  g_autofree char *text = NULL;

  if (self->loading)
    text = g_strdup ("Reading the tables…");
  else if (self->error_text != NULL)
    text = g_strdup (self->error_text);
  else if (self->index == NULL)
    text = g_strdup ("Open a BCS-DBT file-paths table (BCS-DBT-file-paths.csv) to list its volumes.");
  else
    {
      guint total = g_list_model_get_n_items (picard_dataset_index_get_entries (self->index));
      guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filtered));

      text = g_strdup_printf ("%u of %u volumes shown · %s · %s", shown, total,
                              picard_dataset_index_has_labels (self->index)
                                ? "labels read" : "no labels table (choose one in the menu)",
                              picard_dataset_index_has_boxes (self->index)
                                ? "boxes read" : "no boxes table (choose one in the menu)");
    }
  gtk_label_set_text (self->status_label, text);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "browser.open-selected",
                                 gtk_single_selection_get_selected_item (self->selection) != NULL);
}

static void
filters_changed (PicardDatasetBrowser *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_status (self);
}

static void
open_position (PicardDatasetBrowser *self, guint position)
{
  g_autoptr(PicardDatasetEntry) entry = g_list_model_get_item (G_LIST_MODEL (self->filtered),
                                                               position);

  if (entry != NULL)
    g_signal_emit (self, signals[SIGNAL_OPEN_ENTRY], 0, entry);
}

static void
row_activated (GtkColumnView *view, guint position, PicardDatasetBrowser *self)
{
  open_position (self, position);
}

static void
open_selected_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardDatasetBrowser *self = PICARD_DATASET_BROWSER (widget);
  guint position = gtk_single_selection_get_selected (self->selection);

  if (position != GTK_INVALID_LIST_POSITION)
    open_position (self, position);
}

static void
focus_search_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_widget_grab_focus (GTK_WIDGET (PICARD_DATASET_BROWSER (widget)->search_entry));
}

/* ---- loading ---- */

static void
replace_string (char **field, const char *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

typedef struct {
  char *file_paths_csv, *labels_csv, *boxes_csv;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_free (load->file_paths_csv);
  g_free (load->labels_csv);
  g_free (load->boxes_csv);
  g_free (load);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  LoadData *load = task_data;
  GError *error = NULL;
  PicardDatasetIndex *index = picard_dataset_index_load (load->file_paths_csv, load->labels_csv,
                                                         load->boxes_csv, cancellable, &error);

  if (index == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, index, g_object_unref);
}

static void
loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PicardDatasetBrowser) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PicardDatasetIndex) index = g_task_propagate_pointer (G_TASK (result), &error);

  /* A newer load replaced this one. */
  if (g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    return;
  self->loading = FALSE;
  g_clear_pointer (&self->error_text, g_free);
  if (index == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        self->error_text = g_strdup_printf ("%s. Choose another table from the Open Data Set "
                                            "dialog or the menu.", error->message);
    }
  else
    {
      g_autofree char *basename = g_path_get_basename (picard_dataset_index_get_root (index));

      g_set_object (&self->index, index);
      gtk_filter_list_model_set_model (self->filtered, picard_dataset_index_get_entries (index));
      gtk_label_set_text (self->subtitle_label, picard_dataset_index_get_root (index));
      gtk_window_set_title (GTK_WINDOW (self), basename);
    }
  update_status (self);
}

void
picard_dataset_browser_load (PicardDatasetBrowser *self, const char *file_paths_csv,
                             const char *labels_csv, const char *boxes_csv)
{
  g_autoptr(GTask) task = NULL;
  LoadData *load;

  g_return_if_fail (PICARD_IS_DATASET_BROWSER (self));
  g_return_if_fail (file_paths_csv != NULL);

  if (g_strcmp0 (file_paths_csv, self->file_paths_csv) != 0)
    {
      /* Tables chosen for another data set do not carry over. */
      if (labels_csv == NULL)
        g_clear_pointer (&self->labels_csv, g_free);
      if (boxes_csv == NULL)
        g_clear_pointer (&self->boxes_csv, g_free);
    }
  replace_string (&self->file_paths_csv, file_paths_csv);
  if (labels_csv != NULL)
    replace_string (&self->labels_csv, labels_csv);
  if (boxes_csv != NULL)
    replace_string (&self->boxes_csv, boxes_csv);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->loading = TRUE;
  update_status (self);

  load = g_new0 (LoadData, 1);
  load->file_paths_csv = g_strdup (self->file_paths_csv);
  load->labels_csv = g_strdup (self->labels_csv);
  load->boxes_csv = g_strdup (self->boxes_csv);
  task = g_task_new (NULL, self->cancellable, loaded, g_object_ref (self));
  g_task_set_task_data (task, load, load_data_free);
  g_task_run_in_thread (task, load_thread);
}

/* ---- choosing tables ---- */

static void
table_chosen (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  PicardDatasetBrowser *self = user_data;
  gboolean boxes = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "boxes"));

  if (response == GTK_RESPONSE_ACCEPT && self->file_paths_csv != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        picard_dataset_browser_load (self, self->file_paths_csv, boxes ? NULL : path,
                                     boxes ? path : NULL);
    }
  g_object_unref (dialog);
}

static void
choose_table_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  PicardDatasetBrowser *self = PICARD_DATASET_BROWSER (widget);
  gboolean boxes = g_str_equal (action_name, "browser.choose-boxes");
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *dialog;

  gtk_file_filter_set_name (filter, "CSV tables");
  gtk_file_filter_add_pattern (filter, "*.csv");
  gtk_file_filter_add_pattern (filter, "*.CSV");
  gtk_file_filter_add_mime_type (filter, "text/csv");
  dialog = gtk_file_chooser_native_new (boxes ? "Choose the Boxes Table" : "Choose the Labels Table",
                                        GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        "_Choose", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  if (self->index != NULL)
    {
      g_autoptr(GFile) folder = g_file_new_for_path (picard_dataset_index_get_root (self->index));

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
    }
  g_object_set_data (G_OBJECT (dialog), "boxes", GINT_TO_POINTER (boxes));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (table_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- columns ---- */

typedef const char *(*TextFunc) (PicardDatasetEntry *entry);

static const char *
patient_text (PicardDatasetEntry *entry)
{
  return picard_dataset_entry_get_patient_id (entry);
}

static const char *
view_text (PicardDatasetEntry *entry)
{
  return picard_dataset_entry_get_view (entry);
}

static const char *
label_text (PicardDatasetEntry *entry)
{
  return picard_dataset_entry_get_label (entry);
}

static void
setup_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_label (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  PicardDatasetEntry *entry = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));

  if (user_data != NULL)
    gtk_label_set_text (label, ((TextFunc) user_data) (entry));
  else
    {
      char text[16];

      g_snprintf (text, sizeof text, "%u", picard_dataset_entry_get_n_lesions (entry));
      gtk_label_set_text (label, text);
    }
}

static void
add_column (PicardDatasetBrowser *self, const char *title, TextFunc func, gboolean expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_label), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label), (gpointer) func);
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_append_column (self->column_view, column);
  g_object_unref (column);
}

/* ---- the object ---- */

PicardDatasetIndex *
picard_dataset_browser_get_index (PicardDatasetBrowser *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_BROWSER (self), NULL);
  return self->index;
}

gboolean
picard_dataset_browser_is_loading (PicardDatasetBrowser *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_BROWSER (self), FALSE);
  return self->loading;
}

GListModel *
picard_dataset_browser_get_shown (PicardDatasetBrowser *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_BROWSER (self), NULL);
  return G_LIST_MODEL (self->filtered);
}

GtkColumnView *
picard_dataset_browser_get_column_view (PicardDatasetBrowser *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_BROWSER (self), NULL);
  return self->column_view;
}

const char *
picard_dataset_browser_get_status (PicardDatasetBrowser *self)
{
  g_return_val_if_fail (PICARD_IS_DATASET_BROWSER (self), NULL);
  return gtk_label_get_text (self->status_label);
}

static guint
position_of (const char *const *names, guint n, const char *name)
{
  for (guint i = 0; name != NULL && i < n; i++)
    if (g_ascii_strcasecmp (names[i], name) == 0)
      return i + 1;
  return 0;
}

void
picard_dataset_browser_set_filter (PicardDatasetBrowser *self, const char *patient,
                                   const char *view, const char *label,
                                   gboolean with_boxes_only)
{
  g_return_if_fail (PICARD_IS_DATASET_BROWSER (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), patient != NULL ? patient : "");
  gtk_drop_down_set_selected (self->view_dropdown,
                              position_of (view_names, G_N_ELEMENTS (view_names), view));
  gtk_drop_down_set_selected (self->class_dropdown,
                              position_of (label_names, G_N_ELEMENTS (label_names), label));
  gtk_check_button_set_active (self->boxes_check, with_boxes_only);
  /* The search entry reports changes after a delay: apply them now. */
  filters_changed (self);
}

static void
picard_dataset_browser_dispose (GObject *object)
{
  PicardDatasetBrowser *self = PICARD_DATASET_BROWSER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), PICARD_TYPE_DATASET_BROWSER);
  g_clear_object (&self->selection);
  g_clear_object (&self->index);
  g_clear_object (&self->empty);
  G_OBJECT_CLASS (picard_dataset_browser_parent_class)->dispose (object);
}

static void
picard_dataset_browser_finalize (GObject *object)
{
  PicardDatasetBrowser *self = PICARD_DATASET_BROWSER (object);

  g_free (self->file_paths_csv);
  g_free (self->labels_csv);
  g_free (self->boxes_csv);
  g_free (self->error_text);
  G_OBJECT_CLASS (picard_dataset_browser_parent_class)->finalize (object);
}

static void
picard_dataset_browser_class_init (PicardDatasetBrowserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  picard_ui_ensure_resources ();
  object_class->dispose = picard_dataset_browser_dispose;
  object_class->finalize = picard_dataset_browser_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/picard/Viewer/picard-dataset-browser.ui");
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, search_entry);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, view_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, boxes_check);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, column_view);
  gtk_widget_class_bind_template_child (widget_class, PicardDatasetBrowser, status_label);

  gtk_widget_class_install_action (widget_class, "browser.open-selected", NULL,
                                   open_selected_action);
  gtk_widget_class_install_action (widget_class, "browser.choose-labels", NULL,
                                   choose_table_action);
  gtk_widget_class_install_action (widget_class, "browser.choose-boxes", NULL,
                                   choose_table_action);
  gtk_widget_class_install_action (widget_class, "browser.focus-search", NULL,
                                   focus_search_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "browser.focus-search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK,
                                       "window.close", NULL);

  /* The chosen volume (a PicardDatasetEntry). */
  signals[SIGNAL_OPEN_ENTRY] = g_signal_new ("open-entry", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 1, PICARD_TYPE_DATASET_ENTRY);
}

static void
picard_dataset_browser_init (PicardDatasetBrowser *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->empty = g_list_store_new (PICARD_TYPE_DATASET_ENTRY);
  self->filter = gtk_custom_filter_new (entry_passes, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->empty)),
                                              GTK_FILTER (self->filter));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->filtered));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  add_column (self, "Patient", patient_text, TRUE);
  add_column (self, "View", view_text, FALSE);
  add_column (self, "Class", label_text, FALSE);
  add_column (self, "Boxes", NULL, FALSE);

  g_signal_connect (self->column_view, "activate", G_CALLBACK (row_activated), self);
  g_signal_connect_swapped (self->search_entry, "search-changed", G_CALLBACK (filters_changed), self);
  g_signal_connect_swapped (self->view_dropdown, "notify::selected", G_CALLBACK (filters_changed), self);
  g_signal_connect_swapped (self->class_dropdown, "notify::selected", G_CALLBACK (filters_changed), self);
  g_signal_connect_swapped (self->boxes_check, "toggled", G_CALLBACK (filters_changed), self);
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (update_status), self);
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self));
  update_status (self);
}

PicardDatasetBrowser *
picard_dataset_browser_new (GtkWindow *parent)
{
  return g_object_new (PICARD_TYPE_DATASET_BROWSER, "transient-for", parent,
                       "application", parent != NULL ? gtk_window_get_application (parent) : NULL,
                       NULL);
}
