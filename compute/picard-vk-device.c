/* picard-vk-device.c: instance, device selection and report, errors, pipelines. */
#include "picard-vk-private.h"

#include <string.h>

#include "picard-error.h"
#include "picard-shaders.h"

const char *
picard_vk_result_name (VkResult result)
{
  switch (result)
    {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
    case VK_ERROR_FRAGMENTATION: return "VK_ERROR_FRAGMENTATION";
    case VK_PIPELINE_COMPILE_REQUIRED: return "VK_PIPELINE_COMPILE_REQUIRED";
    default: return "VK_ERROR_UNKNOWN";
    }
}

gboolean
picard_vk_check (VkResult result, const char *what, GError **error)
{
  if (result == VK_SUCCESS)
    return TRUE;
  switch (result)
    {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_OUT_OF_MEMORY,
                   "Vulkan ran out of memory in %s (%s): retry with a smaller batch",
                   what, picard_vk_result_name (result));
      break;
    case VK_ERROR_DEVICE_LOST:
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE_LOST,
                   "The Vulkan device was lost in %s (%s): close and reopen the device",
                   what, picard_vk_result_name (result));
      break;
    default:
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE,
                   "Vulkan call %s failed (%s, %d)", what, picard_vk_result_name (result),
                   (int) result);
      break;
    }
  return FALSE;
}

const char *
picard_vk_device_type_name (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

void
picard_vk_device_info_free (PicardVkDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->driver_name);
  g_free (info->driver_info);
  g_free (info);
}

static gboolean
create_instance_once (VkInstance *instance, GError **error)
{
  guint32 version = VK_API_VERSION_1_0;
  VkResult r;

  /* The loader itself predates 1.1 when this entry point is missing. */
  if (vkEnumerateInstanceVersion (&version) != VK_SUCCESS)
    version = VK_API_VERSION_1_0;
  if (version < VK_API_VERSION_1_1)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE,
                   "The Vulkan loader supports only version %u.%u; Picard needs 1.1 or newer: "
                   "update the Vulkan loader (Debian: libvulkan1)",
                   VK_API_VERSION_MAJOR (version), VK_API_VERSION_MINOR (version));
      return FALSE;
    }

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Picard Viewer",
    .applicationVersion = 1,
    .pEngineName = "picard-vk",
    .engineVersion = 1,
    .apiVersion = MIN (version, VK_API_VERSION_1_3),
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app,
  };
  r = vkCreateInstance (&info, NULL, instance);
  if (r != VK_SUCCESS)
    {
      g_set_error (error, PICARD_ERROR,
                   r == VK_ERROR_OUT_OF_HOST_MEMORY ? PICARD_ERROR_OUT_OF_MEMORY
                                                    : PICARD_ERROR_DEVICE,
                   "No Vulkan device found: vkCreateInstance failed (%s). Install a Vulkan "
                   "driver (Debian: mesa-vulkan-drivers provides the CPU device lavapipe) "
                   "and check VK_ICD_FILENAMES",
                   picard_vk_result_name (r));
      return FALSE;
    }
  return TRUE;
}

/* One instance for the whole process, made on first use and kept: every device shares it,
 * and drivers stay loaded (creating and destroying instances repeatedly reloads them, and
 * Mesa's lavapipe leaks a little at each load). A failure is not remembered, so a later call
 * retries (after a driver was installed, or with another VK_ICD_FILENAMES). */
static gboolean
create_instance (VkInstance *instance, GError **error)
{
  static GMutex lock;
  static VkInstance shared = VK_NULL_HANDLE;
  gboolean ok = TRUE;

  g_mutex_lock (&lock);
  if (shared == VK_NULL_HANDLE)
    ok = create_instance_once (&shared, error);
  *instance = shared;
  g_mutex_unlock (&lock);
  return ok;
}

