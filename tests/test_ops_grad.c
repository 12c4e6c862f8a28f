/* Gradients of every built-in op against central differences (see
 * support/gradcheck.h), on seeded random shapes (rows 1..5, cols 1..6, and
 * 3-D inputs for element-wise ops and reductions), every broadcasting form,
 * and inputs kept away from kinks and domain edges. Every case runs twice
 * (GRAD_TEST): with the op reading parameters, then with an intermediate
 * node in front of each parameter. The first tests show that the checker
 * itself catches a backward that is off by 1%, one that overwrites a
 * parameter's gradient and one that adds to a fresh gradient. */
#include <criterion/criterion.h>
#include <string.h>

#include "gm/gm.h"
#include "gradcheck.h"
#include "ops/grad_build.h"
#include "ops/op_table.h"

#define TRIALS 3

/* Value ranges for leaves: uniform in [lo, hi) with |x| >= min_abs. */
typedef struct range {
    float lo, hi, min_abs;
} range;

static const range ANY = {-1.5f, 1.5f, 0.0f};
static const range AWAY = {-2.0f, 2.0f, 0.1f};    /* relu, abs: no kink */
static const range POSITIVE = {0.3f, 2.0f, 0.0f}; /* log, sqrt */
static const range DIVISOR = {-2.0f, 2.0f, 0.5f};
static const range PROB = {0.0f, 1.0f, 0.0f}; /* bce targets */
static const range LOGVAR = {-1.0f, 1.0f, 0.0f};

static const gm_gradcheck_tol TOL = GM_GRADCHECK_DEFAULT;
/* Smaller step where the third derivative is large (1/x near 0.3). */
static const gm_gradcheck_tol TOL_CURVED = {5e-3f, 1e-3, 1e-4};

/* What the op under test reads for each leaf. A parameter's gradient
 * lives in its group and accumulates. An intermediate (the parameter + 0)
 * whose one consumer overwrites (GM_OP_OVERWRITES) has a "fresh" gradient
 * that nothing clears between backward passes: only there does an op that
 * adds to it instead of overwriting carry one step into the next. */
typedef enum leaf_mode { NO_MODE, PARAMETERS, INTERMEDIATES } leaf_mode;

/* Set by GRAD_TEST for its cases. Outside one it is NO_MODE: leaves are
 * parameters and case_check refuses, so no gradient test skips a mode. */
static leaf_mode grad_test_mode;
/* The op the running GRAD_TEST declares; case_check holds its cases to it. */
static const char *grad_test_op;

/* Every GRAD_TEST's op, gathered by the linker into one section (as
 * Criterion gathers its tests) so that every test process, whichever test
 * it runs, can list them: grad_coverage checks them against gm_op_table. */
extern const char *const __start_gm_grad_test_ops[];
extern const char *const __stop_gm_grad_test_ops[];

/* A gradient test of `op` (suite grad_<op>): its body runs every case with
 * parameters, then through intermediates, on the same shapes and values. */
#define GRAD_TEST(op, name)                                                    \
    __attribute__((used, section("gm_grad_test_ops"))) static const char      \
        *const grad_##op##_##name##_op = #op;                                  \
    static void grad_##op##_##name##_cases(void);                              \
    Test(grad_##op, name) {                                                    \
        grad_test_op = #op;                                                    \
        grad_test_mode = PARAMETERS;                                           \
        grad_##op##_##name##_cases();                                          \
        grad_test_mode = INTERMEDIATES;                                        \
        grad_##op##_##name##_cases();                                          \
        grad_test_mode = NO_MODE;                                              \
    }                                                                          \
    static void grad_##op##_##name##_cases(void)

/* One check: a graph, the group of leaves to check, how the op reads them,
 * a seeded stream for shapes and values, and a label naming op, case,
 * trial and mode. */
typedef struct gc_case {
    gm_graph *g;
    gm_params *p;
    leaf_mode mode;
    int n_intermediates;
    gm_rng rng;
    char label[128];
} gc_case;

static void case_begin_in(gc_case *c, leaf_mode mode, const char *label,
                          int trial) {
    c->mode = mode;
    c->n_intermediates = 0;
    snprintf(c->label, sizeof c->label, "%s #%d%s", label, trial,
             mode == INTERMEDIATES ? " via intermediates" : "");
    c->g = gm_graph_create(label);
    c->p = gm_params_create("P");
    cr_assert(c->g && c->p);
    /* Seeded without the mode: both modes see the same shapes and values. */
    c->rng = gm_rng_stream(20240601u + (uint64_t)trial, label);
}

static void case_begin(gc_case *c, const char *label, int trial) {
    case_begin_in(c, grad_test_mode, label, trial);
}

static void case_end(gc_case *c) {
    gm_graph_free(c->g);
    gm_params_free(c->p);
}

static int rand_dim(gc_case *c, int lo, int hi) {
    return lo + (int)gm_rng_below(&c->rng, (uint64_t)(hi - lo + 1));
}

/* The prefix of leaf_input's intermediates' names, which case_check
 * looks for. */
#define INTERMEDIATE "intermediate"

/* Parameter idx of `group` as the case's mode has ops read it. + 0 keeps
 * the values exactly, so each op's value ranges and tolerances hold. */
static gm_node *leaf_input(gc_case *c, gm_params *group, int idx) {
    gm_node *w = gm_param(c->g, group, idx);
    if (c->mode != INTERMEDIATES) return w;
    char name[32];
    snprintf(name, sizeof name, INTERMEDIATE "%d", c->n_intermediates++);
    return gm_node_set_name(gm_add_scalar(c->g, w, 0.0f), name);
}

/* A new leaf of the checked group with values drawn from v. */
static gm_node *leaf(gc_case *c, const int *shape, int ndim, range v) {
    char name[16];
    snprintf(name, sizeof name, "w%d", gm_params_count(c->p));
    gm_error err = {0};
    int idx = gm_params_add(c->p, name, shape, ndim, &err);
    cr_assert_geq(idx, 0, "%s", err.message);
    gm_gradcheck_fill(&c->rng, gm_params_view_data(c->p, idx),
                      gm_params_view(c->p, idx)->numel, v.lo, v.hi, v.min_abs);
    return leaf_input(c, c->p, idx);
}

/* A constant (no gradient) with values drawn from v. */
static gm_node *fixed(gc_case *c, const int *shape, int ndim, range v) {
    float data[256];
    gm_shape s;
    cr_assert(gm_shape_make(&s, shape, ndim) && gm_shape_numel(&s) <= 256);
    gm_gradcheck_fill(&c->rng, data, gm_shape_numel(&s), v.lo, v.hi, v.min_abs);
    return gm_constant(c->g, NULL, shape, ndim, data);
}

static bool graph_has_op(const gm_graph *g, const char *op) {
    for (int i = 0; i < gm_graph_node_count(g); i++)
        if (strcmp(gm_node_op_name(gm_graph_node(g, i)), op) == 0) return true;
    return false;
}

/* The first node other than leaf_input's intermediates that reads a
 * parameter, or NULL. */
static gm_node *parameter_reader(const gm_graph *g) {
    for (int i = 0; i < gm_graph_node_count(g); i++) {
        gm_node *n = gm_graph_node(g, i);
        if (strncmp(gm_node_name(n), INTERMEDIATE, strlen(INTERMEDIATE)) == 0)
            continue;
        for (int k = 0; k < gm_node_input_count(n); k++)
            if (gm_node_role(gm_node_input(n, k)) == GM_ROLE_PARAM) return n;
    }
    return NULL;
}

static void assert_shape(const gm_node *n, const int *dims, int ndim) {
    gm_shape want;
    char a[64], b[64];
    cr_assert(gm_shape_make(&want, dims, ndim));
    cr_assert(n, "node is NULL");
    cr_assert(gm_shape_equal(gm_node_shape(n), &want), "shape %s, want %s",
              gm_shape_str(gm_node_shape(n), a, sizeof a),
              gm_shape_str(&want, b, sizeof b));
}

/* Checks the case's gradient (its graph must use `op`, and in the
 * intermediates mode read parameters only through intermediates), then
 * frees it. */
