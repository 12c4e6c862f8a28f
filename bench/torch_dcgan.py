"""The DCGAN of experiments/fashion_dcgan.yaml in PyTorch, one thread,
trained as gm trains it: a discriminator phase (G forward without
gradient), then a generator phase (D frozen); prints CPU and wall
milliseconds per step (docs/performance.md, "Convolutions").
    /usr/bin/python3 bench/torch_dcgan.py [STEPS]"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(1)
B, Z = 64, 64
G = nn.Sequential(
    nn.Linear(Z, 6272), nn.BatchNorm1d(6272), nn.ReLU(),
    nn.Unflatten(1, (128, 7, 7)),
    nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
    nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid(), nn.Flatten())
D = nn.Sequential(
    nn.Unflatten(1, (1, 28, 28)),
    nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(6272, 1))
og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
data = torch.rand(60000 // 64 * 64, 784)


def step(i):
    x = data[(i * B) % len(data):][:B]
    D.requires_grad_(True)
    with torch.no_grad():
        fake = G(torch.randn(B, Z))
    loss_d = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
    od.zero_grad(set_to_none=False)
    loss_d.backward()
    od.step()
    D.requires_grad_(False)
    loss_g = F.softplus(-D(G(torch.randn(B, Z)))).mean()
    og.zero_grad(set_to_none=False)
    loss_g.backward()
    og.step()


for i in range(10):
    step(i)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
t0, w0 = time.process_time(), time.perf_counter()
for i in range(n):
    step(i)
cpu, wall = time.process_time() - t0, time.perf_counter() - w0
print(f"torch {torch.__version__} mkldnn={torch.backends.mkldnn.is_available()} "
      f"{n} steps: {1000 * cpu / n:.1f} ms CPU/step, {1000 * wall / n:.1f} ms wall/step")
