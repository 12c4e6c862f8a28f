#!/usr/bin/python3
"""The rate-distortion study of a run file of vae_elbo models, such as
experiments/beta_sweep.yaml's (layout: analysis/README.md).

usage: analysis/plot_rate_distortion.py RUN.h5 --out DIR [--seed S] [--data IDX]

Each vae_elbo model is one point, placed by its hyperparameters (the
attributes beta and posterior of /models/<name>), whatever its name. Writes
into DIR:
  rate_distortion.png  rate against distortion at the last evaluation,
                       mean over seeds with the standard error as bars,
                       lines of equal ELBO (-ELBO = rate + distortion), the
                       plain autoencoder (rate infinite) as a line
  units.png            active units, I_q(x; z) and the marginal KL against
                       beta; the per-dimension KL of each model (dimensions
                       sorted by their KL, mean over seeds)
  samples.png          samples of every model side by side (seed S, default
                       the first), z ~ N(0, I) through the decoder
  reconstructions.png  held-out images (--data, an IDX file; default
                       Fashion-MNIST's test images) and each model's
                       reconstruction decoder(mu(x)), computed here in
                       NumPy from the checkpoint's weights (networks of
                       Linear layers with ReLU between them, gm's default);
                       checked first against the run file: the plain
                       autoencoder's distortion recomputed on the held-out
                       images must match its last evaluation
and prints the table of docs/results.md (Markdown) on stdout. A figure
whose data is absent is skipped with a note. Needs numpy, h5py,
matplotlib.
"""
import argparse
import gzip
import math
import os
import re
import struct
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

DPI = 120
TABLE = (("rate", "rate"), ("distortion", "distortion"),
         ("elbo_eval", "ELBO"), ("iwae_logpx", "IWAE"),
         ("posterior_gap", "gap"), ("active_units", "active"),
         ("mutual_info", "I_q"), ("marginal_kl", "marginal KL"))
IMAGES_PER_MODEL = 16
RECONSTRUCTED = 8
FASHION_TEST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


