/* picard-network-cpu.c: the network's CPU backend on oneDNN.
 *
 * Batch 1 (the fastest shape on 2 cores, for PyTorch and for us, and it lets a dropout mask be
 * a per-channel binary post-op), with the samples of a chunk spread over the cores, one plan
 * and one single-threaded stream per core: small convolutions spend more on synchronising
 * threads than on arithmetic, and a sample per core needs none. Every convolution is a oneDNN
 * primitive with the activation and the dropout scale fused, reading and writing the blocked
 * layout oneDNN picks for the machine; tensors go plain (NCHW) only where the C steps need
 * them: the generators' inputs and outputs and contextual attention. The plan (primitives,
 * reordered weights, buffers) is built once per patch size and replayed. */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <string.h>

#include "picard-cpu-ops.h"
#include "picard-error.h"
#include "picard-network-private.h"
#include "picard-vk-ops.h"

/* Samples per chunk and thread: enough to keep every core busy to the end of a chunk. */
#define CHUNK_PER_THREAD 4

typedef struct {
  dnnl_primitive_t prim;
  int nargs;
  dnnl_exec_arg_t args[7];
} Step;

typedef struct {
  guint h, w;
  dnnl_stream_t stream;
  GArray *steps;                  /* Step */
  guint coarse_end, pm_end;         /* where the C steps come in */
  GPtrArray *memories;            /* owned dnnl_memory_t */
  GPtrArray *primitives;          /* owned dnnl_primitive_t */
  dnnl_memory_t *dropout;         /* per active dropout layer: 1 x C x 1 x 1, handle per sample */
  /* Plain buffers the C steps read and write. */
  float *xin, *xs1, *xnow, *p6, *att_out, *xs2;
  /* Contextual attention's scratch. */
  float *raw, *pat, *pn, *sc, *fused, *att, *cols;
} CpuPlan;

typedef struct {
  guint n, size;
  GArray *steps;
  GPtrArray *memories, *primitives;
  dnnl_memory_t in, out;
} CriticPlan;

typedef struct {
  dnnl_engine_t engine;
  dnnl_stream_t stream;           /* the critic's, and the weights' reorders */
  char *device_name;
  guint n_threads;
  gboolean samples_in_parallel;   /* else one sample at a time on all cores */
  CpuPlan **plans;                /* one per thread */
  CriticPlan *critic_plan;
} CpuBackend;

#define CPU(net) ((CpuBackend *) (net)->backend_data)

static gboolean
check (dnnl_status_t status, const char *what, GError **error)
{
  if (status == dnnl_success)
    return TRUE;
  g_set_error (error, PICARD_ERROR,
               status == dnnl_out_of_memory ? PICARD_ERROR_OUT_OF_MEMORY : PICARD_ERROR_DEVICE,
               "oneDNN failed in %s (status %d)%s", what, (int) status,
               status == dnnl_out_of_memory ? ": out of memory; close other programs or use "
                                              "smaller patches" : "");
  return FALSE;
}

static void
memory_destroy (gpointer memory)
{
  dnnl_memory_destroy (memory);
}

static void
primitive_destroy (gpointer primitive)
{
  dnnl_primitive_destroy (primitive);
}

static void
plan_free (CpuPlan *plan)
{
  if (plan == NULL)
    return;
  g_array_unref (plan->steps);
  g_ptr_array_unref (plan->memories);
  g_ptr_array_unref (plan->primitives);
  if (plan->stream != NULL)
    dnnl_stream_destroy (plan->stream);
  g_free (plan->dropout);
  g_free (plan->xin);
  g_free (plan->xs1);
  g_free (plan->xnow);
  g_free (plan->p6);
  g_free (plan->att_out);
  g_free (plan->xs2);
  g_free (plan->raw);
  g_free (plan->pat);
  g_free (plan->pn);
  g_free (plan->sc);
  g_free (plan->fused);
  g_free (plan->att);
  g_free (plan->cols);
  g_free (plan);
}

static void
critic_plan_free (CriticPlan *plan)
{
  if (plan == NULL)
    return;
  g_array_unref (plan->steps);
  g_ptr_array_unref (plan->memories);
  g_ptr_array_unref (plan->primitives);
  g_free (plan);
}

/* ---- building steps ------------------------------------------------------------------- */

/* Where a plan under construction keeps its objects. */
typedef struct {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  GArray *steps;
  GPtrArray *memories, *primitives;
  /* Every primitive gets its own scratchpad: oneDNN's shared one would make plans running
   * on different threads overwrite each other's. */
  dnnl_primitive_attr_t attr;
} Builder;

static gboolean
builder_init (Builder *b, dnnl_engine_t engine, dnnl_stream_t stream, GArray *steps,
              GPtrArray *memories, GPtrArray *primitives, GError **error)
{
  *b = (Builder) { engine, stream, steps, memories, primitives, NULL };
  return check (dnnl_primitive_attr_create (&b->attr), "attributes", error)
         && check (dnnl_primitive_attr_set_scratchpad_mode (b->attr, dnnl_scratchpad_mode_user),
                   "attributes", error);
}

static void
builder_clear (Builder *b)
{
  if (b->attr != NULL)
    dnnl_primitive_attr_destroy (b->attr);
}

static void
plain_md (dnnl_memory_desc_t *md, guint n, guint c, guint h, guint w)
{
  const dnnl_dims_t dims = { n, c, h, w };

  dnnl_memory_desc_init_by_tag (md, 4, dims, dnnl_f32, dnnl_nchw);
}

/* A memory object the builder owns: over @handle, or allocated by oneDNN when it is NULL. */
static dnnl_memory_t
memory_new (Builder *b, const dnnl_memory_desc_t *md, void *handle, GError **error)
{
  dnnl_memory_t memory = NULL;

  if (!check (dnnl_memory_create (&memory, md, b->engine,
                                  handle != NULL ? handle : DNNL_MEMORY_ALLOCATE),
              "dnnl_memory_create", error))
    return NULL;
  g_ptr_array_add (b->memories, memory);
  return memory;
}

