/* Gradients as nodes (gm_grad, gm/grad.h) checked as the first order is
 * (test_ops_grad.c): for every op with a gradient builder, on seeded
 * random shapes and values, with the op reading parameters and again
 * through intermediates (parameter + 0):
 *   values:  the built gradient of y = sum(f(x)^2 * r), r a random
 *            constant, equals the hand-written backward's gradient of y;
 *   Hessian: the gradient of z = sum(gm_grad(y, x) * v), v a random
 *            constant, by the ordinary backward, matches central
 *            differences over two backward passes (support/gradcheck.h).
 * Squaring f(x) makes the adjoint that reaches f's builder depend on x,
 * so the Hessian check sees the builder's use of its adjoint as well as
 * of f's inputs. The coverage test makes every op either have a builder
 * and a case here, pass no gradient, or be listed without one and why;
 * then the error an op without a builder gives, and a WGAN-GP penalty. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gm/gm.h"
#include "gradcheck.h"
#include "ops/grad_build.h"
#include "ops/op_table.h"

#define TRIALS 2
#define MAX_LEAVES 4

typedef struct range {
    float lo, hi, min_abs;
} range;

static const range ANY = {-1.5f, 1.5f, 0.0f};
static const range AWAY = {-2.0f, 2.0f, 0.1f}; /* kinks at 0 */
static const range POSITIVE = {0.3f, 2.0f, 0.0f};
static const range DIVISOR = {-2.0f, 2.0f, 0.5f};
static const range SMALL = {-0.3f, 0.3f, 0.0f};
static const range BIG_BIAS = {-2.0f, 2.0f, 1.0f};
/* A convolution's weights: its sums of 9 to 32 products stay of order 1,
 * and so does their float rounding over 2h. */
static const range KERNEL = {-0.5f, 0.5f, 0.0f};

/* The first order's tolerances (test_ops_grad.c) with atol and rtol
 * doubled or more: z sums gradients, and its float rounding, divided by
 * 2h, is of order 1e-4. A builder off by 1% still fails. */
static const gm_gradcheck_tol TOL = {1e-2f, 2e-3, 5e-4};
static const gm_gradcheck_tol TOL_CURVED = {5e-3f, 2e-3, 1e-3};

/* One case: a graph, its parameter group, whether ops read the
 * parameters through intermediates, the leaves the gradient is taken
 * with respect to, and a seeded stream. */
typedef struct g2_case {
    gm_graph *g;
    gm_params *p;
    bool via;
    gm_node *leaves[MAX_LEAVES];
    int leaf_param[MAX_LEAVES];
    int n_leaves;
    gm_rng rng;
    char label[128];
} g2_case;

static void case_begin(g2_case *c, const char *label, int trial, bool via) {
    memset(c, 0, sizeof *c);
    c->via = via;
    snprintf(c->label, sizeof c->label, "%s #%d%s", label, trial,
             via ? " via intermediates" : "");
    c->g = gm_graph_create(label);
    c->p = gm_params_create("P");
    cr_assert(c->g && c->p);
    c->rng = gm_rng_stream(20240901u + (uint64_t)trial, label);
}

static void case_end(g2_case *c) {
    gm_graph_free(c->g);
    gm_params_free(c->p);
}

static int rand_dim(g2_case *c, int lo, int hi) {
    return lo + (int)gm_rng_below(&c->rng, (uint64_t)(hi - lo + 1));
}

/* A new parameter with values drawn from v, as the case has ops read it
 * (itself or an intermediate); *idx its index in the group. */
static gm_node *param_read(g2_case *c, const int *shape, int ndim, range v,
                           int *idx) {
    char name[16];
    snprintf(name, sizeof name, "w%d", gm_params_count(c->p));
    gm_error err = {0};
    *idx = gm_params_add(c->p, name, shape, ndim, &err);
    cr_assert_geq(*idx, 0, "%s", err.message);
    gm_gradcheck_fill(&c->rng, gm_params_view_data(c->p, *idx),
                      gm_params_view(c->p, *idx)->numel, v.lo, v.hi, v.min_abs);
    gm_node *w = gm_param(c->g, c->p, *idx);
    return c->via ? gm_add_scalar(c->g, w, 0.0f) : w;
}

/* A parameter that gm_grad does not differentiate by: the central
 * differences still vary it, through the built gradient. */
static gm_node *param(g2_case *c, const int *shape, int ndim, range v) {
    int idx;
    return param_read(c, shape, ndim, v, &idx);
}

/* A parameter that gm_grad differentiates by (what the op reads). */
static gm_node *leaf(g2_case *c, const int *shape, int ndim, range v) {
    cr_assert_lt(c->n_leaves, MAX_LEAVES);
    int idx;
    gm_node *w = param_read(c, shape, ndim, v, &idx);
    c->leaf_param[c->n_leaves] = idx;
    c->leaves[c->n_leaves++] = w;
    return w;
}

/* A constant with values drawn from v (no gradient is taken). */
static gm_node *fixed(g2_case *c, const gm_shape *s, range v) {
    float data[512];
    cr_assert(gm_shape_numel(s) <= 512);
    gm_gradcheck_fill(&c->rng, data, gm_shape_numel(s), v.lo, v.hi, v.min_abs);
    return gm_constant(c->g, NULL, s->dim, s->ndim, data);
}

static bool graph_has_op(const gm_graph *g, const char *op) {
    for (int i = 0; i < gm_graph_node_count(g); i++)
        if (strcmp(gm_node_op_name(gm_graph_node(g, i)), op) == 0) return true;
    return false;
}

/* y = sum(out^2 * r) and its gradient nodes with respect to the leaves. */
static gm_node *built_gradients(g2_case *c, gm_node *out, gm_node **grads) {
    gm_node *r = fixed(c, gm_node_shape(out), ANY);
    gm_node *y =
        gm_sum(c->g, gm_mul(c->g, gm_square(c->g, out), r), GM_AXIS_ALL);
    gm_error err = {0};
    cr_assert_eq(gm_grad(c->g, y, c->leaves, c->n_leaves, grads, &err), GM_OK,
                 "%s: %s", c->label, err.message);
    return y;
}

