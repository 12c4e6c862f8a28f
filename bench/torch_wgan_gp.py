"""The ring WGAN-GP of bench_wgan_gp.c in PyTorch: the networks, batch,
data and Adam (lr 1e-4, betas (0.5, 0.999)) of torch_gan.py; one critic
step (generator under no_grad) with loss E_fake[D] - E_real[D] +
10 E[(||grad D(x_hat)|| - 1)^2] on x_hat = x_fake + eps (x_real - x_fake),
eps ~ U[0, 1] per row, the gradient from torch.autograd.grad with
create_graph=True; then one generator step (the critic's requires_grad
off), loss -E_g[D]. Windows of WGAN-GP steps alternate with windows of
torch_gan.py's plain GAN step (other networks of the same sizes), as
bench_wgan_gp both does in gm: ms per step in wall and thread CPU time
(time.thread_time: time other processes took the core is not counted),
medians, and their ratio. Run by bench/run.sh with the environment it
states."""
import statistics
import sys
import time

import torch

import torch_common
from torch_gan import BATCH, DATA_BATCHES, LATENT, gan_step, ring_models

WARMUP = 20


def wgan_gp_step():
    """One WGAN-GP step: step(i) and its last losses."""
    gen, disc, d_opt, g_opt, data = ring_models()
    losses = [0.0, 0.0]

    def step(i):
        with torch.no_grad():
            fake = gen(torch.randn(BATCH, LATENT))
        real = data[i % DATA_BATCHES]
        d_opt.zero_grad(set_to_none=True)
        eps = torch.rand(BATCH, 1)
        x_hat = (fake + eps * (real - fake)).requires_grad_(True)
        (dx,) = torch.autograd.grad(disc(x_hat).sum(), x_hat,
                                    create_graph=True)
        norm = torch.sqrt(dx.square().sum(dim=1) + 1e-12)
        penalty = (norm - 1).square().mean()
        d_loss = disc(fake).mean() - disc(real).mean() + 10 * penalty
        d_loss.backward()
        d_opt.step()
        disc.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_loss = -disc(gen(torch.randn(BATCH, LATENT))).mean()
        g_loss.backward()
        g_opt.step()
        disc.requires_grad_(True)
        losses[0], losses[1] = d_loss, g_loss

    return step, losses


def window(step, steps, i):
    """Runs steps step(i), ...; wall and CPU ms per step."""
    t0, c0 = time.perf_counter(), time.thread_time()
    for k in range(steps):
        step(i + k)
    t1, c1 = time.perf_counter(), time.thread_time()
    return 1e3 * (t1 - t0) / steps, 1e3 * (c1 - c0) / steps


def main():
    args = torch_common.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    wgan, losses = wgan_gp_step()
    gan, _ = gan_step()
    for i in range(WARMUP):
        wgan(i)
        gan(i)
    n = max(1, (args.total - WARMUP) // args.steps // 2)
    rows = {k: [] for k in ("w", "g", "wc", "gc", "r", "rc")}
    i = WARMUP
    for _ in range(n):
        w, wc = window(wgan, args.steps, i)
        g, gc = window(gan, args.steps, i)
        i += args.steps
        for k, v in zip(rows, (w, g, wc, gc, w / g, wc / gc)):
            rows[k].append(v)
    med = {k: statistics.median(v) for k, v in rows.items()}
    blas = torch_common.openblas()
    print(f"wgan_gp mode=torch wgan_gp_ms={med['w']:.3f} gan_ms={med['g']:.3f} "
          f"wgan_gp_over_gan={med['r']:.3f} wgan_gp_cpu_ms={med['wc']:.3f} "
          f"gan_cpu_ms={med['gc']:.3f} wgan_gp_over_gan_cpu={med['rc']:.3f} "
          f"windows={n} steps={args.steps} torch={torch.__version__} "
          f"torch_threads={torch.get_num_threads()} "
          f"blas_core={blas.openblas_get_corename().decode()} "
          f"cpu_capability={torch_common.cpu_capability()}", flush=True)
    print(f"wgan_gp: final losses D {losses[0].item():.4f} "
          f"G {losses[1].item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
