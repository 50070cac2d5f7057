#!/bin/sh
# viewer-starts.sh PICARD_VIEWER: README's first command as a user runs it. The viewer, run
# from the build tree with no settings schema installed or named in the environment, must
# open its window on the bundled demo volume (the window takes the volume's name) and keep
# running. Run under a display and a session bus (tests/meson.build).
set -u
viewer=$1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
env -u GSETTINGS_SCHEMA_DIR "$viewer" > "$log" 2>&1 &
pid=$!
i=0
while [ $i -lt 240 ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "picard-viewer exited before its window showed the demo volume:"
    cat "$log"
    exit 1
  fi
  if xwininfo -root -tree | grep -q '"rcc.dcm"'; then
    echo "the window shows rcc.dcm after $((i / 4)) s"
    kill "$pid"
    wait "$pid"
    exit 0
  fi
  sleep 0.25
  i=$((i + 1))
done
echo "no window titled rcc.dcm after 60 s:"
cat "$log"
kill "$pid"
exit 1
