/* What OpenBLAS's small-matrix kernels cost per call (issue 22): the
 * sgemm calls of gm's small Linear layers, as gm makes them (row-major:
 * forward x W^T with beta 1, input gradient dy W, weight gradient
 * dy^T x), timed on whatever kernel OpenBLAS runs (OPENBLAS_CORETYPE), with
 * the heap allocations each call makes and the time a malloc/free pair of
 * that size takes alone. The SkylakeX and Cooperlake kernels (gm's pick on
 * AVX-512 CPUs) send small products to sgemm_small_kernel_*, which
 * allocate a buffer on every call; Haswell's have none.
 *
 *   bench_sgemm_small [seconds]   about `seconds` (default 0.2) of calls
 *                                 per product; one line per product of
 *                                 key=value pairs */
#define _GNU_SOURCE
#include <stdatomic.h>

#include "bench_util.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);

/* The program's own malloc, to count OpenBLAS's calls and their size. */
static atomic_size_t allocations, allocated_bytes;
void *malloc(size_t n) {
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&allocated_bytes, n);
    return __libc_malloc(n);
}
void free(void *p) { __libc_free(p); }

typedef struct product {
    const char *layer, *what;
    enum CBLAS_TRANSPOSE ta, tb;
    int m, n, k;
    float beta;
} product;

/* A layer of `rows` samples from `in` to `out` features: its products
 * with gm's transposes and betas (framework/src/ops/linalg.c): forward
 * onto the bias (beta 1), the gradients into fresh buffers (beta 0) or
 * added to earlier ones (beta 1, a weight used twice in a step). */
#define LAYER(name, rows, in, out)                                            \
    {name, "forward", CblasNoTrans, CblasTrans, rows, out, in, 1.0f},         \
        {name, "d_input", CblasNoTrans, CblasNoTrans, rows, in, out, 0.0f},   \
        {name, "d_weight", CblasTrans, CblasNoTrans, out, in, rows, 0.0f},    \
        {name, "d_weight+", CblasTrans, CblasNoTrans, out, in, rows, 1.0f}

static const product products[] = {
    LAYER("test_alloc's vae 4->32 x32", 32, 4, 32),
    LAYER("ring 2->128 x512", 512, 2, 128),
    LAYER("ring 128->128 x512", 512, 128, 128),
    LAYER("ring 128->1 x512", 512, 128, 1),
    LAYER("fashion 784->400 x128", 128, 784, 400),
};

static float *filled(size_t n) {
    float *p = bench_alloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (float)(i % 7) * 0.25f - 0.75f;
    return p;
}

static void one_call(const product *p, const float *a, const float *b,
                     float *c) {
    int lda = p->ta == CblasNoTrans ? p->k : p->m;
    int ldb = p->tb == CblasNoTrans ? p->n : p->k;
    cblas_sgemm(CblasRowMajor, p->ta, p->tb, p->m, p->n, p->k, 1.0f, a, lda,
                b, ldb, p->beta, c, p->n);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    if (!(seconds > 0)) seconds = 0.2;
    for (size_t i = 0; i < sizeof products / sizeof *products; i++) {
        const product *p = &products[i];
        float *a = filled((size_t)p->m * p->k), *b = filled((size_t)p->k * p->n);
        float *c = filled((size_t)p->m * p->n);
        enum { WARM_UP = 200 };
        double w0 = bench_cpu_now();
        for (int w = 0; w < WARM_UP; w++) one_call(p, a, b, c);
        double guess = (bench_cpu_now() - w0) / WARM_UP;
        int calls = guess > 0 && seconds / guess < 1e6 ? (int)(seconds / guess)
                                                      : 1000000;
        if (calls < WARM_UP) calls = WARM_UP;
        atomic_store(&allocations, 0);
        atomic_store(&allocated_bytes, 0);
        double t0 = bench_cpu_now();
        for (int r = 0; r < calls; r++) one_call(p, a, b, c);
        double per_call = (bench_cpu_now() - t0) / calls;
        size_t n_alloc = atomic_load(&allocations);
        size_t bytes = n_alloc ? atomic_load(&allocated_bytes) / n_alloc : 0;
        /* The allocation alone: a malloc/free pair of that size. */
        double pair = 0;
        if (bytes) {
            double p0 = bench_cpu_now();
            for (int r = 0; r < calls; r++) {
                void *volatile q = malloc(bytes);
                free(q);
            }
            pair = (bench_cpu_now() - p0) / calls;
        }
        printf("layer=\"%s\" product=%s m=%d n=%d k=%d us_per_call=%.3f "
               "allocs_per_call=%.2f bytes=%zu malloc_free_us=%.3f\n",
               p->layer, p->what, p->m, p->n, p->k, 1e6 * per_call,
               (double)n_alloc / calls, bytes, 1e6 * pair);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
