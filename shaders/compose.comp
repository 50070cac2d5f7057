#version 450
// compose: out = a * m + b * (1 - m), with the one-channel mask m broadcast over channels
// (and over the batch when it has a single sample).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkComposePush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, c4, hw, mask_batch;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer a;
layout(binding = 9) uniform samplerBuffer b;
layout(binding = 10) uniform samplerBuffer m;

void
main ()
{
  const uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u
                 + gl_LocalInvocationID.x;
  if (i >= pc.texels)
    return;
  const uint n = i / (pc.c4 * pc.hw), p = i % pc.hw;
  const float mv = texelFetch (m, int ((pc.mask_batch > 1u ? n : 0u) * pc.hw + p)).x;
  y[i] = DVEC4 (texelFetch (a, int (i)) * mv + texelFetch (b, int (i)) * (1.0 - mv));
}