/* The built gradients' values equal backward's parameter gradients. */
static void check_values(g2_case *c, gm_node *out) {
    gm_node *grads[MAX_LEAVES];
    gm_node *y = built_gradients(c, out, grads);
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(c->g, &err), GM_OK, "%s: %s", c->label,
                 err.message);
    gm_graph_forward(c->g);
    gm_params_zero_grad(c->p);
    cr_assert_eq(gm_graph_backward(c->g, y, &err), GM_OK, "%s: %s", c->label,
                 err.message);
    for (int k = 0; k < c->n_leaves; k++) {
        const float *built = gm_node_data(grads[k]);
        const float *want = gm_params_view_grad(c->p, c->leaf_param[k]);
        for (size_t i = 0; i < gm_node_numel(grads[k]); i++)
            cr_assert(fabsf(built[i] - want[i]) <=
                          1e-5f + 1e-4f * fabsf(want[i]),
                      "%s: leaf %d element %zu: built %.8g, backward %.8g",
                      c->label, k, i, (double)built[i], (double)want[i]);
    }
}

/* The gradient of z = sum_k sum(grad_k * v_k) against central
 * differences. */
static void check_hessian(g2_case *c, gm_node *out, gm_gradcheck_tol tol) {
    gm_node *grads[MAX_LEAVES];
    built_gradients(c, out, grads);
    gm_node *z = NULL;
    for (int k = 0; k < c->n_leaves; k++) {
        gm_node *v = fixed(c, gm_node_shape(grads[k]), ANY);
        gm_node *term = gm_sum(c->g, gm_mul(c->g, grads[k], v), GM_AXIS_ALL);
        z = z ? gm_add(c->g, z, term) : term;
    }
    GM_GRADCHECK_ASSERT(c->g, c->p, z, c->label, tol);
}

/* Every GRAD2_TEST's op, gathered by the linker (as in test_ops_grad.c). */
extern const char *const __start_gm_grad2_test_ops[];
extern const char *const __stop_gm_grad2_test_ops[];

/* A second-order test of `op` (suite grad2_<op>): `build` makes the op's
 * output from leaves; each trial checks values and the Hessian, with
 * parameters and through intermediates, on the same shapes and values. */
