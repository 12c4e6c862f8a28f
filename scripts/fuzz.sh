#!/bin/sh
# Fuzzes with clang's libFuzzer under AddressSanitizer and UBSan, built in
# build-fuzz/ so that the gcc build is left alone, FUZZ_SECONDS in all
# (default 60), split between the two targets of tests/fuzz/:
#   fuzz_config_load  the experiment loader; its corpus starts from
#                     experiments/*.yaml and tests/fuzz/seeds/
#   fuzz_runfile      reading run files as gm summary, gm sample and
#                     --resume do; its seeds are run files that gm (this
#                     build) writes first from two tiny experiments
# Each corpus grows in build-fuzz/corpus*/. A crash, leak, sanitizer report
# or broken invariant fails, and the input is left in build-fuzz/artifacts/:
# replay it with   build-fuzz/fuzz_runfile build-fuzz/artifacts/crash-...
set -eu
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-2}
dir=${FUZZ_BUILD:-build-fuzz}
CC=${FUZZ_CC:-clang} cmake -S . -B "$dir" -DGM_FUZZ=ON -DGM_SANITIZE=ON \
    -DGM_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$jobs" --target fuzz_config_load fuzz_runfile gm_cli
mkdir -p "$dir/corpus" "$dir/corpus_runfile" "$dir/seeds_runfile" \
    "$dir/artifacts"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

# Seed run files: complete ones, with a sweep, of two seeds and of one.
seeds="$dir/seeds_runfile"
cat >"$dir/tiny.yaml" <<'YAML'
experiment: tiny
seeds: [1, 2]
dataset: {name: ring, modes: 4, size: 256}
train: {steps: 20, batch_size: 32}
eval: {every: 10, samples: 32}
checkpoint: {every: 10}
models:
  vae: {objective: vae_elbo, encoder: {hidden: [8]}, decoder: {hidden: [8]}}
  gan: {objective: gan, generator: {hidden: [8]}, discriminator: {hidden: [8]}}
sweep:
  models.vae.params.beta: [0.5, 1]
YAML
rm -f "$seeds"/*.h5 "$seeds"/.*.lock
"$dir/gm" run "$dir/tiny.yaml" --out "$seeds/tiny.h5" --quiet --jobs 1
"$dir/gm" run "$dir/tiny.yaml" --out "$seeds/one.h5" --quiet --jobs 1 \
    --set "seeds=[3]"

half=$((seconds / 2 > 0 ? seconds / 2 : 1))
fuzz() { # target, seconds, corpus directories (the first one grows)
    target=$1
    time=$2
    shift 2
    "$dir/$target" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "$@"
}
fuzz fuzz_config_load $((seconds - half)) -dict=tests/fuzz/config.dict \
    "$dir/corpus" tests/fuzz/seeds experiments
fuzz fuzz_runfile "$half" "$dir/corpus_runfile" "$seeds"
echo "fuzz: no crash, leak or sanitizer report in ${seconds}s"