static void case_check(gc_case *c, gm_node *out, const char *op,
                       gm_gradcheck_tol tol) {
    cr_assert_neq(c->mode, NO_MODE,
                  "%s: gradient cases run in a GRAD_TEST, which checks them "
                  "with parameters and through intermediates",
                  c->label);
    cr_assert_str_eq(op, grad_test_op,
                     "%s: a case of '%s' runs in GRAD_TEST(%s, ...)", c->label,
                     op, grad_test_op);
    const gm_error *e = gm_graph_error(c->g);
    cr_assert_null(e, "%s: %s", c->label, e ? e->message : "");
    cr_assert(graph_has_op(c->g, op), "%s: graph has no '%s' node", c->label,
              op);
    const gm_node *reader =
        c->mode == INTERMEDIATES ? parameter_reader(c->g) : NULL;
    cr_assert_null(reader,
                   "%s: a '%s' node reads a parameter, not an intermediate; "
                   "make leaves with leaf() or leaf_input()",
                   c->label, reader ? gm_node_op_name(reader) : "");
    GM_GRADCHECK_ASSERT(c->g, c->p, out, c->label, tol);
    case_end(c);
}

/* ---- the checker catches wrong backwards ------------------------------ */

/* y = x^2. p[0] scales the backward (1 is right); p[1] >= 0 scales only
 * that element. */
static gm_status sq_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    (void)err;
    *out = *gm_node_shape(gm_node_input(n, 0));
    return GM_OK;
}

static void sq_forward(gm_node *n) {
    const float *x = gm_node_data(gm_node_input(n, 0));
    float *y = gm_node_data(n);
    for (size_t i = 0; i < gm_node_numel(n); i++)
        y[i] = x[i] * x[i];
}

static void sq_backward(gm_node *n) {
    gm_node *in = gm_node_input(n, 0);
    float *dx = gm_node_grad(in);
    if (!dx) return;
    const float *x = gm_node_data(in), *dy = gm_node_grad(n);
    float factor = gm_node_param(n, 0);
    int only = (int)gm_node_param(n, 1);
    for (size_t i = 0; i < gm_node_numel(n); i++) {
        float f = only < 0 || (size_t)only == i ? factor : 1.0f;
        dx[i] += f * dy[i] * 2.0f * x[i];
    }
}

static const gm_op_def square_def = {
    .name = "square",
    .arity = 1,
    .shape = sq_shape,
    .forward = sq_forward,
    .backward = sq_backward,
};

static const gm_op_def square_no_backward_def = {
    .name = "square_no_backward",
    .arity = 1,
    .shape = sq_shape,
    .forward = sq_forward,
};

/* Writes (=) its input's gradient, fresh or not: right for a lone
 * consumer of a zeroed gradient, wrong once anything else adds to it. */
static void sq_assign_backward(gm_node *n) {
    gm_node *in = gm_node_input(n, 0);
    float *dx = gm_node_grad(in);
    if (!dx) return;
    const float *x = gm_node_data(in), *dy = gm_node_grad(n);
    for (size_t i = 0; i < gm_node_numel(n); i++)
        dx[i] = dy[i] * 2.0f * x[i];
}

static const gm_op_def square_assigns_def = {
    .name = "square_assigns",
    .arity = 1,
    .shape = sq_shape,
    .forward = sq_forward,
    .backward = sq_assign_backward,
};

/* Claims to overwrite a fresh input gradient but adds to it, the bug of
 * matmul's dB with B transposed: one step's gradient leaks into the next. */
static const gm_op_def square_adds_to_fresh_def = {
    .name = "square_adds_to_fresh",
    .arity = 1,
    .shape = sq_shape,
    .forward = sq_forward,
    .backward = sq_backward,
    .flags = GM_OP_OVERWRITES,
};

/* Runs the checker on custom square of a [2, 3] leaf. */
static bool check_custom_square(const gm_op_def *def, leaf_mode mode,
                                float factor, int only, char *msg, size_t n) {
    gc_case c;
    case_begin_in(&c, mode, "checker/square", 0);
    gm_node *x = leaf(&c, (int[]){2, 3}, 2, (range){-1.5f, 1.5f, 0.5f});
    gm_node *y = gm_custom(c.g, def, &x, 1, (float[]){factor, (float)only}, 2);
    bool ok = gm_gradcheck_run(c.g, c.p, y, c.label, TOL, msg, n);
    case_end(&c);
    return ok;
}

Test(checker, correct_square_passes) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert(
        check_custom_square(&square_def, PARAMETERS, 1.0f, -1, msg, sizeof msg),
        "%s", msg);
}

Test(checker, square_off_by_one_percent_fails) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_custom_square(&square_def, PARAMETERS, 1.01f, -1, msg,
                                      sizeof msg));
    cr_assert(strstr(msg, "checker/square"), "%s", msg);
    cr_assert(strstr(msg, "6 of 6"), "every element is 1%% off: %s", msg);
    cr_assert(strstr(msg, "analytic") && strstr(msg, "numeric"), "%s", msg);
}

Test(checker, one_wrong_element_is_named) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_custom_square(&square_def, PARAMETERS, 1.01f, 4, msg,
                                      sizeof msg));
    cr_assert(strstr(msg, "1 of 6"), "%s", msg);
    cr_assert(strstr(msg, "element 4 (P.w0[4])"), "%s", msg);
}

Test(checker, missing_backward_fails) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_custom_square(&square_no_backward_def, PARAMETERS, 1.0f,
                                      -1, msg, sizeof msg));
    cr_assert(strstr(msg, "analytic 0,"), "%s", msg);
}

/* The checker runs backward onto parameter gradients that already hold a
 * value, as when a group sits in two graphs. */
Test(checker, overwriting_a_parameter_gradient_fails) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_custom_square(&square_assigns_def, PARAMETERS, 1.0f, -1,
                                      msg, sizeof msg));
    cr_assert(strstr(msg, "6 of 6"), "%s", msg);
}

/* A parameter's gradient is never fresh, so the bug shows only through an
 * intermediate, where the second pass adds to the first. */
Test(checker, adding_to_a_fresh_gradient_fails_through_intermediates) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert(check_custom_square(&square_adds_to_fresh_def, PARAMETERS, 1.0f,
                                  -1, msg, sizeof msg),
              "%s", msg);
    cr_assert_not(check_custom_square(&square_adds_to_fresh_def, INTERMEDIATES,
                                      1.0f, -1, msg, sizeof msg));
    cr_assert(strstr(msg, "via intermediates") &&
                  strstr(msg, "two backward passes disagree"),
              "%s", msg);
}

/* The intermediates mode reaches the fresh path: both operands of a
 * matmul get gradients that nothing clears. */
Test(checker, intermediates_give_fresh_gradients) {
    gc_case c;
    case_begin_in(&c, INTERMEDIATES, "checker/fresh", 0);
    gm_node *a = leaf(&c, (int[]){2, 3}, 2, ANY);
    gm_node *b = leaf(&c, (int[]){4, 3}, 2, ANY);
    char msg[GM_GRADCHECK_MSG];
    cr_assert(gm_gradcheck_run(c.g, c.p, gm_matmul(c.g, a, b, false, true),
                               c.label, TOL, msg, sizeof msg),
              "%s", msg);
    cr_assert(gm_node_grad_fresh(a) && gm_node_grad_fresh(b));
    case_end(&c);
}

/* y[r, c] = a[r, c] * b[c]. p[0] scales db; p[1] = 1 assigns db instead
 * of accumulating over rows (a classic broadcast bug). */
static gm_status mul_row_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *a = gm_node_shape(gm_node_input(n, 0));
    const gm_shape *b = gm_node_shape(gm_node_input(n, 1));
    if (a->ndim != 2 || b->ndim != 1 || b->dim[0] != a->dim[1])
        return gm_error_set(err, GM_ERR_SHAPE, "mul_row: bad shapes");
    *out = *a;
    return GM_OK;
}

static void mul_row_forward(gm_node *n) {
    const float *a = gm_node_data(gm_node_input(n, 0));
    const float *b = gm_node_data(gm_node_input(n, 1));
    int cols = gm_shape_cols(gm_node_shape(n));
    for (size_t i = 0; i < gm_node_numel(n); i++)
        gm_node_data(n)[i] = a[i] * b[i % (size_t)cols];
}

static void mul_row_backward(gm_node *n) {
    gm_node *an = gm_node_input(n, 0), *bn = gm_node_input(n, 1);
    const float *a = gm_node_data(an), *b = gm_node_data(bn);
    const float *dy = gm_node_grad(n);
    float *da = gm_node_grad(an), *db = gm_node_grad(bn);
    size_t cols = (size_t)gm_shape_cols(gm_node_shape(n));
    float factor = gm_node_param(n, 0);
    bool assign = gm_node_param(n, 1) != 0.0f;
    for (size_t i = 0; i < gm_node_numel(n); i++) {
        if (da) da[i] += dy[i] * b[i % cols];
        if (db && assign) db[i % cols] = factor * dy[i] * a[i];
        if (db && !assign) db[i % cols] += factor * dy[i] * a[i];
    }
}

