/* Forward values of every op family against numbers worked out by hand
 * (small integers), with Python's math module (e.g. 1000 + math.log(2),
 * 0.5 * (math.log(2 * math.pi) + 1)), written into the tests, or, for
 * convolutions and batch norm, with PyTorch in double precision
 * (tests/fixtures/conv_reference.py); and the errors the graph API returns
 * for bad shapes, unknown names and bad losses. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/conv_reference.h" /* PyTorch's numbers */
#include "gm/gm.h"

/* Values of order 1 must match to float precision. */
#define TOL 1e-5

static gm_node *cst(gm_graph *g, const int *shape, int ndim, const float *v) {
    return gm_constant(g, NULL, shape, ndim, v);
}

static void run(gm_graph *g) {
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_graph_forward(g);
}

/* n has shape `shape` and |n[i] - want[i]| <= tol for every element. */
static void expect(gm_node *n, const int *shape, int ndim, const double *want,
                   double tol) {
    gm_shape s;
    char a[64], b[64];
    cr_assert_not_null(n);
    cr_assert(gm_shape_make(&s, shape, ndim));
    cr_assert(gm_shape_equal(gm_node_shape(n), &s), "%s: shape %s, want %s",
              gm_node_op_name(n), gm_shape_str(gm_node_shape(n), a, sizeof a),
              gm_shape_str(&s, b, sizeof b));
    const float *y = gm_node_data(n);
    for (size_t i = 0; i < gm_node_numel(n); i++)
        cr_assert(isfinite(y[i]) && fabs(y[i] - want[i]) <= tol,
                  "%s: element %zu is %.9g, want %.9g", gm_node_op_name(n), i,
                  (double)y[i], want[i]);
}

/* x = [[1, 2, 3], [4, 5, 6]] */
static const float X23[] = {1, 2, 3, 4, 5, 6};

/* ---- matmul ------------------------------------------------------------ */

/* [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]], with
 * each operand stored as is or transposed. */

static const double PRODUCT[] = {58, 64, 139, 154};

static void matmul_layout(bool ta, bool tb) {
    static const float at[] = {1, 4, 2, 5, 3, 6};    /* A^T, [3, 2] */
    static const float bm[] = {7, 8, 9, 10, 11, 12}; /* B, [3, 2] */
    static const float bt[] = {7, 9, 11, 8, 10, 12}; /* B^T, [2, 3] */
    gm_graph *g = gm_graph_create("matmul");
    gm_node *a =
        ta ? cst(g, (int[]){3, 2}, 2, at) : cst(g, (int[]){2, 3}, 2, X23);
    gm_node *b =
        tb ? cst(g, (int[]){2, 3}, 2, bt) : cst(g, (int[]){3, 2}, 2, bm);
    gm_node *y = gm_matmul(g, a, b, ta, tb);
    run(g);
    expect(y, (int[]){2, 2}, 2, PRODUCT, 1e-4);
    gm_graph_free(g);
}

Test(forward_matmul, a_b) { matmul_layout(false, false); }
Test(forward_matmul, a_transposed) { matmul_layout(true, false); }
Test(forward_matmul, b_transposed) { matmul_layout(false, true); }
Test(forward_matmul, both_transposed) { matmul_layout(true, true); }

/* ---- arithmetic and broadcasting --------------------------------------- */

Test(forward_arith, add_broadcasts_rows_columns_and_scalars) {
    gm_graph *g = gm_graph_create("add");
    gm_node *x = cst(g, (int[]){2, 3}, 2, X23);
    gm_node *row = cst(g, (int[]){3}, 1, (float[]){10, 20, 30});
    gm_node *row2 = cst(g, (int[]){1, 3}, 2, (float[]){10, 20, 30});
    gm_node *col = cst(g, (int[]){2, 1}, 2, (float[]){100, 200});
    gm_node *sc = gm_scalar(g, 0.5f);
    gm_node *y_row = gm_add_bcast(g, x, row);
    gm_node *y_row2 = gm_add_bcast(g, row2, x);
    gm_node *y_col = gm_add_bcast(g, x, col), *y_sc = gm_add(g, sc, x);
    run(g);
    const double by_row[] = {11, 22, 33, 14, 25, 36};
    expect(y_row, (int[]){2, 3}, 2, by_row, TOL);
    expect(y_row2, (int[]){2, 3}, 2, by_row, TOL);
    expect(y_col, (int[]){2, 3}, 2, (double[]){101, 102, 103, 204, 205, 206},
           TOL);
    expect(y_sc, (int[]){2, 3}, 2, (double[]){1.5, 2.5, 3.5, 4.5, 5.5, 6.5},
           TOL);
    gm_graph_free(g);
}

/* The broadcast operand first: row - x, col / x, not x - row. */
Test(forward_arith, sub_mul_div_with_broadcast_operand_first) {
    gm_graph *g = gm_graph_create("arith");
    gm_node *x = cst(g, (int[]){2, 3}, 2, X23);
    gm_node *row = cst(g, (int[]){3}, 1, (float[]){10, 20, 30});
    gm_node *col = cst(g, (int[]){2, 1}, 2, (float[]){12, 60});
    gm_node *d = gm_sub_bcast(g, row, x), *q = gm_div_bcast(g, col, x);
    gm_node *p = gm_mul_bcast(g, col, x);
    gm_node *r = gm_div(g, x, gm_scalar(g, 4.0f));
    run(g);
    expect(d, (int[]){2, 3}, 2, (double[]){9, 18, 27, 6, 15, 24}, TOL);
    expect(q, (int[]){2, 3}, 2, (double[]){12, 6, 4, 15, 12, 10}, TOL);
    expect(p, (int[]){2, 3}, 2, (double[]){12, 24, 36, 240, 300, 360}, 1e-4);
    expect(r, (int[]){2, 3}, 2, (double[]){0.25, 0.5, 0.75, 1, 1.25, 1.5}, TOL);
    gm_graph_free(g);
}

/* Element-wise ops view [2, 2, 2] as 4 rows of 2: a column [2, 2, 1]
 * repeats over the last axis, a row [2] over the first two. */
