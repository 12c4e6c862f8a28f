#!/usr/bin/python3
"""PNG figures from a gm run file (layout: analysis/README.md).

usage: analysis/plot_run.py RUN.h5 --out DIR [--seed S]

Writes into DIR:
  samples_<model>.png  the last evaluation's samples of one seed: a scatter
                       over the mode centres for 2-D data (same axes for
                       every model), a grid of images for image data
  kl.png               forward and reverse KL over steps, every model
  modes.png            modes covered and high-quality fraction over steps
  mode_counts.png      with eval.classifier (images): each model's samples
                       per class at its last evaluation, the classes
                       sorted from the most sampled down, one line per
                       seed (a collapsed model's line drops to 0 early)
  metrics_<model>.png  every other metric of the model over steps, each
                       panel with its unit and better direction (from
                       the series' attributes unit and better, or
                       docs/metrics.md's tables for older files)
  samples_over_training.png
                       one seed's samples at up to 8 evaluation steps
                       (columns, the first and last among them) for every
                       model (rows): a GAN hopping between modes, a VAE
                       filling the ring; a few images per cell for image
                       data
Curves are the mean over seeds with one standard error of the mean
(sample std / sqrt(seeds), as gm summary's) shaded; in kl.png and
modes.png every model has its own colour, line style and marker, so that
curves on top of each other stay visible.
A figure whose data is absent is skipped with a note; a failed or still
running run is plotted as far as it goes. Needs numpy, h5py, matplotlib.
"""
import argparse
import math
import os
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

DPI = 120
KL_METRICS = ("kl_data_model", "kl_model_data")
MODE_METRICS = ("modes_covered", "hq_fraction")
KL_LABELS = {
    "kl_data_model": "forward KL(p_data || p_model) [nats]",
    "kl_model_data": "reverse KL(p_model || p_data) [nats]",
}
# Below ~0.1 nats the KDE estimator's bias dominates (docs/metrics.md), so a
# symlog axis is linear there.
KL_LINTHRESH = 0.1
# A positive series spanning this factor or more gets a log axis.
LOG_SPAN = 50.0
MAX_IMAGES = 64
# samples_over_training.png: evaluation steps shown, images per cell.
MAX_STEPS_SHOWN = 8
CELL_IMAGES = 16
# One style per model in the shared figures, cycled past eight models.
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# At most this many markers on a curve: enough to tell curves apart.
MAX_MARKERS = 15
# The tables of every metric's unit and better direction, for files
# written before gm recorded them beside each series.
METRICS_DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, "docs", "metrics.md")


def read_metric_units(path=METRICS_DOC):
    """{name: (unit, better)} from the rows "| `name` | unit | better | ..."
    of docs/metrics.md; {} when the file is not there."""
    units = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("| `"):
                    continue
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                if len(cells) >= 3:
                    units[cells[0].strip("`")] = (cells[1], cells[2])
    except OSError:
        pass
    return units


def metric_unit(units, metric):
    """(unit, better) of a metric (loss_<phase> for every loss), or None."""
    if metric.startswith("loss_"):
        metric = "loss_<phase>"
    return units.get(metric)


# ---- reading ---------------------------------------------------------------


