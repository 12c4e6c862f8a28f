/* bfloat16 products (gm_graph_set_precision): each multiplying op's
 * forward value and its input and weight gradients against float32,
 * within bfloat16's error bound element by element. Rounding both
 * operands of a product to bfloat16 changes each term a_i b_i by at most
 * 2 * 2^-8 of |a_i b_i| (8 significant bits, round to nearest), and the
 * float32 accumulation adds far less, so an element may move by at most
 * 2^-7 sum_i |a_i| |b_i|: the same graph in float32 on the absolute values
 * of every operand and upstream gradient computes that sum. The bound
 * holds whether the graph runs many products (conv chunks) or one. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gm/gm.h"

/* An op under test: builds y from the views of one parameter group
 * (every operand, so that every operand gets a gradient). */
typedef gm_node *(*build_fn)(gm_graph *g, gm_params *p);

typedef struct outcome {
    float *y, *grad; /* y and the group's gradient, copied */
    size_t ny, ngrad;
} outcome;

/* y = build(p) and the gradient of sum(y * up) over the group, with the
 * operands (and up) at `values`, or at their absolute values. */
static outcome run(build_fn build, gm_params *p, const float *values,
                   gm_precision precision, bool absolute) {
    gm_error err = {0};
    gm_graph *g = gm_graph_create("product");
    gm_graph_set_precision(g, precision);
    gm_node *y = build(g, p);
    size_t ny = gm_node_numel(y);
    float *up = malloc(ny * sizeof(float));
    gm_rng r = gm_rng_stream(7, "upstream");
    for (size_t i = 0; i < ny; i++) {
        float u = (float)gm_rng_normal(&r);
        up[i] = absolute ? fabsf(u) : u;
    }
    const gm_shape *ys = gm_node_shape(y);
    gm_node *c = gm_constant(g, "up", ys->dim, ys->ndim, up);
    gm_node *loss = gm_node_set_role(gm_sum(g, gm_mul(g, y, c), GM_AXIS_ALL),
                                     GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    size_t n = gm_params_numel(p);
    float *data = gm_params_data(p);
    for (size_t i = 0; i < n; i++)
        data[i] = absolute ? fabsf(values[i]) : values[i];
    gm_params_zero_grad(p);
    gm_graph_forward(g);
    cr_assert_eq(gm_graph_backward(g, loss, &err), GM_OK, "%s", err.message);
    outcome o = {malloc(ny * sizeof(float)), malloc(n * sizeof(float)), ny, n};
    memcpy(o.y, gm_node_data(y), ny * sizeof(float));
    memcpy(o.grad, gm_params_grad(p), n * sizeof(float));
    free(up);
    gm_graph_free(g);
    return o;
}

/* Checks |got - want| against the bound element by element; returns the
 * largest difference. */
static double worst(const char *op, const char *what, const float *got,
                    const float *want, const float *abs_sum, size_t n) {
    double w = 0.0, moved = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double bound = 0x1p-7 * abs_sum[i] * (1.0 + 1e-4) + 1e-7;
        cr_assert_leq(d, bound,
                      "%s, %s[%zu]: bfloat16 %.9g, float32 %.9g: |difference| "
                      "%.3g over the bound %.3g",
                      op, what, i, got[i], want[i], d, bound);
        w = fmax(w, d / bound);
        moved = fmax(moved, d);
    }
    cr_log_info("%s, %s: largest difference %.3g, %.2f of its bound", op,
                what, moved, w);
    return moved;
}

/* Fills the group with normal values, runs the three cases and checks y
 * and every gradient; the products must also have moved (rounding is
 * visible), or the graph did not run in bfloat16. */
static void check_op(const char *op, build_fn build, gm_params *p) {
    if (!gm_bf16_isa()) {
        cr_log_info("no bfloat16 products on this CPU: test_bf16's "
                    "cpu_without_bf16 case covers it");
        return;
    }
    size_t n = gm_params_numel(p);
    float *values = malloc(n * sizeof(float));
    gm_rng r = gm_rng_stream(3, "operands");
    for (size_t i = 0; i < n; i++) values[i] = (float)gm_rng_normal(&r);
    outcome want = run(build, p, values, GM_PRECISION_FP32, false);
    outcome got = run(build, p, values, GM_PRECISION_BF16, false);
    outcome bound = run(build, p, values, GM_PRECISION_FP32, true);
    double moved_y = worst(op, "y", got.y, want.y, bound.y, want.ny);
    double moved_g = worst(op, "gradient", got.grad, want.grad, bound.grad,
                           want.ngrad);
    cr_assert_gt(moved_y, 0.0, "%s: bfloat16 y equals float32's", op);
    cr_assert_gt(moved_g, 0.0, "%s: bfloat16 gradients equal float32's", op);
    free(values);
    outcome all[3] = {want, got, bound};
    for (int i = 0; i < 3; i++) {
        free(all[i].y);
        free(all[i].grad);
    }
    gm_params_free(p);
}

static gm_params *group(const int shapes[][4], const int *ndims, int count) {
    gm_params *p = gm_params_create("operands");
    char name[16];
    for (int i = 0; i < count; i++) {
        snprintf(name, sizeof name, "v%d", i);
        gm_params_add(p, name, shapes[i], ndims[i], NULL);
    }
    return p;
}

/* matmul with each transposition: A [17, 40] or its transpose, B [40, 23]
 * or its transpose. */
