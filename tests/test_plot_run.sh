#!/bin/bash
# Runs a short example experiment and plots it with analysis/plot_run.py:
# every expected figure must be a PNG of non-trivial size, a failed run with
# no evaluation must not crash the script, and a missing or non-HDF5 file
# must exit 1. Exits 77 (skipped) when python3 lacks h5py or matplotlib.
# usage: test_plot_run.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2
py=/usr/bin/python3
plot="$src/analysis/plot_run.py"

if ! "$py" -c "import h5py, matplotlib, numpy" 2>/dev/null; then
    echo "SKIP: $py cannot import h5py, matplotlib and numpy"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A valid PNG starts with the 8-byte signature 89 50 4E 47 0D 0A 1A 0A.
check_png() {
    local f=$1
    [ -f "$f" ] || fail "$f was not written"
    local sig
    sig=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$sig" = "89504e470d0a1a0a" ] || fail "$f is not a PNG (starts $sig)"
    local size
    size=$(stat -c %s "$f")
    [ "$size" -gt 10000 ] || fail "$f is only $size bytes"
}

"$bin/gm" run "$src/experiments/example.yaml" --set train.steps=60 \
    --set eval.every=30 --out "$work/x.h5" --quiet

"$py" "$plot" "$work/x.h5" --out "$work/png" >"$work/out" ||
    fail "plot_run.py failed on a complete run"
# experiments/example.yaml has the models vae, gan, joint_kl and gan_prior.
expected="kl modes"
for m in vae gan joint_kl gan_prior; do
    expected="$expected samples_$m metrics_$m"
done
for name in $expected; do
    check_png "$work/png/$name.png"
    grep -qx "$work/png/$name.png" "$work/out" ||
        fail "$name.png written but its path not printed"
done
n=$(find "$work/png" -type f | wc -l)
[ "$n" -eq 10 ] || fail "expected 10 files in $work/png, found $n"

# --seed picks the seed of the sample figures; an absent seed skips them.
"$py" "$plot" "$work/x.h5" --out "$work/seed2" --seed 2 >/dev/null ||
    fail "--seed 2 failed"
check_png "$work/seed2/samples_gan.png"
"$py" "$plot" "$work/x.h5" --out "$work/seed9" --seed 9 >"$work/out9" ||
    fail "--seed 9 failed"
grep -q "note: skipped samples_gan.png: no seed 9" "$work/out9" ||
    fail "an absent seed must be noted"
[ ! -e "$work/seed9/samples_gan.png" ] || fail "samples for an absent seed"
check_png "$work/seed9/kl.png"

# A run that failed before its first evaluation: notes, no crash.
"$py" - "$work/failed.h5" <<'EOF'
import sys
import h5py
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["status"] = "failed: model 'gan', seed 1: step 3: loss is nan"
    f.attrs["experiment"] = "failed"
    f.create_group("dataset").attrs["name"] = "ring"
    f["dataset/centers"] = [[1.0, 0.0], [0.0, 1.0]]
    run = f.create_group("models/gan/seed_1")
    f["models/gan"].attrs["objective"] = "gan"
    for name in ("step", "loss_generator", "modes_covered", "kl_data_model"):
        run.create_dataset("metrics/" + name, (0,), "f8", maxshape=(None,))
    run.create_dataset("samples", (0, 10, 2), "f4", maxshape=(None, 10, 2))
EOF
"$py" "$plot" "$work/failed.h5" --out "$work/failed" >"$work/outf" ||
    fail "plot_run.py crashed on a failed run with no evaluation"
grep -q "note: skipped kl.png" "$work/outf" || fail "kl.png skip not noted"
grep -q "note: skipped samples_gan.png" "$work/outf" ||
    fail "samples skip not noted"

# Images of the shape /dataset gives: 3 channels drawn in colour (red
# images stay red).
"$py" - "$work/img.h5" <<'EOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["status"] = "complete"
    f.attrs["experiment"] = "images"
    ds = f.create_group("dataset")
    ds.attrs["name"] = "stacked_fashion_mnist"
    for k, v in (("dim", 2352), ("channels", 3), ("height", 28),
                 ("width", 28)):
        ds.attrs[k] = float(v)
    run = f.create_group("models/gan/seed_1")
    f["models/gan"].attrs["objective"] = "gan"
    run["metrics/step"] = np.array([10], "i8")
    red = np.zeros((1, 16, 3, 28, 28), "f4")
    red[:, :, 0] = 1.0
    run["samples"] = red.reshape(1, 16, 2352)
EOF
"$py" "$plot" "$work/img.h5" --out "$work/img" >/dev/null ||
    fail "plot_run.py failed on 3-channel images"
check_png "$work/img/samples_gan.png"
"$py" - "$work/img/samples_gan.png" <<'EOF' ||
import sys
import matplotlib.image as mpimg
px = mpimg.imread(sys.argv[1])
red = (px[:, :, 0] > 0.8) & (px[:, :, 1] < 0.2) & (px[:, :, 2] < 0.2)
sys.exit(0 if red.sum() > 1000 else 1)
EOF
    fail "3-channel samples not drawn in colour"

# Bad input files exit 1 with a message naming the file.
expect_exit1() {
    local file=$1 message=$2 rc=0
    "$py" "$plot" "$file" --out "$work/e" 2>"$work/err" || rc=$?
    [ "$rc" -eq 1 ] || fail "$file: expected exit 1, got $rc"
    grep -q "$message" "$work/err" || fail "unclear error: $(cat "$work/err")"
}
expect_exit1 "$work/none.h5" "none.h5: no such file"
echo "not hdf5" >"$work/text.h5"
expect_exit1 "$work/text.h5" "text.h5: not an HDF5 file"

echo "plot_run: figures written and valid, 3-channel images in colour; failed and bad files handled"