class Seed:
    """One seed's series, trimmed to the rows every series has."""

    def __init__(self, seed, group):
        self.seed = seed
        self.group = group
        metrics = group.get("metrics")
        series = {}
        if isinstance(metrics, h5py.Group):
            series = {n: np.asarray(d[:], dtype=float)
                      for n, d in metrics.items()
                      if isinstance(d, h5py.Dataset) and d.ndim == 1}
        step = series.pop("step", np.zeros(0))
        # A writer killed mid-append may leave series of unequal length.
        rows = min([len(step)] + [len(v) for v in series.values()])
        self.step = step[:rows]
        self.metrics = {n: v[:rows] for n, v in series.items()}

    def last_row(self, name, ndim):
        """(the last evaluation's row of the per-evaluation dataset `name`
        of `ndim` dimensions, its step) or (None, None)."""
        ds = self.group.get(name)
        if ds is None or ds.ndim != ndim:
            return None, None
        row = min(ds.shape[0], len(self.step)) - 1
        if row < 0:  # no evaluation yet
            return None, None
        return np.asarray(ds[row], dtype=float), int(self.step[row])

    def last_samples(self):
        """(samples [S, d] of the last evaluation, its step) or
        (None, None)."""
        return self.last_row("samples", 3)

    def samples_at(self, rows):
        """[(samples [S, d], step)] of the evaluation rows `rows` that the
        samples dataset holds."""
        ds = self.group.get("samples")
        if ds is None or ds.ndim != 3:
            return []
        have = min(ds.shape[0], len(self.step))
        return [(np.asarray(ds[r], dtype=float), int(self.step[r]))
                for r in rows if r < have]

    def evaluations_with_samples(self):
        ds = self.group.get("samples")
        return 0 if ds is None or ds.ndim != 3 else min(ds.shape[0],
                                                          len(self.step))

    def last_mode_counts(self):
        """(samples per class [K] of the last evaluation, its step) or
        (None, None)."""
        return self.last_row("mode_counts", 2)

    def last(self, metric):
        """The metric's value at the last evaluation, or None."""
        v = self.metrics.get(metric)
        return None if v is None or len(v) == 0 else float(v[-1])


class Model:
    """A model with its objective and its seeds, in file order; seeds whose
    run failed (status "failed: ...": a NaN, say) are left out, as gm
    summary leaves them out of its means."""

    def __init__(self, name, group):
        self.name = name
        self.objective = attr_str(group, "objective")
        self.seeds = []
        for key, sub in group.items():
            if not key.startswith("seed_") or not isinstance(sub, h5py.Group):
                continue
            status = attr_str(sub, "status")
            if status.startswith("failed"):
                print(f"note: left out {name}/{key}: {status}")
                continue
            try:
                self.seeds.append(Seed(key[len("seed_"):], sub))
            except OSError as e:  # e.g. a row being written right now
                print(f"note: left out {name}/{key}: cannot read it: {e}")

    def metric_names(self):
        """Metric names over all seeds, in the order first logged."""
        names = []
        for s in self.seeds:
            names += [n for n in s.metrics if n not in names]
        return names

    def has(self, metric):
        return any(len(s.metrics.get(metric, ())) > 0 for s in self.seeds)


def attr_str(obj, name):
    """A string attribute as str ('?' when missing)."""
    v = obj.attrs.get(name, "?")
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def series_units(f):
    """{name: (unit, better)} from the attributes `unit` and `better` of
    the file's metric series (none in a file written before gm recorded
    them)."""
    units = {}
    for model in f["models"].values():
        for seed in model.values() if isinstance(model, h5py.Group) else ():
            metrics = seed.get("metrics") if isinstance(seed, h5py.Group) \
                else None
            if not isinstance(metrics, h5py.Group):
                continue
            for name, d in metrics.items():
                if "unit" in d.attrs and name not in units:
                    units[name] = (attr_str(d, "unit"), attr_str(d, "better"))
    return units


def dataset_info(f):
    """(dim or None, centers [K, d] or None, image shape (C, H, W) or None)
    of /dataset."""
    ds = f.get("dataset")
    if not isinstance(ds, h5py.Group):
        return None, None, None
    dim = ds.attrs.get("dim")
    dim = int(dim) if dim is not None and np.isfinite(dim) else None
    centers = ds.get("centers")
    centers = None if centers is None else np.asarray(centers[()], float)
    if centers is not None and (centers.ndim != 2 or len(centers) == 0):
        centers = None
    shape = tuple(ds.attrs.get(k) for k in ("channels", "height", "width"))
    valid = all(v is not None and np.isfinite(v) and v >= 1 for v in shape)
    shape = tuple(int(v) for v in shape) if valid else None
    return dim, centers, shape