Test(forward_arith, three_d_broadcast) {
    gm_graph *g = gm_graph_create("3d");
    gm_node *x = cst(g, (int[]){2, 2, 2}, 3, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    gm_node *col = cst(g, (int[]){2, 2, 1}, 3, (float[]){10, 20, 30, 40});
    gm_node *row = cst(g, (int[]){2}, 1, (float[]){100, 200});
    gm_node *y = gm_add_bcast(g, gm_add_bcast(g, x, col), row);
    run(g);
    expect(y, (int[]){2, 2, 2}, 3,
           (double[]){111, 212, 123, 224, 135, 236, 147, 248}, 1e-4);
    gm_graph_free(g);
}

/* Without _bcast, a column or row is not repeated: [2, 1] + [2, 3] is an
 * error naming the op, both nodes and both shapes, as is a row. */
Test(forward_arith, repeating_a_column_or_row_must_be_asked_for) {
    const int shapes[2][2] = {{2, 1}, {1, 3}};
    const char *want[2] = {"add of 'logit' [2, 1] and 'h' [2, 3]",
                           "add of 'logit' [1, 3] and 'h' [2, 3]"};
    for (int k = 0; k < 2; k++) {
        gm_graph *g = gm_graph_create("strict");
        gm_node *small =
            gm_node_set_name(gm_input(g, "in", shapes[k], 2), "logit");
        gm_node *h = gm_input(g, "h", (int[]){2, 3}, 2);
        cr_assert_null(gm_add(g, small, h));
        const gm_error *e = gm_graph_error(g);
        cr_assert_not_null(e);
        cr_assert(strstr(e->message, want[k]), "%s", e->message);
        cr_assert(strstr(e->message, "gm_add_bcast"), "%s", e->message);
        gm_graph_free(g);
    }
}

/* Equal sizes of different rank: the result has the larger rank whichever
 * operand comes first. */
Test(forward_arith, broadcast_shape_does_not_depend_on_operand_order) {
    gm_graph *g = gm_graph_create("order");
    gm_node *v = cst(g, (int[]){3}, 1, (float[]){1, 2, 3});
    gm_node *r = cst(g, (int[]){1, 3}, 2, (float[]){4, 5, 6});
    gm_node *s = gm_scalar(g, 2.0f);
    gm_node *s11 = cst(g, (int[]){1, 1}, 2, (float[]){3});
    gm_node *a = gm_add(g, v, r), *b = gm_add(g, r, v);
    gm_node *c = gm_mul(g, s, s11), *d = gm_mul(g, s11, s);
    run(g);
    expect(a, (int[]){1, 3}, 2, (double[]){5, 7, 9}, TOL);
    expect(b, (int[]){1, 3}, 2, (double[]){5, 7, 9}, TOL);
    expect(c, (int[]){1, 1}, 2, (double[]){6}, TOL);
    expect(d, (int[]){1, 1}, 2, (double[]){6}, TOL);
    gm_graph_free(g);
}

Test(forward_arith, scale_shift_negate) {
    gm_graph *g = gm_graph_create("unary");
    gm_node *x = cst(g, (int[]){3}, 1, (float[]){1, -2, 3});
    gm_node *a = gm_scale(g, x, 2.5f), *b = gm_add_scalar(g, x, -0.5f);
    gm_node *c = gm_neg(g, x);
    run(g);
    expect(a, (int[]){3}, 1, (double[]){2.5, -5, 7.5}, TOL);
    expect(b, (int[]){3}, 1, (double[]){0.5, -2.5, 2.5}, TOL);
    expect(c, (int[]){3}, 1, (double[]){-1, 2, -3}, TOL);
    gm_graph_free(g);
}

/* ---- element-wise math (Python: math.exp, math.log, math.sqrt) --------- */

Test(forward_math, exp_log_square_sqrt_abs) {
    gm_graph *g = gm_graph_create("math");
    gm_node *e = gm_exp(g, cst(g, (int[]){4}, 1, (float[]){0, 1, 2, -1}));
    gm_node *l = gm_log(g, cst(g, (int[]){3}, 1, (float[]){1, 10, 0.5f}));
    gm_node *sq = gm_square(g, cst(g, (int[]){2}, 1, (float[]){-3, 0.5f}));
    gm_node *rt = gm_sqrt(g, cst(g, (int[]){2}, 1, (float[]){4, 2}));
    gm_node *ab = gm_abs(g, cst(g, (int[]){3}, 1, (float[]){-1.5f, 2, 0}));
    run(g);
    expect(
        e, (int[]){4}, 1,
        (double[]){1, 2.718281828459045, 7.38905609893065, 0.36787944117144233},
        TOL);
    expect(l, (int[]){3}, 1,
           (double[]){0, 2.302585092994046, -0.6931471805599453}, TOL);
    expect(sq, (int[]){2}, 1, (double[]){9, 0.25}, TOL);
    expect(rt, (int[]){2}, 1, (double[]){2, 1.4142135623730951}, TOL);
    expect(ab, (int[]){3}, 1, (double[]){1.5, 2, 0}, 0.0);
    gm_graph_free(g);
}

/* ---- activations ------------------------------------------------------- */

Test(forward_activation, relu_and_leaky_relu_slope) {
    gm_graph *g = gm_graph_create("relu");
    gm_node *x = cst(g, (int[]){4}, 1, (float[]){-2, 3, 0, -0.5f});
    gm_node *r = gm_relu(g, x), *lr = gm_leaky_relu(g, x, 0.1f);
    run(g);
    expect(r, (int[]){4}, 1, (double[]){0, 3, 0, 0}, 0.0);
    expect(lr, (int[]){4}, 1, (double[]){-0.2, 3, 0, -0.05}, 1e-7);
    gm_graph_free(g);
}

/* step(x) = 1 where x > 0, else 0, also at 0 and -0; NaN is not > 0. */
Test(forward_activation, step_is_one_above_zero) {
    gm_graph *g = gm_graph_create("step");
    gm_node *x =
        cst(g, (int[]){2, 3}, 2, (float[]){-2, 3, 0, -0.0f, 1e-30f, -1e-30f});
    gm_node *y = gm_step(g, x);
    run(g);
    expect(y, (int[]){2, 3}, 2, (double[]){0, 1, 0, 0, 1, 0}, 0.0);
    gm_graph_free(g);
}

/* elu(x) = x for x > 0, alpha (e^x - 1) otherwise (Python: math.expm1). */
Test(forward_activation, elu) {
    gm_graph *g = gm_graph_create("elu");
    gm_node *x = cst(g, (int[]){4}, 1, (float[]){-1, 0, 2, -2});
    gm_node *e1 = gm_elu(g, x, 1.0f), *eh = gm_elu(g, x, 0.5f);
    run(g);
    expect(e1, (int[]){4}, 1,
           (double[]){-0.6321205588285577, 0, 2, -0.8646647167633873}, TOL);
    expect(eh, (int[]){4}, 1,
           (double[]){-0.31606027941427883, 0, 2, -0.43233235838169365}, TOL);
    gm_graph_free(g);
}

Test(forward_activation, sigmoid_and_tanh) {
    gm_graph *g = gm_graph_create("sigmoid");
    gm_node *x = cst(g, (int[]){5}, 1, (float[]){0, 2, -2, 100, -100});
    gm_node *s = gm_sigmoid(g, x);
    gm_node *t = gm_tanh(g, cst(g, (int[]){3}, 1, (float[]){0, 1, -0.5f}));
    run(g);
    expect(s, (int[]){5}, 1,
           (double[]){0.5, 0.8807970779778823, 0.11920292202211755, 1, 0}, TOL);
    expect(t, (int[]){3}, 1,
           (double[]){0, 0.7615941559557649, -0.46211715726000974}, TOL);
    gm_graph_free(g);
}

/* softplus(x) = log(1 + e^x): 100 at x = 100 (e^100 overflows float), about
 * e^-100 at x = -100; log_sigmoid(x) = -softplus(-x). */
Test(forward_activation, softplus_and_log_sigmoid_stable_at_100) {
    gm_graph *g = gm_graph_create("softplus");
    gm_node *x = cst(g, (int[]){5}, 1, (float[]){100, -100, 0, 2, -3});
    gm_node *sp = gm_softplus(g, x), *ls = gm_log_sigmoid(g, x);
    run(g);
    expect(sp, (int[]){5}, 1,
           (double[]){100, 0, 0.6931471805599453, 2.1269280110429727,
                      0.04858735157374206},
           TOL);
    expect(ls, (int[]){5}, 1,
           (double[]){0, -100, -0.6931471805599453, -0.1269280110429727,
                      -3.048587351573742},
           TOL);
    cr_assert(gm_node_data(sp)[1] >= 0.0f && gm_node_data(sp)[1] < 1e-30f);
    gm_graph_free(g);
}

/* ---- reductions -------------------------------------------------------- */

Test(forward_reduce, sum_per_axis) {
    gm_graph *g = gm_graph_create("sum");
    gm_node *x = cst(g, (int[]){2, 3}, 2, X23);
    gm_node *all = gm_sum(g, x, GM_AXIS_ALL);
    gm_node *rows = gm_sum(g, x, GM_AXIS_PER_ROW);
    gm_node *cols = gm_sum(g, x, GM_AXIS_PER_COL);
    run(g);
    expect(all, (int[]){1}, 1, (double[]){21}, TOL);
    expect(rows, (int[]){2, 1}, 2, (double[]){6, 15}, TOL);
    expect(cols, (int[]){1, 3}, 2, (double[]){5, 7, 9}, TOL);
    gm_graph_free(g);
}

Test(forward_reduce, mean_per_axis) {
    gm_graph *g = gm_graph_create("mean");
    gm_node *x = cst(g, (int[]){2, 3}, 2, X23);
    gm_node *all = gm_mean(g, x, GM_AXIS_ALL);
    gm_node *rows = gm_mean(g, x, GM_AXIS_PER_ROW);
    gm_node *cols = gm_mean(g, x, GM_AXIS_PER_COL);
    run(g);
    expect(all, (int[]){1}, 1, (double[]){3.5}, TOL);
    expect(rows, (int[]){2, 1}, 2, (double[]){2, 5}, TOL);
    expect(cols, (int[]){1, 3}, 2, (double[]){2.5, 3.5, 4.5}, TOL);
    gm_graph_free(g);
}

/* A [2, 2, 2] tensor is 4 rows of 2. */
Test(forward_reduce, three_d_reduces_as_a_matrix) {
    gm_graph *g = gm_graph_create("sum3d");
    gm_node *x = cst(g, (int[]){2, 2, 2}, 3, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    gm_node *rows = gm_sum(g, x, GM_AXIS_PER_ROW);
    gm_node *cols = gm_mean(g, x, GM_AXIS_PER_COL);
    run(g);
    expect(rows, (int[]){4, 1}, 2, (double[]){3, 7, 11, 15}, TOL);
    expect(cols, (int[]){1, 2}, 2, (double[]){4, 5}, TOL);
    gm_graph_free(g);
}

/* Python: math.log(sum(math.exp(v) for v in row)); rows of +-1000 are
 * 1000 + math.log(2) and -1000 + math.log(2), not inf or -inf. */
Test(forward_reduce, logsumexp_rows_no_overflow) {
    gm_graph *g = gm_graph_create("lse");
    gm_node *big = gm_logsumexp_rows(
        g, cst(g, (int[]){2, 2}, 2, (float[]){1000, 1000, -1000, -1000}));
    gm_node *mixed = gm_logsumexp_rows(
        g, cst(g, (int[]){2, 4}, 2, (float[]){1, 2, 3, -50, -1, 0.5f, 2, -3}));
    gm_node *one =
        gm_logsumexp_rows(g, cst(g, (int[]){3}, 1, (float[]){7, 7, 7}));
    run(g);
    /* ulp(1000) is 6e-5 in float. */
    expect(big, (int[]){2, 1}, 2,
           (double[]){1000.6931471805599, -999.3068528194401}, 1e-4);
    expect(mixed, (int[]){2, 1}, 2,
           (double[]){3.40760596444438, 2.2465906475097994}, TOL);
    expect(one, (int[]){1, 1}, 2, (double[]){8.09861228866811}, TOL);
    gm_graph_free(g);
}

/* ---- shape ops --------------------------------------------------------- */

Test(forward_shape, slice_concat_reshape_detach) {
    gm_graph *g = gm_graph_create("shape");
    gm_node *x = cst(g, (int[]){2, 3}, 2, X23);
    gm_node *s = gm_slice_cols(g, x, 1, 2);
    gm_node *parts[3] = {s, x, gm_slice_cols(g, x, 0, 1)};
    gm_node *c = gm_concat_cols(g, parts, 3);
    gm_node *r = gm_reshape(g, x, (int[]){3, 2}, 2);
    gm_node *f = gm_reshape(g, x, (int[]){6}, 1);
    gm_node *d = gm_detach(g, x);
    run(g);
    expect(s, (int[]){2, 2}, 2, (double[]){2, 3, 5, 6}, 0.0);
    expect(c, (int[]){2, 6}, 2, (double[]){2, 3, 1, 2, 3, 1, 5, 6, 4, 5, 6, 4},
           0.0);
    expect(r, (int[]){3, 2}, 2, (double[]){1, 2, 3, 4, 5, 6}, 0.0);
    expect(f, (int[]){6}, 1, (double[]){1, 2, 3, 4, 5, 6}, 0.0);
    expect(d, (int[]){2, 3}, 2, (double[]){1, 2, 3, 4, 5, 6}, 0.0);
    gm_graph_free(g);
}

/* ---- likelihoods and divergences: closed forms ------------------------- */

/* bce(z, t) = -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)); Python:
 * max(z, 0) - z * t + math.log1p(math.exp(-abs(z))). */
Test(forward_loss, bce_with_logits_stable_at_100) {
    gm_graph *g = gm_graph_create("bce");
    gm_node *z =
        cst(g, (int[]){7}, 1, (float[]){100, 100, -100, -100, 0, 2, -1.5f});
    gm_node *t = cst(g, (int[]){7}, 1, (float[]){0, 1, 0, 1, 0.5f, 0.3f, 0.8f});
    gm_node *y = gm_bce_with_logits(g, z, t);
    gm_node *yb = gm_bce_with_logits(
        g, cst(g, (int[]){2, 2}, 2, (float[]){0, 2, 0, 2}), gm_scalar(g, 1.0f));
    run(g);
    expect(y, (int[]){7}, 1,
           (double[]){100, 0, 0, 100, 0.6931471805599453, 1.5269280110429724,
                      1.4014132779827526},
           TOL);
    expect(yb, (int[]){2, 2}, 2,
           (double[]){0.6931471805599453, 0.1269280110429727,
                      0.6931471805599453, 0.1269280110429727},
           TOL);
    gm_graph_free(g);
}

/* logsumexp(z) - z[label] per row; Python: math.log(math.exp(1) +
 * math.exp(2) + math.exp(3)) - 3 = 0.40760596444438013, 100 + math.log(1 +
 * math.exp(-100) + math.exp(-200)) - 0 = 100, math.log(2). A label that
 * is not a class (3 of 3 classes, 0.5) gives NaN, not a read past the
 * row. */
Test(forward_loss, softmax_cross_entropy_stable_and_guarded) {
    gm_graph *g = gm_graph_create("ce");
    gm_node *z = cst(g, (int[]){3, 3}, 2,
                     (float[]){1, 2, 3, 100, 0, -100, 0, 0, -INFINITY});
    gm_node *y = gm_softmax_cross_entropy(
        g, z, cst(g, (int[]){3}, 1, (float[]){2, 1, 0}));
    gm_node *bad = gm_softmax_cross_entropy(
        g, z, cst(g, (int[]){3, 1}, 2, (float[]){3, 0.5f, -1}));
    run(g);
    expect(y, (int[]){3, 1}, 2,
           (double[]){0.40760596444438013, 100, 0.6931471805599453}, TOL);
    for (int r = 0; r < 3; r++)
        cr_assert(isnan(gm_node_data(bad)[r]), "row %d: %g", r,
                  gm_node_data(bad)[r]);
    gm_graph_free(g);
}

/* 0.5 (log 2pi + lv + (x - m)^2 e^-lv). Python with L = math.log(2*math.pi):
 * 0.5*(L+1) = 1.4189385332046727 (x=1, m=0, lv=0);
 * 0.5*(L+math.log(4)+0.25) = 1.737085713764618 (x=2, m=1, lv=log 4). */
Test(forward_loss, gaussian_nll_full_logvar) {
    gm_graph *g = gm_graph_create("gnll");
    gm_node *x = cst(g, (int[]){2}, 1, (float[]){1, 2});
    gm_node *m = cst(g, (int[]){2}, 1, (float[]){0, 1});
    gm_node *lv = cst(g, (int[]){2}, 1, (float[]){0, 1.3862943611198906f});
    gm_node *y = gm_gaussian_nll(g, x, m, lv);
    run(g);
    expect(y, (int[]){2}, 1, (double[]){1.4189385332046727, 1.737085713764618},
           TOL);
    gm_graph_free(g);
}

/* logvar per column ([cols]) and one for all ([1]): x = [[0.3, 1], [1, 0.3]],
 * mean -0.2, logvar [0.7, -0.4]. Python: 0.5*(L+0.7+0.25*math.exp(-0.7)) =
 * 1.331011696178599, 0.5*(L-0.4+1.44*math.exp(0.4)) = 1.7930523155063873. */
Test(forward_loss, gaussian_nll_broadcast_logvar) {
    gm_graph *g = gm_graph_create("gnll");
    gm_node *x = cst(g, (int[]){2, 2}, 2, (float[]){0.3f, 1, 1, 0.3f});
    gm_node *m = gm_scalar(g, -0.2f);
    gm_node *lv_col = cst(g, (int[]){2}, 1, (float[]){0.7f, -0.4f});
    gm_node *by_col = gm_gaussian_nll(g, x, m, lv_col);
    gm_node *by_all = gm_gaussian_nll(g, x, m, gm_scalar(g, 0.7f));
    run(g);
    /* x = 1, lv = 0.7: 0.5*(L+0.7+1.44*math.exp(-0.7)) = 1.6264849... */
    double a = 1.331011696178599, b = 1.7930523155063873;
    double c = 0.5 * (1.8378770664093453 + 0.7 + 1.44 * 0.4965853037914095);
    double d = 0.5 * (1.8378770664093453 - 0.4 + 0.25 * 1.4918246976412703);
    expect(by_col, (int[]){2, 2}, 2, (double[]){a, b, c, d}, TOL);
    expect(by_all, (int[]){2, 2}, 2, (double[]){a, c, c, a}, TOL);
    gm_graph_free(g);
}

/* Fixed logvar -0.5, x - m = 1: 0.5*(L-0.5+math.exp(0.5)) =
 * 1.4932991685547368; x = m: 0.5*(L-0.5) = 0.6689385332046727. */
Test(forward_loss, gaussian_nll_fixed) {
    gm_graph *g = gm_graph_create("gnll_fixed");
    gm_node *x = cst(g, (int[]){2}, 1, (float[]){0.5f, 3});
    gm_node *m = cst(g, (int[]){2}, 1, (float[]){-0.5f, 3});
    gm_node *y = gm_gaussian_nll_fixed(g, x, m, -0.5f);
    run(g);
    expect(y, (int[]){2}, 1, (double[]){1.4932991685547368, 0.6689385332046727},
           TOL);
    gm_graph_free(g);
}

/* -0.5 (1 + lv - mu^2 - e^lv): 0 at the prior, mu^2 / 2 at lv = 0;
 * Python: -0.5*(1+math.log(2)-0.25-2) = 0.2784264097200273 and
 * -0.5*(1-1-1-math.exp(-1)) = 0.6839397205857212. */
Test(forward_loss, kl_normal_std) {
    gm_graph *g = gm_graph_create("kl");
    gm_node *mu = cst(g, (int[]){4}, 1, (float[]){0, 1, 0.5f, -1});
    gm_node *lv =
        cst(g, (int[]){4}, 1, (float[]){0, 0, 0.6931471805599453f, -1});
    gm_node *y = gm_kl_normal_std(g, mu, lv);
    run(g);
    expect(y, (int[]){4}, 1,
           (double[]){0, 0.5, 0.2784264097200273, 0.6839397205857212}, TOL);
    gm_graph_free(g);
}

/* ---- randomness -------------------------------------------------------- */

Test(forward_random, randn_holds_noise_only_when_asked) {
    gm_graph *g = gm_graph_create("randn");
    gm_rng parent = gm_rng_stream(42, "noise");
    gm_node *eps = gm_randn(g, "eps", (int[]){64}, 1, &parent);
    run(g);
    float first[64];
    memcpy(first, gm_node_data(eps), sizeof first);
    gm_graph_forward(g);
    cr_assert(memcmp(first, gm_node_data(eps), sizeof first) != 0,
              "a forward without hold must draw new noise");
    memcpy(first, gm_node_data(eps), sizeof first);
    gm_graph_hold_noise(g, true);
    gm_graph_forward(g);
    cr_assert_arr_eq(gm_node_data(eps), first, sizeof first);
    gm_graph_free(g);
}

/* The same parent seed gives the same draw; 4096 draws look standard
 * normal (mean within 0.1 of 0, variance within 0.1 of 1). */
Test(forward_random, randn_is_seeded_and_standard) {
    float *draws[2];
    gm_graph *gs[2];
    for (int k = 0; k < 2; k++) {
        gs[k] = gm_graph_create("randn");
        gm_rng parent = gm_rng_stream(7, "noise");
        gm_node *eps = gm_randn(gs[k], "eps", (int[]){64, 64}, 2, &parent);
        run(gs[k]);
        draws[k] = gm_node_data(eps);
    }
    cr_assert_arr_eq(draws[0], draws[1], 4096 * sizeof(float));
    double s = 0, s2 = 0;
    for (int i = 0; i < 4096; i++) {
        s += draws[0][i];
        s2 += (double)draws[0][i] * draws[0][i];
    }
    double mean = s / 4096, var = s2 / 4096 - mean * mean;
    cr_assert(fabs(mean) < 0.1 && fabs(var - 1) < 0.1, "mean %g var %g", mean,
              var);
    gm_graph_free(gs[0]);
    gm_graph_free(gs[1]);
}

/* The same parent seed gives the same draw; 4096 draws lie in [0, 1] and
 * look uniform (mean within 0.02 of 1/2, variance within 0.01 of 1/12,
 * each quarter of [0, 1] within 0.03 of a quarter of the draws); a held
 * graph keeps its draw. */
Test(forward_random, rand_uniform_is_seeded_uniform_and_held) {
    float *draws[2];
    gm_graph *gs[2];
    for (int k = 0; k < 2; k++) {
        gs[k] = gm_graph_create("rand_uniform");
        gm_rng parent = gm_rng_stream(7, "noise");
        gm_node *eps =
            gm_rand_uniform(gs[k], "eps", (int[]){64, 64}, 2, &parent);
        run(gs[k]);
        draws[k] = gm_node_data(eps);
    }
    cr_assert_arr_eq(draws[0], draws[1], 4096 * sizeof(float));
    double s = 0, s2 = 0;
    int quarters[4] = {0};
    for (int i = 0; i < 4096; i++) {
        float u = draws[0][i];
        cr_assert(u >= 0.0f && u <= 1.0f, "draw %d: %g", i, u);
        s += u;
        s2 += (double)u * u;
        quarters[u < 1.0f ? (int)(u * 4) : 3]++;
    }
    double mean = s / 4096, var = s2 / 4096 - mean * mean;
    cr_assert(fabs(mean - 0.5) < 0.02 && fabs(var - 1.0 / 12) < 0.01,
              "mean %g var %g", mean, var);
    for (int q = 0; q < 4; q++)
        cr_assert(fabs(quarters[q] / 4096.0 - 0.25) < 0.03,
                  "quarter %d holds %d of 4096 draws", q, quarters[q]);
    float first[4096];
    memcpy(first, draws[0], sizeof first);
    gm_graph_forward(gs[0]);
    cr_assert(memcmp(first, draws[0], sizeof first) != 0,
              "a forward without hold must draw anew");
    memcpy(first, draws[0], sizeof first);
    gm_graph_hold_noise(gs[0], true);
    gm_graph_forward(gs[0]);
    cr_assert_arr_eq(draws[0], first, sizeof first);
    gm_graph_free(gs[0]);
    gm_graph_free(gs[1]);
}

/* ---- errors of the API ------------------------------------------------- */

/* The build error names the op and both shapes; later ops return NULL
 * too and compile returns the same error. */
static void expect_shape_error(gm_graph *g, gm_node *n, const char *op,
                               const char *sa, const char *sb) {
    cr_assert_null(n, "%s should fail", op);
    const gm_error *e = gm_graph_error(g);
    cr_assert_not_null(e);
    cr_assert_eq(e->status, GM_ERR_SHAPE, "%s", e->message);
    cr_assert(strstr(e->message, op), "no '%s' in: %s", op, e->message);
    cr_assert(strstr(e->message, sa), "no '%s' in: %s", sa, e->message);
    cr_assert(!sb || strstr(e->message, sb), "no '%s' in: %s", sb, e->message);
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_ERR_SHAPE);
    cr_assert_str_eq(err.message, e->message);
}

Test(forward_errors, matmul_inner_dimensions) {
    gm_graph *g = gm_graph_create("g");
    gm_node *a = gm_input(g, "a", (int[]){2, 3}, 2);
    gm_node *b = gm_input(g, "b", (int[]){4, 5}, 2);
    gm_node *y = gm_matmul(g, a, b, false, false);
    cr_assert_null(gm_exp(g, y));
    expect_shape_error(g, y, "matmul", "[2, 3]", "[4, 5]");
    gm_graph_free(g);
}

Test(forward_errors, matmul_needs_2d) {
    gm_graph *g = gm_graph_create("g");
    gm_node *a = gm_input(g, "a", (int[]){2, 3, 4}, 3);
    gm_node *b = gm_input(g, "b", (int[]){4, 5}, 2);
    expect_shape_error(g, gm_matmul(g, a, b, false, false), "matmul",
                       "[2, 3, 4]", "[4, 5]");
    gm_graph_free(g);
}

Test(forward_errors, add_shapes_that_do_not_broadcast) {
    gm_graph *g = gm_graph_create("g");
    gm_node *a = gm_input(g, "a", (int[]){2, 3}, 2);
    gm_node *b = gm_input(g, "b", (int[]){3, 2}, 2);
    expect_shape_error(g, gm_add(g, a, b), "add", "[2, 3]", "[3, 2]");
    gm_graph_free(g);
}

Test(forward_errors, mul_with_a_wrong_column) {
    gm_graph *g = gm_graph_create("g");
    gm_node *a = gm_input(g, "a", (int[]){3, 1}, 2);
    gm_node *b = gm_input(g, "b", (int[]){2, 4}, 2);
    expect_shape_error(g, gm_mul(g, a, b), "mul", "[3, 1]", "[2, 4]");
    gm_graph_free(g);
}

Test(forward_errors, concat_rows_differ) {
    gm_graph *g = gm_graph_create("g");
    gm_node *xs[2] = {gm_input(g, "a", (int[]){2, 3}, 2),
                      gm_input(g, "b", (int[]){3, 1}, 2)};
    expect_shape_error(g, gm_concat_cols(g, xs, 2), "concat_cols", "[2, 3]",
                       "[3, 1]");
    gm_graph_free(g);
}

Test(forward_errors, slice_out_of_range) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    expect_shape_error(g, gm_slice_cols(g, x, 2, 2), "slice_cols", "[2, 3]",
                       "[2, 4)");
    gm_graph_free(g);
}

