#!/usr/bin/env bash
# Submit one SLURM job per combination of values: a grid sweep with DVC experiments.
#   docker/slurm/sweep.sh model.pe=sh,rff model.dim=128,256
# Then, on any clone: dvc exp pull origin --all && dvc exp show
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

combos=("")
for spec in "$@"; do
  key=${spec%%=*}
  IFS=, read -r -a values <<<"${spec#*=}"
  next=()
  for combo in "${combos[@]}"; do
    for value in "${values[@]}"; do
      next+=("$combo -S $key=$value")
    done
  done
  combos=("${next[@]}")
done

for combo in "${combos[@]}"; do
  # shellcheck disable=SC2086
  sbatch "$here/exp.sbatch" $combo
done
