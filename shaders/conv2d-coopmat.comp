#version 450
// conv2d-coopmat: the implicit-GEMM convolution of conv2d-tiled.comp on NVIDIA's cooperative
// matrices (VK_NV_cooperative_matrix: tensor cores), for fp16 tensors: fp16 products, fp32
// sums. M = output channels, N = pixels of one sample, K = (channel block, tap, channel) in
// the weights' own order. A workgroup of WARPS_M x WARPS_N subgroups computes TILE_M x TILE_N
// outputs; per step it stages TILE_K of K of both operands in shared memory (the weights row
// by row, the input column by column: four channels of a pixel are four consecutive K), the
// next step's fetched into registers meanwhile. Each subgroup multiplies LM x LK by LK x LN
// matrices, the shape the device reports, and writes its results through a small
// shared-memory area, where bias, activation and dropout are applied per output texel.
#include "conv2d-common.glsl"
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require

layout(constant_id = 0) const uint LM = 16;
layout(constant_id = 1) const uint LN = 8;
layout(constant_id = 2) const uint LK = 16;
layout(constant_id = 3) const uint TILE_M = 128;
layout(constant_id = 4) const uint TILE_N = 128;
layout(constant_id = 5) const uint TILE_K = 32;
layout(constant_id = 6) const uint WARPS_M = 2;
layout(constant_id = 7) const uint WARPS_N = 4;
layout(local_size_x_id = 8) in;  // WARPS_M x WARPS_N subgroups
layout(constant_id = 9) const uint KS = 3;

layout(binding = 3, std430) readonly buffer In { uvec2 x[]; };       // f16vec4 texels
layout(binding = 4, std430) readonly buffer Weights { uvec2 wt[]; };  // f16vec4 texels

const uint KV = TILE_K / 4;         // texels (four K each) per row or column of a step
const uint STRIDE = KV + 2;         // in texels: 16 bytes of skew against bank conflicts
const uint THREADS = gl_WorkGroupSize.x;
const uint A_PER = (TILE_M * KV + THREADS - 1) / THREADS;
const uint B_PER = (TILE_N * KV + THREADS - 1) / THREADS;
const uint C_ROWS = TILE_M / WARPS_M / LM, C_COLS = TILE_N / WARPS_N / LN;

shared uvec2 as[TILE_M * STRIDE];   // row m: K of output channel co0 + m
shared uvec2 bs[TILE_N * STRIDE];   // column j: K of pixel px0 + j
shared float cs[WARPS_M * WARPS_N * LM * LN];

uvec2 a_next[A_PER], b_next[B_PER];
int b_iy[B_PER], b_ix[B_PER];

void
fetch (uint k0, uint tid, uint co0, uint k4, uint wbase, uint xbase, uint hw)
{
  const uint kk = KS * KS;
  [[unroll]] for (uint r = 0; r < A_PER; r++)
    {
      const uint e = tid + r * THREADS, m = e / KV, kidx = k0 / 4 + e % KV;
      a_next[r] = uvec2 (0);
      if (m < TILE_M && co0 + m < pc.cout && kidx < k4)
        a_next[r] = wt[wbase + (co0 + m) * k4 + kidx];
    }
  [[unroll]] for (uint r = 0; r < B_PER; r++)
    {
      const uint kidx = k0 / 4 + (tid + r * THREADS) / TILE_N;
      const uint c4 = kidx / kk, t = kidx % kk;
      const int iy = b_iy[r] + int (t / KS * pc.dil), ix = b_ix[r] + int (t % KS * pc.dil);
      b_next[r] = uvec2 (0);
      if (kidx < k4 && iy >= 0 && iy < int (pc.h) && ix >= 0 && ix < int (pc.w))
        b_next[r] = x[xbase + c4 * hw + uint (iy) * pc.w + uint (ix)];
    }
}

void
store (uint tid)
{
  [[unroll]] for (uint r = 0; r < A_PER; r++)
    {
      const uint e = tid + r * THREADS;
      if (e < TILE_M * KV)
        as[e / KV * STRIDE + e % KV] = a_next[r];
    }
  [[unroll]] for (uint r = 0; r < B_PER; r++)
    {
      const uint e = tid + r * THREADS;
      if (e < TILE_N * KV)
        bs[e % TILE_N * STRIDE + e / TILE_N] = b_next[r];
    }
}

