/* The gradient penalty table (gradient_penalty.h). */
#include "gradient_penalty.h"

#include <string.h>

#include "gm/grad.h"
#include "gm/ops.h"

/* One penalty, before its weight: a [1] node of g. */
typedef gm_node *(*penalty_fn)(gm_graph *g, const gm_critic_inputs *in,
                               gm_rng *noise);

/* d sum(score) / d at: each row's gradient of its own score, [rows, in]
 * (the critic scores rows independently). */
static gm_node *input_gradient(gm_graph *g, gm_node *score, gm_node *at) {
    gm_node *dx = NULL;
    gm_error err = {0};
    gm_status s = gm_grad(g, gm_sum(g, score, GM_AXIS_ALL), &at, 1, &dx, &err);
    return s == GM_OK ? dx : NULL; /* the error is recorded in g */
}

/* ||row||^2 per row: [rows, in] -> [rows, 1] */
static gm_node *squared_norms(gm_graph *g, gm_node *x) {
    return gm_sum(g, gm_square(g, x), GM_AXIS_PER_ROW);
}

/* E[(||grad D(x_hat)||_2 - 1)^2]: the critic held to norm-1 gradients at
 * the rows x_hat. The norm's sqrt gets a 1e-12 under it, so that a row
 * whose gradient is 0 (dead ReLUs) has a finite derivative. */
static gm_node *unit_gradient_norm(gm_graph *g, const gm_net *critic,
                                   gm_node *x_hat) {
    gm_node *dx = input_gradient(g, gm_net_forward(g, critic, x_hat), x_hat);
    gm_node *norm = gm_sqrt(g, gm_add_scalar(g, squared_norms(g, dx), 1e-12f));
    return gm_mean(g, gm_square(g, gm_add_scalar(g, norm, -1.0f)), GM_AXIS_ALL);
}

/* Gulrajani et al. 2017 (WGAN-GP): on x_hat = eps x_real + (1 - eps)
 * x_fake with eps ~ U[0, 1] per row. */
static gm_node *wgan_gp(gm_graph *g, const gm_critic_inputs *in,
                        gm_rng *noise) {
    int rows = gm_node_shape(in->real)->dim[0];
    gm_node *eps =
        gm_rand_uniform(g, "penalty_eps", (int[]){rows, 1}, 2, noise);
    gm_node *x_hat = gm_add(
        g, in->fake, gm_mul_bcast(g, eps, gm_sub(g, in->real, in->fake)));
    return unit_gradient_norm(g, in->critic, x_hat);
}

/* The batch's standard deviation over all its elements (unbiased, as
 * torch.std): [rows, in] -> [1]. */
static gm_node *batch_std(gm_graph *g, gm_node *x) {
    const gm_shape *s = gm_node_shape(x);
    float n = (float)s->dim[0] * (float)s->dim[1];
    gm_node *centred = gm_sub_bcast(g, x, gm_mean(g, x, GM_AXIS_ALL));
    return gm_sqrt(g, gm_scale(g, gm_sum(g, gm_square(g, centred), GM_AXIS_ALL),
                               1.0f / (n - 1.0f)));
}

/* Kodali et al. 2017 (DRAGAN): the same norm around the data only, at
 * x_hat = x + alpha * 0.5 std(x) u with u ~ U[0, 1] per element and alpha
 * ~ U[0, 1] per row, the perturbation of the authors' code (the paper's
 * text writes Gaussian noise; the code is what its results come from).
 * Like every row here it penalises the critic's score, the logit for the
 * logit losses, where that code penalises the probability sigmoid(s). */
static gm_node *dragan(gm_graph *g, const gm_critic_inputs *in, gm_rng *noise) {
    const gm_shape *s = gm_node_shape(in->real);
    int rows = s->dim[0], cols = s->dim[1];
    gm_node *u = gm_rand_uniform(g, "penalty_u", (int[]){rows, cols}, 2, noise);
    gm_node *alpha =
        gm_rand_uniform(g, "penalty_alpha", (int[]){rows, 1}, 2, noise);
    gm_node *step = gm_mul_bcast(
        g, gm_scale(g, gm_mul_bcast(g, u, batch_std(g, in->real)), 0.5f),
        alpha);
    return unit_gradient_norm(g, in->critic, gm_add(g, in->real, step));
}

/* 1/2 E ||d score / d at||^2 over the rows (the weight is gamma). */
static gm_node *half_squared_gradient(gm_graph *g, gm_node *score,
                                      gm_node *at) {
    gm_node *dx = input_gradient(g, score, at);
    return gm_scale(g, gm_mean(g, squared_norms(g, dx), GM_AXIS_ALL), 0.5f);
}

/* Mescheder et al. 2018: R1 on the data rows, R2 on the generator's. */
static gm_node *r1(gm_graph *g, const gm_critic_inputs *in, gm_rng *noise) {
    (void)noise;
    return half_squared_gradient(g, in->real_score, in->real);
}

static gm_node *r2(gm_graph *g, const gm_critic_inputs *in, gm_rng *noise) {
    (void)noise;
    return half_squared_gradient(g, in->fake_score, in->fake);
}

/* Every penalty once, X(name, fn) with fn NULL for none: the table and
 * the `penalty` hyperparameter's choices come from this list. */
#define PENALTIES(X)                                                           \
    X(none, NULL) X(wgan_gp, wgan_gp) X(r1, r1) X(r2, r2) X(dragan, dragan)

#define PENALTY_ROW(name, fn) {#name, fn},
static const struct {
    const char *name;
    penalty_fn fn; /* NULL: no penalty */
} penalties[] = {PENALTIES(PENALTY_ROW)};
#define N_PENALTIES (sizeof penalties / sizeof penalties[0])

#define PENALTY_NAME(name, fn) #name,
const char *const gm_penalty_names[N_PENALTIES + 1] = {PENALTIES(PENALTY_NAME)
                                                           NULL};

gm_node *gm_add_gradient_penalty(gm_graph *g, const gm_hparams *h,
                                 const gm_critic_inputs *in, gm_rng *noise,
                                 gm_node *loss) {
    const char *name = gm_hparams_choice(h, "penalty");
    penalty_fn fn = NULL;
    for (size_t i = 0; i < N_PENALTIES; i++)
        if (strcmp(penalties[i].name, name) == 0) fn = penalties[i].fn;
    if (!fn) return loss;
    gm_node *p = fn(g, in, noise);
    if (!p) return NULL;
    float weight = (float)gm_hparams_number(h, "penalty_weight");
    p = gm_node_set_role(
        gm_node_set_name(gm_scale(g, p, weight), "gradient_penalty"),
        GM_ROLE_METRIC);
    return gm_add(g, loss, p);
}