static const dnnl_memory_desc_t *
memory_md (dnnl_memory_t memory)
{
  const dnnl_memory_desc_t *md = NULL;

  dnnl_memory_get_memory_desc (memory, &md);
  return md;
}

/* Creates the primitive of @pd (which it destroys) and appends a step running it. */
static gboolean
add_step (Builder *b, dnnl_primitive_desc_t pd, int nargs, const dnnl_exec_arg_t *args,
          GError **error)
{
  Step step = { NULL, nargs, { { 0 } } };
  const dnnl_memory_desc_t *scratch_md = dnnl_primitive_desc_query_md (pd,
                                                                        dnnl_query_scratchpad_md,
                                                                        0);
  dnnl_memory_t scratch = NULL;
  gboolean ok = check (dnnl_primitive_create (&step.prim, pd), "dnnl_primitive_create", error);

  if (ok && scratch_md != NULL && dnnl_memory_desc_get_size (scratch_md) > 0)
    ok = (scratch = memory_new (b, scratch_md, NULL, error)) != NULL;
  dnnl_primitive_desc_destroy (pd);
  if (step.prim != NULL)
    g_ptr_array_add (b->primitives, step.prim);
  if (!ok)
    return FALSE;
  g_assert (nargs < (int) G_N_ELEMENTS (step.args));
  memcpy (step.args, args, nargs * sizeof *args);
  if (scratch != NULL)
    step.args[step.nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_SCRATCHPAD, scratch };
  g_array_append_val (b->steps, step);
  return TRUE;
}

/* @src in the layout @wanted, through a reorder step when it is not already. */
static dnnl_memory_t
in_layout (Builder *b, dnnl_memory_t src, const dnnl_memory_desc_t *wanted, GError **error)
{
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_t dst;

  if (dnnl_memory_desc_equal (memory_md (src), wanted))
    return src;
  if ((dst = memory_new (b, wanted, NULL, error)) == NULL
      || !check (dnnl_reorder_primitive_desc_create (&pd, memory_md (src), b->engine, wanted,
                                                     b->engine, b->attr),
                 "reorder", error))
    return NULL;
  if (!add_step (b, pd, 2, (dnnl_exec_arg_t[]) { { DNNL_ARG_FROM, src }, { DNNL_ARG_TO, dst } },
                 error))
    return NULL;
  return dst;
}

/* Reorders plain OIHW @weight into the layout @wanted, once, now. */
static dnnl_memory_t
weights_new (Builder *b, const float *weight, guint cout, guint cin, guint k,
             const dnnl_memory_desc_t *wanted, GError **error)
{
  const dnnl_dims_t dims = { cout, cin, k, k };
  dnnl_memory_desc_t plain;
  dnnl_memory_t src, dst;
  dnnl_primitive_desc_t pd = NULL;
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (Step));
  Builder once = *b;
  const Step *step;

  dnnl_memory_desc_init_by_tag (&plain, 4, dims, dnnl_f32, dnnl_oihw);
  once.steps = steps;
  if ((src = memory_new (b, &plain, (void *) weight, error)) == NULL
      || (dst = memory_new (b, wanted, NULL, error)) == NULL
      || !check (dnnl_reorder_primitive_desc_create (&pd, &plain, b->engine, wanted, b->engine,
                                                     b->attr), "weights reorder", error)
      || !add_step (&once, pd, 2, (dnnl_exec_arg_t[]) { { DNNL_ARG_FROM, src },
                                                        { DNNL_ARG_TO, dst } }, error))
    return NULL;
  step = &g_array_index (steps, Step, 0);
  if (!check (dnnl_primitive_execute (step->prim, b->stream, step->nargs, step->args),
              "weights reorder", error)
      || !check (dnnl_stream_wait (b->stream), "weights reorder", error))
    return NULL;
  return dst;
}

/* A reorder of @src's buffer seen as @from into a new buffer seen as @to. */
static dnnl_memory_t
add_view_reorder (Builder *b, dnnl_memory_t src, const dnnl_memory_desc_t *from,
                  const dnnl_memory_desc_t *to, void *out_handle, GError **error)
{
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_t in, out;
  void *handle = NULL;

  dnnl_memory_get_data_handle (src, &handle);
  if ((in = memory_new (b, from, handle, error)) == NULL
      || (out = memory_new (b, to, out_handle, error)) == NULL
      || !check (dnnl_reorder_primitive_desc_create (&pd, from, b->engine, to, b->engine,
                                                     b->attr), "reorder", error))
    return NULL;
  return add_step (b, pd, 2, (dnnl_exec_arg_t[]) { { DNNL_ARG_FROM, in }, { DNNL_ARG_TO, out } },
                   error) ? out : NULL;
}

typedef struct {
  guint cin, cout, k, stride, dilation;
  dnnl_alg_kind_t act;         /* 0: none */
  float alpha;
  const float *weight, *bias;
  dnnl_memory_t dropout;       /* 1 x cout x 1 x 1 scales, or NULL */
  gboolean plain_out;          /* NCHW output (else oneDNN's choice) */
  void *out_handle;            /* with plain_out: write here (NULL: allocate) */
} ConvSpec;

