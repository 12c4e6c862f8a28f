/* The static graph: names and roles, parameters shared between graphs,
 * frozen groups, detach, errors returned rather than aborts. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gm/gm.h"

static gm_params *group_with(const char *name, int n, float value) {
    gm_params *p = gm_params_create(name);
    int idx = gm_params_add(p, "w", (int[]){1, n}, 2, NULL);
    for (int i = 0; i < n; i++) gm_params_view_data(p, idx)[i] = value;
    return p;
}

Test(graph, nodes_are_found_by_name) {
    gm_graph *g = gm_graph_create("vae");
    gm_node *x = gm_input(g, "x", (int[]){2, 3}, 2);
    gm_node *mu = gm_node_set_name(gm_scale(g, x, 2.0f), "mu");
    gm_error err = {0};
    cr_assert_eq(gm_graph_find(g, "mu", &err), mu);
    cr_assert_eq(gm_graph_find(g, "x", &err), x);
    cr_assert_str_eq(gm_node_name(mu), "mu");
    cr_assert_str_eq(gm_node_op_name(mu), "scale");
    cr_assert_eq(gm_node_role(x), GM_ROLE_INPUT);
    gm_graph_free(g);
}

Test(graph, unknown_name_is_an_error_with_a_message) {
    gm_graph *g = gm_graph_create("vae");
    gm_input(g, "x", (int[]){2}, 1);
    gm_error err = {0};
    cr_assert_null(gm_graph_find(g, "x_hat", &err));
    cr_assert_eq(err.status, GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "'x_hat'"), "%s", err.message);
    cr_assert(strstr(err.message, "'vae'"), "%s", err.message);
    gm_graph_free(g);
}

Test(graph, duplicate_names_are_refused) {
    gm_graph *g = gm_graph_create("g");
    gm_input(g, "x", (int[]){2}, 1);
    cr_assert_null(gm_input(g, "x", (int[]){2}, 1));
    cr_assert_not_null(gm_graph_error(g));
    cr_assert(strstr(gm_graph_error(g)->message, "two nodes named 'x'"));
    gm_graph_free(g);
}

Test(graph, loss_role_needs_a_scalar) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2, 2}, 2);
    cr_assert_null(gm_node_set_role(gm_neg(g, x), GM_ROLE_LOSS));
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "[2, 2]"), "%s", err.message);
    /* An unnamed node is named by its op and place, never as ''. */
    cr_assert(strstr(err.message, "the neg node #1"), "%s", err.message);
    cr_assert_null(strstr(err.message, "''"), "%s", err.message);
    gm_graph_free(g);
}

Test(graph, first_error_propagates_through_later_ops) {
    gm_graph *g = gm_graph_create("g");
    gm_node *a = gm_input(g, "a", (int[]){2, 3}, 2);
    gm_node *b = gm_input(g, "b", (int[]){4, 5}, 2);
    gm_node *bad = gm_matmul(g, a, b, false, false);
    cr_assert_null(bad);
    /* Building on goes on quietly and keeps the first message. */
    cr_assert_null(gm_relu(g, gm_sum(g, bad, GM_AXIS_ALL)));
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "matmul"), "%s", err.message);
    cr_assert(strstr(err.message, "[2, 3]") && strstr(err.message, "[4, 5]"),
              "%s", err.message);
    gm_graph_free(g);
}

Test(graph, no_nodes_after_compile) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){2}, 1);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    cr_assert_null(gm_neg(g, x));
    cr_assert(strstr(gm_graph_error(g)->message, "after compile"));
    gm_graph_free(g);
}

Test(graph, backward_checks_its_loss) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){3}, 1);
    gm_node *s = gm_sum(g, x, GM_AXIS_ALL);
    gm_error err = {0};
    cr_assert_eq(gm_graph_backward(g, s, &err), GM_ERR_STATE);
    gm_graph_compile(g, NULL);
    cr_assert_eq(gm_graph_backward(g, x, &err), GM_ERR_INVALID);
    /* Nothing trainable feeds s: a clear error, not a silent zero. */
    cr_assert_eq(gm_graph_backward(g, s, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "no trainable"), "%s", err.message);
    gm_graph_free(g);
}

