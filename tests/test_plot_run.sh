#!/bin/bash
# Runs a short example experiment and plots it with analysis/plot_run.py:
# every expected figure must be a PNG of non-trivial size, a failed run with
# no evaluation must not crash the script, and a missing or non-HDF5 file
# must exit 1. Exits 77 (skipped) when python3 lacks h5py or matplotlib.
# usage: test_plot_run.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2
plot="$src/analysis/plot_run.py"
# shellcheck source=support/plot_checks.sh
. "$src/tests/support/plot_checks.sh"

"$bin/gm" run "$src/experiments/example.yaml" --set train.steps=60 \
    --set eval.every=30 --out "$work/x.h5" --quiet

"$py" "$plot" "$work/x.h5" --out "$work/png" >"$work/out" ||
    fail "plot_run.py failed on a complete run"
# experiments/example.yaml has the models vae, gan, joint_kl and gan_prior.
expected="kl modes samples_over_training"
for m in vae gan joint_kl gan_prior; do
    expected="$expected samples_$m metrics_$m"
done
for name in $expected; do
    check_png "$work/png/$name.png"
    grep -qx "$work/png/$name.png" "$work/out" ||
        fail "$name.png written but its path not printed"
done
n=$(find "$work/png" -type f | wc -l)
[ "$n" -eq 11 ] || fail "expected 11 files in $work/png, found $n"

# Every concrete checkpoint path analysis/README.md names is in the file.
"$py" - "$src/analysis/README.md" "$work/x.h5" <<'EOF' ||
import re
import sys
import h5py
doc = open(sys.argv[1], encoding="utf-8").read()
paths = set(re.findall(r"`(checkpoint/[^`<>.]*(?:\.[^`<>.]+)*)`", doc))
assert "checkpoint/params/generator/generator.0.weight" in paths, paths
with h5py.File(sys.argv[2], "r") as f:
    runs = [g + "/seed_1/" for g in f["models"]]
    for p in paths:
        assert any(r + p in f["models"] for r in runs), f"no {p} in the file"
print(f"analysis/README.md: {len(paths)} checkpoint paths found in a run")
EOF
    fail "analysis/README.md names a checkpoint path the file lacks"

# The figures themselves, as matplotlib objects: every model its own line
# style and marker in kl.png and modes.png; every metrics_* panel a y label
# with the unit docs/metrics.md gives; log and symlog ticks plain numbers.
"$py" - "$src/analysis" "$work/x.h5" "$work/objects" <<'EOF' ||
import sys
sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, sys.argv[1])
import plot_run

figures = {}
plot_run.save = lambda fig, path: figures.setdefault(path.rsplit("/", 1)[1],
                                                     fig)
sys.argv = ["plot_run.py", sys.argv[2], "--out", sys.argv[3]]
plot_run.main()
units = plot_run.read_metric_units()
assert units["elbo_eval"] == ("nats per example", "higher"), units
for name in ("kl.png", "modes.png"):
    for ax in figures[name].axes:
        styles = [(l.get_linestyle(), l.get_marker()) for l in ax.get_lines()
                  if not l.get_label().startswith(("_", "K ="))]
        assert len(styles) == 4, (name, styles)
        assert len(set(styles)) == 4, (name, styles)
# An ELBO from -711 to -7, and a loss crossing 0: symlog, plain ticks.
for values in ([-711.0, -60.0, -7.0], [700.0, 20.0, -3.0]):
    fig, ax = plot_run.plt.subplots()
    ax.plot([0, 1, 2], values)
    plot_run.set_scale(ax, [values])
    figures[f"scale_check_{values[0]}"] = fig
symlog = 0
for name, fig in figures.items():
    for ax in fig.axes:
        if not ax.get_lines():
            continue
        if name.startswith("metrics_"):
            metric = ax.get_title().split(" ")[0]
            want = plot_run.metric_unit(units, metric)
            assert want, f"{name}: {metric} has no unit in docs/metrics.md"
            assert ax.get_ylabel() == want[0], (name, metric, ax.get_ylabel())
        if ax.get_yscale() in ("log", "symlog"):
            symlog += ax.get_yscale() == "symlog"
            fmt = ax.yaxis.get_major_formatter()
            for y in ax.get_yticks():
                float(fmt(y))  # a plain number, not 10^k
assert symlog >= 2, "both scale checks use a symlog axis"

# Issue 27. The figure title covers no panel title: it lies above each.
for name, fig in figures.items():
    if fig._suptitle is None:
        continue
    fig.canvas.draw()
    bottom = fig._suptitle.get_window_extent().y0
    for ax in fig.axes:
        if ax.get_title():
            top = ax.title.get_window_extent().y1
            assert top <= bottom, (name, ax.get_title(), top, bottom)

