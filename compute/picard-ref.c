/* picard-ref.c: the C references of the ops (see picard-ref.h). */
#include "picard-ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
picard_ref_round_to_half (float *values, gsize count)
{
  for (gsize i = 0; i < count; i++)
    values[i] = picard_half_to_float (picard_half_from_float (values[i]));
}

void
picard_ref_philox4x32 (const guint32 counter[4], const guint32 key[2], guint32 out[4])
{
  guint32 c[4] = { counter[0], counter[1], counter[2], counter[3] };
  guint32 k0 = key[0], k1 = key[1];

  for (int round = 0; round < 10; round++)
    {
      if (round > 0)
        {
          k0 += 0x9E3779B9u;
          k1 += 0xBB67AE85u;
        }
      guint64 p0 = (guint64) 0xD2511F53u * c[0];
      guint64 p1 = (guint64) 0xCD9E8D57u * c[2];
      guint32 next[4] = {
        (guint32) (p1 >> 32) ^ c[1] ^ k0, (guint32) p1,
        (guint32) (p0 >> 32) ^ c[3] ^ k1, (guint32) p0,
      };
      memcpy (c, next, sizeof c);
    }
  memcpy (out, c, sizeof c);
}

guint32
picard_ref_dropout_threshold (float p)
{
  if (!(p > 0.0f))
    return 0;
  if (p >= 1.0f)
    return 1u << 24;
  return (guint32) lround ((double) p * 16777216.0);
}

void
picard_ref_dropout_mask (guint64 seed, const guint32 *patch_ids, const guint32 *sample_ids,
                         guint n, guint layer, guint channels, float p, float *mask)
{
  const guint32 key[2] = { (guint32) seed, (guint32) (seed >> 32) };
  const guint32 threshold = picard_ref_dropout_threshold (p);
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;

  for (guint i = 0; i < n; i++)
    for (guint c = 0; c < channels; c++)
      {
        const guint32 counter[4] = { c, layer, sample_ids[i], patch_ids[i] };
        guint32 r[4];
        picard_ref_philox4x32 (counter, key, r);
        mask[(gsize) i * channels + c] = (r[0] >> 8) >= threshold ? scale : 0.0f;
      }
}

static float
activate (float x, PicardVkActivation act, float alpha)
{
  switch (act)
    {
    case PICARD_VK_ACT_ELU: return x > 0.0f ? x : expf (x) - 1.0f;
    case PICARD_VK_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case PICARD_VK_ACT_LEAKY_RELU: return x > 0.0f ? x : x * alpha;
    case PICARD_VK_ACT_NONE:
    default: return x;
    }
}

void
picard_ref_conv2d (guint n, guint cin, guint h, guint w, const float *in,
                   guint cout, guint k, const float *weights, gboolean per_sample_weights,
                   const float *bias, const PicardVkConvParams *p,
                   const float *mask, float *out)
{
  const guint oh = picard_vk_conv_out_size (h, k, p->stride, p->dilation, p->padding);
  const guint ow = picard_vk_conv_out_size (w, k, p->stride, p->dilation, p->padding);
  const gsize wsize = (gsize) cout * cin * k * k;

  for (guint b = 0; b < n; b++)
    for (guint co = 0; co < cout; co++)
      for (guint oy = 0; oy < oh; oy++)
        for (guint ox = 0; ox < ow; ox++)
          {
            const float *wb = weights + (per_sample_weights ? b * wsize : 0);
            double acc = bias != NULL ? bias[co] : 0.0;
            for (guint ci = 0; ci < cin; ci++)
              for (guint ky = 0; ky < k; ky++)
                for (guint kx = 0; kx < k; kx++)
                  {
                    long iy = (long) (oy * p->stride + ky * p->dilation) - (long) p->padding;
                    long ix = (long) (ox * p->stride + kx * p->dilation) - (long) p->padding;
                    if (iy < 0 || iy >= (long) h || ix < 0 || ix >= (long) w)
                      continue;
                    acc += (double) wb[((gsize) co * cin + ci) * k * k + ky * k + kx]
                           * in[(((gsize) b * cin + ci) * h + (gsize) iy) * w + (gsize) ix];
                  }
            float v = activate ((float) acc, p->act, p->alpha);
            if (mask != NULL)
              v *= mask[(gsize) b * cout + co];
            out[(((gsize) b * cout + co) * oh + oy) * ow + ox] = v;
          }
}