#define GRAD2_TEST(op, name, tol)                                              \
    __attribute__((used, section("gm_grad2_test_ops"))) static const char      \
        *const grad2_##op##_##name##_op = #op;                                 \
    static gm_node *grad2_##op##_##name##_build(g2_case *c);                   \
    Test(grad2_##op, name) {                                                   \
        for (int via = 0; via < 2; via++)                                      \
            for (int t = 0; t < TRIALS; t++)                                   \
                for (int hessian = 0; hessian < 2; hessian++) {                \
                    g2_case c;                                                 \
                    case_begin(&c, #op "/" #name, t, via);                     \
                    gm_node *out = grad2_##op##_##name##_build(&c);            \
                    const gm_error *e = gm_graph_error(c.g);                   \
                    cr_assert_null(e, "%s: %s", c.label, e ? e->message : ""); \
                    cr_assert(graph_has_op(c.g, #op), "%s: no '%s' node",      \
                              c.label, #op);                                   \
                    if (hessian)                                               \
                        check_hessian(&c, out, tol);                           \
                    else                                                       \
                        check_values(&c, out);                                 \
                    case_end(&c);                                              \
                }                                                              \
    }                                                                          \
    static gm_node *grad2_##op##_##name##_build(g2_case *c)

/* ---- linear algebra ---------------------------------------------------- */

static gm_node *matmul_build(g2_case *c, bool ta, bool tb) {
    int m = rand_dim(c, 1, 4), k = rand_dim(c, 1, 4), n = rand_dim(c, 1, 4);
    gm_node *a = leaf(c, ta ? (int[]){k, m} : (int[]){m, k}, 2, ANY);
    gm_node *b = leaf(c, tb ? (int[]){n, k} : (int[]){k, n}, 2, ANY);
    return gm_matmul(c->g, a, b, ta, tb);
}

GRAD2_TEST(matmul, a_b, TOL) { return matmul_build(c, false, false); }
GRAD2_TEST(matmul, a_bt, TOL) { return matmul_build(c, false, true); }
GRAD2_TEST(matmul, at_b, TOL) { return matmul_build(c, true, false); }
GRAD2_TEST(matmul, at_bt, TOL) { return matmul_build(c, true, true); }

static gm_node *affine_build(g2_case *c, bool relu, bool bias_2d) {
    int rows = rand_dim(c, 1, 4), in = rand_dim(c, 1, 3);
    int out = rand_dim(c, 1, 4);
    range v = relu ? SMALL : ANY; /* relu: pre-activations away from 0 */
    gm_node *x = leaf(c, (int[]){rows, in}, 2, v);
    gm_node *w = leaf(c, (int[]){out, in}, 2, v);
    range bv = relu ? BIG_BIAS : ANY;
    gm_node *b = bias_2d ? leaf(c, (int[]){1, out}, 2, bv)
                         : leaf(c, (int[]){out}, 1, bv);
    return relu ? gm_affine_relu(c->g, x, w, b) : gm_affine(c->g, x, w, b);
}

GRAD2_TEST(affine, row_bias, TOL) { return affine_build(c, false, false); }
GRAD2_TEST(affine, bias_2d, TOL) { return affine_build(c, false, true); }
GRAD2_TEST(affine_relu, one_layer, TOL) { return affine_build(c, true, false); }

/* ---- arithmetic with every broadcasting form --------------------------- */

typedef enum operand {
    FULL,
    ROW,    /* [cols] */
    ROW_2D, /* [1, cols] */
    COLUMN, /* [rows, 1] */
    SCALAR, /* [1] */
} operand;

typedef gm_node *(*binary_fn)(gm_graph *, gm_node *, gm_node *);

/* a op b with b of the given form, or b op a when b_first. */
static gm_node *binary_build(g2_case *c, binary_fn op, operand kind,
                             bool b_first, range bv) {
    int rows = rand_dim(c, 2, 4), cols = rand_dim(c, 2, 5);
    int dims[2] = {rows, cols}, ndim = 2;
    switch (kind) {
    case FULL: break;
    case ROW: dims[0] = cols, ndim = 1; break;
    case ROW_2D: dims[0] = 1; break;
    case COLUMN: dims[1] = 1; break;
    case SCALAR: dims[0] = 1, ndim = 1; break;
    }
    gm_node *a = leaf(c, (int[]){rows, cols}, 2, b_first ? bv : ANY);
    gm_node *b = leaf(c, dims, ndim, b_first ? ANY : bv);
    return b_first ? op(c->g, b, a) : op(c->g, a, b);
}

#define BINARY_GRAD2_TESTS(OP, BV, TOLERANCE)                                  \
    GRAD2_TEST(OP, full, TOLERANCE) {                                          \
        return binary_build(c, gm_##OP##_bcast, FULL, false, BV);              \
    }                                                                          \
    GRAD2_TEST(OP, row, TOLERANCE) {                                           \
        return binary_build(c, gm_##OP##_bcast, ROW, false, BV);               \
    }                                                                          \
    GRAD2_TEST(OP, row_2d, TOLERANCE) {                                        \
        return binary_build(c, gm_##OP##_bcast, ROW_2D, false, BV);            \
    }                                                                          \
    GRAD2_TEST(OP, column, TOLERANCE) {                                        \
        return binary_build(c, gm_##OP##_bcast, COLUMN, false, BV);            \
    }                                                                          \
    GRAD2_TEST(OP, scalar, TOLERANCE) {                                        \
        return binary_build(c, gm_##OP##_bcast, SCALAR, false, BV);            \
    }                                                                          \
    GRAD2_TEST(OP, row_first, TOLERANCE) {                                     \
        return binary_build(c, gm_##OP##_bcast, ROW, true, BV);                \
    }                                                                          \
    GRAD2_TEST(OP, column_first, TOLERANCE) {                                  \
        return binary_build(c, gm_##OP##_bcast, COLUMN, true, BV);             \
    }

BINARY_GRAD2_TESTS(add, ANY, TOL)
BINARY_GRAD2_TESTS(sub, ANY, TOL)
BINARY_GRAD2_TESTS(mul, ANY, TOL)
/* b_first puts the full operand in the divisor: both are kept from 0 */
BINARY_GRAD2_TESTS(div, DIVISOR, TOL_CURVED)

/* 3-D a [2, rows, cols] viewed as [2 rows, cols]: a row and a column. */
GRAD2_TEST(mul, three_d, TOL) {
    int rows = rand_dim(c, 1, 3), cols = rand_dim(c, 2, 4);
    gm_node *a = leaf(c, (int[]){2, rows, cols}, 3, ANY);
    gm_node *row = leaf(c, (int[]){cols}, 1, ANY);
    gm_node *col = leaf(c, (int[]){2 * rows, 1}, 2, ANY);
    return gm_mul_bcast(c->g, gm_mul_bcast(c->g, a, row), col);
}

GRAD2_TEST(mul, same_operand_twice, TOL) {
    gm_node *a = leaf(c, (int[]){rand_dim(c, 1, 4), rand_dim(c, 1, 4)}, 2, ANY);
    return gm_mul(c->g, a, a);
}

/* ---- element-wise ------------------------------------------------------ */

static gm_node *unary_build(g2_case *c, gm_node *(*f)(gm_graph *, gm_node *),
                            range v) {
    int dims[3] = {2, rand_dim(c, 1, 3), rand_dim(c, 1, 4)};
    bool three_d = gm_rng_below(&c->rng, 2);
    gm_node *x = leaf(c, three_d ? dims : dims + 1, three_d ? 3 : 2, v);
    return f(c->g, x);
}

static gm_node *scale_by_3(gm_graph *g, gm_node *x) {
    return gm_scale(g, x, -3.0f);
}
static gm_node *shift_by_2(gm_graph *g, gm_node *x) {
    return gm_add_scalar(g, x, 2.0f);
}
static gm_node *leaky(gm_graph *g, gm_node *x) {
    return gm_leaky_relu(g, x, 0.2f);
}
static gm_node *elu_1_5(gm_graph *g, gm_node *x) { return gm_elu(g, x, 1.5f); }

GRAD2_TEST(scale, elementwise, TOL) { return unary_build(c, scale_by_3, ANY); }
GRAD2_TEST(add_scalar, elementwise, TOL) {
    return unary_build(c, shift_by_2, ANY);
}
GRAD2_TEST(neg, elementwise, TOL) { return unary_build(c, gm_neg, ANY); }
GRAD2_TEST(exp, elementwise, TOL) { return unary_build(c, gm_exp, ANY); }
GRAD2_TEST(log, elementwise, TOL_CURVED) {
    return unary_build(c, gm_log, POSITIVE);
}
GRAD2_TEST(square, elementwise, TOL) { return unary_build(c, gm_square, ANY); }
GRAD2_TEST(sqrt, elementwise, TOL_CURVED) {
    return unary_build(c, gm_sqrt, POSITIVE);
}
GRAD2_TEST(abs, elementwise, TOL) { return unary_build(c, gm_abs, AWAY); }
GRAD2_TEST(relu, elementwise, TOL) { return unary_build(c, gm_relu, AWAY); }
GRAD2_TEST(leaky_relu, elementwise, TOL) { return unary_build(c, leaky, AWAY); }
GRAD2_TEST(elu, elementwise, TOL) { return unary_build(c, elu_1_5, AWAY); }
GRAD2_TEST(tanh, elementwise, TOL) { return unary_build(c, gm_tanh, ANY); }
GRAD2_TEST(sigmoid, elementwise, TOL) {
    return unary_build(c, gm_sigmoid, ANY);
}
GRAD2_TEST(softplus, elementwise, TOL) {
    return unary_build(c, gm_softplus, ANY);
}
GRAD2_TEST(log_sigmoid, elementwise, TOL) {
    return unary_build(c, gm_log_sigmoid, ANY);
}

/* The relu builders' mask (ops/grad_build.h): a leaf masked by another;
 * the mask's own leaf gets zeros. */
static gm_node *relu_mask_build(g2_case *c, float slope) {
    int rows = rand_dim(c, 1, 4), cols = rand_dim(c, 1, 4);
    gm_node *a = leaf(c, (int[]){rows, cols}, 2, ANY);
    gm_node *x = leaf(c, (int[]){rows, cols}, 2, AWAY);
    return gm_relu_mask(c->g, a, x, slope);
}

GRAD2_TEST(relu_mask, relu, TOL) { return relu_mask_build(c, 0.0f); }
GRAD2_TEST(relu_mask, leaky, TOL) { return relu_mask_build(c, 0.2f); }

/* ---- reductions -------------------------------------------------------- */

typedef gm_node *(*reduce_fn)(gm_graph *, gm_node *, gm_axis);

/* x of 1, 2 or 3 dimensions by `shape_kind`. */
static gm_node *reduce_build(g2_case *c, reduce_fn f, gm_axis axis,
                             int shape_kind) {
    int rows = rand_dim(c, 1, 4), cols = rand_dim(c, 1, 4);
    gm_node *x = shape_kind == 1   ? leaf(c, (int[]){cols}, 1, ANY)
                 : shape_kind == 3 ? leaf(c, (int[]){2, rows, cols}, 3, ANY)
                                   : leaf(c, (int[]){rows, cols}, 2, ANY);
    return f(c->g, x, axis);
}

#define REDUCE_GRAD2_TESTS(OP)                                                 \
    GRAD2_TEST(OP, all, TOL) {                                                 \
        return reduce_build(c, gm_##OP, GM_AXIS_ALL, 2);                       \
    }                                                                          \
    GRAD2_TEST(OP, per_row, TOL) {                                             \
        return reduce_build(c, gm_##OP, GM_AXIS_PER_ROW, 2);                   \
    }                                                                          \
    GRAD2_TEST(OP, per_col, TOL) {                                             \
        return reduce_build(c, gm_##OP, GM_AXIS_PER_COL, 2);                   \
    }                                                                          \
    GRAD2_TEST(OP, three_d_per_row, TOL) {                                     \
        return reduce_build(c, gm_##OP, GM_AXIS_PER_ROW, 3);                   \
    }                                                                          \
    GRAD2_TEST(OP, one_d_per_col, TOL) {                                       \
        return reduce_build(c, gm_##OP, GM_AXIS_PER_COL, 1);                   \
    }

REDUCE_GRAD2_TESTS(sum)
REDUCE_GRAD2_TESTS(mean)

GRAD2_TEST(logsumexp_rows, matrix, TOL) {
    gm_node *x = leaf(c, (int[]){rand_dim(c, 1, 4), rand_dim(c, 1, 5)}, 2, ANY);
    return gm_logsumexp_rows(c->g, x);
}

/* ---- shape ------------------------------------------------------------- */

GRAD2_TEST(reshape, matrix_to_3d, TOL) {
    int rows = rand_dim(c, 1, 3), cols = rand_dim(c, 1, 3);
    gm_node *x = leaf(c, (int[]){2 * rows, cols}, 2, ANY);
    /* squared first: a reshape of a leaf alone has a constant gradient */
    return gm_reshape(c->g, gm_square(c->g, x), (int[]){2, rows, cols}, 3);
}

GRAD2_TEST(slice_cols, middle, TOL) {
    int rows = rand_dim(c, 1, 4), cols = rand_dim(c, 3, 6);
    int start = rand_dim(c, 0, cols - 1), len = rand_dim(c, 1, cols - start);
    gm_node *x = leaf(c, (int[]){rows, cols}, 2, ANY);
    return gm_slice_cols(c->g, gm_exp(c->g, x), start, len);
}

GRAD2_TEST(concat_cols, three_inputs, TOL) {
    int rows = rand_dim(c, 1, 4);
    gm_node *a = leaf(c, (int[]){rows, rand_dim(c, 1, 3)}, 2, ANY);
    gm_node *b = leaf(c, (int[]){rows, rand_dim(c, 1, 3)}, 2, ANY);
    gm_node *xs[3] = {a, gm_tanh(c->g, b), a};
    return gm_concat_cols(c->g, xs, 3);
}

/* ---- convolutions ------------------------------------------------------ */

/* conv2d (or conv_transpose2d) of x [N, C_in, H, W] by a k x k kernel to
 * c_out channels, with a bias or not. x and the bias are leaves; the
 * weight is a parameter only, as its gradient is not built as nodes
 * (grad2_errors): the Hessian check varies it through the built input
 * gradient. */
static gm_node *conv_build(g2_case *c, bool transpose, const int x_dims[4],
                           int c_out, int k, int stride, int pad, bool bias) {
    gm_node *x = leaf(c, x_dims, 4, ANY);
    int c_in = x_dims[1];
    gm_node *w = param(
        c, transpose ? (int[]){c_in, c_out, k, k} : (int[]){c_out, c_in, k, k},
        4, KERNEL);
    gm_node *b = bias ? leaf(c, (int[]){c_out}, 1, ANY) : NULL;
    return transpose ? gm_conv_transpose2d(c->g, x, w, b, stride, pad)
                     : gm_conv2d(c->g, x, w, b, stride, pad);
}

GRAD2_TEST(conv2d, stride_1, TOL) {
    int x[4] = {rand_dim(c, 1, 2), rand_dim(c, 1, 2), rand_dim(c, 3, 5),
                rand_dim(c, 3, 5)};
    return conv_build(c, false, x, rand_dim(c, 1, 3), rand_dim(c, 1, 3), 1, 0,
                      false);
}
GRAD2_TEST(conv2d, padding_1_bias, TOL) {
    int x[4] = {rand_dim(c, 1, 2), rand_dim(c, 1, 2), rand_dim(c, 2, 4),
                rand_dim(c, 2, 4)};
    return conv_build(c, false, x, rand_dim(c, 1, 3), 3, 1, 1, true);
}
/* Rows that the stride covers exactly, a last column it leaves unread:
 * the input gradient's transposed convolution pads its output by 1. */
GRAD2_TEST(conv2d, stride_2_padding_1, TOL) {
    return conv_build(c, false, (int[]){2, 2, 5, 6}, 2, 3, 2, 1, true);
}
/* 1 row and 2 columns unread. */
GRAD2_TEST(conv2d, stride_3_uneven, TOL) {
    return conv_build(c, false, (int[]){1, 2, 7, 8}, 2, 2, 3, 1, false);
}

GRAD2_TEST(conv_transpose2d, stride_1, TOL) {
    int x[4] = {rand_dim(c, 1, 2), rand_dim(c, 1, 2), rand_dim(c, 2, 4),
                rand_dim(c, 2, 4)};
    return conv_build(c, true, x, rand_dim(c, 1, 3), rand_dim(c, 1, 3), 1, 0,
                      false);
}
GRAD2_TEST(conv_transpose2d, stride_2_padding_1_bias, TOL) {
    return conv_build(c, true, (int[]){2, 2, 3, 4}, 3, 3, 2, 1, true);
}
GRAD2_TEST(conv_transpose2d, stride_3, TOL) {
    return conv_build(c, true, (int[]){1, 2, 3, 3}, 2, 4, 3, 1, false);
}
/* gm_grad's own conv_transpose2d with output padding (the input gradient
 * of conv2d/stride_3_uneven), differentiated again: its builder's conv2d
 * must give back the adjoint's shape. */
GRAD2_TEST(conv_transpose2d, output_padding_of_a_built_gradient, TOL_CURVED) {
    gm_node *x = leaf(c, (int[]){1, 2, 7, 8}, 4, ANY);
    gm_node *w = param(c, (int[]){2, 2, 2, 2}, 4, KERNEL);
    gm_node *h = gm_tanh(c->g, gm_conv2d(c->g, x, w, NULL, 3, 1));
    gm_node *dx = NULL;
    gm_error err = {0};
    cr_assert_eq(gm_grad(c->g, gm_sum(c->g, h, GM_AXIS_ALL), &x, 1, &dx, &err),
                 GM_OK, "%s", err.message);
    return dx;
}

GRAD2_TEST(bias_channels, nchw, TOL) {
    int ch = rand_dim(c, 1, 3);
    gm_node *x = leaf(c,
                      (int[]){rand_dim(c, 1, 2), ch, rand_dim(c, 1, 3),
                              rand_dim(c, 1, 3)},
                      4, ANY);
    return gm_bias_channels(c->g, x, leaf(c, (int[]){ch}, 1, ANY));
}
GRAD2_TEST(bias_channels, matrix, TOL) {
    int ch = rand_dim(c, 1, 4);
    gm_node *x = leaf(c, (int[]){rand_dim(c, 1, 3), ch}, 2, ANY);
    return gm_bias_channels(c->g, x, leaf(c, (int[]){ch}, 1, ANY));
}

/* ---- which ops have builders ------------------------------------------- */

/* Ops that pass no gradient (GM_OP_STOP_GRAD): gm_grad never asks them. */
static const char *const STOP_GRADIENT[] = {"detach", "step"};

/* Ops without a builder, and why: gm_grad names them when a loss asks
 * to differentiate through them. */
static const struct {
    const char *op, *why;
} WITHOUT_BUILDER[] = {
    {"batch_norm", "rows coupled by the batch statistics: per-row "
                   "input-gradient penalties are undefined with it"},
    {"bce_with_logits", "a loss: the last op of a graph, not inside a critic"},
    {"gaussian_nll", "a loss"},
    {"gaussian_nll_fixed", "a loss"},
    {"kl_normal_std", "a loss"},
    {"softmax_cross_entropy", "a loss"},
    {"randn", "a source of noise: it has no inputs to differentiate by"},
    {"rand_uniform", "a source of noise, as randn"},
    {"rand_categorical", "a source of noise, as randn"},
};

static bool listed(const char *const *names, size_t n, const char *op) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], op) == 0) return true;
    return false;
}

static bool has_grad2_test(const char *op) {
    for (const char *const *t = __start_gm_grad2_test_ops;
         t < __stop_gm_grad2_test_ops; t++)
        if (strcmp(*t, op) == 0) return true;
    return false;
}

static bool without_builder(const char *op) {
    for (size_t i = 0; i < sizeof WITHOUT_BUILDER / sizeof *WITHOUT_BUILDER;
         i++)
        if (strcmp(WITHOUT_BUILDER[i].op, op) == 0) return true;
    return false;
}

Test(grad2_coverage, every_op_has_a_builder_and_a_test_or_is_listed) {
    size_t n_stop = sizeof STOP_GRADIENT / sizeof *STOP_GRADIENT;
    for (int i = 0; i < GM_OP_COUNT; i++) {
        const gm_op_def *def = gm_op_table[i];
        if (def->flags & GM_OP_STOP_GRAD) {
            cr_assert(listed(STOP_GRADIENT, n_stop, def->name),
                      "op '%s' passes no gradient: list it in STOP_GRADIENT",
                      def->name);
        } else if (def->grad) {
            cr_assert(has_grad2_test(def->name),
                      "op '%s' has a gradient builder and no GRAD2_TEST",
                      def->name);
            cr_assert_not(without_builder(def->name),
                          "op '%s' has a builder: take it off WITHOUT_BUILDER",
                          def->name);
        } else {
            cr_assert(without_builder(def->name),
                      "op '%s' has no gradient builder: write one (and a "
                      "GRAD2_TEST) or list it in WITHOUT_BUILDER with why",
                      def->name);
        }
    }
    for (const char *const *t = __start_gm_grad2_test_ops;
         t < __stop_gm_grad2_test_ops; t++) {
        bool known = false;
        for (int i = 0; i < GM_OP_COUNT; i++)
            known = known || strcmp(gm_op_table[i]->name, *t) == 0;
        cr_assert(known, "GRAD2_TEST(%s, ...): no such op", *t);
    }
}

/* Whether `word` is a whole word (of letters, digits and _) in text. */
static bool has_word(const char *text, size_t len, const char *word) {
    size_t n = strlen(word);
    for (const char *at = text; at + n <= text + len; at++) {
        if (strncmp(at, word, n) != 0) continue;
        bool left =
            at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        bool right = at + n == text + len ||
                     !(isalnum((unsigned char)at[n]) || at[n] == '_');
        if (left && right) return true;
    }
    return false;
}

/* docs/architecture.md's "Gradients as nodes" lists the ops with a
 * builder after "Ops with a builder:" and those without after "Without
 * one": each op that passes gradients is in the right list only. */
Test(grad2_coverage, the_docs_list_the_ops_with_and_without_builders) {
    FILE *f = fopen(GM_SOURCE_DIR "/docs/architecture.md", "r");
    cr_assert_not_null(f);
    static char doc[1 << 18];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';
    const char *with = strstr(doc, "Ops with a builder:");
    const char *without = with ? strstr(with, "Without one") : NULL;
    const char *end =
        without ? strstr(without, "tests/test_ops_grad2.c") : NULL;
    cr_assert(with && without && end,
              "docs/architecture.md: the Gradients as nodes paragraph lists "
              "\"Ops with a builder:\", then \"Without one\", then names "
              "tests/test_ops_grad2.c");
    for (int i = 0; i < GM_OP_COUNT; i++) {
        const gm_op_def *def = gm_op_table[i];
        if (def->flags & GM_OP_STOP_GRAD) continue;
        bool in_with = has_word(with, (size_t)(without - with), def->name);
        bool in_without = has_word(without, (size_t)(end - without), def->name);
        cr_assert(def->grad ? in_with && !in_without : in_without && !in_with,
                  "docs/architecture.md lists op '%s' %s; it has %s builder",
                  def->name,
                  in_with ? (in_without ? "both with and without a builder"
                                        : "with a builder")
                          : (in_without ? "without a builder" : "nowhere"),
                  def->grad ? "a" : "no");
    }
}

/* ---- gm_grad itself ---------------------------------------------------- */

Test(grad2_errors, an_op_without_a_builder_is_named_with_its_node) {
    gm_graph *g = gm_graph_create("critic");
    const float ones[3] = {1.0f, 1.0f, 1.0f}, zeros[3] = {0};
    gm_node *x = gm_input(g, "x", (int[]){4, 3}, 2);
    gm_node *gamma = gm_constant(g, NULL, (int[]){3}, 1, ones);
    gm_node *beta = gm_constant(g, NULL, (int[]){3}, 1, zeros);
    gm_node *mean = gm_constant(g, NULL, (int[]){3}, 1, zeros);
    gm_node *var = gm_constant(g, NULL, (int[]){3}, 1, ones);
    gm_node *h = gm_node_set_name(
        gm_batch_norm(g, x, gamma, beta, mean, var, true, 0.1f, 1e-5f), "bn1");
    gm_node *y = gm_sum(g, gm_tanh(g, h), GM_AXIS_ALL);
    gm_node *dx = NULL;
    gm_error err = {0};
    cr_assert_neq(gm_grad(g, y, &x, 1, &dx, &err), GM_OK);
    cr_assert(strstr(err.message, "op 'batch_norm' (node 'bn1') has no "
                                  "gradient builder"),
              "%s", err.message);
    /* recorded in the graph, as a failing build call's error */
    cr_assert_not_null(gm_graph_error(g));
    cr_assert_neq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_free(g);
}

/* A convolution's weight gradient is not built as nodes: asked for it,
 * gm_grad names the op, the node (by name, or by number) and the input;
 * the input and bias gradients of the same node are built. */
static void check_weight_error(bool transpose, const char *name,
                               const char *want) {
    gm_graph *g = gm_graph_create("critic");
    gm_params *p = gm_params_create("D");
    int wi = gm_params_add(p, "w", (int[]){2, 2, 3, 3}, 4, NULL);
    int bi = gm_params_add(p, "b", (int[]){2}, 1, NULL);
    gm_node *x = gm_input(g, "x", (int[]){1, 2, 5, 5}, 4);
    gm_node *w = gm_param(g, p, wi), *b = gm_param(g, p, bi);
    gm_node *h = transpose ? gm_conv_transpose2d(g, x, w, b, 2, 1)
                           : gm_conv2d(g, x, w, b, 2, 1);
    if (name) gm_node_set_name(h, name);
    gm_node *y = gm_sum(g, gm_tanh(g, h), GM_AXIS_ALL);
    gm_node *xb[2] = {x, b}, *d[2] = {NULL, NULL};
    cr_assert_eq(gm_grad(g, y, xb, 2, d, NULL), GM_OK);
    gm_node *dw = NULL;
    gm_error err = {0};
    cr_assert_eq(gm_grad(g, y, &w, 1, &dw, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, want), "%s", err.message);
    cr_assert_not_null(gm_graph_error(g));
    cr_assert_neq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_free(g);
    gm_params_free(p);
}

Test(grad2_errors, a_convolutions_weight_gradient_is_named) {
    check_weight_error(false, "c1",
                       "conv2d (node 'c1'): the gradient with respect to its "
                       "weights is not built as nodes yet");
    check_weight_error(true, NULL,
                       "conv_transpose2d (node #3): the gradient with respect "
                       "to its weights is not built as nodes yet");
}

/* No path from x to y through ops that pass gradients: zeros, and no
 * builder is asked (conv2d lies on no path). */
Test(grad2_errors, no_path_gives_zeros) {
    gm_graph *g = gm_graph_create("nopath");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *u = gm_input(g, "u", (int[]){1, 1, 3, 3}, 4);
    gm_node *w = gm_input(g, "w", (int[]){1, 1, 2, 2}, 4);
    gm_node *y = gm_add(g, gm_sum(g, gm_exp(g, gm_detach(g, x)), GM_AXIS_ALL),
                        gm_sum(g, gm_conv2d(g, u, w, NULL, 1, 0), GM_AXIS_ALL));
    gm_node *dx = NULL;
    cr_assert_eq(gm_grad(g, y, &x, 1, &dx, NULL), GM_OK);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(gm_node_data(dx)[i], 0.0f);
    gm_graph_free(g);
}

Test(grad2_errors, needs_a_scalar_before_compile) {
    gm_graph *g = gm_graph_create("bad");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *dx = NULL;
    gm_error err = {0};
    cr_assert_eq(gm_grad(g, gm_exp(g, x), &x, 1, &dx, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "[1] node"), "%s", err.message);
    gm_graph_free(g);
}

/* affine_relu's builder masks the adjoint once for all three inputs, and
 * relu's and leaky_relu's as one relu_mask node (no step chains). */
static int count_op(const gm_graph *g, const char *op) {
    int k = 0;
    for (int i = 0; i < gm_graph_node_count(g); i++)
        k += strcmp(gm_node_op_name(gm_graph_node(g, i)), op) == 0;
    return k;
}

Test(grad2_builders, one_mask_per_relu_node) {
    gm_graph *g = gm_graph_create("masks");
    gm_params *p = gm_params_create("P");
    int wi = gm_params_add(p, "w", (int[]){4, 3}, 2, NULL);
    int bi = gm_params_add(p, "b", (int[]){4}, 1, NULL);
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *w = gm_param(g, p, wi), *b = gm_param(g, p, bi);
    gm_node *h = gm_leaky_relu(g, gm_relu(g, gm_affine_relu(g, x, w, b)), 0.2f);
    gm_node *y = gm_sum(g, h, GM_AXIS_ALL);
    gm_node *xs[3] = {x, w, b}, *d[3];
    cr_assert_eq(gm_grad(g, y, xs, 3, d, NULL), GM_OK);
    cr_assert_eq(count_op(g, "relu_mask"), 3);
    cr_assert_eq(count_op(g, "step"), 0);
    gm_graph_free(g);
    gm_params_free(p);
}

/* d/dx of gm_grad's own output by gm_grad again: d2/dx2 sum(x^3) = 6x. */
Test(grad2_twice, third_power) {
    gm_graph *g = gm_graph_create("twice");
    const float xv[4] = {-1.0f, 0.5f, 2.0f, 3.0f};
    gm_node *x = gm_constant(g, "x", (int[]){4}, 1, xv);
    gm_node *y = gm_sum(g, gm_mul(g, gm_square(g, x), x), GM_AXIS_ALL);
    gm_node *dx = NULL, *ddx = NULL;
    cr_assert_eq(gm_grad(g, y, &x, 1, &dx, NULL), GM_OK);
    cr_assert_eq(gm_grad(g, gm_sum(g, dx, GM_AXIS_ALL), &x, 1, &ddx, NULL),
                 GM_OK);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(gm_node_data(dx)[i], 3.0f * xv[i] * xv[i], 1e-5f);
        cr_assert_float_eq(gm_node_data(ddx)[i], 6.0f * xv[i], 1e-5f);
    }
    gm_graph_free(g);
}

/* ---- a WGAN-GP gradient penalty ---------------------------------------- */

/* D(x) = affine(affine_relu(x, W1, b1), W2, b2) scores rows of x_hat;
 * penalty = mean over rows of (||d sum(D(x_hat)) / d x_hat_row||_2 - 1)^2.
 * Its gradient with respect to D's weights, by the ordinary backward
 * through the built gradient, against central differences. */
Test(grad2_wgan_gp, penalty_gradient_matches_central_differences) {
    for (int via = 0; via < 2; via++) {
        g2_case c;
        case_begin(&c, "wgan_gp", 0, via);
        int rows = 4, dim = 3, hidden = 5;
        gm_node *w1 = leaf(&c, (int[]){hidden, dim}, 2, SMALL);
        gm_node *b1 = leaf(&c, (int[]){hidden}, 1, BIG_BIAS);
        gm_node *w2 = leaf(&c, (int[]){1, hidden}, 2, ANY);
        gm_node *b2 = leaf(&c, (int[]){1}, 1, ANY);
        gm_shape xs;
        gm_shape_make(&xs, (int[]){rows, dim}, 2);
        gm_node *x_hat = fixed(&c, &xs, ANY);
        gm_node *d = gm_affine(c.g, gm_affine_relu(c.g, x_hat, w1, b1), w2, b2);
        gm_node *dx = NULL;
        gm_error err = {0};
        cr_assert_eq(
            gm_grad(c.g, gm_sum(c.g, d, GM_AXIS_ALL), &x_hat, 1, &dx, &err),
            GM_OK, "%s", err.message);
        gm_node *norm =
            gm_sqrt(c.g, gm_sum(c.g, gm_square(c.g, dx), GM_AXIS_PER_ROW));
        gm_node *penalty = gm_mean(
            c.g, gm_square(c.g, gm_add_scalar(c.g, norm, -1.0f)), GM_AXIS_ALL);
        GM_GRADCHECK_ASSERT(c.g, c.p, penalty, c.label, TOL);
        case_end(&c);
    }
}

/* A DCGAN-style convolutional critic on 1x8x8 images: conv2d 4x4 stride 2
 * (with its bias) + leaky_relu, conv2d 3x3 + bias_channels + leaky_relu,
 * flattened, affine to a score; the same penalty, its gradient with
 * respect to every weight by the ordinary backward through the built
 * input gradient (conv_transpose2d with output padding for the second
 * convolution's stride 2 over 4 pixels), against central differences.
 * Small weights and inputs and biases of 1 to 2 keep every
 * pre-activation away from leaky_relu's kink, where the penalty jumps. */
Test(grad2_wgan_gp, convolutional_critic_matches_central_differences) {
    for (int via = 0; via < 2; via++) {
        g2_case c;
        case_begin(&c, "wgan_gp_conv", 0, via);
        int rows = 3;
        gm_node *w1 = param(&c, (int[]){4, 1, 4, 4}, 4, SMALL);
        gm_node *b1 = param(&c, (int[]){4}, 1, BIG_BIAS);
        gm_node *w2 = param(&c, (int[]){4, 4, 3, 3}, 4, (range){-0.1f, 0.1f, 0});
        gm_node *b2 = param(&c, (int[]){4}, 1, BIG_BIAS);
        gm_node *w3 = param(&c, (int[]){1, 16}, 2, ANY);
        gm_node *b3 = param(&c, (int[]){1}, 1, ANY);
        gm_shape xs;
        gm_shape_make(&xs, (int[]){rows, 1, 8, 8}, 4);
        gm_node *x_hat = fixed(&c, &xs, SMALL);
        gm_node *h1 = gm_leaky_relu(
            c.g, gm_conv2d(c.g, x_hat, w1, b1, 2, 1), 0.2f); /* [3,4,4,4] */
        gm_node *h2 = gm_leaky_relu(
            c.g, gm_bias_channels(c.g, gm_conv2d(c.g, h1, w2, NULL, 2, 1), b2),
            0.2f); /* [3, 4, 2, 2] */
        gm_node *d = gm_affine(
            c.g, gm_reshape(c.g, h2, (int[]){rows, 16}, 2), w3, b3);
        gm_node *dx = NULL;
        gm_error err = {0};
        cr_assert_eq(
            gm_grad(c.g, gm_sum(c.g, d, GM_AXIS_ALL), &x_hat, 1, &dx, &err),
            GM_OK, "%s", err.message);
        gm_node *flat = gm_reshape(c.g, dx, (int[]){rows, 64}, 2);
        gm_node *norm =
            gm_sqrt(c.g, gm_sum(c.g, gm_square(c.g, flat), GM_AXIS_PER_ROW));
        gm_node *penalty = gm_mean(
            c.g, gm_square(c.g, gm_add_scalar(c.g, norm, -1.0f)), GM_AXIS_ALL);
        cr_assert(graph_has_op(c.g, "conv_transpose2d"));
        GM_GRADCHECK_ASSERT(c.g, c.p, penalty, c.label, TOL);
        case_end(&c);
    }
}

/* ---- a network with its weights as nodes: unrolled SGD steps ----------- */

/* The network `spec` (2 features -> 1 score) in the case's group, its
 * weights first the group's parameter nodes. */
static void unrolled_net(g2_case *c, const gm_net_spec *spec, gm_net *net,
                         gm_node **theta) {
    gm_error err = {0};
    cr_assert_eq(gm_net_init(net, c->p, NULL, "D", 2, spec, &c->rng, &err),
                 GM_OK, "%s", err.message);
    for (int v = 0; v < gm_params_count(c->p); v++)
        theta[v] = gm_param(c->g, c->p, v);
}

/* The unrolled GAN's discriminator after `steps` SGD steps of size lr on
 * its non-saturating loss, mean softplus(-D(real)) + mean softplus(D(fake)),
 * scoring the fake rows: the fake rows are parameters of the case's group
 * (a generator's output), so the central differences vary them and D's
 * starting weights, through every step's built gradient. */
static void check_unrolled(const char *label, const gm_net_spec *spec,
                           int steps) {
    for (int t = 0; t < TRIALS; t++) {
        g2_case c;
        case_begin(&c, label, t, false);
        gm_net net;
        gm_node *theta[2 * GM_NET_MAX_LAYERS], *grads[2 * GM_NET_MAX_LAYERS];
        unrolled_net(&c, spec, &net, theta);
        int n = gm_params_count(c.p), rows = 4;
        gm_node *fake = param(&c, (int[]){rows, 2}, 2, ANY);
        gm_shape rs;
        gm_shape_make(&rs, (int[]){rows, 2}, 2);
        gm_node *real = fixed(&c, &rs, ANY);
        for (int s = 0; s < steps; s++) {
            gm_node *dr = gm_net_forward_nodes(c.g, &net, theta, real);
            gm_node *df = gm_net_forward_nodes(c.g, &net, theta, fake);
            gm_node *loss = gm_add(
                c.g, gm_mean(c.g, gm_softplus(c.g, gm_neg(c.g, dr)), GM_AXIS_ALL),
                gm_mean(c.g, gm_softplus(c.g, df), GM_AXIS_ALL));
            gm_error err = {0};
            cr_assert_eq(gm_grad(c.g, loss, theta, n, grads, &err), GM_OK,
                         "%s: %s", c.label, err.message);
            for (int v = 0; v < n; v++)
                theta[v] =
                    gm_sub(c.g, theta[v], gm_scale(c.g, grads[v], 0.5f));
        }
        gm_node *score = gm_net_forward_nodes(c.g, &net, theta, fake);
        const gm_error *e = gm_graph_error(c.g);
        cr_assert_null(e, "%s: %s", c.label, e ? e->message : "");
        GM_GRADCHECK_ASSERT(c.g, c.p, score, c.label, TOL);
        case_end(&c);
    }
}

Test(grad2_unrolled, mlp_through_sgd_steps) {
    gm_net_spec tanh = {.hidden = {5, 4}, .n_hidden = 2,
                        .activation = GM_ACT_TANH, .out = 1};
    check_unrolled("unrolled_mlp_tanh", &tanh, 2);
    gm_net_spec sigmoid = {.hidden = {6}, .n_hidden = 1,
                           .activation = GM_ACT_SIGMOID, .out = 1};
    check_unrolled("unrolled_mlp_sigmoid", &sigmoid, 3);
}

/* A layer list: linear + tanh, linear without bias + softplus, linear to
 * the score. (Smooth activations: the built gradient of a kinked one
 * jumps where a pre-activation crosses its kink, which central
 * differences over random weights cannot step over; their builders have
 * their own checks above.) */
Test(grad2_unrolled, layer_list_through_sgd_steps) {
    gm_net_spec list = {
        .layers = {{.kind = GM_LAYER_LINEAR, .out = 5},
                   {.kind = GM_LAYER_TANH},
                   {.kind = GM_LAYER_LINEAR, .out = 4, .no_bias = true},
                   {.kind = GM_LAYER_SOFTPLUS},
                   {.kind = GM_LAYER_LINEAR, .out = 1}},
        .n_layers = 5,
        .out = 1};
    check_unrolled("unrolled_layers", &list, 2);
}

/* With the group's own parameter nodes as its weights, the forward is
 * gm_net_forward's, node for node. */
Test(grad2_unrolled, own_parameters_give_the_plain_forward) {
    g2_case c;
    case_begin(&c, "unrolled_same", 0, false);
    gm_net_spec spec = {.hidden = {5}, .n_hidden = 1,
                        .activation = GM_ACT_RELU, .out = 1};
    gm_net net;
    gm_node *theta[2 * GM_NET_MAX_LAYERS];
    unrolled_net(&c, &spec, &net, theta);
    gm_shape rs;
    gm_shape_make(&rs, (int[]){3, 2}, 2);
    gm_node *x = fixed(&c, &rs, ANY);
    gm_node *a = gm_net_forward(c.g, &net, x);
    gm_node *b = gm_net_forward_nodes(c.g, &net, theta, x);
    cr_assert_eq(gm_graph_compile(c.g, NULL), GM_OK);
    gm_graph_forward(c.g);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gm_node_data(a)[i], gm_node_data(b)[i]);
    case_end(&c);
}

/* A weight of the wrong shape is named with its view. */
Test(grad2_unrolled, a_misshapen_weight_is_named) {
    g2_case c;
    case_begin(&c, "unrolled_shape", 0, false);
    gm_net_spec spec = {.hidden = {5}, .n_hidden = 1,
                        .activation = GM_ACT_TANH, .out = 1};
    gm_net net;
    gm_node *theta[2 * GM_NET_MAX_LAYERS];
    unrolled_net(&c, &spec, &net, theta);
    theta[1] = gm_constant(c.g, NULL, (int[]){4}, 1,
                           (const float[]){0, 0, 0, 0});
    gm_shape rs;
    gm_shape_make(&rs, (int[]){3, 2}, 2);
    cr_assert_null(gm_net_forward_nodes(c.g, &net, theta, fixed(&c, &rs, ANY)));
    const gm_error *e = gm_graph_error(c.g);
    cr_assert_not_null(e);
    cr_assert(strstr(e->message, "weight 1 ('D.0.bias') has shape [4], its "
                                 "view [5]"),
              "%s", e->message);
    case_end(&c);
}

/* Unrolling a convolutional or batch-normed discriminator needs the
 * gradient by its weights as nodes, which gm_grad does not build yet:
 * the error names what is missing. */
static void check_unroll_error(const gm_net_spec *spec, int in, bool stats,
                               const char *op, const char *want) {
    g2_case c;
    case_begin(&c, "unrolled_error", 0, false);
    gm_params *st = stats ? gm_params_create("S") : NULL;
    gm_net net;
    gm_error err = {0};
    cr_assert_eq(gm_net_init(&net, c.p, st, "D", in, spec, &c.rng, &err), GM_OK,
                 "%s", err.message);
    int n = gm_params_count(c.p);
    gm_node *theta[2 * GM_NET_MAX_LAYERS], *grads[2 * GM_NET_MAX_LAYERS];
    for (int v = 0; v < n; v++) theta[v] = gm_param(c.g, c.p, v);
    gm_node *x = gm_input(c.g, "x", (int[]){2, in}, 2);
    gm_node *y = gm_sum(c.g, gm_net_forward_nodes(c.g, &net, theta, x),
                        GM_AXIS_ALL);
    cr_assert_neq(gm_grad(c.g, y, theta, n, grads, &err), GM_OK);
    cr_assert(strstr(err.message, op) && strstr(err.message, want), "%s",
              err.message);
    gm_params_free(st);
    case_end(&c);
}

Test(grad2_unrolled, convolution_and_batch_norm_errors_name_the_op) {
    gm_net_spec conv = {
        .layers = {{.kind = GM_LAYER_RESHAPE, .shape = {1, 4, 4}, .ndim = 3},
                   {.kind = GM_LAYER_CONV2D, .out = 2, .kernel = 3,
                    .stride = 1, .padding = 1},
                   {.kind = GM_LAYER_FLATTEN},
                   {.kind = GM_LAYER_LINEAR, .out = 1}},
        .n_layers = 4,
        .out = 1};
    check_unroll_error(&conv, 16, false, "gm_grad: conv2d (node #",
                       "the gradient with respect to its weights is not "
                       "built as nodes yet");
    gm_net_spec bn = {.layers = {{.kind = GM_LAYER_LINEAR, .out = 3},
                                 {.kind = GM_LAYER_BATCH_NORM},
                                 {.kind = GM_LAYER_LINEAR, .out = 1}},
                      .n_layers = 3,
                      .out = 1};
    check_unroll_error(&bn, 2, true, "gm_grad: op 'batch_norm' (node #",
                       "has no gradient builder");
}
