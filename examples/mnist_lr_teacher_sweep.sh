#!/usr/bin/env bash
# The second schedule sweep behind the MNIST defaults (examples/mnist_evidence.md, section 1b):
# learning rate, KD weight (alpha; 0 = labels only), rounds and teacher training, at the same
# 400 optimiser steps and constant learning rate; 3 seeds; selection on validation accuracy.
#   PYTHONPATH=python bash examples/mnist_lr_teacher_sweep.sh runs/sweep2
set -euo pipefail
OUT=${1:-runs/sweep2}
EV="python examples/mnist_spiral_vs_baselines.py --methods spiral --targets unstructured=0.99 4x1=0.98 --lr-schedule constant --criteria magnitude --seeds 0 1 2"
declare -A VARIANTS=(
  [a05]="--lr 1e-3 --alpha 0.5 --round-steps 40 --final-steps 200"
  [a02]="--lr 1e-3 --alpha 0.2 --round-steps 40 --final-steps 200"
  [a00r10]="--lr 1e-3 --alpha 0 --rounds 10 --round-steps 20 --final-steps 200"
  [a02r10]="--lr 1e-3 --alpha 0.2 --rounds 10 --round-steps 20 --final-steps 200"
  [l1a0r5]="--lr 1e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [l2a0r5]="--lr 2e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [l3a0r5]="--lr 3e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [l5a0r5]="--lr 5e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [l8a0r5]="--lr 8e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [l2a0r10]="--lr 2e-3 --alpha 0 --rounds 10 --round-steps 20 --final-steps 200"
  [l3a0r10]="--lr 3e-3 --alpha 0 --rounds 10 --round-steps 20 --final-steps 200"
  [l5a0r10]="--lr 5e-3 --alpha 0 --rounds 10 --round-steps 20 --final-steps 200"
  [l5a0r5f100]="--lr 5e-3 --alpha 0 --round-steps 60 --final-steps 100"
  [l2a2r5]="--lr 2e-3 --alpha 0.2 --round-steps 40 --final-steps 200"
  [l3a2r5]="--lr 3e-3 --alpha 0.2 --round-steps 40 --final-steps 200"
  [l5a2r5]="--lr 5e-3 --alpha 0.2 --round-steps 40 --final-steps 200"
  [t30a0]="--teacher-epochs 30 --lr 5e-3 --alpha 0 --round-steps 40 --final-steps 200"
  [t30a05]="--teacher-epochs 30 --lr 5e-3 --alpha 0.5 --round-steps 40 --final-steps 200"
  [t30a09]="--teacher-epochs 30 --lr 5e-3 --alpha 0.9 --round-steps 40 --final-steps 200"
)
names=$(printf '%s\n' "${!VARIANTS[@]}" | sort)
half=$(( $(echo "$names" | wc -l) / 2 ))
( for v in $(echo "$names" | head -n $half); do $EV --teacher-dir "$OUT/teachers" --out "$OUT/$v" ${VARIANTS[$v]}; done ) > "$OUT.a.log" 2>&1 &
( sleep 60; for v in $(echo "$names" | tail -n +$((half + 1))); do $EV --teacher-dir "$OUT/teachers" --out "$OUT/$v" ${VARIANTS[$v]}; done ) > "$OUT.b.log" 2>&1 &
wait
python examples/mnist_sweep_summary.py "$OUT"
