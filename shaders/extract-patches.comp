#version 450
// extract-patches: k x k patches of an [n, c, h, w] tensor at the given stride and rate with
// TensorFlow "same" zero padding (top/left given), written directly as packed convolution
// weights [n][cout][cin4][k*k][4]: for matching (transposed == 0) patch l is output channel
// l and the tensor's channels are the input channels; for the transposed convolution the
// roles swap (input channel l, output channel c).
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkPatchesPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint texels, c, h, w;
  uint k, stride, rate, lh;
  uint lw, transposed;
  int pad_top, pad_left;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.texels)
    return;
  const uint kk = pc.k * pc.k, l_count = pc.lh * pc.lw;
  const uint cout = pc.transposed != 0u ? pc.c : l_count;
  const uint cin = pc.transposed != 0u ? l_count : pc.c;
  const uint cin4 = (cin + 3u) / 4u;
  const uint t = i % kk, blk = i / kk % cin4, co = i / (kk * cin4) % cout;
  const uint n = i / (kk * cin4 * cout);
  const int dy = int (t / pc.k * pc.rate), dx = int (t % pc.k * pc.rate);
  const uint c4 = (pc.c + 3u) / 4u;
  vec4 v = vec4 (0.0);
  [[unroll]] for (uint j = 0; j < 4; j++)
    {
      const uint ci = blk * 4u + j;
      if (ci >= cin)
        break;
      const uint l = pc.transposed != 0u ? ci : co, ch = pc.transposed != 0u ? co : ci;
      const int yy = int (l / pc.lw * pc.stride) - pc.pad_top + dy;
      const int xx = int (l % pc.lw * pc.stride) - pc.pad_left + dx;
      if (yy >= 0 && yy < int (pc.h) && xx >= 0 && xx < int (pc.w))
        v[j] = texelFetch (x, int (((n * c4 + ch / 4u) * pc.h + uint (yy)) * pc.w + uint (xx)))[ch % 4u];
    }
  y[i] = DVEC4 (v);
}
