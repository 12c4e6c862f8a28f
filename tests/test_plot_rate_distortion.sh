#!/bin/bash
# Trains a tiny autoencoder family on the ring (the plain autoencoder, the
# stochastic one and two beta-VAEs) and runs
# analysis/plot_rate_distortion.py on it (and on a family of 8x8 IDX
# images, for the reconstructions): every figure must be a PNG of
# non-trivial size, the table must have a row per model with the
# autoencoder's rate left out, a file with no vae_elbo model and a missing
# file must exit 1. Exits 77 (skipped) when python3 lacks h5py or
# matplotlib.
# usage: test_plot_rate_distortion.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2
plot="$src/analysis/plot_rate_distortion.py"
# shellcheck source=support/plot_checks.sh
. "$src/tests/support/plot_checks.sh"

net='encoder: {hidden: [16]}
    decoder: {hidden: [16]}'
cat >"$work/family.yaml" <<YAML
experiment: family
seeds: [1, 2]
dataset: {name: ring, modes: 4, size: 2000}
train: {steps: 40, batch_size: 64}
eval: {every: 20, samples: 100}
models:
  ae:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {posterior: deterministic, beta: 0, sigma: 0.1}
  sae:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {beta: 0, sigma: 0.1, iwae_k: 4}
  b1:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {beta: 1, sigma: 0.1, iwae_k: 4}
  b4:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {beta: 4, sigma: 0.1, iwae_k: 4}
  gan:
    objective: gan
    latent_dim: 2
    generator: {hidden: [8]}
    discriminator: {hidden: [8]}
YAML
"$bin/gm" run "$work/family.yaml" --out "$work/x.h5" --quiet

"$py" "$plot" "$work/x.h5" --out "$work/png" >"$work/out" ||
    fail "plot_rate_distortion.py failed on a complete run"
for name in rate_distortion units samples; do
    check_png "$work/png/$name.png"
    grep -qx "$work/png/$name.png" "$work/out" ||
        fail "$name.png written but its path not printed"
done
# The table: a header, a rule and one row per vae_elbo model (not the gan),
# the autoencoder first with no rate, then by beta.
rows=$(grep -c '^| ' "$work/out")
[ "$rows" -eq 5 ] || fail "expected 5 table lines, got $rows"
grep -q '^| autoencoder | - | - |' "$work/out" ||
    fail "the autoencoder's row: $(grep autoencoder "$work/out")"
order=$(grep -oE '^\| (autoencoder|stochastic AE|beta=[0-9]+)' "$work/out" |
    tr -d '|' | xargs)
[ "$order" = "autoencoder stochastic AE beta=1 beta=4" ] ||
    fail "rows out of order: $order"

# Reconstructions: a tiny family on 8x8 IDX images (Bernoulli). The
# script recomputes the plain autoencoder's held-out distortion from its
# checkpoint in NumPy, and it must equal the run file's.
"$py" - "$work" <<'PY'
import struct, sys
import numpy as np
rng = np.random.default_rng(0)
for name, n in (("train", 300), ("test", 100)):
    x = (rng.random((n, 8, 8)) < np.linspace(0.1, 0.9, 8)) * 255
    with open(f"{sys.argv[1]}/{name}.idx", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 8, 8))
        f.write(x.astype(np.uint8).tobytes())
PY
cat >"$work/images.yaml" <<YAML
experiment: images
seeds: [1]
dataset: {name: idx, path: $work/train.idx, test_path: $work/test.idx}
train: {steps: 30, batch_size: 32}
eval: {every: 30, samples: 16}
models:
  ae:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {posterior: deterministic, beta: 0, likelihood: bernoulli}
  b1:
    objective: vae_elbo
    latent_dim: 4
    $net
    params: {beta: 1, likelihood: bernoulli, iwae_k: 4}
YAML
"$bin/gm" run "$work/images.yaml" --out "$work/images.h5" --quiet
"$py" "$plot" "$work/images.h5" --out "$work/png2" \
    --data "$work/test.idx" >"$work/out2" ||
    fail "plot_rate_distortion.py failed on the image family"
check_png "$work/png2/reconstructions.png"
check=$(grep '^check: ae seed 1: distortion' "$work/out2") ||
    fail "no distortion check: $(cat "$work/out2")"
read -r mine theirs < <(echo "$check" |
    sed -E 's/.*distortion ([^ ]+) recomputed here, ([^ ]+) in the.*/\1 \2/')
[ "$mine" = "$theirs" ] || fail "NumPy's distortion differs: $check"

# No vae_elbo model, or no file: exit 1 with a message naming the file.
"$py" - "$work/gan.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "w") as f:
    f.create_group("models/gan").attrs["objective"] = "gan"
PY
expect_exit1() {
    local file=$1 message=$2 rc=0
    "$py" "$plot" "$file" --out "$work/e" 2>"$work/err" >/dev/null || rc=$?
    [ "$rc" -eq 1 ] || fail "$file: expected exit 1, got $rc"
    grep -q "$message" "$work/err" || fail "unclear error: $(cat "$work/err")"
}
expect_exit1 "$work/gan.h5" "gan.h5: no vae_elbo model"
expect_exit1 "$work/none.h5" "none.h5: no such file"

echo "plot_rate_distortion: 4 figures and the table written, reconstructions checked; bad files handled"
