/* The DCGAN training step of experiments/fashion_dcgan.yaml (dcgan_net.h)
 * against bench/torch_dcgan.py, and the DCGAN's four convolutions alone.
 *
 * usage: bench_dcgan both [windows] [steps] | gm [steps] | gemm [steps]
 *        bench_dcgan precision [windows] [steps]  float32 against bfloat16
 *        bench_dcgan profile [steps] [fp32|bf16]  the step's thread CPU
 *                                     time per op
 *        bench_dcgan ops [reps] [fp32|bf16]  each convolution's forward and
 *                                     backward, median ms (CPU and wall)
 *
 * The GEMM-only bound (both, gemm) is the step's own sgemm calls, recorded
 * from one step and replayed (sgemm_replay.h). Rates are reported in wall
 * and in thread CPU time; on a shared machine quote the CPU-time ones. */
#include "dcgan_net.h"
#include "op_profile.h"
#include "sgemm_replay.h"

static int profile(dcgan *m, int steps) {
    op_profile p = {0};
    for (int i = 0; i < BENCH_WARMUP; i++)
        dcgan_step(m);
    for (int i = 0; i < steps; i++) {
        dcgan_next_batch(m);
        profile_phase(&p, m->disc_p, m->phases.dg, m->phases.d_loss,
                      m->phases.d_opt);
        profile_phase(&p, m->gen_p, m->phases.gg, m->phases.g_loss,
                      m->phases.g_opt);
    }
    profile_print(&p, "dcgan", steps);
    return 0;
}

/* ---- one convolution alone ------------------------------------------ */

/* A loss whose backward hands its input a fixed gradient (the node's
 * user pointer), as PyTorch's y.backward(dy). */
static gm_status seed_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    (void)n, (void)err;
    gm_shape_make(out, (int[]){1}, 1);
    return GM_OK;
}

static void seed_forward(gm_node *n) { gm_node_data(n)[0] = 0.0f; }

static void seed_backward(gm_node *n) {
    gm_node *y = gm_node_input(n, 0);
    const float *dy = gm_node_user(n);
    float *g = gm_node_grad(y);
    size_t len = gm_node_numel(y);
    if (gm_node_grad_fresh(y))
        memcpy(g, dy, len * sizeof(float));
    else
        for (size_t i = 0; i < len; i++)
            g[i] += dy[i];
}

static const gm_op_def seed_op = {.name = "seed",
                                  .arity = 1,
                                  .shape = seed_shape,
                                  .forward = seed_forward,
                                  .backward = seed_backward,
                                  .flags = GM_OP_OVERWRITES};

typedef struct conv_case {
    const char *name;
    bool transposed;
    int c_in, side, c_out; /* x [64, c_in, side, side] */
} conv_case;

/* The DCGAN's convolutions: kernel 4, stride 2, padding 1, batch 64. */
static const conv_case CONV_CASES[] = {
    {"G.conv_transpose2d:128x7x7->64x14x14", true, 128, 7, 64},
    {"G.conv_transpose2d:64x14x14->1x28x28", true, 64, 14, 1},
    {"D.conv2d:1x28x28->64x14x14", false, 1, 28, 64},
    {"D.conv2d:64x14x14->128x7x7", false, 64, 14, 128},
};

