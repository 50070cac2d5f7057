#!/bin/sh
# device-bundle.sh BUILD_DIR OUT_DIR [PROGRAM...]: bench-conv and test-vk-ops (every op against
# its C reference), or the test programs named, with the shared libraries they need beyond
# glibc, in one folder that the device tool can carry to a GPU machine (its image has CUDA
# PyTorch but neither GLib nor a Vulkan loader). README.md, "Tests", runs it.
set -eu
build=$1
out=$2
shift 2
[ $# -gt 0 ] || set -- bench-conv test-vk-ops
mkdir -p "$out"
for program in "$@"; do
  cp "$build/tests/$program" "$out/"
  ldd "$build/tests/$program" | awk '$3 ~ /^\// { print $3 }' \
    | grep -Ev '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' \
    | while read -r lib; do cp -L "$lib" "$out/"; done
done