Test(forward_errors, reshape_to_another_size) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    expect_shape_error(g, gm_reshape(g, x, (int[]){4}, 1), "reshape", "[2, 3]",
                       "[4]");
    gm_graph_free(g);
}

Test(forward_errors, loss_operands_that_do_not_broadcast) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *lv = gm_input(g, "lv", (int[]){2}, 1);
    expect_shape_error(g, gm_gaussian_nll(g, x, x, lv), "gaussian_nll", "[2]",
                       "[2, 3]");
    gm_graph_free(g);
    g = gm_graph_create("g");
    x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *t = gm_input(g, "t", (int[]){4}, 1);
    expect_shape_error(g, gm_bce_with_logits(g, x, t), "bce_with_logits", "[4]",
                       "[2, 3]");
    gm_graph_free(g);
    g = gm_graph_create("g");
    x = gm_input(g, "x", (int[]){2, 3}, 2);
    lv = gm_input(g, "lv", (int[]){3, 3}, 2);
    expect_shape_error(g, gm_kl_normal_std(g, x, lv), "kl_normal_std", "[3, 3]",
                       "[2, 3]");
    gm_graph_free(g);
    g = gm_graph_create("g");
    x = gm_input(g, "x", (int[]){2, 3}, 2);
    t = gm_input(g, "labels", (int[]){3}, 1);
    expect_shape_error(g, gm_softmax_cross_entropy(g, x, t),
                       "softmax_cross_entropy", "[2, 3]", "[3]");
    gm_graph_free(g);
}

