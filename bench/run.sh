#!/usr/bin/env bash
# `make bench`: gm against PyTorch and against the GEMM-only bound, on this
# machine, in one run (issues 6, 13, for the DCGAN's convolutions 14, and
# for the WGAN-GP's gradients of gradients 24; train.precision: bf16 against
# float32 and PyTorch's autocast, 25, where the CPU has bfloat16 products).
# Builds nothing: the Makefile builds first.
#
#   BUILD=build          build directory holding gm and bench/bench_*
#   BENCH_ROUNDS=1       repeat every measurement; the table shows medians
#   BENCH_FLAGSHIP=1     0 skips the flagship's wall time (--jobs 1 and 2)
#   BENCH_MEMORY=1       0 skips the peak RSS of the image experiment files
#   BENCH_PYTHON=/usr/bin/python3   the Python with PyTorch (Debian's)
#   BENCH_CORES=gm       the OpenBLAS kernels of the table's rows: "gm" is
#                        the kernel gm runs on by itself, any other word a
#                        kernel name set for gm and PyTorch (e.g. "gm Haswell")
#
# Every row runs gm, the GEMM bound and PyTorch on the same kernel, with one
# OpenBLAS thread; PyTorch at its best settings here. PyTorch also runs as
# users run it, on OpenBLAS's own kernel. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE from the caller's environment are ignored: the bench
# measures what a user without them gets.
set -u
cd "$(dirname "$0")/.." || exit 1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-1}
FLAGSHIP=${BENCH_FLAGSHIP:-1}
MEMORY=${BENCH_MEMORY:-1}
# The image experiment files whose peak resident memory the bench reports,
# each run with --jobs 2 and shortened (MEMORY_SET): one seed, 2 steps and
# one evaluation of 2500 samples. Their memory does not depend on those:
# datasets load once per process, graphs are planned at setup, and an
# evaluation takes the sampler's 2500-row draws as they come. The files
# that count modes get a classifier of fashion_classifier.yaml, 20 steps.
MEMORY_FILES="stacked_fashion stacked_fashion_quarter_d stacked_fashion_ali fashion_gan fashion_dcgan fashion_vae"
MEMORY_SET="--set seeds=[1] --set train.steps=2 --set eval.every=2 --set eval.samples=2500"
PY=${BENCH_PYTHON:-/usr/bin/python3}
TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824
MODELS="gan vae"
GM_MEM_STEPS=1200 # > 1000: anonymous RSS is compared at 1000 and the end

for prog in gm bench/bench_gan bench/bench_vae bench/bench_dcgan bench/bench_threads \
    bench/bench_sgemm_small bench/bench_wgan_gp; do
    if [ ! -x "$BUILD/$prog" ]; then
        echo "bench: $BUILD/$prog not built (run make bench)" >&2
        exit 1
    fi
done

# kernel_of ENV...: the kernel `gm --version` names in that environment.
kernel_of() {
    env "$@" "$BUILD/gm" --version |
        sed -n 's/.*OpenBLAS kernel \([^ ]*\).*/\1/p'
}
GM_CORE=$(kernel_of)                 # the kernel gm runs on by itself
# what bfloat16 products run on here ("none": the precision rows are skipped)
BF16_ISA=$("$BUILD/gm" --version | sed -n 's/.*bfloat16 products on \([^ ]*\).*/\1/p')
OWN_CORE=$(kernel_of GM_BLAS_AUTO=0) # OpenBLAS's own pick: PyTorch's
CORES=""
for c in ${BENCH_CORES:-gm}; do
    [ "$c" = gm ] && c=$GM_CORE
    case " $CORES " in *" $c "*) ;; *) CORES="$CORES $c" ;; esac
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

# core_env CORE: the env(1) arguments selecting the OpenBLAS kernel
# ("own": OpenBLAS's own pick).
core_env() {
    if [ "$1" = own ]; then echo "-u OPENBLAS_CORETYPE"; else echo "OPENBLAS_CORETYPE=$1"; fi
}

