#!/usr/bin/env bash
# `make bench`: gm against PyTorch and against the GEMM-only bound, on this
# machine, in one run (issue 6). Builds nothing: the Makefile builds first.
#
#   BUILD=build          build directory holding gm and bench/bench_*
#   BENCH_ROUNDS=1       repeat every measurement; the table shows medians
#   BENCH_FLAGSHIP=1     0 skips the flagship's end-to-end wall time
#   BENCH_PYTHON=/usr/bin/python3   the Python with PyTorch (Debian's)
#
# Every row is run twice, with OPENBLAS_CORETYPE unset (OpenBLAS picks its
# kernel, AVX-512 here) and with OPENBLAS_CORETYPE=Haswell (this machine's
# environment, AVX2 kernels). gm, the GEMM bound and PyTorch all use
# OpenBLAS with one thread. PyTorch runs at its best settings here.
set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-1}
FLAGSHIP=${BENCH_FLAGSHIP:-1}
PY=${BENCH_PYTHON:-/usr/bin/python3}
TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824
CORES="unset Haswell"
MODELS="gan vae"
GM_MEM_STEPS=1200 # > 1000: anonymous RSS is compared at 1000 and the end

for m in $MODELS; do
    if [ ! -x "$BUILD/bench/bench_$m" ]; then
        echo "bench: $BUILD/bench/bench_$m not built (run make bench)" >&2
        exit 1
    fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

have_torch=0
if "$PY" -c 'import torch' 2>/dev/null; then
    have_torch=1
else
    echo "bench: PyTorch not found; its columns show n/a." >&2
    echo "       install it with: sudo apt-get install python3-torch" >&2
fi

say() { echo "bench: $*" >&2; }

# failed WHAT [fatal]: reports a failed measurement with the end of the
# log. gm's failures (fatal) fail the bench after the table; PyTorch's not.
status=0
failed() {
    say "$1 failed; its column shows n/a. Last lines of its output:"
    tail -n 5 "$out/log" >&2
    if [ "${2:-}" = fatal ]; then status=1; fi
}

# core_env CORE: the env(1) arguments selecting the OpenBLAS kernel.
core_env() {
    if [ "$1" = unset ]; then echo "-u OPENBLAS_CORETYPE"; else echo "OPENBLAS_CORETYPE=$1"; fi
}

# run_gm CORE MODEL ARGS...: one benchmark program, OpenBLAS on one thread.
run_gm() {
    local core=$1 model=$2
    shift 2
    # shellcheck disable=SC2046
    env $(core_env "$core") OPENBLAS_NUM_THREADS=1 \
        "$BUILD/bench/bench_$model" "$@" 2>>"$out/log"
}

# run_torch CORE MODEL: the PyTorch reference at its best settings.
run_torch() {
    # shellcheck disable=SC2046
    env $(core_env "$1") OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        GLIBC_TUNABLES=$TUNABLES "$PY" "bench/torch_$2.py" 2>>"$out/log"
}

# get KEY < lines: the values of KEY=... one per line.
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# median < numbers
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) print "n/a";
        else if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# val FILE KEY: the median of KEY over the rounds recorded in FILE.
