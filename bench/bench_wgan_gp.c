/* The ring WGAN-GP step (loss wasserstein, penalty wgan_gp, weight 10, as
 * models/gan_parts.c and models/gradient_penalty.c build it) against the
 * plain ring GAN step of bench_gan.c, and against bench/torch_wgan_gp.py:
 * the networks, batch, data and Adam (lr 1e-4, beta1 0.5) of the ring GAN
 * (ring_gan.h); one critic step (generator frozen) then one generator
 * step (critic frozen), fresh noise in each phase. The critic's loss is
 * E_fake[D] - E_real[D] + 10 E[(||grad D(x_hat)|| - 1)^2] on x_hat =
 * x_fake + eps (x_real - x_fake), eps ~ U[0, 1] per row; the gradient is
 * built as nodes by gm_grad and the ordinary backward trains D through it.
 * The trainer's metric nodes are left out, as in bench_gan.c.
 *
 * usage: bench_wgan_gp both [windows] [steps]  WGAN-GP and plain GAN
 *            windows interleaved: ms per step (wall and thread CPU time)
 *            and the ratio of the two, medians over the windows
 *        bench_wgan_gp gm [steps]  WGAN-GP alone: rates, peak RSS, growth
 *        bench_wgan_gp profile [steps]  the WGAN-GP step's thread CPU
 *            time per op */
#include "bench_util.h"
#include "gan_phases.h"
#include "gm/gm.h"
#include "op_profile.h"
#include "ring_gan.h"

static gm_node *mean(gm_graph *g, gm_node *x) {
    return gm_mean(g, x, GM_AXIS_ALL);
}

/* E[(||grad D(x_hat)||_2 - 1)^2], as models/gradient_penalty.c's wgan_gp. */
static gm_node *wgan_gp_penalty(gm_graph *g, const gm_net *critic,
                                gm_node *real, gm_node *fake, gm_rng *noise) {
    gm_node *eps = gm_rand_uniform(g, "penalty_eps", (int[]){RING_BATCH, 1}, 2,
                                   noise);
    gm_node *x_hat =
        gm_add(g, fake, gm_mul_bcast(g, eps, gm_sub(g, real, fake)));
    gm_node *score = gm_sum(g, gm_net_forward(g, critic, x_hat), GM_AXIS_ALL);
    gm_node *dx = NULL;
    gm_error err = {0};
    if (gm_grad(g, score, &x_hat, 1, &dx, &err) != GM_OK) return NULL;
    gm_node *sq = gm_sum(g, gm_square(g, dx), GM_AXIS_PER_ROW);
    gm_node *norm = gm_sqrt(g, gm_add_scalar(g, sq, 1e-12f));
    return mean(g, gm_square(g, gm_add_scalar(g, norm, -1.0f)));
}

/* Both phases of the WGAN-GP into p (gan_phases.h's layout). */
static int wgan_gp_phases_build(gan_phases *p, const ring_nets *n,
                                gm_rng *noise, gm_error *err) {
    int batch = RING_BATCH, dim = RING_DIM, latent = RING_LATENT;
    gm_graph *g = p->dg = gm_graph_create("critic");
    gm_graph_freeze(g, n->gen_p);
    p->x = gm_input(g, "x", (int[]){batch, dim}, 2);
    gm_node *z = gm_randn(g, "z", (int[]){batch, latent}, 2, noise);
    gm_node *fake = gm_net_forward(g, &n->gen, z);
    gm_node *real_score = gm_net_forward(g, &n->disc, p->x);
    gm_node *fake_score = gm_net_forward(g, &n->disc, fake);
    gm_node *loss = gm_add(g, gm_neg(g, mean(g, real_score)),
                           mean(g, fake_score)); /* wasserstein */
    gm_node *penalty = wgan_gp_penalty(g, &n->disc, p->x, fake, noise);
    p->d_loss = gm_add(g, loss, gm_scale(g, penalty, 10.0f));
    if (gm_graph_compile(g, err)) return 1;

    g = p->gg = gm_graph_create("generator");
    gm_graph_freeze(g, n->disc_p);
    z = gm_randn(g, "z", (int[]){batch, latent}, 2, noise);
    gm_node *score = gm_net_forward(g, &n->disc, gm_net_forward(g, &n->gen, z));
    p->g_loss = gm_neg(g, mean(g, score));
    if (gm_graph_compile(g, err)) return 1;

    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    oc.lr = 1e-4f;
    oc.beta1 = 0.5f;
    p->d_opt = gm_optim_create(n->disc_p, &oc, err);
    p->g_opt = gm_optim_create(n->gen_p, &oc, err);
    return !p->d_opt || !p->g_opt;
}

/* One model: its networks, phases and real data. */
typedef struct ring_model {
    ring_nets nets;
    gan_phases phases;
    float *data;
    long step;
} ring_model;

/* The WGAN-GP, or with plain true the GAN of bench_gan.c, from the same
 * seeds. */