/* Appends the convolution @spec of @src and returns its output. */
static dnnl_memory_t
add_conv (Builder *b, dnnl_memory_t src, const ConvSpec *spec, GError **error)
{
  const dnnl_memory_desc_t *in_md = memory_md (src);
  const dnnl_dim_t n = in_md->dims[0], h = in_md->dims[2], w = in_md->dims[3];
  const dnnl_dim_t pad = (dnnl_dim_t) (spec->dilation * (spec->k - 1) / 2);
  const dnnl_dim_t oh = picard_vk_conv_out_size (h, spec->k, spec->stride, spec->dilation, pad);
  const dnnl_dim_t ow = picard_vk_conv_out_size (w, spec->k, spec->stride, spec->dilation, pad);
  const dnnl_dims_t src_dims = { n, spec->cin, h, w }, dst_dims = { n, spec->cout, oh, ow };
  const dnnl_dims_t w_dims = { spec->cout, spec->cin, spec->k, spec->k }, b_dims = { spec->cout };
  const dnnl_dims_t strides = { spec->stride, spec->stride };
  const dnnl_dims_t dilates = { spec->dilation - 1, spec->dilation - 1 }, padding = { pad, pad };
  dnnl_memory_desc_t src_md, w_md, b_md, dst_md;
  dnnl_convolution_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_t weights, bias, dst;
  dnnl_exec_arg_t args[5];
  int nargs = 0, n_ops = 0;
  gboolean ok;

  dnnl_memory_desc_init_by_tag (&src_md, 4, src_dims, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag (&w_md, 4, w_dims, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag (&b_md, 1, b_dims, dnnl_f32, dnnl_a);
  /* Even for a plain output: the direct kernels write blocked layouts only, and a reorder
   * after them costs far less than the gemm fallback. */
  dnnl_memory_desc_init_by_tag (&dst_md, 4, dst_dims, dnnl_f32, dnnl_format_tag_any);
  ok = check (dnnl_dilated_convolution_forward_desc_init (&desc, dnnl_forward_inference,
                                                          dnnl_convolution_direct, &src_md,
                                                          &w_md, &b_md, &dst_md, strides,
                                                          dilates, padding, padding),
              "convolution", error)
       && check (dnnl_primitive_attr_clone (&attr, b->attr), "attributes", error)
       && check (dnnl_post_ops_create (&ops), "post-ops", error);
  if (ok && spec->act != 0)
    {
      ok = check (dnnl_post_ops_append_eltwise (ops, 1.0f, spec->act, spec->alpha, 0.0f),
                  "activation", error);
      n_ops++;
    }
  if (ok && spec->dropout != NULL)
    ok = check (dnnl_post_ops_append_binary (ops, dnnl_binary_mul, memory_md (spec->dropout)),
                "dropout", error);
  ok = ok && check (dnnl_primitive_attr_set_post_ops (attr, ops), "post-ops", error)
       && check (dnnl_primitive_desc_create (&pd, &desc, attr, b->engine, NULL), "convolution",
                 error);
  if (ops != NULL)
    dnnl_post_ops_destroy (ops);
  if (attr != NULL)
    dnnl_primitive_attr_destroy (attr);
  if (!ok)
    return NULL;
  if ((src = in_layout (b, src, dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0),
                        error)) == NULL
      || (weights = weights_new (b, spec->weight, spec->cout, spec->cin, spec->k,
                                 dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0),
                                 error)) == NULL
      || (bias = memory_new (b, &b_md, (void *) spec->bias, error)) == NULL
      || (dst = memory_new (b, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0),
                            NULL, error)) == NULL)
    {
      dnnl_primitive_desc_destroy (pd);
      return NULL;
    }
  args[nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_SRC, src };
  args[nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_WEIGHTS, weights };
  args[nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_BIAS, bias };
  args[nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_DST, dst };
  if (spec->dropout != NULL)
    args[nargs++] = (dnnl_exec_arg_t) { DNNL_ARG_ATTR_MULTIPLE_POST_OP (n_ops) | DNNL_ARG_SRC_1,
                                        spec->dropout };
  if (!add_step (b, pd, nargs, args, error))
    return NULL;
  if (!spec->plain_out)
    return dst;
  dnnl_memory_desc_init_by_tag (&dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw);
  return add_view_reorder (b, dst, memory_md (dst), &dst_md, spec->out_handle, error);
}

/* Nearest upsampling by 2 in @src's own layout. */
static dnnl_memory_t
add_upsample (Builder *b, dnnl_memory_t src, GError **error)
{
  const dnnl_memory_desc_t *in_md = memory_md (src);
  const dnnl_dims_t dims = { in_md->dims[0], in_md->dims[1], in_md->dims[2] * 2,
                             in_md->dims[3] * 2 };
  dnnl_memory_desc_t dst_md;
  dnnl_resampling_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_t dst;

  dnnl_memory_desc_init_by_tag (&dst_md, 4, dims, dnnl_f32, dnnl_format_tag_any);
  if (!check (dnnl_resampling_forward_desc_init (&desc, dnnl_forward_inference,
                                                 dnnl_resampling_nearest, NULL, in_md, &dst_md),
              "upsampling", error)
      || !check (dnnl_primitive_desc_create (&pd, &desc, b->attr, b->engine, NULL),
                 "upsampling", error))
    return NULL;
  dst = memory_new (b, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0), NULL, error);
  if (dst == NULL)
    {
      dnnl_primitive_desc_destroy (pd);
      return NULL;
    }
  return add_step (b, pd, 2, (dnnl_exec_arg_t[]) { { DNNL_ARG_SRC, src }, { DNNL_ARG_DST, dst } },
                   error) ? dst : NULL;
}

/* Channel concatenation of @a and @b in a layout oneDNN picks. */
static dnnl_memory_t
add_concat (Builder *b, dnnl_memory_t a, dnnl_memory_t bm, GError **error)
{
  const dnnl_memory_desc_t srcs[2] = { *memory_md (a), *memory_md (bm) };
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_t dst;

  if (!check (dnnl_concat_primitive_desc_create (&pd, NULL, 2, 1, srcs, b->attr, b->engine),
              "concatenation", error))
    return NULL;
  dst = memory_new (b, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0), NULL, error);
  if (dst == NULL)
    {
      dnnl_primitive_desc_destroy (pd);
      return NULL;
    }
  return add_step (b, pd, 3, (dnnl_exec_arg_t[]) { { DNNL_ARG_MULTIPLE_SRC, a },
                                                   { DNNL_ARG_MULTIPLE_SRC + 1, bm },
                                                   { DNNL_ARG_DST, dst } }, error) ? dst : NULL;
}

/* A 5-d view [d][d][c][h/d][w/d] of a plain [c][h][w] tensor (@interleaved: the phases
 * py, px of y = Y*d + py and x = X*d + px, in place) or of d*d dense images (else). */
