#!/bin/sh
# bench-conv-ab.sh ROUNDS BATCH CANDIDATE... : the network's convolution rate (GFLOP/s by the
# device's own time, the layers in one submission as the generator runs them) of several
# candidates run in turn ROUNDS times, so that a machine whose speed drifts (a GPU's clocks, a
# shared VM) affects each alike. A candidate is a bench-conv, from a bundle made by
# tests/device-bundle.sh (its own libraries are used), with environment settings before it:
#   sh tests/bench-conv-ab.sh 3 32 .device/bench-conv \
#     'PICARD_VK_CONV_TILE=4x128x4x4x4,128x64x8x8x8 .device/bench-conv'
set -u
rounds=$1
batch=$2
shift 2
printf 'round %-40s network GFLOP/s (device time), batch %s\n' candidate "$batch"
for round in $(seq "$rounds"); do
  for candidate in "$@"; do
    bench=${candidate##* }  # the last word
    # $candidate unquoted: its settings, then the program, as words.
    rate=$(env LD_LIBRARY_PATH="$(dirname "$bench")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
             $candidate --batch "$batch" --reps 10 --no-peak 2>&1 \
           | awk '/^network, one submission/ { for (i = 1; i <= NF; i++) if ($i == "|" && ++bar == 2) { print $(i + 1); exit } }
                  /^bench-conv:/ { print; exit }')
    printf '%-5s %-40s %s\n' "$round" "$candidate" "$rate"
  done
done