/* One group in two graphs: gradients of both land in the same buffer. */
Test(graph, parameters_are_shared_between_graphs) {
    gm_params *p = group_with("net", 3, 2.0f);
    gm_graph *g1 = gm_graph_create("one"), *g2 = gm_graph_create("two");
    gm_node *w1 = gm_param(g1, p, 0);
    cr_assert_eq(gm_param(g1, p, 0), w1, "asking twice gives one node");
    gm_node *l1 = gm_sum(g1, gm_square(g1, w1), GM_AXIS_ALL); /* d = 2w */
    gm_node *l2 = gm_sum(g2, gm_scale(g2, gm_param(g2, p, 0), 3.0f),
                         GM_AXIS_ALL); /* d = 3 */
    cr_assert_eq(gm_graph_compile(g1, NULL), GM_OK);
    cr_assert_eq(gm_graph_compile(g2, NULL), GM_OK);
    cr_assert(gm_params_locked(p));
    gm_params_zero_grad(p);
    gm_graph_forward(g1);
    gm_graph_forward(g2);
    cr_assert_float_eq(gm_node_scalar(l1), 12.0f, 1e-6);
    cr_assert_float_eq(gm_node_scalar(l2), 18.0f, 1e-6);
    gm_graph_backward(g1, l1, NULL);
    gm_graph_backward(g2, l2, NULL);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(gm_params_grad(p)[i], 4.0f + 3.0f, 1e-6);
    gm_graph_free(g1);
    gm_graph_free(g2);
    gm_params_free(p);
}

