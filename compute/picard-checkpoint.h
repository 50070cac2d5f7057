/* picard-checkpoint.h: PICARD's network weights, read from PyTorch or safetensors files.
 *
 * A PicardCheckpoint is a flat dictionary of float32 tensors.  PyTorch zip checkpoints
 * (torch.save since 1.6) are read without Python and without running any pickle code;
 * safetensors files are read too.  Nested dicts (dis_*.pt holds {'localD': ..., 'globalD': ...})
 * become dotted names ("localD.linear.weight"); a "module." prefix (nn.DataParallel) is dropped.
 * Tensors are converted from float16/bfloat16 and made contiguous (row-major). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PICARD_TENSOR_MAX_DIMS 4
/* The largest tensor accepted: far beyond PICARD's (the biggest has 295k elements). */
#define PICARD_TENSOR_MAX_ELEMENTS ((gsize) 1 << 28)
/* Nesting of dicts inside the checkpoint (dis_*.pt has two levels). */
#define PICARD_CHECKPOINT_MAX_NESTING 8

typedef enum {
  PICARD_DTYPE_FLOAT32,
  PICARD_DTYPE_FLOAT16,
  PICARD_DTYPE_BFLOAT16,
} PicardDType;

typedef struct {
  char *name;
  float *data;      /* n_elements values, row-major; NULL when n_elements is 0 */
  guint ndim;       /* 0 (a scalar) to PICARD_TENSOR_MAX_DIMS */
  gsize shape[PICARD_TENSOR_MAX_DIMS]; /* unused dimensions are 1 */
  gsize n_elements;
  PicardDType source_dtype; /* what the file stored */
} PicardTensor;

typedef struct _PicardCheckpoint PicardCheckpoint;

/* Reads a file: a PyTorch zip checkpoint or a .safetensors file, told apart by content. */
PicardCheckpoint *picard_checkpoint_load (const char *path, GError **error);
/* The same from memory (@display_name names it in errors); used by the fuzzers. */
PicardCheckpoint *picard_checkpoint_load_bytes (GBytes *data, const char *display_name,
                                                GError **error);
void picard_checkpoint_free (PicardCheckpoint *checkpoint);

const char *picard_checkpoint_get_source (const PicardCheckpoint *checkpoint);
guint picard_checkpoint_get_n_tensors (const PicardCheckpoint *checkpoint);
/* Tensors in file order. */
const PicardTensor *picard_checkpoint_get_tensor (const PicardCheckpoint *checkpoint, guint index);
const PicardTensor *picard_checkpoint_lookup (const PicardCheckpoint *checkpoint, const char *name);

/* Resolves what the user named: a checkpoint file, or a folder of the trainer's output, where
 * gen_%08d.pt (or .safetensors) of @iteration, or the latest when @iteration is negative, is
 * chosen.  *dis_path is the matching dis_ file or NULL when there is none; *found_iteration
 * is the iteration, or -1 for a file whose name carries none. */
gboolean picard_checkpoint_locate (const char *path, gint64 iteration, char **gen_path,
                                   char **dis_path, gint64 *found_iteration, GError **error);

/* The generator's architecture, as a table of its 42 convolutions (SPEC section 2). */
typedef enum {
  PICARD_ACTIVATION_ELU,
  PICARD_ACTIVATION_RELU,
  PICARD_ACTIVATION_NONE, /* the last layer of a sub-network: clamp(-1, 1) follows */
} PicardActivation;

typedef struct {
  const char *name; /* e.g. "coarse_generator.conv2_downsample" */
  guint kernel, stride, dilation;
  PicardActivation activation;
  /* Channels are (halves * c) / 2 + dims * input_dim + extra. */
  guint in_halves, in_dims, in_extra;
  guint out_halves, out_dims;
} PicardGeneratorLayer;

#define PICARD_GENERATOR_N_LAYERS 42
#define PICARD_GENERATOR_N_TENSORS (2 * PICARD_GENERATOR_N_LAYERS)

const PicardGeneratorLayer *picard_generator_layers (guint *n_layers);
guint picard_generator_layer_in_channels (const PicardGeneratorLayer *layer, guint input_dim,
                                          guint cnum);
guint picard_generator_layer_out_channels (const PicardGeneratorLayer *layer, guint input_dim,
                                           guint cnum);

/* Checks that @checkpoint holds exactly PICARD's generator (84 tensors, consistent shapes) and
 * returns its input_dim and c (cnum). */
gboolean picard_checkpoint_validate_generator (const PicardCheckpoint *checkpoint,
                                               guint *input_dim, guint *cnum, GError **error);

typedef enum {
  PICARD_CRITIC_LOCAL,  /* 128x128 crops: Linear(4d*8*8 -> 1) */
  PICARD_CRITIC_GLOBAL, /* 256x256 patches: Linear(4d*16*16 -> 1) */
  /* Square inputs of any multiple of 16 (s x s after four stride-2 convolutions):
   * models trained with another hole size, such as the demo's 32x32 local critic. */
  PICARD_CRITIC_ANY_SIZE,
} PicardCriticKind;

/* Checks the critic whose tensors are named @prefix + "dis_conv_module..." (prefix "localD."
 * or "globalD." in dis_*.pt, "" for a lone state_dict) and returns its input_dim and d (ndf). */
gboolean picard_checkpoint_validate_critic (const PicardCheckpoint *checkpoint, const char *prefix,
                                            PicardCriticKind kind, guint *input_dim, guint *ndf,
                                            GError **error);
/* The side in pixels of the square input a validated critic was built for (16 x the side of
 * its last feature map, from the linear layer), or 0 when it does not fit one. */
guint picard_checkpoint_critic_input_size (const PicardCheckpoint *checkpoint, const char *prefix);
/* The patch and hole sides the critics in @dis_path (a trainer's dis_ file) were trained for:
 * the global and the local critic's input sizes. FALSE, with zeros, where the file cannot be
 * read or they do not make a patch with a smaller hole. */
gboolean picard_checkpoint_trained_geometry (const char *dis_path, guint *patch_size,
                                             guint *hole_size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PicardCheckpoint, picard_checkpoint_free)

G_END_DECLS
