#!/bin/sh
# An experiment under mpirun with 1, 2 and 3 ranks of one job each (and
# one process with --jobs 1 and 2 beside them): the wall time, the sum of
# the runs' training times (train_seconds) and each run's, to tell what
# more ranks give from what the machine's load takes.
# usage: bench/mpi/ranks.sh [EXPERIMENT.yaml] [BUILD]   (default: example)
set -eu
yaml=${1:-experiments/example.yaml}
gm=${2:-build}/gm
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CI=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# The runs' train_seconds, in file order, and their sum.
run_times() {
    h5ls -r "$1" | sed -n 's|^\(/models/[^/]*/seed_[0-9]*\) *Group$|\1|p' |
        while read -r g; do
            h5dump -a "$g/train_seconds" "$1" | sed -n 's/.*(0): \(.*\)/\1/p'
        done | awk '{ printf "%.1f ", $1; s += $1 } END { printf "| sum %.1f", s }'
}

measure() { # label, then the command
    label=$1
    shift
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    printf '%s | wall %.1f s | runs %s | load %s\n' "$label" \
        "$(echo "$end - $start" | bc)" "$(run_times "$out/$label.h5")" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

measure jobs1 "$gm" run "$yaml" --out "$out/jobs1.h5" --quiet --jobs 1
measure jobs2 "$gm" run "$yaml" --out "$out/jobs2.h5" --quiet --jobs 2
for n in 1 2 3; do
    measure "ranks$n" mpirun --oversubscribe -np "$n" "$gm" run "$yaml" \
        --out "$out/ranks$n.h5" --quiet --jobs 1
done
