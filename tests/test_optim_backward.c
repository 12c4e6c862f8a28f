/* gm_optim_backward_step, which updates each view during backward, against
 * the plain way (gm_graph_backward, then gm_optim_step over each whole
 * group): parameters, gradients and optimizer state bit for bit (memcmp),
 * for SGD, Adam, AdamW and RMSprop, on two groups trained over two phases, with a
 * view no loss reaches in one phase, a group frozen in the other, and
 * clipping on one group. And a gradient that is not finite still stops
 * the trainer, naming the step and the group. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "gm/gm.h"
#include "train/built_model.h"

enum { ROWS = 24, IN = 19, HIDDEN = 37, SIDE = 45, STEPS = 5 };

/* A trunk MLP IN -> HIDDEN -> HIDDEN plus a view "side" that only phase
 * one's loss reads, and a head HIDDEN -> 1 that phase two freezes. */
typedef struct replica {
    gm_params *trunk_p, *head_p;
    gm_net trunk, head;
    int side;
    gm_graph *g1, *g2;
    gm_node *x1, *x2, *loss1, *loss2;
    gm_optim *trunk_opt, *head_opt;
} replica;

static void build(replica *r, const gm_optim_config *trunk_cfg,
                  const gm_optim_config *head_cfg) {
    gm_error err = {0};
    gm_rng init = gm_rng_stream(7, "init");
    r->trunk_p = gm_params_create("trunk");
    r->head_p = gm_params_create("head");
    gm_net_spec ts = {.hidden = {HIDDEN},
                      .n_hidden = 1,
                      .activation = GM_ACT_RELU,
                      .out = HIDDEN};
    gm_net_spec hs = {.out = 1};
    cr_assert_eq(gm_net_init(&r->trunk, r->trunk_p, NULL, "t", IN, &ts, &init, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(
        gm_net_init(&r->head, r->head_p, NULL, "h", HIDDEN, &hs, &init, &err), GM_OK,
        "%s", err.message);
    r->side = gm_params_add(r->trunk_p, "side", (int[]){1, SIDE}, 2, &err);
    cr_assert_geq(r->side, 0, "%s", err.message);
    float *side = gm_params_view_data(r->trunk_p, r->side);
    for (int i = 0; i < SIDE; i++)
        side[i] = 0.1f * (float)(i % 7) - 0.3f;

    /* phase one: both groups, each applied twice (a parameter's gradient
     * is final after its last consumer), and the side view through a
     * penalty */
    gm_graph *g = r->g1 = gm_graph_create("one");
    r->x1 = gm_input(g, "x", (int[]){ROWS, IN}, 2);
    gm_node *x_half = gm_scale(g, r->x1, 0.5f);
    gm_node *out =
        gm_net_forward(g, &r->head, gm_net_forward(g, &r->trunk, r->x1));
    gm_node *out_half =
        gm_net_forward(g, &r->head, gm_net_forward(g, &r->trunk, x_half));
    gm_node *penalty =
        gm_sum(g, gm_square(g, gm_param(g, r->trunk_p, r->side)), GM_AXIS_ALL);
    r->loss1 = gm_add(g,
                      gm_add(g, gm_mean(g, gm_softplus(g, out), GM_AXIS_ALL),
                             gm_mean(g, gm_square(g, out_half), GM_AXIS_ALL)),
                      gm_scale(g, penalty, 0.01f));
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);

    /* phase two: the head frozen; the side view reaches a metric only */
    g = r->g2 = gm_graph_create("two");
    gm_graph_freeze(g, r->head_p);
    r->x2 = gm_input(g, "x", (int[]){ROWS, IN}, 2);
    out = gm_net_forward(g, &r->head, gm_net_forward(g, &r->trunk, r->x2));
    r->loss2 = gm_mean(g, gm_square(g, out), GM_AXIS_ALL);
    gm_node_set_role(gm_sum(g, gm_param(g, r->trunk_p, r->side), GM_AXIS_ALL),
                     GM_ROLE_METRIC);
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);

    r->trunk_opt = gm_optim_create(r->trunk_p, trunk_cfg, &err);
    r->head_opt = gm_optim_create(r->head_p, head_cfg, &err);
    cr_assert(r->trunk_opt && r->head_opt, "%s", err.message);
}

static void free_replica(replica *r) {
    gm_optim_free(r->trunk_opt);
    gm_optim_free(r->head_opt);
    gm_graph_free(r->g1);
    gm_graph_free(r->g2);
    gm_params_free(r->trunk_p);
    gm_params_free(r->head_p);
}

