/* picard-vk-private.h: the engine's structures, shared by the picard-vk-*.c files only. */
#pragma once

#include "picard-vk.h"

G_BEGIN_DECLS

struct _PicardVkPipeline {
  char *key;                  /* shader name + spec constants, the cache key */
  VkPipeline pipeline;
};

struct _PicardVkBuffer {
  PicardVkDevice *device;
  VkBuffer buffer;
  VkDeviceMemory memory;
  gsize size;                 /* what the caller asked for */
  gsize capacity;             /* the pool's size class, what was allocated */
  void *mapped;               /* non-NULL on host-visible memory */
  VkBufferView views[2];      /* RGBA texel views by PicardVkDtype, made on first use */
};

#define PICARD_VK_CONV_TILE_FIELDS 6
#define PICARD_VK_CONV_TILES_MAX 8

struct _PicardVkDevice {
  VkInstance instance;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  guint32 queue_family;
  guint32 timestamp_bits;     /* the queue's timestampValidBits: 0 without timestamps */
  PicardVkDeviceInfo *info;

  gboolean fp16;              /* fp16 variants may be used */
  gboolean coopmat;           /* fp16 convolutions on cooperative matrices */
  PicardVkConvAlgo conv_algo;
  /* PICARD_VK_CONV_TILE's tiles (BM, BN, BK, TM, TN, stages) by increasing BM: a layer takes
   * the first whose BM covers its output channels, else the last. None: each layer's own
   * (conv_tile in picard-vk-ops.c). */
  guint32 conv_tiles[PICARD_VK_CONV_TILES_MAX][PICARD_VK_CONV_TILE_FIELDS];
  guint n_conv_tiles;

  /* Memory: a device-local type for buffers and a host-visible one for staging. When the
   * device-local type is host-visible too (UMA, CPU devices), buffers are mapped directly. */
  guint32 buffer_memory_type;
  gboolean buffers_mapped;
  gboolean buffers_coherent;
  guint32 staging_memory_type;
  VkDeviceSize non_coherent_atom;

  /* The pool: released buffers parked by capacity. */
  GHashTable *pool;           /* capacity -> GSList of PicardVkBuffer */
  guint pool_created;
  guint pool_parked;

  /* Staging for transfers to device-local memory, grown on demand, plus a one-shot
   * command buffer and fence reused for every transfer. */
  PicardVkBuffer *staging;
  VkCommandPool command_pool;
  VkCommandBuffer transfer_cmd;
  VkFence transfer_fence;

  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipeline_layout;
  GHashTable *pipelines;      /* key -> PicardVkPipeline */
  GHashTable *modules;        /* shader name -> VkShaderModule */
  PicardVkBuffer *dummy;      /* bound to unused bindings */
  GMutex lock;                /* the pool, the caches and the staging buffer */
  GMutex queue_lock;          /* vkQueueSubmit needs the queue to itself */
};

void picard_vk_buffer_destroy (PicardVkBuffer *buffer);

/* Host access without copies: begin_write returns where to put the first @size bytes (the
 * mapped buffer or the staging buffer) and end_write publishes bytes [offset, offset+size);
 * begin_read/end_read likewise. With staging, the device lock is held in between. */
void *picard_vk_buffer_begin_write (PicardVkBuffer *buffer, gsize size, GError **error);
gboolean picard_vk_buffer_end_write (PicardVkBuffer *buffer, gsize offset, gsize size,
                                     GError **error);
const void *picard_vk_buffer_begin_read (PicardVkBuffer *buffer, gsize size, GError **error);
void picard_vk_buffer_end_read (PicardVkBuffer *buffer);

/* The buffer's RGBA texel view for @dtype, created on first use (under the device lock). */
VkBufferView picard_vk_buffer_get_view (PicardVkBuffer *buffer, PicardVkDtype dtype,
                                        GError **error);

/* Whether the tiled convolution's tile @t (conv_tile's fields) fits the device's workgroup
 * and shared-memory limits. */
gboolean picard_vk_device_conv_tile_fits (PicardVkDevice *device, const guint32 *t);
/* The memory type for staging transfers (host-visible: coherent, host-side, cached by
 * preference), or -1 where none is host-visible. */
int picard_vk_memory_staging_type (const VkPhysicalDeviceMemoryProperties *mem);
gboolean picard_vk_device_submit_and_wait (PicardVkDevice *device, VkCommandBuffer cmd,
                                           VkFence fence, GError **error);

G_END_DECLS