static const gm_op_def mul_row_def = {
    .name = "mul_row",
    .arity = 2,
    .shape = mul_row_shape,
    .forward = mul_row_forward,
    .backward = mul_row_backward,
};

static bool check_mul_row(float factor, bool assign, char *msg, size_t n) {
    gc_case c;
    case_begin(&c, "checker/mul_row", 0);
    gm_node *in[2] = {leaf(&c, (int[]){3, 4}, 2, ANY),
                      leaf(&c, (int[]){4}, 1, (range){-1.5f, 1.5f, 0.5f})};
    gm_node *y = gm_custom(c.g, &mul_row_def, in, 2,
                           (float[]){factor, assign ? 1.0f : 0.0f}, 2);
    bool ok = gm_gradcheck_run(c.g, c.p, y, c.label, TOL, msg, n);
    case_end(&c);
    return ok;
}

Test(checker, correct_broadcast_passes) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert(check_mul_row(1.0f, false, msg, sizeof msg), "%s", msg);
}

Test(checker, broadcast_operand_off_by_one_percent_fails) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_mul_row(1.01f, false, msg, sizeof msg));
    /* Only b's four elements (flat 12..15) are wrong. */
    cr_assert(strstr(msg, "of 16") && strstr(msg, "P.w1["), "%s", msg);
}

Test(checker, broadcast_assign_instead_of_accumulate_fails) {
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(check_mul_row(1.0f, true, msg, sizeof msg));
    cr_assert(strstr(msg, "P.w1["), "%s", msg);
}

Test(checker, build_error_fails_with_its_message) {
    gc_case c;
    case_begin(&c, "checker/bad", 0);
    gm_node *a = leaf(&c, (int[]){2, 3}, 2, ANY);
    gm_node *b = leaf(&c, (int[]){4, 5}, 2, ANY);
    char msg[GM_GRADCHECK_MSG];
    cr_assert_not(gm_gradcheck_run(c.g, c.p, gm_matmul(c.g, a, b, false, false),
                                   c.label, TOL, msg, sizeof msg));
    cr_assert(strstr(msg, "checker/bad") && strstr(msg, "matmul"), "%s", msg);
    case_end(&c);
}

Test(checker, leaves_values_unchanged) {
    gc_case c;
    case_begin(&c, "checker/restore", 0);
    gm_node *x = leaf(&c, (int[]){3, 2}, 2, ANY);
    float before[6];
    memcpy(before, gm_params_data(c.p), sizeof before);
    char msg[GM_GRADCHECK_MSG];
    cr_assert(gm_gradcheck_run(c.g, c.p, gm_exp(c.g, x), c.label, TOL, msg,
                               sizeof msg),
              "%s", msg);
    cr_assert_arr_eq(gm_params_data(c.p), before, sizeof before);
    case_end(&c);
}

/* ---- matmul ------------------------------------------------------------ */

static void matmul_case(bool ta, bool tb) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c,
                   ta ? (tb ? "matmul/tt" : "matmul/tn")
                      : (tb ? "matmul/nt" : "matmul/nn"),
                   t);
        int m, k, n; /* distinct, so that a wrong transpose shows */
        do {
            m = rand_dim(&c, 1, 5);
            k = rand_dim(&c, 1, 5);
            n = rand_dim(&c, 1, 5);
        } while (m == k || k == n || m == n);
        gm_node *a = leaf(&c, ta ? (int[]){k, m} : (int[]){m, k}, 2, ANY);
        gm_node *b = leaf(&c, tb ? (int[]){n, k} : (int[]){k, n}, 2, ANY);
        gm_node *y = gm_matmul(c.g, a, b, ta, tb);
        assert_shape(y, (int[]){m, n}, 2);
        case_check(&c, y, "matmul", TOL);
    }
}

GRAD_TEST(matmul, a_b) { matmul_case(false, false); }
GRAD_TEST(matmul, a_bt) { matmul_case(false, true); }
GRAD_TEST(matmul, at_b) { matmul_case(true, false); }
GRAD_TEST(matmul, at_bt) { matmul_case(true, true); }

/* affine: x W^T + b, the bias as [out] and as [1, out]. */
static void affine_case(bool bias_2d) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, bias_2d ? "affine/bias_1xout" : "affine/bias_out", t);
        int rows = rand_dim(&c, 1, 5), in = rand_dim(&c, 1, 5);
        int out = rand_dim(&c, 1, 5);
        gm_node *x = leaf(&c, (int[]){rows, in}, 2, ANY);
        gm_node *w = leaf(&c, (int[]){out, in}, 2, ANY);
        gm_node *b = bias_2d ? leaf(&c, (int[]){1, out}, 2, ANY)
                             : leaf(&c, (int[]){out}, 1, ANY);
        gm_node *y = gm_affine(c.g, x, w, b);
        assert_shape(y, (int[]){rows, out}, 2);
        case_check(&c, y, "affine", TOL);
    }
}

GRAD_TEST(affine, row_bias) { affine_case(false); }
GRAD_TEST(affine, bias_2d) { affine_case(true); }

/* affine_relu: relu(x W^T + b), with the pre-activations kept away from
 * the kink (|b| >= 1 > |x W^T|) and units of both signs; its output also
 * feeds a second op, so the input gradients are added, not overwritten. */
static const range SMALL = {-0.3f, 0.3f, 0.0f};
static const range BIG_BIAS = {-2.0f, 2.0f, 1.0f};

GRAD_TEST(affine_relu, one_layer) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "affine_relu", t);
        int rows = rand_dim(&c, 1, 5), in = rand_dim(&c, 1, 3);
        int out = rand_dim(&c, 1, 5);
        gm_node *x = leaf(&c, (int[]){rows, in}, 2, SMALL);
        gm_node *w = leaf(&c, (int[]){out, in}, 2, SMALL);
        gm_node *b = leaf(&c, (int[]){out}, 1, BIG_BIAS);
        gm_node *y = gm_affine_relu(c.g, x, w, b);
        assert_shape(y, (int[]){rows, out}, 2);
        case_check(&c, y, "affine_relu", TOL);
    }
}

GRAD_TEST(affine_relu, feeding_another_layer) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "affine_relu/chain", t);
        gm_node *x = leaf(&c, (int[]){3, 2}, 2, SMALL);
        gm_node *w1 = leaf(&c, (int[]){4, 2}, 2, SMALL);
        gm_node *b1 = leaf(&c, (int[]){4}, 1, BIG_BIAS);
        gm_node *w2 = leaf(&c, (int[]){2, 4}, 2, ANY);
        gm_node *b2 = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *h = gm_affine_relu(c.g, x, w1, b1);
        gm_node *y =
            gm_add(c.g, gm_affine(c.g, h, w2, b2), gm_slice_cols(c.g, h, 0, 2));
        case_check(&c, y, "affine_relu", TOL);
    }
}

/* affine feeding relu feeding affine: the middle gradients are written
 * by one op each and overwritten, not zeroed (GM_OP_OVERWRITES). */
GRAD_TEST(affine, chain_overwrites) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "affine/chain", t);
        gm_node *x = leaf(&c, (int[]){3, 4}, 2, ANY);
        gm_node *w1 = leaf(&c, (int[]){5, 4}, 2, ANY);
        gm_node *b1 = leaf(&c, (int[]){5}, 1, ANY);
        gm_node *w2 = leaf(&c, (int[]){2, 5}, 2, ANY);
        gm_node *b2 = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *h = gm_tanh(c.g, gm_affine(c.g, x, w1, b1));
        case_check(&c, gm_affine(c.g, h, w2, b2), "affine", TOL);
    }
}

/* x x^T: both operands are one node, whose gradient gets both terms. */
GRAD_TEST(matmul, gram_same_operand_twice) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "matmul/gram", t);
        gm_node *x =
            leaf(&c, (int[]){rand_dim(&c, 1, 5), rand_dim(&c, 1, 6)}, 2, ANY);
        case_check(&c, gm_matmul(c.g, x, x, false, true), "matmul", TOL);
    }
}

