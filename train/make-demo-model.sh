#!/bin/sh
# Trains the bundled demo model (train/demo-model/) from scratch, on normal phantoms, with
# train/train.py.  Sized for a 2-core CPU: quarter-resolution phantoms (614 x 499, the
# BCS-DBT size / 4) with a 64 x 64 patch and a 32 x 32 hole (the paper's 256/128 geometry
# scaled by 1/4 with the anatomy), generator width c = 8 and critic width d = 8 instead of
# 32, batch 16 instead of 55; everything else is PICARD's recipe.
#
# Usage (from anywhere): train/make-demo-model.sh [WORKDIR]
#   PICARD_CLI      picard-cli to use (default: build/picard-cli)
#   DEMO_ITERATIONS iterations (default 2500)
#   DEMO_THREADS    PyTorch CPU threads (default 2)
# WORKDIR (default /tmp/picard-demo-model) receives the phantoms, their slices and the run;
# the chosen checkpoint pair, the log and the configuration are copied to train/demo-model/.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CLI=${PICARD_CLI:-build/picard-cli}
WORK=${1:-/tmp/picard-demo-model}
ITERATIONS=${DEMO_ITERATIONS:-2500}
THREADS=${DEMO_THREADS:-2}
PY=/usr/bin/python3
OUT=train/demo-model

if [ ! -x "$CLI" ]; then
  echo "make-demo-model: $CLI is missing; build the project or set PICARD_CLI" >&2
  exit 1
fi

# 24 normal volumes (seeds 1000..1023); the evaluation uses phantoms with lesions from
# other seeds (train/evaluate.py).
if [ ! -f "$WORK/phantoms/BCS-DBT-labels.csv" ]; then
  "$CLI" phantom -o "$WORK/phantoms" --normal --rows 614 --columns 499 --frames 16 \
    --seed 1000 --count 24
fi

# The CSV route: picard-cli slices turns each normal volume into left-aligned 8-bit PNGs;
# 10 % of the patients (2 volumes) are held out to pick the checkpoint.
"$PY" -m train.train \
  --filepaths-csv "$WORK/phantoms/BCS-DBT-file-paths.csv" \
  --labels-csv "$WORK/phantoms/BCS-DBT-labels.csv" \
  --picard-cli "$CLI" --slices-dir "$WORK/slices" \
  -o "$WORK/run" \
  --patch-size 64 --hole-size 32 --cnum 8 --ndf 8 --batch-size 16 \
  --iterations "$ITERATIONS" --checkpoint-interval 250 --log-interval 50 \
  --val-patches 128 --threads "$THREADS" --seed 1337

# The checkpoint with the lowest held-out hole L1, as the paper picks its model.
BEST=$(sed -n 's/^iteration //p' "$WORK/run/best.txt")
mkdir -p "$OUT"
rm -f "$OUT"/gen_*.pt "$OUT"/dis_*.pt
cp "$WORK/run/$(printf 'gen_%08d.pt' "$BEST")" "$WORK/run/$(printf 'dis_%08d.pt' "$BEST")" \
  "$WORK/run/best.txt" "$WORK/run/config.json" "$WORK/run/train_log.jsonl" "$OUT/"
echo "demo model: iteration $BEST copied to $OUT"
