/* picard-network.h: PICARD's completion network (DeepFill v1 generator: coarse and fine with
 * contextual attention) and its local critic, with the weights of a PICARD checkpoint
 * (SPEC.md section 2), on one of two backends:
 * - vulkan: graphs of the shader ops (picard-vk-ops.h) on a Vulkan device, the weights
 *   uploaded once; forward() cuts a batch into chunks that fit the device (every buffer under
 *   its storage range and lavapipe's 128 MiB cap, the whole under a share of device memory),
 *   each run through a graph recorded once per (size, chunk) and replayed;
 * - cpu: oneDNN convolutions (activation and dropout fused as post-ops) in the layout oneDNN
 *   picks for the machine, contextual attention on oneDNN's sgemm, one sample at a time.
 * Every sample is computed on its own: its result does not depend on the batch it came in, and
 * its dropout masks depend only on (seed, patch id, sample id, layer, channel):
 * picard_ref_dropout_mask() with the layer's index in picard_generator_layers(). */
#pragma once

#include "picard-completer.h"
#include "picard-vk.h"

G_BEGIN_DECLS

typedef struct _PicardNetwork PicardNetwork;

/* The layers whose dropout the released code switches on (coarse conv2_downsample ..
 * conv10_atrous) and the paper's stated set (those plus the fine generator's conv2_downsample
 * .. conv10_atrous and pmconv2_downsample .. pmconv6), NULL-terminated, full names. */
const char *const *picard_network_dropout_released (void);
const char *const *picard_network_dropout_paper (void);

typedef enum {
  PICARD_BACKEND_AUTO,
  PICARD_BACKEND_VULKAN,
  PICARD_BACKEND_CPU,
} PicardBackend;

/* "auto", "vulkan" or "cpu" (any case). */
gboolean picard_backend_from_string (const char *text, PicardBackend *backend, GError **error);

/* Loads @path: a gen_*.pt / .safetensors file, or a trainer's folder where @iteration (< 0:
 * the latest) is picked. The local critic comes from the matching dis_ file when there is
 * one. Weights are uploaded to @device, which must outlive the network. Dropout starts off. */
PicardNetwork *picard_network_new (PicardVkDevice *device, const char *path, gint64 iteration,
                                   GError **error);
/* The same on the CPU backend (oneDNN). */
PicardNetwork *picard_network_new_cpu (const char *path, gint64 iteration, GError **error);
/* The same on @backend; AUTO (overridden by PICARD_BACKEND=vulkan|cpu in the environment)
 * takes Vulkan on a GPU or on the device PICARD_VK_DEVICE names, and the CPU backend when the
 * only Vulkan device is a CPU one (lavapipe) or there is none. The network owns the device
 * it opened. */
PicardNetwork *picard_network_open (PicardBackend backend, const char *path, gint64 iteration,
                                    GError **error);
/* The backend AUTO (or PICARD_BACKEND) resolves to, as picard_network_open() decides:
 * VULKAN with the opened *@device, or CPU with *@device NULL; *@reason says why in words
 * (g_free). AUTO with @error set when an explicit choice cannot be had. */
PicardBackend picard_backend_choose (PicardBackend backend, PicardVkDevice **device,
                                     char **reason, GError **error);
/* "vulkan" or "cpu". */
const char *picard_network_get_backend_name (PicardNetwork *net);
/* The device in words: the Vulkan device's name, or the CPU with oneDNN's version and ISA. */
const char *picard_network_get_device_name (PicardNetwork *net);
/* Why this backend runs, in words ("oneDNN on the CPU, because ..."). */
const char *picard_network_get_backend_reason (PicardNetwork *net);
void picard_network_free (PicardNetwork *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardNetwork, picard_network_free)

/* NULL on the CPU backend. */
PicardVkDevice *picard_network_get_device (PicardNetwork *net);
guint picard_network_get_input_dim (PicardNetwork *net);
guint picard_network_get_cnum (PicardNetwork *net);
/* The critic's d (ndf), 0 when no dis_ file was found. */
guint picard_network_get_ndf (PicardNetwork *net);
/* The iteration of the loaded file, -1 when its name carries none. */
gint64 picard_network_get_iteration (PicardNetwork *net);
const char *picard_network_get_generator_path (PicardNetwork *net);
/* NULL when there is no critic. */
const char *picard_network_get_critic_path (PicardNetwork *net);

