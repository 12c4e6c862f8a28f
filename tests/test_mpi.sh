#!/bin/bash
# gm run under mpirun: 3 ranks (oversubscribed on any machine), or 2 of 3
# threads each, write the same run file as one process, bit for bit but
# for the timings; a rank killed mid-run leaves a published file that
# `--resume` (under mpirun) completes into that same file, and so does
# SIGTERM to every rank (as Slurm sends) with a --resume of one process;
# a refused --out stops every rank; eval.classifier's image modes are
# counted alike on every rank. A gm built without MPI says so under
# a launcher instead of training.
# usage: test_mpi.sh SOURCE_DIR BINARY_DIR MPI_FOUND
set -euo pipefail
gm="$2/gm"
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export CI=1
# CI runs as root; Open MPI refuses root without these.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Containers often forbid the cross-process reads (CMA) Open MPI's shared
# memory uses for large messages, which then fail; copy through memory.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# In the ASan build, the ranks run without LeakSanitizer: Open MPI keeps
# memory until exit in components it unloads at MPI_Finalize, so the
# reports name no module a suppression could match. (The runs of one
# process below are still checked for leaks.)
ranks_env="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

cat >"$work/x.yaml" <<'YAML'
experiment: mpi
seeds: [1, 2, 3]
dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 2000}
train: {steps: 1200, batch_size: 64, optimizer: {name: adam, lr: 1.0e-3}}
eval: {every: 300, samples: 300}
checkpoint: {every: 100}
models:
  vae:
    objective: vae_elbo
    encoder: {hidden: [32, 32]}
    decoder: {hidden: [32, 32]}
    params: {sigma: 0.1, iwae_k: 8}
  gan:
    objective: gan
    generator: {hidden: [32, 32]}
    discriminator: {hidden: [32, 32]}
YAML

if [ "$3" != 1 ]; then
    out=$(cd "$work" && OMPI_COMM_WORLD_SIZE=3 "$gm" run x.yaml 2>&1) &&
        fail "a gm without MPI trained under a launcher"
    echo "$out" | grep -q "built without MPI" ||
        fail "no word of the missing MPI: $out"
    [ ! -e "$work/runs/mpi.h5" ] || fail "a gm without MPI wrote the file"
    pass "a gm built without MPI refuses to run as one of several ranks"
    exit 0
fi

mpi() { mpirun --oversubscribe -np 3 env "$ranks_env" "$@"; }

# The whole dump of a run file in creation order, every float to the last
# bit, but the timings (created, train_seconds) that differ run to run.
dump() {
    h5dump -q creation_order -m %.17g "$1" | sed 1d | awk '
        /(ATTRIBUTE|DATASET) "(created|train_seconds)"/ { skip = 1; depth = 0 }
        skip { o = gsub(/{/, "{"); c = gsub(/}/, "}"); depth += o - c
               if (depth <= 0 && (o || c)) skip = 0; next }
        { print }'
}

same_file() {
    dump "$1" >"$work/a.txt"
    dump "$2" >"$work/b.txt"
    [ "$(wc -l <"$work/a.txt")" -gt 1000 ] || fail "$1 dumps to nothing"
    diff -q "$work/a.txt" "$work/b.txt" >/dev/null ||
        fail "$2 differs from $1: $(diff "$work/a.txt" "$work/b.txt" | head)"
}

status_of() {
    h5dump -a /status "$1" | sed -n 's/.*(0): "\(.*\)".*/\1/p'
}

# Each run writes the file runs/mpi.h5 in its own directory, so that the
# recorded experiment (with its --out) is the same text in every file.
mkdir -p "$work/serial" "$work/ranks" "$work/killed"
(cd "$work/serial" && "$gm" run ../x.yaml --out mpi.h5 --quiet --jobs 2)
(cd "$work/ranks" && mpi "$gm" run ../x.yaml --out mpi.h5 --jobs 1 \
    >"$work/ranks.log" 2>&1) || fail "mpirun: $(tail -5 "$work/ranks.log")"
grep -q "3 MPI ranks: 1 jobs here and 2 on the others" "$work/ranks.log" ||
    fail "rank 0 does not say how the runs are spread: $(head -3 "$work/ranks.log")"
[ "$(grep -c "step 1200/1200" "$work/ranks.log")" = 6 ] ||
    fail "rank 0 did not report every run's end"
same_file "$work/serial/mpi.h5" "$work/ranks/mpi.h5"
pass "3 ranks write the file of one process"

# 2 ranks of 3 threads each: the threads of a rank share its MPI.
mkdir -p "$work/threads"
(cd "$work/threads" &&
    mpirun --oversubscribe -np 2 env "$ranks_env" "$gm" run ../x.yaml \
        --out mpi.h5 --jobs 3 --quiet >"$work/threads.log" 2>&1) ||
    fail "mpirun with 3 jobs a rank: $(tail -5 "$work/threads.log")"
same_file "$work/serial/mpi.h5" "$work/threads/mpi.h5"
pass "2 ranks of 3 threads write the file of one process"

