/* Training steps allocate nothing: forward, backward and the optimizer run
 * on buffers planned at compile time. The claim is gm's: OpenBLAS's
 * AVX-512 small-matrix kernels (SkylakeX, Cooperlake, gm's pick on such
 * CPUs) allocate a buffer on every sgemm call, which the counter tells
 * apart and the tests report; the last test runs the step tests again
 * under a preloaded sgemm that allocates, so that every machine meets
 * that behaviour, whichever kernel it runs. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_counter.h"
#include "gm/gm.h"
#include "shell_run.h"

Test(alloc, counter_sees_allocations) {
    alloc_counter_start();
    void *volatile p = malloc(64);
    alloc_counts n = alloc_counter_stop();
    free(p);
    cr_assert_geq(n.gm, 1u, "the counter must notice a malloc");
    cr_assert_eq(n.openblas, 0u, "a malloc outside sgemm is gm's");
}

/* Checks a step loop's counts: none of gm's; OpenBLAS's and oneDNN's
 * reported, and at least one of OpenBLAS's a step under the allocating
 * stand-in. */
static void expect_only_openblas_allocates(alloc_counts n, int steps) {
    cr_log_info("%d steps: gm made %zu allocations, OpenBLAS (%s) %zu, "
                "oneDNN %zu",
                steps, n.gm, gm_blas_core(), n.openblas, n.onednn);
    cr_assert_eq(n.gm, 0u, "gm made %zu allocations in %d steps", n.gm, steps);
    if (getenv("GM_TEST_ALLOCATING_SGEMM"))
        cr_assert_geq(n.openblas, (size_t)steps,
                      "the allocating sgemm's %zu allocations in %d steps "
                      "must count as OpenBLAS's",
                      n.openblas, steps);
}

/* A small VAE step: encoder, reparameterisation, decoder, ELBO, Adam
 * folded into backward (the encoder view by view, the decoder, which
 * clips, after backward). */
