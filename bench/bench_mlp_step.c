/* One training step of the pytorch/examples VAE (784-400-20 encoder and
 * decoder, ReLU, Bernoulli likelihood, Adam, batch 128), in steps per
 * second, beside the same step's matrix products alone in cblas_sgemm (the
 * GEMM-only bound). Medians over timed windows after a warm-up; quote the
 * ratio, not the absolute numbers: the machine is shared.
 *
 * usage: bench_mlp_step [windows] [steps-per-window] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gm/gm.h"

enum { BATCH = 128, IN = 784, HIDDEN = 400, LATENT = 20 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct vae {
    gm_params *enc_p, *dec_p;
    gm_mlp enc, dec;
    gm_graph *g;
    gm_node *x, *loss;
    gm_optim *oe, *od;
} vae;

static int vae_build(vae *v, gm_error *err) {
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    v->enc_p = gm_params_create("encoder");
    v->dec_p = gm_params_create("decoder");
    gm_mlp_spec es = {.hidden = {HIDDEN}, .n_hidden = 1,
                      .activation = GM_ACT_RELU, .out = 2 * LATENT};
    gm_mlp_spec ds = {.hidden = {HIDDEN}, .n_hidden = 1,
                      .activation = GM_ACT_RELU, .out = IN};
    if (gm_mlp_init(&v->enc, v->enc_p, "enc", IN, &es, &init, err) ||
        gm_mlp_init(&v->dec, v->dec_p, "dec", LATENT, &ds, &init, err))
        return 1;
    gm_graph *g = v->g = gm_graph_create("vae");
    v->x = gm_input(g, "x", (int[]){BATCH, IN}, 2);
    gm_node *h = gm_mlp_forward(g, &v->enc, v->x);
    gm_node *mu = gm_slice_cols(g, h, 0, LATENT);
    gm_node *lv = gm_slice_cols(g, h, LATENT, LATENT);
    gm_node *eps = gm_randn(g, "eps", (int[]){BATCH, LATENT}, 2, &noise);
    gm_node *z = gm_add(g, mu, gm_mul(g, gm_exp(g, gm_scale(g, lv, 0.5f)), eps));
    gm_node *logits = gm_mlp_forward(g, &v->dec, z);
    gm_node *rec = gm_sum(g, gm_bce_with_logits(g, logits, v->x), GM_AXIS_ALL);
    gm_node *kl = gm_sum(g, gm_kl_normal_std(g, mu, lv), GM_AXIS_ALL);
    v->loss = gm_scale(g, gm_add(g, rec, kl), 1.0f / BATCH);
    if (gm_graph_compile(g, err)) return 1;
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    v->oe = gm_optim_create(v->enc_p, &oc, err);
    v->od = gm_optim_create(v->dec_p, &oc, err);
    return !v->oe || !v->od;
}

static void vae_step(vae *v) {
    gm_params_zero_grad(v->enc_p);
    gm_params_zero_grad(v->dec_p);
    gm_graph_forward(v->g);
    gm_graph_backward(v->g, v->loss, NULL);
    gm_optim_step(v->oe);
    gm_optim_step(v->od);
}

static void vae_free(vae *v) {
    gm_optim_free(v->oe);
    gm_optim_free(v->od);
    gm_graph_free(v->g);
    gm_params_free(v->enc_p);
    gm_params_free(v->dec_p);
}

/* C[m,n] (+)= op(A) op(B), row-major. */
static void gemm(bool ta, bool tb, int m, int n, int k, const float *a,
                 const float *b, float beta, float *c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, ta ? m : k,
                b, tb ? k : n, beta, c, n);
}

/* The step's products: 4 forward, 4 weight gradients, 3 input gradients
 * (none for the data). */
static void gemm_only_step(float **buf) {
    float *x = buf[0], *w1 = buf[1], *h1 = buf[2], *w2 = buf[3], *h2 = buf[4];
    float *w3 = buf[5], *h3 = buf[6], *w4 = buf[7], *h4 = buf[8];
    float *gw = buf[9], *gx = buf[10];
    gemm(false, true, BATCH, HIDDEN, IN, x, w1, 0, h1);
    gemm(false, true, BATCH, 2 * LATENT, HIDDEN, h1, w2, 0, h2);
    gemm(false, true, BATCH, HIDDEN, LATENT, h2, w3, 0, h3);
    gemm(false, true, BATCH, IN, HIDDEN, h3, w4, 0, h4);
    gemm(true, false, IN, HIDDEN, BATCH, h4, h3, 1, gw);          /* dW4 */
    gemm(false, false, BATCH, HIDDEN, IN, h4, w4, 0, gx);         /* dh3 */
    gemm(true, false, HIDDEN, LATENT, BATCH, gx, h2, 1, gw);      /* dW3 */
    gemm(false, false, BATCH, LATENT, HIDDEN, gx, w3, 0, gx);     /* dz */
    gemm(true, false, 2 * LATENT, HIDDEN, BATCH, h2, h1, 1, gw);  /* dW2 */
    gemm(false, false, BATCH, HIDDEN, 2 * LATENT, h2, w2, 0, gx); /* dh1 */
    gemm(true, false, HIDDEN, IN, BATCH, gx, x, 1, gw);           /* dW1 */
}

int main(int argc, char **argv) {
    int windows = argc > 1 ? atoi(argv[1]) : 7;
    int steps = argc > 2 ? atoi(argv[2]) : 40;
    if (windows < 1 || windows > 100 || steps < 1) {
        fprintf(stderr, "usage: bench_mlp_step [windows 1-100] [steps]\n");
        return 2;
    }
    gm_error err = {0};
    vae v = {0};
    if (vae_build(&v, &err)) {
        fprintf(stderr, "bench_mlp_step: %s\n", err.message);
        return 1;
    }
    gm_rng data = gm_rng_stream(1, "data");
    for (int i = 0; i < BATCH * IN; i++)
        gm_node_data(v.x)[i] = gm_rng_uniform(&data) < 0.3;

    size_t big = (size_t)IN * HIDDEN;
    float *buf[11];
    for (int i = 0; i < 11; i++) {
        buf[i] = calloc(big > (size_t)BATCH * IN ? big : (size_t)BATCH * IN,
                        sizeof(float));
        gm_rng_fill_uniform(&data, buf[i], (size_t)BATCH * LATENT, -0.1f, 0.1f);
    }

    double gm_rate[100], gemm_rate[100];
    for (int i = 0; i < 10; i++) vae_step(&v), gemm_only_step(buf);
    for (int w = 0; w < windows; w++) {
        /* Interleaved windows see the same machine load. */
        double t0 = now();
        for (int i = 0; i < steps; i++) vae_step(&v);
        double t1 = now();
        for (int i = 0; i < steps; i++) gemm_only_step(buf);
        double t2 = now();
        gm_rate[w] = steps / (t1 - t0);
        gemm_rate[w] = steps / (t2 - t1);
    }
    double r = median(gm_rate, windows), b = median(gemm_rate, windows);
    printf("VAE 784-400-20, batch %d, Adam (OpenBLAS %s threads)\n", BATCH,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS")
                                          : "default");
    printf("  gm step:        %8.1f steps/s (median of %d windows of %d)\n", r,
           windows, steps);
    printf("  GEMM-only bound: %7.1f steps/s\n", b);
    printf("  gm / bound:     %8.2f\n", r / b);
    printf("  final loss:     %8.3f\n", gm_node_scalar(v.loss));
    for (int i = 0; i < 11; i++) free(buf[i]);
    vae_free(&v);
    return 0;
}