static gboolean
has_extension (const VkExtensionProperties *exts, guint32 n, const char *name)
{
  for (guint32 i = 0; i < n; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

/* NVIDIA's cooperative matrices (the extension glslc here can build for): the shape of an
 * fp16 x fp16 + fp32 product at subgroup scope, largest first, or FALSE. */
static gboolean
query_coopmat (VkInstance instance, VkPhysicalDevice physical, guint32 shape[3])
{
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get_properties =
    (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
      vkGetInstanceProcAddr (instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  guint32 n = 0;
  gboolean found = FALSE;

  if (get_properties == NULL || get_properties (physical, &n, NULL) != VK_SUCCESS || n == 0)
    return FALSE;
  g_autofree VkCooperativeMatrixPropertiesNV *props = g_new0 (VkCooperativeMatrixPropertiesNV, n);
  for (guint32 i = 0; i < n; i++)
    props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (get_properties (physical, &n, props) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    {
      const VkCooperativeMatrixPropertiesNV *p = &props[i];
      if (p->AType == VK_COMPONENT_TYPE_FLOAT16_NV && p->BType == VK_COMPONENT_TYPE_FLOAT16_NV
          && p->CType == VK_COMPONENT_TYPE_FLOAT32_NV && p->DType == VK_COMPONENT_TYPE_FLOAT32_NV
          && p->scope == VK_SCOPE_SUBGROUP_NV && p->MSize % 4 == 0 && p->KSize % 4 == 0
          && p->MSize <= 32 && p->NSize <= 32 && p->KSize <= 32
          && (!found || p->MSize * p->NSize * p->KSize > shape[0] * shape[1] * shape[2]))
        {
          shape[0] = p->MSize;
          shape[1] = p->NSize;
          shape[2] = p->KSize;
          found = TRUE;
        }
    }
  return found;
}

static PicardVkDeviceInfo *
query_device (VkInstance instance, VkPhysicalDevice physical, guint index)
{
  PicardVkDeviceInfo *info = g_new0 (PicardVkDeviceInfo, 1);
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  guint32 n_ext = 0, n_queues = 0;

  vkGetPhysicalDeviceProperties (physical, &props);
  vkEnumerateDeviceExtensionProperties (physical, NULL, &n_ext, NULL);
  g_autofree VkExtensionProperties *exts = g_new0 (VkExtensionProperties, MAX (n_ext, 1));
  if (vkEnumerateDeviceExtensionProperties (physical, NULL, &n_ext, exts) != VK_SUCCESS)
    n_ext = 0;

  info->index = index;
  info->name = g_strdup (props.deviceName);
  info->type = props.deviceType;
  info->vendor_id = props.vendorID;
  info->device_id = props.deviceID;
  info->api_version = props.apiVersion;
  info->driver_version = props.driverVersion;
  info->max_workgroup_size[0] = props.limits.maxComputeWorkGroupSize[0];
  info->max_workgroup_size[1] = props.limits.maxComputeWorkGroupSize[1];
  info->max_workgroup_size[2] = props.limits.maxComputeWorkGroupSize[2];
  info->max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
  for (guint i = 0; i < 3; i++)
    info->max_workgroup_count[i] = props.limits.maxComputeWorkGroupCount[i];
  info->max_shared_memory = props.limits.maxComputeSharedMemorySize;
  info->max_push_constants = props.limits.maxPushConstantsSize;
  info->max_texel_elements = props.limits.maxTexelBufferElements;
  info->max_storage_buffer_range = props.limits.maxStorageBufferRange;
  info->timestamp_period = props.limits.timestampPeriod;
  gboolean has_coopmat = has_extension (exts, n_ext, "VK_NV_cooperative_matrix");

  gboolean v12 = props.apiVersion >= VK_API_VERSION_1_2;
  gboolean has_driver_props = v12 || has_extension (exts, n_ext, "VK_KHR_driver_properties");
  gboolean has_f16i8 = v12 || has_extension (exts, n_ext, "VK_KHR_shader_float16_int8");

  if (props.apiVersion >= VK_API_VERSION_1_1)
    {
      VkPhysicalDeviceDriverProperties driver = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
      };
      VkPhysicalDeviceSubgroupProperties subgroup = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
        .pNext = has_driver_props ? &driver : NULL,
      };
      VkPhysicalDeviceProperties2 props2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
        .pNext = &subgroup,
      };
      vkGetPhysicalDeviceProperties2 (physical, &props2);
      info->subgroup_size = subgroup.subgroupSize;
      if (has_driver_props)
        {
          info->driver_name = g_strndup (driver.driverName, VK_MAX_DRIVER_NAME_SIZE);
          info->driver_info = g_strndup (driver.driverInfo, VK_MAX_DRIVER_INFO_SIZE);
        }

      VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
      };
      /* The cooperative-matrix shader uses the Vulkan memory model (core in 1.2). */
      VkPhysicalDeviceVulkanMemoryModelFeatures memory_model = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
        .pNext = has_coopmat ? &coopmat : NULL,
      };
      VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .pNext = v12 ? &memory_model : NULL,
      };
      VkPhysicalDevice16BitStorageFeatures storage16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = has_f16i8 ? &f16i8 : NULL,
      };
      VkPhysicalDeviceFeatures2 features2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &storage16,
      };
      vkGetPhysicalDeviceFeatures2 (physical, &features2);
      info->storage_16bit = storage16.storageBuffer16BitAccess;
      info->shader_float16 = f16i8.shaderFloat16;
      info->shader_int8 = f16i8.shaderInt8;
      info->cooperative_matrix = v12 && coopmat.cooperativeMatrix
                                 && memory_model.vulkanMemoryModel
                                 && query_coopmat (instance, physical, info->coopmat_shape);
    }
  if (info->driver_name == NULL)
    info->driver_name = g_strdup ("");
  if (info->driver_info == NULL)
    info->driver_info = g_strdup ("");

  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n_queues, NULL);
  g_autofree VkQueueFamilyProperties *queues = g_new0 (VkQueueFamilyProperties,
                                                       MAX (n_queues, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (physical, &n_queues, queues);
  gboolean compute = FALSE;
  for (guint32 i = 0; i < n_queues; i++)
    if (queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      compute = TRUE;
  info->usable = compute && props.apiVersion >= VK_API_VERSION_1_1;

  vkGetPhysicalDeviceMemoryProperties (physical, &mem);
  info->n_heaps = mem.memoryHeapCount;
  for (guint32 i = 0; i < mem.memoryHeapCount; i++)
    {
      info->heap_size[i] = mem.memoryHeaps[i].size;
      info->heap_device_local[i] = (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }
  for (guint32 i = 0; i < mem.memoryTypeCount; i++)
    {
      VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
      if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
        info->unified_memory = TRUE;
    }
  return info;
}

static GPtrArray *
enumerate (VkInstance instance, GPtrArray **physicals, GError **error)
{
  guint32 n = 0;
  VkResult r = vkEnumeratePhysicalDevices (instance, &n, NULL);

  /* Drivers without their hardware report an initialisation failure: no device either. */
  if (r == VK_ERROR_INITIALIZATION_FAILED || r == VK_ERROR_INCOMPATIBLE_DRIVER)
    n = 0;
  else if (r != VK_SUCCESS && r != VK_INCOMPLETE)
    {
      picard_vk_check (r, "vkEnumeratePhysicalDevices", error);
      return NULL;
    }
  if (n == 0)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_DEVICE,
                   "No Vulkan device found: the Vulkan drivers report no devices%s. Install "
                   "one (Debian: mesa-vulkan-drivers provides the CPU device lavapipe) and "
                   "check VK_ICD_FILENAMES", r != VK_SUCCESS ? " (initialisation failed)" : "");
      return NULL;
    }
  g_autofree VkPhysicalDevice *devs = g_new0 (VkPhysicalDevice, n);
  r = vkEnumeratePhysicalDevices (instance, &n, devs);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE)
    {
      picard_vk_check (r, "vkEnumeratePhysicalDevices", error);
      return NULL;
    }

  GPtrArray *infos = g_ptr_array_new_with_free_func ((GDestroyNotify) picard_vk_device_info_free);
  if (physicals != NULL)
    *physicals = g_ptr_array_new ();
  for (guint32 i = 0; i < n; i++)
    {
      g_ptr_array_add (infos, query_device (instance, devs[i], i));
      if (physicals != NULL)
        g_ptr_array_add (*physicals, devs[i]);
    }
  return infos;
}