static void vae_steps(gm_precision precision) {
    gm_error err = {0};
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_params *enc_p = gm_params_create("encoder");
    gm_params *dec_p = gm_params_create("decoder");
    gm_net enc, dec;
    gm_net_spec es = {.hidden = {32}, .n_hidden = 1,
                      .activation = GM_ACT_RELU, .out = 8};
    gm_net_spec ds = {.hidden = {32}, .n_hidden = 1,
                      .activation = GM_ACT_RELU, .out = 16};
    cr_assert_eq(gm_net_init(&enc, enc_p, NULL, "enc", 16, &es, &init, &err), GM_OK);
    cr_assert_eq(gm_net_init(&dec, dec_p, NULL, "dec", 4, &ds, &init, &err), GM_OK);

    gm_graph *g = gm_graph_create("vae");
    gm_graph_set_precision(g, precision);
    gm_node *x = gm_input(g, "x", (int[]){32, 16}, 2);
    gm_node *h = gm_net_forward(g, &enc, x);
    gm_node *mu = gm_slice_cols(g, h, 0, 4), *lv = gm_slice_cols(g, h, 4, 4);
    gm_node *eps = gm_randn(g, "eps", (int[]){32, 4}, 2, &noise);
    gm_node *z = gm_add(g, mu, gm_mul(g, gm_exp(g, gm_scale(g, lv, 0.5f)), eps));
    gm_node *logits = gm_net_forward(g, &dec, z);
    gm_node *rec = gm_sum(g, gm_bce_with_logits(g, logits, x), GM_AXIS_ALL);
    gm_node *kl = gm_sum(g, gm_kl_normal_std(g, mu, lv), GM_AXIS_ALL);
    gm_node *loss = gm_node_set_role(gm_add(g, rec, kl), GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_optim *oe = gm_optim_create(enc_p, &oc, &err);
    oc.clip_norm = 10.0f;
    gm_optim *od = gm_optim_create(dec_p, &oc, &err);
    gm_optim *optims[2] = {oe, od};
    gm_rng data = gm_rng_stream(1, "data");
    float *xs = gm_node_data(x);
    size_t arena = gm_graph_arena_bytes(g);

    /* One warm-up step lets OpenBLAS set up its buffers. */
    for (int step = 0; step < 21; step++) {
        if (step == 1) alloc_counter_start();
        for (int i = 0; i < 32 * 16; i++) xs[i] = gm_rng_uniform(&data) < 0.5;
        gm_params_zero_grad(enc_p);
        gm_params_zero_grad(dec_p);
        gm_graph_forward(g);
        gm_optim_backward_step(optims, 2, g, loss, NULL);
    }
    expect_only_openblas_allocates(alloc_counter_stop(), 20);
    cr_assert_eq(gm_graph_arena_bytes(g), arena, "the arena never grows");
    cr_assert(isfinite(gm_node_scalar(loss)));
    gm_optim_free(oe);
    gm_optim_free(od);
    gm_graph_free(g);
    gm_params_free(enc_p);
    gm_params_free(dec_p);
}

Test(alloc, vae_training_steps_allocate_nothing) {
    vae_steps(GM_PRECISION_FP32);
}

/* A conv net step: convolutions (their column buffers are scratch planned
 * at compile), a transposed convolution, batch norm moving its running
 * statistics, Adam. */
static void conv_steps(gm_precision precision) {
    gm_error err = {0};
    gm_rng init = gm_rng_stream(2, "init");
    gm_params *p = gm_params_create("net");
    gm_params *stats = gm_params_create("net.stats");
    gm_net net;
    gm_net_spec s = {.out = 64, .n_layers = 7};
    s.layers[0] = (gm_layer_spec){
        .kind = GM_LAYER_RESHAPE, .shape = {1, 8, 8}, .ndim = 3};
    s.layers[1] = (gm_layer_spec){.kind = GM_LAYER_CONV2D,
                                  .out = 4,
                                  .kernel = 4,
                                  .stride = 2,
                                  .padding = 1};
    s.layers[2] = (gm_layer_spec){.kind = GM_LAYER_BATCH_NORM};
    s.layers[3] = (gm_layer_spec){.kind = GM_LAYER_LEAKY_RELU};
    s.layers[4] = (gm_layer_spec){.kind = GM_LAYER_CONV_TRANSPOSE2D,
                                  .out = 1,
                                  .kernel = 4,
                                  .stride = 2,
                                  .padding = 1};
    s.layers[5] = (gm_layer_spec){.kind = GM_LAYER_SIGMOID};
    s.layers[6] = (gm_layer_spec){.kind = GM_LAYER_FLATTEN};
    cr_assert_eq(gm_net_init(&net, p, stats, "net", 64, &s, &init, &err), GM_OK,
                 "%s", err.message);
    gm_graph *g = gm_graph_create("conv");
    gm_graph_set_precision(g, precision);
    gm_node *x = gm_input(g, "x", (int[]){16, 64}, 2);
    gm_node *y = gm_net_forward(g, &net, x);
    gm_node *loss = gm_node_set_role(
        gm_mean(g, gm_square(g, gm_sub(g, y, x)), GM_AXIS_ALL), GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_optim *o = gm_optim_create(p, &oc, &err);
    gm_rng data = gm_rng_stream(2, "data");
    float *xs = gm_node_data(x);
    size_t arena = gm_graph_arena_bytes(g);
    for (int step = 0; step < 21; step++) {
        if (step == 1) alloc_counter_start();
        for (int i = 0; i < 16 * 64; i++)
            xs[i] = gm_rng_uniform(&data);
        gm_params_zero_grad(p);
        gm_graph_forward(g);
        gm_optim_backward_step(&o, 1, g, loss, NULL);
    }
    expect_only_openblas_allocates(alloc_counter_stop(), 20);
    cr_assert_eq(gm_graph_arena_bytes(g), arena, "the arena never grows");
    cr_assert(isfinite(gm_node_scalar(loss)));
    cr_assert_neq(gm_params_view_data(stats, 0)[0], 0.0f,
                  "batch norm moved its running mean");
    gm_optim_free(o);
    gm_graph_free(g);
    gm_params_free(stats);
    gm_params_free(p);
}

Test(alloc, conv_training_steps_allocate_nothing) {
    conv_steps(GM_PRECISION_FP32);
}

/* The same steps with bfloat16 products: oneDNN's primitives, their
 * bfloat16 copies and scratchpads are made at compile, and a step only
 * runs them; oneDNN itself allocates each call's argument map (about 6
 * allocations a primitive run), which the counter reports as its own.
 * With one thread, as ctest runs the suite (OPENBLAS_NUM_THREADS=1, which
 * oneDNN's thread count follows): the counter knows only the calling
 * thread to be inside oneDNN, so another OpenMP thread's allocations
 * there would count as gm's. */
Test(alloc, vae_steps_in_bf16_allocate_only_inside_onednn) {
    if (gm_bf16_isa()) vae_steps(GM_PRECISION_BF16);
    else cr_assert_fail("this CPU has no bfloat16 products to check");
}

Test(alloc, conv_steps_in_bf16_allocate_only_inside_onednn) {
    if (gm_bf16_isa()) conv_steps(GM_PRECISION_BF16);
    else cr_assert_fail("this CPU has no bfloat16 products to check");
}

/* The step tests again, in a process where every sgemm allocates as the
 * small-matrix kernels do (tests/preload/fake_openblas.c). ASan wants its
 * runtime first among the libraries, and the preloaded one comes first.
 * BXFI_MAP would make the inner Criterion take itself for a worker. */
Test(alloc, steps_under_an_allocating_sgemm_allocate_nothing_of_gms) {
    char out[8192];
    int code = shell_run(
        out, sizeof out,
        "env -u BXFI_MAP LD_PRELOAD=%s GM_TEST_ALLOCATING_SGEMM=1 "
        "ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 "
        "%s/tests/test_alloc --jobs=1 --filter='alloc/*_allocate_nothing'",
        GM_FAKE_OPENBLAS, GM_BINARY_DIR);
    cr_assert_eq(code, 0, "under an allocating sgemm:\n%s", out);
    cr_assert(strstr(out, "Tested: 2 | Passing: 2"),
              "both step tests must run:\n%s", out);
}
