#version 450
// softmax: contextual attention's masked softmax over channels at every pixel,
// out[l] = softmax_l(scale * x[l] * mm[l]) * mm[l], mm an fp32 [c] (masked patches give
// exp(0) terms, as DeepFill computes them).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkSoftmaxPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint pixels, c, hw;
  float scale;
} pc;

layout(binding = 0, std430) readonly buffer MaskBuf { float mm[]; };
layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

vec4
masks (uint blk)
{
  vec4 m = vec4 (0.0);
  [[unroll]] for (uint j = 0; j < 4; j++)
    if (blk * 4u + j < pc.c)
      m[j] = mm[blk * 4u + j];
  return m;
}

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.pixels)
    return;
  const uint c4 = (pc.c + 3u) / 4u, n = i / pc.hw, p = i % pc.hw;
  const uint base = n * c4 * pc.hw + p;
  float mx = -3.0e38;
  for (uint b = 0u; b < c4; b++)
    {
      const vec4 v = texelFetch (x, int (base + b * pc.hw)) * masks (b) * pc.scale;
      [[unroll]] for (uint j = 0; j < 4; j++)
        if (b * 4u + j < pc.c)
          mx = max (mx, v[j]);
    }
  float sum = 0.0;
  for (uint b = 0u; b < c4; b++)
    {
      const vec4 v = texelFetch (x, int (base + b * pc.hw)) * masks (b) * pc.scale;
      [[unroll]] for (uint j = 0; j < 4; j++)
        if (b * 4u + j < pc.c)
          sum += exp (v[j] - mx);
    }
  for (uint b = 0u; b < c4; b++)
    {
      const vec4 m = masks (b);
      const vec4 v = texelFetch (x, int (base + b * pc.hw)) * m * pc.scale;
      y[base + b * pc.hw] = DVEC4 (exp (v - mx) / sum * m);
    }
}
