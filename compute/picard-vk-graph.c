/* picard-vk-graph.c: dispatch lists recorded once into a command buffer and replayed.
 * Everything a run needs (descriptor sets, the command buffer, the fence) is made when the
 * graph is recorded, so replaying it allocates nothing. */
#include "picard-vk-private.h"

#include <string.h>

#include "picard-error.h"

typedef struct {
  VkPipeline pipeline;
  const char *key;  /* the pipeline's (shader and constants), for profiles */
  VkBuffer buffers[PICARD_VK_MAX_BINDINGS];
  VkBufferView views[PICARD_VK_MAX_TEXELS];
  guint8 push[PICARD_VK_PUSH_CONSTANT_SIZE];
  guint32 push_size;
  guint32 groups[3];
} Dispatch;

struct _PicardVkGraph {
  PicardVkDevice *device;
  GArray *dispatches;
  VkDescriptorPool descriptor_pool;
  VkCommandPool command_pool;
  VkCommandBuffer cmd;
  VkFence fence;
  /* Before the first dispatch and after the last; when profiling, after every dispatch. */
  VkQueryPool timestamps;
  guint n_timestamps;
  gboolean recorded;
  gboolean ran;
  /* Device time per pipeline key (ProfileEntry), summed over runs; printed when freed where
   * PICARD_VK_PROFILE asked for it. */
  gboolean profiling, print_profile;
  GHashTable *profile;
  guint profiled_runs;
};

typedef struct {
  const char *key;
  double seconds;
  guint dispatches;
} ProfileEntry;

/* Destroys what recording made, so that the graph can be recorded afresh. */
static void
release_recording (PicardVkGraph *self)
{
  VkDevice dev = self->device->device;
  if (self->timestamps != VK_NULL_HANDLE)
    vkDestroyQueryPool (dev, self->timestamps, NULL);
  if (self->fence != VK_NULL_HANDLE)
    vkDestroyFence (dev, self->fence, NULL);
  if (self->command_pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (dev, self->command_pool, NULL);
  if (self->descriptor_pool != VK_NULL_HANDLE)
    vkDestroyDescriptorPool (dev, self->descriptor_pool, NULL);
  self->timestamps = VK_NULL_HANDLE;
  self->fence = VK_NULL_HANDLE;
  self->command_pool = VK_NULL_HANDLE;
  self->descriptor_pool = VK_NULL_HANDLE;
  self->cmd = VK_NULL_HANDLE;
}

PicardVkGraph *
picard_vk_graph_new (PicardVkDevice *device)
{
  g_return_val_if_fail (device != NULL, NULL);

  PicardVkGraph *self = g_new0 (PicardVkGraph, 1);
  const char *profile = g_getenv ("PICARD_VK_PROFILE");

  self->device = device;
  self->dispatches = g_array_new (FALSE, TRUE, sizeof (Dispatch));
  self->profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  self->profiling = self->print_profile = profile != NULL && *profile != '\0'
                                          && strcmp (profile, "0") != 0;
  return self;
}

void
picard_vk_graph_free (PicardVkGraph *self)
{
  if (self == NULL)
    return;
  if (self->print_profile)
    {
      g_autofree char *profile = picard_vk_graph_dup_profile (self);
      if (profile != NULL)
        g_printerr ("%s", profile);
    }
  release_recording (self);
  g_array_free (self->dispatches, TRUE);
  g_hash_table_unref (self->profile);
  g_free (self);
}

void
picard_vk_graph_set_profiling (PicardVkGraph *self, gboolean profiling)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (!self->recorded);
  self->profiling = profiling;
}

PicardVkDevice *
picard_vk_graph_get_device (PicardVkGraph *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->device;
}

guint
picard_vk_graph_get_n_dispatches (PicardVkGraph *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->dispatches->len;
}

