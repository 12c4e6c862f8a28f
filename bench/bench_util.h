/* Shared by the step benchmarks (bench_gan.c, bench_vae.c): timing windows,
 * medians, resident memory, the row-major sgemm calls of a Linear layer, and
 * the three modes every benchmark program offers:
 *
 *   both [windows] [steps]  gm and GEMM-only windows interleaved in one
 *                           process, so both see the same machine load;
 *                           prints medians of steps/s and of their ratio.
 *   gm [steps]              gm alone for `steps` steps: steps/s, peak RSS,
 *                           and anonymous RSS at step 1000 and at the end
 *                           (flat when the step loop allocates nothing).
 *   gemm [steps]            the same for the GEMM-only step.
 *
 * Output is one line of key=value pairs, for bench/run.sh to parse. */
#ifndef GM_BENCH_UTIL_H
#define GM_BENCH_UTIL_H

#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { BENCH_MAX_WINDOWS = 100, BENCH_WARMUP = 20, BENCH_RSS_STEP = 1000 };

/* One training step (or its GEMM-only shadow) on some state. */
typedef struct bench_step {
    void (*run)(void *state);
    void *state;
} bench_step;

/* both: gm against the GEMM-only bound; gm, gemm: one alone; precision:
 * gm in float32 against gm in bfloat16 (alternating windows, as both). */
typedef enum bench_mode {
    BENCH_BOTH,
    BENCH_GM,
    BENCH_GEMM,
    BENCH_PRECISION
} bench_mode;

typedef struct bench_args {
    bench_mode mode;
    int windows, steps; /* both, precision: windows of `steps`; gm, gemm:
                           total steps */
} bench_args;

static inline double bench_clock(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Wall time, and the calling thread's CPU time (which leaves out the time
 * other processes of a loaded machine took the core). */
static inline double bench_now(void) { return bench_clock(CLOCK_MONOTONIC); }
static inline double bench_cpu_now(void) {
    return bench_clock(CLOCK_THREAD_CPUTIME_ID);
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Anonymous resident memory now (heap and anonymous maps), in kB, from
 * /proc/self/status; -1 if unreadable. Unlike the whole RSS it does not
 * move when the loader pages in library code on a first call. */
static inline long bench_rss_anon_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "RssAnon: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* Peak resident set size of the process so far, in kB. */
static inline long bench_peak_rss_kb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* C[m,n] = alpha op(A) op(B) + beta C, row-major, unpadded. */
static inline void bench_sgemm(bool ta, bool tb, int m, int n, int k,
                               const float *a, const float *b, float beta,
                               float *c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, ta ? m : k, b,
                tb ? k : n, beta, c, n);
}

/* A Linear layer's weight W [out, in] and its gradient, for GEMM-only
 * steps. The calls below are the ones gm's matmul makes for x W^T. */
typedef struct bench_layer {
    int in, out;
    float *w, *dw;
} bench_layer;

/* y [rows, out] = x [rows, in] W^T */
static inline void bench_layer_forward(const bench_layer *l, int rows,
                                       const float *x, float *y) {
    bench_sgemm(false, true, rows, l->out, l->in, x, l->w, 0.0f, y);
}

/* dW += dy^T x (skipped when frozen), and dx += dy W when dx is wanted. */
static inline void bench_layer_backward(bench_layer *l, int rows,
                                        const float *x, const float *dy,
                                        float *dx, bool frozen) {
    if (dx) bench_sgemm(false, false, rows, l->in, l->out, dy, l->w, 1.0f, dx);
    if (!frozen)
        bench_sgemm(true, false, l->out, l->in, rows, dy, x, 1.0f, l->dw);
}

/* A float buffer of n values in [-0.05, 0.05) (never denormal, so sgemm
 * runs at full speed); exits on failure (benchmark only). */
static inline float *bench_alloc(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = 0.1f * (float)((i * 2654435761u) % 1000) / 1000.0f - 0.05f;
    return p;
}

enum { BENCH_MAX_LAYERS = 4 };

/* A chain of Linear layers dims[0] -> dims[1] -> ... -> dims[n], with one
 * activation and one gradient buffer [rows, dims[i]] per boundary. act[0]
 * and grad[0] are left for the caller (the chain's input). */
