/* Modules: PyTorch's Linear initialisation, MLP wiring, frozen copies, an
 * MLP that learns a regression; networks as lists of layers: their layout
 * and initialisation, forward, batch norm's two modes, shape errors, and a
 * conv net that learns. */
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
    gm_net m;
    gm_net_spec s = {.hidden = {400}, .n_hidden = 1,
                     .activation = GM_ACT_RELU, .out = 40};
    cr_assert_eq(gm_net_init(&m, p, NULL, "enc", 784, &s, &init, NULL), GM_OK);
    cr_assert_eq(m.n_layers, 2);
    cr_assert_eq(gm_params_numel(p), 784u * 400 + 400 + 400 * 40 + 40);
    cr_assert_geq(gm_params_find(p, "enc.0.weight"), 0);
    cr_assert_geq(gm_params_find(p, "enc.1.bias"), 0);
    gm_params_free(p);
}

Test(nn, too_many_layers_is_an_error) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(1, "init");
    gm_net m;
    gm_net_spec s = {.n_hidden = GM_MLP_MAX_LAYERS, .out = 1};
    gm_error err = {0};
    cr_assert_eq(gm_net_init(&m, p, NULL, "net", 2, &s, &init, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "hidden layers"), "%s", err.message);
    gm_params_free(p);
}

/* Over gm's parameter limit for a model: refused before any allocation,
 * with the sizes in 64 bits (784 x 2^31 would overflow an int). */
