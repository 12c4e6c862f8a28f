/* One iteration of the ring GAN of the unrolled-GAN and VEEGAN papers, as
 * the flagship experiment trains it (models/gan_parts.c): generator
 * z(256) -> 128 -> 128 -> 2, discriminator 2 -> 128 -> 128 -> 1, ReLU,
 * non-saturating loss from the logits, Adam lr 1e-4 beta1 0.5, batch 512,
 * one discriminator step (generator frozen) then one generator step
 * (discriminator frozen), fresh N(0, 1) noise in each phase, real data from
 * a pre-drawn buffer of ring-of-8 samples. Beside it, the GEMM-only bound:
 * the same iteration's cblas_sgemm calls alone. The trainer's four metric
 * nodes (d_real, ...) are left out, as the PyTorch reference has none.
 *
 * usage: bench_gan both [windows] [steps] | gm [steps] | gemm [steps]
 *        bench_gan precision [windows] [steps]   float32 against bfloat16 */
#include "bench_util.h"
#include "gan_phases.h"
#include "gm/gm.h"
#include "ring_gan.h"

enum {
    BATCH = RING_BATCH,
    LATENT = RING_LATENT,
    HIDDEN = RING_HIDDEN,
    DIM = RING_DIM
};

typedef struct gan {
    ring_nets nets;
    gan_phases phases;
    float *data; /* ring_data */
    long step;
} gan;

static int gan_build(gan *m, gm_precision precision, gm_error *err) {
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_rng data = gm_rng_stream(1, "data");
    ring_nets *n = &m->nets;
    if (ring_nets_init(n, &init, err) ||
        gan_phases_build(&m->phases, &n->gen, n->gen_p, &n->disc, n->disc_p,
                         BATCH, LATENT, DIM, 1e-4f, &noise, precision, err))
        return 1;
    m->data = ring_data(&data);
    return 0;
}

static void gan_step(void *state) {
    gan *m = state;
    memcpy(gm_node_data(m->phases.x), ring_batch(m->data, m->step++),
           sizeof(float) * BATCH * DIM);
    gan_phases_step(&m->phases, m->nets.gen_p, m->nets.disc_p);
}

static void gan_free(gan *m) {
    gan_phases_free(&m->phases);
    ring_nets_free(&m->nets);
    free(m->data);
}

/* The products of one iteration, as gm's matmul makes them. */
typedef struct gan_gemm {
    bench_mlp gen, disc_real, disc_fake; /* disc_* share the weights */
    float *z, *x;
} gan_gemm;

static void gan_gemm_init(gan_gemm *s) {
    bench_mlp_init(&s->gen, (int[]){LATENT, HIDDEN, HIDDEN, DIM}, 3, BATCH);
    bench_mlp_init(&s->disc_real, (int[]){DIM, HIDDEN, HIDDEN, 1}, 3, BATCH);
    s->disc_fake = s->disc_real;
    for (int i = 1; i <= 3; i++) { /* own activations, shared layers */
        int cols = s->disc_real.layer[i - 1].out;
        s->disc_fake.act[i] = bench_alloc((size_t)BATCH * cols);
        s->disc_fake.grad[i] = bench_alloc((size_t)BATCH * cols);
    }
    s->z = bench_alloc((size_t)BATCH * LATENT);
    s->x = bench_alloc((size_t)BATCH * DIM);
}

static void gan_gemm_free(gan_gemm *s) {
    for (int i = 1; i <= 3; i++) {
        free(s->disc_fake.act[i]);
        free(s->disc_fake.grad[i]);
    }
    bench_mlp_free(&s->gen);
    bench_mlp_free(&s->disc_real);
    free(s->z);
    free(s->x);
}

static void gan_gemm_step(void *state) {
    gan_gemm *s = state;
    /* discriminator phase: G(z) frozen, D on real and fake */
    bench_mlp_forward(&s->gen, s->z);
    bench_mlp_forward(&s->disc_real, s->x);
    bench_mlp_forward(&s->disc_fake, s->gen.act[3]);
    bench_mlp_backward(&s->disc_fake, NULL, false);
    bench_mlp_backward(&s->disc_real, NULL, false);
    /* generator phase: D frozen, gradients through it into G */
    bench_mlp_forward(&s->gen, s->z);
    bench_mlp_forward(&s->disc_fake, s->gen.act[3]);
    bench_mlp_backward(&s->disc_fake, s->gen.grad[3], true);
    bench_mlp_backward(&s->gen, NULL, false);
}

int main(int argc, char **argv) {
    bench_args a;
    if (!bench_parse(argc, argv, &a)) return 2;
    gan m = {0}, m16 = {0};
    gan_gemm s = {0};
    gm_error err = {0};
    bool precision = a.mode == BENCH_PRECISION;
    if ((a.mode != BENCH_GEMM && gan_build(&m, GM_PRECISION_FP32, &err)) ||
        (precision && gan_build(&m16, GM_PRECISION_BF16, &err))) {
        fprintf(stderr, "bench_gan: %s\n", err.message);
        gan_free(&m);
        gan_free(&m16);
        return 1;
    }
    if (a.mode != BENCH_GM && !precision) gan_gemm_init(&s);
    bench_step gm = {gan_step, &m}, gemm = {gan_gemm_step, &s};
    bench_step gm16 = {gan_step, &m16};
    if (precision) bench_precisions("gan", &gm, &gm16, &a, gm_bf16_isa());
    if (a.mode == BENCH_BOTH) bench_interleaved("gan", &gm, &gemm, &a);
    if (a.mode == BENCH_GM) bench_alone("gan", "gm", &gm, &a);
    if (a.mode == BENCH_GEMM) bench_alone("gan", "gemm", &gemm, &a);
    if (a.mode != BENCH_GEMM)
        fprintf(stderr, "gan: final losses D %.4f G %.4f\n",
                gm_node_scalar(m.phases.d_loss),
                gm_node_scalar(m.phases.g_loss));
    if (a.mode != BENCH_GEMM) gan_free(&m);
    if (precision) gan_free(&m16);
    if (a.mode != BENCH_GM && !precision) gan_gemm_free(&s);
    return 0;
}