# Starts mpirun with 3 ranks in the background on ../x.yaml into mpi.h5
# of the current directory, and waits until a checkpoint is in the file;
# sets launcher, and ranks to the rank processes (rank 1 first).
start_and_wait() {
    mpirun --oversubscribe -np 3 env "$ranks_env" "$gm" run ../x.yaml \
        --out mpi.h5 --jobs 1 --quiet >launch.log 2>&1 &
    launcher=$! # the ranks are its children
    ranks=""
    local deadline=$((SECONDS + 300)) # a loaded machine starts ranks slowly
    while [ $SECONDS -lt $deadline ]; do
        if [ -z "$ranks" ]; then
            for p in $(pgrep -P $launcher || true); do
                grep -qz "^OMPI_COMM_WORLD_RANK=1$" "/proc/$p/environ" \
                    2>/dev/null && ranks="$p $(pgrep -P $launcher | grep -v "^$p$")"
            done
        fi
        # (not h5ls | grep -q: pipefail would see h5ls's SIGPIPE)
        if [ -n "$ranks" ] && [ -f mpi.h5 ] &&
            grep -q "checkpoint/run/step" <<<"$(h5ls -r mpi.h5 2>/dev/null)"; then
            return 0
        fi
        sleep 0.05
    done
    fail "no rank 1 or no checkpoint under mpirun: $(tail -5 launch.log)"
}

# kill -9 one worker rank once a checkpoint is in the file: mpirun ends
# the job, the published file stays readable, and --resume completes it.
cd "$work/killed"
start_and_wait
kill -9 ${ranks%% *}
if wait $launcher; then fail "mpirun ended well after a rank was killed"; fi
status=$(status_of mpi.h5)
[ "$status" = running ] || [ "$status" = interrupted ] ||
    fail "status after a rank was killed: $status"
mpi "$gm" run --resume mpi.h5 --jobs 1 --quiet >"$work/resume.log" 2>&1 ||
    fail "resume under mpirun: $(tail -5 "$work/resume.log")"
[ "$(status_of mpi.h5)" = complete ] || fail "status after resume"
same_file "$work/serial/mpi.h5" mpi.h5
pass "a rank killed mid-run, then --resume under mpirun: the same file"

# SIGTERM to every rank, as Slurm's scancel and time limit send: every run
# checkpoints, the file says interrupted, and one process resumes it.
mkdir -p "$work/stopped"
cd "$work/stopped"
start_and_wait
kill -TERM $ranks
if wait $launcher; then fail "mpirun ended well after SIGTERM"; fi
[ "$(status_of mpi.h5)" = interrupted ] ||
    fail "status after SIGTERM: $(status_of mpi.h5); $(tail -5 launch.log)"
grep -q "gm run --resume mpi.h5" launch.log || fail "no word of --resume"
"$gm" run --resume mpi.h5 --jobs 2 --quiet || fail "resume after SIGTERM"
same_file "$work/serial/mpi.h5" mpi.h5
pass "SIGTERM to every rank, then --resume without mpirun: the same file"

# rank 0 refuses an existing --out: every rank stops at once.
if mpi "$gm" run ../x.yaml --out mpi.h5 --quiet >"$work/exists.log" 2>&1; then
    fail "an existing --out was accepted under mpirun"
fi
grep -q "mpi.h5 exists" "$work/exists.log" ||
    fail "no word of the existing file: $(head -5 "$work/exists.log")"
pass "an existing --out stops every rank"

# eval.classifier under mpirun: every rank reads the classifier's run file
# and counts the modes of its runs' samples on Stacked Fashion-MNIST; the
# file (mode_counts included) is one process's. A small Fashion-MNIST
# (random pixels, labels i mod 10) is written here.
mkdir -p "$work/fashion" "$work/images/serial" "$work/images/ranks"
python3 - "$work/fashion" <<'PY'
import random, struct, sys
random.seed(1)
for split, rows in (("train", 64), ("t10k", 16)):
    with open(f"{sys.argv[1]}/{split}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">I3I", 0x803, rows, 28, 28))
        f.write(bytes(random.randrange(256) for _ in range(rows * 784)))
    with open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, rows))
        f.write(bytes(i % 10 for i in range(rows)))
PY
"$gm" run "$1/experiments/fashion_classifier.yaml" --quiet \
    --out "$work/images/classifier.h5" --set train.steps=4 \
    --set eval.every=2 --set train.batch_size=16 \
    --set dataset.path="$work/fashion" || fail "training the classifier"
cat >"$work/images/x.yaml" <<YAML
experiment: images
seeds: [1, 2, 3]
dataset: {name: stacked_fashion_mnist, path: $work/fashion, size: 64}
train: {steps: 40, batch_size: 16}
eval: {every: 20, samples: 100, classifier: $work/images/classifier.h5}
models:
  gan:
    objective: gan
    latent_dim: 4
    generator: {hidden: [16]}
    discriminator: {hidden: [16]}
YAML
(cd "$work/images/serial" && "$gm" run ../x.yaml --out mpi.h5 --quiet --jobs 2)
(cd "$work/images/ranks" && mpi "$gm" run ../x.yaml --out mpi.h5 --jobs 1 \
    --quiet >"$work/images.log" 2>&1) ||
    fail "mpirun with eval.classifier: $(tail -5 "$work/images.log")"
grep -q "mode_counts" <<<"$(h5ls -r "$work/images/ranks/mpi.h5")" ||
    fail "no mode_counts in the file of the ranks"
same_file "$work/images/serial/mpi.h5" "$work/images/ranks/mpi.h5"
pass "eval.classifier under 3 ranks: the file of one process"