Test(graph, frozen_group_gets_no_gradient) {
    gm_params *gen = group_with("generator", 2, 1.0f);
    gm_params *disc = group_with("discriminator", 2, 3.0f);
    gm_graph *g = gm_graph_create("generator_phase");
    gm_graph_freeze(g, disc);
    gm_node *y = gm_mul(g, gm_param(g, gen, 0), gm_param(g, disc, 0));
    gm_node *loss = gm_sum(g, y, GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_params_zero_grad(gen);
    gm_params_zero_grad(disc);
    gm_graph_forward(g);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    cr_assert_float_eq(gm_params_grad(gen)[0], 3.0f, 1e-6);
    cr_assert_eq(gm_params_grad(disc)[0], 0.0f);
    cr_assert_null(gm_node_grad(gm_param(g, disc, 0)));
    gm_graph_free(g);
    gm_params_free(gen);
    gm_params_free(disc);
}

Test(graph, detach_stops_gradients) {
    gm_params *p = group_with("net", 2, 2.0f);
    gm_graph *g = gm_graph_create("g");
    gm_node *w = gm_param(g, p, 0);
    /* loss = sum(w * detach(w)): d/dw = detach(w) = 2, not 2w = 4. */
    gm_node *loss = gm_sum(g, gm_mul(g, w, gm_detach(g, w)), GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_params_zero_grad(p);
    gm_graph_forward(g);
    gm_graph_backward(g, loss, NULL);
    cr_assert_float_eq(gm_params_grad(p)[0], 2.0f, 1e-6);
    gm_graph_free(g);
    gm_params_free(p);
}

Test(graph, backward_accumulates_into_params_and_resets_its_own) {
    gm_params *p = group_with("net", 1, 3.0f);
    gm_graph *g = gm_graph_create("g");
    gm_node *loss = gm_sum(g, gm_square(g, gm_param(g, p, 0)), GM_AXIS_ALL);
    gm_graph_compile(g, NULL);
    gm_params_zero_grad(p);
    for (int k = 1; k <= 3; k++) {
        gm_graph_forward(g);
        gm_graph_backward(g, loss, NULL);
        /* +6 per backward: parameter gradients accumulate until zeroed... */
        cr_assert_float_eq(gm_params_grad(p)[0], 6.0f * k, 1e-5);
        /* ...while the graph's own are cleared each time. */
        cr_assert_float_eq(gm_node_grad(loss)[0], 1.0f, 0);
    }
    gm_graph_free(g);
    gm_params_free(p);
}

Test(graph, held_noise_keeps_its_draw) {
    gm_rng parent = gm_rng_stream(1, "noise");
    gm_graph *g = gm_graph_create("g");
    gm_node *eps = gm_randn(g, "eps", (int[]){4, 3}, 2, &parent);
    gm_graph_compile(g, NULL);
    gm_graph_forward(g);
    float first[12];
    memcpy(first, gm_node_data(eps), sizeof first);
    gm_graph_forward(g);
    cr_assert_neq(memcmp(first, gm_node_data(eps), sizeof first), 0,
                  "a new draw at each forward");
    gm_graph_hold_noise(g, true);
    memcpy(first, gm_node_data(eps), sizeof first);
    gm_graph_forward(g);
    cr_assert_eq(memcmp(first, gm_node_data(eps), sizeof first), 0);
    gm_graph_free(g);
}

Test(graph, same_seed_same_noise) {
    float a[6], b[6];
    for (int run = 0; run < 2; run++) {
        gm_rng parent = gm_rng_stream(9, "noise");
        gm_graph *g = gm_graph_create("g");
        gm_node *eps = gm_randn(g, "eps", (int[]){2, 3}, 2, &parent);
        gm_graph_compile(g, NULL);
        gm_graph_forward(g);
        memcpy(run ? b : a, gm_node_data(eps), sizeof a);
        gm_graph_free(g);
    }
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
}

Test(graph, reshape_is_a_view) {
    gm_params *p = group_with("net", 6, 1.0f);
    gm_graph *g = gm_graph_create("g");
    gm_node *w = gm_param(g, p, 0);
    gm_node *r = gm_reshape(g, w, (int[]){3, 2}, 2);
    cr_assert_eq(gm_node_shape(r)->dim[0], 3);
    gm_graph_compile(g, NULL);
    cr_assert_eq(gm_node_data(r), gm_node_data(w));
    gm_graph_free(g);
    g = gm_graph_create("bad");
    cr_assert_null(gm_reshape(g, gm_param(g, p, 0), (int[]){4, 2}, 2));
    cr_assert(strstr(gm_graph_error(g)->message, "[4, 2]"));
    gm_graph_free(g);
    gm_params_free(p);
}

/* A gradient written by one overwriting op (matmul, relu, add) is not
 * zeroed before backward; repeated backwards must still give the same
 * values, for single consumers (overwritten) and shared ones (added). */
Test(graph, fresh_gradients_are_overwritten_not_accumulated) {
    gm_params *p = gm_params_create("net");
    int x = gm_params_add(p, "x", (int[]){2, 3}, 2, NULL);
    int w = gm_params_add(p, "w", (int[]){3, 2}, 2, NULL);
    const float xv[6] = {0.5f, -1, 2, 1, 0.25f, -0.5f};
    const float wv[6] = {1, -2, 0.5f, 3, -1, 0.25f};
    memcpy(gm_params_view_data(p, x), xv, sizeof xv);
    memcpy(gm_params_view_data(p, w), wv, sizeof wv);
    gm_graph *g = gm_graph_create("g");
    gm_node *h = gm_relu(g, gm_param(g, p, x));     /* one consumer: fresh */
    gm_node *y = gm_matmul(g, h, gm_param(g, p, w), false, false);
    gm_node *shared = gm_tanh(g, y);                /* two consumers */
    gm_node *loss = gm_sum(
        g, gm_add(g, gm_square(g, shared), gm_scale(g, shared, 3.0f)),
        GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    cr_assert(gm_node_grad_fresh(h));
    cr_assert_not(gm_node_grad_fresh(shared));
    float first[12];
    for (int k = 0; k < 3; k++) {
        gm_params_zero_grad(p);
        gm_graph_forward(g);
        gm_graph_backward(g, loss, NULL);
        if (k == 0) memcpy(first, gm_params_grad(p), sizeof first);
        else cr_assert_eq(memcmp(first, gm_params_grad(p), sizeof first), 0,
                          "backward %d differs from the first", k);
    }
    /* d loss / d shared = 2 shared + 3, through tanh, matmul and relu:
     * check x's gradient against a hand computation in double. */
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++) {
            double want = 0;
            for (int j = 0; j < 2; j++) {
                double yy = 0;
                for (int k = 0; k < 3; k++)
                    yy += fmax(xv[r * 3 + k], 0) * wv[k * 2 + j];
                double t = tanh(yy);
                want += (2 * t + 3) * (1 - t * t) * wv[c * 2 + j];
            }
            want *= xv[r * 3 + c] > 0;
            cr_assert_float_eq(first[r * 3 + c], want, 1e-5, "x[%d][%d]", r,
                               c);
        }
    gm_graph_free(g);
    gm_params_free(p);
}

/* What an op hook saw: "+name" before and "-name" after each op, forward
 * calls in upper case. */
typedef struct hook_log {
    char text[256];
} hook_log;

static void log_op(void *ctx, const gm_node *n, gm_pass pass, bool after) {
    hook_log *log = ctx;
    char name[32];
    snprintf(name, sizeof name, "%s", gm_node_op_name(n));
    if (pass == GM_PASS_FORWARD)
        for (char *c = name; *c; c++) *c = (char)(*c - 'a' + 'A');
    size_t used = strlen(log->text);
    snprintf(log->text + used, sizeof log->text - used, "%s%s ",
             after ? "-" : "+", name);
}

/* The op hook is called around each op that computes (the reshape, a
 * view, is not reported), forward in order and backward in reverse, and
 * changes no value. */
Test(graph, the_op_hook_surrounds_each_op_of_both_walks) {
    gm_params *p = group_with("net", 4, 3.0f);
    gm_graph *g = gm_graph_create("g");
    gm_node *w = gm_reshape(g, gm_param(g, p, 0), (int[]){2, 2}, 2);
    gm_node *loss = gm_sum(g, gm_square(g, w), GM_AXIS_ALL);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_params_zero_grad(p);
    gm_graph_forward(g);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    float unhooked = gm_params_grad(p)[0];

    hook_log log = {0};
    gm_graph_set_op_hook(g, log_op, &log);
    gm_params_zero_grad(p);
    gm_graph_forward(g);
    cr_assert_eq(gm_graph_backward(g, loss, NULL), GM_OK);
    cr_assert_str_eq(log.text, "+SQUARE -SQUARE +SUM -SUM "
                               "+sum -sum +square -square ");
    cr_assert_eq(gm_params_grad(p)[0], unhooked);

    gm_graph_set_op_hook(g, NULL, NULL);
    log.text[0] = '\0';
    gm_graph_forward(g);
    cr_assert_str_eq(log.text, "");
    gm_graph_free(g);
    gm_params_free(p);
}

/* ---- forward-only graphs (gm_graph_set_forward_only) ---- */

enum { FO_ROWS = 64, FO_COLS = 256 };

/* x [64, 256] -> three affine_relu layers on w -> a reshaped view ->
 * tanh -> scale: the nodes a sampler has. `mid` is the second layer. */
static gm_node *fo_chain(gm_graph *g, gm_params *p, gm_node **x,
                         gm_node **mid) {
    *x = gm_input(g, "x", (int[]){FO_ROWS, FO_COLS}, 2);
    gm_node *w = gm_param(g, p, 0), *b = gm_param(g, p, 1);
    gm_node *h = gm_affine_relu(g, *x, w, b);
    *mid = gm_affine_relu(g, h, w, b);
    h = gm_affine_relu(g, *mid, w, b);
    h = gm_reshape(g, h, (int[]){FO_ROWS * 2, FO_COLS / 2}, 2);
    return gm_scale(g, gm_tanh(g, h), 0.5f);
}

static gm_params *fo_params(void) {
    gm_params *p = gm_params_create("net");
    gm_params_add(p, "w", (int[]){FO_COLS, FO_COLS}, 2, NULL);
    gm_params_add(p, "b", (int[]){FO_COLS}, 1, NULL);
    float *w = gm_params_view_data(p, 0);
    for (int i = 0; i < FO_COLS * FO_COLS; i++)
        w[i] = (float)((i * 7919) % 201 - 100) / 1600.0f;
    for (int i = 0; i < FO_COLS; i++) gm_params_view_data(p, 1)[i] = 0.01f;
    return p;
}

static void fo_fill(gm_node *x, float phase) {
    for (int i = 0; i < FO_ROWS * FO_COLS; i++)
        gm_node_data(x)[i] = sinf(0.37f * (float)i + phase);
}

/* The same values as the ordinary graph, kept nodes included, in an arena
 * that holds neither gradients nor every node's values. */
Test(graph, forward_only_reuses_buffers_and_keeps_the_values) {
    gm_params *p = fo_params();
    gm_graph *plain = gm_graph_create("plain"), *fo = gm_graph_create("fo");
    gm_node *x1, *x2, *mid1, *mid2;
    gm_node *y1 = fo_chain(plain, p, &x1, &mid1);
    gm_graph_set_forward_only(fo);
    gm_node *y2 = fo_chain(fo, p, &x2, &mid2);
    gm_node_keep(mid2);
    cr_assert_eq(gm_graph_compile(plain, NULL), GM_OK);
    cr_assert_eq(gm_graph_compile(fo, NULL), GM_OK);
    size_t buffer = (size_t)FO_ROWS * FO_COLS * sizeof(float);
    /* plain: 6 buffers of values (the reshape is a view) and 5 of
     * gradients; forward-only: x, the kept mid, y, and two alive at once
     * in between */
    cr_assert_geq(gm_graph_arena_bytes(plain), 11 * buffer);
    cr_assert_leq(gm_graph_arena_bytes(fo), 5 * buffer + 4096,
                  "forward-only arena %zu bytes", gm_graph_arena_bytes(fo));
    for (int round = 0; round < 2; round++) {
        fo_fill(x1, (float)round);
        fo_fill(x2, (float)round);
        gm_graph_forward(plain);
        gm_graph_forward(fo);
        cr_assert_eq(memcmp(gm_node_data(y1), gm_node_data(y2), buffer), 0);
        cr_assert_eq(memcmp(gm_node_data(mid1), gm_node_data(mid2), buffer),
                     0, "a kept node survives the forward");
        cr_assert_eq(memcmp(gm_node_data(x1), gm_node_data(x2), buffer), 0,
                     "inputs are never overwritten");
    }
    gm_graph_free(plain);
    gm_graph_free(fo);
    gm_params_free(p);
}

Test(graph, forward_only_keeps_held_noise) {
    gm_rng parent = gm_rng_stream(1, "noise");
    gm_graph *g = gm_graph_create("g");
    gm_graph_set_forward_only(g);
    gm_node *eps = gm_randn(g, "eps", (int[]){4, 3}, 2, &parent);
    gm_node *y = gm_tanh(g, gm_scale(g, eps, 2.0f));
    gm_tanh(g, gm_scale(g, y, 3.0f)); /* could take eps's buffer if free */
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_hold_noise(g, true);
    gm_graph_forward(g);
    float first[12];
    memcpy(first, gm_node_data(eps), sizeof first);
    gm_graph_forward(g);
    cr_assert_eq(memcmp(first, gm_node_data(eps), sizeof first), 0);
    gm_graph_free(g);
}

Test(graph, forward_only_refuses_backward_and_a_late_call) {
    gm_params *p = group_with("net", 3, 2.0f);
    gm_graph *g = gm_graph_create("fo");
    gm_graph_set_forward_only(g);
    gm_node *loss = gm_sum(g, gm_square(g, gm_param(g, p, 0)), GM_AXIS_ALL);
    gm_node_set_role(loss, GM_ROLE_LOSS);
    cr_assert_eq(gm_graph_compile(g, NULL), GM_OK);
    gm_graph_forward(g);
    cr_assert_float_eq(gm_node_scalar(loss), 12.0f, 1e-6, "losses are kept");
    gm_error err = {0};
    cr_assert_eq(gm_graph_backward(g, loss, &err), GM_ERR_STATE);
    cr_assert(strstr(err.message, "forward-only"), "%s", err.message);
    gm_graph *late = gm_graph_create("late");
    gm_scale(late, gm_input(late, "x", (int[]){2}, 1), 2.0f);
    cr_assert_eq(gm_graph_compile(late, NULL), GM_OK);
    gm_graph_set_forward_only(late);
    cr_assert_not_null(gm_graph_error(late));
    cr_assert(strstr(gm_graph_error(late)->message, "before compiling"));
    gm_graph_free(g);
    gm_graph_free(late);
    gm_params_free(p);
}
