/* Does OpenBLAS's sgemm give the same bits with 2 threads as with 1, on
 * the products gm makes? Every Linear layer of the two benchmark models
 * (the ring GAN at batch 512 and its 2500-sample evaluation, the VAE at
 * batch 128) makes three: y = x W^T + b, dx = dy W and dW += dy^T x. Each
 * is computed with 1 and 2 threads on the same inputs and compared bit for
 * bit. gm trains with one thread per run because they differ
 * (docs/performance.md).
 *
 * usage: bench_threads   (prints one key=value line) */
#include "bench_util.h"

typedef struct layer_shape {
    int rows, in, out;
} layer_shape;

static const layer_shape layers[] = {
    {512, 256, 128},  {512, 128, 128},  {512, 128, 2},  /* GAN generator */
    {512, 2, 128},    {512, 128, 1},                    /* discriminator */
    {2500, 256, 128}, {2500, 128, 128}, {2500, 128, 2}, /* G, evaluation */
    {128, 784, 400},  {128, 400, 40},                   /* VAE encoder */
    {128, 20, 400},   {128, 400, 784},                  /* VAE decoder */
};

/* C of one call, computed with `threads` OpenBLAS threads. */
static float *product(bool ta, bool tb, int m, int n, int k, float beta,
                      int threads) {
    openblas_set_num_threads(threads);
    float *a = bench_alloc((size_t)m * k), *b = bench_alloc((size_t)k * n);
    float *c = bench_alloc((size_t)m * n);
    bench_sgemm(ta, tb, m, n, k, a, b, beta, c);
    free(a);
    free(b);
    return c;
}

/* 1 if the call gives other bits with 2 threads than with 1. */
static int differs(bool ta, bool tb, int m, int n, int k, float beta) {
    float *one = product(ta, tb, m, n, k, beta, 1);
    float *two = product(ta, tb, m, n, k, beta, 2);
    int d = memcmp(one, two, (size_t)m * n * sizeof(float)) != 0;
    free(one);
    free(two);
    return d;
}

int main(void) {
    int calls = 0, differ = 0;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const layer_shape *l = &layers[i];
        differ += differs(false, true, l->rows, l->out, l->in, 1.0f);
        differ += differs(false, false, l->rows, l->in, l->out, 0.0f);
        differ += differs(true, false, l->out, l->in, l->rows, 1.0f);
        calls += 3;
    }
    printf("threads mode=bits blas_core=%s calls=%d differ_1_vs_2_threads=%d\n",
           openblas_get_corename(), calls, differ);
    return 0;
}