/* One operand constant: only the other has a gradient buffer. */
GRAD_TEST(matmul, constant_operand) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "matmul/const", t);
        int m = rand_dim(&c, 1, 5), k = rand_dim(&c, 1, 5);
        int n = rand_dim(&c, 1, 5);
        gm_node *w = fixed(&c, (int[]){n, k}, 2, ANY);
        gm_node *x = leaf(&c, (int[]){m, k}, 2, ANY);
        gm_node *y = t % 2 ? gm_matmul(c.g, w, x, false, true)
                           : gm_matmul(c.g, x, w, false, true);
        case_check(&c, y, "matmul", TOL);
    }
}

/* ---- add, sub, mul, div with every broadcast --------------------------- */

typedef gm_node *(*binary_fn)(gm_graph *, gm_node *, gm_node *);

typedef enum operand_kind { FULL, ROW, ROW2D, COL, SCALAR } operand_kind;

static const char *const kind_names[] = {"full", "row", "row2d", "col",
                                         "scalar"};

/* The smaller operand's shape for an output [rows, cols]. */
static int small_shape(operand_kind k, int rows, int cols, int *dims) {
    switch (k) {
    case FULL: dims[0] = rows, dims[1] = cols; return 2;
    case ROW: dims[0] = cols; return 1;
    case ROW2D: dims[0] = 1, dims[1] = cols; return 2;
    case COL: dims[0] = rows, dims[1] = 1; return 2;
    default: dims[0] = 1; return 1;
    }
}

/* fn(big, small) and fn(small, big); ra and rb are the ranges of fn's
 * first and second operands. */
static void binary_case(const char *op, binary_fn fn, operand_kind kind,
                        range ra, range rb, gm_gradcheck_tol tol) {
    for (int t = 0; t < TRIALS; t++) {
        for (int small_first = 0; small_first < 2; small_first++) {
            char label[64];
            snprintf(label, sizeof label, "%s/%s-%s", op, kind_names[kind],
                     small_first ? "first" : "second");
            gc_case c;
            case_begin(&c, label, t);
            int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dims[2];
            int ndim = small_shape(kind, rows, cols, dims);
            gm_node *y;
            if (small_first) {
                gm_node *s = leaf(&c, dims, ndim, ra);
                y = fn(c.g, s, leaf(&c, (int[]){rows, cols}, 2, rb));
            } else {
                gm_node *b = leaf(&c, (int[]){rows, cols}, 2, ra);
                y = fn(c.g, b, leaf(&c, dims, ndim, rb));
            }
            assert_shape(y, (int[]){rows, cols}, 2);
            case_check(&c, y, op, tol);
        }
    }
}

#define BINARY_TESTS(OP, RA, RB, TOLS)                                         \
    GRAD_TEST(OP, full) {                                               \
        binary_case(#OP, gm_##OP, FULL, RA, RB, TOLS);                         \
    }                                                                          \
    GRAD_TEST(OP, row) {                                                \
        binary_case(#OP, gm_##OP##_bcast, ROW, RA, RB, TOLS);                  \
    }                                                                          \
    GRAD_TEST(OP, row_2d) {                                             \
        binary_case(#OP, gm_##OP##_bcast, ROW2D, RA, RB, TOLS);                \
    }                                                                          \
    GRAD_TEST(OP, column) {                                             \
        binary_case(#OP, gm_##OP##_bcast, COL, RA, RB, TOLS);                  \
    }                                                                          \
    GRAD_TEST(OP, scalar) {                                             \
        binary_case(#OP, gm_##OP, SCALAR, RA, RB, TOLS);                       \
    }

BINARY_TESTS(add, ANY, ANY, TOL)
BINARY_TESTS(sub, ANY, ANY, TOL)
BINARY_TESTS(mul, ANY, ANY, TOL)
BINARY_TESTS(div, ANY, DIVISOR, TOL_CURVED)

/* Element-wise ops view 3-D tensors as [rows, cols]: a row [cols] and a
 * column [d0, d1, 1] broadcast over [d0, d1, cols]. */
GRAD_TEST(mul, three_d_row_and_column) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "mul/3d", t);
        int d0 = rand_dim(&c, 1, 3), d1 = rand_dim(&c, 1, 3);
        int d2 = rand_dim(&c, 1, 4);
        gm_node *x = leaf(&c, (int[]){d0, d1, d2}, 3, ANY);
        gm_node *row = leaf(&c, (int[]){d2}, 1, ANY);
        gm_node *col = leaf(&c, (int[]){d0, d1, 1}, 3, ANY);
        gm_node *y =
            gm_add(c.g, gm_mul_bcast(c.g, x, row), gm_mul_bcast(c.g, col, x));
        assert_shape(y, (int[]){d0, d1, d2}, 3);
        case_check(&c, y, "mul", TOL);
    }
}

/* x * x: one node as both operands. */
GRAD_TEST(mul, same_operand_twice) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "mul/same", t);
        gm_node *x =
            leaf(&c, (int[]){rand_dim(&c, 1, 5), rand_dim(&c, 1, 6)}, 2, ANY);
        case_check(&c, gm_mul(c.g, x, x), "mul", TOL);
    }
}

/* ---- one-input element-wise ops ---------------------------------------- */

typedef gm_node *(*unary_fn)(gm_graph *, gm_node *);

/* The op on [rows, cols] twice, then on a 3-D [2, rows, cols]. */
static void unary_case(const char *label, const char *op, unary_fn fn, range v,
                       gm_gradcheck_tol tol) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_node *x = t < 2 ? leaf(&c, (int[]){rows, cols}, 2, v)
                           : leaf(&c, (int[]){2, rows, cols}, 3, v);
        gm_node *y = fn(c.g, x);
        cr_assert(y && gm_shape_equal(gm_node_shape(y), gm_node_shape(x)));
        case_check(&c, y, op, tol);
    }
}

static gm_node *scale_neg(gm_graph *g, gm_node *x) {
    return gm_scale(g, x, -1.7f);
}
static gm_node *shift(gm_graph *g, gm_node *x) {
    return gm_add_scalar(g, x, 0.6f);
}
static gm_node *leaky(gm_graph *g, gm_node *x) {
    return gm_leaky_relu(g, x, 0.2f);
}
static gm_node *elu1(gm_graph *g, gm_node *x) { return gm_elu(g, x, 1.0f); }
static gm_node *elu_half(gm_graph *g, gm_node *x) { return gm_elu(g, x, 0.5f); }

GRAD_TEST(scale, elementwise) {
    unary_case("scale", "scale", scale_neg, ANY, TOL);
}
GRAD_TEST(add_scalar, elementwise) {
    unary_case("add_scalar", "add_scalar", shift, ANY, TOL);
}
GRAD_TEST(neg, elementwise) { unary_case("neg", "neg", gm_neg, ANY, TOL); }

GRAD_TEST(exp, elementwise) { unary_case("exp", "exp", gm_exp, ANY, TOL); }
GRAD_TEST(log, elementwise) {
    unary_case("log", "log", gm_log, POSITIVE, TOL_CURVED);
}
GRAD_TEST(square, elementwise) {
    unary_case("square", "square", gm_square, ANY, TOL);
}
GRAD_TEST(sqrt, elementwise) {
    unary_case("sqrt", "sqrt", gm_sqrt, POSITIVE, TOL_CURVED);
}
GRAD_TEST(abs, elementwise) { unary_case("abs", "abs", gm_abs, AWAY, TOL); }

GRAD_TEST(relu, elementwise) {
    unary_case("relu", "relu", gm_relu, AWAY, TOL);
}
GRAD_TEST(leaky_relu, elementwise) {
    unary_case("leaky_relu", "leaky_relu", leaky, AWAY, TOL);
}
GRAD_TEST(elu, elementwise) {
    unary_case("elu/alpha1", "elu", elu1, AWAY, TOL);
    unary_case("elu/alpha0.5", "elu", elu_half, AWAY, TOL);
}
GRAD_TEST(tanh, elementwise) {
    unary_case("tanh", "tanh", gm_tanh, ANY, TOL);
}
GRAD_TEST(sigmoid, elementwise) {
    unary_case("sigmoid", "sigmoid", gm_sigmoid, (range){-4, 4, 0}, TOL);
}
GRAD_TEST(softplus, elementwise) {
    unary_case("softplus", "softplus", gm_softplus, (range){-4, 4, 0}, TOL);
}
GRAD_TEST(log_sigmoid, elementwise) {
    unary_case("log_sigmoid", "log_sigmoid", gm_log_sigmoid, (range){-4, 4, 0},
               TOL);
}

/* ---- reductions -------------------------------------------------------- */

typedef gm_node *(*reduce_fn)(gm_graph *, gm_node *, gm_axis);

