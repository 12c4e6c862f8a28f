"""Timing and memory for the PyTorch references (torch_gan.py, torch_vae.py),
measured the way bench_util.h measures gm: a warm-up, then timed windows of a
fixed number of steps, medians; peak RSS from getrusage; anonymous RSS at
step 1000 and at the end. Prints one key=value line.

The windows alternate with windows of the GEMM-only step, the same
cblas_sgemm calls bench_gan.c and bench_vae.c make, called through ctypes in
the OpenBLAS this process loaded. PyTorch's fraction of that bound is then
measured under the same load as PyTorch itself, as gm's is in its own
process, so (gm/bound) / (torch/bound) compares the two without the drift
of a shared machine between runs. ctypes adds about 2 us per call, a few
per cent of the bound step (33 calls per GAN step, 11 per VAE step)."""
import argparse
import contextlib
import ctypes
import os
import resource
import statistics
import time

import torch

WARMUP = 20
RSS_STEP = 1000
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def rss_anon_kb():
    """Anonymous resident memory in kB (heap and anonymous maps)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return -1


def openblas():
    """The OpenBLAS library this process loaded (PyTorch's BLAS)."""
    with open("/proc/self/maps") as f:
        libs = sorted({l.split()[-1] for l in f if "libopenblas" in l})
    if not libs:
        raise SystemExit("torch_common: PyTorch did not load OpenBLAS")
    lib = ctypes.CDLL(libs[0])
    lib.openblas_get_corename.restype = ctypes.c_char_p
    i, f, p = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
    lib.cblas_sgemm.argtypes = [i] * 6 + [f, p, i, p, i, f, p, i]
    lib.cblas_sgemm.restype = None
    return lib


def cpu_capability():
    """The vector instruction set of ATen's own kernels (AVX2, AVX512)."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":")[1].strip()
    return "unknown"


def buffer(rows, cols):
    """Values in [-0.05, 0.05): never denormal, so sgemm runs at full speed."""
    return torch.rand(rows, cols) * 0.1 - 0.05


def sgemm(ta, tb, m, n, k, a, b, beta, c):
    """The arguments of C[m,n] = op(A) op(B) + beta C, row-major."""
    return (ROW_MAJOR, TRANS if ta else NO_TRANS, TRANS if tb else NO_TRANS,
            m, n, k, 1.0, a.data_ptr(), m if ta else k, b.data_ptr(),
            k if tb else n, beta, c.data_ptr(), n)


class Chain:
    """Linear layers dims[0] -> ... -> dims[-1] on `rows` rows, as
    bench_mlp in bench_util.h: weights W [out, in] and their gradients, one
    activation and gradient buffer per layer output. `share` reuses the
    weights of another chain (a second pass through one network)."""

    def __init__(self, dims, rows, share=None):
        self.dims, self.rows, self.n = dims, rows, len(dims) - 1
        pairs = [(dims[i + 1], dims[i]) for i in range(self.n)]
        self.w = share.w if share else [buffer(o, i) for o, i in pairs]
        self.dw = share.dw if share else [buffer(o, i) for o, i in pairs]
        self.act = [None] + [buffer(rows, d) for d in dims[1:]]
        self.grad = [None] + [buffer(rows, d) for d in dims[1:]]

    def forward(self, calls, x):
        """y = x W^T per layer, from x (a buffer of dims[0] columns)."""
        self.act[0] = x
        for i in range(self.n):
            calls.append(sgemm(False, True, self.rows, self.dims[i + 1],
                               self.dims[i], self.act[i], self.w[i], 0.0,
                               self.act[i + 1]))

    def backward(self, calls, dx, frozen):
        """dx += dy W down to layer 1 (and into dx unless None), and
        dW += dy^T x unless frozen."""
        self.grad[0] = dx
        for i in reversed(range(self.n)):
            if self.grad[i] is not None:
                calls.append(sgemm(False, False, self.rows, self.dims[i],
                                   self.dims[i + 1], self.grad[i + 1],
                                   self.w[i], 1.0, self.grad[i]))
            if not frozen:
                calls.append(sgemm(True, False, self.dims[i + 1],
                                   self.dims[i], self.rows, self.grad[i + 1],
                                   self.act[i], 1.0, self.dw[i]))


def precision(bf16):
    """The context a step's forward computations run in: PyTorch's
    mixed precision (torch.autocast with bfloat16) or plain float32."""
    if bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--bf16", action="store_true",
                   help="the step under torch.autocast with bfloat16")
    p.add_argument("--steps", type=int, default=30, help="steps per window")
    p.add_argument("--total", type=int, default=1500,
                   help="PyTorch steps in all (> 1000 for the memory check)")
    return p.parse_args()


def run(model, step, gemm_calls, args):
    """Runs step(i) args.total times, windows alternating with windows of
    the GEMM-only step `gemm_calls`, and prints the measurements."""
    torch.set_num_threads(1)
    blas = openblas()
    f = blas.cblas_sgemm

    def gemm_window():
        for _ in range(args.steps):
            for a in gemm_calls:
                f(*a)

    for i in range(WARMUP):
        step(i)
    gemm_window()
    # Allocated up front: the harness itself must not grow the heap.
    n = (args.total - WARMUP) // args.steps
    rate, bound, ratio = [0.0] * n, [0.0] * n, [0.0] * n
    cpu_rate = [0.0] * n
    anon_mark, i = -1, WARMUP
    for w in range(n):
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(args.steps):
            step(i)
            i += 1
            if i == RSS_STEP:
                anon_mark = rss_anon_kb()
        t1, c1 = time.perf_counter(), time.thread_time()
        cpu_rate[w] = args.steps / (c1 - c0)
        gemm_window()
        t2 = time.perf_counter()
        rate[w], bound[w] = args.steps / (t1 - t0), args.steps / (t2 - t1)
        ratio[w] = rate[w] / bound[w]
    anon_end = rss_anon_kb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flat = "n/a" if anon_mark < 0 else "yes" if anon_mark == anon_end else "no"
    mode = "torch_bf16" if args.bf16 else "torch"
    print(f"{model} mode={mode} steps_per_s={statistics.median(rate):.1f} "
          f"gemm_bound={statistics.median(bound):.1f} "
          f"torch_over_bound={statistics.median(ratio):.3f} "
          f"cpu_steps_per_s={statistics.median(cpu_rate):.1f} "
          f"gemm_calls={len(gemm_calls)} windows={n} steps={args.steps} "
          f"peak_rss_kb={peak} anon_kb_step{RSS_STEP}={anon_mark} "
          f"anon_kb_end={anon_end} anon_flat={flat} "
          f"torch={torch.__version__} "
          f"torch_threads={torch.get_num_threads()} "
          f"blas_core={blas.openblas_get_corename().decode()} "
          f"blas_threads={os.environ.get('OPENBLAS_NUM_THREADS', 'default')} "
          f"cpu_capability={cpu_capability()}", flush=True)