Test(forward_errors, find_unknown_name) {
    gm_graph *g = gm_graph_create("model");
    gm_node_set_name(gm_exp(g, gm_input(g, "x", (int[]){2}, 1)), "mu");
    gm_error err = {0};
    cr_assert_not_null(gm_graph_find(g, "mu", &err));
    cr_assert_null(gm_graph_find(g, "logvar", &err));
    cr_assert_eq(err.status, GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "'logvar'"), "%s", err.message);
    cr_assert_null(gm_graph_error(g), "a failed lookup is no build error");
    gm_graph_free(g);
}

Test(forward_errors, backward_needs_a_scalar_loss) {
    gm_graph *g = gm_graph_create("g");
    gm_params *p = gm_params_create("P");
    int w = gm_params_add(p, "w", (int[]){2, 3}, 2, NULL);
    gm_node *y = gm_exp(g, gm_param(g, p, w));
    gm_node *total = gm_sum(g, y, GM_AXIS_ALL);
    gm_error err = {0};
    cr_assert_eq(gm_graph_backward(g, total, &err), GM_ERR_STATE,
                 "backward before compile: %s", err.message);
    run(g);
    err = (gm_error){0};
    cr_assert_eq(gm_graph_backward(g, y, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "[1]"), "%s", err.message);
    err = (gm_error){0};
    cr_assert_eq(gm_graph_backward(g, total, &err), GM_OK, "%s", err.message);
    gm_graph_free(g);
    gm_params_free(p);
}

