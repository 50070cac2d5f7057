#version 450
// conv-transpose: transposed convolution (PyTorch's conv_transpose2d, no output padding)
// times a scale, with packed weights [n_w][cout][cin4][k*k][4]. Every workgroup computes one
// output phase (oy % s, ox % s) of one sample, where the contributing taps are the same for
// all pixels: a plain convolution over the input, laid out as conv2d-direct (texel reads,
// workgroup-uniform weights, TCO channels x TPX pixels per invocation), for lavapipe; GPUs
// take conv2d-tiled.comp's TRANSPOSED variant, as they take conv2d-tiled for convolutions.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TCO = 16;
layout(constant_id = 2) const uint TPX = 16;

// Mirrored by PicardVkConvTransposePush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint n, cin4, h, w;
  uint cout, oh, ow, k;
  uint stride, pad;
  float scale;
  uint w_batch_stride;
} pc;

layout(binding = 2, std430) writeonly buffer Out { DVEC4 y[]; };
layout(binding = 8) uniform samplerBuffer x;
layout(binding = 9) uniform samplerBuffer wt;

void
main ()
{
  const uint s = pc.stride;
  const uint nb = gl_WorkGroupID.z / (s * s), phase = gl_WorkGroupID.z % (s * s);
  const uint py = phase / s, px = phase % s;
  if (py >= pc.oh || px >= pc.ow)
    return;
  const uint gh = (pc.oh - py + s - 1u) / s, gw = (pc.ow - px + s - 1u) / s;
  const uint npix = gh * gw;
  const uint co0 = gl_WorkGroupID.y * TCO;
  const uint p0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TPX;
  const uint hw = pc.h * pc.w, kk = pc.k * pc.k;

  int gy[TPX], gx[TPX];
  [[unroll]] for (uint v = 0; v < TPX; v++)
    {
      const uint p = min (p0 + v, npix - 1u);
      gy[v] = int (p / gw);
      gx[v] = int (p % gw);
    }
  float acc[TCO][TPX];
  [[unroll]] for (uint u = 0; u < TCO; u++)
    [[unroll]] for (uint v = 0; v < TPX; v++)
      acc[u][v] = 0.0;
  uint wrow[TCO];
  [[unroll]] for (uint u = 0; u < TCO; u++)
    wrow[u] = nb * pc.w_batch_stride + min (co0 + u, pc.cout - 1u) * pc.cin4 * kk;
  const int in_base = int (nb * pc.cin4 * hw);

  // Output row oy = gy * s + py takes input row (oy + pad - ky) / s for ky = py + pad (mod s).
  for (uint ky = (py + pc.pad) % s; ky < pc.k; ky += s)
    for (uint kx = (px + pc.pad) % s; kx < pc.k; kx += s)
      {
        const int dy = (int (py + pc.pad) - int (ky)) / int (s);
        const int dx = (int (px + pc.pad) - int (kx)) / int (s);
        const uint t = ky * pc.k + kx;
        int off[TPX];
        float ok[TPX];
        [[unroll]] for (uint v = 0; v < TPX; v++)
          {
            const int iy = gy[v] + dy, ix = gx[v] + dx;
            const bool inside = iy >= 0 && iy < int (pc.h) && ix >= 0 && ix < int (pc.w);
            off[v] = in_base + (inside ? iy * int (pc.w) + ix : 0);
            ok[v] = inside ? 1.0 : 0.0;
          }
        for (uint c4 = 0u; c4 < pc.cin4; c4++)
          {
            const int plane = int (c4 * hw);
            vec4 xv[TPX];
            [[unroll]] for (uint v = 0; v < TPX; v++)
              xv[v] = texelFetch (x, plane + off[v]) * ok[v];
            const uint wi = c4 * kk + t;
            [[unroll]] for (uint u = 0; u < TCO; u++)
              {
                const vec4 wv = texelFetch (wt, int (wrow[u] + wi));
                [[unroll]] for (uint v = 0; v < TPX; v++)
                  acc[u][v] += dot (wv, xv[v]);
              }
          }
      }

  const uint opix = pc.oh * pc.ow, cout4 = (pc.cout + 3u) / 4u;
  [[unroll]] for (uint u = 0; u < TCO; u += 4)
    {
      const uint co = co0 + u;
      if (co >= pc.cout)
        break;
      bvec4 real = bvec4 (false);
      [[unroll]] for (uint j = 0; j < 4; j++)
        real[j] = co + j < pc.cout;
      const uint obase = (nb * cout4 + co / 4u) * opix;
      [[unroll]] for (uint v = 0; v < TPX; v++)
        if (p0 + v < npix)
          {
            const vec4 r = vec4 (acc[u][v], acc[u + 1][v], acc[u + 2][v], acc[u + 3][v]);
            const uint oy = uint (gy[v]) * s + py, ox = uint (gx[v]) * s + px;
            y[obase + oy * pc.ow + ox] = DVEC4 (mix (vec4 (0.0), r * pc.scale, real));
          }
    }
}