/* One phase: the plain way or with the updates folded into backward. */
static void phase(replica *r, gm_graph *g, gm_node *x, gm_node *loss,
                  gm_rng *data, bool fused) {
    for (size_t i = 0; i < gm_node_numel(x); i++)
        gm_node_data(x)[i] = (float)gm_rng_normal(data);
    gm_params_zero_grad(r->trunk_p);
    gm_params_zero_grad(r->head_p);
    gm_graph_forward(g);
    gm_optim *optims[2] = {r->trunk_opt, r->head_opt};
    gm_error err = {0};
    if (fused) {
        cr_assert_eq(gm_optim_backward_step(optims, 2, g, loss, &err), GM_OK,
                     "%s", err.message);
    } else {
        cr_assert_eq(gm_graph_backward(g, loss, &err), GM_OK, "%s",
                     err.message);
        gm_optim_step(optims[0]);
        gm_optim_step(optims[1]);
    }
}

static void same_bits(const float *a, const float *b, size_t n,
                      const char *what, const char *group, int step) {
    if (!a || !b) {
        cr_assert(a == b, "step %d: %s of '%s' exists in one run only", step,
                  what, group);
        return;
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof(float)) == 0,
                  "step %d: %s of '%s' differs at %zu: %.9g vs %.9g", step,
                  what, group, i, a[i], b[i]);
}

static void same_group(gm_params *pa, gm_optim *oa, gm_params *pb, gm_optim *ob,
                       int step) {
    size_t n = gm_params_numel(pa);
    const char *name = gm_params_name(pa);
    same_bits(gm_params_data(pa), gm_params_data(pb), n, "value", name, step);
    same_bits(gm_params_grad(pa), gm_params_grad(pb), n, "gradient", name,
              step);
    same_bits(gm_optim_state(oa, 0), gm_optim_state(ob, 0), n, "state 0", name,
              step);
    same_bits(gm_optim_state(oa, 1), gm_optim_state(ob, 1), n, "state 1", name,
              step);
    cr_assert_eq(gm_optim_step_count(oa), gm_optim_step_count(ob));
    double na = gm_optim_last_grad_norm(oa), nb = gm_optim_last_grad_norm(ob);
    cr_assert(isfinite(na) && fabs(na - nb) <= 1e-12 * nb,
              "step %d: gradient norm of '%s' %.17g vs %.17g", step, name, na,
              nb);
}

/* Trains a plain and a fused replica side by side and compares them after
 * every phase. */
static void compare(const gm_optim_config *trunk_cfg,
                    const gm_optim_config *head_cfg) {
    replica plain = {0}, fused = {0};
    build(&plain, trunk_cfg, head_cfg);
    build(&fused, trunk_cfg, head_cfg);
    gm_rng data_p = gm_rng_stream(3, "data"), data_f = data_p;
    for (int step = 1; step <= STEPS; step++) {
        phase(&plain, plain.g1, plain.x1, plain.loss1, &data_p, false);
        phase(&fused, fused.g1, fused.x1, fused.loss1, &data_f, true);
        same_group(plain.trunk_p, plain.trunk_opt, fused.trunk_p,
                   fused.trunk_opt, step);
        same_group(plain.head_p, plain.head_opt, fused.head_p, fused.head_opt,
                   step);
        phase(&plain, plain.g2, plain.x2, plain.loss2, &data_p, false);
        phase(&fused, fused.g2, fused.x2, fused.loss2, &data_f, true);
        same_group(plain.trunk_p, plain.trunk_opt, fused.trunk_p,
                   fused.trunk_opt, step);
        same_group(plain.head_p, plain.head_opt, fused.head_p, fused.head_opt,
                   step);
    }
    /* the side view moved in phase two, where no loss reaches it */
    cr_assert_eq(gm_optim_step_count(fused.trunk_opt), 2 * STEPS);
    free_replica(&plain);
    free_replica(&fused);
}

static gm_optim_config config(gm_optim_kind kind) {
    gm_optim_config c = gm_optim_defaults(kind);
    c.lr = 0.05f;
    c.weight_decay = 0.01f;
    return c;
}

Test(optim_backward, adam_matches_the_separate_pass) {
    gm_optim_config c = config(GM_OPTIM_ADAM);
    compare(&c, &c);
}

Test(optim_backward, adamw_matches_the_separate_pass) {
    gm_optim_config c = config(GM_OPTIM_ADAMW);
    compare(&c, &c);
}

Test(optim_backward, sgd_matches_the_separate_pass) {
    gm_optim_config c = config(GM_OPTIM_SGD), m = c;
    m.momentum = 0.9f;
    compare(&m, &c);
}

/* RMSprop with momentum on the trunk, without on the head. */
Test(optim_backward, rmsprop_matches_the_separate_pass) {
    gm_optim_config c = config(GM_OPTIM_RMSPROP), m = c;
    m.momentum = 0.9f;
    compare(&m, &c);
}