Test(forward_errors, backward_of_a_loss_without_parameters) {
    gm_graph *g = gm_graph_create("g");
    gm_node *loss = gm_node_set_name(
        gm_sum(g, gm_input(g, "x", (int[]){3}, 1), GM_AXIS_ALL), "loss");
    run(g);
    gm_error err = {0};
    cr_assert_eq(gm_graph_backward(g, loss, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "'loss'"), "%s", err.message);
    gm_graph_free(g);
}

/* affine: x [2, 3] W^T [3, 2] + b, by hand:
 * row 0: (1*1 + 2*0 + 3*-1, 1*2 + 2*1 + 3*0) + (0.5, -1) = (-1.5, 3)
 * row 1: (0*1 + -1*0 + 2*-1, 0*2 + -1*1 + 2*0) + (0.5, -1) = (-1.5, -2) */
Test(forward, affine_by_hand) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_constant(g, "x", (int[]){2, 3}, 2,
                             (const float[]){1, 2, 3, 0, -1, 2});
    gm_node *w = gm_constant(g, "w", (int[]){2, 3}, 2,
                             (const float[]){1, 0, -1, 2, 1, 0});
    gm_node *b = gm_constant(g, "b", (int[]){2}, 1, (const float[]){0.5f, -1});
    gm_node *y = gm_affine(g, x, w, b);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    const float want[4] = {-1.5f, 3, -1.5f, -2};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(gm_node_data(y)[i], want[i], 1e-6, "y[%d]", i);
    gm_graph_free(g);
}