# ---- series over seeds -----------------------------------------------------


def over_seeds(model, metric):
    """(steps, mean, standard error of the mean, seeds) over the seeds that
    logged `metric`, aligned on step; non-finite values are left out. The
    standard error is the sample std / sqrt(n) of the n seeds with a value
    at that step (NaN where n is 1). None if nothing is finite."""
    runs = [(s.step, s.metrics[metric]) for s in model.seeds
            if len(s.metrics.get(metric, ())) > 0]
    if not runs:
        return None
    steps = np.unique(np.concatenate([st for st, _ in runs]))
    table = np.full((len(runs), len(steps)), np.nan)
    for i, (st, v) in enumerate(runs):
        table[i, np.searchsorted(steps, st)] = v
    table[~np.isfinite(table)] = np.nan
    keep = ~np.all(np.isnan(table), axis=0)
    if not keep.any():
        return None
    table, steps = table[:, keep], steps[keep]
    n = np.sum(~np.isnan(table), axis=0)
    mean = np.nanmean(table, axis=0)
    se = np.full(len(steps), np.nan)
    several = n > 1
    if several.any():
        se[several] = (np.nanstd(table[:, several], axis=0, ddof=1)
                       / np.sqrt(n[several]))
    return steps, mean, se, n


def count_nonfinite(model, metric):
    """How many of the metric's values over all seeds are inf or NaN."""
    return sum(int(np.sum(~np.isfinite(s.metrics.get(metric, []))))
               for s in model.seeds)


def note_nonfinite(ax, counts):
    """Says in the panel's corner how many inf/NaN values it cannot show;
    `counts` maps a label ('' for a single model) to a count."""
    parts = [f"{name} {n}".strip() for name, n in counts.items() if n]
    if parts:
        ax.text(0.01, 0.01, "not shown, inf/NaN: " + ", ".join(parts),
                transform=ax.transAxes, fontsize=8, color="dimgray")


def plain_number(y, _pos=None):
    """A tick label as a plain number (1000, 0.1, -10), not as 10^3."""
    if y == 0:
        return "0"
    if abs(y) >= 1e5 or abs(y) < 1e-3:
        return f"{y:.0e}"
    return f"{y:g}"


def power_of_ten_below(x):
    return 10.0 ** math.floor(math.log10(x))


