// common.glsl: included by every op.
//
// Tensors are [n, c, h, w] stored in channel blocks of four ("NC4HW4"): element (n, c, y, x)
// lives at texel ((n * C4 + c / 4) * h * w + y * w + x), component c % 4, C4 = ceil(c / 4),
// padding channels zero. Shaders read tensors through RGBA texel views (bindings 8..11; the
// view converts fp16 to fp32) and write them through storage buffers of DVEC4.
//
// FP16=1 builds the variant whose tensors are stored as float16_t; arithmetic stays fp32 in
// both, so the variants differ only in storage rounding.
#extension GL_EXT_control_flow_attributes : require
#if FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define DTYPE float16_t
#define DVEC4 f16vec4
#else
#define DTYPE float
#define DVEC4 vec4
#endif

// The index of an invocation of a 1-D op: dispatch_1d (compute/picard-vk-ops-misc.c) runs
// workgroups of 64 on a 2-D grid, as more than 65535 of them wrap into y.
uint
flat_invocation ()
{
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
}

// Activations, numbered as PicardVkActivation in compute/picard-vk-ops.h.
#define ACT_NONE 0u
#define ACT_ELU 1u
#define ACT_RELU 2u
#define ACT_LEAKY_RELU 3u

vec4
activate (vec4 x, uint act, float alpha)
{
  if (act == ACT_ELU)
    return mix (exp (x) - 1.0, x, greaterThan (x, vec4 (0.0)));
  if (act == ACT_RELU)
    return max (x, vec4 (0.0));
  if (act == ACT_LEAKY_RELU)
    return mix (x * alpha, x, greaterThan (x, vec4 (0.0)));
  return x;
}