# run_gm CORE MODEL ARGS...: one benchmark program, OpenBLAS on one thread
# (OPENBLAS_NUM_THREADS may be overridden in front).
run_gm() {
    local core=$1 model=$2
    shift 2
    # shellcheck disable=SC2046
    env $(core_env "$core") OPENBLAS_NUM_THREADS="${THREADS:-1}" \
        "$BUILD/bench/bench_$model" "$@" 2>>"$out/log"
}

# run_torch CORE MODEL [ARGS...]: the PyTorch reference at its best settings.
run_torch() {
    local core=$1 model=$2
    shift 2
    # shellcheck disable=SC2046
    env $(core_env "$core") OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        GLIBC_TUNABLES=$TUNABLES "$PY" "bench/torch_$model.py" "$@" \
        2>>"$out/log"
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

# flagship JOBS: seconds of gm run experiments/gan_vs_vae.yaml --jobs JOBS,
# on the kernel gm picks by itself; n/a if it failed.
flagship() {
    local t0 t1
    t0=$(date +%s.%N)
    if "$BUILD/gm" run experiments/gan_vs_vae.yaml --jobs "$1" \
        --out "$out/flagship$1.h5" --quiet 2>>"$out/log"; then
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
    else
        failed "the flagship with --jobs $1" fatal
        echo n/a
    fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
    for core in $CORES; do
        for m in $MODELS; do
            say "round $round, OpenBLAS $core, $m: gm and GEMM bound"
            run_gm "$core" "$m" both >>"$out/$core.$m.both" ||
                failed "bench_$m both" fatal
            say "round $round, OpenBLAS $core, $m: gm memory" \
                "($GM_MEM_STEPS steps)"
            run_gm "$core" "$m" gm "$GM_MEM_STEPS" >>"$out/$core.$m.mem" ||
                failed "bench_$m gm" fatal
            if [ "$have_torch" = 1 ]; then
                say "round $round, OpenBLAS $core, $m: PyTorch"
                run_torch "$core" "$m" >>"$out/$core.$m.torch" ||
                    failed "PyTorch $m"
            fi
        done
    done
    # The WGAN-GP (a gradient penalty: gradients of gradients) against the
    # plain GAN in the same process, and PyTorch's (create_graph=True).
    for core in $CORES; do
        say "round $round, OpenBLAS $core, wgan_gp: gm, and gm's plain GAN"
        run_gm "$core" wgan_gp both >>"$out/$core.wgan_gp.both" ||
            failed "bench_wgan_gp both" fatal
        if [ "$have_torch" = 1 ]; then
            say "round $round, OpenBLAS $core, wgan_gp: PyTorch"
            run_torch "$core" wgan_gp >>"$out/$core.wgan_gp.torch" ||
                failed "PyTorch wgan_gp"
        fi
    done
    # PyTorch as users run it, unless that kernel is measured above.
    case " $CORES " in *" $OWN_CORE "*) ;; *)
        for m in $MODELS; do
            if [ "$have_torch" = 1 ]; then
                say "round $round, $m: PyTorch on OpenBLAS's own kernel"
                run_torch own "$m" >>"$out/own.$m.torch" || failed "PyTorch $m"
            fi
        done ;;
    esac
    # The DCGAN (convolutions): gm with its own sgemm calls replayed as the
    # bound, each convolution alone, and PyTorch (oneDNN convolutions).
    say "round $round, OpenBLAS $GM_CORE, dcgan: gm and GEMM bound"
    run_gm "$GM_CORE" dcgan both 9 10 >>"$out/dcgan.both" ||
        failed "bench_dcgan both" fatal
    say "round $round, OpenBLAS $GM_CORE, dcgan: convolutions alone"
    run_gm "$GM_CORE" dcgan ops >>"$out/dcgan.ops" ||
        failed "bench_dcgan ops" fatal
    if [ "$have_torch" = 1 ]; then
        say "round $round, OpenBLAS $GM_CORE, dcgan: PyTorch"
        run_torch "$GM_CORE" dcgan >>"$out/dcgan.torch" || failed "PyTorch dcgan"
        run_torch "$GM_CORE" dcgan --ops >>"$out/dcgan.torch_ops" ||
            failed "PyTorch dcgan --ops"
    fi
    # train.precision: gm's float32 and bfloat16 steps in alternating
    # windows of one process, and PyTorch's under torch.autocast.
    if [ "$BF16_ISA" != none ]; then
        for m in $MODELS dcgan; do
            say "round $round, $m: gm in fp32 ($GM_CORE) and bf16 ($BF16_ISA)"
            run_gm "$GM_CORE" "$m" precision 9 10 >>"$out/$m.precision" ||
                failed "bench_$m precision" fatal
            if [ "$have_torch" = 1 ]; then
                say "round $round, $m: PyTorch with bf16 autocast"
                run_torch "$GM_CORE" "$m" --bf16 >>"$out/$m.torch_bf16" ||
                    failed "PyTorch $m --bf16"
            fi
        done
    fi
    say "round $round, OpenBLAS $GM_CORE, vae: gm and GEMM bound, 2 threads"
    THREADS=2 run_gm "$GM_CORE" vae both >>"$out/threads2.vae.both" ||
        failed "bench_vae both with 2 threads" fatal