static void reduce_case(const char *op, reduce_fn fn, gm_axis axis) {
    static const char *const axes[] = {"all", "per_row", "per_col"};
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "%s/%s", op, axes[axis]);
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_node *x = t < 2 ? leaf(&c, (int[]){rows, cols}, 2, ANY)
                           : leaf(&c, (int[]){2, rows, cols}, 3, ANY);
        rows *= t < 2 ? 1 : 2;
        gm_node *y = fn(c.g, x, axis);
        if (axis == GM_AXIS_ALL) assert_shape(y, (int[]){1}, 1);
        if (axis == GM_AXIS_PER_ROW) assert_shape(y, (int[]){rows, 1}, 2);
        if (axis == GM_AXIS_PER_COL) assert_shape(y, (int[]){1, cols}, 2);
        case_check(&c, y, op, TOL);
    }
}

GRAD_TEST(sum, all) { reduce_case("sum", gm_sum, GM_AXIS_ALL); }
GRAD_TEST(sum, per_row) {
    reduce_case("sum", gm_sum, GM_AXIS_PER_ROW);
}
GRAD_TEST(sum, per_col) {
    reduce_case("sum", gm_sum, GM_AXIS_PER_COL);
}
GRAD_TEST(mean, all) { reduce_case("mean", gm_mean, GM_AXIS_ALL); }
GRAD_TEST(mean, per_row) {
    reduce_case("mean", gm_mean, GM_AXIS_PER_ROW);
}
GRAD_TEST(mean, per_col) {
    reduce_case("mean", gm_mean, GM_AXIS_PER_COL);
}

static void logsumexp_case(const char *label, range v, gm_gradcheck_tol tol) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_node *y =
            gm_logsumexp_rows(c.g, leaf(&c, (int[]){rows, cols}, 2, v));
        assert_shape(y, (int[]){rows, 1}, 2);
        case_check(&c, y, "logsumexp_rows", tol);
    }
}

GRAD_TEST(logsumexp_rows, moderate_values) {
    logsumexp_case("logsumexp_rows", (range){-3, 3, 0}, TOL);
}

/* Around 100, e^x overflows float: the backward must use e^(x - lse). The
 * outputs' rounding (ulp(100) ~ 8e-6) asks for a larger step. */
GRAD_TEST(logsumexp_rows, large_values) {
    logsumexp_case("logsumexp_rows/large", (range){99, 101, 0},
                   (gm_gradcheck_tol){5e-2f, 1e-3, 3e-4});
}

/* ---- convolutions ----------------------------------------------------- */

/* Random NCHW geometry: kernels 1..3 (not square), stride 1..2, padding
 * 0..1, images at least as large as the kernel. */
typedef struct conv_case_dims {
    int n, c_in, c_out, h, w, kh, kw, stride, pad;
} conv_case_dims;

static conv_case_dims rand_conv(gc_case *c) {
    conv_case_dims d = {.n = rand_dim(c, 1, 2),
                        .c_in = rand_dim(c, 1, 3),
                        .c_out = rand_dim(c, 1, 3),
                        .kh = rand_dim(c, 1, 3),
                        .kw = rand_dim(c, 1, 3),
                        .stride = rand_dim(c, 1, 2),
                        .pad = rand_dim(c, 0, 1)};
    d.h = d.kh + rand_dim(c, 0, 3);
    d.w = d.kw + rand_dim(c, 0, 3);
    return d;
}

static void conv2d_case(bool with_bias, bool chained) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, with_bias ? "conv2d/bias" : "conv2d", t);
        conv_case_dims d = rand_conv(&c);
        gm_node *x = leaf(&c, (int[]){d.n, d.c_in, d.h, d.w}, 4, ANY);
        gm_node *w = leaf(&c, (int[]){d.c_out, d.c_in, d.kh, d.kw}, 4, ANY);
        gm_node *b = with_bias ? leaf(&c, (int[]){d.c_out}, 1, ANY) : NULL;
        gm_node *y = gm_conv2d(c.g, x, w, b, d.stride, d.pad);
        int oh = (d.h + 2 * d.pad - d.kh) / d.stride + 1;
        int ow = (d.w + 2 * d.pad - d.kw) / d.stride + 1;
        assert_shape(y, (int[]){d.n, d.c_out, oh, ow}, 4);
        /* x feeds two convolutions: each must add to its gradient */
        if (chained) {
            gm_node *w2 =
                leaf(&c, (int[]){d.c_out, d.c_in, d.kh, d.kw}, 4, ANY);
            y = gm_add(c.g, y, gm_conv2d(c.g, x, w2, NULL, d.stride, d.pad));
        }
        case_check(&c, y, "conv2d", TOL);
    }
}

GRAD_TEST(conv2d, no_bias) { conv2d_case(false, false); }
GRAD_TEST(conv2d, bias) { conv2d_case(true, false); }
GRAD_TEST(conv2d, input_read_twice) { conv2d_case(true, true); }

static void conv_transpose2d_case(bool with_bias, bool chained) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, with_bias ? "conv_transpose2d/bias" : "conv_transpose2d",
                   t);
        conv_case_dims d = rand_conv(&c);
        d.h -= d.kh - 1; /* the input is the small side */
        d.w -= d.kw - 1;
        int oh = (d.h - 1) * d.stride - 2 * d.pad + d.kh;
        int ow = (d.w - 1) * d.stride - 2 * d.pad + d.kw;
        if (oh < 1 || ow < 1) d.pad = 0, oh += 2, ow += 2;
        gm_node *x = leaf(&c, (int[]){d.n, d.c_in, d.h, d.w}, 4, ANY);
        gm_node *w = leaf(&c, (int[]){d.c_in, d.c_out, d.kh, d.kw}, 4, ANY);
        gm_node *b = with_bias ? leaf(&c, (int[]){d.c_out}, 1, ANY) : NULL;
        gm_node *y = gm_conv_transpose2d(c.g, x, w, b, d.stride, d.pad);
        assert_shape(y, (int[]){d.n, d.c_out, oh, ow}, 4);
        /* w feeds two transposed convolutions */
        if (chained) {
            gm_node *x2 = leaf(&c, (int[]){d.n, d.c_in, d.h, d.w}, 4, ANY);
            y = gm_add(c.g, y,
                       gm_conv_transpose2d(c.g, x2, w, NULL, d.stride, d.pad));
        }
        case_check(&c, y, "conv_transpose2d", TOL);
    }
}

GRAD_TEST(conv_transpose2d, no_bias) { conv_transpose2d_case(false, false); }
GRAD_TEST(conv_transpose2d, bias) {
    conv_transpose2d_case(true, false);
}
GRAD_TEST(conv_transpose2d, weight_read_twice) {
    conv_transpose2d_case(true, true);
}

/* DCGAN's up- and down-sampling (kernel 4, stride 2, padding 1) in a
 * chain: a transposed convolution doubles 3x3 to 6x6, a convolution
 * halves it back. */
GRAD_TEST(conv2d, dcgan_chain) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "conv/dcgan_chain", t);
        gm_node *z = leaf(&c, (int[]){2, 2, 3, 3}, 4, ANY);
        gm_node *w1 = leaf(&c, (int[]){2, 3, 4, 4}, 4, SMALL);
        gm_node *w2 = leaf(&c, (int[]){2, 3, 4, 4}, 4, SMALL);
        gm_node *b2 = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *h = gm_tanh(c.g, gm_conv_transpose2d(c.g, z, w1, NULL, 2, 1));
        assert_shape(h, (int[]){2, 3, 6, 6}, 4);
        gm_node *y = gm_conv2d(c.g, h, w2, b2, 2, 1);
        assert_shape(y, (int[]){2, 2, 3, 3}, 4);
        case_check(&c, y, "conv2d", TOL);
    }
}

/* Batches that the ops split into chunks of samples (about 256 patch
 * columns at a time; 132 per sample here, so chunks of 2, 2 and 1): odd
 * sides, stride 2 with padding 1 and stride 1 without. */
GRAD_TEST(conv2d, in_chunks_of_samples) {
    for (int t = 0; t < 2; t++) {
        gc_case c;
        case_begin(&c, "conv2d/chunks", t);
        int stride = t ? 1 : 2, pad = t ? 0 : 1, k = t ? 2 : 3;
        int h = t ? 13 : 23, w = t ? 12 : 21;
        gm_node *x = leaf(&c, (int[]){5, 1, h, w}, 4, ANY);
        gm_node *wt = leaf(&c, (int[]){2, 1, k, k}, 4, SMALL);
        gm_node *b = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *y = gm_conv2d(c.g, x, wt, b, stride, pad);
        assert_shape(y, (int[]){5, 2, 12, 11}, 4);
        case_check(&c, y, "conv2d", TOL);
    }
}

