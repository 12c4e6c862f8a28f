/* A plugin with a gradient penalty of its own: "plugin_wgan_gp", a
 * Wasserstein GAN whose critic loss holds lambda E[(||grad D(x_hat)|| -
 * 1)^2] built with gm_grad, as models/gradient_penalty.c builds it for gan
 * (tests/test_plugin_api.c checks that both give the same penalty).
 * docs/plugins.md quotes the lines between the markers. */
#include <gm/grad.h>
#include <gm/objective.h>
#include <gm/ops.h>

/* docs/plugins.md: begin */
/* lambda * mean over rows of (||d D(x_hat) / d x_hat||_2 - 1)^2, x_hat a
 * random point between each real row and its fake row. */
static gm_node *wgan_gp(gm_graph *g, const gm_net *critic, gm_node *real,
                        gm_node *fake, gm_rng *noise, float lambda) {
    int rows = gm_node_shape(real)->dim[0];
    gm_node *eps =
        gm_rand_uniform(g, "penalty_eps", (int[]){rows, 1}, 2, noise);
    gm_node *x_hat =
        gm_add(g, fake, gm_mul_bcast(g, eps, gm_sub(g, real, fake)));
    /* The gradient as nodes: the critic's backward, which the phase's
     * ordinary backward differentiates again. */
    gm_node *score = gm_sum(g, gm_net_forward(g, critic, x_hat), GM_AXIS_ALL);
    gm_node *grad = NULL;
    gm_error err = {0};
    if (gm_grad(g, score, &x_hat, 1, &grad, &err) != GM_OK)
        return NULL; /* the error is in g too: add_phase reports it */
    gm_node *sq = gm_sum(g, gm_square(g, grad), GM_AXIS_PER_ROW);
    gm_node *norm = gm_sqrt(g, gm_add_scalar(g, sq, 1e-12f)); /* finite at 0 */
    gm_node *gap = gm_square(g, gm_add_scalar(g, norm, -1.0f));
    gm_node *penalty = gm_scale(g, gm_mean(g, gap, GM_AXIS_ALL), lambda);
    return gm_node_set_role(gm_node_set_name(penalty, "gradient_penalty"),
                            GM_ROLE_METRIC);
}
/* docs/plugins.md: end */

static const char *const roles[] = {"generator", "discriminator"};
static const gm_role_shape shapes[] = {
    {.in = {.latent = 1}, .out = {.data = 1}},
    {.in = {.data = 1}, .out = {.fixed = 1}},
};
static const gm_hparam_spec hparams[] = {
    {.name = "lambda", .type = GM_HP_FLOAT, .def = 10, .min = 0, .max = 1e6,
     .doc = "weight of the gradient penalty"},
};
static const gm_metric_info metrics[] = {
    {"gradient_penalty", "the objective's loss", GM_BETTER_NEITHER},
};

static gm_node *mean(gm_graph *g, gm_node *x) {
    return gm_mean(g, x, GM_AXIS_ALL);
}

static gm_status build(gm_model *m, const gm_build_ctx *ctx, gm_error *err) {
    int b = ctx->batch_size, latent = ctx->spec->latent_dim;
    gm_net gen, disc;
    gm_params *gp = gm_model_network(m, ctx, "generator", latent,
                                     ctx->data_dim, &gen, err);
    gm_params *dp = gp ? gm_model_network(m, ctx, "discriminator",
                                          ctx->data_dim, 1, &disc, err)
                       : NULL;
    if (!dp) return err->status;
    /* The critic: E[D(fake)] - E[D(real)] + the penalty. */
    gm_graph *g = gm_graph_create("discriminator");
    gm_graph_freeze(g, gp);
    gm_node *x = gm_input(g, "x", (int[]){b, ctx->data_dim}, 2);
    gm_node *z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    gm_node *fake = gm_net_forward(g, &gen, z);
    gm_node *loss = gm_sub(g, mean(g, gm_net_forward(g, &disc, fake)),
                           mean(g, gm_net_forward(g, &disc, x)));
    float lambda = (float)gm_hparams_number(&ctx->spec->params, "lambda");
    loss = gm_add(g, loss, wgan_gp(g, &disc, x, fake, ctx->noise, lambda));
    gm_status s = gm_model_add_phase(m, "discriminator", g, loss, &dp, 1, 1,
                                     err);
    if (s != GM_OK) return s;
    /* The generator: -E[D(G(z))]. */
    g = gm_graph_create("generator");
    gm_graph_freeze(g, dp);
    z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    loss = gm_neg(g, mean(g, gm_net_forward(g, &disc,
                                            gm_net_forward(g, &gen, z))));
    s = gm_model_add_phase(m, "generator", g, loss, &gp, 1, 1, err);
    if (s != GM_OK) return s;
    g = gm_graph_create("sampler");
    z = gm_randn(g, "z", (int[]){ctx->sample_count, latent}, 2, ctx->noise);
    return gm_model_set_sampler(
        m, g, gm_node_set_name(gm_net_forward(g, &gen, z), "samples"), err);
}

static const gm_objective plugin_wgan_gp = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "plugin_wgan_gp",
               .summary = "WGAN-GP with its penalty written in the plugin",
               .roles = roles,
               .n_roles = 2,
               .shapes = shapes,
               .hparams = hparams,
               .n_hparams = 1,
               .metrics = metrics,
               .n_metrics = 1},
    .build = build,
};

const gm_objective *gm_objective_entry(void) { return &plugin_wgan_gp; }