GPtrArray *
picard_vk_enumerate_devices (GError **error)
{
  VkInstance instance;

  if (!create_instance (&instance, error))
    return NULL;
  return enumerate (instance, NULL, error);
}

static int
type_rank (VkPhysicalDeviceType type)
{
  switch (type)
    {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
    }
}

static char *
list_names (GPtrArray *devices)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < devices->len; i++)
    {
      const PicardVkDeviceInfo *info = devices->pdata[i];
      g_string_append_printf (s, "%s%u: %s", i ? ", " : "", info->index, info->name);
    }
  return g_string_free (s, FALSE);
}

int
picard_vk_select_device (GPtrArray *devices, GError **error)
{
  const char *want = g_getenv ("PICARD_VK_DEVICE");

  g_return_val_if_fail (devices != NULL, -1);

  if (want != NULL && *want != '\0')
    {
      guint64 index;
      int found = -1;

      if (g_ascii_string_to_unsigned (want, 10, 0, G_MAXUINT, &index, NULL))
        {
          if (index < devices->len)
            found = (int) index;
        }
      else
        {
          g_autofree char *needle = g_utf8_casefold (want, -1);
          for (guint i = 0; i < devices->len && found < 0; i++)
            {
              const PicardVkDeviceInfo *info = devices->pdata[i];
              g_autofree char *name = g_utf8_casefold (info->name, -1);
              if (strstr (name, needle) != NULL)
                found = (int) i;
            }
        }
      if (found < 0)
        {
          g_autofree char *names = list_names (devices);
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                       "PICARD_VK_DEVICE='%s' matches no Vulkan device; give an index or "
                       "part of a name from: %s", want, names);
          return -1;
        }
      if (!((PicardVkDeviceInfo *) devices->pdata[found])->usable)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                       "PICARD_VK_DEVICE='%s' names '%s', which lacks Vulkan 1.1 or a compute "
                       "queue; choose another device", want,
                       ((PicardVkDeviceInfo *) devices->pdata[found])->name);
          return -1;
        }
      return found;
    }

  int best = -1;
  for (guint i = 0; i < devices->len; i++)
    {
      const PicardVkDeviceInfo *info = devices->pdata[i];
      if (!info->usable)
        continue;
      if (best < 0
          || type_rank (info->type)
             < type_rank (((PicardVkDeviceInfo *) devices->pdata[best])->type))
        best = (int) i;
    }
  if (best < 0)
    {
      g_autofree char *names = list_names (devices);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "No usable Vulkan device: none of %s offers Vulkan 1.1 with a compute "
                   "queue; update the driver", names);
    }
  return best;
}

