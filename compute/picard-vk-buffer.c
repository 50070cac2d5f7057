/* picard-vk-buffer.c: storage buffers from a per-device pool, and host transfers. */
#include "picard-vk-private.h"

#include <string.h>

#include "picard-error.h"

/* Size classes: 4 KiB, then eight steps per power of two, so a recycled buffer wastes at
 * most an eighth of its size and buffers of similar sizes share a class. */
static gsize
size_class (gsize size)
{
  gsize p = 4096;

  if (size <= p)
    return p;
  while (p <= size / 2)
    p *= 2;
  gsize step = p / 8;
  return (size + step - 1) / step * step;
}

static PicardVkBuffer *
create_buffer (PicardVkDevice *self, gsize capacity, guint32 memory_type, gboolean map,
               GError **error)
{
  PicardVkBuffer *buffer = g_new0 (PicardVkBuffer, 1);
  VkMemoryRequirements req;

  buffer->device = self;
  buffer->capacity = capacity;
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = capacity,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT
             | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  if (!picard_vk_check (vkCreateBuffer (self->device, &info, NULL, &buffer->buffer),
                        "vkCreateBuffer", error))
    {
      g_free (buffer);
      return NULL;
    }
  vkGetBufferMemoryRequirements (self->device, buffer->buffer, &req);
  if (!(req.memoryTypeBits & (1u << memory_type)))
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_NOT_SUPPORTED,
                   "The Vulkan device '%s' cannot place storage buffers in memory type %u",
                   self->info->name, memory_type);
      vkDestroyBuffer (self->device, buffer->buffer, NULL);
      g_free (buffer);
      return NULL;
    }
  VkMemoryAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = memory_type,
  };
  if (!picard_vk_check (vkAllocateMemory (self->device, &alloc, NULL, &buffer->memory),
                        "vkAllocateMemory", error))
    {
      vkDestroyBuffer (self->device, buffer->buffer, NULL);
      g_free (buffer);
      return NULL;
    }
  if (!picard_vk_check (vkBindBufferMemory (self->device, buffer->buffer, buffer->memory, 0),
                        "vkBindBufferMemory", error)
      || (map && !picard_vk_check (vkMapMemory (self->device, buffer->memory, 0, VK_WHOLE_SIZE,
                                                0, &buffer->mapped),
                                   "vkMapMemory", error)))
    {
      vkDestroyBuffer (self->device, buffer->buffer, NULL);
      vkFreeMemory (self->device, buffer->memory, NULL);
      g_free (buffer);
      return NULL;
    }
  return buffer;
}

PicardVkBuffer *
picard_vk_buffer_new (PicardVkDevice *self, gsize size, GError **error)
{
  PicardVkBuffer *buffer = NULL;
  gsize limit, capacity;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (size > 0, NULL);

  /* Rounded down so that every size class stays a whole number of RGBA texels. */
  limit = (gsize) MIN (self->info->max_storage_buffer_range, (VkDeviceSize) G_MAXSIZE) & ~(gsize) 255;
  if (size > limit)
    {
      g_autofree char *want = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *max = g_format_size_full (limit, G_FORMAT_SIZE_IEC_UNITS);
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "A %s buffer exceeds the %s that one storage buffer of '%s' may hold: "
                   "use a smaller batch", want, max, self->info->name);
      return NULL;
    }
  /* Whole buffers are bound, so the class must stay within the binding limit too. */
  capacity = MAX (size, MIN (size_class (size), limit));

  g_mutex_lock (&self->lock);
  GSList *parked = g_hash_table_lookup (self->pool, GSIZE_TO_POINTER (capacity));
  if (parked != NULL)
    {
      buffer = parked->data;
      g_hash_table_insert (self->pool, GSIZE_TO_POINTER (capacity),
                           g_slist_delete_link (parked, parked));
      self->pool_parked--;
    }
  g_mutex_unlock (&self->lock);

  if (buffer == NULL)
    {
      buffer = create_buffer (self, capacity, self->buffer_memory_type, self->buffers_mapped,
                              error);
      if (buffer == NULL)
        return NULL;
      g_mutex_lock (&self->lock);
      self->pool_created++;
      g_mutex_unlock (&self->lock);
    }
  buffer->size = size;
  return buffer;
}

