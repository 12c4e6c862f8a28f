/* lsgan: the least-squares GAN (Mao et al., 2017) as an out-of-tree gm
 * objective. The discriminator regresses real data to 1 and samples to 0,
 *   L_D = 0.5 E_data[(D(x) - 1)^2] + 0.5 E_z[D(G(z))^2],
 * and the generator pulls its samples' scores to 1,
 *   L_G = 0.5 E_z[(D(G(z)) - 1)^2].
 * Build it against an installed gm (see CMakeLists.txt beside it) and load
 * it with `plugin:` in an experiment file or `gm run --plugin`. */
#include <gm/objective.h>
#include <gm/ops.h>

static const char *const roles[] = {"generator", "discriminator"};
/* What each role maps (latent_dim, data's dimension, fixed), so that gm
 * can check the networks' sizes when it reads the experiment. */
static const gm_role_shape shapes[] = {
    {.in = {.latent = 1}, .out = {.data = 1}},
    {.in = {.data = 1}, .out = {.fixed = 1}},
};

static const gm_hparam_spec hparams[] = {
    {.name = "d_steps", .type = GM_HP_INT, .def = 1, .min = 1, .max = 100,
     .doc = "discriminator steps per generator step"},
};

/* 0.5 * mean((v - target)^2) */
static gm_node *half_mse(gm_graph *g, gm_node *v, float target) {
    gm_node *d = gm_add_scalar(g, v, -target);
    return gm_scale(g, gm_mean(g, gm_square(g, d), GM_AXIS_ALL), 0.5f);
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

    /* Discriminator phase: the generator is frozen. */
    gm_graph *g = gm_graph_create("discriminator");
    gm_graph_freeze(g, gp);
    gm_node *x = gm_input(g, "x", (int[]){b, ctx->data_dim}, 2);
    gm_node *z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    gm_node *real = gm_net_forward(g, &disc, x);
    gm_node *fake = gm_net_forward(g, &disc, gm_net_forward(g, &gen, z));
    gm_node *loss_d = gm_add(g, half_mse(g, real, 1.0f), half_mse(g, fake, 0.0f));
    gm_node_set_role(
        gm_node_set_name(gm_mean(g, real, GM_AXIS_ALL), "d_score_real"),
        GM_ROLE_METRIC);
    gm_node_set_role(
        gm_node_set_name(gm_mean(g, fake, GM_AXIS_ALL), "d_score_fake"),
        GM_ROLE_METRIC);
    int d_steps = (int)gm_hparams_number(&ctx->spec->params, "d_steps");
    gm_status s = gm_model_add_phase(m, "discriminator", g, loss_d, &dp, 1,
                                     d_steps, err);
    if (s != GM_OK) return s;

    /* Generator phase: the discriminator is frozen. */
    g = gm_graph_create("generator");
    gm_graph_freeze(g, dp);
    z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    gm_node *score = gm_net_forward(g, &disc, gm_net_forward(g, &gen, z));
    s = gm_model_add_phase(m, "generator", g, half_mse(g, score, 1.0f), &gp, 1,
                           1, err);
    if (s != GM_OK) return s;

    /* Sampler: x = G(z). */
    g = gm_graph_create("sampler");
    z = gm_randn(g, "z", (int[]){ctx->sample_count, latent}, 2, ctx->noise);
    gm_node *samples = gm_node_set_name(gm_net_forward(g, &gen, z), "samples");
    return gm_model_set_sampler(m, g, samples, err);
}

/* What gm summary and the progress line show first. */
static const char *const headline[] = {"d_score_real", "d_score_fake"};

/* Every metric build logs (its phases' losses aside), with its unit and
 * which way is better: the run file keeps them beside the series, so
 * `gm summary` gives their units without the plugin at hand. */
static const gm_metric_info metrics[] = {
    {"d_score_real", "discriminator score", GM_BETTER_NEITHER},
    {"d_score_fake", "discriminator score", GM_BETTER_NEITHER},
};

static const gm_objective lsgan = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "lsgan",
               .summary = "least-squares GAN (an out-of-tree example)",
               .roles = roles,
               .n_roles = 2,
               .shapes = shapes,
               .hparams = hparams,
               .n_hparams = 1,
               .headline = headline,
               .n_headline = 2,
               .metrics = metrics,
               .n_metrics = 2},
    .build = build,
};

const gm_objective *gm_objective_entry(void) { return &lsgan; }