static char *
format_bytes (VkDeviceSize bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

char *
picard_vk_device_info_format (const PicardVkDeviceInfo *info, guint indent)
{
  GString *s = g_string_new (NULL);
  g_autofree char *pad = g_strnfill (indent, ' ');
  g_autofree char *range = format_bytes (info->max_storage_buffer_range);

  g_return_val_if_fail (info != NULL, NULL);

  g_string_append_printf (s, "%sname:            %s\n", pad, info->name);
  g_string_append_printf (s, "%stype:            %s\n", pad,
                          picard_vk_device_type_name (info->type));
  g_string_append_printf (s, "%svendor/device:   0x%04x/0x%04x\n", pad, info->vendor_id,
                          info->device_id);
  g_string_append_printf (s, "%sdriver:          %s%s%s\n", pad,
                          *info->driver_name ? info->driver_name : "(not reported)",
                          *info->driver_info ? ", " : "", info->driver_info);
  g_string_append_printf (s, "%sVulkan API:      %u.%u.%u\n", pad,
                          VK_API_VERSION_MAJOR (info->api_version),
                          VK_API_VERSION_MINOR (info->api_version),
                          VK_API_VERSION_PATCH (info->api_version));
  g_string_append_printf (s, "%susable:          %s\n", pad,
                          info->usable ? "yes" : "no (needs Vulkan 1.1 and a compute queue)");
  g_string_append_printf (s, "%ssubgroup size:   %u\n", pad, info->subgroup_size);
  g_string_append_printf (s, "%sfp16 arithmetic: %s\n", pad, info->shader_float16 ? "yes" : "no");
  g_string_append_printf (s, "%sfp16 storage:    %s\n", pad, info->storage_16bit ? "yes" : "no");
  g_string_append_printf (s, "%sint8 arithmetic: %s\n", pad, info->shader_int8 ? "yes" : "no");
  if (info->cooperative_matrix)
    g_string_append_printf (s, "%scoop. matrix:    yes (fp16 %u x %u x %u)\n", pad,
                            info->coopmat_shape[0], info->coopmat_shape[1],
                            info->coopmat_shape[2]);
  else
    g_string_append_printf (s, "%scoop. matrix:    no\n", pad);
  g_string_append_printf (s, "%sunified memory:  %s\n", pad, info->unified_memory ? "yes" : "no");
  for (guint i = 0; i < info->n_heaps; i++)
    {
      g_autofree char *size = format_bytes (info->heap_size[i]);
      g_string_append_printf (s, "%smemory heap %u:   %s%s\n", pad, i, size,
                              info->heap_device_local[i] ? " (device-local)" : "");
    }
  g_string_append_printf (s, "%smax workgroup:   %u x %u x %u, %u invocations\n", pad,
                          info->max_workgroup_size[0], info->max_workgroup_size[1],
                          info->max_workgroup_size[2], info->max_workgroup_invocations);
  g_string_append_printf (s, "%sshared memory:   %u bytes\n", pad, info->max_shared_memory);
  g_string_append_printf (s, "%spush constants:  %u bytes\n", pad, info->max_push_constants);
  g_string_append_printf (s, "%smax buffer:      %s, %u texels\n", pad, range,
                          info->max_texel_elements);
  return g_string_free (s, FALSE);
}

/* ---- the logical device ---------------------------------------------------------------- */

static gboolean
parse_env (gboolean *disable_fp16, gboolean *disable_coopmat, gboolean *disable_mapped,
           gboolean *force_algo, PicardVkConvAlgo *algo, GError **error)
{
  const char *disable = g_getenv ("PICARD_VK_DISABLE");
  const char *conv = g_getenv ("PICARD_VK_CONV");

  *disable_fp16 = *disable_coopmat = *disable_mapped = FALSE;
  *force_algo = FALSE;
  if (disable != NULL && *disable != '\0')
    {
      g_auto (GStrv) parts = g_strsplit (disable, ",", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (strcmp (parts[i], "fp16") == 0)
            *disable_fp16 = TRUE;
          else if (strcmp (parts[i], "coopmat") == 0)
            *disable_coopmat = TRUE;
          else if (strcmp (parts[i], "mapped") == 0)
            *disable_mapped = TRUE;
          else if (*parts[i] != '\0')
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                           "PICARD_VK_DISABLE: unknown feature '%s' (known: fp16, coopmat, "
                           "mapped)",
                           parts[i]);
              return FALSE;
            }
        }
    }
  if (conv != NULL && *conv != '\0')
    {
      *force_algo = TRUE;
      if (strcmp (conv, "direct") == 0)
        *algo = PICARD_VK_CONV_DIRECT;
      else if (strcmp (conv, "tiled") == 0)
        *algo = PICARD_VK_CONV_TILED;
      else
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "PICARD_VK_CONV: unknown layout '%s' (known: direct, tiled)", conv);
          return FALSE;
        }
    }
  return TRUE;
}

static void
module_free (gpointer data)
{
  /* The device is destroyed after its tables are emptied: see picard_vk_device_free. */
  g_free (data);
}

