/* picard-cli info: what a volume is and how it will be oriented. */
#include "picard-cli.h"

#include "picard-dataset.h"
#include "picard-error.h"
#include "picard-orientation.h"
#include "picard-volume.h"
#include "picard-window-level.h"

#include <stdio.h>

static const char *
or_dash (const char *text)
{
  return text != NULL && text[0] != '\0' ? text : "-";
}

static void
print_orientation (const PicardOrientation *o, const char *view_option)
{
  printf ("Orientation (duke-dbt-data convention, measured on frame %u):\n",
          o->measured_frame);
  if (o->view_laterality_source == PICARD_LATERALITY_SOURCE_VIEW)
    printf ("  View laterality:   %s (from --view %s)\n",
            picard_laterality_to_string (o->view_laterality), view_option);
  else if (o->view_laterality_source == PICARD_LATERALITY_SOURCE_HEADER)
    printf ("  View laterality:   %s (from the header; give --view when it may be wrong)\n",
            picard_laterality_to_string (o->view_laterality));
  else
    printf ("  View laterality:   unknown (no --view and none in the header)\n");
  printf ("  Pixel laterality:  %s (first column sum %" G_GUINT64_FORMAT ", last column sum %"
          G_GUINT64_FORMAT ")\n", picard_laterality_to_string (o->pixel_laterality),
          o->first_column_sum, o->last_column_sum);
  if (o->view_laterality == PICARD_LATERALITY_UNKNOWN)
    printf ("  Flip 180 degrees:  no (file -> dataset; nothing to compare with)\n");
  else
    printf ("  Flip 180 degrees:  %s (file -> dataset; view and pixel laterality %s)\n",
            o->flip ? "yes" : "no", o->flip ? "differ" : "agree");
  printf ("  Left-align mirror: %s (dataset -> aligned; breast on the %s)\n",
          o->mirror ? "yes" : "no", o->mirror ? "right" : "left");
}

int
picard_cli_info (int argc, char **argv)
{
  g_autofree char *view_option = NULL;
  int frame = 0;
  const GOptionEntry entries[] = {
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_option,
      "The view letters from the data set (lcc, lmlo, rcc, rmlo); else the header's", "VIEW" },
    { "frame", 0, 0, G_OPTION_ARG_INT, &frame,
      "Frame to measure the pixel laterality on (default 0)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(PicardVolume) volume = NULL;
  g_autoptr(GBytes) pixels = NULL;
  GError *error = NULL;
  const PicardVolumeInfo *info;
  PicardView view = PICARD_VIEW_UNKNOWN;
  PicardOrientation orientation;

  context = g_option_context_new ("FILE|DIR");
  g_option_context_set_summary (context,
                                "Print a DBT volume's dimensions, encoding, window, "
                                "identifiers and orientation decision.\nFILE is a DICOM file, "
                                "DIR a folder of PNG slices.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("info", error);
  if (argc != 2)
    return picard_cli_fail ("info", g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                                                 argc < 2 ? "give one FILE or DIR"
                                                 : "give only one FILE or DIR"));
  if (view_option != NULL && !picard_view_from_string (view_option, &view))
    return picard_cli_fail ("info", g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                                                 "unknown view '%s'; use lcc, lmlo, rcc or "
                                                 "rmlo", view_option));

  volume = picard_volume_open (argv[1], &error);
  if (volume == NULL)
    return picard_cli_fail ("info", error);
  info = picard_volume_get_info (volume);
  if (frame < 0 || (guint) frame >= info->frames)
    return picard_cli_fail ("info", g_error_new (PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                                                 "--frame %d is outside 0..%u", frame,
                                                 info->frames - 1));
  if (!picard_orientation_compute (&orientation, volume, picard_view_get_laterality (view),
                                   (guint) frame, NULL, &error))
    return picard_cli_fail ("info", error);

  printf ("File:              %s\n", or_dash (info->path));
  printf ("Format:            %s\n", or_dash (info->format));
  printf ("Dimensions:        %u x %u pixels (columns x rows), %u frames\n", info->columns,
          info->rows, info->frames);
  if (info->transfer_syntax_uid != NULL)
    printf ("Transfer syntax:   %s (%s)\n", or_dash (info->transfer_syntax_name),
            info->transfer_syntax_uid);
  else
    printf ("Transfer syntax:   %s\n", or_dash (info->transfer_syntax_name));
  printf ("Bits:              %u stored, %u allocated\n", info->bits_stored,
          info->bits_allocated);
  if (info->has_window)
    printf ("Window:            center %g, width %g (from the file's header)\n",
            info->window_center, info->window_width);
  else
    {
      PicardWindowLevel wl;

      pixels = picard_volume_get_frame (volume, (guint) frame, NULL, &error);
      if (pixels == NULL)
        return picard_cli_fail ("info", error);
      wl = picard_window_level_auto (g_bytes_get_data (pixels, NULL),
                                     (gsize) info->rows * info->columns, info->bits_stored,
                                     PICARD_CLI_AUTO_WINDOW_LOW, PICARD_CLI_AUTO_WINDOW_HIGH);
      printf ("Window:            none in the file; automatic on frame %d: center %g, "
              "width %g (%g..%g percentiles of tissue)\n", frame, wl.center, wl.width,
              PICARD_CLI_AUTO_WINDOW_LOW, PICARD_CLI_AUTO_WINDOW_HIGH);
    }
  printf ("Photometric:       %s\n", or_dash (info->photometric));
  printf ("Header laterality: %s\n", picard_laterality_to_string (info->header_laterality));
  if (view != PICARD_VIEW_UNKNOWN)
    printf ("View:              %s (from --view; header: %s)\n", picard_view_to_string (view),
            or_dash (info->view));
  else
    printf ("View:              %s (header)\n", or_dash (info->view));
  printf ("Patient ID:        %s\n", or_dash (info->patient_id));
  printf ("Study UID:         %s\n", or_dash (info->study_instance_uid));
  printf ("Series UID:        %s\n", or_dash (info->series_instance_uid));
  printf ("SOP class UID:     %s\n", or_dash (info->sop_class_uid));
  printf ("SOP instance UID:  %s\n", or_dash (info->sop_instance_uid));
  print_orientation (&orientation, view_option);
  return 0;
}
