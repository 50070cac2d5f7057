#!/bin/sh
# test-device-bundle.sh BUILD_DIR: device-bundle.sh packs its programs with every library
# they need beyond glibc (each one resolves inside the bundle), and the bundled programs run.
set -eu
build=$1
here=$(dirname "$0")
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT

sh "$here/device-bundle.sh" "$build" "$bundle"
for program in bench-conv test-vk-ops; do
  outside=$(LD_LIBRARY_PATH=$bundle ldd "$bundle/$program" | awk '$3 ~ /^\// { print $3 }' \
    | grep -Ev '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | grep -v "^$bundle/" \
    || true)
  if [ -n "$outside" ]; then
    echo "$program: libraries found outside the bundle: $outside" >&2
    exit 1
  fi
done
# Programs named: those only.
sh "$here/device-bundle.sh" "$build" "$bundle/named" bench-conv
[ -x "$bundle/named/bench-conv" ] && [ ! -e "$bundle/named/test-vk-ops" ] || {
  echo "device-bundle.sh BUILD OUT bench-conv: not bench-conv alone" >&2
  exit 1
}
LD_LIBRARY_PATH=$bundle "$bundle/test-vk-ops" -p /vk/ops/fma-peak > /dev/null
LD_LIBRARY_PATH=$bundle "$bundle/bench-conv" --only conv17 --reps 1 > "$bundle/out.txt"
grep -q "^The device's fp32 peak through shaders" "$bundle/out.txt" || {
  cat "$bundle/out.txt" >&2
  exit 1
}
