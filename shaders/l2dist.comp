#version 450
// l2dist: out[i] = || a[i] - b[i / group] ||_2 over the channels and a rectangular region
// (the completion distance of PICARD: completions of one patch against its ground truth).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkL2Push in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint c4, h, w, group;
  uint y0, x0, rh, rw;
} pc;

layout(binding = 2, std430) writeonly buffer Out { float dist[]; };
layout(binding = 8) uniform samplerBuffer a;
layout(binding = 9) uniform samplerBuffer b;

shared float partial[64];

void
main ()
{
  const uint i = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint hw = pc.h * pc.w, region = pc.rh * pc.rw;
  const uint abase = i * pc.c4 * hw, bbase = i / pc.group * pc.c4 * hw;
  float s = 0.0;
  for (uint e = t; e < pc.c4 * region; e += 64u)
    {
      const uint blk = e / region, r = e % region;
      const uint off = blk * hw + (pc.y0 + r / pc.rw) * pc.w + pc.x0 + r % pc.rw;
      const vec4 d = texelFetch (a, int (abase + off)) - texelFetch (b, int (bbase + off));
      s += dot (d, d);
    }
  partial[t] = s;
  barrier ();
  for (uint stride = 32u; stride > 0u; stride /= 2u)
    {
      if (t < stride)
        partial[t] += partial[t + stride];
      barrier ();
    }
  if (t == 0u)
    dist[i] = sqrt (partial[0]);
}