def set_scale(ax, values, linthresh=None):
    """Log y axis when positive values span orders of magnitude, symlog
    when negative ones (an ELBO) or values of both signs do, else linear;
    log ticks read as plain numbers."""
    v = np.concatenate([np.ravel(x) for x in values]) if values else []
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return
    a = np.abs(v[v != 0])
    if len(a) == 0:
        return
    if np.all(v > 0):
        if v.max() / v.min() < LOG_SPAN:
            return
        ax.set_yscale("log")
    elif np.all(v < 0):
        if a.max() / a.min() < LOG_SPAN:
            return
        # Below every value: the linear band near 0 holds no data, and the
        # ticks are the decades the values cross (-10, -100, -1000).
        ax.set_yscale("symlog", linthresh=power_of_ten_below(a.min()),
                      linscale=0.2)
    else:
        small = linthresh or power_of_ten_below(float(np.percentile(a, 10)))
        if a.max() / small < LOG_SPAN:
            return
        # Widen the linear band with the decades shown so that its tick
        # labels (-small, 0, small) do not overlap.
        decades = math.log10(a.max() / small)
        ax.set_yscale("symlog", linthresh=small,
                      linscale=max(1.0, decades / 3))
    ax.yaxis.set_major_formatter(FuncFormatter(plain_number))
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_band(ax, model, metric, color, label=None, style=0):
    """Draws the mean over seeds with a band of one standard error either
    side, in line style and marker number `style`; returns the values
    drawn (for choosing the scale) or None when there are none."""
    agg = over_seeds(model, metric)
    if agg is None:
        return None
    steps, mean, se, _ = agg
    lo, hi = mean - se, mean + se
    n_seeds = sum(1 for s in model.seeds if len(s.metrics.get(metric, ())))
    if label is not None and n_seeds > 1:
        label = f"{label} ({n_seeds} seeds)"
    # Hollow markers on every other style: one on top of another shows.
    ax.plot(steps, mean, color=color, label=label,
            linestyle=LINESTYLES[style % len(LINESTYLES)],
            marker=MARKERS[style % len(MARKERS)], markersize=5,
            markevery=max(1, len(steps) // MAX_MARKERS),
            markerfacecolor=color if style % 2 == 0 else "none")
    if n_seeds > 1:
        ax.fill_between(steps, lo, hi, color=color, alpha=0.2, linewidth=0)
    return [mean, lo[np.isfinite(lo)], hi[np.isfinite(hi)]]


# ---- figures ---------------------------------------------------------------


def save(fig, path):
    """Writes the figure, closes it and prints the path."""
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(path)


def suptitle(fig, run, what):
    """'<experiment>: <what>', with the status on a second line unless the
    run is complete; lays the figure out below it (tight_layout alone lets
    it cover the first row of panel titles)."""
    title = f"{run['experiment']}: {what}"
    if run["status"] != "complete":
        title += f"\nrun status: {run['status']}"
    text = fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.canvas.draw()
    height = fig.get_figheight() * fig.dpi
    below = text.get_window_extent().y0 / height
    fig.tight_layout(rect=(0, 0, 1, below - 0.01))


def scatter_limits(centers, all_samples):
    """Square axis limits shared by every model's scatter: the mode centres
    with a margin, or the bulk of the samples when there are no centres."""
    if centers is not None:
        pts = centers[:, :2]
        margin = 0.3 * max(np.ptp(pts, axis=0).max(), 1.0)
    else:
        pts = np.concatenate(all_samples)[:, :2]
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) == 0:
            return (-1, 1), (-1, 1)
        pts = np.percentile(pts, [1, 99], axis=0)
        margin = 0.15 * max(np.ptp(pts, axis=0).max(), 1e-6)
    mid = (pts.min(axis=0) + pts.max(axis=0)) / 2
    half = np.ptp(pts, axis=0).max() / 2 + margin
    return (mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half)


