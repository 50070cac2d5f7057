#version 450
// Configure-time probe: can glslc build the cooperative-matrix variant (NVIDIA's extension:
// shaderc 2023.2 lacks GL_KHR_cooperative_matrix)?
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(binding = 0, std430) buffer Data { float data[]; };
shared uvec2 tile[256];
void main ()
{
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a;
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> (0.0);
  coopMatLoadNV (a, tile, 0, 4, false);
  c = coopMatMulAddNV (a, a, c);
  coopMatStoreNV (c, data, 0, 16, false);
}