gboolean
picard_vk_graph_dispatch (PicardVkGraph *self, PicardVkPipeline *pipeline,
                          const PicardVkBindings *bindings, const void *push,
                          gsize push_size, guint32 groups_x, guint32 groups_y,
                          guint32 groups_z, GError **error)
{
  Dispatch d = { 0 };
  PicardVkDevice *device;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (pipeline != NULL, FALSE);
  g_return_val_if_fail (bindings != NULL, FALSE);
  g_return_val_if_fail (bindings->texel_dtype == PICARD_VK_DTYPE_F32
                        || bindings->texel_dtype == PICARD_VK_DTYPE_F16, FALSE);
  g_return_val_if_fail (push_size <= PICARD_VK_PUSH_CONSTANT_SIZE && push_size % 4 == 0, FALSE);
  g_return_val_if_fail (push != NULL || push_size == 0, FALSE);

  if (self->recorded)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A graph cannot grow after its first run; build a new graph");
      return FALSE;
    }
  const guint32 *max = self->device->info->max_workgroup_count;
  if (groups_x > max[0] || groups_y > max[1] || groups_z > max[2])
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "A dispatch of %u x %u x %u workgroups exceeds the device's limit of "
                   "%u x %u x %u: use a smaller batch or image",
                   groups_x, groups_y, groups_z, max[0], max[1], max[2]);
      return FALSE;
    }
  if (groups_x == 0 || groups_y == 0 || groups_z == 0)
    return TRUE; /* nothing to compute */

  device = self->device;
  d.pipeline = pipeline->pipeline;
  d.key = pipeline->key;
  for (guint i = 0; i < PICARD_VK_MAX_BINDINGS + PICARD_VK_MAX_TEXELS; i++)
    {
      gboolean texel = i >= PICARD_VK_MAX_BINDINGS;
      PicardVkBuffer *b = texel ? bindings->texel[i - PICARD_VK_MAX_BINDINGS]
                                : bindings->storage[i];
      if (b != NULL && b->device != device)
        {
          g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                       "A buffer of another Vulkan device was given to a dispatch");
          return FALSE;
        }
      if (b == NULL)
        b = device->dummy;
      if (!texel)
        d.buffers[i] = b->buffer;
      else
        {
          g_mutex_lock (&device->lock);
          VkBufferView view = picard_vk_buffer_get_view (b, bindings->texel_dtype, error);
          g_mutex_unlock (&device->lock);
          if (view == VK_NULL_HANDLE)
            return FALSE;
          d.views[i - PICARD_VK_MAX_BINDINGS] = view;
        }
    }
  if (push_size > 0)
    memcpy (d.push, push, push_size);
  d.push_size = (guint32) push_size;
  d.groups[0] = groups_x;
  d.groups[1] = groups_y;
  d.groups[2] = groups_z;
  g_array_append_val (self->dispatches, d);
  return TRUE;
}

