#!/bin/sh
# bench-conv-ab.sh ROUNDS BATCH BENCH_CONV... : the network's convolution rate (GFLOP/s by the
# device's own time: the host's submission and wake-up left out) of several builds of bench-conv, run in turn ROUNDS times, so that a machine whose speed drifts
# (a GPU's clocks, a shared VM) affects each build alike. Each build is a bundle made by
# tests/device-bundle.sh; its own libraries are used.
set -u
rounds=$1
batch=$2
shift 2
printf 'round %-28s network GFLOP/s (device time), batch %s\n' build "$batch"
for round in $(seq "$rounds"); do
  for bench in "$@"; do
    rate=$(LD_LIBRARY_PATH=$(dirname "$bench")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
             "$bench" --batch "$batch" --reps 10 --no-peak 2>&1 \
           | awk '/^network/ { for (i = 1; i <= NF; i++) if ($i == "|" && ++bar == 2) { print $(i + 1); exit } }
                  /^bench-conv:/ { print; exit }')
    printf '%-5s %-28s %s\n' "$round" "$bench" "$rate"
  done
done