done
OPENBLAS_CORETYPE=$GM_CORE "$BUILD/bench/bench_threads" >"$out/bits" \
    2>>"$out/log" || failed "bench_threads" fatal

# peak_rss NAME: peak RSS in kB of gm run experiments/NAME.yaml --jobs 2,
# shortened (MEMORY_SET), with the bench's classifier; n/a if it failed.
peak_rss() {
    local classifier=()
    if grep -q '^  classifier:' "experiments/$1.yaml"; then
        classifier=(--set "eval.classifier=$out/classifier.h5")
    fi
    # shellcheck disable=SC2086
    if "$PY" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r)' "$BUILD/gm" run "experiments/$1.yaml" --jobs 2 --quiet \
        --out "$out/mem_$1.h5" $MEMORY_SET "${classifier[@]}" \
        >"$out/rss_$1" 2>>"$out/log"; then
        cat "$out/rss_$1"
    else
        failed "gm run experiments/$1.yaml (peak RSS)" fatal
        echo n/a
    fi
}

declare -A rss
if [ "$MEMORY" != 0 ]; then
    say "memory: a classifier for the image files (fashion_classifier.yaml, 20 steps)"
    if "$BUILD/gm" run experiments/fashion_classifier.yaml --quiet \
        --out "$out/classifier.h5" --set train.steps=20 --set eval.every=20 \
        2>>"$out/log"; then
        for f in $MEMORY_FILES; do
            say "memory: peak RSS of experiments/$f.yaml, --jobs 2, shortened"
            rss[$f]=$(peak_rss "$f")
        done
    else
        failed "the classifier for the memory rows" fatal
    fi
fi

t_jobs1=n/a t_jobs2=n/a
if [ "$FLAGSHIP" != 0 ]; then
    say "flagship: gm run experiments/gan_vs_vae.yaml --jobs 2"
    t_jobs2=$(flagship 2)
    say "flagship: gm run experiments/gan_vs_vae.yaml --jobs 1"
    t_jobs1=$(flagship 1)
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
# target VALUE OP LIMIT: "met" or "missed" (n/a if VALUE is).
target() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v == "n/a") print "n/a";
    else print ((op == "<" ? v < l : v >= l) ? "met" : "missed") }'; }

echo
echo "gm benchmarks: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
echo "load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: quote ratios)"
ov=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?')
echo "OpenBLAS $ov: gm runs on $GM_CORE (its own choice, OPENBLAS_CORETYPE unset),"
echo "  OpenBLAS alone picks $OWN_CORE; one OpenBLAS thread for gm, the bound and PyTorch"
if [ "$have_torch" = 1 ]; then
    tv=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || "$PY" -c 'import torch; print(torch.__version__)')
    echo "PyTorch $tv (same OpenBLAS, same kernel in each row):"
    echo "  torch.set_num_threads(1), OMP_NUM_THREADS=1, Adam defaults (foreach off),"
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
printf "$fmt" model "OpenBLAS kernel" "gm st/s" "pt st/s" "gm/pt" "gm/pt(*)" gm/bound pt/bound "bound" "RSS gm" "RSS pt" "growth"
for core in $CORES; do
    for m in $MODELS; do
        b="$out/$core.$m.both" t="$out/$core.$m.torch" mem="$out/$core.$m.mem"
        name=$(val "$b" blas_core)
        [ "$core" = "$GM_CORE" ] && name="$name (gm's)"
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
echo "PyTorch as users run it (OPENBLAS_CORETYPE unset: OpenBLAS's own" \
    "kernel, $OWN_CORE):"