int
picard_vk_memory_staging_type (const VkPhysicalDeviceMemoryProperties *mem)
{
  int staging = -1, best = -1;

  for (guint32 i = 0; i < mem->memoryTypeCount; i++)
    {
      VkMemoryPropertyFlags f = mem->memoryTypes[i].propertyFlags;
      /* Coherent first, then outside the device (a discrete GPU's host-visible device memory
       * is its small BAR window), then cached (reading back from uncached, write-combined
       * memory is many times slower). */
      int rank = ((f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) ? 4 : 0)
                 + ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) ? 0 : 2)
                 + ((f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) ? 1 : 0);
      if ((f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && rank > best)
        staging = (int) i, best = rank;
    }
  return staging;
}

/* @mapped: buffers may live in host-visible memory, used in place; else (and on discrete
 * GPUs) they are device memory reached through staging copies. */
static gboolean
choose_memory (PicardVkDevice *self, gboolean mapped)
{
  VkPhysicalDeviceMemoryProperties mem;
  const VkMemoryPropertyFlags visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
  const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  int device_local = -1, unified = -1, staging;

  vkGetPhysicalDeviceMemoryProperties (self->physical, &mem);
  for (guint32 i = 0; i < mem.memoryTypeCount; i++)
    {
      VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
      if (device_local < 0 && (f & local))
        device_local = (int) i;
      if (unified < 0 && (f & local) && (f & visible))
        unified = (int) i;
    }
  staging = picard_vk_memory_staging_type (&mem);
  if (staging < 0)
    return FALSE;

  /* On discrete GPUs a host-visible device-local type is the small BAR window: keep it for
   * integrated and CPU devices, where all memory is the same. */
  gboolean uma = self->info->type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU
                 || self->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (uma && unified >= 0 && mapped)
    {
      self->buffer_memory_type = (guint32) unified;
      self->buffers_mapped = TRUE;
      self->buffers_coherent = (mem.memoryTypes[unified].propertyFlags & coherent) != 0;
    }
  else if (device_local >= 0)
    self->buffer_memory_type = (guint32) device_local;
  else
    {
      /* No device-local type at all: host memory mapped directly. */
      self->buffer_memory_type = (guint32) staging;
      self->buffers_mapped = TRUE;
      self->buffers_coherent = (mem.memoryTypes[staging].propertyFlags & coherent) != 0;
    }
  self->staging_memory_type = (guint32) staging;
  return TRUE;
}

static gboolean
create_layouts (PicardVkDevice *self, GError **error)
{
  VkDescriptorSetLayoutBinding bindings[PICARD_VK_MAX_BINDINGS + PICARD_VK_MAX_TEXELS];

  for (guint i = 0; i < G_N_ELEMENTS (bindings); i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = i < PICARD_VK_MAX_BINDINGS ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                                                   : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = G_N_ELEMENTS (bindings),
    .pBindings = bindings,
  };
  if (!picard_vk_check (vkCreateDescriptorSetLayout (self->device, &set_info, NULL,
                                                     &self->set_layout),
                        "vkCreateDescriptorSetLayout", error))
    return FALSE;

  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .offset = 0,
    .size = PICARD_VK_PUSH_CONSTANT_SIZE,
  };
  VkPipelineLayoutCreateInfo layout_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &self->set_layout,
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &push,
  };
  return picard_vk_check (vkCreatePipelineLayout (self->device, &layout_info, NULL,
                                                  &self->pipeline_layout),
                          "vkCreatePipelineLayout", error);
}