static void
phase_md (dnnl_memory_desc_t *md, dnnl_dim_t d, dnnl_dim_t c, dnnl_dim_t h, dnnl_dim_t w,
          gboolean interleaved)
{
  const dnnl_dims_t dims = { d, d, c, h / d, w / d };
  const dnnl_dims_t spread = { w, 1, h * w, d * w, d };
  const dnnl_dims_t dense = { d * c * (h / d) * (w / d), c * (h / d) * (w / d), (h / d) * (w / d),
                              w / d, 1 };

  dnnl_memory_desc_init_by_strides (md, 5, dims, dnnl_f32, interleaved ? spread : dense);
}

/* oneDNN's direct kernels refuse large dilations and fall back to im2col and gemm, about three
 * times slower. A dilation-d convolution is an undilated one on the d*d interleaved
 * sub-images (padding d becomes 1), so: space to batch, convolve, batch to space. */
static dnnl_memory_t
add_dilated_conv (Builder *b, dnnl_memory_t src, const ConvSpec *spec, GError **error)
{
  const dnnl_memory_desc_t *in_md = memory_md (src);
  const dnnl_dim_t h = in_md->dims[2], w = in_md->dims[3], d = spec->dilation;
  ConvSpec batched = *spec;
  dnnl_memory_desc_t plain, spread, dense;
  dnnl_memory_t cur;

  batched.dilation = 1;
  batched.plain_out = FALSE;
  batched.out_handle = NULL;
  plain_md (&plain, 1, spec->cin, h, w);
  phase_md (&spread, d, spec->cin, h, w, TRUE);
  phase_md (&dense, d, spec->cin, h, w, FALSE);
  if ((cur = in_layout (b, src, &plain, error)) == NULL
      || (cur = add_view_reorder (b, cur, &spread, &dense, NULL, error)) == NULL)
    return NULL;
  plain_md (&plain, d * d, spec->cin, h / d, w / d);
  {
    void *handle = NULL;

    dnnl_memory_get_data_handle (cur, &handle);
    if ((cur = memory_new (b, &plain, handle, error)) == NULL
        || (cur = add_conv (b, cur, &batched, error)) == NULL)
      return NULL;
  }
  plain_md (&plain, d * d, spec->cout, h / d, w / d);
  phase_md (&dense, d, spec->cout, h, w, FALSE);
  phase_md (&spread, d, spec->cout, h, w, TRUE);
  if ((cur = in_layout (b, cur, &plain, error)) == NULL
      || (cur = add_view_reorder (b, cur, &dense, &spread, spec->out_handle, error)) == NULL)
    return NULL;
  plain_md (&plain, 1, spec->cout, h, w);
  {
    void *handle = NULL;

    dnnl_memory_get_data_handle (cur, &handle);
    return memory_new (b, &plain, handle, error);
  }
}

static dnnl_memory_t
add_layer_conv (Builder *b, dnnl_memory_t src, const ConvSpec *spec, GError **error)
{
  const dnnl_memory_desc_t *md = memory_md (src);

  if (spec->dilation >= 4 && spec->stride == 1 && md->dims[0] == 1
      && md->dims[2] % spec->dilation == 0 && md->dims[3] % spec->dilation == 0)
    return add_dilated_conv (b, src, spec, error);
  return add_conv (b, src, spec, error);
}

static dnnl_alg_kind_t
activation_alg (PicardActivation act)
{
  return act == PICARD_ACTIVATION_ELU ? dnnl_eltwise_elu
         : act == PICARD_ACTIVATION_RELU ? dnnl_eltwise_relu : (dnnl_alg_kind_t) 0;
}

/* Layers first..last of the generator from @src; the last writes plain NCHW into @out_handle
 * when it is not NULL. */
static dnnl_memory_t
add_chain (Builder *b, PicardNetwork *net, CpuPlan *plan, guint first, guint last,
           dnnl_memory_t src, float *out_handle, GError **error)
{
  dnnl_memory_t cur = src;

  for (guint i = first; i <= last && cur != NULL; i++)
    {
      const PicardNetworkLayer *l = &net->layers[i];
      ConvSpec spec = {
        .cin = l->cin, .cout = l->cout, .k = l->info->kernel, .stride = l->info->stride,
        .dilation = l->info->dilation, .act = activation_alg (l->info->activation),
        .alpha = 0.0f, .weight = l->weight, .bias = l->bias,
        .dropout = l->dropout_slot >= 0 ? plan->dropout[l->dropout_slot] : NULL,
        .plain_out = i == last && out_handle != NULL,
        .out_handle = i == last ? out_handle : NULL,
      };

      if (spec.act == dnnl_eltwise_elu)
        spec.alpha = 1.0f;
      if (picard_network_layer_upsamples (l) && (cur = add_upsample (b, cur, error)) == NULL)
        return NULL;
      cur = add_layer_conv (b, cur, &spec, error);
    }
  return cur;
}

