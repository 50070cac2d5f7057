/* picard-cli-network.c: how every command that runs the network opens it. */
#include "picard-cli.h"

#include <stdio.h>

#include "picard-checkpoint.h"
#include "picard-scan.h"

gboolean
picard_cli_set_dropout (PicardNetwork *net, const char *spec, double p, GError **error)
{
  g_auto(GStrv) layers = NULL;

  if (g_ascii_strcasecmp (spec, "released") == 0 || g_ascii_strcasecmp (spec, "default") == 0)
    return picard_network_set_dropout (net, picard_network_dropout_released (), (float) p, error);
  if (g_ascii_strcasecmp (spec, "paper") == 0)
    return picard_network_set_dropout (net, picard_network_dropout_paper (), (float) p, error);
  if (g_ascii_strcasecmp (spec, "none") == 0 || g_ascii_strcasecmp (spec, "off") == 0)
    return picard_network_set_dropout (net, NULL, (float) p, error);
  layers = g_strsplit (spec, ",", -1);
  for (guint k = 0; layers[k] != NULL; k++)
    g_strstrip (layers[k]);
  if (!picard_network_set_dropout (net, (const char *const *) layers, (float) p, error))
    {
      g_prefix_error (error, "--dropout-layers: ");
      return FALSE;
    }
  return TRUE;
}

PicardNetwork *
picard_cli_open_network (const char *backend_name, const char *checkpoint, gint64 iteration,
                         const char *dropout, double dropout_p, GError **error)
{
  g_autoptr(PicardNetwork) net = NULL;
  PicardBackend backend = PICARD_BACKEND_AUTO;

  if (backend_name != NULL && !picard_backend_from_string (backend_name, &backend, error))
    {
      g_prefix_error (error, "--backend: ");
      return NULL;
    }
  net = picard_network_open (backend, checkpoint, iteration, error);
  if (net == NULL || !picard_cli_set_dropout (net, dropout, dropout_p, error))
    return NULL;
  return g_steal_pointer (&net);
}

void
picard_cli_say_network (PicardNetwork *net)
{
  fprintf (stderr, "Network: %s\n", picard_network_get_backend_reason (net));
}

gboolean
picard_cli_resolve_geometry (const char *checkpoint, gint64 iteration, int *patch, int *hole,
                             guint *trained_patch, guint *trained_hole)
{
  g_autofree char *gen_path = NULL, *dis_path = NULL;
  gint64 found;
  gboolean adopted = FALSE;

  *trained_patch = *trained_hole = 0;
  if (picard_checkpoint_locate (checkpoint, iteration, &gen_path, &dis_path, &found, NULL)
      && dis_path != NULL)
    picard_checkpoint_trained_geometry (dis_path, trained_patch, trained_hole);
  if (*patch == G_MININT && *hole == G_MININT && *trained_patch > 0)
    {
      *patch = (int) *trained_patch;
      *hole = (int) *trained_hole;
      adopted = TRUE;
    }
  if (*patch == G_MININT)
    *patch = PICARD_SCAN_DEFAULT_PATCH;
  if (*hole == G_MININT)
    *hole = PICARD_SCAN_DEFAULT_HOLE;
  return adopted;
}
