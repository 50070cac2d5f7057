#version 450
// compose: out = a * m + b * (1 - m), with the one-channel mask m broadcast over channels.
// An input whose batch divides out's is broadcast in groups: output sample n reads input
// sample n * batch / out_batch (one mask for the batch, or one input per group of samples).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkComposePush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, c4, hw, a_batch;
  uint b_batch, mask_batch, out_batch;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer a;
layout(binding = 9) uniform samplerBuffer b;
layout(binding = 10) uniform samplerBuffer m;

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  const uint sample_texels = pc.c4 * pc.hw;
  const uint n = i / sample_texels, k = i % sample_texels, p = i % pc.hw;
  const uint na = n * pc.a_batch / pc.out_batch, nb = n * pc.b_batch / pc.out_batch;
  const float mv = texelFetch (m, int (n * pc.mask_batch / pc.out_batch * pc.hw + p)).x;
  y[i] = DVEC4 (texelFetch (a, int (na * sample_texels + k)) * mv
                + texelFetch (b, int (nb * sample_texels + k)) * (1.0 - mv));
}