typedef struct bench_mlp {
    int n, rows;
    bench_layer layer[BENCH_MAX_LAYERS];
    float *act[BENCH_MAX_LAYERS + 1], *grad[BENCH_MAX_LAYERS + 1];
} bench_mlp;

static inline void bench_mlp_init(bench_mlp *m, const int *dims, int n,
                                  int rows) {
    memset(m, 0, sizeof *m);
    m->n = n;
    m->rows = rows;
    for (int i = 0; i < n; i++) {
        bench_layer *l = &m->layer[i];
        l->in = dims[i];
        l->out = dims[i + 1];
        l->w = bench_alloc((size_t)l->in * l->out);
        l->dw = bench_alloc((size_t)l->in * l->out);
        m->act[i + 1] = bench_alloc((size_t)rows * l->out);
        m->grad[i + 1] = bench_alloc((size_t)rows * l->out);
    }
}

static inline void bench_mlp_free(bench_mlp *m) {
    for (int i = 0; i < m->n; i++) {
        free(m->layer[i].w);
        free(m->layer[i].dw);
        free(m->act[i + 1]);
        free(m->grad[i + 1]);
    }
}

/* act[n] = the chain applied to `x` (which becomes act[0]). */
static inline void bench_mlp_forward(bench_mlp *m, float *x) {
    m->act[0] = x;
    for (int i = 0; i < m->n; i++)
        bench_layer_forward(&m->layer[i], m->rows, m->act[i], m->act[i + 1]);
}

/* From grad[n] back: weight gradients unless frozen, input gradients down
 * to layer 1, and into `dx` for the chain's input when dx is not NULL. */
static inline void bench_mlp_backward(bench_mlp *m, float *dx, bool frozen) {
    m->grad[0] = dx;
    for (int i = m->n - 1; i >= 0; i--)
        bench_layer_backward(&m->layer[i], m->rows, m->act[i], m->grad[i + 1],
                             m->grad[i], frozen);
}

/* Parses "mode [n1] [n2]"; prints usage and returns false when wrong. */
static inline bool bench_parse(int argc, char **argv, bench_args *a) {
    const char *mode = argc > 1 ? argv[1] : "both";
    a->mode = strcmp(mode, "gm") == 0          ? BENCH_GM
              : strcmp(mode, "gemm") == 0      ? BENCH_GEMM
              : strcmp(mode, "precision") == 0 ? BENCH_PRECISION
                                               : BENCH_BOTH;
    bool both = a->mode == BENCH_BOTH || a->mode == BENCH_PRECISION;
    a->windows = both && argc > 2 ? atoi(argv[2]) : 9;
    a->steps =
        argc > (both ? 3 : 2) ? atoi(argv[both ? 3 : 2]) : (both ? 30 : 1500);
    if ((a->mode == BENCH_BOTH && strcmp(mode, "both") != 0) ||
        a->windows < 1 ||
        a->windows > BENCH_MAX_WINDOWS || a->steps < 1 ||
        argc > (both ? 4 : 3)) {
        fprintf(stderr,
                "usage: %s both|precision [windows 1-%d] [steps per "
                "window]\n"
                "       %s gm|gemm [steps]\n",
                argv[0], BENCH_MAX_WINDOWS, argv[0]);
        return false;
    }
    return true;
}

static inline void bench_run(const bench_step *s, int steps) {
    for (int i = 0; i < steps; i++)
        s->run(s->state);
}

