#!/usr/bin/env bash
# The spiral's learning-rate / budget sweep behind the recipes' defaults (examples/mnist_evidence.md):
# every variant has the same 400 optimiser steps; 3 seeds; selection on validation accuracy.
#   PYTHONPATH=python bash examples/mnist_schedule_sweep.sh runs/sweep
set -euo pipefail
OUT=${1:-runs/sweep}
EV="python examples/mnist_spiral_vs_baselines.py --methods spiral --teacher-dir $OUT/teachers --targets unstructured=0.99 4x1=0.98"
declare -A VARIANTS=(
  [a-const-norecovery]="--round-steps 80 --final-steps 0 --lr-schedule constant"
  [b-const-recovery]="--round-steps 40 --final-steps 200 --lr-schedule constant"
  [c-cosine-restarts-recovery]="--round-steps 40 --final-steps 200 --lr-schedule cosine"
  [d-const-cosine-recovery]="--round-steps 40 --final-steps 200 --lr-schedule constant --recovery-lr cosine"
  [e-cosine-restarts-long-recovery]="--round-steps 20 --final-steps 300 --lr-schedule cosine"
)
for seed in 0 1 2; do
  ( for v in "${!VARIANTS[@]}"; do $EV --seeds $seed --out "$OUT/$v" ${VARIANTS[$v]}; done ) > "$OUT.s$seed.log" 2>&1 &
done
wait
for v in $(printf '%s\n' "${!VARIANTS[@]}" | sort); do echo "## $v"; python examples/mnist_spiral_vs_baselines.py --merge "$OUT/$v"; done
