#version 450
// conv2d-tiled: implicit-GEMM convolution for GPUs. A workgroup computes BM output channels
// x BN output pixels of one sample; per step it stages BK input-channel blocks (of 4) of the
// weights and of the im2col'd input in shared memory, and each invocation accumulates a
// TM x TN register block from them (TM = 4: one output texel per pixel).
#include "common.glsl"

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 4;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(local_size_x_id = 5, local_size_y_id = 6) in;  // BN / TN, BM / TM

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
layout(binding = 3, std430) readonly buffer In { DVEC4 x[]; };
layout(binding = 4, std430) readonly buffer Weights { DVEC4 wt[]; };

shared vec4 as[BK][BM];
shared vec4 bs[BK][BN];

void
main ()
{
  const uint nb = gl_WorkGroupID.z;
  const uint co0 = gl_WorkGroupID.y * BM;
  const uint px0 = gl_WorkGroupID.x * BN;
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint tid = ty * gl_WorkGroupSize.x + tx;
  const uint nthreads = gl_WorkGroupSize.x * gl_WorkGroupSize.y;
  const uint npix = pc.oh * pc.ow;
  const uint hw = pc.h * pc.w;
  const uint kk = pc.k * pc.k;

  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint t = 0; t < kk; t++)
    {
      const int dy = int (t / pc.k * pc.dil) - pc.pad, dx = int (t % pc.k * pc.dil) - pc.pad;
      for (uint c0 = 0; c0 < pc.cin4; c0 += BK)
        {
          for (uint i = tid; i < BK * BM; i += nthreads)
            {
              const uint kb = i / BM, m = i % BM;
              const uint co = co0 + m, c4 = c0 + kb;
              vec4 v = vec4 (0.0);
              if (co < pc.cout && c4 < pc.cin4)
                v = vec4 (wt[nb * pc.w_batch_stride + (co * pc.cin4 + c4) * kk + t]);
              as[kb][m] = v;
            }
          for (uint i = tid; i < BK * BN; i += nthreads)
            {
              const uint kb = i / BN, j = i % BN;
              const uint p = px0 + j, c4 = c0 + kb;
              vec4 v = vec4 (0.0);
              if (p < npix && c4 < pc.cin4)
                {
                  const int iy = int (p / pc.ow * pc.stride) + dy;
                  const int ix = int (p % pc.ow * pc.stride) + dx;
                  if (iy >= 0 && iy < int (pc.h) && ix >= 0 && ix < int (pc.w))
                    v = vec4 (x[(nb * pc.cin4 + c4) * hw + uint (iy) * pc.w + uint (ix)]);
                }
              bs[kb][j] = v;
            }
          barrier ();
          [[unroll]] for (uint kb = 0; kb < BK; kb++)
            {
              vec4 a[TM], b[TN];
              [[unroll]] for (uint i = 0; i < TM; i++)
                a[i] = as[kb][ty * TM + i];
              [[unroll]] for (uint j = 0; j < TN; j++)
                b[j] = bs[kb][tx + j * gl_WorkGroupSize.x];
              [[unroll]] for (uint i = 0; i < TM; i++)
                [[unroll]] for (uint j = 0; j < TN; j++)
                  acc[i][j] += dot (a[i], b[j]);
            }
          barrier ();
        }
    }

  [[unroll]] for (uint i = 0; i < TM; i += 4)
    {
      const uint co = co0 + ty * TM + i;
      if (co >= pc.cout)
        break;
      vec4 b = vec4 (0.0), m = vec4 (1.0);
      bvec4 real = bvec4 (false);
      [[unroll]] for (uint j = 0; j < 4; j++)
        if (co + j < pc.cout)
          {
            real[j] = true;
            if (pc.has_bias != 0u)
              b[j] = bias[co + j];
            if (pc.has_mask != 0u)
              m[j] = mask[nb * pc.cout + co + j];
          }
      const uint obase = (nb * pc.cout4_total + pc.cout4_offset + co / 4u) * npix;
      [[unroll]] for (uint j = 0; j < TN; j++)
        {
          const uint p = px0 + tx + j * gl_WorkGroupSize.x;
          if (p < npix)
            {
              const vec4 s = vec4 (acc[i][j], acc[i + 1][j], acc[i + 2][j], acc[i + 3][j]);
              y[obase + p] = DVEC4 (mix (vec4 (0.0), activate (s + b, pc.act, pc.alpha) * m, real));
            }
        }
    }
}