# modes.png's band is one standard error of the mean over seeds either
# side of the mean, computed here from the file (not a min-max band).
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:  # main() set argv to its own
    ax = next(a for a in figures["modes.png"].axes
              if a.get_title() == "modes_covered")
    bands = [c for c in ax.collections if len(c.get_paths())]
    assert len(bands) == 4, len(bands)
    for i, model in enumerate(f["models"]):
        runs = [f[f"models/{model}/{s}/metrics/modes_covered"][:]
                for s in f[f"models/{model}"]]
        table = np.array(runs)
        mean = table.mean(axis=0)
        se = table.std(axis=0, ddof=1) / np.sqrt(len(runs))
        ys = bands[i].get_paths()[0].vertices[:, 1]
        assert np.isclose(ys.max(), (mean + se).max()), (model, ys, mean, se)
        assert np.isclose(ys.min(), (mean - se).min()), (model, ys, mean, se)

    # Samples over training: a row per model, a column per evaluation,
    # each cell the file's samples of that step (the first seed).
    fig = figures["samples_over_training.png"]
    models = list(f["models"])
    steps = f[f"models/{models[0]}/seed_1/metrics/step"][:]
    grid = np.array(fig.axes).reshape(len(models), -1)
    assert grid.shape == (len(models), len(steps)), grid.shape
    for r, model in enumerate(models):
        assert grid[r, 0].get_ylabel() == f"{model}\nseed 1", grid[r, 0].get_ylabel()
        samples = f[f"models/{model}/seed_1/samples"]
        for c, step in enumerate(steps):
            ax = grid[r, c]
            assert ax.get_title() == f"step {step}", ax.get_title()
            drawn = ax.collections[0].get_offsets()
            assert np.allclose(drawn, samples[c]), (model, step)
print("figure objects: styles, units, ticks, titles, standard-error bands "
      "and samples over training checked")
EOF
    fail "plot_run.py's figures: see above"

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

# A seed whose run failed (gm run goes on with the others) is left out of
# the curves with a note, as gm summary leaves it out of its means.
"$py" - "$work/one_failed.h5" <<'EOF'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["status"] = "failed: 1 of 2 runs failed"
    f.attrs["experiment"] = "one_failed"
    f.create_group("dataset").attrs["name"] = "ring"
    f["dataset/centers"] = [[1.0, 0.0], [0.0, 1.0]]
    f.create_group("models/gan").attrs["objective"] = "gan"
    for seed, values, status in ((1, [2.0, 1.0], "complete"),
                                 (2, [3.0, np.inf], "failed: step 20: "
                                  "kl_data_model is inf")):
        run = f.create_group(f"models/gan/seed_{seed}")
        run.attrs["status"] = status
        run["metrics/step"] = np.array([10, 20], "i8")
        run["metrics/kl_data_model"] = np.array(values)
EOF
"$py" - "$src/analysis" "$work/one_failed.h5" >"$work/outfailed" <<'EOF' ||
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import h5py
import plot_run
with h5py.File(sys.argv[2], "r") as f:
    model = plot_run.Model("gan", f["models/gan"])
    assert [s.seed for s in model.seeds] == ["1"], [s.seed for s in model.seeds]
    steps, mean, lo, hi = plot_run.over_seeds(model, "kl_data_model")
    assert list(mean) == [2.0, 1.0], mean
EOF
    fail "a failed seed must be left out of the curves: $(cat "$work/outfailed")"
grep -q "note: left out gan/seed_2: failed: step 20" "$work/outfailed" ||
    fail "the failed seed's omission must be noted"
"$py" "$plot" "$work/one_failed.h5" --out "$work/one_failed" >/dev/null ||
    fail "plot_run.py failed on a file with a failed seed"
check_png "$work/one_failed/kl.png"

# Images of the shape /dataset gives: 3 channels drawn in colour (red
# images stay red); the classifier's class counts (16 samples on 5 of
# 1000 classes) in mode_counts.png.
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
    run["metrics/kl_modes"] = np.array([5.0])
    counts = np.zeros((1, 1000), "i4")
    counts[0, [3, 70, 500, 501, 999]] = [8, 4, 2, 1, 1]
    run["mode_counts"] = counts
    red = np.zeros((1, 16, 3, 28, 28), "f4")
    red[:, :, 0] = 1.0
    run["samples"] = red.reshape(1, 16, 2352)
EOF
"$py" "$plot" "$work/img.h5" --out "$work/img" >"$work/outimg" ||
    fail "plot_run.py failed on 3-channel images"
check_png "$work/img/samples_gan.png"
check_png "$work/img/mode_counts.png"
grep -q "note: skipped mode_counts.png" "$work/out" ||
    fail "mode_counts.png of a run without class counts: no note of the skip"
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

echo "plot_run: figures written and valid, 3-channel images in colour, class counts; failed seeds, failed and bad files handled"