GRAD_TEST(conv_transpose2d, in_chunks_of_samples) {
    for (int t = 0; t < 2; t++) {
        gc_case c;
        case_begin(&c, "conv_transpose2d/chunks", t);
        int stride = t ? 1 : 2, pad = t ? 0 : 1, k = t ? 2 : 4;
        gm_node *x = leaf(&c, (int[]){5, 1, 12, 11}, 4, ANY);
        gm_node *wt = leaf(&c, (int[]){1, 2, k, k}, 4, SMALL);
        gm_node *b = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *y = gm_conv_transpose2d(c.g, x, wt, b, stride, pad);
        assert_shape(y, t ? (int[]){5, 2, 13, 12} : (int[]){5, 2, 24, 22}, 4);
        case_check(&c, y, "conv_transpose2d", TOL);
    }
}

/* bias_channels on images and on [N, C], its input also read by a second
 * op (so its gradient is added to, not overwritten). */
static void bias_channels_case(int ndim, bool chained) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, ndim == 4 ? "bias_channels/nchw" : "bias_channels/nc",
                   t);
        int ch = rand_dim(&c, 1, 4);
        int dims[4] = {rand_dim(&c, 1, 3), ch, rand_dim(&c, 1, 3),
                       rand_dim(&c, 1, 3)};
        gm_node *x = leaf(&c, dims, ndim, ANY);
        gm_node *b = leaf(&c, (int[]){ch}, 1, ANY);
        gm_node *y = gm_bias_channels(c.g, x, b);
        assert_shape(y, dims, ndim);
        if (chained) y = gm_add(c.g, y, gm_tanh(c.g, x));
        case_check(&c, y, "bias_channels", TOL);
    }
}

GRAD_TEST(bias_channels, nchw) { bias_channels_case(4, false); }
GRAD_TEST(bias_channels, nc) { bias_channels_case(2, false); }
GRAD_TEST(bias_channels, input_read_twice) {
    bias_channels_case(4, true);
}

/* ---- batch norm -------------------------------------------------------- */

/* The running statistics are constants here: state the op reads (and in
 * training mode writes), with no gradient. */
static void batch_norm_case(bool training, int ndim) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(
            &c,
            training
                ? (ndim == 4 ? "batch_norm/train/nchw" : "batch_norm/train/nc")
                : (ndim == 4 ? "batch_norm/eval/nchw" : "batch_norm/eval/nc"),
            t);
        int ch = rand_dim(&c, 1, 3);
        int dims[4] = {rand_dim(&c, 3, 4), ch, rand_dim(&c, 1, 3),
                       rand_dim(&c, 2, 3)};
        gm_node *x = leaf(&c, dims, ndim, ANY);
        gm_node *gamma = leaf(&c, (int[]){ch}, 1, ANY);
        gm_node *beta = leaf(&c, (int[]){ch}, 1, ANY);
        gm_node *mean = fixed(&c, (int[]){ch}, 1, ANY);
        gm_node *var = fixed(&c, (int[]){ch}, 1, POSITIVE);
        gm_node *y = gm_batch_norm(c.g, x, gamma, beta, mean, var, training,
                                   0.1f, 1e-5f);
        assert_shape(y, dims, ndim);
        case_check(&c, y, "batch_norm", TOL_CURVED);
    }
}

GRAD_TEST(batch_norm, train_nchw) { batch_norm_case(true, 4); }
GRAD_TEST(batch_norm, train_nc) { batch_norm_case(true, 2); }
GRAD_TEST(batch_norm, eval_nchw) { batch_norm_case(false, 4); }
GRAD_TEST(batch_norm, eval_nc) { batch_norm_case(false, 2); }

/* Batch norm between two layers, its output read twice: the input
 * gradient of the layer before goes through the batch statistics. */
GRAD_TEST(batch_norm, in_a_conv_net) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "batch_norm/conv_net", t);
        gm_node *x = leaf(&c, (int[]){3, 1, 4, 4}, 4, ANY);
        gm_node *w = leaf(&c, (int[]){2, 1, 3, 3}, 4, ANY);
        gm_node *gamma = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *beta = leaf(&c, (int[]){2}, 1, ANY);
        gm_node *mean = fixed(&c, (int[]){2}, 1, ANY);
        gm_node *var = fixed(&c, (int[]){2}, 1, POSITIVE);
        gm_node *h = gm_batch_norm(c.g, gm_conv2d(c.g, x, w, NULL, 1, 1), gamma,
                                   beta, mean, var, true, 0.1f, 1e-5f);
        gm_node *y = gm_add(c.g, gm_tanh(c.g, h), h);
        /* The batch statistics round in float: the central differences of
         * this net scatter by about 2e-4 around the analytic gradient
         * whatever the step (2e-2 to 1e-3), hence the wider atol. */
        case_check(&c, y, "batch_norm", (gm_gradcheck_tol){1e-2f, 1e-3, 5e-4});
    }
}

/* ---- shape ops --------------------------------------------------------- */

GRAD_TEST(slice_cols, disjoint) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "slice_cols", t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 2, 6);
        int start = rand_dim(&c, 0, cols - 1);
        int len = rand_dim(&c, 1, cols - start);
        gm_node *x = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *y = gm_slice_cols(c.g, x, start, len);
        assert_shape(y, (int[]){rows, len}, 2);
        case_check(&c, y, "slice_cols", TOL);
    }
}

/* Two overlapping slices of one node: their gradients add up. */
GRAD_TEST(slice_cols, overlapping) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "slice_cols/overlap", t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 2, 6);
        gm_node *x = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *parts[2] = {gm_slice_cols(c.g, x, 0, cols - 1),
                             gm_slice_cols(c.g, x, 1, cols - 1)};
        gm_node *y = gm_mul(c.g, parts[0], gm_exp(c.g, parts[1]));
        case_check(&c, y, "slice_cols", TOL);
    }
}

GRAD_TEST(concat_cols, distinct_inputs) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "concat_cols", t);
        int rows = rand_dim(&c, 1, 5), n = t + 1, total = 0;
        gm_node *xs[3];
        for (int i = 0; i < n; i++) {
            int w = rand_dim(&c, 1, 4);
            xs[i] = leaf(&c, (int[]){rows, w}, 2, ANY);
            total += w;
        }
        gm_node *y = gm_concat_cols(c.g, xs, n);
        assert_shape(y, (int[]){rows, total}, 2);
        case_check(&c, y, "concat_cols", TOL);
    }
}

/* One node concatenated twice, next to an op of it. */
GRAD_TEST(concat_cols, repeated_input) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "concat_cols/repeat", t);
        gm_node *x =
            leaf(&c, (int[]){rand_dim(&c, 1, 5), rand_dim(&c, 1, 4)}, 2, ANY);
        gm_node *xs[3] = {x, gm_tanh(c.g, x), x};
        case_check(&c, gm_concat_cols(c.g, xs, 3), "concat_cols", TOL);
    }
}

/* A parameter seen through another shape: [r, c] as [c, r], then used in
 * a matmul, so a wrong element order in the view shows. */
GRAD_TEST(reshape, of_a_parameter) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "reshape/param", t);
        int r = rand_dim(&c, 1, 5), k = rand_dim(&c, 1, 6);
        gm_node *x = leaf(&c, (int[]){r, k}, 2, ANY);
        gm_node *v = gm_reshape(c.g, x, (int[]){k, r}, 2);
        assert_shape(v, (int[]){k, r}, 2);
        gm_node *w = leaf(&c, (int[]){r, 2}, 2, ANY);
        case_check(&c, gm_matmul(c.g, v, w, false, false), "reshape", TOL);
    }
}

/* Views of an intermediate result (3-D -> 1-D -> 2-D), shared gradient. */
GRAD_TEST(reshape, of_an_op_result) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "reshape/op", t);
        int r = rand_dim(&c, 1, 4), k = rand_dim(&c, 1, 4);
        gm_node *x = leaf(&c, (int[]){2, r, k}, 3, ANY);
        gm_node *flat = gm_reshape(c.g, gm_tanh(c.g, x), (int[]){2 * r * k}, 1);
        gm_node *m = gm_reshape(c.g, flat, (int[]){k, 2 * r}, 2);
        gm_node *y =
            gm_mul_bcast(c.g, gm_exp(c.g, m), leaf(&c, (int[]){2 * r}, 1, ANY));
        case_check(&c, y, "reshape", TOL);
    }
}