def scatter_figure(run, model, seed, x, step, lims, path):
    """Samples of one 2-D model (or the first two coordinates) over the
    mode centres."""
    centers = run["centers"]
    fig, ax = plt.subplots(figsize=(6, 6.4))
    ax.scatter(x[:, 0], x[:, 1], s=5, alpha=0.5, color="tab:blue",
               linewidths=0)
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=80,
                   color="red", linewidths=2)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_aspect("equal")
    inside = ((x[:, 0] >= lims[0][0]) & (x[:, 0] <= lims[0][1])
              & (x[:, 1] >= lims[1][0]) & (x[:, 1] <= lims[1][1]))
    if not inside.all():
        out = int((~inside).sum())
        ax.text(0.02, 0.02, f"{out} sample{'s' if out > 1 else ''} "
                f"outside the view", transform=ax.transAxes, fontsize=9)
    dims = "x" if x.shape[1] == 2 else f"x (first 2 of {x.shape[1]} dims)"
    ax.set_xlabel(f"{dims}[0]")
    ax.set_ylabel(f"{dims}[1]")
    # Proxy handles: the scatter's own markers are too faint to read.
    handles = [Line2D([], [], marker="o", linestyle="", markersize=5,
                      color="tab:blue", label=f"samples ({len(x)})")]
    if centers is not None:
        handles.append(Line2D([], [], marker="x", linestyle="", color="red",
                              markersize=9, markeredgewidth=2,
                              label="mode centres"))
    ax.legend(handles=handles, loc="upper right", fontsize=9)
    ax.set_title(f"{model.name} ({model.objective}), seed {seed.seed}, "
                 f"step {step}\n{mode_summary(run, seed)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)


def mode_summary(run, seed):
    """'modes covered a/K, HQ b%' from the seed's last metrics row."""
    parts = []
    covered = seed.last("modes_covered")
    if covered is not None:
        k = run["centers"]
        parts.append(f"modes covered {covered:g}"
                     + ("" if k is None else f"/{len(k)}"))
    hq = seed.last("hq_fraction")
    if hq is not None:
        parts.append(f"HQ fraction {100 * hq:.1f}%")
    return ", ".join(parts) if parts else "no mode metrics"


def image_figure(model, seed, x, step, shape, path):
    """Up to 64 samples as images of shape (C, H, W) in an 8-wide grid:
    grey for one channel, colour (the channels as red, green, blue) for
    three."""
    ch, h, w = shape
    n = min(len(x), MAX_IMAGES)
    cols = min(8, n)
    rows = -(-n // cols)
    tiles = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1, ch))
    lo, hi = np.nanmin(x[:n]), np.nanmax(x[:n])
    in_unit = lo >= 0 and hi <= 1
    for i in range(n):
        r, c = divmod(i, cols)
        img = x[i].reshape(ch, h, w).transpose(1, 2, 0)
        if not in_unit:  # scale each image to [0, 1] for display
            img = (img - img.min()) / max(np.ptp(img), 1e-12)
        tiles[1 + r * (h + 1):1 + r * (h + 1) + h,
              1 + c * (w + 1):1 + c * (w + 1) + w] = img
    fig, ax = plt.subplots(figsize=(6.4, 6.4 * rows * h / (cols * w) + 0.6))
    if ch == 3:
        ax.imshow(np.clip(tiles, 0, 1), interpolation="nearest")
    else:
        ax.imshow(tiles[:, :, 0], cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
    ax.set_axis_off()
    scale = "" if in_unit else ", each image rescaled to [0, 1]"
    ax.set_title(f"{model.name} ({model.objective}), seed {seed.seed}, "
                 f"step {step}\n{n} of {len(x)} samples, {ch}x{h}x{w}"
                 f"{scale}", fontsize=11)
    fig.tight_layout()
    save(fig, path)


def histogram_figure(run, model, seed, x, step, path):
    """Samples of 1-D data as a histogram, mode centres as red lines."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.hist(x[np.isfinite(x[:, 0]), 0], bins=80, color="tab:blue")
    if run["centers"] is not None:
        for c in run["centers"][:, 0]:
            ax.axvline(c, color="red", linestyle="--", linewidth=1)
    ax.set_xlabel("x")
    ax.set_ylabel("samples")
    ax.set_title(f"{model.name} ({model.objective}), seed {seed.seed}, "
                 f"step {step}\n{mode_summary(run, seed)}", fontsize=11)
    fig.tight_layout()
    save(fig, path)


def image_shape(run, d):
    """(C, H, W) of samples of d values as images, or None: the shape the
    run file gives /dataset, else square grey images (older files)."""
    shape = run["image"]
    if shape is not None and shape[0] in (1, 3) and math.prod(shape) == d:
        return shape
    if run["dim"] == 784 or (d > 16 and math.isqrt(d) ** 2 == d):
        return (1, math.isqrt(d), math.isqrt(d))
    return None


def sample_figures(run, want_seed, out):
    """samples_<model>.png for every model with samples."""
    chosen = []
    for m in run["models"]:
        seeds = [s for s in m.seeds
                 if want_seed is None or s.seed == want_seed]
        if not seeds:
            why = (f"no seed {want_seed} (seeds: "
                   f"{', '.join(s.seed for s in m.seeds)})" if m.seeds
                   else "no seeds")
            print(f"note: skipped samples_{m.name}.png: {why}")
            continue
        x, step = seeds[0].last_samples()
        if x is None:
            print(f"note: skipped samples_{m.name}.png: seed "
                  f"{seeds[0].seed} has no evaluation with samples")
            continue
        chosen.append((m, seeds[0], x, step))
    points = [x for _, _, x, _ in chosen
              if x.shape[1] >= 2 and not image_shape(run, x.shape[1])]
    lims = scatter_limits(run["centers"], points) if points else None
    for m, seed, x, step in chosen:
        path = os.path.join(out, f"samples_{m.name}.png")
        shape = image_shape(run, x.shape[1])
        if shape:
            image_figure(m, seed, x, step, shape, path)
        elif x.shape[1] == 1:
            histogram_figure(run, m, seed, x, step, path)
        else:
            scatter_figure(run, m, seed, x, step, lims, path)


def shown_rows(n):
    """Up to MAX_STEPS_SHOWN evaluation rows of n, evenly spread, the first
    and the last among them."""
    if n <= MAX_STEPS_SHOWN:
        return list(range(n))
    return sorted({round(i * (n - 1) / (MAX_STEPS_SHOWN - 1))
                   for i in range(MAX_STEPS_SHOWN)})


def image_cell(ax, x, shape):
    """Up to CELL_IMAGES samples of shape (C, H, W) as a square tile."""
    ch, h, w = shape
    n = min(len(x), CELL_IMAGES)
    side = math.isqrt(n - 1) + 1 if n > 1 else 1
    tiles = np.ones((side * h, side * w, ch))
    lo, hi = np.nanmin(x[:n]), np.nanmax(x[:n])
    for i in range(n):
        r, c = divmod(i, side)
        img = x[i].reshape(ch, h, w).transpose(1, 2, 0)
        if lo < 0 or hi > 1:
            img = (img - img.min()) / max(np.ptp(img), 1e-12)
        tiles[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    if ch == 3:
        ax.imshow(np.clip(tiles, 0, 1), interpolation="nearest")
    else:
        ax.imshow(tiles[:, :, 0], cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def samples_over_training_figure(run, want_seed, path):
    """samples_over_training.png: for every model with samples at two or
    more evaluations (rows), one seed's samples at up to MAX_STEPS_SHOWN of
    its evaluation steps (columns), 2-D points over the mode centres on
    shared axes, or a few images per cell. Skipped (with a note) when no
    model has them."""
    rows = []
    for m in run["models"]:
        seeds = [s for s in m.seeds
                 if want_seed is None or s.seed == want_seed]
        seeds = [s for s in seeds if s.evaluations_with_samples() > 1]
        if seeds:
            s = seeds[0]
            rows.append((m, s, s.samples_at(
                shown_rows(s.evaluations_with_samples()))))
    if not rows:
        print(f"note: skipped {os.path.basename(path)}: no model has samples "
              "at two or more evaluations")
        return
    cols = max(len(cells) for _, _, cells in rows)
    d = rows[0][2][0][0].shape[1]
    shape = image_shape(run, d)
    points = [x for _, _, cells in rows for x, _ in cells if x.shape[1] >= 2]
    lims = (scatter_limits(run["centers"], points)
            if points and not shape else None)
    fig, axes = plt.subplots(len(rows), cols, squeeze=False,
                             figsize=(2.2 * cols + 0.6, 2.3 * len(rows) + 0.9))
    for r, (m, seed, cells) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(cells):
                ax.set_axis_off()
                continue
            x, step = cells[c]
            if shape:
                image_cell(ax, x, shape)
            elif x.shape[1] == 1:
                ax.hist(x[np.isfinite(x[:, 0]), 0], bins=40, color="tab:blue")
                ax.set_yticks([])
            else:
                ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, linewidths=0,
                           color="tab:blue")
                if run["centers"] is not None:
                    ax.scatter(run["centers"][:, 0], run["centers"][:, 1],
                               marker="x", s=20, color="red", linewidths=1)
                ax.set_xlim(*lims[0])
                ax.set_ylim(*lims[1])
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_title(f"step {step}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{m.name}\nseed {seed.seed}", fontsize=9)
    suptitle(fig, run, "samples over training (rows: models, columns: "
                       "evaluation steps)")
    save(fig, path)


def mode_counts_figure(run, path):
    """mode_counts.png: the class histograms eval.classifier counted
    (models with kl_modes), sorted, on a symlog axis, beside the count
    every class would get from samples spread like uniform classes.
    Skipped (with a note) when no model has them."""
    lines = []
    for i, m in enumerate(run["models"]):
        if not m.has("kl_modes"):
            continue
        for j, s in enumerate(m.seeds):
            counts, step = s.last_mode_counts()
            if counts is not None and counts.sum() > 0:
                lines.append((i, j, m, s, np.sort(counts)[::-1], step))
    if not lines:
        print(f"note: skipped {os.path.basename(path)}: no model has class "
              "counts (eval.classifier)")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, j, m, s, counts, step in lines:
        covered = int(np.count_nonzero(counts))
        ax.plot(np.arange(1, len(counts) + 1), counts, color=f"C{i % 10}",
                linestyle=LINESTYLES[j % len(LINESTYLES)], linewidth=1.2,
                label=f"{m.name} seed {s.seed} (step {step}): "
                      f"{covered} of {len(counts)}")
    k = len(lines[0][4])
    even = lines[0][4].sum() / k
    ax.axhline(even, color="black", linestyle="--", linewidth=1,
               label=f"uniform classes: {even:.3g} each")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlim(1, k)
    ax.set_xlabel("class, from the most sampled down")
    ax.set_ylabel("samples labelled as the class")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    suptitle(fig, run, "samples per class at the last evaluation "
                       "(eval.classifier)")
    save(fig, path)


class Panel:
    """One metric's panel in kl.png or modes.png: its y label, the symlog
    linear range (None: chosen from the data), whether the axis is linear
    from 0 (counts and fractions), and an optional dashed (y, label) line."""

    def __init__(self, metric, ylabel, linthresh=None, from_zero=False,
                 ref=None):
        self.metric = metric
        self.ylabel = ylabel
        self.linthresh = linthresh
        self.from_zero = from_zero
        self.ref = ref


def curves_figure(run, panels, what, path):
    """One panel per Panel, every model that logged its metric as a mean
    line with a band of one standard error. Skips (with a note) when no
    model logged any of them."""
    models = run["models"]
    present = [p for p in panels if any(m.has(p.metric) for m in models)]
    if not present:
        print(f"note: skipped {os.path.basename(path)}: no model has values "
              "of " + " or ".join(p.metric for p in panels))
        return
    fig, axes = plt.subplots(1, len(present), figsize=(6.5 * len(present), 5),
                             squeeze=False)
    for ax, panel in zip(axes[0], present):
        drawn = []
        for i, m in enumerate(models):
            drawn += plot_band(ax, m, panel.metric, f"C{i % 10}",
                               label=m.name, style=i) or []
        note_nonfinite(ax, {m.name: count_nonfinite(m, panel.metric)
                            for m in models})
        if panel.ref is not None:
            ax.axhline(panel.ref[0], color="black", linestyle="--",
                       linewidth=1, label=panel.ref[1])
        if panel.from_zero:
            top = max([panel.ref[0] if panel.ref else 0]
                      + [np.nanmax(v) for v in drawn])
            ax.set_ylim(0, 1.08 * top if top > 0 else 1)
        else:
            set_scale(ax, drawn, panel.linthresh)
        ax.set_xlabel("training step")
        ax.set_ylabel(panel.ylabel)
        ax.set_title(panel.metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9)
    suptitle(fig, run, what)
    save(fig, path)


def metrics_figure(run, model, path):
    """Every metric of the model not in kl.png or modes.png, one panel each,
    its unit on the y axis and its better direction in the title."""
    names = [n for n in model.metric_names()
             if n not in KL_METRICS + MODE_METRICS and model.has(n)]
    if not names:
        print(f"note: skipped {os.path.basename(path)}: no other metric has "
              "values")
        return
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False,
                             figsize=(max(4.6 * cols, 9), 3.3 * rows + 0.8))
    for ax, metric in zip(axes.flat, names):
        drawn = plot_band(ax, model, metric, "C0")
        if drawn is None:
            ax.text(0.5, 0.5, "no finite values", ha="center",
                    transform=ax.transAxes)
        else:
            set_scale(ax, drawn)
        note_nonfinite(ax, {"": count_nonfinite(model, metric)})
        unit = metric_unit(run["units"], metric)
        ax.set_ylabel(unit[0] if unit else "value (no unit on record)",
                      fontsize=9)
        better = (f" ({unit[1]} is better)"
                  if unit and unit[1] in ("higher", "lower") else "")
        ax.set_title(metric + better, fontsize=10)
        ax.set_xlabel("training step", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes.flat[len(names):]:
        ax.set_axis_off()
    n = sum(1 for s in model.seeds if len(s.step))
    band = " ± one standard error" if n > 1 else ""
    suptitle(fig, run, f"{model.name} ({model.objective}), mean over {n} "
             f"seed{'s' if n != 1 else ''}{band}")
    save(fig, path)


# ---- main ------------------------------------------------------------------


def open_run(path):
    """Opens the run file or exits 1 with a one-line reason."""
    if not os.path.isfile(path):
        sys.exit(f"plot_run.py: {path}: no such file")
    if not h5py.is_hdf5(path):
        sys.exit(f"plot_run.py: {path}: not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        sys.exit(f"plot_run.py: {path}: cannot open: {e}")
    if not isinstance(f.get("models"), h5py.Group):
        sys.exit(f"plot_run.py: {path}: not a gm run file (no /models group)")
    return f


def main():
    ap = argparse.ArgumentParser(
        description="PNG figures from a gm run file.")
    ap.add_argument("run", metavar="RUN.h5", help="the run file")
    ap.add_argument("--out", required=True, metavar="DIR",
                    help="directory for the PNG files (created if missing)")
    ap.add_argument("--seed", metavar="S",
                    help="seed for the sample figures (default: each "
                         "model's first seed)")
    args = ap.parse_args()

    with open_run(args.run) as f:
        dim, centers, image = dataset_info(f)
        run = {
            "experiment": attr_str(f, "experiment"),
            "status": attr_str(f, "status"),
            "dim": dim,
            "centers": centers,
            # the file's own record first, docs/metrics.md for older files
            "units": {**read_metric_units(), **series_units(f)},
            "image": image,
            "models": [Model(n, g) for n, g in f["models"].items()
                       if isinstance(g, h5py.Group)],
        }
        os.makedirs(args.out, exist_ok=True)
        sample_figures(run, args.seed, args.out)
        samples_over_training_figure(
            run, args.seed,
            os.path.join(args.out, "samples_over_training.png"))
        curves_figure(run, [Panel(m, KL_LABELS[m], linthresh=KL_LINTHRESH)
                            for m in KL_METRICS],
                      "KL between data and model (mean over seeds ± one "
                      "standard error)", os.path.join(args.out, "kl.png"))
        k = None if centers is None else len(centers)
        curves_figure(run, [
            Panel("modes_covered", "modes covered", from_zero=True,
                  ref=None if k is None else (k, f"K = {k} modes")),
            Panel("hq_fraction", "high-quality fraction", from_zero=True)],
            "mode coverage (mean over seeds ± one standard error)",
            os.path.join(args.out, "modes.png"))
        mode_counts_figure(run, os.path.join(args.out, "mode_counts.png"))
        for m in run["models"]:
            metrics_figure(run, m,
                           os.path.join(args.out, f"metrics_{m.name}.png"))


if __name__ == "__main__":
    main()
