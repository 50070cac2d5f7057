#version 450
// fma-peak: the device's fp32 arithmetic peak as shaders reach it (bench-conv's yardstick):
// independent chains of vec4 multiply-adds and nothing else.
#include "common.glsl"

layout(local_size_x = 64) in;

// Mirrored by PicardVkFmaPeakPush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint invocations, steps;  // steps of 4 multiply-adds per chain
} pc;

layout(binding = 2, std430) writeonly buffer Out { vec4 y[]; };

void
main ()
{
  const uint i = flat_invocation ();
  if (i >= pc.invocations)
    return;
  // Eight independent chains: enough to cover the multiply-add latency of a CPU's vector
  // units as well as a GPU's.
  vec4 v[8];
  [[unroll]] for (uint k = 0; k < 8; k++)
    v[k] = (vec4 (i) + vec4 (0.0, 1.0, 2.0, 3.0)) / float (1048576u << k);
  const vec4 m = vec4 (0.999), c = vec4 (0.001);
  for (uint s = 0; s < pc.steps; s++)
    [[unroll]] for (uint u = 0; u < 4; u++)
      [[unroll]] for (uint k = 0; k < 8; k++)
        v[k] = fma (v[k], m, c);
  vec4 sum = vec4 (0.0);
  [[unroll]] for (uint k = 0; k < 8; k++)
    sum += v[k];
  y[i] = sum;
}
