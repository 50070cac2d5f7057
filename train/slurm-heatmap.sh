#!/bin/bash
# PICARD heatmaps of a whole data set on a Slurm cluster, one array task per shard, then one
# evaluation over the merged output.  Submit with
#   sbatch --array=0-$((SHARDS-1)) train/slurm-heatmap.sh
# (arguments after the script's name go to picard-cli heatmap, e.g. -M 10 --metric mcd-feature)
# and, when the array has finished,
#   sbatch --dependency=afterok:JOBID --wrap \
#     "picard-cli eval $OUTDIR --boxes $BOXES --json eval.json --csv eval.csv --roc roc.png"
#
# Each task scans the (volume, slice) items k with k mod SHARDS = SLURM_ARRAY_TASK_ID, of the
# list made of the volumes in the order given and each volume's lesion slices ascending; every
# task gets the same list, so the shards are disjoint and together cover every item.  All
# tasks write into OUTDIR (one file set per slice, written atomically); a task that is killed
# resumes from its scan cache when it is resubmitted.
#SBATCH --job-name=picard-heatmap
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
set -euo pipefail

: "${SHARDS:=${SLURM_ARRAY_TASK_COUNT:?run as an array job, or set SHARDS}}"
: "${DATA:?set DATA to the BCS-DBT folder}"
: "${BOXES:=$DATA/BCS-DBT-boxes-test-v2.csv}"
: "${PATHS:=$DATA/BCS-DBT-file-paths-test-v2.csv}"
: "${CHECKPOINT:?set CHECKPOINT to the folder of the trained network}"
: "${OUTDIR:=heatmaps}"
export DATA

# The volumes that have boxes, once each, in the table's order (the same list in every task).
mapfile -t volumes < <(awk -F, 'NR == FNR { if (FNR > 1) want[$1 FS $2 FS $3] = 1; next }
                                FNR > 1 && want[$1 FS $2 FS $3] && !seen[$1 FS $2 FS $3]++ {
                                  print ENVIRON["DATA"] "/" $4 }' "$BOXES" "$PATHS")

# Node-local scan cache: a resubmitted task resumes its unfinished slice.
exec picard-cli heatmap "${volumes[@]}" --checkpoint "$CHECKPOINT" \
  --lesion-slices "$BOXES" --mode reference \
  --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" \
  --cache-dir "${TMPDIR:-/tmp}/picard-cache-${SLURM_ARRAY_JOB_ID:-local}" -o "$OUTDIR" "$@"
