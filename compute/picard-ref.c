/* picard-ref.c: the C references of the ops (see picard-ref.h). */
#include "picard-ref.h"

#include <math.h>
#include <string.h>

guint16
picard_ref_half_from_float (float value)
{
  guint32 x, abs, sign;

  memcpy (&x, &value, sizeof x);
  sign = (x >> 16) & 0x8000u;
  abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u)                       /* Inf, NaN (kept quiet) */
    return (guint16) (sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (abs >= 0x477ff000u)                       /* >= 65520 rounds to Inf */
    return (guint16) (sign | 0x7c00u);
  if (abs < 0x38800000u)                        /* below 2^-14: subnormal or zero */
    {
      float a;
      memcpy (&a, &abs, sizeof a);
      /* Scaling by 2^24 is exact; nearbyintf rounds half to even. 1024 encodes 2^-14. */
      return (guint16) (sign | (guint32) nearbyintf (a * 16777216.0f));
    }
  guint32 h = ((abs >> 23) - 112u) << 10 | ((abs & 0x7fffffu) >> 13);
  guint32 rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    h++;                                        /* a carry moves into the exponent: fine */
  return (guint16) (sign | h);
}

float
picard_ref_half_to_float (guint16 half)
{
  guint32 sign = (guint32) (half & 0x8000u) << 16;
  guint32 exp = (half >> 10) & 0x1fu, mant = half & 0x3ffu, bits;
  float value;

  if (exp == 0)
    {
      value = ldexpf ((float) mant, -24);
      return sign ? -value : value;
    }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  memcpy (&value, &bits, sizeof value);
  return value;
}

void
picard_ref_round_to_half (float *values, gsize count)
{
  for (gsize i = 0; i < count; i++)
    values[i] = picard_ref_half_to_float (picard_ref_half_from_float (values[i]));
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