/* Mode both: warm-up, then `windows` pairs of timed windows. */
static inline void bench_interleaved(const char *model, const bench_step *gm,
                                     const bench_step *gemm,
                                     const bench_args *a) {
    double gm_rate[BENCH_MAX_WINDOWS], gemm_rate[BENCH_MAX_WINDOWS];
    double ratio[BENCH_MAX_WINDOWS], gm_cpu[BENCH_MAX_WINDOWS];
    double gemm_cpu[BENCH_MAX_WINDOWS], ratio_cpu[BENCH_MAX_WINDOWS];
    bench_run(gm, BENCH_WARMUP);
    bench_run(gemm, BENCH_WARMUP);
    for (int w = 0; w < a->windows; w++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        bench_run(gm, a->steps);
        double t1 = bench_now(), c1 = bench_cpu_now();
        bench_run(gemm, a->steps);
        double t2 = bench_now(), c2 = bench_cpu_now();
        gm_rate[w] = a->steps / (t1 - t0);
        gemm_rate[w] = a->steps / (t2 - t1);
        ratio[w] = gm_rate[w] / gemm_rate[w];
        gm_cpu[w] = a->steps / (c1 - c0);
        gemm_cpu[w] = a->steps / (c2 - c1);
        ratio_cpu[w] = gm_cpu[w] / gemm_cpu[w];
    }
    double r_lo = ratio[0], r_hi = ratio[0];
    for (int w = 1; w < a->windows; w++) {
        r_lo = ratio[w] < r_lo ? ratio[w] : r_lo;
        r_hi = ratio[w] > r_hi ? ratio[w] : r_hi;
    }
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("%s mode=both gm_steps_per_s=%.1f gemm_bound=%.1f "
           "gm_over_bound=%.3f gm_over_bound_min=%.3f gm_over_bound_max=%.3f "
           "gm_cpu_steps_per_s=%.1f gemm_cpu_bound=%.1f "
           "gm_over_bound_cpu=%.3f "
           "windows=%d steps=%d blas_core=%s blas_threads=%s\n",
           model, bench_median(gm_rate, a->windows),
           bench_median(gemm_rate, a->windows), bench_median(ratio, a->windows),
           r_lo, r_hi, bench_median(gm_cpu, a->windows),
           bench_median(gemm_cpu, a->windows),
           bench_median(ratio_cpu, a->windows), a->windows, a->steps,
           openblas_get_corename(), threads ? threads : "default");
}

/* Mode precision: warm-up, then `windows` pairs of timed windows of the
 * model in float32 and in bfloat16; medians of thread CPU time rates. */
static inline void bench_precisions(const char *model, const bench_step *fp32,
                                    const bench_step *bf16,
                                    const bench_args *a, const char *isa) {
    double rate32[BENCH_MAX_WINDOWS], rate16[BENCH_MAX_WINDOWS];
    double ratio[BENCH_MAX_WINDOWS];
    bench_run(fp32, BENCH_WARMUP);
    bench_run(bf16, BENCH_WARMUP);
    for (int w = 0; w < a->windows; w++) {
        double c0 = bench_cpu_now();
        bench_run(fp32, a->steps);
        double c1 = bench_cpu_now();
        bench_run(bf16, a->steps);
        double c2 = bench_cpu_now();
        rate32[w] = a->steps / (c1 - c0);
        rate16[w] = a->steps / (c2 - c1);
        ratio[w] = rate16[w] / rate32[w];
    }
    printf("%s mode=precision fp32_cpu_steps_per_s=%.1f "
           "bf16_cpu_steps_per_s=%.1f bf16_over_fp32=%.3f windows=%d "
           "steps=%d blas_core=%s bf16_isa=%s\n",
           model, bench_median(rate32, a->windows),
           bench_median(rate16, a->windows), bench_median(ratio, a->windows),
           a->windows, a->steps, openblas_get_corename(), isa ? isa : "none");
}

/* Modes gm and gemm: one step loop, timed as a whole, with memory. */
static inline void bench_alone(const char *model, const char *mode,
                               const bench_step *s, const bench_args *a) {
    long rss_mark = -1;
    double t0 = bench_now(), c0 = bench_cpu_now();
    for (int i = 1; i <= a->steps; i++) {
        s->run(s->state);
        if (i == BENCH_RSS_STEP) rss_mark = bench_rss_anon_kb();
    }
    double t = bench_now() - t0, c = bench_cpu_now() - c0;
    long rss_end = bench_rss_anon_kb();
    printf("%s mode=%s steps=%d steps_per_s=%.1f cpu_steps_per_s=%.1f "
           "peak_rss_kb=%ld anon_kb_step%d=%ld anon_kb_end=%ld anon_flat=%s "
           "blas_core=%s\n",
           model, mode, a->steps, a->steps / t, a->steps / c,
           bench_peak_rss_kb(), BENCH_RSS_STEP, rss_mark, rss_end,
           rss_mark < 0          ? "n/a"
           : rss_mark == rss_end ? "yes"
                                 : "no",
           openblas_get_corename());
}

#endif
