#version 450
// Configure-time probe: can glslc build the fp16 variants?
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 1) in;
layout(binding = 0, std430) buffer Data { float16_t data[]; };
void main () { data[0] = float16_t(float(data[1]) * 2.0); }
