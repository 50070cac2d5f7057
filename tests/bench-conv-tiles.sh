#!/bin/sh
# bench-conv-tiles.sh BENCH_CONV [BATCH [LAYERS TILE...]]: GFLOP/s (by the device's own time,
# the class's layers in one submission) of the tiled convolution for candidate tiles
# (PICARD_VK_CONV_TILE=BMxBNxBKxTMxTN[xS]) per class of layer (by output channels), the
# measure behind conv_tile's table in compute/picard-vk-ops.c. Run it on a new
# GPU; BENCHMARKS.md has the results and the command. The best per class, joined by commas
# by increasing BM, runs as a whole table through PICARD_VK_CONV_TILE (compare it with the
# built-in one in alternating runs: one run per tile is within a GPU's run-to-run spread).
set -u
bench=$1
batch=${2:-32}

sweep () {
  layers=$1
  shift
  for tile in "$@"; do
    # The Vulkan rate by device time over the chosen layers, or bench-conv's error.
    rate=$(PICARD_VK_CONV=tiled PICARD_VK_CONV_TILE=$tile \
             "$bench" --batch "$batch" --only "$layers" --no-peak 2>&1 \
           | awk '/^these, one submission/ { for (i = 1; i <= NF; i++) if ($i == "|" && ++bar == 2) { print $(i + 1); exit } }
                  /^bench-conv:/ { print; exit }')
    printf '%-8s %-16s %s\n' "$layers" "$tile" "$rate"
  done
}

printf 'layers   tile (BMxBNxBKxTMxTN[xS]) GFLOP/s, batch %s\n' "$batch"
if [ $# -gt 2 ]; then
  # bench-conv-tiles.sh BENCH_CONV BATCH LAYERS TILE...: one class, these tiles.
  shift 2
  sweep "$@"
  exit
fi
sweep '->128' 128x128x8x8x8 128x64x8x8x8 128x192x8x8x8 128x256x4x8x8 128x128x4x8x8x2 128x128x8x4x8 \
  64x128x8x8x8
sweep '->64' 64x128x8x8x8 64x256x8x8x8 64x128x4x8x8x2 64x256x4x8x8x2 64x192x8x8x8 64x128x8x4x8 64x64x8x8x4
sweep '->32' 32x256x4x8x8x2 32x512x4x8x8 32x256x8x8x8 32x384x4x8x8 32x128x8x4x4 32x128x8x8x4x2
sweep '->16' 16x256x8x4x8 16x512x4x4x8 16x128x8x4x4 16x256x8x4x4
sweep '->1 ' 4x128x4x4x4 4x256x4x4x4 4x256x8x4x4 4x512x4x4x4 4x256x4x4x8 4x64x8x4x4