class Point:
    """One model: its beta, whether its encoder is deterministic, and the
    last evaluation of each seed."""

    def __init__(self, name, group):
        self.name = name
        self.beta = float(group.attrs.get("beta", math.nan))
        posterior = group.attrs.get("posterior", b"gaussian")
        if isinstance(posterior, bytes):
            posterior = posterior.decode()
        self.deterministic = str(posterior) == "deterministic"
        likelihood = group.attrs.get("likelihood", b"gaussian")
        if isinstance(likelihood, bytes):
            likelihood = likelihood.decode()
        self.bernoulli = str(likelihood) == "bernoulli"
        self.sigma = float(group.attrs.get("sigma", 1.0))
        self.weights = {}  # seed -> {"encoder": [(W, b), ...], "decoder": ...}
        self.seeds = {}
        for key, run in group.items():
            if not key.startswith("seed_") or "metrics" not in run:
                continue
            step = run["metrics/step"]
            if step.shape[0] == 0:
                continue
            row = step.shape[0] - 1
            values = {n: float(d[row]) for n, d in run["metrics"].items()
                      if d.ndim == 1 and d.shape[0] > row}
            kl = run.get("vectors/kl_per_dim")
            if kl is not None and kl.shape[0] > row:
                values["kl_per_dim"] = np.asarray(kl[row], dtype=float)
            samples = run.get("samples")
            if samples is not None and samples.shape[0] > row:
                values["samples"] = np.asarray(samples[row], dtype=float)
            self.seeds[int(key[5:])] = values
            params = run.get("checkpoint/params")
            if params is not None:
                self.weights[int(key[5:])] = {
                    role: layers(params[role]) for role in ("encoder",
                                                            "decoder")
                    if role in params}

    def label(self):
        if self.deterministic:
            return "autoencoder"
        if self.beta == 0:
            return "stochastic AE"
        return f"beta={self.beta:g}"

    def stat(self, metric):
        """(mean, standard error) over seeds, or None."""
        v = [s[metric] for s in self.seeds.values() if metric in s]
        if not v:
            return None
        se = np.std(v, ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0
        return float(np.mean(v)), float(se)

    def sorted_kl(self):
        """Each dimension's KL, sorted within each seed, mean over seeds."""
        v = [np.sort(s["kl_per_dim"])[::-1] for s in self.seeds.values()
             if "kl_per_dim" in s]
        return np.mean(v, axis=0) if v else None


def layers(group):
    """[(W, b), ...] of a network's checkpoint group, in layer order
    (datasets <role>.<i>.weight and <role>.<i>.bias)."""
    found = {}
    for name, d in group.items():
        m = re.fullmatch(r".*\.(\d+)\.(weight|bias)", name)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = \
                np.asarray(d, dtype=np.float64)
    return [(found[i]["weight"], found[i]["bias"]) for i in sorted(found)]


def mlp(net, x):
    """x through Linear layers with ReLU between them."""
    for i, (w, b) in enumerate(net):
        x = x @ w.T + b
        if i < len(net) - 1:
            x = np.maximum(x, 0.0)
    return x


def reconstruct(point, seed, x):
    """decoder(mu(x)) as the likelihood's mean, and the distortion
    -log p(x | mu(x)) per row."""
    net = point.weights[seed]
    latent = net["decoder"][0][0].shape[1]  # mu, then the log-variance
    out = mlp(net["decoder"], mlp(net["encoder"], x)[:, :latent])
    if point.bernoulli:
        nll = np.logaddexp(0.0, out) - x * out
        return 1.0 / (1.0 + np.exp(-out)), nll.sum(axis=1)
    z = (x - out) / point.sigma
    nll = 0.5 * z * z + math.log(point.sigma) + 0.5 * math.log(2 * math.pi)
    return out, nll.sum(axis=1)


def read_idx_images(path):
    """The rows of an IDX file of unsigned bytes (divided by 255, as gm
    reads them), or None if it cannot be read as one."""
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            data = f.read()
        magic, = struct.unpack(">I", data[:4])
        ndim = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    except (OSError, struct.error):
        return None
    if magic >> 8 != 0x08 or ndim < 2:
        return None
    n, size = dims[0], int(np.prod(dims[1:]))
    x = np.frombuffer(data, np.uint8, count=n * size, offset=4 + 4 * ndim)
    return x.reshape(n, size).astype(np.float64) / 255.0


def held_out_rows(path):
    """eval.held_out of the run's experiment, or None (the whole split)."""
    with h5py.File(path, "r") as f:
        text = f.attrs.get("config_yaml", b"")
    if isinstance(text, bytes):
        text = text.decode()
    m = re.search(r"held_out:\s*(\d+)", str(text))
    return int(m.group(1)) if m else None


def reconstructions_figure(points, run_path, data_path, seed, path):
    x = read_idx_images(data_path)
    shown = [p for p in points if p.weights]
    if x is None or not shown:
        print(f"note: skipped reconstructions.png: no images in {data_path}"
              if x is None else
              "note: skipped reconstructions.png: no checkpoints")
        return
    first = next(iter(shown[0].weights.values()))
    if not first.get("encoder") or first["encoder"][0][0].shape[1] != \
            x.shape[1]:
        print(f"note: skipped reconstructions.png: {data_path} is not the "
              "models' data")
        return
    # The check: the plain autoencoder's distortion on the held-out rows.
    n = held_out_rows(run_path) or x.shape[0]
    for p in shown:
        if not p.deterministic:
            continue
        for s, values in p.seeds.items():
            if s not in p.weights or "distortion" not in values:
                continue
            _, nll = reconstruct(p, s, x[:n])
            mine, theirs = float(nll.mean()), values["distortion"]
            print(f"check: {p.name} seed {s}: distortion {mine:.4f} "
                  f"recomputed here, {theirs:.4f} in the run file")
            if abs(mine - theirs) > 1e-3 * max(1.0, abs(theirs)):
                print("note: skipped reconstructions.png: the recomputed "
                      "distortion disagrees (networks other than ReLU MLPs?)")
                return
            break
        break
    rows = x[:RECONSTRUCTED]
    side = int(round(math.sqrt(x.shape[1])))
    if side * side != x.shape[1]:
        print("note: skipped reconstructions.png: the data are not square "
              "images")
        return
    fig, axes = plt.subplots(len(shown) + 1, 1,
                             figsize=(RECONSTRUCTED * 0.9,
                                      0.95 * (len(shown) + 1)),
                             squeeze=False)

    def strip(images):
        return np.hstack([im.reshape(side, side) for im in images])

    axes[0, 0].imshow(strip(rows), cmap="gray_r", vmin=0, vmax=1)
    axes[0, 0].set_title("held-out images", fontsize=8)
    for ax, p in zip(axes[1:, 0], shown):
        s = seed if seed in p.weights else next(iter(p.weights))
        mean, _ = reconstruct(p, s, rows)
        ax.imshow(strip(mean), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{p.label()}: decoder(mu(x))", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    save(fig, path)


def read_points(path):
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        sys.exit(f"{path}: no such file")
    except OSError:
        sys.exit(f"{path}: not an HDF5 file")
    points = []
    with f:
        for name, group in f.get("models", {}).items():
            objective = group.attrs.get("objective", b"")
            if isinstance(objective, bytes):
                objective = objective.decode()
            if objective == "vae_elbo":
                points.append(Point(name, group))
    # The autoencoder first, then by beta.
    points.sort(key=lambda p: (not p.deterministic, p.beta))
    return points


def save(fig, path):
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(path)


def rate_distortion_figure(points, path):
    coded = [p for p in points if p.stat("rate") and p.stat("distortion")]
    if not coded:
        print("note: skipped rate_distortion.png: no rate and distortion")
        return
    fig, ax = plt.subplots(figsize=(7.5, 6))
    rates = [p.stat("rate")[0] for p in coded]
    dists = [p.stat("distortion")[0] for p in coded]
    # A log rate axis: the stochastic autoencoder's rate is far above the
    # beta-VAEs'.
    lo_r, hi_r = min(rates) / 1.5, max(rates) * 1.5
    pad = 0.1 * (max(dists) - min(dists) + 1)
    lo_d, hi_d = min(dists) - pad, max(dists) + pad
    for p in points:
        if p.deterministic and p.stat("distortion"):
            lo_d = min(lo_d, p.stat("distortion")[0] - pad)
    # -ELBO = rate + distortion: curves on the log axis, from the best
    # model's -ELBO up, labelled where they leave the left edge.
    r = np.geomspace(lo_r, hi_r, 200)
    best = min(a + b for a, b in zip(rates, dists))
    for total in best + np.linspace(0, hi_d - lo_d, 6):
        ax.plot(r, total - r, color="0.85", lw=0.8, zorder=0)
        if lo_d < total - lo_r < hi_d:
            ax.annotate(f"-ELBO {total:.0f}", (lo_r * 1.05, total - lo_r),
                        fontsize=7, color="0.55", va="bottom")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(coded)))
    for p, c in zip(coded, colors):
        (r, rse), (d, dse) = p.stat("rate"), p.stat("distortion")
        ax.errorbar(r, d, xerr=rse, yerr=dse, fmt="o", color=c, capsize=3)
        ax.annotate(p.label(), (r, d), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    for p in points:
        if p.deterministic and p.stat("distortion"):
            d = p.stat("distortion")[0]
            ax.axhline(d, color="crimson", ls="--", lw=1)
            ax.annotate("autoencoder (rate infinite)", (lo_r * 1.1, d),
                        va="top", fontsize=8, color="crimson")
    ax.set_xscale("log")
    ax.set_xlim(lo_r, hi_r)
    ax.set_ylim(lo_d, hi_d)
    ax.set_xlabel("rate  E KL(q(z|x) || p(z))  [nats per image]")
    ax.set_ylabel("distortion  E -log p(x|z)  [nats per image]")
    ax.set_title("rate against distortion, last evaluation "
                 "(mean ± s.e. over seeds)", fontsize=10)
    fig.tight_layout()
    save(fig, path)


def units_figure(points, path):
    swept = [p for p in points if not p.deterministic and p.stat("rate")]
    if not swept:
        print("note: skipped units.png: no gaussian-encoder model")
        return
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    # beta 0 (the stochastic AE) sits at the left edge of a symlog axis.
    x = [p.beta for p in swept]
    ax = axes[0]
    for metric, label in (("active_units", "active units"),):
        s = [p.stat(metric) for p in swept]
        ax.errorbar(x, [v[0] for v in s], yerr=[v[1] for v in s], fmt="o-",
                    capsize=3, label=label)
    ax.set_ylabel("active units (Cov_x E_q[z_u] > 0.01)")
    ax = axes[1]
    for metric, label in (("rate", "rate"), ("mutual_info", "I_q(x; z)"),
                          ("marginal_kl", "KL(q(z) || p(z))")):
        s = [p.stat(metric) for p in swept]
        if all(s):
            ax.errorbar(x, [v[0] for v in s], yerr=[v[1] for v in s],
                        fmt="o-", capsize=3, label=label)
    ax.set_ylabel("nats per image")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    for ax in axes[:2]:
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("beta (0: stochastic autoencoder)")
    ax = axes[2]
    rows = [p.sorted_kl() for p in swept]
    if all(r is not None for r in rows):
        im = ax.imshow(np.array(rows), aspect="auto", cmap="magma",
                       norm=matplotlib.colors.LogNorm(vmin=1e-3,
                                                      vmax=max(
                                                          r.max() for r in rows)
                                                      + 1e-3))
        ax.set_yticks(range(len(swept)), [p.label() for p in swept],
                      fontsize=8)
        ax.set_xlabel("latent dimension, sorted by its KL")
        fig.colorbar(im, ax=ax, label="KL per dimension [nats]")
    fig.tight_layout()
    save(fig, path)


def samples_figure(points, seed, path):
    shown = []
    for p in points:
        s = p.seeds.get(seed) if seed is not None else next(
            iter(p.seeds.values()), None)
        if s is not None and "samples" in s:
            shown.append((p, s["samples"]))
    if not shown:
        print("note: skipped samples.png: no samples"
              + (f" of seed {seed}" if seed is not None else ""))
        return
    dim = shown[0][1].shape[1]
    side = int(round(math.sqrt(dim)))
    images = side * side == dim and dim >= 16
    cols = min(len(shown), 5)
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3.3 * rows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (p, x) in zip(axes.flat, shown):
        if images:
            n = min(IMAGES_PER_MODEL, x.shape[0])
            g = int(math.ceil(math.sqrt(n)))
            tile = np.ones((g * side, g * side))
            for i in range(n):
                r, c = divmod(i, g)
                tile[r * side:(r + 1) * side, c * side:(c + 1) * side] = \
                    x[i].reshape(side, side)
            ax.imshow(tile, cmap="gray_r", vmin=0, vmax=1)
        else:
            ax.axis("on")
            ax.scatter(x[:, 0], x[:, 1 if dim > 1 else 0], s=2)
        ax.set_title(p.label(), fontsize=9)
    fig.suptitle("samples: z ~ N(0, I) through the decoder", fontsize=10)
    fig.tight_layout()
    save(fig, path)


def print_table(points):
    head = ["model", "beta"] + [label for _, label in TABLE]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p in points:
        cells = [p.label(), "-" if p.deterministic else f"{p.beta:g}"]
        for metric, _ in TABLE:
            s = p.stat(metric)
            cells.append("-" if s is None else f"{s[0]:.4g} ± {s[1]:.2g}")
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="the run file (HDF5)")
    ap.add_argument("--out", required=True, help="directory for the PNGs")
    ap.add_argument("--seed", type=int, help="the seed of the samples")
    ap.add_argument("--data", default=FASHION_TEST,
                    help="IDX file of held-out images for the "
                    "reconstructions (default: Fashion-MNIST's test set)")
    args = ap.parse_args()
    points = read_points(args.run)
    if not points:
        sys.exit(f"{args.run}: no vae_elbo model")
    os.makedirs(args.out, exist_ok=True)
    rate_distortion_figure(points, os.path.join(args.out,
                                                "rate_distortion.png"))
    units_figure(points, os.path.join(args.out, "units.png"))
    samples_figure(points, args.seed, os.path.join(args.out, "samples.png"))
    reconstructions_figure(points, args.run, args.data, args.seed,
                           os.path.join(args.out, "reconstructions.png"))
    print_table(points)


if __name__ == "__main__":
    main()
