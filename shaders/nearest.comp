#version 450
// nearest: nearest-neighbour resampling by an integer factor, up (out[y] = in[y / f]) or
// down (out[y] = in[y * f], PyTorch's nearest with scale 1/f).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkNearestPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, h, w, oh;
  uint ow, factor, up;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  const uint opix = pc.oh * pc.ow, plane = i / opix, p = i % opix;
  const uint oy = p / pc.ow, ox = p % pc.ow;
  const uint iy = pc.up != 0u ? oy / pc.factor : oy * pc.factor;
  const uint ix = pc.up != 0u ? ox / pc.factor : ox * pc.factor;
  y[i] = DVEC4 (texelFetch (x, int (plane * pc.h * pc.w + iy * pc.w + ix)));
}