Test(nn, an_mlp_over_the_size_limit_allocates_nothing) {
    gm_params *p = gm_params_create("encoder");
    gm_rng init = gm_rng_stream(1, "init");
    gm_net m;
    gm_net_spec wide = {.hidden = {INT_MAX}, .n_hidden = 1, .out = 4};
    gm_net_spec deep = {
        .hidden = {8192, 8192, 8192, 8192, 8192}, .n_hidden = 5, .out = 4};
    const gm_net_spec *specs[2] = {&wide, &deep};
    for (int i = 0; i < 2; i++) {
        gm_error err = {0};
        cr_assert_eq(gm_net_init(&m, p, NULL, "encoder", 784, specs[i], &init, &err),
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
    gm_net m;
    gm_net_spec s = {.hidden = {2}, .n_hidden = 1, .activation = GM_ACT_TANH,
                     .out = 1};
    gm_net_init(&m, p, NULL, "net", 2, &s, &init, NULL);
    /* W0 = [[1, -1], [0.5, 2]], b0 = [0.1, -0.2], W1 = [[2, -3]], b1 = [0.5] */
    const float values[] = {1, -1, 0.5f, 2, 0.1f, -0.2f, 2, -3, 0.5f};
    memcpy(gm_params_data(p), values, sizeof values);
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){1, 2}, 2);
    gm_node *y = gm_net_forward(g, &m, x);
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
    gm_net m;
    gm_net_spec s = {.hidden = {8}, .n_hidden = 1, .activation = GM_ACT_RELU,
                     .out = 2};
    gm_net_init(&m, p, NULL, "gen", 3, &s, &init, NULL);
    gm_params *prev = gm_params_clone(p, "generator_prev", NULL);
    gm_graph *g = gm_graph_create("g");
    gm_node *z = gm_constant(g, "z", (int[]){4, 3}, 2,
                             (const float[12]){1, 2, 3, -1, 0, 1, .5f, .5f,
                                               -2, 0, 0, 1});
    gm_node *now = gm_net_forward(g, &m, z);
    gm_node *then = gm_net_forward_with(g, &m, prev, z);
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
    gm_net m;
    gm_net_spec s = {.hidden = {16, 16}, .n_hidden = 2,
                     .activation = GM_ACT_RELU, .out = 3};
    gm_net_init(&m, p, NULL, "net", 5, &s, &init, NULL);
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
        y = gm_net_forward(g, &m, x);
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
    gm_net m;
    gm_net_spec s = {.hidden = {32, 32}, .n_hidden = 2,
                     .activation = GM_ACT_TANH, .out = 1};
    gm_net_init(&m, p, NULL, "net", 1, &s, &init, NULL);
    gm_graph *g = gm_graph_create("fit");
    gm_node *x = gm_input(g, "x", (int[]){N, 1}, 2);
    gm_node *y = gm_input(g, "y", (int[]){N, 1}, 2);
    gm_node *err = gm_sub(g, gm_net_forward(g, &m, x), y);
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

/* ---- networks as lists of layers --------------------------------------- */

static gm_layer_spec layer(gm_layer_kind kind) {
    return (gm_layer_spec){.kind = kind};
}

static gm_layer_spec conv(gm_layer_kind kind, int out, int kernel, int stride,
                          int padding) {
    return (gm_layer_spec){.kind = kind,
                           .out = out,
                           .kernel = kernel,
                           .stride = stride,
                           .padding = padding};
}

static gm_layer_spec reshape3(int c, int h, int w) {
    return (gm_layer_spec){
        .kind = GM_LAYER_RESHAPE, .shape = {c, h, w}, .ndim = 3};
}

/* A small DCGAN generator: 4 -> linear 72 -> batch norm -> relu ->
 * [8, 3, 3] -> transposed conv to [4, 6, 6] -> batch norm -> relu ->
 * transposed conv to [1, 12, 12] -> tanh; 144 features out. */
static gm_net_spec small_generator(void) {
    gm_net_spec s = {.out = 144, .n_layers = 9};
    s.layers[0] = (gm_layer_spec){.kind = GM_LAYER_LINEAR, .out = 72};
    s.layers[1] = layer(GM_LAYER_BATCH_NORM);
    s.layers[2] = layer(GM_LAYER_RELU);
    s.layers[3] = reshape3(8, 3, 3);
    s.layers[4] = conv(GM_LAYER_CONV_TRANSPOSE2D, 4, 4, 2, 1);
    s.layers[5] = layer(GM_LAYER_BATCH_NORM);
    s.layers[6] = layer(GM_LAYER_RELU);
    s.layers[7] = conv(GM_LAYER_CONV_TRANSPOSE2D, 1, 4, 2, 1);
    s.layers[8] = layer(GM_LAYER_TANH);
    return s;
}

static const gm_param_view *view(const gm_params *p, const char *name) {
    int i = gm_params_find(p, name);
    cr_assert_geq(i, 0, "no view %s", name);
    return gm_params_view(p, i);
}

/* Every value of view `name` within +-bound, and some near each end. */
static void assert_uniform_in(gm_params *p, const char *name, float bound) {
    int i = gm_params_find(p, name);
    cr_assert_geq(i, 0, "no view %s", name);
    const float *v = gm_params_view_data(p, i);
    float lo = 1, hi = -1;
    for (size_t k = 0; k < gm_params_view(p, i)->numel; k++) {
        cr_assert_leq(fabsf(v[k]), bound, "%s[%zu]", name, k);
        lo = fminf(lo, v[k]);
        hi = fmaxf(hi, v[k]);
    }
    cr_assert(lo < -0.8f * bound && hi > 0.8f * bound, "%s in [%g, %g] of %g",
              name, lo, hi, bound);
}

Test(nn_layers, parameters_are_laid_out_and_initialised_as_pytorch) {
    gm_params *p = gm_params_create("generator");
    gm_params *stats = gm_params_create("generator.stats");
    gm_rng init = gm_rng_stream(1, "init");
    gm_net m;
    gm_net_spec s = small_generator();
    gm_error err = {0};
    cr_assert_eq(gm_net_init(&m, p, stats, "gen", 4, &s, &init, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(m.in, 4);
    cr_assert_eq(m.out, 144);
    /* named by position, as torch.nn.Sequential */
    const gm_shape *w4 = &view(p, "gen.4.weight")->shape;
    cr_assert(w4->ndim == 4 && w4->dim[0] == 8 && w4->dim[1] == 4 &&
                  w4->dim[2] == 4 && w4->dim[3] == 4,
              "[C_in, C_out, kH, kW]");
    cr_assert_eq(view(p, "gen.7.weight")->shape.dim[1], 1);
    cr_assert_eq(view(p, "gen.0.weight")->shape.dim[0], 72);
    cr_assert_eq(gm_params_numel(p), (size_t)(72 * 4 + 72) + 2 * 72 +
                                         (8 * 4 * 16 + 4) + 2 * 4 +
                                         (4 * 1 * 16 + 1));
    /* PyTorch's bounds: 1/sqrt(fan_in), a transposed convolution's fan_in
     * counting its output channels */
    assert_uniform_in(p, "gen.0.weight", 1.0f / sqrtf(4.0f));
    assert_uniform_in(p, "gen.4.weight", 1.0f / sqrtf(4.0f * 16.0f));
    int bn_w = gm_params_find(p, "gen.1.weight"),
        bn_b = gm_params_find(p, "gen.1.bias");
    for (int c = 0; c < 72; c++) {
        cr_assert_eq(gm_params_view_data(p, bn_w)[c], 1.0f);
        cr_assert_eq(gm_params_view_data(p, bn_b)[c], 0.0f);
    }
    /* running statistics in their own group, 0 and 1 */
    cr_assert_eq(gm_params_count(stats), 4);
    cr_assert_eq(gm_params_find(p, "gen.1.running_mean"), -1);
    const float *rv =
        gm_params_view_data(stats, gm_params_find(stats, "gen.5.running_var"));
    const float *rm =
        gm_params_view_data(stats, gm_params_find(stats, "gen.5.running_mean"));
    for (int c = 0; c < 4; c++)
        cr_assert(rv[c] == 1.0f && rm[c] == 0.0f);
    gm_params_free(stats);
    gm_params_free(p);
}

/* A conv discriminator, its input reshaped, its output flattened, as
 * gm_conv2d and friends compute it by hand. */
Test(nn_layers, forward_is_the_ops_it_lists) {
    gm_params *p = gm_params_create("discriminator");
    gm_rng init = gm_rng_stream(2, "init");
    gm_net m;
    gm_net_spec s = {.out = 1, .n_layers = 5};
    s.layers[0] = reshape3(1, 6, 6);
    s.layers[1] = conv(GM_LAYER_CONV2D, 3, 3, 2, 1);
    s.layers[2] = (gm_layer_spec){.kind = GM_LAYER_LEAKY_RELU, .slope = 0.1f};
    s.layers[3] = layer(GM_LAYER_FLATTEN);
    s.layers[4] = layer(GM_LAYER_LINEAR); /* out: the network's, 1 */
    gm_error err = {0};
    cr_assert_eq(gm_net_init(&m, p, NULL, "disc", 36, &s, &init, &err), GM_OK,
                 "%s", err.message);
    gm_graph *g = gm_graph_create("g");
    float xs[2 * 36];
    gm_rng data = gm_rng_stream(3, "x");
    gm_rng_fill_normal(&data, xs, 72);
    gm_node *x = gm_constant(g, "x", (int[]){2, 36}, 2, xs);
    gm_node *y = gm_net_forward(g, &m, x);
    gm_node *img = gm_reshape(g, x, (int[]){2, 1, 6, 6}, 4);
    gm_node *h = gm_conv2d(g, img, gm_param(g, p, 0), gm_param(g, p, 1), 2, 1);
    h = gm_reshape(g, gm_leaky_relu(g, h, 0.1f), (int[]){2, 27}, 2);
    gm_node *want = gm_affine(g, h, gm_param(g, p, 2), gm_param(g, p, 3));
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_graph_forward(g);
    cr_assert_eq(gm_node_shape(y)->ndim, 2);
    cr_assert_eq(gm_node_shape(y)->dim[1], 1);
    for (int i = 0; i < 2; i++)
        cr_assert_float_eq(gm_node_data(y)[i], gm_node_data(want)[i], 1e-6);
    gm_graph_free(g);
    gm_params_free(p);
}

/* The activations elu and softplus as layers, on an image and on flat
 * features: the shapes pass through, and the forward is gm_elu (with the
 * layer's alpha, or 1) and gm_softplus, bit for bit. */
Test(nn_layers, elu_and_softplus_layers_are_their_ops) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(2, "init");
    gm_net m;
    gm_net_spec s = {.out = 12, .n_layers = 5};
    s.layers[0] = reshape3(3, 2, 2);
    s.layers[1] = (gm_layer_spec){.kind = GM_LAYER_ELU, .alpha = 0.5f};
    s.layers[2] = layer(GM_LAYER_SOFTPLUS);
    s.layers[3] = layer(GM_LAYER_FLATTEN);
    s.layers[4] = layer(GM_LAYER_ELU);
    gm_layer planned[GM_NET_MAX_LAYERS];
    int bad;
    gm_error err = {0};
    cr_assert_eq(gm_net_plan(&s, 12, 12, "net", planned, &bad, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(planned[2].out_ndim, 3);
    cr_assert_eq(planned[2].out_shape[0], 3);
    cr_assert_eq(planned[2].out_shape[2], 2);
    cr_assert_eq(planned[1].params + planned[2].params, 0);
    cr_assert_eq(gm_net_init(&m, p, NULL, "net", 12, &s, &init, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(gm_params_count(p), 0, "activations have no parameters");
    gm_graph *g = gm_graph_create("g");
    float xs[2 * 12];
    gm_rng data = gm_rng_stream(3, "x");
    gm_rng_fill_normal(&data, xs, 24);
    gm_node *x = gm_constant(g, "x", (int[]){2, 12}, 2, xs);
    gm_node *y = gm_net_forward(g, &m, x);
    gm_node *want = gm_elu(g, gm_softplus(g, gm_elu(g, x, 0.5f)), 1.0f);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_graph_forward(g);
    cr_assert_eq(gm_node_shape(y)->dim[1], 12);
    cr_assert_eq(memcmp(gm_node_data(y), gm_node_data(want), sizeof xs), 0);
    gm_graph_free(g);
    gm_params_free(p);
}

/* Batch norm: a training graph normalises with the batch and moves the
 * shared running statistics; an evaluating graph (a sampler) uses them and
 * leaves them be. */
Test(nn_layers, batch_norm_trains_and_evaluates) {
    gm_params *p = gm_params_create("net");
    gm_params *stats = gm_params_create("net.stats");
    gm_rng init = gm_rng_stream(4, "init");
    gm_net m;
    gm_net_spec s = {.out = 2, .n_layers = 1};
    s.layers[0] =
        (gm_layer_spec){.kind = GM_LAYER_BATCH_NORM, .momentum = 0.5f};
    cr_assert_eq(gm_net_init(&m, p, stats, "bn", 2, &s, &init, NULL), GM_OK);
    const float xs[8] = {1, 10, 3, 20, 5, 30, 7, 40}; /* 4 rows, 2 features */
    gm_graph *train = gm_graph_create("train"), *eval = gm_graph_create("eval");
    gm_node *yt = gm_net_forward(train, &m,
                                 gm_constant(train, "x", (int[]){4, 2}, 2, xs));
    gm_node *ye =
        gm_net_forward(eval, &m, gm_constant(eval, "x", (int[]){4, 2}, 2, xs));
    gm_graph_set_training(eval, false);
    cr_assert(gm_graph_training(train) && !gm_graph_training(eval));
    cr_assert_eq(gm_graph_compile(train, NULL), GM_OK);
    cr_assert_eq(gm_graph_compile(eval, NULL), GM_OK);
    gm_graph_forward(train);
    /* column 0: mean 4, biased variance 5 */
    cr_assert_float_eq(gm_node_data(yt)[0], -3.0 / sqrt(5 + 1e-5), 1e-5);
    const float *mean = gm_params_view_data(stats, 0);
    const float *var = gm_params_view_data(stats, 1);
    cr_assert_float_eq(mean[0], 0.5 * 4, 1e-6);
    cr_assert_float_eq(var[0], 0.5 + 0.5 * 20.0 / 3, 1e-5, "unbiased");
    float before[2] = {mean[1], var[1]};
    gm_graph_forward(eval);
    cr_assert_float_eq(gm_node_data(ye)[0], (1 - 2.0) / sqrt(var[0] + 1e-5),
                       1e-5);
    cr_assert(mean[1] == before[0] && var[1] == before[1]);
    gm_graph_free(train);
    gm_graph_free(eval);
    gm_params_free(stats);
    gm_params_free(p);
}

/* What the reader checks at validation is checked again when a network is
 * built (for data whose shape only its file knows), naming the layer. */
Test(nn_layers, a_layer_that_does_not_fit_is_named) {
    gm_params *p = gm_params_create("net");
    gm_rng init = gm_rng_stream(5, "init");
    gm_net m;
    gm_net_spec s = {.out = 1, .n_layers = 3};
    s.layers[0] = reshape3(1, 5, 5);
    s.layers[1] = conv(GM_LAYER_CONV2D, 4, 3, 1, 0);
    s.layers[2] = layer(GM_LAYER_LINEAR);
    gm_error err = {0};
    cr_assert_eq(gm_net_init(&m, p, NULL, "discriminator", 25, &s, &init, &err),
                 GM_ERR_SHAPE);
    cr_assert_str_eq(err.message,
                     "discriminator.layers[2] (linear): input [4, 3, 3]: "
                     "needs flat features; put a flatten before it");
    cr_assert_eq(gm_params_count(p), 0, "nothing allocated");
    s.layers[0] = reshape3(1, 4, 4); /* 16 values, not 25 */
    cr_assert_eq(gm_net_init(&m, p, NULL, "discriminator", 25, &s, &init, &err),
                 GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "layers[0] (reshape): input [25]: 25 values "
                                  "cannot be viewed as [1, 4, 4]"),
              "%s", err.message);
    s = small_generator();
    cr_assert_eq(gm_net_init(&m, p, NULL, "gen", 4, &s, &init, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "running statistics"), "%s", err.message);
    gm_params_free(p);
}

Test(nn_layers, kind_names_round_trip) {
    for (int k = 0; k < GM_LAYER_KIND_COUNT; k++) {
        gm_layer_kind parsed;
        cr_assert(gm_layer_kind_parse(gm_layer_kind_name(k), &parsed));
        cr_assert_eq(parsed, (gm_layer_kind)k);
    }
    gm_layer_kind out;
    cr_assert_not(gm_layer_kind_parse("conv3d", &out));
}

/* An MLP's activations and the layer kinds are named in one place: every
 * activation but none is the layer kind of its name, and the layers that
 * are activations are exactly those. */
Test(nn_layers, every_activation_is_a_layer_kind) {
    int activations = 0;
    for (int a = 1; a < GM_ACT_COUNT; a++) {
        gm_layer_kind k;
        cr_assert(gm_layer_kind_parse(gm_activation_name(a), &k), "%s",
                  gm_activation_name(a));
    }
    for (int k = 0; k < GM_LAYER_KIND_COUNT; k++) {
        gm_activation a;
        activations += gm_activation_parse(gm_layer_kind_name(k), &a);
    }
    cr_assert_eq(activations, GM_ACT_COUNT - 1);
    gm_activation none;
    cr_assert(gm_activation_parse("none", &none) && none == GM_ACT_NONE);
}

/* Convergence: a conv net (conv, batch norm, relu, linear) learns what a
 * fixed random teacher conv net computes from 8x8 images. */
Test(nn_layers, conv_net_fits_a_teacher) {
    enum { N = 32, SIDE = 8, IN = SIDE * SIDE };
    gm_net_spec s = {.out = 1, .n_layers = 6};
    s.layers[0] = reshape3(1, SIDE, SIDE);
    s.layers[1] = conv(GM_LAYER_CONV2D, 4, 3, 2, 1);
    s.layers[2] = layer(GM_LAYER_BATCH_NORM);
    s.layers[3] = layer(GM_LAYER_RELU);
    s.layers[4] = layer(GM_LAYER_FLATTEN);
    s.layers[5] = layer(GM_LAYER_LINEAR);
    gm_params *tp = gm_params_create("teacher"), *p = gm_params_create("net");
    gm_params *tstats = gm_params_create("t.stats"),
              *stats = gm_params_create("net.stats");
    gm_rng tinit = gm_rng_stream(6, "teacher"), init = gm_rng_stream(7, "init");
    gm_net teacher, student;
    cr_assert_eq(gm_net_init(&teacher, tp, tstats, "t", IN, &s, &tinit, NULL),
                 GM_OK);
    cr_assert_eq(gm_net_init(&student, p, stats, "s", IN, &s, &init, NULL),
                 GM_OK);
    gm_graph *g = gm_graph_create("fit");
    gm_graph_freeze(g, tp);
    float xs[N * IN];
    gm_rng data = gm_rng_stream(8, "x");
    gm_rng_fill_normal(&data, xs, N * IN);
    gm_node *x = gm_constant(g, "x", (int[]){N, IN}, 2, xs);
    gm_node *target = gm_detach(g, gm_net_forward(g, &teacher, x));
    gm_node *err = gm_sub(g, gm_net_forward(g, &student, x), target);
    gm_node *mse = gm_mean(g, gm_square(g, err), GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.lr = 0.01f;
    gm_optim *o = gm_optim_create(p, &c, NULL);
    gm_graph_forward(g);
    float first = gm_node_scalar(mse);
    for (int step = 0; step < 400; step++) {
        gm_params_zero_grad(p);
        gm_graph_forward(g);
        gm_graph_backward(g, mse, NULL);
        gm_optim_step(o);
    }
    gm_graph_forward(g);
    float last = gm_node_scalar(mse);
    cr_assert_lt(last, first / 100, "mse %g, started at %g", last, first);
    gm_optim_free(o);
    gm_graph_free(g);
    gm_params_free(tstats);
    gm_params_free(stats);
    gm_params_free(tp);
    gm_params_free(p);
}