void
picard_ref_nearest (guint n, guint c, guint h, guint w, const float *in, gboolean up,
                    guint factor, float *out)
{
  const guint oh = up ? h * factor : h / factor, ow = up ? w * factor : w / factor;

  for (gsize plane = 0; plane < (gsize) n * c; plane++)
    for (guint y = 0; y < oh; y++)
      for (guint x = 0; x < ow; x++)
        {
          guint iy = up ? y / factor : y * factor, ix = up ? x / factor : x * factor;
          out[(plane * oh + y) * ow + x] = in[(plane * h + iy) * w + ix];
        }
}

void
picard_ref_clamp (gsize count, const float *in, float lo, float hi, float *out)
{
  for (gsize i = 0; i < count; i++)
    out[i] = in[i] < lo ? lo : in[i] > hi ? hi : in[i];
}

void
picard_ref_compose (guint n, guint c, guint h, guint w, const float *a, guint a_n,
                    const float *b, guint b_n, const float *m, guint mask_n, float *out)
{
  const gsize hw = (gsize) h * w, chw = hw * c;

  for (guint i = 0; i < n; i++)
    {
      const float *ai = a + (gsize) i * a_n / n * chw, *bi = b + (gsize) i * b_n / n * chw;
      const float *mi = m + (gsize) i * mask_n / n * hw;

      for (guint ch = 0; ch < c; ch++)
        for (gsize p = 0; p < hw; p++)
          {
            gsize e = (gsize) ch * hw + p;
            out[(gsize) i * chw + e] = ai[e] * mi[p] + bi[e] * (1.0f - mi[p]);
          }
    }
}

void
picard_ref_concat (guint n, guint h, guint w, guint ca, const float *a, guint a_n,
                   guint cb, const float *b, guint b_n, float *out)
{
  const gsize hw = (gsize) h * w;

  for (guint i = 0; i < n; i++)
    {
      memcpy (out + (gsize) i * (ca + cb) * hw, a + (gsize) i * a_n / n * ca * hw,
              ca * hw * sizeof (float));
      memcpy (out + ((gsize) i * (ca + cb) + ca) * hw, b + (gsize) i * b_n / n * cb * hw,
              cb * hw * sizeof (float));
    }
}

void
picard_ref_extract_patches (guint n, guint c, guint h, guint w, const float *in, guint k,
                            guint stride, guint rate, float *patches)
{
  guint top, left;
  const guint lh = picard_vk_same_padding (h, k, stride, rate, &top);
  const guint lw = picard_vk_same_padding (w, k, stride, rate, &left);
  gsize o = 0;

  for (guint i = 0; i < n; i++)
    for (guint l = 0; l < lh * lw; l++)
      for (guint ch = 0; ch < c; ch++)
        for (guint ky = 0; ky < k; ky++)
          for (guint kx = 0; kx < k; kx++)
            {
              long y = (long) (l / lw * stride + ky * rate) - top;
              long x = (long) (l % lw * stride + kx * rate) - left;
              patches[o++] = y < 0 || y >= (long) h || x < 0 || x >= (long) w ? 0.0f
                             : in[(((gsize) i * c + ch) * h + (gsize) y) * w + (gsize) x];
            }
}

void
picard_ref_patch_normalize (gsize rows, gsize len, float eps, const float *in, float *out)
{
  for (gsize r = 0; r < rows; r++)
    {
      double s = 0.0;
      for (gsize i = 0; i < len; i++)
        s += (double) in[r * len + i] * in[r * len + i] + eps;
      for (gsize i = 0; i < len; i++)
        out[r * len + i] = (float) (in[r * len + i] / sqrt (s));
    }
}

