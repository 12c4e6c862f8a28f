"""The ring GAN of bench_gan.c in PyTorch: generator z(256) -> 128 -> 128 -> 2,
discriminator 2 -> 128 -> 128 -> 1, ReLU, non-saturating loss from logits,
Adam lr 1e-4 betas (0.5, 0.999), batch 512, one discriminator step (generator
under no_grad) then one generator step (discriminator's requires_grad off),
fresh N(0, 1) noise in each phase, real data from a pre-drawn buffer of
ring-of-8 samples. Run by bench/run.sh with the environment it states."""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_common

BATCH, LATENT, HIDDEN, DIM, DATA_BATCHES = 512, 256, 128, 2, 64


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def gemm_calls():
    """The iteration's sgemm calls, as bench_gan.c's GEMM-only step."""
    calls = []
    gen = torch_common.Chain([LATENT, HIDDEN, HIDDEN, DIM], BATCH)
    real = torch_common.Chain([DIM, HIDDEN, HIDDEN, 1], BATCH)
    fake = torch_common.Chain([DIM, HIDDEN, HIDDEN, 1], BATCH, share=real)
    z, x = torch_common.buffer(BATCH, LATENT), torch_common.buffer(BATCH, DIM)
    # discriminator phase: G(z) frozen, D on real and fake
    gen.forward(calls, z)
    real.forward(calls, x)
    fake.forward(calls, gen.act[-1])
    fake.backward(calls, None, frozen=False)
    real.backward(calls, None, frozen=False)
    # generator phase: D frozen, gradients through it into G
    gen.forward(calls, z)
    fake.forward(calls, gen.act[-1])
    fake.backward(calls, gen.grad[-1], frozen=True)
    gen.backward(calls, None, frozen=False)
    return calls, (gen, real, fake, z, x)  # the buffers must stay alive


def ring_data():
    """DATA_BATCHES batches of the ring of 8 Gaussians (radius 2, std 0.02)."""
    mode = torch.randint(0, 8, (DATA_BATCHES * BATCH,)).float()
    angle = 2 * math.pi * mode / 8
    data = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], dim=1)
    return (data + 0.02 * torch.randn_like(data)).view(DATA_BATCHES, BATCH,
                                                       DIM)


def adam(net):
    return torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.5, 0.999))


def ring_models():
    """The ring benchmarks' generator, discriminator, their Adams and data,
    drawn in that order from torch's generator."""
    gen, disc = mlp([LATENT, HIDDEN, HIDDEN, DIM]), mlp([DIM, HIDDEN, HIDDEN, 1])
    return gen, disc, adam(disc), adam(gen), ring_data()


def gan_step(bf16=False):
    """The ring GAN's step: step(i) and its last losses [D, G]; with bf16,
    its forward computations under torch.autocast (bfloat16)."""
    gen, disc, d_opt, g_opt, data = ring_models()
    losses = [0.0, 0.0]

    def step(i):
        # discriminator: -E_data[log D] - E_g[log(1 - D)]
        with torch.no_grad(), torch_common.precision(bf16):
            fake = gen(torch.randn(BATCH, LATENT))
        d_opt.zero_grad(set_to_none=True)
        with torch_common.precision(bf16):
            d_loss = (F.softplus(-disc(data[i % DATA_BATCHES])).mean() +
                      F.softplus(disc(fake)).mean())
        d_loss.backward()
        d_opt.step()
        # generator: -E_g[log D], the discriminator frozen
        disc.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        with torch_common.precision(bf16):
            g_loss = F.softplus(-disc(gen(torch.randn(BATCH,
                                                      LATENT)))).mean()
        g_loss.backward()
        g_opt.step()
        disc.requires_grad_(True)
        losses[0], losses[1] = d_loss, g_loss

    return step, losses


def main():
    args = torch_common.parse_args()
    torch.manual_seed(1)
    step, losses = gan_step(args.bf16)
    calls, buffers = gemm_calls()
    torch_common.run("gan", step, calls, args)
    print(f"gan: final losses D {losses[0].item():.4f} "
          f"G {losses[1].item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
