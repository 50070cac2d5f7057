#version 450
// reduce-groups: min, mean or median of each group of m consecutive fp32 values (the score
// of a patch from its M completion distances). The median of an even group is the mean of
// the two middle values.
#include "common.glsl"

layout(local_size_x = 64) in;

#define MAX_GROUP 64u
#define OP_MIN 0u
#define OP_MEAN 1u
#define OP_MEDIAN 2u

// Mirrored by PicardVkReducePush in compute/picard-vk-ops-misc.c (size asserted there).
layout(push_constant) uniform Push {
  uint groups, m, op;
} pc;

layout(binding = 0, std430) readonly buffer In { float x[]; };
layout(binding = 2, std430) writeonly buffer Out { float y[]; };

void
main ()
{
  const uint g = flat_invocation ();
  if (g >= pc.groups)
    return;
  const uint base = g * pc.m;
  if (pc.op == OP_MIN)
    {
      float r = x[base];
      for (uint i = 1u; i < pc.m; i++)
        r = min (r, x[base + i]);
      y[g] = r;
    }
  else if (pc.op == OP_MEAN)
    {
      float r = 0.0;
      for (uint i = 0u; i < pc.m; i++)
        r += x[base + i];
      y[g] = r / float (pc.m);
    }
  else
    {
      float v[MAX_GROUP];
      for (uint i = 0u; i < pc.m; i++)
        {
          // Insertion sort: groups are small (M = 10 in PICARD).
          const float e = x[base + i];
          uint j = i;
          while (j > 0u && v[j - 1u] > e)
            {
              v[j] = v[j - 1u];
              j--;
            }
          v[j] = e;
        }
      const uint h = pc.m / 2u;
      y[g] = pc.m % 2u == 1u ? v[h] : 0.5 * (v[h - 1u] + v[h]);
    }
}
