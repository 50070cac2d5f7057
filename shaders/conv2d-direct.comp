#version 450
// conv2d-direct: implicit-GEMM convolution for CPU devices (lavapipe). A workgroup computes
// TCO output channels of one sample; each invocation TPX consecutive output pixels of them.
// No shared memory, and both operands come through texel views: Mesa's llvmpipe gathers a
// texel fetch's eight lanes in one call, while it issues storage-buffer and shared-memory
// loads lane by lane (BENCHMARKS.md has the measurements).
#include "conv2d-common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TCO = 16;  // output channels per invocation (multiple of 4)
layout(constant_id = 2) const uint TPX = 16;  // output pixels per invocation
layout(constant_id = 3) const bool ONE_BLOCK = false;  // the input has at most 4 channels

layout(binding = 8) uniform samplerBuffer x;    // input, NC4HW4
layout(binding = 9) uniform samplerBuffer wt;   // weights [n_w][cout][cin4][k*k] texels

// One (tap, channel block) step: TPX input texels, TCO weight texels, TCO x TPX dots.
#define ACCUMULATE(c4)                                                                   \
  {                                                                                      \
    const int plane = int ((c4) * hw);                                                   \
    vec4 xv[TPX];                                                                        \
    [[unroll]] for (uint v = 0; v < TPX; v++)                                            \
      xv[v] = texelFetch (x, plane + off[v]) * ok[v];                                    \
    const uint wi = (c4) * kk + t;                                                       \
    [[unroll]] for (uint u = 0; u < TCO; u++)                                            \
      {                                                                                  \
        const vec4 wv = texelFetch (wt, int (wrow[u] + wi));                             \
        [[unroll]] for (uint v = 0; v < TPX; v++)                                        \
          acc[u][v] += dot (wv, xv[v]);                                                  \
      }                                                                                  \
  }

void
main ()
{
  const uint nb = gl_WorkGroupID.z;
  const uint co0 = gl_WorkGroupID.y * TCO;
  const uint npix = pc.oh * pc.ow;
  const uint hw = pc.h * pc.w;
  const uint kk = pc.k * pc.k;
  const uint p0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TPX;

  int iy0[TPX], ix0[TPX];
  [[unroll]] for (uint v = 0; v < TPX; v++)
    {
      const uint p = min (p0 + v, npix - 1);
      iy0[v] = int (p / pc.ow * pc.stride) - pc.pad;
      ix0[v] = int (p % pc.ow * pc.stride) - pc.pad;
    }

  float acc[TCO][TPX];
  [[unroll]] for (uint u = 0; u < TCO; u++)
    [[unroll]] for (uint v = 0; v < TPX; v++)
      acc[u][v] = 0.0;

  const int in_base = int (nb * pc.cin4 * hw);
  uint wrow[TCO];
  [[unroll]] for (uint u = 0; u < TCO; u++)
    wrow[u] = nb * pc.w_batch_stride + min (co0 + u, pc.cout - 1) * pc.cin4 * kk;

  for (uint t = 0; t < kk; t++)
    {
      const int dy = int (t / pc.k * pc.dil), dx = int (t % pc.k * pc.dil);
      int off[TPX];
      float ok[TPX];
      [[unroll]] for (uint v = 0; v < TPX; v++)
        {
          const int iy = iy0[v] + dy, ix = ix0[v] + dx;
          const bool inside = iy >= 0 && iy < int (pc.h) && ix >= 0 && ix < int (pc.w);
          off[v] = in_base + (inside ? iy * int (pc.w) + ix : 0);
          ok[v] = inside ? 1.0 : 0.0;
        }
      // With one channel block there is no channel loop at all: llvmpipe pays for every
      // loop level (its accumulators are blended with the execution mask on the way), which
      // made the network's first layer (3 channels, 5x5) run at half the others' speed.
      if (ONE_BLOCK)
        ACCUMULATE (0u)
      else
        for (uint c4 = 0; c4 < pc.cin4; c4++)
          ACCUMULATE (c4)
    }

  [[unroll]] for (uint u = 0; u < TCO; u += 4)
    {
      const uint co = co0 + u;
      if (co >= pc.cout)
        break;
      vec4 b, m;
      bvec4 real;
      conv_channels (nb, co, b, m, real);
      [[unroll]] for (uint v = 0; v < TPX; v++)
        if (p0 + v < npix)
          conv_write (nb, co, p0 + v, npix,
                      vec4 (acc[u][v], acc[u + 1][v], acc[u + 2][v], acc[u + 3][v]), b, m, real);
    }
}