void
picard_ref_conv_transpose2d (guint n, guint cin, guint h, guint w, const float *in,
                             guint cout, guint k, const float *weights,
                             gboolean per_sample_weights, guint stride, guint padding,
                             float scale, float *out)
{
  const guint oh = (h - 1) * stride + k - 2 * padding, ow = (w - 1) * stride + k - 2 * padding;
  const gsize wsize = (gsize) cout * cin * k * k;
  g_autofree double *acc = g_new (double, (gsize) oh * ow);

  for (guint i = 0; i < n; i++)
    for (guint co = 0; co < cout; co++)
      {
        const float *wb = weights + (per_sample_weights ? i * wsize : 0);
        memset (acc, 0, (gsize) oh * ow * sizeof (double));
        for (guint ci = 0; ci < cin; ci++)
          for (guint iy = 0; iy < h; iy++)
            for (guint ix = 0; ix < w; ix++)
              for (guint ky = 0; ky < k; ky++)
                for (guint kx = 0; kx < k; kx++)
                  {
                    long oy = (long) (iy * stride + ky) - padding;
                    long ox = (long) (ix * stride + kx) - padding;
                    if (oy < 0 || oy >= (long) oh || ox < 0 || ox >= (long) ow)
                      continue;
                    acc[oy * ow + ox] += (double) in[(((gsize) i * cin + ci) * h + iy) * w + ix]
                                         * wb[(((gsize) co * cin + ci) * k + ky) * k + kx];
                  }
        for (gsize p = 0; p < (gsize) oh * ow; p++)
          out[((gsize) i * cout + co) * oh * ow + p] = (float) (acc[p] * scale);
      }
}

void
picard_ref_fuse (guint n, guint hb, guint wb, guint hf, guint wf, gboolean transposed,
                 const float *in, float *out)
{
  const gsize lb = (gsize) hb * wb, lf = (gsize) hf * wf;

  for (guint b = 0; b < n; b++)
    {
      const float *s = in + b * lb * lf;
      float *d = out + b * lb * lf;
      for (gsize l = 0; l < lb; l++)
        for (gsize f = 0; f < lf; f++)
          {
            /* Matrix coordinates of (l, f) in the chosen order, and back. */
            gsize i = transposed ? l % wb * hb + l / wb : l;
            gsize j = transposed ? f % wf * hf + f / wf : f;
            float v = 0.0f;
            for (int dd = -1; dd <= 1; dd++)
              {
                if ((dd < 0 && (i == 0 || j == 0)) || (dd > 0 && (i + 1 >= lb || j + 1 >= lf)))
                  continue;
                gsize ii = i + dd, jj = j + dd;
                gsize ll = transposed ? ii % hb * wb + ii / hb : ii;
                gsize ff = transposed ? jj % hf * wf + jj / hf : jj;
                v += s[ll * lf + ff];
              }
            d[l * lf + f] = v;
          }
    }
}

void
picard_ref_softmax (guint n, guint c, gsize hw, const float *in, const float *mm, float scale,
                    float *out)
{
  for (guint b = 0; b < n; b++)
    for (gsize p = 0; p < hw; p++)
      {
        double mx = -HUGE_VAL, sum = 0.0;
        for (guint l = 0; l < c; l++)
          mx = MAX (mx, (double) scale * in[((gsize) b * c + l) * hw + p] * mm[l]);
        for (guint l = 0; l < c; l++)
          sum += exp ((double) scale * in[((gsize) b * c + l) * hw + p] * mm[l] - mx);
        for (guint l = 0; l < c; l++)
          {
            gsize e = ((gsize) b * c + l) * hw + p;
            out[e] = (float) (exp ((double) scale * in[e] * mm[l] - mx) / sum * mm[l]);
          }
      }
}