static int median_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_ms(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, median_cmp);
    return 1e3 * (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

/* Forward, then backward into x, the weight and the bias, `reps` times
 * after a warm-up; one line of medians. */
static int conv_alone(const conv_case *cc, int reps, gm_precision precision) {
    gm_error err = {0};
    int side_out = cc->transposed ? 2 * cc->side : cc->side / 2;
    int xs[4] = {DCGAN_BATCH, cc->c_in, cc->side, cc->side};
    int ws[4] = {cc->transposed ? cc->c_in : cc->c_out,
                 cc->transposed ? cc->c_out : cc->c_in, 4, 4};
    size_t dy_len = (size_t)DCGAN_BATCH * cc->c_out * side_out * side_out;
    gm_params *p = gm_params_create("conv");
    int vx = gm_params_add(p, "x", xs, 4, &err);
    int vw = gm_params_add(p, "weight", ws, 4, &err);
    int vb = gm_params_add(p, "bias", (int[]){cc->c_out}, 1, &err);
    if (vx < 0 || vw < 0 || vb < 0) return 1;
    float *v = gm_params_data(p);
    for (size_t i = 0; i < gm_params_numel(p); i++)
        v[i] = 0.1f * (float)((i * 2654435761u) % 1000) / 1000.0f - 0.05f;
    float *dy = bench_alloc(dy_len);
    gm_graph *g = gm_graph_create("conv");
    gm_graph_set_precision(g, precision);
    gm_node *x = gm_param(g, p, vx), *w = gm_param(g, p, vw);
    gm_node *b = gm_param(g, p, vb);
    gm_node *y = cc->transposed ? gm_conv_transpose2d(g, x, w, b, 2, 1)
                                : gm_conv2d(g, x, w, b, 2, 1);
    gm_node *loss = gm_custom(g, &seed_op, &y, 1, NULL, 0);
    if (loss) gm_node_set_user(loss, dy);
    int status = !loss || gm_graph_compile(g, &err) != GM_OK;
    double fwd_cpu[BENCH_MAX_WINDOWS], bwd_cpu[BENCH_MAX_WINDOWS];
    double fwd_wall[BENCH_MAX_WINDOWS], bwd_wall[BENCH_MAX_WINDOWS];
    for (int r = -3; !status && r < reps; r++) {
        gm_params_zero_grad(p);
        double t0 = bench_now(), c0 = bench_cpu_now();
        gm_graph_forward(g);
        double t1 = bench_now(), c1 = bench_cpu_now();
        status = gm_graph_backward(g, loss, &err) != GM_OK;
        double t2 = bench_now(), c2 = bench_cpu_now();
        if (r < 0) continue; /* warm-up */
        fwd_cpu[r] = c1 - c0, bwd_cpu[r] = c2 - c1;
        fwd_wall[r] = t1 - t0, bwd_wall[r] = t2 - t1;
    }
    if (status)
        fprintf(stderr, "bench_dcgan: %s: %s\n", cc->name, err.message);
    else
        printf("dcgan_op op=%s precision=%s fwd_cpu_ms=%.3f bwd_cpu_ms=%.3f "
               "fwd_wall_ms=%.3f bwd_wall_ms=%.3f reps=%d blas_core=%s\n",
               cc->name, gm_precision_name(precision),
               median_ms(fwd_cpu, reps), median_ms(bwd_cpu, reps),
               median_ms(fwd_wall, reps), median_ms(bwd_wall, reps), reps,
               openblas_get_corename());
    gm_graph_free(g);
    gm_params_free(p);
    free(dy);
    return status;
}

static int conv_ops(int reps, gm_precision precision) {
    if (reps < 1 || reps > BENCH_MAX_WINDOWS) {
        fprintf(stderr, "bench_dcgan ops: reps 1-%d\n", BENCH_MAX_WINDOWS);
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < sizeof CONV_CASES / sizeof CONV_CASES[0]; i++)
        status |= conv_alone(&CONV_CASES[i], reps, precision);
    return status;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ops") == 0)
        return conv_ops(argc > 2 ? atoi(argv[2]) : 21,
                        argc > 3 && strcmp(argv[3], "bf16") == 0
                            ? GM_PRECISION_BF16
                            : GM_PRECISION_FP32);
    dcgan m = {0}, m16 = {0};
    gm_error err = {0};
    /* a bfloat16 model too: mode precision, or profile ... bf16 */
    bool precision = argc > 1 && (strcmp(argv[1], "precision") == 0 ||
                                  (argc > 3 && strcmp(argv[3], "bf16") == 0));
    if (dcgan_build(&m, GM_PRECISION_FP32, &err) ||
        (precision && dcgan_build(&m16, GM_PRECISION_BF16, &err))) {
        fprintf(stderr, "bench_dcgan: %s\n", err.message);
        dcgan_free(&m);
        dcgan_free(&m16);
        return 1;
    }
    bench_step gm16 = {dcgan_step, &m16};
    int status = 0;
    bench_step gm = {dcgan_step, &m}, gemm = {sgemm_replay_step, NULL};
    bench_args a;
    if (argc > 1 && strcmp(argv[1], "profile") == 0) {
        status = profile(precision ? &m16 : &m, argc > 2 ? atoi(argv[2]) : 50);
    } else if (!bench_parse(argc, argv, &a)) {
        status = 2;
    } else if (a.mode == BENCH_PRECISION) {
        bench_precisions("dcgan", &gm, &gm16, &a, gm_bf16_isa());
    } else if (a.mode != BENCH_GM && !sgemm_replay_record(&gm)) {
        fprintf(stderr, "bench_dcgan: could not record the step's sgemm "
                        "calls\n");
        status = 1;
    } else {
        if (a.mode != BENCH_GM)
            fprintf(stderr,
                    "dcgan: %d sgemm calls, %.0f MFLOP, %d buffers a step\n",
                    replay.n_calls, replay.flops / 1e6, replay.n_buffers);
        if (a.mode == BENCH_BOTH) bench_interleaved("dcgan", &gm, &gemm, &a);
        if (a.mode == BENCH_GM) bench_alone("dcgan", "gm", &gm, &a);
        if (a.mode == BENCH_GEMM) bench_alone("dcgan", "gemm", &gemm, &a);
    }
    if (status == 0)
        fprintf(stderr, "dcgan: final losses D %.4f G %.4f\n",
                gm_node_scalar(m.phases.d_loss),
                gm_node_scalar(m.phases.g_loss));
    sgemm_replay_free();
    dcgan_free(&m);
    if (precision) dcgan_free(&m16);
    return status;
}