static CpuPlan *
plan_new (PicardNetwork *net, guint h, guint w, GError **error)
{
  CpuBackend *cpu = CPU (net);
  CpuPlan *plan = g_new0 (CpuPlan, 1);
  guint d = net->input_dim, c4 = 4 * net->cnum, n_drop = net->dropout_names->len - 1;
  gsize plane = (gsize) h * w, l = (gsize) (h / 8) * (w / 8), feat = (gsize) c4 * (h / 4) * (w / 4);
  Builder b = { 0 };
  dnnl_memory_desc_t md;
  dnnl_memory_t xin, xnow, att_out, branch_a, branch_b, merge;

  plan->h = h, plan->w = w;
  if (!check (dnnl_stream_create (&plan->stream, cpu->engine, dnnl_stream_default_flags),
              "dnnl_stream_create", error))
    goto fail;
  plan->steps = g_array_new (FALSE, FALSE, sizeof (Step));
  plan->memories = g_ptr_array_new_with_free_func (memory_destroy);
  plan->primitives = g_ptr_array_new_with_free_func (primitive_destroy);
  plan->dropout = g_new0 (dnnl_memory_t, MAX (n_drop, 1));
  if (!builder_init (&b, cpu->engine, plan->stream, plan->steps, plan->memories,
                     plan->primitives, error))
    goto fail;
  plan->xin = g_new (float, plane * (d + 2));
  plan->xnow = g_new (float, plane * (d + 2));
  plan->xs1 = g_new (float, plane * d);
  plan->xs2 = g_new (float, plane * d);
  plan->p6 = g_new (float, feat);
  plan->att_out = g_new (float, feat);
  plan->raw = g_new (float, l * c4 * 16);
  plan->cols = g_new (float, l * c4 * 16);
  plan->pat = g_new (float, l * c4 * 9);
  plan->pn = g_new (float, l * c4 * 9);
  plan->sc = g_new (float, l * l);
  plan->fused = g_new (float, l * l);
  plan->att = g_new (float, l * l);
  for (guint k = 0; k < n_drop; k++)
    {
      int index = picard_network_find_layer (g_ptr_array_index (net->dropout_names, k));

      plain_md (&md, 1, net->layers[index].cout, 1, 1);
      /* The handle is set per sample. */
      if ((plan->dropout[k] = memory_new (&b, &md, plan->xin, error)) == NULL)
        goto fail;
    }

  plain_md (&md, 1, d + 2, h, w);
  if ((xin = memory_new (&b, &md, plan->xin, error)) == NULL
      || (xnow = memory_new (&b, &md, plan->xnow, error)) == NULL
      || add_chain (&b, net, plan, PICARD_COARSE_FIRST, PICARD_COARSE_LAST, xin, plan->xs1,
                    error) == NULL)
    goto fail;
  plan->coarse_end = plan->steps->len;
  if ((branch_a = add_chain (&b, net, plan, PICARD_FINE_CONV_FIRST, PICARD_FINE_CONV_LAST, xnow,
                             NULL, error)) == NULL)
    goto fail;
  if (add_chain (&b, net, plan, PICARD_FINE_PM_FIRST, PICARD_FINE_PM6, xnow, plan->p6,
                 error) == NULL)
    goto fail;
  plan->pm_end = plan->steps->len;
  plain_md (&md, 1, c4, h / 4, w / 4);
  if ((att_out = memory_new (&b, &md, plan->att_out, error)) == NULL
      || (branch_b = add_chain (&b, net, plan, PICARD_FINE_PM9, PICARD_FINE_PM10, att_out, NULL,
                                error)) == NULL
      || (merge = add_concat (&b, branch_a, branch_b, error)) == NULL
      || add_chain (&b, net, plan, PICARD_FINE_ALL_FIRST, PICARD_FINE_ALL_LAST, merge, plan->xs2,
                    error) == NULL)
    goto fail;
  builder_clear (&b);
  return plan;

fail:
  builder_clear (&b);
  plan_free (plan);
  return NULL;
}

static gboolean
run_steps (dnnl_stream_t stream, GArray *steps, guint first, guint end, GError **error)
{
  for (guint i = first; i < end; i++)
    {
      const Step *s = &g_array_index (steps, Step, i);

      if (!check (dnnl_primitive_execute (s->prim, stream, s->nargs, s->args),
                  "dnnl_primitive_execute", error))
        return FALSE;
    }
  return check (dnnl_stream_wait (stream), "dnnl_stream_wait", error);
}

gboolean
picard_cpu_conv2d (guint n, guint cin, guint h, guint w, const float *in, guint cout,
                   guint k, const float *weights, const float *bias,
                   const PicardVkConvParams *params, const float *mask, float *out,
                   GError **error)
{
  const guint oh = picard_vk_conv_out_size (h, k, params->stride, params->dilation,
                                            params->padding);
  const guint ow = picard_vk_conv_out_size (w, k, params->stride, params->dilation,
                                            params->padding);
  g_autofree float *zero_bias = g_new0 (float, cout);
  dnnl_engine_t engine = NULL;
  dnnl_stream_t stream = NULL;
  gboolean ok;

  g_return_val_if_fail (params->padding == params->dilation * (k - 1) / 2
                        && params->out_c_offset == 0, FALSE);

  ok = check (dnnl_engine_create (&engine, dnnl_cpu, 0), "dnnl_engine_create", error)
       && check (dnnl_stream_create (&stream, engine, dnnl_stream_default_flags),
                 "dnnl_stream_create", error);
  /* A plan per sample, as the network's layers see them (batch 1, the same dispatch). */
  for (guint i = 0; ok && i < n; i++)
    {
      g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (Step));
      g_autoptr(GPtrArray) memories = g_ptr_array_new_with_free_func (memory_destroy);
      g_autoptr(GPtrArray) primitives = g_ptr_array_new_with_free_func (primitive_destroy);
      ConvSpec spec = {
        .cin = cin, .cout = cout, .k = k, .stride = params->stride,
        .dilation = params->dilation,
        .act = params->act == PICARD_VK_ACT_ELU ? dnnl_eltwise_elu
               : params->act == PICARD_VK_ACT_NONE ? (dnnl_alg_kind_t) 0 : dnnl_eltwise_relu,
        .alpha = params->act == PICARD_VK_ACT_ELU ? 1.0f
                 : params->act == PICARD_VK_ACT_LEAKY_RELU ? params->alpha : 0.0f,
        .weight = weights, .bias = bias != NULL ? bias : zero_bias,
        .plain_out = TRUE, .out_handle = out + (gsize) i * cout * oh * ow,
      };
      dnnl_memory_desc_t md;
      dnnl_memory_t src;
      Builder b = { 0 };

      ok = builder_init (&b, engine, stream, steps, memories, primitives, error);
      plain_md (&md, 1, cin, h, w);
      ok = ok && (src = memory_new (&b, &md, (void *) (in + (gsize) i * cin * h * w), error))
                 != NULL;
      if (ok && mask != NULL)
        {
          plain_md (&md, 1, cout, 1, 1);
          ok = (spec.dropout = memory_new (&b, &md, (void *) (mask + (gsize) i * cout), error))
               != NULL;
        }
      ok = ok && add_layer_conv (&b, src, &spec, error) != NULL
           && run_steps (stream, steps, 0, steps->len, error);
      builder_clear (&b);
    }
  if (stream != NULL)
    dnnl_stream_destroy (stream);
  if (engine != NULL)
    dnnl_engine_destroy (engine);
  return ok;
}