void
picard_ref_l2_distance (guint n, guint c, guint h, guint w, const float *a, const float *b,
                        guint group, guint y0, guint x0, guint rh, guint rw, float *dist)
{
  for (guint i = 0; i < n; i++)
    {
      double s = 0.0;
      for (guint ch = 0; ch < c; ch++)
        for (guint y = y0; y < y0 + rh; y++)
          for (guint x = x0; x < x0 + rw; x++)
            {
              double d = (double) a[(((gsize) i * c + ch) * h + y) * w + x]
                         - b[(((gsize) (i / group) * c + ch) * h + y) * w + x];
              s += d * d;
            }
      dist[i] = (float) sqrt (s);
    }
}

static int
compare_floats (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return x < y ? -1 : x > y;
}

void
picard_ref_reduce_groups (PicardVkReduce op, guint groups, guint m, const float *in, float *out)
{
  g_autofree float *sorted = g_new (float, MAX (m, 1));

  for (guint g = 0; g < groups; g++)
    {
      const float *v = in + (gsize) g * m;
      switch (op)
        {
        case PICARD_VK_REDUCE_MIN:
          out[g] = v[0];
          for (guint i = 1; i < m; i++)
            out[g] = MIN (out[g], v[i]);
          break;
        case PICARD_VK_REDUCE_MEAN:
          {
            double s = 0.0;
            for (guint i = 0; i < m; i++)
              s += v[i];
            out[g] = (float) (s / m);
          }
          break;
        case PICARD_VK_REDUCE_MEDIAN:
        default:
          memcpy (sorted, v, m * sizeof (float));
          qsort (sorted, m, sizeof (float), compare_floats);
          out[g] = m % 2 ? sorted[m / 2] : 0.5f * (sorted[m / 2 - 1] + sorted[m / 2]);
          break;
        }
    }
}

static void
cubic_coefficients (float t, float c[4])
{
  const float a = -0.75f;
  float x;

  x = t + 1.0f;
  c[0] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
  c[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
  x = 1.0f - t;
  c[2] = ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
  x = 2.0f - t;
  c[3] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
}

void
picard_ref_fma_peak (guint invocations, guint steps, float *out)
{
  for (guint i = 0; i < invocations; i++)
    for (guint j = 0; j < 4; j++)
      {
        float sum = 0.0f;
        for (guint k = 0; k < 8; k++)
          {
            float x = (float) (i + j) / (float) (1048576u << k);
            for (guint s = 0; s < 4 * steps; s++)
              x = fmaf (x, 0.999f, 0.001f);
            sum += x;
          }
        out[(gsize) i * 4 + j] = sum;
      }
}

void
picard_ref_bicubic (guint n, guint c, guint h, guint w, const float *in, guint oh, guint ow,
                    float *out)
{
  /* PyTorch: scale = in / out, source = scale * (dst + 0.5) - 0.5 without clamping, the
   * index guarded to the last row, neighbours clamped to the border. */
  const float sy = (float) h / (float) oh, sx = (float) w / (float) ow;

  for (gsize plane = 0; plane < (gsize) n * c; plane++)
    for (guint y = 0; y < oh; y++)
      for (guint x = 0; x < ow; x++)
        {
          float ry = sy * ((float) y + 0.5f) - 0.5f, rx = sx * ((float) x + 0.5f) - 0.5f;
          long y0 = MIN ((long) floorf (ry), (long) h - 1);
          long x0 = MIN ((long) floorf (rx), (long) w - 1);
          float cy[4], cx[4];
          cubic_coefficients (CLAMP (ry - (float) y0, 0.0f, 1.0f), cy);
          cubic_coefficients (CLAMP (rx - (float) x0, 0.0f, 1.0f), cx);
          double v = 0.0;
          for (int i = 0; i < 4; i++)
            {
              long yy = CLAMP (y0 - 1 + i, 0, (long) h - 1);
              double row = 0.0;
              for (int j = 0; j < 4; j++)
                {
                  long xx = CLAMP (x0 - 1 + j, 0, (long) w - 1);
                  row += cx[j] * in[(plane * h + (gsize) yy) * w + (gsize) xx];
                }
              v += cy[i] * row;
            }
          out[(plane * oh + y) * ow + x] = (float) v;
        }
}
