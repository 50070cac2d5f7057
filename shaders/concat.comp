#version 450
// concat: channel concatenation out = [a, b]. An input whose batch divides out's is broadcast
// in groups: output sample n reads input sample n * batch / out_batch (one sample: the
// generator's constant channels; one per group of samples: an input they share).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkConcatPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, c, ca, cb;
  uint hw, a_batch, b_batch, out_batch;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer a;
layout(binding = 9) uniform samplerBuffer b;

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  const uint c4 = (pc.c + 3u) / 4u;
  const uint n = i / (c4 * pc.hw), blk = i / pc.hw % c4, p = i % pc.hw;
  const uint na = n * pc.a_batch / pc.out_batch, nb = n * pc.b_batch / pc.out_batch;
  const uint ca4 = (pc.ca + 3u) / 4u, cb4 = (pc.cb + 3u) / 4u;
  vec4 v = vec4 (0.0);
  [[unroll]] for (uint j = 0; j < 4; j++)
    {
      const uint ch = blk * 4u + j;
      if (ch < pc.ca)
        v[j] = texelFetch (a, int ((na * ca4 + ch / 4u) * pc.hw + p))[ch % 4u];
      else if (ch < pc.c)
        {
          const uint cc = ch - pc.ca;
          v[j] = texelFetch (b, int ((nb * cb4 + cc / 4u) * pc.hw + p))[cc % 4u];
        }
    }
  y[i] = DVEC4 (v);
}
