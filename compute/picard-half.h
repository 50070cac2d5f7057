/* picard-half.h: 16-bit floats to and from float32: IEEE binary16 (fp16: checkpoints, the
 * GPU's fp16 buffers) and bfloat16 (checkpoints). Inline, so that the checkpoint readers
 * (also compiled alone into the fuzzers) need nothing else. */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

G_BEGIN_DECLS

/* To binary16, rounding to nearest even as the GPU's conversions do; NaN stays a quiet NaN,
 * values from 65520 up become infinity. */
static inline guint16
picard_half_from_float (float value)
{
  guint32 x, abs, sign, h, rest;

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
  h = ((abs >> 23) - 112u) << 10 | ((abs & 0x7fffffu) >> 13);
  rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    h++;                                        /* a carry moves into the exponent: fine */
  return (guint16) (sign | h);
}

/* From binary16; exact (every fp16 value is a float32 value). */
static inline float
picard_half_to_float (guint16 half)
{
  guint32 sign = (guint32) (half & 0x8000u) << 16;
  guint32 exp = (half >> 10) & 0x1fu, mant = half & 0x3ffu, bits;
  float value;

  if (exp == 0)
    {
      /* zero or subnormal: mant * 2^-24, exact in float32 */
      value = ldexpf ((float) mant, -24);
      return sign ? -value : value;
    }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);   /* Inf, NaN */
  else
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  memcpy (&value, &bits, sizeof value);
  return value;
}

/* From bfloat16: the top half of a float32. */
static inline float
picard_bfloat16_to_float (guint16 bits)
{
  guint32 out = (guint32) bits << 16;
  float value;

  memcpy (&value, &out, sizeof value);
  return value;
}

G_END_DECLS
