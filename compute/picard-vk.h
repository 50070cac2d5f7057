/* picard-vk.h: the Vulkan compute engine. A PicardVkDevice owns the instance, the logical
 * device, one queue, a buffer pool, the pipeline cache and the one descriptor set layout every
 * op shares. Ops append dispatches to a PicardVkGraph, which is recorded into a command buffer
 * once and replayed as often as the caller likes (see picard-vk-ops.h for the ops). */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

G_BEGIN_DECLS

/* Every pipeline sees this many storage-buffer bindings (set 0, bindings 0..N-1)... */
#define PICARD_VK_MAX_BINDINGS 8
/* ...followed by this many uniform texel buffers (bindings N..N+T-1), RGBA views of fp32 or
 * fp16 data. CPU devices read texel buffers with vector gathers but storage buffers one lane
 * at a time, so the hot loops of the direct layout read through texel views. */
#define PICARD_VK_MAX_TEXELS 4
/* Push constant block size every pipeline layout declares (the Vulkan minimum guarantee). */
#define PICARD_VK_PUSH_CONSTANT_SIZE 128
/* Specialization constants a pipeline may receive (constant_id 0..N-1). */
#define PICARD_VK_MAX_SPEC_CONSTANTS 12

typedef enum {
  PICARD_VK_DTYPE_F32,
  PICARD_VK_DTYPE_F16,
} PicardVkDtype;

/* The implicit-GEMM convolution layouts (see shaders/conv2d-direct.comp and conv2d-tiled.comp). */
typedef enum {
  PICARD_VK_CONV_DIRECT, /* no shared memory, workgroup-uniform weights: CPU devices */
  PICARD_VK_CONV_TILED,  /* shared-memory tiles with register blocking: GPUs */
} PicardVkConvAlgo;

/* What picard-cli devices prints and what selection looks at. */
typedef struct {
  guint index;                 /* position in vkEnumeratePhysicalDevices */
  char *name;
  VkPhysicalDeviceType type;
  guint32 vendor_id;
  guint32 device_id;
  guint32 api_version;
  guint32 driver_version;
  char *driver_name;           /* "" when the device does not report it */
  char *driver_info;
  guint32 subgroup_size;
  gboolean usable;             /* Vulkan >= 1.1 with a compute queue */
  gboolean shader_float16;     /* shaderFloat16 */
  gboolean storage_16bit;      /* storageBuffer16BitAccess */
  gboolean shader_int8;        /* shaderInt8 */
  gboolean cooperative_matrix; /* VK_NV_cooperative_matrix with fp16 x fp16 + fp32 products
                                * and the Vulkan memory model */
  guint32 coopmat_shape[3];    /* that product's M, N, K */
  guint n_heaps;
  VkDeviceSize heap_size[VK_MAX_MEMORY_HEAPS];
  gboolean heap_device_local[VK_MAX_MEMORY_HEAPS];
  gboolean unified_memory;     /* a device-local memory type is also host-visible */
  guint32 max_workgroup_size[3];
  guint32 max_workgroup_invocations;
  guint32 max_workgroup_count[3];
  guint32 max_shared_memory;
  guint32 max_push_constants;
  guint32 max_texel_elements;
  VkDeviceSize max_storage_buffer_range;
  float timestamp_period;      /* nanoseconds per timestamp tick */
} PicardVkDeviceInfo;

void picard_vk_device_info_free (PicardVkDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardVkDeviceInfo, picard_vk_device_info_free)

/* All physical devices of the system, in enumeration order. Fails with PICARD_ERROR_DEVICE
 * when there is no Vulkan loader, driver or device. */
GPtrArray *picard_vk_enumerate_devices (GError **error);

/* Index into @devices of the device picard_vk_device_new() would open: PICARD_VK_DEVICE
 * (an index or a case-insensitive name substring) if set, else the best usable device by
 * type (discrete > integrated > virtual > CPU). Returns -1 and sets @error if none fits. */
int picard_vk_select_device (GPtrArray *devices, GError **error);

/* Human-readable type ("discrete GPU", "CPU", ...). */
const char *picard_vk_device_type_name (VkPhysicalDeviceType type);

/* A multi-line report of one device, indented by @indent spaces. */
char *picard_vk_device_info_format (const PicardVkDeviceInfo *info, guint indent);

typedef struct _PicardVkDevice PicardVkDevice;
typedef struct _PicardVkBuffer PicardVkBuffer;
typedef struct _PicardVkPipeline PicardVkPipeline;
typedef struct _PicardVkGraph PicardVkGraph;

/* Opens the selected device. PICARD_VK_DISABLE=fp16,coopmat,mapped switches features off as
 * if the device lacked them (mapped: buffers used in place in shared memory, so that they
 * travel through staging copies as on a discrete GPU); PICARD_VK_CONV=direct|tiled forces the
 * convolution layout. */
PicardVkDevice *picard_vk_device_new (GError **error);
void picard_vk_device_free (PicardVkDevice *device);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardVkDevice, picard_vk_device_free)

const PicardVkDeviceInfo *picard_vk_device_get_info (PicardVkDevice *device);
/* TRUE when fp16 shaders were built, the device supports them and they are not disabled. */
gboolean picard_vk_device_has_fp16 (PicardVkDevice *device);
/* TRUE when fp16 convolutions run on cooperative matrices: the shader was built (glslc with
 * GL_NV_cooperative_matrix), fp16 is on, the device has the extension and it is not disabled. */