/* ---- contextual attention ------------------------------------------------------------- */

void
picard_cpu_extract_patches (guint c, guint h, guint w, const float *in, guint k, guint stride,
                            float *out)
{
  guint top, left;
  const guint lh = picard_vk_same_padding (h, k, stride, 1, &top);
  const guint lw = picard_vk_same_padding (w, k, stride, 1, &left);
  const gsize len = (gsize) c * k * k;

#pragma omp parallel for schedule(static)
  for (guint l = 0; l < lh * lw; l++)
    {
      float *row = out + l * len;

      for (guint ch = 0; ch < c; ch++)
        for (guint ky = 0; ky < k; ky++)
          for (guint kx = 0; kx < k; kx++)
            {
              long y = (long) (l / lw * stride + ky) - top;
              long x = (long) (l % lw * stride + kx) - left;

              *row++ = y < 0 || y >= (long) h || x < 0 || x >= (long) w
                       ? 0.0f : in[((gsize) ch * h + (gsize) y) * w + (gsize) x];
            }
    }
}

void
picard_cpu_fuse (guint h8, guint w8, gboolean transposed, const float *in, float *out)
{
  const gsize l = (gsize) h8 * w8;
  g_autofree gsize *coord = g_new (gsize, l), *index = g_new (gsize, l);

  for (gsize i = 0; i < l; i++)
    {
      coord[i] = transposed ? i % w8 * h8 + i / w8 : i;
      index[i] = transposed ? i % h8 * w8 + i / h8 : i;
    }
#pragma omp parallel for schedule(static)
  for (gsize r = 0; r < l; r++)
    {
      gsize i = coord[r];

      for (gsize f = 0; f < l; f++)
        {
          gsize j = coord[f];
          float v = 0.0f;

          if (i > 0 && j > 0)
            v += in[index[i - 1] * l + index[j - 1]];
          v += in[r * l + f];
          if (i + 1 < l && j + 1 < l)
            v += in[index[i + 1] * l + index[j + 1]];
          out[r * l + f] = v;
        }
    }
}

void
picard_cpu_softmax (gsize l, const float *in, const float *mm, float scale, float *out)
{
  const gsize block = 64;

#pragma omp parallel for schedule(static)
  for (gsize p0 = 0; p0 < l; p0 += block)
    {
      gsize np = MIN (block, l - p0);
      float mx[64], sum[64];

      for (gsize p = 0; p < np; p++)
        mx[p] = -HUGE_VALF, sum[p] = 0.0f;
      for (gsize k = 0; k < l; k++)
        for (gsize p = 0; p < np; p++)
          mx[p] = MAX (mx[p], scale * in[k * l + p0 + p] * mm[k]);
      for (gsize k = 0; k < l; k++)
        for (gsize p = 0; p < np; p++)
          {
            float e = expf (scale * in[k * l + p0 + p] * mm[k] - mx[p]);

            out[k * l + p0 + p] = e;
            sum[p] += e;
          }
      for (gsize k = 0; k < l; k++)
        for (gsize p = 0; p < np; p++)
          out[k * l + p0 + p] *= mm[k] / sum[p];
    }
}

void
picard_cpu_patch_normalize (gsize rows, gsize len, float eps, const float *in, float *out)
{
#pragma omp parallel for schedule(static)
  for (gsize r = 0; r < rows; r++)
    {
      double s = 0.0;

      for (gsize i = 0; i < len; i++)
        s += (double) in[r * len + i] * in[r * len + i] + eps;
      for (gsize i = 0; i < len; i++)
        out[r * len + i] = (float) (in[r * len + i] / sqrt (s));
    }
}

gboolean
picard_cpu_match (gsize l, gsize len, const float *normalized, const float *patches,
                  float *scores, GError **error)
{
  /* The "same" 3 x 3 convolution of a map with normalised patches of it is the product of
   * those with the map's own patches at every position. */
  return check (dnnl_sgemm ('N', 'T', l, l, len, 1.0f, normalized, len, patches, len, 0.0f,
                            scores, l), "attention matching", error);
}

gboolean
picard_cpu_reconstruct (guint c, guint h8, guint w8, const float *weights, const float *raw,
                        float *cols, float *out, GError **error)
{
  const guint h4 = 2 * h8, w4 = 2 * w8;
  const gsize l = (gsize) h8 * w8, k16 = (gsize) c * 16;

  /* The transposed convolution (kernel 4, stride 2, padding 1) as a product and a col2im. */
  if (!check (dnnl_sgemm ('T', 'N', k16, l, l, 1.0f, raw, k16, weights, l, 0.0f, cols, l),
              "attention reconstruction", error))
    return FALSE;
#pragma omp parallel for schedule(static)
  for (guint ch = 0; ch < c; ch++)
    {
      float *o = out + (gsize) ch * h4 * w4;

      memset (o, 0, (gsize) h4 * w4 * sizeof (float));
      for (guint ky = 0; ky < 4; ky++)
        for (guint kx = 0; kx < 4; kx++)
          {
            const float *col = cols + (((gsize) ch * 4 + ky) * 4 + kx) * l;

            for (guint py = 0; py < h8; py++)
              {
                long oy = (long) py * 2 - 1 + ky;

                if (oy < 0 || oy >= (long) h4)
                  continue;
                for (guint px = 0; px < w8; px++)
                  {
                    long ox = (long) px * 2 - 1 + kx;

                    if (ox >= 0 && ox < (long) w4)
                      o[oy * w4 + ox] += col[py * w8 + px];
                  }
              }
          }
      for (gsize i = 0; i < (gsize) h4 * w4; i++)
        o[i] *= 0.25f;
    }
  return TRUE;
}