/* The head clips (a bound it exceeds): it steps after backward as a whole,
 * while the trunk steps view by view. */
Test(optim_backward, clipping_group_matches_the_separate_pass) {
    gm_optim_config c = config(GM_OPTIM_ADAM), clipped = c;
    clipped.clip_norm = 0.01f;
    compare(&c, &clipped);
}

Test(optim_backward, errors_update_nothing) {
    gm_optim_config c = config(GM_OPTIM_ADAM);
    replica r = {0};
    build(&r, &c, &c);
    gm_params_zero_grad(r.trunk_p);
    gm_graph_forward(r.g1);
    size_t bytes = gm_params_numel(r.trunk_p) * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, gm_params_data(r.trunk_p), bytes);
    gm_error err = {0};
    gm_optim *twice[2] = {r.trunk_opt, r.trunk_opt};
    cr_assert_eq(gm_optim_backward_step(twice, 2, r.g1, r.loss1, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "'trunk' has two optimizers"), "%s",
              err.message);
    gm_node *not_a_loss = gm_graph_node(r.g1, 0);
    cr_assert_eq(
        gm_optim_backward_step(&r.trunk_opt, 1, r.g1, not_a_loss, &err),
        GM_ERR_INVALID);
    cr_assert(memcmp(before, gm_params_data(r.trunk_p), bytes) == 0);
    cr_assert_eq(gm_optim_step_count(r.trunk_opt), 0);
    free(before);
    free_replica(&r);
}

/* y = x, whose backward adds NaN to dx once *poison is set. */
static gm_status poison_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    (void)err;
    *out = *gm_node_shape(gm_node_input(n, 0));
    return GM_OK;
}

static void poison_forward(gm_node *n) {
    gm_node *x = gm_node_input(n, 0);
    memcpy(gm_node_data(n), gm_node_data(x), gm_node_numel(n) * sizeof(float));
}

static void poison_backward(gm_node *n) {
    gm_node *x = gm_node_input(n, 0);
    const bool *poison = gm_node_user(n);
    for (size_t i = 0; i < gm_node_numel(n); i++)
        gm_node_grad(x)[i] += *poison ? NAN : gm_node_grad(n)[i];
}

static const gm_op_def poison_op = {.name = "poison",
                                    .arity = 1,
                                    .shape = poison_shape,
                                    .forward = poison_forward,
                                    .backward = poison_backward};

Test(optim_backward, a_gradient_not_finite_stops_the_trainer) {
    gm_error err = {0};
    gm_model *m = calloc(1, sizeof *m);
    m->train.optimizer = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_params *a = gm_params_create("a"), *b = gm_params_create("b");
    gm_params_add(a, "w", (int[]){3}, 1, NULL);
    gm_params_add(b, "w", (int[]){3}, 1, NULL);
    cr_assert_eq(gm_model_adopt_params(m, a, &err), GM_OK);
    cr_assert_eq(gm_model_adopt_params(m, b, &err), GM_OK);
    bool poison = false;
    gm_graph *g = gm_graph_create("fit");
    gm_node *pb =
        gm_custom(g, &poison_op, (gm_node *[]){gm_param(g, b, 0)}, 1, NULL, 0);
    gm_node_set_user(pb, &poison);
    gm_node *loss =
        gm_sum(g, gm_square(g, gm_add(g, gm_param(g, a, 0), pb)), GM_AXIS_ALL);
    gm_params *both[2] = {a, b};
    cr_assert_eq(gm_model_add_phase(m, "fit", g, loss, both, 2, 1, &err), GM_OK,
                 "%s", err.message);
    cr_assert_eq(gm_model_train_step(m, 1, NULL, NULL, &err), GM_OK, "%s",
                 err.message);
    poison = true;
    cr_assert_eq(gm_model_train_step(m, 2, NULL, NULL, &err), GM_ERR_NUMERIC);
    cr_assert(strstr(err.message, "step 2: the gradient of 'b' is nan"), "%s",
              err.message);
    gm_model_free(m);
}

Test(optim_backward, a_phase_lists_a_group_once) {
    gm_error err = {0};
    gm_model *m = calloc(1, sizeof *m);
    m->train.optimizer = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_params *a = gm_params_create("a");
    gm_params_add(a, "w", (int[]){3}, 1, NULL);
    cr_assert_eq(gm_model_adopt_params(m, a, &err), GM_OK);
    gm_graph *g = gm_graph_create("fit");
    gm_node *loss = gm_sum(g, gm_square(g, gm_param(g, a, 0)), GM_AXIS_ALL);
    gm_params *twice[2] = {a, a};
    cr_assert_eq(gm_model_add_phase(m, "fit", g, loss, twice, 2, 1, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "phase 'fit' lists group 'a' twice"), "%s",
              err.message);
    gm_model_free(m);
}
