#version 450
// dropout-mask: per-sample, per-channel spatial dropout scales (1/(1-p) kept, 0 dropped)
// from Philox4x32-10 keyed by the seed, with counter (channel, layer, sample, patch). The C
// twin is picard_ref_dropout_mask() in compute/picard-ref.c.
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkDropoutPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint seed_lo, seed_hi, layer, channels;
  uint n, threshold;
  float scale;
} pc;

layout(binding = 0, std430) readonly buffer Ids { uint ids[]; };  // (patch, sample) per sample
layout(binding = 1, std430) writeonly buffer Mask { float mask[]; };

uvec4
philox4x32 (uvec4 c, uvec2 k)
{
  for (uint round = 0u; round < 10u; round++)
    {
      if (round > 0u)
        k += uvec2 (0x9E3779B9u, 0xBB67AE85u);
      uint hi0, lo0, hi1, lo1;
      umulExtended (0xD2511F53u, c.x, hi0, lo0);
      umulExtended (0xCD9E8D57u, c.z, hi1, lo1);
      c = uvec4 (hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
  return c;
}

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.n * pc.channels)
    return;
  const uint b = i / pc.channels, ch = i % pc.channels;
  const uvec4 r = philox4x32 (uvec4 (ch, pc.layer, ids[2u * b + 1u], ids[2u * b]),
                              uvec2 (pc.seed_lo, pc.seed_hi));
  mask[i] = (r.x >> 8) >= pc.threshold ? pc.scale : 0.0;
}