static gboolean
attention (CpuPlan *plan, guint c4, const float *mm, GError **error)
{
  const guint h4 = plan->h / 4, w4 = plan->w / 4, h8 = plan->h / 8, w8 = plan->w / 8;
  const gsize l = (gsize) h8 * w8, k9 = (gsize) c4 * 9;
  g_autofree float *pd = g_new (float, (gsize) c4 * l);

  /* Background patches: 4 x 4 at stride 2 of pmconv6's output, the kernels of the
   * reconstruction; and 3 x 3 of it downsampled by 2, the kernels of the matching. */
  picard_cpu_extract_patches (c4, h4, w4, plan->p6, 4, 2, plan->raw);
  for (guint c = 0; c < c4; c++)
    for (guint y = 0; y < h8; y++)
      for (guint x = 0; x < w8; x++)
        pd[((gsize) c * h8 + y) * w8 + x] = plan->p6[((gsize) c * h4 + 2 * y) * w4 + 2 * x];
  picard_cpu_extract_patches (c4, h8, w8, pd, 3, 1, plan->pat);
  picard_cpu_patch_normalize (l, k9, PICARD_NETWORK_ATTENTION_EPS, plan->pat, plan->pn);
  if (!picard_cpu_match (l, k9, plan->pn, plan->pat, plan->sc, error))
    return FALSE;
  picard_cpu_fuse (h8, w8, FALSE, plan->sc, plan->fused);
  picard_cpu_fuse (h8, w8, TRUE, plan->fused, plan->sc);
  picard_cpu_softmax (l, plan->sc, mm, PICARD_NETWORK_SOFTMAX_SCALE, plan->att);
  return picard_cpu_reconstruct (c4, h8, w8, plan->att, plan->raw, plan->cols, plan->att_out,
                                 error);
}

/* ---- running -------------------------------------------------------------------------- */

static void
clamp_unit (float *v, gsize n)
{
  for (gsize i = 0; i < n; i++)
    v[i] = v[i] < -1.0f ? -1.0f : v[i] > 1.0f ? 1.0f : v[i];
}

/* out = a * m + b * (1 - m) over @d planes. */
static void
compose (guint d, gsize plane, const float *a, const float *b, const float *m, float *out)
{
  for (guint c = 0; c < d; c++)
    for (gsize i = 0; i < plane; i++)
      out[c * plane + i] = a[c * plane + i] * m[i] + b[c * plane + i] * (1.0f - m[i]);
}

/* Sample @i of @c through @plan. */
static gboolean
run_sample (PicardNetwork *net, CpuPlan *plan, const PicardNetworkChunk *c, guint i,
            GError **error)
{
  guint d = net->input_dim, c4 = 4 * net->cnum, n_drop = net->dropout_names->len - 1;
  gsize plane = (gsize) c->height * c->width, sample = plane * d;
  gsize feat = (gsize) c4 * (c->height / 4) * (c->width / 4);
  gsize l = (gsize) (c->height / 8) * (c->width / 8);
  /* Samples of one group read their shared row in place. */
  gsize row = i / c->repeat;
  const float *x = c->x + row * sample;
  const float *m = c->mask + (c->mask_n == 1 ? 0 : row) * plane;
  const float *om = c->ones_mask + (c->mask_n == 1 ? 0 : row) * 2 * plane;

  for (guint k = 0; k < n_drop; k++)
    {
      int index = picard_network_find_layer (g_ptr_array_index (net->dropout_names, k));

      dnnl_memory_set_data_handle (plan->dropout[k],
                                   (void *) (c->dropout[k] + (gsize) i * net->layers[index].cout));
    }
  memcpy (plan->xin, x, sample * sizeof (float));
  memcpy (plan->xin + sample, om, 2 * plane * sizeof (float));
  if (!run_steps (plan->stream, plan->steps, 0, plan->coarse_end, error))
    return FALSE;
  clamp_unit (plan->xs1, sample);
  if (c->x_stage1 != NULL)
    memcpy (c->x_stage1 + i * sample, plan->xs1, sample * sizeof (float));
  compose (d, plane, plan->xs1, x, m, plan->xnow);
  memcpy (plan->xnow + sample, om, 2 * plane * sizeof (float));
  if (!run_steps (plan->stream, plan->steps, plan->coarse_end, plan->pm_end, error)
      || !attention (plan, c4, c->mm, error)
      || !run_steps (plan->stream, plan->steps, plan->pm_end, plan->steps->len, error))
    return FALSE;
  clamp_unit (plan->xs2, sample);
  if (c->x_stage2 != NULL)
    memcpy (c->x_stage2 + i * sample, plan->xs2, sample * sizeof (float));
  if (c->completion != NULL)
    compose (d, plane, plan->xs2, x, m, c->completion + i * sample);
  if (c->pmconv6 != NULL)
    memcpy (c->pmconv6 + i * feat, plan->p6, feat * sizeof (float));
  if (c->attention != NULL)
    memcpy (c->attention + i * feat, plan->att_out, feat * sizeof (float));
  if (c->scores != NULL)
    memcpy (c->scores + i * l * l, plan->att, l * l * sizeof (float));
  return TRUE;
}

static gboolean
cpu_run (PicardNetwork *net, const PicardNetworkChunk *c, GError **error)
{
  CpuBackend *cpu = CPU (net);
  /* A lone sample gets every core inside its layers; so does every sample with
   * PICARD_CPU_PARALLEL=layers (for comparing the two in benchmarks). */
  guint n_threads = cpu->samples_in_parallel ? MIN (cpu->n_threads, c->n) : 1;
  GError *first_error = NULL;

  for (guint t = 0; t < n_threads; t++)
    if (cpu->plans[t] == NULL || cpu->plans[t]->h != c->height || cpu->plans[t]->w != c->width)
      {
        g_clear_pointer (&cpu->plans[t], plan_free);
        cpu->plans[t] = plan_new (net, c->height, c->width, error);
        if (cpu->plans[t] == NULL)
          return FALSE;
      }
  /* Inside the parallel region oneDNN and the attention's loops run on their own thread. */
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
  for (guint i = 0; i < c->n; i++)
    {
      GError *local = NULL;

      if (g_atomic_pointer_get (&first_error) != NULL)
        continue;
      if (!run_sample (net, cpu->plans[omp_get_thread_num ()], c, i, &local)
          && !g_atomic_pointer_compare_and_exchange (&first_error, NULL, local))
        g_error_free (local);
    }
  if (first_error != NULL)
    {
      g_propagate_error (error, first_error);
      return FALSE;
    }
  return TRUE;
}