/* affine_relu on the same numbers: relu((-1.5, 3), (-1.5, -2)) = (0, 3),
 * (0, 0). d sum(y): only unit 1 of row 0 is active, so dW = (0 0 0; 1 2 3)
 * (row 0 of x), db = (0, 1), and the node's own gradient is left masked:
 * (0, 1, 0, 0), the gradient of the pre-activation. */
Test(forward, affine_relu_by_hand) {
    gm_graph *g = gm_graph_create("g");
    gm_params *p = gm_params_create("p");
    int iw = gm_params_add(p, "w", (int[]){2, 3}, 2, NULL);
    int ib = gm_params_add(p, "b", (int[]){2}, 1, NULL);
    memcpy(gm_params_view_data(p, iw), (const float[]){1, 0, -1, 2, 1, 0},
           6 * sizeof(float));
    memcpy(gm_params_view_data(p, ib), (const float[]){0.5f, -1},
           2 * sizeof(float));
    gm_node *x = gm_constant(g, "x", (int[]){2, 3}, 2,
                             (const float[]){1, 2, 3, 0, -1, 2});
    gm_node *y = gm_affine_relu(g, x, gm_param(g, p, iw), gm_param(g, p, ib));
    gm_node *loss = gm_sum(g, y, GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    const float want[4] = {0, 3, 0, 0}, masked[4] = {0, 1, 0, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(gm_node_data(y)[i], want[i], 1e-6, "y[%d]", i);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    const float *dw = gm_params_grad(p), *db = dw + 6;
    const float want_dw[6] = {0, 0, 0, 1, 2, 3}, want_db[2] = {0, 1};
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(dw[i], want_dw[i], 1e-6);
    for (int i = 0; i < 2; i++)
        cr_assert_float_eq(db[i], want_db[i], 1e-6);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(gm_node_grad(y)[i], masked[i], 1e-6, "dy[%d]", i);
    gm_graph_free(g);
    gm_params_free(p);
}

Test(forward, affine_shape_error_names_all_three) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){4, 3}, 2);
    gm_node *w = gm_input(g, "w", (int[]){2, 5}, 2);
    gm_node *b = gm_input(g, "b", (int[]){2}, 1);
    cr_assert_null(gm_affine(g, x, w, b));
    const char *m = gm_graph_error(g)->message;
    cr_assert(strstr(m, "affine") && strstr(m, "[4, 3]") &&
                  strstr(m, "[2, 5]") && strstr(m, "[2]"),
              "%s", m);
    gm_graph_free(g);
}