PicardVkDevice *
picard_vk_device_new (GError **error)
{
  g_autoptr (PicardVkDevice) self = g_new0 (PicardVkDevice, 1);
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GPtrArray) physicals = NULL;
  gboolean disable_fp16, disable_coopmat, disable_mapped, force_algo;
  PicardVkConvAlgo algo = PICARD_VK_CONV_DIRECT;
  guint32 n_queues = 0;
  int chosen;

  g_mutex_init (&self->lock);
  g_mutex_init (&self->queue_lock);
  self->pool = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->pipelines = g_hash_table_new (g_str_hash, g_str_equal);
  self->modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, module_free);

  if (!parse_env (&disable_fp16, &disable_coopmat, &disable_mapped, &force_algo, &algo, error))
    return NULL;
  if (!create_instance (&self->instance, error))
    return NULL;
  infos = enumerate (self->instance, &physicals, error);
  if (infos == NULL)
    return NULL;
  chosen = picard_vk_select_device (infos, error);
  if (chosen < 0)
    return NULL;
  self->physical = physicals->pdata[chosen];
  self->info = g_ptr_array_steal_index (infos, (guint) chosen);
  g_ptr_array_insert (infos, chosen, NULL);

  vkGetPhysicalDeviceQueueFamilyProperties (self->physical, &n_queues, NULL);
  g_autofree VkQueueFamilyProperties *queues = g_new0 (VkQueueFamilyProperties,
                                                       MAX (n_queues, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (self->physical, &n_queues, queues);
  self->queue_family = G_MAXUINT32;
  /* A compute-only family first: on GPUs it runs beside graphics work. */
  for (guint32 i = 0; i < n_queues; i++)
    if ((queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
        && !(queues[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      {
        self->queue_family = i;
        break;
      }
  for (guint32 i = 0; i < n_queues && self->queue_family == G_MAXUINT32; i++)
    if (queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
      self->queue_family = i;
  if (self->queue_family != G_MAXUINT32)
    self->timestamp_bits = queues[self->queue_family].timestampValidBits;

  if (!picard_vk_device_set_conv_tile (self, g_getenv ("PICARD_VK_CONV_TILE"), error))
    return NULL;
  self->fp16 = PICARD_SHADERS_FP16 && !disable_fp16 && self->info->shader_float16
               && self->info->storage_16bit;
  /* Cooperative matrices multiply fp16 tensors only, in the tiled layout's place. */
  self->coopmat = PICARD_SHADERS_COOPMAT && self->fp16 && !disable_coopmat
                  && self->info->cooperative_matrix;
  self->conv_algo = force_algo ? algo
                    : self->info->type == VK_PHYSICAL_DEVICE_TYPE_CPU ? PICARD_VK_CONV_DIRECT
                    : PICARD_VK_CONV_TILED;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = self->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
    .shaderFloat16 = VK_TRUE,
  };
  VkPhysicalDevice16BitStorageFeatures storage16 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
    .pNext = &f16i8,
    .storageBuffer16BitAccess = VK_TRUE,
  };
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
    .cooperativeMatrix = VK_TRUE,
  };
  VkPhysicalDeviceVulkanMemoryModelFeatures memory_model = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
    .pNext = &coopmat,
    .vulkanMemoryModel = VK_TRUE,
  };
  if (self->coopmat)
    f16i8.pNext = &memory_model;
  const char *extensions[2];
  guint32 n_extensions = 0;
  if (self->fp16 && self->info->api_version < VK_API_VERSION_1_2)
    extensions[n_extensions++] = "VK_KHR_shader_float16_int8";
  if (self->coopmat)
    extensions[n_extensions++] = "VK_NV_cooperative_matrix";
  VkDeviceCreateInfo device_info = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = self->fp16 ? &storage16 : NULL,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue_info,
    .enabledExtensionCount = n_extensions,
    .ppEnabledExtensionNames = extensions,
  };
  if (!picard_vk_check (vkCreateDevice (self->physical, &device_info, NULL, &self->device),
                        "vkCreateDevice", error))
    return NULL;
  vkGetDeviceQueue (self->device, self->queue_family, 0, &self->queue);

  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties (self->physical, &props);
  self->non_coherent_atom = MAX (props.limits.nonCoherentAtomSize, 1);
  if (!choose_memory (self, !disable_mapped))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "The Vulkan device '%s' has no host-visible memory; choose another with "
                   "PICARD_VK_DEVICE", self->info->name);
      return NULL;
    }

  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = self->queue_family,
  };
  if (!picard_vk_check (vkCreateCommandPool (self->device, &pool_info, NULL,
                                             &self->command_pool),
                        "vkCreateCommandPool", error))
    return NULL;
  VkCommandBufferAllocateInfo cmd_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = self->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  if (!picard_vk_check (vkAllocateCommandBuffers (self->device, &cmd_info, &self->transfer_cmd),
                        "vkAllocateCommandBuffers", error))
    return NULL;
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  if (!picard_vk_check (vkCreateFence (self->device, &fence_info, NULL, &self->transfer_fence),
                        "vkCreateFence", error))
    return NULL;
  /* Both RGBA formats are required texel-buffer formats, but a driver may still refuse. */
  const VkFormat formats[2] = { VK_FORMAT_R32G32B32A32_SFLOAT, VK_FORMAT_R16G16B16A16_SFLOAT };
  for (guint i = 0; i < 2; i++)
    {
      VkFormatProperties fp;
      vkGetPhysicalDeviceFormatProperties (self->physical, formats[i], &fp);
      if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
        {
          if (i == 1)
            self->fp16 = FALSE;
          else
            {
              g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                           "The Vulkan device '%s' cannot read RGBA32F texel buffers; choose "
                           "another with PICARD_VK_DEVICE", self->info->name);
              return NULL;
            }
        }
    }
  if (!create_layouts (self, error))
    return NULL;
  self->dummy = picard_vk_buffer_new (self, 64, error);
  if (self->dummy == NULL || !picard_vk_buffer_fill_zero (self->dummy, error))
    return NULL;

  return g_steal_pointer (&self);
}

