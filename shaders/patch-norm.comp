#version 450
// patch-norm: scales each packed weight row (one output channel of one sample) by
// 1 / sqrt(sum(w^2 + eps)) over its real elements, as contextual attention normalises its
// matching patches (eps 1e-4 per element, DeepFill's escape_NaN).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkPatchNormPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint rows, cin, cin4, kk;
  float eps;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

void
main ()
{
  const uint r = flat_invocation ();
  if (r >= pc.rows)
    return;
  const uint base = r * pc.cin4 * pc.kk;
  float s = float (pc.cin * pc.kk) * pc.eps;
  for (uint i = 0u; i < pc.cin4 * pc.kk; i++)
    {
      const vec4 v = texelFetch (x, int (base + i));
      s += dot (v, v);
    }
  const float inv = inversesqrt (s);
  for (uint i = 0u; i < pc.cin4 * pc.kk; i++)
    y[base + i] = DVEC4 (texelFetch (x, int (base + i)) * inv);
}