VkBufferView
picard_vk_buffer_get_view (PicardVkBuffer *buffer, PicardVkDtype dtype, GError **error)
{
  PicardVkDevice *self = buffer->device;
  gsize texel = dtype == PICARD_VK_DTYPE_F16 ? 8 : 16;

  if (buffer->views[dtype] != VK_NULL_HANDLE)
    return buffer->views[dtype];
  if (buffer->capacity / texel > self->info->max_texel_elements)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_TOO_LARGE,
                   "A %" G_GSIZE_FORMAT "-byte tensor exceeds the %u texels '%s' can read "
                   "through a texel buffer: use a smaller batch", buffer->size,
                   self->info->max_texel_elements, self->info->name);
      return VK_NULL_HANDLE;
    }
  VkBufferViewCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
    .buffer = buffer->buffer,
    .format = dtype == PICARD_VK_DTYPE_F16 ? VK_FORMAT_R16G16B16A16_SFLOAT
                                           : VK_FORMAT_R32G32B32A32_SFLOAT,
    .offset = 0,
    .range = VK_WHOLE_SIZE,
  };
  if (!picard_vk_check (vkCreateBufferView (self->device, &info, NULL, &buffer->views[dtype]),
                        "vkCreateBufferView", error))
    return VK_NULL_HANDLE;
  return buffer->views[dtype];
}

void
picard_vk_buffer_free (PicardVkBuffer *buffer)
{
  if (buffer == NULL)
    return;
  PicardVkDevice *self = buffer->device;
  g_mutex_lock (&self->lock);
  GSList *parked = g_hash_table_lookup (self->pool, GSIZE_TO_POINTER (buffer->capacity));
  g_hash_table_insert (self->pool, GSIZE_TO_POINTER (buffer->capacity),
                       g_slist_prepend (parked, buffer));
  self->pool_parked++;
  g_mutex_unlock (&self->lock);
}

gsize
picard_vk_buffer_get_size (PicardVkBuffer *buffer)
{
  g_return_val_if_fail (buffer != NULL, 0);
  return buffer->size;
}

guint
picard_vk_device_get_pool_created (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->pool_created;
}

guint
picard_vk_device_get_pool_parked (PicardVkDevice *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->pool_parked;
}

/* Destroys a buffer outright (the pool's own trimming and device teardown). */
void
picard_vk_buffer_destroy (PicardVkBuffer *buffer)
{
  VkDevice dev = buffer->device->device;
  for (guint i = 0; i < G_N_ELEMENTS (buffer->views); i++)
    if (buffer->views[i] != VK_NULL_HANDLE)
      vkDestroyBufferView (dev, buffer->views[i], NULL);
  if (buffer->mapped != NULL)
    vkUnmapMemory (dev, buffer->memory);
  vkDestroyBuffer (dev, buffer->buffer, NULL);
  vkFreeMemory (dev, buffer->memory, NULL);
  g_free (buffer);
}

static gboolean
ensure_staging (PicardVkDevice *self, gsize size, GError **error)
{
  if (self->staging != NULL && self->staging->capacity >= size)
    return TRUE;
  g_clear_pointer (&self->staging, picard_vk_buffer_destroy);
  self->staging = create_buffer (self, size_class (size), self->staging_memory_type, TRUE, error);
  return self->staging != NULL;
}