void
main ()
{
  const uint nb = gl_WorkGroupID.z;
  const uint co0 = gl_WorkGroupID.y * TILE_M;
  const uint px0 = gl_WorkGroupID.x * TILE_N;
  const uint tid = gl_LocalInvocationID.x;
  const uint warp_m = gl_SubgroupID / WARPS_N, warp_n = gl_SubgroupID % WARPS_N;
  const uint npix = pc.oh * pc.ow;
  const uint hw = pc.h * pc.w;
  const uint k4 = pc.cin4 * KS * KS;
  const uint wbase = nb * pc.w_batch_stride;
  const uint xbase = nb * pc.cin4 * hw;

  [[unroll]] for (uint r = 0; r < B_PER; r++)
    {
      const uint e = tid + r * THREADS, p = px0 + e % TILE_N;
      const bool real = e < TILE_N * KV && p < npix;
      b_iy[r] = real ? int (p / pc.ow * pc.stride) - pc.pad : -0x40000000;
      b_ix[r] = int (p % pc.ow * pc.stride) - pc.pad;
    }

  fcoopmatNV<32, gl_ScopeSubgroup, LM, LN> acc[C_ROWS][C_COLS];
  [[unroll]] for (uint i = 0; i < C_ROWS; i++)
    [[unroll]] for (uint j = 0; j < C_COLS; j++)
      acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, LM, LN> (0.0);

  fetch (0u, tid, co0, k4, wbase, xbase, hw);
  for (uint k0 = 0; k0 < k4 * 4; k0 += TILE_K)
    {
      barrier ();  // everyone has read the tiles about to be overwritten
      store (tid);
      barrier ();
      if (k0 + TILE_K < k4 * 4)
        fetch (k0 + TILE_K, tid, co0, k4, wbase, xbase, hw);
      [[unroll]] for (uint kb = 0; kb < TILE_K / LK; kb++)
        {
          fcoopmatNV<16, gl_ScopeSubgroup, LM, LK> a[C_ROWS];
          [[unroll]] for (uint i = 0; i < C_ROWS; i++)
            coopMatLoadNV (a[i], as, (warp_m * C_ROWS + i) * LM * STRIDE + kb * LK / 4, STRIDE,
                           false);
          [[unroll]] for (uint j = 0; j < C_COLS; j++)
            {
              fcoopmatNV<16, gl_ScopeSubgroup, LK, LN> b;
              coopMatLoadNV (b, bs, (warp_n * C_COLS + j) * LN * STRIDE + kb * LK / 4, STRIDE,
                             true);
              [[unroll]] for (uint i = 0; i < C_ROWS; i++)
                acc[i][j] = coopMatMulAddNV (a[i], b, acc[i][j]);
            }
        }
    }

  // Each LM x LN result through the subgroup's area of cs, one output texel (four channels
  // of one pixel) per invocation at a time.
  const uint cbase = gl_SubgroupID * LM * LN;
  [[unroll]] for (uint i = 0; i < C_ROWS; i++)
    [[unroll]] for (uint j = 0; j < C_COLS; j++)
      {
        coopMatStoreNV (acc[i][j], cs, cbase, LN, false);
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
        for (uint t = gl_SubgroupInvocationID; t < LM / 4 * LN; t += gl_SubgroupSize)
          {
            const uint row = t / LN * 4, col = t % LN;
            const uint co = co0 + (warp_m * C_ROWS + i) * LM + row;
            const uint p = px0 + (warp_n * C_COLS + j) * LN + col;
            if (co >= pc.cout || p >= npix)
              continue;
            vec4 sums, b, m;
            bvec4 real;
            [[unroll]] for (uint q = 0; q < 4; q++)
              sums[q] = cs[cbase + (row + q) * LN + col];
            conv_channels (nb, co, b, m, real);
            conv_write (nb, co, p, npix, sums, b, m, real);
          }
        subgroupMemoryBarrierShared ();
        subgroupBarrier ();
      }
}