/* ---- convolutions and batch norm against PyTorch ----------------------- */

/* A constant whose element i is float(0.5 sin(1.3 i + phase)) + offset,
 * the fill of conv_reference.py. */
static gm_node *wave(gm_graph *g, const int *shape, int ndim, double phase,
                     double offset) {
    gm_shape s;
    cr_assert(gm_shape_make(&s, shape, ndim));
    size_t n = gm_shape_numel(&s);
    float *v = malloc(n * sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(offset +
                       (double)(float)(0.5 * sin(1.3 * (double)i + phase)));
    gm_node *c = gm_constant(g, NULL, shape, ndim, v);
    free(v);
    return c;
}

Test(forward_conv, conv2d_stride_2_padding_1_bias) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){2, 3, 5, 6}, 4, 0.1, 0.0);
    gm_node *w = wave(g, (int[]){4, 3, 3, 2}, 4, 0.7, 0.0);
    gm_node *b = wave(g, (int[]){4}, 1, 0.3, 0.0);
    gm_node *y = gm_conv2d(g, x, w, b, 2, 1);
    run(g);
    expect(y, (int[]){2, 4, 3, 4}, 4, conv2d_s2p1, TOL);
    gm_graph_free(g);
}

Test(forward_conv, conv2d_stride_1_no_bias) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){1, 2, 4, 4}, 4, 0.2, 0.0);
    gm_node *w = wave(g, (int[]){3, 2, 3, 3}, 4, 0.9, 0.0);
    gm_node *y = gm_conv2d(g, x, w, NULL, 1, 0);
    run(g);
    expect(y, (int[]){1, 3, 2, 2}, 4, conv2d_s1p0, TOL);
    gm_graph_free(g);
}

Test(forward_conv, conv_transpose2d_stride_2_padding_1_bias) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){2, 3, 3, 4}, 4, 0.4, 0.0);
    gm_node *w = wave(g, (int[]){3, 2, 4, 4}, 4, 0.5, 0.0);
    gm_node *b = wave(g, (int[]){2}, 1, 0.6, 0.0);
    gm_node *y = gm_conv_transpose2d(g, x, w, b, 2, 1);
    run(g);
    expect(y, (int[]){2, 2, 6, 8}, 4, conv_transpose2d_s2p1, TOL);
    gm_graph_free(g);
}

Test(forward_conv, conv_transpose2d_stride_1_no_bias) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){1, 2, 2, 3}, 4, 0.8, 0.0);
    gm_node *w = wave(g, (int[]){2, 3, 3, 2}, 4, 0.15, 0.0);
    gm_node *y = gm_conv_transpose2d(g, x, w, NULL, 1, 0);
    run(g);
    expect(y, (int[]){1, 3, 4, 4}, 4, conv_transpose2d_s1p0, TOL);
    gm_graph_free(g);
}

/* Batches of three whose 132 patch columns per sample gm unrolls in
 * chunks of 2 and 1 samples, odd sides, stride 2 and padding 1. */
Test(forward_conv, conv2d_in_chunks_of_samples) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){3, 2, 23, 21}, 4, 0.12, 0.0);
    gm_node *w = wave(g, (int[]){2, 2, 3, 3}, 4, 0.34, 0.0);
    gm_node *b = wave(g, (int[]){2}, 1, 0.56, 0.0);
    gm_node *y = gm_conv2d(g, x, w, b, 2, 1);
    run(g);
    expect(y, (int[]){3, 2, 12, 11}, 4, conv2d_chunks, TOL);
    gm_graph_free(g);
}

Test(forward_conv, conv_transpose2d_in_chunks_of_samples) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){3, 2, 12, 11}, 4, 0.78, 0.0);
    gm_node *w = wave(g, (int[]){2, 1, 4, 4}, 4, 0.91, 0.0);
    gm_node *b = wave(g, (int[]){1}, 1, 0.23, 0.0);
    gm_node *y = gm_conv_transpose2d(g, x, w, b, 2, 1);
    run(g);
    expect(y, (int[]){3, 1, 24, 22}, 4, conv_transpose2d_chunks, TOL);
    gm_graph_free(g);
}

/* The same convolution of a batch of 7 (chunks of 2 samples, the last
 * alone) and of each sample on its own gives each sample's output. */