/* detach passes values (checked through y's gradient) and no gradient:
 * x's group stays exactly zero. */
GRAD_TEST(detach, blocks_gradient) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "detach", t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_params *q = gm_params_create("Q");
        int xi = gm_params_add(q, "x", (int[]){rows, cols}, 2, NULL);
        gm_gradcheck_fill(&c.rng, gm_params_view_data(q, xi),
                          (size_t)rows * cols, -1.5f, 1.5f, 0.0f);
        gm_node *x = leaf_input(&c, q, xi);
        gm_node *y = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *out = gm_mul(c.g, gm_exp(c.g, gm_detach(c.g, x)), y);
        case_check(&c, out, "detach", TOL);
        for (size_t i = 0; i < gm_params_numel(q); i++)
            cr_assert(gm_params_grad(q)[i] == 0.0f, "x.grad[%zu] = %g", i,
                      (double)gm_params_grad(q)[i]);
        gm_params_free(q);
    }
}

/* relu_mask(a, x, slope) (the relu builders' mask, ops/grad_build.h):
 * a's gradient is masked as a is; x's is 0, which central differences
 * away from the kink agree with. Slope 0 (relu) and 0.2 (leaky_relu);
 * e = exp(a) read by the mask alone (its gradient overwritten) and by
 * the mask and the sum (added to). */
GRAD_TEST(relu_mask, relu_and_leaky) {
    const float slopes[2] = {0.0f, 0.2f};
    for (int k = 0; k < 4; k++)
        for (int t = 0; t < TRIALS; t++) {
            gc_case c;
            bool leaky = k % 2, shared = k / 2;
            char label[64];
            snprintf(label, sizeof label, "relu_mask/%s%s",
                     leaky ? "leaky" : "relu", shared ? "/shared" : "");
            case_begin(&c, label, t);
            int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
            gm_node *e = gm_exp(c.g, leaf(&c, (int[]){rows, cols}, 2, ANY));
            gm_node *x = leaf(&c, (int[]){rows, cols}, 2, AWAY);
            gm_node *out = gm_relu_mask(c.g, e, x, slopes[leaky]);
            if (shared) out = gm_add(c.g, out, e);
            case_check(&c, out, "relu_mask", TOL);
        }
}

/* step passes no gradient, as detach: only y's reaches the parameters. */
GRAD_TEST(step, blocks_gradient) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "step", t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_params *q = gm_params_create("Q");
        int xi = gm_params_add(q, "x", (int[]){rows, cols}, 2, NULL);
        gm_gradcheck_fill(&c.rng, gm_params_view_data(q, xi),
                          (size_t)rows * cols, -1.5f, 1.5f, 0.1f);
        gm_node *x = leaf_input(&c, q, xi);
        gm_node *y = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *out = gm_mul(c.g, gm_step(c.g, x), gm_exp(c.g, y));
        case_check(&c, out, "step", TOL);
        for (size_t i = 0; i < gm_params_numel(q); i++)
            cr_assert(gm_params_grad(q)[i] == 0.0f, "x.grad[%zu] = %g", i,
                      (double)gm_params_grad(q)[i]);
        gm_params_free(q);
    }
}

/* d/dx sum(x * detach(x)) is detach(x) = x exactly, not 2x. */
Test(grad_shape, detach_gradient_is_exactly_zero) {
    gm_graph *g = gm_graph_create("detach");
    gm_params *p = gm_params_create("P");
    int xi = gm_params_add(p, "x", (int[]){2, 3}, 2, NULL);
    float *xv = gm_params_view_data(p, xi);
    for (int i = 0; i < 6; i++)
        xv[i] = 0.25f * (float)(i - 2);
    gm_node *x = gm_param(g, p, xi);
    gm_node *loss = gm_node_set_role(
        gm_sum(g, gm_mul(g, x, gm_detach(g, x)), GM_AXIS_ALL), GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    gm_params_zero_grad(p);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    for (int i = 0; i < 6; i++)
        cr_assert(gm_params_grad(p)[i] == xv[i], "grad[%d] = %g, want %g", i,
                  (double)gm_params_grad(p)[i], (double)xv[i]);
    gm_graph_free(g);
    gm_params_free(p);
}

/* ---- likelihoods and divergences --------------------------------------- */

/* Logits full; targets of the given kind (or a constant), all leaves. */
static void bce_case(operand_kind kind, bool targets_const) {
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "bce_with_logits/%s%s", kind_names[kind],
                 targets_const ? "-const" : "");
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dims[2];
        int ndim = small_shape(kind, rows, cols, dims);
        gm_node *z = leaf(&c, (int[]){rows, cols}, 2, (range){-4, 4, 0});
        gm_node *tg = targets_const ? fixed(&c, dims, ndim, PROB)
                                    : leaf(&c, dims, ndim, PROB);
        gm_node *y = gm_bce_with_logits(c.g, z, tg);
        assert_shape(y, (int[]){rows, cols}, 2);
        case_check(&c, y, "bce_with_logits", TOL);
    }
}

GRAD_TEST(bce_with_logits, leaf_targets) { bce_case(FULL, false); }
GRAD_TEST(bce_with_logits, constant_targets) { bce_case(FULL, true); }
GRAD_TEST(bce_with_logits, broadcast_targets) {
    bce_case(ROW, false);
    bce_case(COL, false);
    bce_case(SCALAR, false);
}

/* Logits a leaf [rows, classes], labels a constant [rows] or [rows, 1] of
 * random classes (labels take no gradient). */
static void softmax_ce_case(const char *label, range v, bool column,
                            gm_gradcheck_tol tol) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), k = rand_dim(&c, 1, 6);
        gm_node *z = leaf(&c, (int[]){rows, k}, 2, v);
        float y[5];
        for (int r = 0; r < rows; r++)
            y[r] = (float)gm_rng_below(&c.rng, (uint64_t)k);
        gm_node *labels = column
                              ? gm_constant(c.g, NULL, (int[]){rows, 1}, 2, y)
                              : gm_constant(c.g, NULL, (int[]){rows}, 1, y);
        gm_node *loss = gm_softmax_cross_entropy(c.g, z, labels);
        assert_shape(loss, (int[]){rows, 1}, 2);
        case_check(&c, loss, "softmax_cross_entropy", tol);
    }
}

GRAD_TEST(softmax_cross_entropy, moderate_logits) {
    softmax_ce_case("softmax_cross_entropy", (range){-3, 3, 0}, false, TOL);
    softmax_ce_case("softmax_cross_entropy/column", (range){-3, 3, 0}, true,
                    TOL);
}

/* Logits around 100 overflow e^z in float: forward and backward must
 * shift by the row's maximum (the tolerance as logsumexp_rows'). */
GRAD_TEST(softmax_cross_entropy, large_logits) {
    softmax_ce_case("softmax_cross_entropy/large", (range){99, 101, 0}, false,
                    (gm_gradcheck_tol){5e-2f, 1e-3, 3e-4});
}

/* x, mean full or broadcast; logvar of the given kind. */
static void gaussian_nll_case(operand_kind mean_kind, operand_kind lv_kind) {
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "gaussian_nll/mean-%s/logvar-%s",
                 kind_names[mean_kind], kind_names[lv_kind]);
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dm[2], dl[2];
        int nm = small_shape(mean_kind, rows, cols, dm);
        int nl = small_shape(lv_kind, rows, cols, dl);
        gm_node *x = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *y = gm_gaussian_nll(c.g, x, leaf(&c, dm, nm, ANY),
                                     leaf(&c, dl, nl, LOGVAR));
        assert_shape(y, (int[]){rows, cols}, 2);
        case_check(&c, y, "gaussian_nll", TOL);
    }
}

GRAD_TEST(gaussian_nll, full_logvar) {
    gaussian_nll_case(FULL, FULL);
}
GRAD_TEST(gaussian_nll, per_column_logvar) {
    gaussian_nll_case(FULL, ROW);
    gaussian_nll_case(FULL, ROW2D);
}
GRAD_TEST(gaussian_nll, scalar_logvar) {
    gaussian_nll_case(FULL, SCALAR);
}
GRAD_TEST(gaussian_nll, broadcast_mean) {
    gaussian_nll_case(ROW, FULL);
    gaussian_nll_case(SCALAR, ROW);
}