static int ring_model_build(ring_model *m, bool plain, gm_error *err) {
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_rng data = gm_rng_stream(1, "data");
    ring_nets *n = &m->nets;
    if (ring_nets_init(n, &init, err)) return 1;
    m->data = ring_data(&data);
    if (plain)
        return gan_phases_build(&m->phases, &n->gen, n->gen_p, &n->disc,
                                n->disc_p, RING_BATCH, RING_LATENT, RING_DIM,
                                1e-4f, &noise, GM_PRECISION_FP32, err);
    return wgan_gp_phases_build(&m->phases, n, &noise, err);
}

static void ring_model_next_batch(ring_model *m) {
    memcpy(gm_node_data(m->phases.x), ring_batch(m->data, m->step++),
           sizeof(float) * RING_BATCH * RING_DIM);
}

static void ring_model_step(void *state) {
    ring_model *m = state;
    ring_model_next_batch(m);
    gan_phases_step(&m->phases, m->nets.gen_p, m->nets.disc_p);
}

static void ring_model_free(ring_model *m) {
    gan_phases_free(&m->phases);
    ring_nets_free(&m->nets);
    free(m->data);
}

/* Mode both: after a warm-up, `windows` pairs of windows, WGAN-GP then
 * GAN; medians of ms per step and of the per-window ratio. */
static void interleaved(const bench_step *wgan, const bench_step *gan,
                        const bench_args *a) {
    double w_ms[BENCH_MAX_WINDOWS], g_ms[BENCH_MAX_WINDOWS];
    double w_cpu[BENCH_MAX_WINDOWS], g_cpu[BENCH_MAX_WINDOWS];
    double ratio[BENCH_MAX_WINDOWS], ratio_cpu[BENCH_MAX_WINDOWS];
    bench_run(wgan, BENCH_WARMUP);
    bench_run(gan, BENCH_WARMUP);
    for (int w = 0; w < a->windows; w++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        bench_run(wgan, a->steps);
        double t1 = bench_now(), c1 = bench_cpu_now();
        bench_run(gan, a->steps);
        double t2 = bench_now(), c2 = bench_cpu_now();
        w_ms[w] = 1e3 * (t1 - t0) / a->steps;
        g_ms[w] = 1e3 * (t2 - t1) / a->steps;
        w_cpu[w] = 1e3 * (c1 - c0) / a->steps;
        g_cpu[w] = 1e3 * (c2 - c1) / a->steps;
        ratio[w] = w_ms[w] / g_ms[w];
        ratio_cpu[w] = w_cpu[w] / g_cpu[w];
    }
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    int n = a->windows;
    printf("wgan_gp mode=both wgan_gp_ms=%.3f gan_ms=%.3f "
           "wgan_gp_over_gan=%.3f wgan_gp_cpu_ms=%.3f gan_cpu_ms=%.3f "
           "wgan_gp_over_gan_cpu=%.3f windows=%d steps=%d blas_core=%s "
           "blas_threads=%s\n",
           bench_median(w_ms, n), bench_median(g_ms, n),
           bench_median(ratio, n), bench_median(w_cpu, n),
           bench_median(g_cpu, n), bench_median(ratio_cpu, n), n, a->steps,
           openblas_get_corename(), threads ? threads : "default");
}

static void profile(ring_model *m, int steps) {
    op_profile p = {0};
    bench_run(&(bench_step){ring_model_step, m}, BENCH_WARMUP);
    for (int i = 0; i < steps; i++) {
        ring_model_next_batch(m);
        profile_phase(&p, m->nets.disc_p, m->phases.dg, m->phases.d_loss,
                      m->phases.d_opt);
        profile_phase(&p, m->nets.gen_p, m->phases.gg, m->phases.g_loss,
                      m->phases.g_opt);
    }
    profile_print(&p, "wgan_gp", steps);
}

int main(int argc, char **argv) {
    bool profiling = argc > 1 && strcmp(argv[1], "profile") == 0;
    bench_args a;
    if (!profiling && (!bench_parse(argc, argv, &a) || a.mode == BENCH_GEMM)) {
        if (a.mode == BENCH_GEMM)
            fprintf(stderr, "bench_wgan_gp: no gemm mode; both, gm or "
                            "profile\n");
        return 2;
    }
    ring_model wgan = {0}, gan = {0};
    gm_error err = {0};
    bool need_gan = !profiling && a.mode == BENCH_BOTH;
    if (ring_model_build(&wgan, false, &err) ||
        (need_gan && ring_model_build(&gan, true, &err))) {
        fprintf(stderr, "bench_wgan_gp: %s\n", err.message);
        ring_model_free(&wgan);
        ring_model_free(&gan);
        return 1;
    }
    bench_step w = {ring_model_step, &wgan}, g = {ring_model_step, &gan};
    if (profiling)
        profile(&wgan, argc > 2 ? atoi(argv[2]) : 100);
    else if (a.mode == BENCH_BOTH)
        interleaved(&w, &g, &a);
    else
        bench_alone("wgan_gp", "gm", &w, &a);
    fprintf(stderr, "wgan_gp: final losses D %.4f G %.4f\n",
            gm_node_scalar(wgan.phases.d_loss),
            gm_node_scalar(wgan.phases.g_loss));
    ring_model_free(&wgan);
    ring_model_free(&gan);
    return 0;
}