void
picard_vk_device_free (PicardVkDevice *self)
{
  GHashTableIter iter;
  gpointer key, value;

  if (self == NULL)
    return;
  if (self->device != VK_NULL_HANDLE)
    {
      vkDeviceWaitIdle (self->device);
      if (self->dummy != NULL)
        picard_vk_buffer_destroy (self->dummy);
      if (self->staging != NULL)
        picard_vk_buffer_destroy (self->staging);
      g_hash_table_iter_init (&iter, self->pool);
      while (g_hash_table_iter_next (&iter, &key, &value))
        for (GSList *l = value; l != NULL; l = l->next)
          picard_vk_buffer_destroy (l->data);
      g_hash_table_iter_init (&iter, self->pool);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_slist_free (value);
      g_hash_table_iter_init (&iter, self->pipelines);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          PicardVkPipeline *p = value;
          vkDestroyPipeline (self->device, p->pipeline, NULL);
          g_free (p->key);
          g_free (p);
        }
      g_hash_table_iter_init (&iter, self->modules);
      while (g_hash_table_iter_next (&iter, &key, &value))
        vkDestroyShaderModule (self->device, *(VkShaderModule *) value, NULL);
      if (self->pipeline_layout != VK_NULL_HANDLE)
        vkDestroyPipelineLayout (self->device, self->pipeline_layout, NULL);
      if (self->set_layout != VK_NULL_HANDLE)
        vkDestroyDescriptorSetLayout (self->device, self->set_layout, NULL);
      if (self->transfer_fence != VK_NULL_HANDLE)
        vkDestroyFence (self->device, self->transfer_fence, NULL);
      if (self->command_pool != VK_NULL_HANDLE)
        vkDestroyCommandPool (self->device, self->command_pool, NULL);
      vkDestroyDevice (self->device, NULL);
    }
  /* The instance is shared by the process (see create_instance). */
  g_hash_table_destroy (self->pool);
  g_hash_table_destroy (self->pipelines);
  g_hash_table_destroy (self->modules);
  picard_vk_device_info_free (self->info);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->queue_lock);
  g_free (self);
}

const PicardVkDeviceInfo *
picard_vk_device_get_info (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->info;
}

gboolean
picard_vk_device_has_fp16 (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->fp16;
}

gboolean
picard_vk_device_has_coopmat (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->coopmat;
}

PicardVkConvAlgo
picard_vk_device_get_conv_algo (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, PICARD_VK_CONV_DIRECT);
  return self->conv_algo;
}

void
picard_vk_device_set_conv_algo (PicardVkDevice *self, PicardVkConvAlgo algo)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (algo == PICARD_VK_CONV_DIRECT || algo == PICARD_VK_CONV_TILED);
  self->conv_algo = algo;
}

gboolean
picard_vk_device_conv_tile_fits (PicardVkDevice *self, const guint32 *t)
{
  /* Texels per K column of the weights' shared tile (A_COLUMN in the shader): BM, padded. */
  const guint64 a_column = t[0] + (t[2] >= 8 ? 1 : 8 / t[2]);

  return (guint64) (t[1] / t[4]) * (t[0] / t[3]) <= self->info->max_workgroup_invocations
         && (guint64) t[5] * t[2] * (a_column + t[1]) * 16 <= self->info->max_shared_memory;
}

/* One "BMxBNxBKxTMxTN[xS]" into @t, or FALSE where it is malformed or does not fit. */
static gboolean
parse_conv_tile (PicardVkDevice *self, const char *tile, guint32 t[PICARD_VK_CONV_TILE_FIELDS])
{
  g_auto (GStrv) parts = g_strsplit (tile, "x", -1);
  guint n = g_strv_length (parts);
  gboolean ok = n == 5 || n == 6;

  t[5] = 1;
  for (guint i = 0; i < n && ok; i++)
    {
      guint64 v;
      ok = g_ascii_string_to_unsigned (parts[i], 10, 1, i == 5 ? 2 : 1024, &v, NULL);
      t[i] = (guint32) v;
    }
  return ok && t[3] % 4 == 0 && t[4] % 4 == 0 && t[0] % t[3] == 0 && t[1] % t[4] == 0
         && picard_vk_device_conv_tile_fits (self, t);
}

gboolean
picard_vk_device_set_conv_tile (PicardVkDevice *self, const char *tile, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  guint32 tiles[PICARD_VK_CONV_TILES_MAX][PICARD_VK_CONV_TILE_FIELDS];
  g_auto (GStrv) list = g_strsplit (tile != NULL ? tile : "", ",", -1);
  guint n = g_strv_length (list);

  if (n > PICARD_VK_CONV_TILES_MAX)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "convolution tiles '%s': at most %d tiles, one per class of layer", tile,
                   PICARD_VK_CONV_TILES_MAX);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      if (!parse_conv_tile (self, list[i], tiles[i]))
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "convolution tile '%s' does not fit this device: give "
                       "BMxBNxBKxTMxTN[xS] with TM and TN multiples of 4 dividing BM and BN, S "
                       "(shared-memory stages) 1 or 2, at most %u invocations (BM/TM x BN/TN) "
                       "and %u bytes of shared memory (about 16 x S x BK x (BM + BN))",
                       list[i], self->info->max_workgroup_invocations,
                       self->info->max_shared_memory);
          return FALSE;
        }
      if (i > 0 && tiles[i][0] <= tiles[i - 1][0])
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "convolution tiles '%s': list them by increasing BM (a layer takes "
                       "the first whose BM covers its output channels)", tile);
          return FALSE;
        }
    }
  memcpy (self->conv_tiles, tiles, n * sizeof *tiles);
  self->n_conv_tiles = n;
  return TRUE;
}