gboolean picard_vk_device_has_coopmat (PicardVkDevice *device);
PicardVkConvAlgo picard_vk_device_get_conv_algo (PicardVkDevice *device);
void picard_vk_device_set_conv_algo (PicardVkDevice *device, PicardVkConvAlgo algo);
/* The tiled convolution's tiles, "BMxBNxBKxTMxTN[xS]" (S: shared-memory stages), or several
 * by increasing BM separated by commas: a layer takes the first whose BM covers its output
 * channels, else the last, so one tile serves every layer (tile sweeps and tables; the
 * PICARD_VK_CONV_TILE environment variable sets it at creation). NULL: each layer's own. */
gboolean picard_vk_device_set_conv_tile (PicardVkDevice *device, const char *tile,
                                         GError **error);
/* The engine's choices ("conv direct, fp16 on, ..."), one line. */
char *picard_vk_device_describe_choices (PicardVkDevice *device);

/* Maps a VkResult to a GError: out of host/device memory -> PICARD_ERROR_OUT_OF_MEMORY,
 * device lost -> PICARD_ERROR_DEVICE_LOST, anything else -> PICARD_ERROR_DEVICE. @what names
 * the failed call. Returns FALSE (and sets @error) unless @result is VK_SUCCESS. */
gboolean picard_vk_check (VkResult result, const char *what, GError **error);
const char *picard_vk_result_name (VkResult result);

/* Buffers. Sizes are in bytes; buffers come from the device's pool and go back to it on free.
 * A buffer larger than the device's maxStorageBufferRange fails with PICARD_ERROR_TOO_LARGE. */
PicardVkBuffer *picard_vk_buffer_new (PicardVkDevice *device, gsize size, GError **error);
void picard_vk_buffer_free (PicardVkBuffer *buffer);
gsize picard_vk_buffer_get_size (PicardVkBuffer *buffer);
gboolean picard_vk_buffer_upload (PicardVkBuffer *buffer, gsize offset, const void *data,
                                  gsize size, GError **error);
gboolean picard_vk_buffer_download (PicardVkBuffer *buffer, gsize offset, void *data,
                                    gsize size, GError **error);
gboolean picard_vk_buffer_fill_zero (PicardVkBuffer *buffer, GError **error);
/* Pool statistics for tests: buffers handed out since the device opened that had to be
 * created (not recycled), and buffers parked in the pool now. */
guint picard_vk_device_get_pool_created (PicardVkDevice *device);
guint picard_vk_device_get_pool_parked (PicardVkDevice *device);

/* Pipelines, cached by (shader, specialization constants): the device owns them. The shader
 * name is one of the embedded SPIR-V modules (shaders/meson.build). */
PicardVkPipeline *picard_vk_pipeline_get (PicardVkDevice *device, const char *shader,
                                          const guint32 *spec, guint n_spec, GError **error);
guint picard_vk_device_get_pipeline_count (PicardVkDevice *device);

/* What one dispatch binds; NULL entries get a small zeroed dummy buffer. */
typedef struct {
  PicardVkBuffer *storage[PICARD_VK_MAX_BINDINGS];
  PicardVkBuffer *texel[PICARD_VK_MAX_TEXELS];
  PicardVkDtype texel_dtype;  /* the texel views' format: RGBA32F or RGBA16F */
} PicardVkBindings;

/* Graphs: a list of dispatches separated by full compute barriers. */
PicardVkGraph *picard_vk_graph_new (PicardVkDevice *device);
void picard_vk_graph_free (PicardVkGraph *graph);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardVkGraph, picard_vk_graph_free)
PicardVkDevice *picard_vk_graph_get_device (PicardVkGraph *graph);
/* Appends one dispatch. The buffers must outlive the graph. Fails once the graph has been
 * recorded (the first run), and with PICARD_ERROR_TOO_LARGE when a texel view would exceed
 * the device's maxTexelBufferElements. */
gboolean picard_vk_graph_dispatch (PicardVkGraph *graph, PicardVkPipeline *pipeline,
                                   const PicardVkBindings *bindings,
                                   const void *push, gsize push_size,
                                   guint32 groups_x, guint32 groups_y, guint32 groups_z,
                                   GError **error);
guint picard_vk_graph_get_n_dispatches (PicardVkGraph *graph);
/* Records the command buffer on the first call, then submits it and waits. */
gboolean picard_vk_graph_run (PicardVkGraph *graph, GError **error);
/* The device's own time for the last successful run, from timestamps written before its first
 * dispatch and after its last: the work without the host's submission and wake-up. FALSE
 * where the queue has no timestamps or the graph has not run. */
gboolean picard_vk_graph_get_device_seconds (PicardVkGraph *graph, double *seconds);
/* Profiling (PICARD_VK_PROFILE=1 in the environment sets it for every graph, which then
 * prints its profile to stderr when freed): a timestamp after every dispatch, summed per
 * pipeline (shader and constants) over the runs. Set before the first run. */
void picard_vk_graph_set_profiling (PicardVkGraph *graph, gboolean profiling);
/* The profile, one line per pipeline by decreasing device time, or NULL where the graph has
 * not profiled a run (not profiling, or no timestamps). */
char *picard_vk_graph_dup_profile (PicardVkGraph *graph);

G_END_DECLS