/* Spatial dropout at inference on @layers (full names as in picard_generator_layers();
 * NULL or empty: off) with probability @p in [0, 1). Unknown names are
 * PICARD_ERROR_INVALID_ARGUMENT. */
gboolean picard_network_set_dropout (PicardNetwork *net, const char *const *layers, float p,
                                     GError **error);
/* The active layers in execution order (NULL-terminated, owned by @net) and p. */
const char *const *picard_network_get_dropout_layers (PicardNetwork *net);
float picard_network_get_dropout_p (PicardNetwork *net);
/* Output channels of the named layer, 0 when there is no such layer. */
guint picard_network_layer_channels (PicardNetwork *net, const char *layer);

/* Lowercase hex SHA-256 of the weights (generator and critic), the dropout set and p, and the
 * precision: what changes a completion besides its inputs. */
const char *picard_network_get_model_hash (PicardNetwork *net);

/* How many samples of @height x @width one chunk holds on this backend. */
guint picard_network_get_chunk_size (PicardNetwork *net, guint height, guint width);
/* Caps the chunk size (0: no cap beyond the device's); the tests use it to force chunking. */
void picard_network_set_max_chunk (PicardNetwork *net, guint max_chunk);

typedef struct {
  guint n;                    /* samples */
  guint height, width;        /* multiples of 8, at least 16 */
  /* rows x input_dim x height x width in [-1, 1], rows = n / repeat; the hole pixels are
   * ignored (PICARD zeroes them: so does forward()). */
  const float *x;
  /* mask_n x 1 x height x width, 1 in the hole, 0 elsewhere */
  const float *mask;
  guint mask_n;               /* 1 (one mask for the batch) or rows (one per row of x) */
  /* For dropout: sample i is (patch_ids[i], sample_ids[i]); NULL reads as 0. */
  const guint32 *patch_ids;
  const guint32 *sample_ids;
  guint64 seed;
  /* Consecutive samples that share one input (the M samples of a patch): sample i reads row
   * i / repeat of x (and of mask). n must be a multiple of it; 0 or 1: every sample has its
   * own row. A shared row is blanked and uploaded once per chunk and expanded on the
   * device; the results are bit-identical to giving every sample its own copy. */
  guint repeat;
} PicardNetworkInput;

/* Every output is optional (NULL: not fetched). */
typedef struct {
  float *x_stage1;            /* n x input_dim x height x width */
  float *x_stage2;            /* n x input_dim x height x width */
  float *completion;          /* x_stage2 * mask + x * (1 - mask) */
  float *attention;           /* n x 4c x height/4 x width/4, contextual attention's output */
  float *pmconv6;             /* n x 4c x height/4 x width/4, attention's input */
  /* n x 2 x height/8 x width/8: (row, column) on the height/8 x width/8 grid of the best
   * background patch of every position (visualisation). */
  float *offsets;
  /* One array per active dropout layer (picard_network_get_dropout_layers() order), each
   * n x channels: the scales applied, 1/(1-p) for kept channels, 0 for dropped ones. */
  float **dropout_masks;
} PicardNetworkOutput;

gboolean picard_network_forward (PicardNetwork *net, const PicardNetworkInput *input,
                                 PicardNetworkOutput *output, GCancellable *cancellable,
                                 GError **error);

/* The local critic on @n crops of input_dim x @size x @size (size a multiple of 16):
 * @features n x (4d * (size/16)^2), the conv4 + LeakyReLU output flattened as PyTorch's
 * flatten(1); @scores n values (the Linear layer), only for crops of the size the critic
 * was trained on (128 x 128 in PICARD) and left untouched otherwise. Fails with PICARD_ERROR_NOT_FOUND without a
 * critic. */
guint picard_network_get_feature_length (PicardNetwork *net, guint size);
gboolean picard_network_critic (PicardNetwork *net, guint n, guint size, const float *crops,
                                float *features, float *scores, GError **error);

/* A PicardCompleter backed by @net (which it references through the pointer: keep @net alive
 * while the completer lives). The batch size is the number of patches per call that fills
 * about one chunk with @n_samples samples each. */
PicardCompleter *picard_network_completer_new (PicardNetwork *net, guint n_samples);

G_END_DECLS