static void
barrier (VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src,
         VkPipelineStageFlags dst_stage, VkAccessFlags dst)
{
  VkMemoryBarrier b = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = src,
    .dstAccessMask = dst,
  };
  vkCmdPipelineBarrier (cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

/* Runs one transfer on the device's reusable command buffer: copy (src -> dst) or, with
 * @src NULL, a zero fill of @dst. */
static gboolean
transfer (PicardVkDevice *self, VkBuffer src, gsize src_offset, VkBuffer dst, gsize dst_offset,
          gsize size, GError **error)
{
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  if (!picard_vk_check (vkResetCommandBuffer (self->transfer_cmd, 0), "vkResetCommandBuffer",
                        error)
      || !picard_vk_check (vkBeginCommandBuffer (self->transfer_cmd, &begin),
                           "vkBeginCommandBuffer", error))
    return FALSE;
  /* Earlier compute writes must land before the copy reads or overwrites them. */
  barrier (self->transfer_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
           VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
           VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
  if (src == VK_NULL_HANDLE)
    vkCmdFillBuffer (self->transfer_cmd, dst, 0, VK_WHOLE_SIZE, 0);
  else
    {
      VkBufferCopy region = { .srcOffset = src_offset, .dstOffset = dst_offset, .size = size };
      vkCmdCopyBuffer (self->transfer_cmd, src, dst, 1, &region);
    }
  barrier (self->transfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
           VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
           VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT);
  if (!picard_vk_check (vkEndCommandBuffer (self->transfer_cmd), "vkEndCommandBuffer", error))
    return FALSE;
  return picard_vk_device_submit_and_wait (self, self->transfer_cmd, self->transfer_fence, error);
}

static gboolean
check_range (PicardVkBuffer *buffer, gsize offset, gsize size, GError **error)
{
  if (offset > buffer->size || size > buffer->size - offset)
    {
      g_set_error (error, PICARD_ERROR, PICARD_ERROR_INVALID_ARGUMENT,
                   "A transfer of %" G_GSIZE_FORMAT " bytes at offset %" G_GSIZE_FORMAT
                   " does not fit a %" G_GSIZE_FORMAT "-byte buffer", size, offset, buffer->size);
      return FALSE;
    }
  return TRUE;
}

void *
picard_vk_buffer_begin_write (PicardVkBuffer *buffer, gsize size, GError **error)
{
  PicardVkDevice *self = buffer->device;

  if (!check_range (buffer, 0, size, error))
    return NULL;
  if (buffer->mapped != NULL)
    return buffer->mapped;
  g_mutex_lock (&self->lock);
  if (!ensure_staging (self, MAX (size, 1), error))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  return self->staging->mapped;
}

gboolean
picard_vk_buffer_end_write (PicardVkBuffer *buffer, gsize offset, gsize size, GError **error)
{
  PicardVkDevice *self = buffer->device;

  if (buffer->mapped != NULL)
    {
      if (self->buffers_coherent)
        return TRUE;
      VkMappedMemoryRange range = {
        .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
        .memory = buffer->memory,
        .size = VK_WHOLE_SIZE,
      };
      return picard_vk_check (vkFlushMappedMemoryRanges (self->device, 1, &range),
                              "vkFlushMappedMemoryRanges", error);
    }
  gboolean ok = size == 0
                || transfer (self, self->staging->buffer, offset, buffer->buffer, offset, size,
                             error);
  g_mutex_unlock (&self->lock);
  return ok;
}

const void *
picard_vk_buffer_begin_read (PicardVkBuffer *buffer, gsize size, GError **error)
{
  PicardVkDevice *self = buffer->device;

  if (!check_range (buffer, 0, size, error))
    return NULL;
  if (buffer->mapped != NULL)
    {
      if (!self->buffers_coherent)
        {
          VkMappedMemoryRange range = {
            .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
            .memory = buffer->memory,
            .size = VK_WHOLE_SIZE,
          };
          if (!picard_vk_check (vkInvalidateMappedMemoryRanges (self->device, 1, &range),
                                "vkInvalidateMappedMemoryRanges", error))
            return NULL;
        }
      return buffer->mapped;
    }
  g_mutex_lock (&self->lock);
  if (!ensure_staging (self, MAX (size, 1), error)
      || (size > 0 && !transfer (self, buffer->buffer, 0, self->staging->buffer, 0, size, error)))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  return self->staging->mapped;
}

void
picard_vk_buffer_end_read (PicardVkBuffer *buffer)
{
  if (buffer->mapped == NULL)
    g_mutex_unlock (&buffer->device->lock);
}

gboolean
picard_vk_buffer_upload (PicardVkBuffer *buffer, gsize offset, const void *data, gsize size,
                         GError **error)
{
  g_return_val_if_fail (buffer != NULL, FALSE);
  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  if (!check_range (buffer, offset, size, error))
    return FALSE;
  char *dst = picard_vk_buffer_begin_write (buffer, offset + size, error);
  if (dst == NULL)
    return FALSE;
  memcpy (dst + offset, data, size);
  return picard_vk_buffer_end_write (buffer, offset, size, error);
}

gboolean
picard_vk_buffer_download (PicardVkBuffer *buffer, gsize offset, void *data, gsize size,
                           GError **error)
{
  g_return_val_if_fail (buffer != NULL, FALSE);
  g_return_val_if_fail (data != NULL || size == 0, FALSE);

  if (!check_range (buffer, offset, size, error))
    return FALSE;
  const char *src = picard_vk_buffer_begin_read (buffer, offset + size, error);
  if (src == NULL)
    return FALSE;
  memcpy (data, src + offset, size);
  picard_vk_buffer_end_read (buffer);
  return TRUE;
}

gboolean
picard_vk_buffer_fill_zero (PicardVkBuffer *buffer, GError **error)
{
  g_return_val_if_fail (buffer != NULL, FALSE);

  PicardVkDevice *self = buffer->device;
  if (buffer->mapped != NULL)
    {
      memset (buffer->mapped, 0, buffer->capacity);
      if (!self->buffers_coherent)
        {
          VkMappedMemoryRange range = {
            .sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
            .memory = buffer->memory,
            .size = VK_WHOLE_SIZE,
          };
          return picard_vk_check (vkFlushMappedMemoryRanges (self->device, 1, &range),
                                  "vkFlushMappedMemoryRanges", error);
        }
      return TRUE;
    }
  g_mutex_lock (&self->lock);
  gboolean ok = transfer (self, VK_NULL_HANDLE, 0, buffer->buffer, 0, 0, error);
  g_mutex_unlock (&self->lock);
  return ok;
}
