/* The DCGAN training step of experiments/fashion_dcgan.yaml (dcgan_net.h)
 * against bench/torch_dcgan.py.
 *
 * usage: bench_dcgan both [windows] [steps] | gm [steps] | gemm [steps]
 *        bench_dcgan profile [steps]  the step's thread CPU time per op */
#include "dcgan_net.h"
#include "op_profile.h"

static int profile(dcgan *m, int steps) {
    op_profile p = {0};
    for (int i = 0; i < BENCH_WARMUP; i++)
        dcgan_step(m);
    for (int i = 0; i < steps; i++) {
        dcgan_next_batch(m);
        profile_phase(&p, m->disc_p, m->dg, m->d_loss, m->d_opt);
        profile_phase(&p, m->gen_p, m->gg, m->g_loss, m->g_opt);
    }
    profile_print(&p, "dcgan", steps);
    return 0;
}

int main(int argc, char **argv) {
    dcgan m = {0};
    gm_error err = {0};
    if (dcgan_build(&m, &err)) {
        fprintf(stderr, "bench_dcgan: %s\n", err.message);
        dcgan_free(&m);
        return 1;
    }
    int status = 0;
    if (argc > 1 && strcmp(argv[1], "profile") == 0) {
        status = profile(&m, argc > 2 ? atoi(argv[2]) : 50);
    } else {
        bench_args a;
        if (!bench_parse(argc, argv, &a)) {
            dcgan_free(&m);
            return 2;
        }
        bench_step gm = {dcgan_step, &m};
        bench_alone("dcgan", "gm", &gm, &a);
    }
    fprintf(stderr, "dcgan: final losses D %.4f G %.4f\n",
            gm_node_scalar(m.d_loss), gm_node_scalar(m.g_loss));
    dcgan_free(&m);
    return status;
}
