#version 450
// bicubic: resampling to (oh, ow) as PyTorch's interpolate(mode='bicubic',
// align_corners=False): source = (dst + 0.5) * in/out - 0.5, Keys kernel with a = -0.75,
// neighbours clamped to the border.
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkBicubicPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, h, w, oh;
  uint ow;
  float scale_y, scale_x;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

const float A = -0.75;

vec4
coefficients (float t)
{
  const float t1 = t + 1.0, t2 = 1.0 - t, t3 = 2.0 - t;
  return vec4 (((A * t1 - 5.0 * A) * t1 + 8.0 * A) * t1 - 4.0 * A,
               ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0,
               ((A + 2.0) * t2 - (A + 3.0)) * t2 * t2 + 1.0,
               ((A * t3 - 5.0 * A) * t3 + 8.0 * A) * t3 - 4.0 * A);
}

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  const uint opix = pc.oh * pc.ow, plane = i / opix, p = i % opix;
  const uint oy = p / pc.ow, ox = p % pc.ow;
  const float sy = pc.scale_y * (float (oy) + 0.5) - 0.5;
  const float sx = pc.scale_x * (float (ox) + 0.5) - 0.5;
  const int y0 = min (int (floor (sy)), int (pc.h) - 1), x0 = min (int (floor (sx)), int (pc.w) - 1);
  const vec4 wy = coefficients (clamp (sy - float (y0), 0.0, 1.0));
  const vec4 wx = coefficients (clamp (sx - float (x0), 0.0, 1.0));
  const uint base = plane * pc.h * pc.w;
  vec4 r = vec4 (0.0);
  [[unroll]] for (int a = 0; a < 4; a++)
    {
      const int yy = clamp (y0 - 1 + a, 0, int (pc.h) - 1);
      vec4 row = vec4 (0.0);
      [[unroll]] for (int b = 0; b < 4; b++)
        {
          const int xx = clamp (x0 - 1 + b, 0, int (pc.w) - 1);
          row += wx[b] * texelFetch (x, int (base + uint (yy) * pc.w + uint (xx)));
        }
      r += wy[a] * row;
    }
  y[i] = DVEC4 (r);
}