case " $CORES " in
*" $OWN_CORE "*) echo "  the $OWN_CORE rows above" ;;
*) for m in $MODELS; do
        t="$out/own.$m.torch"
        pt=$(val "$t" steps_per_s) pb=$(val "$t" torch_over_bound)
        gm=$(val "$out/$GM_CORE.$m.both" gm_steps_per_s)
        echo "  $m: PyTorch $pt st/s on $(val "$t" blas_core)" \
            "(pt/bound $(ratio "$pb" 1)); gm on $GM_CORE / this: $(ratio "$gm" "$pt")"
    done ;;
esac
echo
echo "WGAN-GP on the ring (loss wasserstein, penalty wgan_gp, weight 10; the ring GAN's networks,"
echo "batch and Adam; one step = one critic step with the penalty + one generator step), one"
echo "thread each; ms per step in thread CPU time (CPU) and wall time, medians of windows of 30"
echo "steps; penalty/plain: the WGAN-GP step over the plain ring GAN step, windows alternating"
echo "in one process (PyTorch's: its own two steps)"
wfmt="%-19s %9s %9s %9s %9s %9s %13s %13s\n"
# shellcheck disable=SC2059
printf "$wfmt" "OpenBLAS kernel" "gm CPU ms" "pt CPU ms" "pt/gm CPU" "gm wall" "pt wall" "gm pen/plain" "pt pen/plain"
for core in $CORES; do
    b="$out/$core.wgan_gp.both" t="$out/$core.wgan_gp.torch"
    name=$(val "$b" blas_core)
    [ "$core" = "$GM_CORE" ] && name="$name (gm's)"
    gc=$(val "$b" wgan_gp_cpu_ms) pc=$(val "$t" wgan_gp_cpu_ms)
    # shellcheck disable=SC2059
    printf "$wfmt" "$name" "$gc" "$pc" "$(ratio "$pc" "$gc")" "$(val "$b" wgan_gp_ms)" \
        "$(val "$t" wgan_gp_ms)" "$(val "$b" wgan_gp_over_gan_cpu)" "$(val "$t" wgan_gp_over_gan_cpu)"
done
echo "  targets (issue 24): pt/gm >= 1.5; gm pen/plain <= 2.5 (CPU time)"
echo
echo "DCGAN of experiments/fashion_dcgan.yaml (batch 64; one step = D phase + G phase), $GM_CORE,"
echo "one thread each; ms per step, medians of windows of 10 steps; CPU = thread CPU time"
dfmt="%-8s %12s %12s %12s %12s %12s\n"
# ms RATE: 1000 / RATE to one decimal, n/a if missing.
ms() { awk -v r="$1" 'BEGIN { if (r == "n/a" || r == 0) print "n/a"; else printf "%.1f", 1000 / r }'; }
gm_cpu=$(val "$out/dcgan.both" gm_cpu_steps_per_s) pt_cpu=$(val "$out/dcgan.torch" cpu_steps_per_s)
gm_wall=$(val "$out/dcgan.both" gm_steps_per_s) pt_wall=$(val "$out/dcgan.torch" steps_per_s)
# shellcheck disable=SC2059
printf "$dfmt" "" "gm CPU ms" "pt CPU ms" "pt/gm CPU" "gm wall ms" "pt wall ms"
# shellcheck disable=SC2059
printf "$dfmt" step "$(ms "$gm_cpu")" "$(ms "$pt_cpu")" "$(ratio "$gm_cpu" "$pt_cpu")" \
    "$(ms "$gm_wall")" "$(ms "$pt_wall")"
echo "  gm / its own sgemm calls replayed (GEMM bound): $(val "$out/dcgan.both" gm_over_bound_cpu) in CPU time," \
    "$(val "$out/dcgan.both" gm_over_bound) in wall time"