static void
compute_barrier (VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src,
                 VkPipelineStageFlags dst_stage, VkAccessFlags dst)
{
  VkMemoryBarrier b = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = src,
    .dstAccessMask = dst,
  };
  vkCmdPipelineBarrier (cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

static gboolean
record (PicardVkGraph *self, GError **error)
{
  PicardVkDevice *device = self->device;
  VkDevice dev = device->device;
  guint n = MAX (self->dispatches->len, 1);

  VkDescriptorPoolSize sizes[2] = {
    { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = n * PICARD_VK_MAX_BINDINGS },
    { .type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .descriptorCount = n * PICARD_VK_MAX_TEXELS },
  };
  VkDescriptorPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = n,
    .poolSizeCount = 2,
    .pPoolSizes = sizes,
  };
  if (!picard_vk_check (vkCreateDescriptorPool (dev, &pool_info, NULL, &self->descriptor_pool),
                        "vkCreateDescriptorPool", error))
    return FALSE;
  g_autofree VkDescriptorSetLayout *layouts = g_new (VkDescriptorSetLayout, n);
  g_autofree VkDescriptorSet *sets = g_new0 (VkDescriptorSet, n);
  for (guint i = 0; i < n; i++)
    layouts[i] = device->set_layout;
  VkDescriptorSetAllocateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorPool = self->descriptor_pool,
    .descriptorSetCount = n,
    .pSetLayouts = layouts,
  };
  if (!picard_vk_check (vkAllocateDescriptorSets (dev, &set_info, sets),
                        "vkAllocateDescriptorSets", error))
    return FALSE;

  for (guint i = 0; i < self->dispatches->len; i++)
    {
      const Dispatch *d = &g_array_index (self->dispatches, Dispatch, i);
      VkDescriptorBufferInfo infos[PICARD_VK_MAX_BINDINGS];
      VkWriteDescriptorSet writes[PICARD_VK_MAX_BINDINGS + PICARD_VK_MAX_TEXELS];
      for (guint b = 0; b < PICARD_VK_MAX_BINDINGS + PICARD_VK_MAX_TEXELS; b++)
        {
          writes[b] = (VkWriteDescriptorSet) {
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = sets[i],
            .dstBinding = b,
            .descriptorCount = 1,
          };
          if (b < PICARD_VK_MAX_BINDINGS)
            {
              infos[b] = (VkDescriptorBufferInfo) {
                .buffer = d->buffers[b], .offset = 0, .range = VK_WHOLE_SIZE,
              };
              writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
              writes[b].pBufferInfo = &infos[b];
            }
          else
            {
              writes[b].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
              writes[b].pTexelBufferView = &d->views[b - PICARD_VK_MAX_BINDINGS];
            }
        }
      vkUpdateDescriptorSets (dev, G_N_ELEMENTS (writes), writes, 0, NULL);
    }

  VkCommandPoolCreateInfo cmd_pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .queueFamilyIndex = device->queue_family,
  };
  if (!picard_vk_check (vkCreateCommandPool (dev, &cmd_pool_info, NULL, &self->command_pool),
                        "vkCreateCommandPool", error))
    return FALSE;
  VkCommandBufferAllocateInfo cmd_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = self->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  if (!picard_vk_check (vkAllocateCommandBuffers (dev, &cmd_info, &self->cmd),
                        "vkAllocateCommandBuffers", error))
    return FALSE;
  VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  if (!picard_vk_check (vkCreateFence (dev, &fence_info, NULL, &self->fence), "vkCreateFence",
                        error))
    return FALSE;
  if (device->timestamp_bits > 0)
    {
      self->n_timestamps = self->profiling ? self->dispatches->len + 1 : 2;
      VkQueryPoolCreateInfo query_info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = self->n_timestamps,
      };
      if (!picard_vk_check (vkCreateQueryPool (dev, &query_info, NULL, &self->timestamps),
                            "vkCreateQueryPool", error))
        return FALSE;
    }

  VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
  if (!picard_vk_check (vkBeginCommandBuffer (self->cmd, &begin), "vkBeginCommandBuffer", error))
    return FALSE;
  /* Uploads and earlier runs come before this run's first read. */
  compute_barrier (self->cmd,
                   VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT
                   | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_HOST_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT
                   | VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  if (self->timestamps != VK_NULL_HANDLE)
    {
      vkCmdResetQueryPool (self->cmd, self->timestamps, 0, self->n_timestamps);
      vkCmdWriteTimestamp (self->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, self->timestamps, 0);
    }
  VkPipeline bound = VK_NULL_HANDLE;
  for (guint i = 0; i < self->dispatches->len; i++)
    {
      const Dispatch *d = &g_array_index (self->dispatches, Dispatch, i);
      if (d->pipeline != bound)
        {
          vkCmdBindPipeline (self->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline);
          bound = d->pipeline;
        }
      vkCmdBindDescriptorSets (self->cmd, VK_PIPELINE_BIND_POINT_COMPUTE,
                               device->pipeline_layout, 0, 1, &sets[i], 0, NULL);
      if (d->push_size > 0)
        vkCmdPushConstants (self->cmd, device->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                            d->push_size, d->push);
      vkCmdDispatch (self->cmd, d->groups[0], d->groups[1], d->groups[2]);
      /* Each op reads what the previous ones wrote. */
      compute_barrier (self->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
      if (self->timestamps != VK_NULL_HANDLE && self->profiling)
        vkCmdWriteTimestamp (self->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, self->timestamps,
                             i + 1);
    }
  if (self->timestamps != VK_NULL_HANDLE && !self->profiling)
    vkCmdWriteTimestamp (self->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, self->timestamps, 1);
  compute_barrier (self->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
  if (!picard_vk_check (vkEndCommandBuffer (self->cmd), "vkEndCommandBuffer", error))
    return FALSE;
  self->recorded = TRUE;
  return TRUE;
}

/* Device ticks between timestamps @from and @to of the last run, or FALSE. */
static gboolean
elapsed_seconds (PicardVkGraph *self, guint from, guint to, double *seconds)
{
  guint64 a, b;

  if (vkGetQueryPoolResults (self->device->device, self->timestamps, from, 1, sizeof a, &a,
                             sizeof a, VK_QUERY_RESULT_64_BIT) != VK_SUCCESS
      || vkGetQueryPoolResults (self->device->device, self->timestamps, to, 1, sizeof b, &b,
                                sizeof b, VK_QUERY_RESULT_64_BIT) != VK_SUCCESS)
    return FALSE;
  /* Only the low timestampValidBits count, and they may have wrapped between the two. */
  guint bits = self->device->timestamp_bits;
  guint64 mask = bits >= 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << bits) - 1;
  *seconds = ((b - a) & mask) * (double) self->device->info->timestamp_period * 1e-9;
  return TRUE;
}

static void
add_to_profile (PicardVkGraph *self)
{
  for (guint i = 0; i < self->dispatches->len; i++)
    {
      const Dispatch *d = &g_array_index (self->dispatches, Dispatch, i);
      ProfileEntry *entry = g_hash_table_lookup (self->profile, d->key);
      double seconds;

      if (!elapsed_seconds (self, i, i + 1, &seconds))
        return;
      if (entry == NULL)
        {
          entry = g_new0 (ProfileEntry, 1);
          entry->key = d->key;
          g_hash_table_insert (self->profile, (gpointer) d->key, entry);
        }
      entry->seconds += seconds;
      entry->dispatches++;
    }
  self->profiled_runs++;
}

static int
by_seconds_descending (gconstpointer a, gconstpointer b)
{
  const ProfileEntry *ea = *(ProfileEntry *const *) a, *eb = *(ProfileEntry *const *) b;

  return (ea->seconds < eb->seconds) - (ea->seconds > eb->seconds);
}

char *
picard_vk_graph_dup_profile (PicardVkGraph *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->profiled_runs == 0)
    return NULL;
  g_autoptr (GPtrArray) entries = g_ptr_array_new ();
  GString *text = g_string_new (NULL);
  GHashTableIter iter;
  gpointer entry;
  double total = 0.0;

  g_hash_table_iter_init (&iter, self->profile);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    g_ptr_array_add (entries, entry);

  g_ptr_array_sort (entries, by_seconds_descending);
  for (guint i = 0; i < entries->len; i++)
    total += ((ProfileEntry *) g_ptr_array_index (entries, i))->seconds;
  g_string_append_printf (text, "Vulkan profile: %u dispatches, %u run%s, %.3f ms of device "
                          "time per run\n", self->dispatches->len, self->profiled_runs,
                          self->profiled_runs == 1 ? "" : "s", total * 1e3 / self->profiled_runs);
  for (guint i = 0; i < entries->len; i++)
    {
      const ProfileEntry *e = g_ptr_array_index (entries, i);
      guint dispatches = e->dispatches / self->profiled_runs;

      g_string_append_printf (text, "  %9.3f ms %5.1f %% %5u %-10s  %s\n",
                              e->seconds * 1e3 / self->profiled_runs,
                              total > 0.0 ? 100.0 * e->seconds / total : 0.0, dispatches,
                              dispatches == 1 ? "dispatch" : "dispatches", e->key);
    }
  return g_string_free (text, FALSE);
}

gboolean
picard_vk_graph_run (PicardVkGraph *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->recorded && !record (self, error))
    {
      /* Leave the graph as it was so a retry records afresh. */
      release_recording (self);
      return FALSE;
    }
  self->ran = picard_vk_device_submit_and_wait (self->device, self->cmd, self->fence, error);
  if (self->ran && self->timestamps != VK_NULL_HANDLE && self->profiling)
    add_to_profile (self);
  return self->ran;
}

gboolean
picard_vk_graph_get_device_seconds (PicardVkGraph *self, double *seconds)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (seconds != NULL, FALSE);

  return self->ran && self->timestamps != VK_NULL_HANDLE
         && elapsed_seconds (self, 0, self->n_timestamps - 1, seconds);
}
