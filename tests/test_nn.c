/* Modules: PyTorch's Linear initialisation, MLP wiring, frozen copies, and
 * an MLP that learns a regression. */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "gm/gm.h"

Test(nn, linear_init_is_uniform_in_pytorch_bound) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(1, "init");
    gm_linear l;
    cr_assert_eq(gm_linear_init(&l, p, "fc", 400, 300, &init, NULL), GM_OK);
    const float *w = gm_params_view_data(p, l.weight);
    float bound = 1.0f / sqrtf(400.0f), lo = 1, hi = -1;
    double mean = 0;
    for (int i = 0; i < 400 * 300; i++) {
        cr_assert_leq(fabsf(w[i]), bound);
        lo = fminf(lo, w[i]);
        hi = fmaxf(hi, w[i]);
        mean += w[i];
    }
    mean /= 400 * 300;
    cr_assert_lt(lo, -0.99f * bound);
    cr_assert_gt(hi, 0.99f * bound);
    cr_assert_float_eq(mean, 0.0, 0.01 * bound);
    cr_assert_eq(gm_params_view(p, l.weight)->shape.dim[0], 300);
    cr_assert_eq(gm_params_view(p, l.weight)->shape.dim[1], 400);
    cr_assert_str_eq(gm_params_view(p, l.bias)->name, "fc.bias");
    gm_params_free(p);
}

Test(nn, mlp_has_the_layers_it_was_asked_for) {
    gm_params *p = gm_params_create("encoder");
    gm_rng init = gm_rng_stream(1, "init");
    gm_mlp m;
    gm_mlp_spec s = {.hidden = {400}, .n_hidden = 1,
                     .activation = GM_ACT_RELU, .out = 40};
    cr_assert_eq(gm_mlp_init(&m, p, "enc", 784, &s, &init, NULL), GM_OK);
    cr_assert_eq(m.n_layers, 2);
    cr_assert_eq(gm_params_numel(p), 784u * 400 + 400 + 400 * 40 + 40);
    cr_assert_geq(gm_params_find(p, "enc.0.weight"), 0);
    cr_assert_geq(gm_params_find(p, "enc.1.bias"), 0);
    gm_params_free(p);
}

Test(nn, too_many_layers_is_an_error) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(1, "init");
    gm_mlp m;
    gm_mlp_spec s = {.n_hidden = GM_MLP_MAX_LAYERS, .out = 1};
    gm_error err = {0};
    cr_assert_eq(gm_mlp_init(&m, p, "net", 2, &s, &init, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "hidden layers"), "%s", err.message);
    gm_params_free(p);
}

/* Over gm's parameter limit for a model: refused before any allocation,
 * with the sizes in 64 bits (784 x 2^31 would overflow an int). */
Test(nn, an_mlp_over_the_size_limit_allocates_nothing) {
    gm_params *p = gm_params_create("encoder");
    gm_rng init = gm_rng_stream(1, "init");
    gm_mlp m;
    gm_mlp_spec wide = {.hidden = {INT_MAX}, .n_hidden = 1, .out = 4};
    gm_mlp_spec deep = {
        .hidden = {8192, 8192, 8192, 8192, 8192}, .n_hidden = 5, .out = 4};
    const gm_mlp_spec *specs[2] = {&wide, &deep};
    for (int i = 0; i < 2; i++) {
        gm_error err = {0};
        cr_assert_eq(gm_mlp_init(&m, p, "encoder", 784, specs[i], &init, &err),
                     GM_ERR_INVALID);
        cr_assert(strstr(err.message, "encoder") &&
                      strstr(err.message, "too large") &&
                      strstr(err.message, "1 GiB"),
                  "%s", err.message);
        cr_assert_eq(gm_params_count(p), 0, "%s", err.message);
    }
    gm_params_free(p);
}

Test(nn, mlp_forward_matches_a_hand_computation) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(2, "init");
    gm_mlp m;
    gm_mlp_spec s = {.hidden = {2}, .n_hidden = 1, .activation = GM_ACT_TANH,
                     .out = 1};
    gm_mlp_init(&m, p, "net", 2, &s, &init, NULL);
    /* W0 = [[1, -1], [0.5, 2]], b0 = [0.1, -0.2], W1 = [[2, -3]], b1 = [0.5] */
    const float values[] = {1, -1, 0.5f, 2, 0.1f, -0.2f, 2, -3, 0.5f};
    memcpy(gm_params_data(p), values, sizeof values);
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){1, 2}, 2);
    gm_node *y = gm_mlp_forward(g, &m, x);
    gm_graph_compile(g, NULL);
    gm_node_data(x)[0] = 0.3f;
    gm_node_data(x)[1] = -0.7f;
    gm_graph_forward(g);
    double h0 = tanh(0.3 + 0.7 + 0.1), h1 = tanh(0.15 - 1.4 - 0.2);
    cr_assert_float_eq(gm_node_scalar(y), 2 * h0 - 3 * h1 + 0.5, 1e-5);
    gm_graph_free(g);
    gm_params_free(p);
}

