// conv2d-common.glsl: what the three convolution shaders share: the push constants, the bias,
// dropout-mask and output bindings, and the finishing of an output texel.
#include "common.glsl"

// Mirrored by PicardVkConvPush in compute/picard-vk-ops.c (size asserted there).
layout(push_constant) uniform Push {
  uint n, cin4, h, w;
  uint cout, cout4_total, cout4_offset, oh;
  uint ow, k, stride, dil;
  int pad;
  uint act;
  float alpha;
  uint has_bias;
  uint has_mask, w_batch_stride;
} pc;

layout(binding = 0, std430) readonly buffer Bias { float bias[]; };
layout(binding = 1, std430) readonly buffer Mask { float mask[]; };
layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };

// Output channels co..co+3 of sample nb: their bias, their dropout factor, and which of them
// exist (the last block's padding channels are written as zeros, whatever the sums were).
void
conv_channels (uint nb, uint co, out vec4 b, out vec4 m, out bvec4 real)
{
  b = vec4 (0.0);
  m = vec4 (1.0);
  real = bvec4 (false);
  [[unroll]] for (uint j = 0; j < 4; j++)
    if (co + j < pc.cout)
      {
        real[j] = true;
        if (pc.has_bias != 0u)
          b[j] = bias[co + j];
        if (pc.has_mask != 0u)
          m[j] = mask[nb * pc.cout + co + j];
      }
}

// Writes the texel of output channels co..co+3 (a multiple of 4) at pixel p from its sums:
// bias, then activation, then dropout.
void
conv_write (uint nb, uint co, uint p, uint npix, vec4 sums, vec4 b, vec4 m, bvec4 real)
{
  y[(nb * pc.cout4_total + pc.cout4_offset + co / 4u) * npix + p] =
    DVEC4 (mix (vec4 (0.0), activate (sums + b, pc.act, pc.alpha) * m, real));
}