echo "each convolution alone (kernel 4, stride 2, padding 1, batch 64), forward and backward"
echo "into x, weight and bias; median CPU ms (PyTorch: oneDNN)"
ofmt="%-38s %8s %8s %8s %8s %9s\n"
# shellcheck disable=SC2059
printf "$ofmt" op "gm fwd" "gm bwd" "pt fwd" "pt bwd" "pt/gm"
# op_val FILE OP KEY: the median of KEY over FILE's lines for OP.
op_val() {
    if [ -s "$1" ]; then grep " op=$2 " "$1" | get "$3" | median; else echo n/a; fi
}
for op in $(get op <"$out/dcgan.ops" | sort -u); do
    gf=$(op_val "$out/dcgan.ops" "$op" fwd_cpu_ms) gb=$(op_val "$out/dcgan.ops" "$op" bwd_cpu_ms)
    pf=$(op_val "$out/dcgan.torch_ops" "$op" fwd_cpu_ms) pb=$(op_val "$out/dcgan.torch_ops" "$op" bwd_cpu_ms)
    both_gm=$(awk -v a="$gf" -v b="$gb" 'BEGIN { print (a == "n/a" || b == "n/a") ? "n/a" : a + b }')
    both_pt=$(awk -v a="$pf" -v b="$pb" 'BEGIN { print (a == "n/a" || b == "n/a") ? "n/a" : a + b }')
    # shellcheck disable=SC2059
    printf "$ofmt" "$op" "$gf" "$gb" "$pf" "$pb" "$(ratio "$both_pt" "$both_gm")"
done
echo "  pt/gm > 1: gm faster (PyTorch's time over gm's, forward + backward)"
echo
if [ "$BF16_ISA" != none ]; then
    echo "train.precision: bf16 (products in bfloat16 on $BF16_ISA, float32 accumulation)"
    echo "against float32 ($GM_CORE), one thread each; steps/s in thread CPU time, medians;"
    echo "gm's two precisions alternate windows in one process; PyTorch fp32 is its row"
    echo "above (OpenBLAS $GM_CORE; DCGAN: oneDNN), PyTorch bf16 is torch.autocast(cpu, bfloat16)"
    pfmt="%-6s %9s %9s %9s %9s %10s %10s %10s\n"
    # shellcheck disable=SC2059
    printf "$pfmt" model "gm fp32" "gm bf16" "pt fp32" "pt bf16" "gm bf16/32" "gm16/pt32" "gm16/pt16"
    for m in $MODELS dcgan; do
        p="$out/$m.precision"
        t32="$out/$GM_CORE.$m.torch"
        [ "$m" = dcgan ] && t32="$out/dcgan.torch"
        g32=$(val "$p" fp32_cpu_steps_per_s) g16=$(val "$p" bf16_cpu_steps_per_s)
        p32=$(val "$t32" cpu_steps_per_s) p16=$(val "$out/$m.torch_bf16" cpu_steps_per_s)
        # shellcheck disable=SC2059
        printf "$pfmt" "$m" "$g32" "$g16" "$p32" "$p16" "$(val "$p" bf16_over_fp32)" \
            "$(ratio "$g16" "$p32")" "$(ratio "$g16" "$p16")"
    done
    echo "  targets (issue 25): DCGAN bf16 >= 1.3x gm fp32 with AVX512_BF16 (>= 3x and >= 2x"
    echo "  PyTorch bf16 with AMX)"
else
    echo "train.precision: bf16: not measured (no AMX_BF16 or AVX512_BF16 on this CPU)"
fi
echo
b1="$out/$GM_CORE.vae.both" b2="$out/threads2.vae.both"
g1=$(val "$b1" gm_steps_per_s) g2=$(val "$b2" gm_steps_per_s)
r1=$(val "$b1" gemm_bound) r2=$(val "$b2" gemm_bound)
echo "vae alone with 2 OpenBLAS threads ($GM_CORE): gm $g2 st/s," \
    "$(ratio "$g2" "$g1")x one thread; bound $r2 st/s, $(ratio "$r2" "$r1")x"