char *
picard_vk_device_describe_choices (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  const guint32 *shape = self->info->coopmat_shape;
  g_autofree char *coopmat = self->coopmat
    ? g_strdup_printf ("on for fp16 tensors (%u x %u x %u)", shape[0], shape[1], shape[2])
    : g_strdup (!PICARD_SHADERS_COOPMAT ? "off (glslc lacks GL_NV_cooperative_matrix)"
                : !self->info->cooperative_matrix ? "off (the device lacks it)" : "off");
  return g_strdup_printf ("convolution %s, fp16 %s, cooperative matrix %s, %s memory",
                          self->conv_algo == PICARD_VK_CONV_DIRECT ? "direct" : "tiled",
                          self->fp16 ? "available"
                          : !PICARD_SHADERS_FP16 ? "off (glslc could not build it)"
                          : "off",
                          coopmat, self->buffers_mapped ? "mapped" : "staged");
}

/* ---- pipelines ----------------------------------------------------------------------- */

static VkShaderModule *
get_module (PicardVkDevice *self, const char *shader, GError **error)
{
  VkShaderModule *module = g_hash_table_lookup (self->modules, shader);
  const PicardShaderBlob *blob;

  if (module != NULL)
    return module;
  blob = picard_shaders_find (shader);
  if (blob == NULL)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_FOUND,
                   "No shader '%s' is built into this program", shader);
      return NULL;
    }
  VkShaderModuleCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = blob->size,
    .pCode = blob->code,
  };
  module = g_new0 (VkShaderModule, 1);
  if (!picard_vk_check (vkCreateShaderModule (self->device, &info, NULL, module),
                        "vkCreateShaderModule", error))
    {
      g_free (module);
      return NULL;
    }
  g_hash_table_insert (self->modules, g_strdup (shader), module);
  return module;
}

PicardVkPipeline *
picard_vk_pipeline_get (PicardVkDevice *self, const char *shader, const guint32 *spec,
                        guint n_spec, GError **error)
{
  PicardVkPipeline *pipeline;
  GString *key;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (shader != NULL, NULL);
  g_return_val_if_fail (n_spec <= PICARD_VK_MAX_SPEC_CONSTANTS, NULL);
  g_return_val_if_fail (n_spec == 0 || spec != NULL, NULL);

  key = g_string_new (shader);
  for (guint i = 0; i < n_spec; i++)
    g_string_append_printf (key, ":%u", spec[i]);

  g_mutex_lock (&self->lock);
  pipeline = g_hash_table_lookup (self->pipelines, key->str);
  if (pipeline != NULL)
    goto out;

  VkShaderModule *module = get_module (self, shader, error);
  if (module == NULL)
    goto out;
  VkSpecializationMapEntry entries[PICARD_VK_MAX_SPEC_CONSTANTS];
  for (guint i = 0; i < n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) {
      .constantID = i, .offset = i * sizeof (guint32), .size = sizeof (guint32),
    };
  VkSpecializationInfo spec_info = {
    .mapEntryCount = n_spec,
    .pMapEntries = entries,
    .dataSize = n_spec * sizeof (guint32),
    .pData = spec,
  };
  VkComputePipelineCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = *module,
      .pName = "main",
      .pSpecializationInfo = n_spec > 0 ? &spec_info : NULL,
    },
    .layout = self->pipeline_layout,
  };
  VkPipeline vk_pipeline;
  if (!picard_vk_check (vkCreateComputePipelines (self->device, VK_NULL_HANDLE, 1, &info, NULL,
                                                  &vk_pipeline),
                        "vkCreateComputePipelines", error))
    goto out;
  pipeline = g_new0 (PicardVkPipeline, 1);
  pipeline->key = g_strdup (key->str);
  pipeline->pipeline = vk_pipeline;
  g_hash_table_insert (self->pipelines, pipeline->key, pipeline);

out:
  g_mutex_unlock (&self->lock);
  g_string_free (key, TRUE);
  return pipeline;
}

guint
picard_vk_device_get_pipeline_count (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return g_hash_table_size (self->pipelines);
}

gboolean
picard_vk_device_submit_and_wait (PicardVkDevice *self, VkCommandBuffer cmd, VkFence fence,
                                  GError **error)
{
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &cmd,
  };
  g_mutex_lock (&self->queue_lock);
  VkResult submitted = vkQueueSubmit (self->queue, 1, &submit, fence);
  g_mutex_unlock (&self->queue_lock);
  if (!picard_vk_check (submitted, "vkQueueSubmit", error))
    return FALSE;
  /* No timeout: a large batch on a CPU device legitimately takes minutes, and a hung GPU
   * comes back as VK_ERROR_DEVICE_LOST from the driver's watchdog. */
  VkResult r = vkWaitForFences (self->device, 1, &fence, VK_TRUE, G_MAXUINT64);
  if (!picard_vk_check (r, "vkWaitForFences", error))
    return FALSE;
  return picard_vk_check (vkResetFences (self->device, 1, &fence), "vkResetFences", error);
}