static void gaussian_nll_fixed_case(operand_kind mean_kind, float logvar) {
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "gaussian_nll_fixed/%s/%g",
                 kind_names[mean_kind], (double)logvar);
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dm[2];
        int nm = small_shape(mean_kind, rows, cols, dm);
        gm_node *x = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *y =
            gm_gaussian_nll_fixed(c.g, x, leaf(&c, dm, nm, ANY), logvar);
        case_check(&c, y, "gaussian_nll_fixed", TOL);
    }
}

GRAD_TEST(gaussian_nll_fixed, per_element) {
    gaussian_nll_fixed_case(FULL, 0.0f);
    gaussian_nll_fixed_case(FULL, -0.7f);
    gaussian_nll_fixed_case(ROW, 0.4f);
}

static void kl_case(operand_kind lv_kind) {
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "kl_normal_std/logvar-%s",
                 kind_names[lv_kind]);
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dl[2];
        int nl = small_shape(lv_kind, rows, cols, dl);
        gm_node *mu = leaf(&c, (int[]){rows, cols}, 2, (range){-2, 2, 0});
        gm_node *y = gm_kl_normal_std(c.g, mu, leaf(&c, dl, nl, LOGVAR));
        assert_shape(y, (int[]){rows, cols}, 2);
        case_check(&c, y, "kl_normal_std", TOL);
    }
}

GRAD_TEST(kl_normal_std, full_logvar) { kl_case(FULL); }
GRAD_TEST(kl_normal_std, broadcast_logvar) {
    kl_case(ROW);
    kl_case(SCALAR);
}

/* ---- randomness: reparameterisation through held noise ----------------- */

static void reparam_case(operand_kind lv_kind) {
    for (int t = 0; t < TRIALS; t++) {
        char label[64];
        snprintf(label, sizeof label, "randn/reparam-logvar-%s",
                 kind_names[lv_kind]);
        gc_case c;
        case_begin(&c, label, t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6), dl[2];
        int nl = small_shape(lv_kind, rows, cols, dl);
        gm_node *mu = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *lv = leaf(&c, dl, nl, LOGVAR);
        gm_rng noise = gm_rng_stream(7u + (uint64_t)t, "noise");
        gm_node *eps = gm_randn(c.g, "eps", (int[]){rows, cols}, 2, &noise);
        gm_node *sd = gm_exp(c.g, gm_scale(c.g, lv, 0.5f));
        gm_node *z = gm_add(c.g, mu, gm_mul_bcast(c.g, sd, eps));
        assert_shape(z, (int[]){rows, cols}, 2);
        case_check(&c, z, "randn", TOL);
    }
}

/* z = mu + exp(logvar / 2) * eps: only correct if eps is held across the
 * checker's forwards. */
GRAD_TEST(randn, reparameterisation) { reparam_case(FULL); }
GRAD_TEST(randn, reparameterisation_per_column_logvar) {
    reparam_case(ROW);
}

/* x_hat = b + eps * (a - b), eps ~ U[0, 1] per row (a WGAN-GP
 * interpolation between real rows a and fake rows b): only correct if eps
 * is held across the checker's forwards. */
GRAD_TEST(rand_uniform, interpolation_per_row) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "rand_uniform/interpolation", t);
        int rows = rand_dim(&c, 1, 5), cols = rand_dim(&c, 1, 6);
        gm_node *a = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_node *b = leaf(&c, (int[]){rows, cols}, 2, ANY);
        gm_rng noise = gm_rng_stream(13u + (uint64_t)t, "noise");
        gm_node *eps = gm_rand_uniform(c.g, "eps", (int[]){rows, 1}, 2, &noise);
        gm_node *x_hat = gm_add(c.g, b, gm_mul_bcast(c.g, eps, gm_sub(c.g, a, b)));
        assert_shape(x_hat, (int[]){rows, cols}, 2);
        case_check(&c, gm_square(c.g, x_hat), "rand_uniform", TOL);
    }
}

/* InfoGAN's code term: the cross-entropy of logits against a drawn
 * categorical code, logsumexp_rows(l) - sum_cols(c * l), through the
 * one-hot rows; only correct if the code is held across forwards. */
GRAD_TEST(rand_categorical, code_cross_entropy) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "rand_categorical/code", t);
        int rows = rand_dim(&c, 1, 5), classes = rand_dim(&c, 1, 6);
        gm_node *logits = leaf(&c, (int[]){rows, classes}, 2, ANY);
        gm_rng noise = gm_rng_stream(17u + (uint64_t)t, "noise");
        gm_node *code =
            gm_rand_categorical(c.g, "code", rows, classes, &noise);
        assert_shape(code, (int[]){rows, classes}, 2);
        gm_node *picked = gm_sum(c.g, gm_mul(c.g, code, logits), GM_AXIS_PER_ROW);
        gm_node *ce = gm_sub(c.g, gm_logsumexp_rows(c.g, logits), picked);
        case_check(&c, ce, "rand_categorical", TOL);
    }
}

/* ---- a whole small VAE loss -------------------------------------------- */

GRAD_TEST(kl_normal_std, inside_a_vae_loss) {
    for (int t = 0; t < TRIALS; t++) {
        gc_case c;
        case_begin(&c, "composite/vae", t);
        int batch = rand_dim(&c, 1, 4), dx = 3, dh = 5, dz = 2;
        gm_node *x = fixed(&c, (int[]){batch, dx}, 2, ANY);
        gm_node *w1 = leaf(&c, (int[]){dx, dh}, 2, ANY);
        gm_node *b1 = leaf(&c, (int[]){dh}, 1, ANY);
        gm_node *w2 = leaf(&c, (int[]){dz, 2 * dz}, 2, ANY);
        gm_node *w3 = leaf(&c, (int[]){dz, dx}, 2, ANY);
        gm_node *b3 = leaf(&c, (int[]){1, dx}, 2, ANY);
        gm_node *h = gm_tanh(
            c.g, gm_add_bcast(c.g, gm_matmul(c.g, x, w1, false, false), b1));
        gm_node *stats =
            gm_matmul(c.g, gm_slice_cols(c.g, h, 0, dz), w2, false, false);
        gm_node *mu = gm_slice_cols(c.g, stats, 0, dz);
        gm_node *lv = gm_slice_cols(c.g, stats, dz, dz);
        gm_rng noise = gm_rng_stream(11u + (uint64_t)t, "noise");
        gm_node *eps = gm_randn(c.g, "eps", (int[]){batch, dz}, 2, &noise);
        gm_node *z = gm_add(
            c.g, mu, gm_mul(c.g, gm_exp(c.g, gm_scale(c.g, lv, 0.5f)), eps));
        gm_node *xhat =
            gm_add_bcast(c.g, gm_matmul(c.g, z, w3, false, false), b3);
        gm_node *rec = gm_sum(c.g, gm_gaussian_nll_fixed(c.g, x, xhat, 0.0f),
                              GM_AXIS_PER_ROW);
        gm_node *kl =
            gm_sum(c.g, gm_kl_normal_std(c.g, mu, lv), GM_AXIS_PER_ROW);
        gm_node *loss = gm_mean(c.g, gm_add(c.g, rec, kl), GM_AXIS_ALL);
        /* Several curved layers: a smaller step keeps truncation error
         * (h^2) well inside the tolerance. */
        case_check(&c, loss, "kl_normal_std",
                   (gm_gradcheck_tol){5e-3f, 1e-3, 1e-4});
    }
}

/* ---- every op in the table has a case above ---------------------------- */

/* Each GRAD_TEST names its op (and case_check holds it to that), so the
 * section of those names says which ops have a gradient test: a new op in
 * gm_op_table without one fails here. */
static bool has_grad_test(const char *op) {
    for (const char *const *t = __start_gm_grad_test_ops;
         t < __stop_gm_grad_test_ops; t++)
        if (strcmp(*t, op) == 0) return true;
    return false;
}

static bool is_table_op(const char *name) {
    for (int op = 0; op < GM_OP_COUNT; op++)
        if (strcmp(gm_op_table[op]->name, name) == 0) return true;
    return false;
}

Test(grad_coverage, every_op_has_a_gradient_test) {
    for (int op = 0; op < GM_OP_COUNT; op++) {
        cr_assert_not_null(gm_op_table[op], "gm_op_table[%d] is empty", op);
        cr_assert(has_grad_test(gm_op_table[op]->name),
                  "op '%s' has no gradient test: add a GRAD_TEST(%s, ...)",
                  gm_op_table[op]->name, gm_op_table[op]->name);
    }
    for (const char *const *t = __start_gm_grad_test_ops;
         t < __stop_gm_grad_test_ops; t++)
        cr_assert(is_table_op(*t), "GRAD_TEST(%s, ...): no such op", *t);
}
