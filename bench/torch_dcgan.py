"""The DCGAN of experiments/fashion_dcgan.yaml (bench/dcgan_net.h) in
PyTorch, trained as gm trains it: a discriminator phase (G forward without
gradient, D on a real and a fake batch), then a generator phase (D's
requires_grad off); Adam lr 2e-4, betas (0.5, 0.999), batch 64, real
batches of uniform pixels. Prints one key=value line with the median
steps/s over windows of --steps steps, in wall and in thread CPU time.

With --ops, instead: the DCGAN's four convolutions alone (kernel 4, stride
2, padding 1, batch 64), forward and backward into x, the weight and the
bias (y.backward with a fixed gradient), median ms in CPU and wall time,
one line per convolution, as bench_dcgan ops. Run by bench/run.sh with the
environment it states (one thread; PyTorch's convolutions go to oneDNN).

With --bf16, both run under torch.autocast("cpu", dtype=torch.bfloat16),
the mixed precision gm's train.precision: bf16 matches."""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_common

B, Z, DATA_BATCHES = 64, 64, 16

# (name, transposed, c_in, side, c_out): the names bench_dcgan.c prints
CONVS = [
    ("G.conv_transpose2d:128x7x7->64x14x14", True, 128, 7, 64),
    ("G.conv_transpose2d:64x14x14->1x28x28", True, 64, 14, 1),
    ("D.conv2d:1x28x28->64x14x14", False, 1, 28, 64),
    ("D.conv2d:64x14x14->128x7x7", False, 64, 14, 128),
]


def networks():
    g = nn.Sequential(
        nn.Linear(Z, 6272), nn.BatchNorm1d(6272), nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid(), nn.Flatten())
    d = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(6272, 1))
    return g, d


def clocks():
    return time.perf_counter(), time.thread_time()


def precision(args):
    """The context the forward computations run in."""
    return torch_common.precision(args.bf16)


def train(args):
    G, D = networks()
    og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    data = torch.rand(DATA_BATCHES, B, 784)
    losses = [0.0, 0.0]

    def step(i):
        D.requires_grad_(True)
        with torch.no_grad(), precision(args):
            fake = G(torch.randn(B, Z))
        od.zero_grad(set_to_none=True)
        with precision(args):
            loss_d = (F.softplus(-D(data[i % DATA_BATCHES])).mean() +
                      F.softplus(D(fake)).mean())
        loss_d.backward()
        od.step()
        D.requires_grad_(False)
        og.zero_grad(set_to_none=True)
        with precision(args):
            loss_g = F.softplus(-D(G(torch.randn(B, Z)))).mean()
        loss_g.backward()
        og.step()
        losses[0], losses[1] = loss_d, loss_g

    for i in range(args.warmup):
        step(i)
    wall, cpu = [], []
    for w in range(args.windows):
        t0, c0 = clocks()
        for i in range(args.steps):
            step(i)
        t1, c1 = clocks()
        wall.append(args.steps / (t1 - t0))
        cpu.append(args.steps / (c1 - c0))
    blas = torch_common.openblas()
    mode = "torch_bf16" if args.bf16 else "torch"
    print(f"dcgan mode={mode} steps_per_s={statistics.median(wall):.2f} "
          f"cpu_steps_per_s={statistics.median(cpu):.2f} "
          f"windows={args.windows} steps={args.steps} "
          f"torch={torch.__version__} "
          f"torch_threads={torch.get_num_threads()} "
          f"mkldnn={torch.backends.mkldnn.is_available()} "
          f"blas_core={blas.openblas_get_corename().decode()} "
          f"cpu_capability={torch_common.cpu_capability()}", flush=True)
    print(f"dcgan: final losses D {losses[0].item():.4f} "
          f"G {losses[1].item():.4f}", file=sys.stderr)


def conv_alone(name, transposed, c_in, side, c_out, reps, args):
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(
        c_in, c_out, 4, 2, 1)
    x = (torch.rand(B, c_in, side, side) * 0.1 - 0.05).requires_grad_(True)
    out_side = 2 * side if transposed else side // 2
    dy = torch.rand(B, c_out, out_side, out_side) * 0.1 - 0.05
    times = {k: [] for k in ("fwd_cpu", "bwd_cpu", "fwd_wall", "bwd_wall")}
    for r in range(-3, reps):
        x.grad = None
        conv.zero_grad(set_to_none=True)
        t0, c0 = clocks()
        with precision(args):
            y = conv(x)
        t1, c1 = clocks()
        y.backward(dy)
        t2, c2 = clocks()
        if r >= 0:
            times["fwd_cpu"].append(c1 - c0)
            times["bwd_cpu"].append(c2 - c1)
            times["fwd_wall"].append(t1 - t0)
            times["bwd_wall"].append(t2 - t1)
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    print(f"dcgan_op op={name} precision={'bf16' if args.bf16 else 'fp32'} "
          f"fwd_cpu_ms={ms['fwd_cpu']:.3f} "
          f"bwd_cpu_ms={ms['bwd_cpu']:.3f} fwd_wall_ms={ms['fwd_wall']:.3f} "
          f"bwd_wall_ms={ms['bwd_wall']:.3f} reps={reps} "
          f"torch={torch.__version__}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ops", action="store_true",
                   help="the convolutions alone instead of training steps")
    p.add_argument("--reps", type=int, default=21, help="--ops repetitions")
    p.add_argument("--windows", type=int, default=9)
    p.add_argument("--steps", type=int, default=10, help="steps per window")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--bf16", action="store_true",
                   help="under torch.autocast with bfloat16")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    if args.ops:
        for c in CONVS:
            conv_alone(*c, args.reps, args)
    else:
        train(args)


if __name__ == "__main__":
    main()