Test(forward_conv, batch_equals_samples_alone) {
    enum { N = 7, C = 3, H = 13, W = 12, CO = 2 };
    for (int transposed = 0; transposed <= 1; transposed++) {
        gm_graph *g = gm_graph_create("g");
        gm_node *x = wave(g, (int[]){N, C, H, W}, 4, 0.3, 0.0);
        gm_node *w = transposed ? wave(g, (int[]){C, CO, 3, 3}, 4, 0.6, 0.0)
                                : wave(g, (int[]){CO, C, 3, 3}, 4, 0.6, 0.0);
        gm_node *b = wave(g, (int[]){CO}, 1, 0.9, 0.0);
        gm_node *y = transposed ? gm_conv_transpose2d(g, x, w, b, 1, 1)
                                : gm_conv2d(g, x, w, b, 1, 1);
        gm_node *one[N];
        for (int s = 0; s < N; s++) {
            char name[16];
            snprintf(name, sizeof name, "x%d", s);
            gm_node *xs = gm_input(g, name, (int[]){1, C, H, W}, 4);
            one[s] = transposed ? gm_conv_transpose2d(g, xs, w, b, 1, 1)
                                : gm_conv2d(g, xs, w, b, 1, 1);
        }
        run(g); /* compiles: the inputs have memory */
        const float *xv = gm_node_data(x);
        for (int s = 0; s < N; s++)
            memcpy(gm_node_data(gm_node_input(one[s], 0)),
                   xv + (size_t)s * C * H * W, sizeof(float) * C * H * W);
        gm_graph_forward(g);
        size_t per = gm_node_numel(y) / N;
        double want[2 * 15 * 14];
        cr_assert(per <= sizeof want / sizeof want[0]);
        for (int s = 0; s < N; s++) {
            const float *ys = gm_node_data(y) + s * per;
            for (size_t i = 0; i < per; i++)
                want[i] = ys[i];
            expect(one[s], gm_node_shape(one[s])->dim, 4, want, TOL);
        }
        gm_graph_free(g);
    }
}

Test(forward_conv, bias_channels_by_hand) {
    gm_graph *g = gm_graph_create("g");
    const float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* [2, 2, 1, 2] */
    gm_node *x = cst(g, (int[]){2, 2, 1, 2}, 4, xv);
    gm_node *b = cst(g, (int[]){2}, 1, (const float[]){10, -10});
    gm_node *y = gm_bias_channels(g, x, b);
    run(g);
    expect(y, (int[]){2, 2, 1, 2}, 4,
           (const double[]){11, 12, -7, -6, 15, 16, -3, -2}, TOL);
    gm_graph_free(g);
}

Test(forward_errors, bias_channels_of_another_channel_count) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 2, 1, 2}, 4);
    gm_node *b = gm_input(g, "b", (int[]){3}, 1);
    cr_assert_null(gm_bias_channels(g, x, b));
    const char *m = gm_graph_error(g)->message;
    cr_assert(strstr(m, "bias_channels") && strstr(m, "[2, 2, 1, 2]") &&
                  strstr(m, "[3]"),
              "%s", m);
    gm_graph_free(g);
}

/* One training forward (output, then the running statistics it moved)
 * and one evaluation forward from the same initial statistics. */
static void batch_norm_against_torch(const int *shape, int ndim,
                                     const double *train, const double *mean,
                                     const double *var, const double *eval) {
    int c = shape[1];
    for (int training = 1; training >= 0; training--) {
        gm_graph *g = gm_graph_create("g");
        gm_node *x = wave(g, shape, ndim, 0.25, 0.0);
        gm_node *gamma = wave(g, (int[]){c}, 1, 0.35, 1.0);
        gm_node *beta = wave(g, (int[]){c}, 1, 0.45, 0.0);
        gm_node *rm = wave(g, (int[]){c}, 1, 0.55, 0.0);
        gm_node *rv = wave(g, (int[]){c}, 1, 0.65, 1.0);
        gm_node *y =
            gm_batch_norm(g, x, gamma, beta, rm, rv, training, 0.1f, 1e-5f);
        run(g);
        expect(y, shape, ndim, training ? train : eval, TOL);
        if (training) {
            expect(rm, (int[]){c}, 1, mean, TOL);
            expect(rv, (int[]){c}, 1, var, TOL);
        }
        gm_graph_free(g);
    }
}

Test(forward_norm, batch_norm_2d_train_and_eval) {
    batch_norm_against_torch((int[]){3, 2, 2, 3}, 4, batch_norm_train_nchw,
                             batch_norm_running_mean_nchw,
                             batch_norm_running_var_nchw, batch_norm_eval_nchw);
}

Test(forward_norm, batch_norm_1d_train_and_eval) {
    batch_norm_against_torch((int[]){4, 3}, 2, batch_norm_train_nc,
                             batch_norm_running_mean_nc,
                             batch_norm_running_var_nc, batch_norm_eval_nc);
}

/* 7x7 planes: more values per channel and sample than batch norm's 16
 * partial sums. */
Test(forward_norm, batch_norm_over_planes_in_lanes) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = wave(g, (int[]){3, 2, 7, 7}, 4, 0.45, 0.0);
    gm_node *gamma = wave(g, (int[]){2}, 1, 0.35, 1.0);
    gm_node *beta = wave(g, (int[]){2}, 1, 0.45, 0.0);
    gm_node *rm = wave(g, (int[]){2}, 1, 0.55, 0.0);
    gm_node *rv = wave(g, (int[]){2}, 1, 0.65, 1.0);
    gm_node *y = gm_batch_norm(g, x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
    run(g);
    expect(y, (int[]){3, 2, 7, 7}, 4, batch_norm_train_planes, TOL);
    expect(rv, (int[]){2}, 1, batch_norm_running_var_planes, TOL);
    gm_graph_free(g);
}

Test(forward_errors, conv2d_channels_differ) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 3, 8, 8}, 4);
    gm_node *w = gm_input(g, "w", (int[]){4, 2, 3, 3}, 4);
    cr_assert_null(gm_conv2d(g, x, w, NULL, 1, 0));
    const char *m = gm_graph_error(g)->message;
    cr_assert(strstr(m, "conv2d") && strstr(m, "[2, 3, 8, 8]") &&
                  strstr(m, "[4, 2, 3, 3]"),
              "%s", m);
    gm_graph_free(g);
}

Test(forward_errors, conv2d_kernel_larger_than_image) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){1, 1, 2, 2}, 4);
    gm_node *w = gm_input(g, "w", (int[]){1, 1, 5, 5}, 4);
    cr_assert_null(gm_conv2d(g, x, w, NULL, 1, 1));
    const char *m = gm_graph_error(g)->message;
    cr_assert(strstr(m, "5x5") && strstr(m, "[1, 1, 2, 2]"), "%s", m);
    gm_graph_free(g);
}

Test(forward_errors, batch_norm_channel_count) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){4, 3, 2, 2}, 4);
    gm_node *v2 = gm_input(g, "v2", (int[]){2}, 1);
    gm_node *v3 = gm_input(g, "v3", (int[]){3}, 1);
    cr_assert_null(gm_batch_norm(g, x, v3, v3, v2, v3, true, 0.1f, 1e-5f));
    const char *m = gm_graph_error(g)->message;
    cr_assert(strstr(m, "[4, 3, 2, 2]") && strstr(m, "running mean is [2]"),
              "%s", m);
    gm_graph_free(g);
}