/* ---- critic --------------------------------------------------------------------------- */

static CriticPlan *
critic_plan_new (PicardNetwork *net, guint n, guint size, GError **error)
{
  CpuBackend *cpu = CPU (net);
  CriticPlan *plan = g_new0 (CriticPlan, 1);
  dnnl_memory_desc_t md;
  dnnl_memory_t cur;
  Builder b = { 0 };

  plan->n = n, plan->size = size;
  plan->steps = g_array_new (FALSE, FALSE, sizeof (Step));
  plan->memories = g_ptr_array_new_with_free_func (memory_destroy);
  plan->primitives = g_ptr_array_new_with_free_func (primitive_destroy);
  if (!builder_init (&b, cpu->engine, cpu->stream, plan->steps, plan->memories,
                     plan->primitives, error))
    {
      builder_clear (&b);
      critic_plan_free (plan);
      return NULL;
    }
  plain_md (&md, n, net->input_dim, size, size);
  /* Handles are set per call: any valid pointer will do until then. */
  cur = plan->in = memory_new (&b, &md, plan, error);
  for (guint i = 0; i < 4 && cur != NULL; i++)
    {
      ConvSpec spec = {
        .cin = net->critic[i].cin, .cout = net->critic[i].cout, .k = 5, .stride = 2,
        .dilation = 1, .act = dnnl_eltwise_relu, .alpha = PICARD_NETWORK_LEAKY_SLOPE,
        .weight = net->critic[i].weight, .bias = net->critic[i].bias,
        /* Plain at the end: the features are PyTorch's flatten(1) of NCHW. */
        .plain_out = i == 3, .out_handle = i == 3 ? (void *) plan : NULL,
      };

      cur = add_conv (&b, cur, &spec, error);
    }
  plan->out = cur;
  builder_clear (&b);
  if (cur == NULL)
    {
      critic_plan_free (plan);
      return NULL;
    }
  return plan;
}

static gboolean
cpu_critic (PicardNetwork *net, guint n, guint size, const float *crops, float *features,
            GError **error)
{
  CpuBackend *cpu = CPU (net);
  guint chunk = MIN (n, 64), f = picard_network_get_feature_length (net, size);
  gsize crop_len = (gsize) net->input_dim * size * size;

  for (guint start = 0; start < n; start += chunk)
    {
      guint valid = MIN (chunk, n - start);

      if (cpu->critic_plan == NULL || cpu->critic_plan->n != valid
          || cpu->critic_plan->size != size)
        {
          g_clear_pointer (&cpu->critic_plan, critic_plan_free);
          if ((cpu->critic_plan = critic_plan_new (net, valid, size, error)) == NULL)
            return FALSE;
        }
      dnnl_memory_set_data_handle (cpu->critic_plan->in, (void *) (crops + start * crop_len));
      dnnl_memory_set_data_handle (cpu->critic_plan->out, features + (gsize) start * f);
      if (!run_steps (cpu->stream, cpu->critic_plan->steps, 0, cpu->critic_plan->steps->len,
                      error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the backend ---------------------------------------------------------------------- */

static void
cpu_invalidate (PicardNetwork *net)
{
  CpuBackend *cpu = CPU (net);

  for (guint t = 0; t < cpu->n_threads; t++)
    g_clear_pointer (&cpu->plans[t], plan_free);
}

static void
cpu_free (PicardNetwork *net)
{
  CpuBackend *cpu = CPU (net);

  cpu_invalidate (net);
  g_free (cpu->plans);
  critic_plan_free (cpu->critic_plan);
  if (cpu->stream != NULL)
    dnnl_stream_destroy (cpu->stream);
  if (cpu->engine != NULL)
    dnnl_engine_destroy (cpu->engine);
  g_free (cpu->device_name);
  g_free (cpu);
}

static const char *
cpu_device_name (PicardNetwork *net)
{
  return CPU (net)->device_name;
}

static guint
cpu_chunk_size (PicardNetwork *net, guint height, guint width)
{
  return CHUNK_PER_THREAD * CPU (net)->n_threads;
}


static const PicardNetworkBackend cpu_backend = {
  .name = "cpu",
  .free = cpu_free,
  .device_name = cpu_device_name,
  .chunk_size = cpu_chunk_size,
  .invalidate = cpu_invalidate,
  .run = cpu_run,
  .critic = cpu_critic,
};

static const char *
isa_name (dnnl_cpu_isa_t isa)
{
  switch ((int) isa)
    {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx512_mic: case dnnl_cpu_isa_avx512_mic_4ops: return "AVX-512 (MIC)";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 AMX";
    default: return "generic";
    }
}

gboolean
picard_network_cpu_attach (PicardNetwork *net, GError **error)
{
  CpuBackend *cpu = g_new0 (CpuBackend, 1);
  const dnnl_version_t *version = dnnl_version ();

  net->backend = &cpu_backend;
  net->backend_data = cpu;
  cpu->n_threads = (guint) MAX (omp_get_max_threads (), 1);
  cpu->samples_in_parallel = g_strcmp0 (g_getenv ("PICARD_CPU_PARALLEL"), "layers") != 0;
  cpu->plans = g_new0 (CpuPlan *, cpu->n_threads);
  if (!check (dnnl_engine_create (&cpu->engine, dnnl_cpu, 0), "dnnl_engine_create", error)
      || !check (dnnl_stream_create (&cpu->stream, cpu->engine, dnnl_stream_default_flags),
                 "dnnl_stream_create", error))
    return FALSE;
  cpu->device_name = g_strdup_printf ("CPU, %u threads, %s (oneDNN %d.%d.%d)",
                                      cpu->n_threads,
                                      isa_name (dnnl_get_effective_cpu_isa ()), version->major,
                                      version->minor, version->patch);
  return TRUE;
}
