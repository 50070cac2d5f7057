#!/bin/sh
# device-bundle.sh BUILD_DIR OUT_DIR: bench-conv and the shared libraries it needs beyond
# glibc, in one folder that the device tool can carry to a GPU machine (its image has CUDA
# PyTorch but neither GLib nor a Vulkan loader). README.md, "On a GPU machine", runs it.
set -eu
build=$1
out=$2
mkdir -p "$out"
cp "$build/tests/bench-conv" "$out/"
ldd "$build/tests/bench-conv" | awk '$3 ~ /^\// { print $3 }' \
  | grep -Ev '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' \
  | while read -r lib; do cp -L "$lib" "$out/"; done
