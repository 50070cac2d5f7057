/* picard-network-private.h: what picard-network.c (loading, dropout, hashing, batching) shares
 * with its two backends, picard-network-vk.c (Vulkan graphs) and picard-network-cpu.c
 * (oneDNN). The common code keeps every weight on the host; a backend turns them into its own
 * objects once and runs chunks of prepared samples. */
#pragma once

#include "picard-checkpoint.h"
#include "picard-network.h"

G_BEGIN_DECLS

#define PICARD_NETWORK_ATTENTION_EPS 1e-4f
#define PICARD_NETWORK_SOFTMAX_SCALE 10.0f
#define PICARD_NETWORK_LEAKY_SLOPE 0.2f

/* Layer indices in picard_generator_layers(), which lists them in execution order. */
enum {
  PICARD_COARSE_FIRST = 0, PICARD_COARSE_LAST = 16,
  PICARD_FINE_CONV_FIRST = 17, PICARD_FINE_CONV_LAST = 26,
  PICARD_FINE_PM_FIRST = 27, PICARD_FINE_PM6 = 32, PICARD_FINE_PM9 = 33, PICARD_FINE_PM10 = 34,
  PICARD_FINE_ALL_FIRST = 35, PICARD_FINE_ALL_LAST = 41,
};

typedef struct {
  const PicardGeneratorLayer *info;
  guint cin, cout;
  float *weight;    /* cout x cin x k x k */
  float *bias;      /* cout */
  int dropout_slot; /* index into the active dropout layers, or -1 */
} PicardNetworkLayer;

typedef struct {
  guint cin, cout;  /* 5 x 5, stride 2, padding 2, LeakyReLU(0.2) */
  float *weight, *bias;
} PicardCriticLayer;

/* One chunk of prepared samples for a backend's run(). Consecutive samples may share an
 * input row: sample i reads row i / repeat of x, mask and ones_mask (rows = n / repeat). */
typedef struct {
  guint n, height, width;
  guint capacity;              /* the n of every chunk of this forward but the last (>= n) */
  guint repeat;                /* >= 1; divides n and capacity */
  guint mask_n;                /* 1 or rows */
  const float *x;              /* rows x d x h x w, the hole already blanked */
  const float *mask;           /* mask_n x 1 x h x w */
  const float *ones_mask;      /* mask_n x 2 x h x w: (ones, mask), the generators' extra input */
  const float *mm;             /* h/8 * w/8: attention's background patches */
  const float *const *dropout; /* per active layer: n x channels */
  /* Outputs (NULL: not wanted), each for the n samples: */
  float *x_stage1, *x_stage2, *completion;
  float *attention, *pmconv6;  /* n x 4c x h/4 x w/4 */
  float *scores;               /* n x L x L, L = h/8 * w/8: the attention weights */
} PicardNetworkChunk;

typedef struct {
  const char *name; /* "vulkan", "cpu" */
  void (*free) (PicardNetwork *net);
  const char *(*device_name) (PicardNetwork *net);
  /* Samples per run() at this size (chunks smaller than that are fine). */
  guint (*chunk_size) (PicardNetwork *net, guint height, guint width);
  /* Drops what depends on the dropout set or the chunk cap. */
  void (*invalidate) (PicardNetwork *net);
  gboolean (*run) (PicardNetwork *net, const PicardNetworkChunk *chunk, GError **error);
  /* The conv4 + LeakyReLU output of @n crops, n x F. */
  gboolean (*critic) (PicardNetwork *net, guint n, guint size, const float *crops,
                      float *features, GError **error);
} PicardNetworkBackend;

struct _PicardNetwork {
  char *gen_path, *dis_path;
  gint64 iteration;
  guint input_dim, cnum, ndf;
  PicardNetworkLayer layers[PICARD_GENERATOR_N_LAYERS];
  PicardCriticLayer critic[4];
  float *linear_w, *linear_b; /* the critic's Linear(4d*s*s -> 1), s = its input size / 16 */
  gsize linear_len;
  GChecksum *weights_hash;    /* over every tensor, finished per dropout setting */
  char *model_hash;
  GPtrArray *dropout_names;   /* active layers, NULL-terminated */
  float dropout_p;
  guint max_chunk;
  char *backend_reason;       /* why this backend was chosen */
  PicardVkDevice *owned_device;
  const PicardNetworkBackend *backend;
  gpointer backend_data;
};

/* Whether layer @l reads its input upsampled by 2 (nearest) first. */
gboolean picard_network_layer_upsamples (const PicardNetworkLayer *l);
/* Layer index of a full name, -1 when unknown. */
int picard_network_find_layer (const char *name);

gboolean picard_network_vk_attach (PicardNetwork *net, PicardVkDevice *device, GError **error);
/* NULL when @net runs on another backend. */
PicardVkDevice *picard_network_vk_get_device (PicardNetwork *net);
gboolean picard_network_cpu_attach (PicardNetwork *net, GError **error);

G_END_DECLS
