/* picard-cli devices: the Vulkan devices of the machine, which one the engine selects
 * (PICARD_VK_DEVICE overrides) and what it uses there, and the network's backend. */
#include "picard-cli.h"

#include <stdio.h>

#include "picard-network.h"
#include "picard-vk.h"

/* What the network commands and the viewer will use (--backend, PICARD_BACKEND). */
static gboolean
print_backend (GError **error)
{
  g_autoptr (PicardVkDevice) device = NULL;
  g_autofree char *reason = NULL;

  if (picard_backend_choose (PICARD_BACKEND_AUTO, &device, &reason, error)
      == PICARD_BACKEND_AUTO)
    return FALSE;
  printf ("Network backend: %s\n", reason);
  return TRUE;
}

int
picard_cli_devices (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("- list Vulkan devices");
  g_autoptr (GPtrArray) devices = NULL;
  GError *error = NULL;

  g_option_context_set_description (context,
    "Environment: PICARD_VK_DEVICE=<index|name> selects a device,\n"
    "PICARD_VK_DISABLE=fp16,coopmat,mapped switches fp16, cooperative matrices or buffers\n"
    "mapped in shared memory off (then staged as on a discrete GPU), PICARD_VK_CONV=\n"
    "direct|tiled forces the convolution layout, PICARD_VK_CONV_TILE=BMxBNxBKxTMxTN[xS] the\n"
    "tiled layout's tile (for tile sweeps), PICARD_VK_PROFILE=1 prints each Vulkan graph's\n"
    "device time per shader when the graph is freed.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return picard_cli_fail ("devices", error);
  if (argc > 1)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "unexpected argument '%s'", argv[1]);
      return picard_cli_fail ("devices", error);
    }

  devices = picard_vk_enumerate_devices (&error);
  if (devices == NULL)
    {
      /* Still worth knowing: the network runs on the CPU. */
      int status = picard_cli_fail ("devices", error);

      g_clear_error (&error);
      if (!print_backend (&error))
        return picard_cli_fail ("devices", error);
      return status;
    }
  int selected = picard_vk_select_device (devices, &error);
  if (selected < 0)
    return picard_cli_fail ("devices", error);

  for (guint i = 0; i < devices->len; i++)
    {
      const PicardVkDeviceInfo *info = devices->pdata[i];
      g_autofree char *report = picard_vk_device_info_format (info, 4);
      printf ("Device %u%s\n%s", info->index, (int) i == selected ? " (selected)" : "", report);
    }

  g_autoptr (PicardVkDevice) device = picard_vk_device_new (&error);
  if (device == NULL)
    return picard_cli_fail ("devices", error);
  g_autofree char *choices = picard_vk_device_describe_choices (device);
  printf ("Engine on device %u: %s\n", picard_vk_device_get_info (device)->index, choices);
  g_clear_pointer (&device, picard_vk_device_free);
  if (!print_backend (&error))
    return picard_cli_fail ("devices", error);
  return 0;
}