Test(nn, frozen_copy_computes_the_previous_network) {
    gm_params *p = gm_params_create("generator");
    gm_rng init = gm_rng_stream(3, "init");
    gm_mlp m;
    gm_mlp_spec s = {.hidden = {8}, .n_hidden = 1, .activation = GM_ACT_RELU,
                     .out = 2};
    gm_mlp_init(&m, p, "gen", 3, &s, &init, NULL);
    gm_params *prev = gm_params_clone(p, "generator_prev", NULL);
    gm_graph *g = gm_graph_create("g");
    gm_node *z = gm_constant(g, "z", (int[]){4, 3}, 2,
                             (const float[12]){1, 2, 3, -1, 0, 1, .5f, .5f,
                                               -2, 0, 0, 1});
    gm_node *now = gm_mlp_forward(g, &m, z);
    gm_node *then = gm_mlp_forward_with(g, &m, prev, z);
    gm_graph_compile(g, NULL);
    gm_graph_forward(g);
    cr_assert_eq(memcmp(gm_node_data(now), gm_node_data(then), 8 * 4), 0);
    gm_params_data(p)[0] += 1.0f; /* the live network moves on */
    gm_graph_forward(g);
    cr_assert_neq(memcmp(gm_node_data(now), gm_node_data(then), 8 * 4), 0);
    gm_graph_free(g);
    gm_params_free(prev);
    gm_params_free(p);
}

/* The builder's ReLU layers are affine_relu nodes: the same outputs and
 * parameter gradients, bit for bit, as Linear then gm_relu built by hand. */
enum { RELU_MLP_PARAMS = 5 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3 };

static void relu_mlp_loss_and_grads(bool by_hand, float *out, float *grads) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(4, "init");
    gm_mlp m;
    gm_mlp_spec s = {.hidden = {16, 16}, .n_hidden = 2,
                     .activation = GM_ACT_RELU, .out = 3};
    gm_mlp_init(&m, p, "net", 5, &s, &init, NULL);
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){7, 5}, 2);
    gm_rng data = gm_rng_stream(5, "x");
    gm_node *y = x;
    if (by_hand) {
        for (int i = 0; i < m.n_layers; i++) {
            y = gm_linear_forward(g, &m.layers[i], p, y);
            if (i < m.n_layers - 1) y = gm_relu(g, y);
        }
    } else {
        y = gm_mlp_forward(g, &m, x);
    }
    gm_node *loss = gm_sum(g, gm_square(g, y), GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_rng_fill_normal(&data, gm_node_data(x), 35);
    gm_params_zero_grad(p);
    gm_graph_forward(g);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    memcpy(out, gm_node_data(y), 21 * sizeof(float));
    cr_assert_eq(gm_params_numel(p), (size_t)RELU_MLP_PARAMS);
    memcpy(grads, gm_params_grad(p), RELU_MLP_PARAMS * sizeof(float));
    gm_graph_free(g);
    gm_params_free(p);
}

Test(nn, relu_layers_match_linear_then_relu) {
    enum { PARAMS = RELU_MLP_PARAMS };
    float out_a[21], out_b[21], grad_a[PARAMS], grad_b[PARAMS];
    relu_mlp_loss_and_grads(false, out_a, grad_a);
    relu_mlp_loss_and_grads(true, out_b, grad_b);
    cr_assert_eq(memcmp(out_a, out_b, sizeof out_a), 0);
    cr_assert_eq(memcmp(grad_a, grad_b, sizeof grad_a), 0);
    int active = 0;
    for (int i = 0; i < PARAMS; i++) active += grad_a[i] != 0.0f;
    cr_assert_gt(active, PARAMS / 2, "a test with most gradients zero "
                                     "would prove little");
}

Test(nn, activation_names_round_trip) {
    for (int a = 0; a < GM_ACT_COUNT; a++) {
        gm_activation parsed;
        cr_assert(gm_activation_parse(gm_activation_name(a), &parsed));
        cr_assert_eq(parsed, (gm_activation)a);
    }
    gm_activation out;
    cr_assert_not(gm_activation_parse("swish", &out));
}

/* Convergence: a 1-32-32-1 tanh MLP fits y = sin(2x) on [-1, 1]. */
Test(nn, mlp_fits_a_regression) {
    enum { N = 64 };
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(4, "init");
    gm_mlp m;
    gm_mlp_spec s = {.hidden = {32, 32}, .n_hidden = 2,
                     .activation = GM_ACT_TANH, .out = 1};
    gm_mlp_init(&m, p, "net", 1, &s, &init, NULL);
    gm_graph *g = gm_graph_create("fit");
    gm_node *x = gm_input(g, "x", (int[]){N, 1}, 2);
    gm_node *y = gm_input(g, "y", (int[]){N, 1}, 2);
    gm_node *err = gm_sub(g, gm_mlp_forward(g, &m, x), y);
    gm_node *mse = gm_mean(g, gm_square(g, err), GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    for (int i = 0; i < N; i++) {
        float xi = -1.0f + 2.0f * i / (N - 1);
        gm_node_data(x)[i] = xi;
        gm_node_data(y)[i] = sinf(2.0f * xi);
    }
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.01f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    gm_graph_forward(g);
    float first = gm_node_scalar(mse);
    for (int step = 0; step < 1500; step++) {
        gm_params_zero_grad(p);
        gm_graph_forward(g);
        gm_graph_backward(g, mse, NULL);
        gm_optim_step(o);
    }
    gm_graph_forward(g);
    float last = gm_node_scalar(mse);
    cr_assert_lt(last, 1e-3f, "mse %g (started at %g)", last, first);
    cr_assert_lt(last, first / 100);
    gm_optim_free(o);
    gm_graph_free(g);
    gm_params_free(p);
}