echo "  an experiment's choice (blas_threads: 2), never gm's: $(get differ_1_vs_2_threads <"$out/bits") of gm's" \
    "$(get calls <"$out/bits") products give"
echo "  other bits with 2 threads than with 1 ($GM_CORE; bench_threads), so the"
echo "  count is part of the experiment and the run file does not depend on --jobs"
echo
echo "OpenBLAS's small-matrix kernels (bench_sgemm_small): gm's Linear products one"
echo "  at a time, us per call (thread CPU time) on Haswell's kernels and on $GM_CORE's,"
echo "  and what $GM_CORE allocates per call (SkylakeX and Cooperlake send small products"
echo "  to sgemm_small_kernel_*, which allocate a buffer every call: OpenBLAS's, not gm's)"
sfmt="  %-30s %-10s %9s %9s %7s %7s %11s\n"
# shellcheck disable=SC2059
printf "$sfmt" layer product "Haswell" "$GM_CORE" allocs bytes "malloc+free"
OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell "$BUILD/bench/bench_sgemm_small" >"$out/small.Haswell"
OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$GM_CORE "$BUILD/bench/bench_sgemm_small" >"$out/small.gm"
paste -d'|' "$out/small.Haswell" "$out/small.gm" | while IFS='|' read -r h g; do
    layer=$(echo "$g" | sed -n 's/.*layer="\([^"]*\)".*/\1/p')
    # shellcheck disable=SC2059
    printf "$sfmt" "$layer" "$(echo " $g" | get product)" \
        "$(echo " $h" | get us_per_call)" "$(echo " $g" | get us_per_call)" \
        "$(echo " $g" | get allocs_per_call)" "$(echo " $g" | get bytes)" \
        "$(echo " $g" | get malloc_free_us | sed 's/^0\.000$/-/; s/[0-9]$/& us/')"
done
echo
echo "pt = PyTorch; st/s = steps/s; bound = GEMM-only steps/s in gm's process."
echo "gm/bound, pt/bound: each framework against the same sgemm calls timed in"
echo "  alternate windows of its own process (PyTorch's through ctypes, ~2 us/call)."
echo "gm/pt(*) = (gm/bound) / (pt/bound): the load-robust ratio; gm/pt divides"
echo "  the medians of two processes run back to back (noisier on a shared machine)."
echo
echo "targets: gm >= 0.90 of the GEMM bound and >= 1.8x PyTorch on the same kernel; no memory"
echo "  growth: growth = anonymous RSS at the end minus at step 1000, kB (gm: $GM_MEM_STEPS steps;"
echo "  PyTorch: 1500); 0 when steps allocate nothing"
if [ "$FLAGSHIP" != 0 ]; then
    speedup=$(ratio "$t_jobs1" "$t_jobs2")
    echo "flagship (gm run experiments/gan_vs_vae.yaml, 12 runs, on $GM_CORE): --jobs 1 $t_jobs1 s,"
    echo "  --jobs 2 $t_jobs2 s (target < 180 s: $(target "$t_jobs2" "<" 180)), speed-up ${speedup}x" \
        "(target >= 1.8: $(target "$speedup" ">=" 1.8))"
else
    echo "flagship: skipped (BENCH_FLAGSHIP=0)"
fi
echo "  PyTorch equivalent: not implemented, not measured"
echo
if [ "$MEMORY" != 0 ]; then
    echo "peak resident memory of the image experiment files (gm run --jobs 2; shortened:"
    echo "  $MEMORY_SET; memory does not depend on these; target <= 2048 MB):"
    for f in $MEMORY_FILES; do
        printf "  %-28s %8s\n" "$f.yaml" "$(mb "${rss[$f]:-n/a}")"
    done
else
    echo "image experiment files' peak RSS: skipped (BENCH_MEMORY=0)"
fi
echo
echo "raw measurements (medians above are over these):"
cat "$out"/*.both "$out"/*.mem "$out"/*.torch "$out"/*ops "$out"/*.precision \
    "$out"/*.torch_bf16 "$out/bits" 2>/dev/null | sed 's/^/  /'
echo "total bench time $(($(date +%s) - t_start)) s"
exit "$status"
