#version 450
// fuse: contextual attention's identity-kernel 3x3 convolution over the score matrix
// S[i][j] (i: background patch, j: foreground pixel) with zero padding,
// out[i][j] = S[i-1][j-1] + S[i][j] + S[i+1][j+1]. The scores are a tensor [n, lb, hf, wf]
// with lb = hb * wb; order 0 indexes i = by * wb + bx, j = fy * wf + fx, order 1 the
// transposed i = bx * hb + by, j = fx * hf + fy (DeepFill's permute(0, 2, 1, 4, 3)).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkFusePush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint total, hb, wb, hf;
  uint wf, transposed;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DTYPE y[]; };
layout(binding = 8) uniform samplerBuffer x;

float
score (uint n, uint i, uint j)
{
  uint l, f;
  if (pc.transposed != 0u)
    {
      l = i % pc.hb * pc.wb + i / pc.hb;
      f = j % pc.hf * pc.wf + j / pc.hf;
    }
  else
    {
      l = i;
      f = j;
    }
  const uint lb = pc.hb * pc.wb, hw = pc.hf * pc.wf;
  return texelFetch (x, int ((n * ((lb + 3u) / 4u) + l / 4u) * hw + f))[l % 4u];
}

void
main ()
{
  const uint e = flat_invocation ();
  if (e >= pc.total)
    return;
  // e indexes the packed output: texel e / 4, component e % 4.
  const uint lb = pc.hb * pc.wb, hw = pc.hf * pc.wf, lb4 = (lb + 3u) / 4u;
  const uint texel = e / 4u, comp = e % 4u;
  const uint n = texel / (lb4 * hw), l = texel / hw % lb4 * 4u + comp, f = texel % hw;
  if (l >= lb)
    {
      y[e] = DTYPE (0.0);
      return;
    }
  uint i, j;
  if (pc.transposed != 0u)
    {
      i = l % pc.wb * pc.hb + l / pc.wb;
      j = f % pc.wf * pc.hf + f / pc.wf;
    }
  else
    {
      i = l;
      j = f;
    }
  float s = score (n, i, j);
  if (i > 0u && j > 0u)
    s += score (n, i - 1u, j - 1u);
  if (i + 1u < lb && j + 1u < hw)
    s += score (n, i + 1u, j + 1u);
  y[e] = DTYPE (s);
}