static gm_node *matmul_with(gm_graph *g, gm_params *p, bool ta, bool tb) {
    return gm_matmul(g, gm_param(g, p, 0), gm_param(g, p, 1), ta, tb);
}
static gm_node *matmul_nn(gm_graph *g, gm_params *p) {
    return matmul_with(g, p, false, false);
}
static gm_node *matmul_tn(gm_graph *g, gm_params *p) {
    return matmul_with(g, p, true, false);
}
static gm_node *matmul_nt(gm_graph *g, gm_params *p) {
    return matmul_with(g, p, false, true);
}
static gm_node *matmul_tt(gm_graph *g, gm_params *p) {
    return matmul_with(g, p, true, true);
}

Test(bf16, matmul_every_transposition) {
    const build_fn builds[4] = {matmul_nn, matmul_tn, matmul_nt, matmul_tt};
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        int shapes[2][4] = {{ta ? 40 : 17, ta ? 17 : 40},
                            {tb ? 23 : 40, tb ? 40 : 23}};
        char op[32];
        snprintf(op, sizeof op, "matmul(ta %d, tb %d)", ta, tb);
        check_op(op, builds[t], group(shapes, (int[]){2, 2}, 2));
    }
}

/* x [33, 50], W [20, 50], b [20] */
static gm_node *affine_op(gm_graph *g, gm_params *p) {
    return gm_affine(g, gm_param(g, p, 0), gm_param(g, p, 1), gm_param(g, p, 2));
}

Test(bf16, affine) {
    check_op("affine", affine_op,
             group((int[][4]){{33, 50}, {20, 50}, {20}}, (int[]){2, 2, 1}, 3));
}

/* affine_relu on the absolute values plus one, so that no pre-activation
 * sits near 0 where rounding could flip the mask: the products are
 * affine's, the mask is float32's. */
static gm_node *affine_relu_op(gm_graph *g, gm_params *p) {
    gm_node *x = gm_add_scalar(g, gm_abs(g, gm_param(g, p, 0)), 1.0f);
    gm_node *w = gm_add_scalar(g, gm_abs(g, gm_param(g, p, 1)), 1.0f);
    return gm_affine_relu(g, x, w, gm_abs(g, gm_param(g, p, 2)));
}

Test(bf16, affine_relu) {
    check_op("affine_relu", affine_relu_op,
             group((int[][4]){{33, 50}, {20, 50}, {20}}, (int[]){2, 2, 1}, 3));
}

/* x [25, 3, 9, 9] with a 3x3 kernel at stride 2: 25 outputs a sample, so
 * the 25 samples run in chunks of 11, 11 and 3 (a first, a later and a
 * shorter last chunk, each planned apart). */
static gm_node *conv2d_op(gm_graph *g, gm_params *p) {
    return gm_conv2d(g, gm_param(g, p, 0), gm_param(g, p, 1), gm_param(g, p, 2),
                     2, 1);
}

Test(bf16, conv2d_over_three_chunks) {
    check_op("conv2d", conv2d_op,
             group((int[][4]){{25, 3, 9, 9}, {4, 3, 3, 3}, {4}},
                   (int[]){4, 4, 1}, 3));
}

/* x [25, 4, 5, 5] up to [25, 3, 10, 10] with a 4x4 kernel at stride 2 */
static gm_node *conv_transpose2d_op(gm_graph *g, gm_params *p) {
    return gm_conv_transpose2d(g, gm_param(g, p, 0), gm_param(g, p, 1),
                               gm_param(g, p, 2), 2, 1);
}

Test(bf16, conv_transpose2d_over_three_chunks) {
    check_op("conv_transpose2d", conv_transpose2d_op,
             group((int[][4]){{25, 4, 5, 5}, {4, 3, 4, 4}, {3}},
                   (int[]){4, 4, 1}, 3));
}

Test(bf16, precision_is_fixed_at_compile) {
    gm_error err = {0};
    gm_graph *g = gm_graph_create("fixed");
    gm_node *x = gm_input(g, "x", (int[]){2, 2}, 2);
    gm_node_set_role(gm_sum(g, x, GM_AXIS_ALL), GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_graph_set_precision(g, GM_PRECISION_BF16);
    cr_assert_eq(gm_graph_precision(g), GM_PRECISION_FP32);
    cr_assert_not_null(gm_graph_error(g));
    cr_assert(strstr(gm_graph_error(g)->message, "after compile"), "%s",
              gm_graph_error(g)->message);
    gm_graph_free(g);
}

/* oneDNN reads DNNL_MAX_CPU_ISA once, at its first use in the process
 * (each Criterion test is a process of its own): capped below
 * AVX512-BF16, the CPU offers no bfloat16 products, and a bfloat16 graph
 * must fail to compile naming the missing features. */
Test(bf16, cpu_without_bf16) {
    setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE", 1);
    cr_assert_null(gm_bf16_isa(), "the cap must hide bfloat16 products");
    gm_error err = {0};
    gm_graph *g = gm_graph_create("refused");
    gm_graph_set_precision(g, GM_PRECISION_BF16);
    gm_node *x = gm_input(g, "x", (int[]){4, 3}, 2);
    gm_node *w = gm_input(g, "w", (int[]){3, 2}, 2);
    gm_node_set_role(gm_sum(g, gm_matmul(g, x, w, false, false), GM_AXIS_ALL),
                     GM_ROLE_LOSS);
    cr_assert_neq(gm_graph_compile(g, &err), GM_OK);
    cr_assert(strstr(err.message, "AMX_BF16") &&
                  strstr(err.message, "AVX512_BF16"),
              "%s", err.message);
    gm_graph_free(g);
}
