"""The Fashion-MNIST-sized VAE of bench_vae.c in PyTorch (pytorch/examples):
encoder 784 -> 400 -> 2x20, decoder 20 -> 400 -> 784, ReLU, Bernoulli
likelihood from logits, Adam lr 1e-3, batch 128, on a fixed batch of random
binary pixels. Run by bench/run.sh with the environment it states; with
--bf16 under torch.autocast (bfloat16), as gm's train.precision: bf16."""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_common

BATCH, IN, HIDDEN, LATENT = 128, 784, 400, 20


def gemm_calls():
    """The step's sgemm calls, as bench_vae.c's GEMM-only step."""
    calls = []
    enc = torch_common.Chain([IN, HIDDEN, 2 * LATENT], BATCH)
    dec = torch_common.Chain([LATENT, HIDDEN, IN], BATCH)
    x, z = torch_common.buffer(BATCH, IN), torch_common.buffer(BATCH, LATENT)
    dz = torch_common.buffer(BATCH, LATENT)
    enc.forward(calls, x)
    dec.forward(calls, z)
    dec.backward(calls, dz, frozen=False)
    enc.backward(calls, None, frozen=False)
    return calls, (enc, dec, x, z, dz)  # the buffers must stay alive


def main():
    args = torch_common.parse_args()
    torch.manual_seed(1)
    enc = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(),
                        nn.Linear(HIDDEN, 2 * LATENT))
    dec = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(),
                        nn.Linear(HIDDEN, IN))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()),
                           lr=1e-3)
    x = (torch.rand(BATCH, IN) < 0.3).float()
    last = [0.0]

    def step(i):
        opt.zero_grad(set_to_none=True)
        with torch_common.precision(args.bf16):
            mu, logvar = enc(x).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            rec = F.binary_cross_entropy_with_logits(dec(z), x,
                                                     reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (rec + kl) / BATCH
        loss.backward()
        opt.step()
        last[0] = loss

    calls, buffers = gemm_calls()
    torch_common.run("vae", step, calls, args)
    print(f"vae: final loss {last[0].item():.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
