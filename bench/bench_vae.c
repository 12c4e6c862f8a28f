/* One training step of the pytorch/examples VAE at Fashion-MNIST size:
 * encoder 784 -> 400 -> 2x20, decoder 20 -> 400 -> 784, ReLU, Bernoulli
 * likelihood from logits, Adam lr 1e-3, batch 128, on a fixed batch of
 * random binary pixels. Beside it, the GEMM-only bound: the same step's
 * cblas_sgemm calls alone (4 forward, 4 weight gradients, 3 input
 * gradients: none for the data).
 *
 * usage: bench_vae both [windows] [steps] | gm [steps] | gemm [steps]
 *        bench_vae precision [windows] [steps]   float32 against bfloat16 */
#include "bench_util.h"
#include "gm/gm.h"

enum { BATCH = 128, IN = 784, HIDDEN = 400, LATENT = 20 };

typedef struct vae {
    gm_params *enc_p, *dec_p;
    gm_net enc, dec;
    gm_graph *g;
    gm_node *x, *loss;
    gm_optim *enc_opt, *dec_opt;
} vae;

static int vae_build(vae *v, gm_precision precision, gm_error *err) {
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_rng data = gm_rng_stream(1, "data");
    v->enc_p = gm_params_create("encoder");
    v->dec_p = gm_params_create("decoder");
    gm_net_spec es = {.hidden = {HIDDEN},
                      .n_hidden = 1,
                      .activation = GM_ACT_RELU,
                      .out = 2 * LATENT};
    gm_net_spec ds = {.hidden = {HIDDEN},
                      .n_hidden = 1,
                      .activation = GM_ACT_RELU,
                      .out = IN};
    if (gm_net_init(&v->enc, v->enc_p, NULL, "enc", IN, &es, &init, err) ||
        gm_net_init(&v->dec, v->dec_p, NULL, "dec", LATENT, &ds, &init, err))
        return 1;
    gm_graph *g = v->g = gm_graph_create("vae");
    gm_graph_set_precision(g, precision);
    v->x = gm_input(g, "x", (int[]){BATCH, IN}, 2);
    gm_node *h = gm_net_forward(g, &v->enc, v->x);
    gm_node *mu = gm_slice_cols(g, h, 0, LATENT);
    gm_node *lv = gm_slice_cols(g, h, LATENT, LATENT);
    gm_node *eps = gm_randn(g, "eps", (int[]){BATCH, LATENT}, 2, &noise);
    gm_node *z =
        gm_add(g, mu, gm_mul(g, gm_exp(g, gm_scale(g, lv, 0.5f)), eps));
    gm_node *logits = gm_net_forward(g, &v->dec, z);
    gm_node *rec = gm_sum(g, gm_bce_with_logits(g, logits, v->x), GM_AXIS_ALL);
    gm_node *kl = gm_sum(g, gm_kl_normal_std(g, mu, lv), GM_AXIS_ALL);
    v->loss = gm_scale(g, gm_add(g, rec, kl), 1.0f / BATCH);
    if (gm_graph_compile(g, err)) return 1;
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    v->enc_opt = gm_optim_create(v->enc_p, &oc, err);
    v->dec_opt = gm_optim_create(v->dec_p, &oc, err);
    if (!v->enc_opt || !v->dec_opt) return 1;
    for (int i = 0; i < BATCH * IN; i++)
        gm_node_data(v->x)[i] = gm_rng_uniform(&data) < 0.3;
    return 0;
}

static void vae_step(void *state) {
    vae *v = state;
    gm_params_zero_grad(v->enc_p);
    gm_params_zero_grad(v->dec_p);
    gm_graph_forward(v->g);
    gm_optim_backward_step((gm_optim *[]){v->enc_opt, v->dec_opt}, 2, v->g,
                           v->loss, NULL);
}

static void vae_free(vae *v) {
    gm_optim_free(v->enc_opt);
    gm_optim_free(v->dec_opt);
    gm_graph_free(v->g);
    gm_params_free(v->enc_p);
    gm_params_free(v->dec_p);
}

/* The products of one step, as gm's matmul makes them. The encoder's
 * output h [128, 40] and its gradient stand for mu, logvar and the
 * element-wise ops between encoder and decoder. */
typedef struct vae_gemm {
    bench_mlp enc, dec;
    float *x, *z, *dz;
} vae_gemm;

static void vae_gemm_init(vae_gemm *s) {
    bench_mlp_init(&s->enc, (int[]){IN, HIDDEN, 2 * LATENT}, 2, BATCH);
    bench_mlp_init(&s->dec, (int[]){LATENT, HIDDEN, IN}, 2, BATCH);
    s->x = bench_alloc((size_t)BATCH * IN);
    s->z = bench_alloc((size_t)BATCH * LATENT);
    s->dz = bench_alloc((size_t)BATCH * LATENT);
}

static void vae_gemm_free(vae_gemm *s) {
    bench_mlp_free(&s->enc);
    bench_mlp_free(&s->dec);
    free(s->x);
    free(s->z);
    free(s->dz);
}

static void vae_gemm_step(void *state) {
    vae_gemm *s = state;
    bench_mlp_forward(&s->enc, s->x);
    bench_mlp_forward(&s->dec, s->z);
    bench_mlp_backward(&s->dec, s->dz, false);
    bench_mlp_backward(&s->enc, NULL, false);
}

int main(int argc, char **argv) {
    bench_args a;
    if (!bench_parse(argc, argv, &a)) return 2;
    vae v = {0}, v16 = {0};
    vae_gemm s = {0};
    gm_error err = {0};
    bool precision = a.mode == BENCH_PRECISION;
    if ((a.mode != BENCH_GEMM && vae_build(&v, GM_PRECISION_FP32, &err)) ||
        (precision && vae_build(&v16, GM_PRECISION_BF16, &err))) {
        fprintf(stderr, "bench_vae: %s\n", err.message);
        vae_free(&v);
        vae_free(&v16);
        return 1;
    }
    if (a.mode != BENCH_GM && !precision) vae_gemm_init(&s);
    bench_step gm = {vae_step, &v}, gemm = {vae_gemm_step, &s};
    bench_step gm16 = {vae_step, &v16};
    if (precision) bench_precisions("vae", &gm, &gm16, &a, gm_bf16_isa());
    if (a.mode == BENCH_BOTH) bench_interleaved("vae", &gm, &gemm, &a);
    if (a.mode == BENCH_GM) bench_alone("vae", "gm", &gm, &a);
    if (a.mode == BENCH_GEMM) bench_alone("vae", "gemm", &gemm, &a);
    if (a.mode != BENCH_GEMM) {
        fprintf(stderr, "vae: final loss %.3f\n", gm_node_scalar(v.loss));
        vae_free(&v);
    }
    if (precision) vae_free(&v16);
    if (a.mode != BENCH_GM && !precision) vae_gemm_free(&s);
    return 0;
}
