#!/bin/bash
# Under a memory limit (ulimit -v) gm ends, in bounded time, with success
# or a clear out-of-memory error: never a hang (OpenBLAS 0.3.21 retries a
# failed buffer allocation for ever) nor a signal. Each case runs with
# OPENBLAS_CORETYPE as the environment has it, unset, and unset with
# OpenBLAS seeming to pick Prescott (tests/preload/fake_openblas.c), so
# that gm checks a better kernel in a child and re-executes itself.
# usage: test_memory_limits.sh SOURCE_DIR BINARY_DIR FAKE_OPENBLAS.so
set -euo pipefail
gm="$2/gm"
fake_openblas=$3
# shellcheck source=support/gm_shell.sh
. "$1/tests/support/gm_shell.sh"
# OpenBLAS starts one worker thread per core but one when it loads, each
# with a 128 MB buffer: two threads, as on a 2-core machine, keep the
# address space a limit must hold the same on any machine.
export OPENBLAS_NUM_THREADS=2

cat >"$work/x.yaml" <<'YAML'
experiment: limits
seeds: [1, 2]
dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 2000}
train: {steps: 100, batch_size: 64, optimizer: {name: adam, lr: 1.0e-3}}
eval: {every: 50, samples: 300}
models:
  vae:
    objective: vae_elbo
    encoder: {hidden: [32, 32]}
    decoder: {hidden: [32, 32]}
  gan:
    objective: gan
    generator: {hidden: [32, 32]}
    discriminator: {hidden: [32, 32]}
YAML

# Runs gm with $1 MB of address space and the rest as arguments; fails
# unless it exits within 60 s (SIGKILL then: a spinning OpenBLAS ignores
# SIGTERM) with 0, or 1 and "out of memory" on stderr.
check() {
    local mb=$1 rc=0
    shift
    (ulimit -v $((mb * 1024)) && exec timeout -k 5 60 "$gm" "$@") \
        >"$work/out" 2>"$work/err" || rc=$?
    local what="$setting, ulimit -v ${mb} MB: gm $*"
    case $rc in
    0) echo "ok: $what: succeeded" ;;
    1) grep -q "out of memory" "$work/err" ||
        fail "$what: exit 1 without 'out of memory': $(cat "$work/err")"
       echo "ok: $what: $(head -c 200 "$work/err")" ;;
    124 | 137) fail "$what: still running after 60 s" ;;
    *) fail "$what: exit status $rc: $(cat "$work/err")" ;;
    esac
}

given=${OPENBLAS_CORETYPE-}
settings=("OPENBLAS_CORETYPE unset" "OpenBLAS picks Prescott")
[ -n "$given" ] && settings=("OPENBLAS_CORETYPE=$given" "${settings[@]}")
for setting in "${settings[@]}"; do
    case $setting in
    OPENBLAS_CORETYPE=*) export OPENBLAS_CORETYPE=$given ;;
    *unset) unset OPENBLAS_CORETYPE ;;
    *Prescott)
        unset OPENBLAS_CORETYPE
        export LD_PRELOAD=$fake_openblas
        ;;
    esac
    # From 140 MB: below about 115 MB the dynamic loader cannot map gm's
    # libraries (oneDNN's alone is 40 MB) and fails before gm runs.
    for mb in 140 200 300 400 600 1000; do
        check $mb --version
        rm -f "$work/o.h5"
        check $mb run "$work/x.yaml" --out "$work/o.h5" --quiet --jobs 2
    done
done
unset LD_PRELOAD
[ -n "$given" ] && export OPENBLAS_CORETYPE=$given
setting="as the environment has it"
# With room enough, gm trains: the limits above are not what fails.
rm -f "$work/o.h5"
check 4000 run "$work/x.yaml" --out "$work/o.h5" --quiet --jobs 2
[ -f "$work/o.h5" ] || fail "no run file with 4000 MB"
echo "all memory limits ended in bounded time"