val() {
    if [ -s "$1" ]; then get "$2" <"$1" | median; else echo n/a; fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
    for core in $CORES; do
        for m in $MODELS; do
            say "round $round, OPENBLAS_CORETYPE=$core, $m: gm and GEMM bound"
            run_gm "$core" "$m" both >>"$out/$core.$m.both" ||
                failed "bench_$m both" fatal
            say "round $round, OPENBLAS_CORETYPE=$core, $m: gm memory ($GM_MEM_STEPS steps)"
            run_gm "$core" "$m" gm "$GM_MEM_STEPS" >>"$out/$core.$m.mem" ||
                failed "bench_$m gm" fatal
            if [ "$have_torch" = 1 ]; then
                say "round $round, OPENBLAS_CORETYPE=$core, $m: PyTorch"
                run_torch "$core" "$m" >>"$out/$core.$m.torch" ||
                    failed "PyTorch $m"
            fi
        done
    done
done

flag_status="skipped (BENCH_FLAGSHIP=0)"
if [ "$FLAGSHIP" != 0 ]; then
    say "flagship: gm run experiments/gan_vs_vae.yaml (default jobs)"
    t0=$(date +%s.%N)
    if env -u OPENBLAS_CORETYPE "$BUILD/gm" run experiments/gan_vs_vae.yaml \
        --out "$out/flagship.h5" --quiet 2>>"$out/log"; then
        t1=$(date +%s.%N)
        flag_status=$(awk -v a="$t0" -v b="$t1" 'BEGIN {
            s = b - a; printf "%.0f s (%dm%02ds), target < 180 s: %s",
            s, s / 60, s % 60, s < 180 ? "met" : "missed" }')
    else
        flag_status="FAILED"
        failed "the flagship" fatal
    fi
fi

# ---- the table -----------------------------------------------------------
# mb KB: kB as MB.
mb() { awk -v k="$1" 'BEGIN { if (k == "n/a") print "n/a"; else printf "%.0f MB", k / 1024 }'; }
# growth FILE: anonymous RSS at the end minus at step 1000, in kB (max over rounds).
growth() {
    if [ -s "$1" ]; then
        paste -d' ' <(get anon_kb_step1000 <"$1") <(get anon_kb_end <"$1") |
            awk '{ d = $2 - $1; if (NR == 1 || d > m) m = d } END { printf "%+d", m }'
    else echo n/a; fi
}
# ratio A B: A / B to two decimals, n/a if either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo
echo "gm benchmarks: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
echo "load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: quote ratios)"
echo "OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?'), OPENBLAS_NUM_THREADS=1 for gm, the GEMM bound and PyTorch"
if [ "$have_torch" = 1 ]; then
    tv=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || "$PY" -c 'import torch; print(torch.__version__)')
    echo "PyTorch $tv (same OpenBLAS): torch.set_num_threads(1), OMP_NUM_THREADS=1, Adam defaults (foreach off),"
    echo "  zero_grad(set_to_none=True), GLIBC_TUNABLES=$TUNABLES"
else
    echo "PyTorch: not installed (sudo apt-get install python3-torch)"
fi
echo "medians over timed windows of 30 steps after a warm-up; a GAN step is one D and one G step"
echo
# printf's format is this variable on purpose: one layout for all rows.
# shellcheck disable=SC2059
fmt="%-5s %-19s %8s %8s %8s %9s %8s %8s %8s %7s %7s %8s\n"
# shellcheck disable=SC2059
printf "$fmt" model "OpenBLAS core" "gm st/s" "pt st/s" "gm/pt" "gm/pt(*)" gm/bound pt/bound "bound" "RSS gm" "RSS pt" "growth"
for core in $CORES; do
    for m in $MODELS; do
        b="$out/$core.$m.both" t="$out/$core.$m.torch" mem="$out/$core.$m.mem"
        name=$(val "$b" blas_core)
        [ "$core" = unset ] && name="unset ($name)"
        gm=$(val "$b" gm_steps_per_s) pt=$(val "$t" steps_per_s)
        gb=$(val "$b" gm_over_bound) pb=$(val "$t" torch_over_bound)
        # shellcheck disable=SC2059
        printf "$fmt" "$m" "$name" "$gm" "$pt" "$(ratio "$gm" "$pt")" \
            "$(ratio "$gb" "$pb")" "$(ratio "$gb" 1)" "$(ratio "$pb" 1)" \
            "$(val "$b" gemm_bound)" "$(mb "$(val "$mem" peak_rss_kb)")" \
            "$(mb "$(val "$t" peak_rss_kb)")" "$(growth "$mem")/$(growth "$t")"
    done
done
echo
echo "pt = PyTorch; st/s = steps/s; bound = GEMM-only steps/s in gm's process."
echo "gm/bound, pt/bound: each framework against the same sgemm calls timed in"
echo "  alternate windows of its own process (PyTorch's through ctypes, ~2 us/call)."
echo "gm/pt(*) = (gm/bound) / (pt/bound): the load-robust ratio; gm/pt divides"
echo "  the medians of two processes run back to back (noisier on a shared machine)."
echo
echo "targets: gm >= 0.85 of the GEMM bound; no memory growth: growth = anonymous RSS at the end"
echo "  minus at step 1000, kB (gm: $GM_MEM_STEPS steps; PyTorch: 1500); 0 when steps allocate nothing"
echo "flagship (gm run experiments/gan_vs_vae.yaml, 12 runs, default --jobs = $(nproc),"
echo "  OPENBLAS_CORETYPE unset): $flag_status"
echo "  PyTorch equivalent: not implemented, not measured"
echo
echo "raw measurements (medians above are over these):"
cat "$out"/*.both "$out"/*.mem "$out"/*.torch 2>/dev/null | sed 's/^/  /'
echo "total bench time $(($(date +%s) - t_start)) s"
exit "$status"
