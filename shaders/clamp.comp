#version 450
// clamp: out = clamp(in, lo, hi) elementwise (padding channels stay zero when lo <= 0 <= hi).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkClampPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels;
  float lo, hi;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  y[i] = DVEC4 (clamp (texelFetch (x, int (i)), pc.lo, pc.hi));
}
