/* A plugin VAE: "plugin_vae", a Gaussian encoder and decoder trained on
 * the ELBO with a fixed sigma, whose held-out metrics are gm/vae_eval.h's
 * (tests/test_plugin_api.c checks that they are vae_elbo's on the same
 * networks and rows). docs/plugins.md quotes the lines between the
 * markers. */
#include <math.h>

#include <gm/objective.h>
#include <gm/ops.h>
#include <gm/vae_eval.h>

static const char *const roles[] = {"encoder", "decoder"};
static const gm_role_shape shapes[] = {
    {.in = {.data = 1}, .out = {.latent = 2}},
    {.in = {.latent = 1}, .out = {.data = 1}},
};
static const gm_hparam_spec hparams[] = {
    {.name = "sigma", .type = GM_HP_FLOAT, .def = 1, .min = 1e-4, .max = 1e4,
     .doc = "std of the gaussian likelihood"},
    GM_VAE_EVAL_HPARAMS,
};
static const gm_metric_info metrics[] = {
    {"elbo", "nats per example", GM_BETTER_HIGHER},
    GM_VAE_EVAL_METRIC_ROWS,
};

/* docs/plugins.md: begin */
/* The held-out VAE metrics as the model's hooks: enc gives [mu, logvar],
 * dec the gaussian mean. */
static gm_status add_vae_eval(gm_model *m, const gm_build_ctx *ctx,
                              const gm_net *enc, const gm_net *dec,
                              gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    gm_vae_eval_spec spec = {
        .encoder = enc,
        .decoder = dec,
        .latent = ctx->spec->latent_dim,
        .likelihood = GM_LIKELIHOOD_GAUSSIAN,
        .sigma = gm_hparams_number(h, "sigma"),
        .iwae_k = (int)gm_hparams_number(h, "iwae_k"),
        .iwae_rows = (int)gm_hparams_number(h, "iwae_rows")};
    gm_vae_eval *eval;
    if (gm_vae_eval_create(&eval, &spec, ctx, err) != GM_OK)
        return err->status;
    gm_hooks hooks = {0};
    gm_vae_eval_hooks(eval, &hooks); /* evaluate, save/load, names, free */
    return gm_model_set_hooks(m, &hooks, err);
}
/* docs/plugins.md: end */

static gm_status build(gm_model *m, const gm_build_ctx *ctx, gm_error *err) {
    int d = ctx->data_dim, latent = ctx->spec->latent_dim, b = ctx->batch_size;
    gm_net enc, dec;
    gm_params *groups[2];
    groups[0] = gm_model_network(m, ctx, "encoder", d, 2 * latent, &enc, err);
    if (!groups[0]) return err->status;
    groups[1] = gm_model_network(m, ctx, "decoder", latent, d, &dec, err);
    if (!groups[1]) return err->status;
    gm_graph *g = gm_graph_create(ctx->spec->name);
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_node *x = gm_input(g, "x", (int[]){b, d}, 2);
    gm_node *h = gm_net_forward(g, &enc, x);
    gm_node *mu = gm_slice_cols(g, h, 0, latent);
    gm_node *logvar = gm_slice_cols(g, h, latent, latent);
    gm_node *eps = gm_randn(g, "eps", (int[]){b, latent}, 2, ctx->noise);
    gm_node *z =
        gm_add(g, mu, gm_mul(g, gm_exp(g, gm_scale(g, logvar, 0.5f)), eps));
    float sigma = (float)gm_hparams_number(&ctx->spec->params, "sigma");
    gm_node *nll = gm_gaussian_nll_fixed(g, x, gm_net_forward(g, &dec, z),
                                         2.0f * logf(sigma));
    gm_node *kl = gm_kl_normal_std(g, mu, logvar);
    gm_node *loss = gm_scale(g,
                             gm_add(g, gm_sum(g, nll, GM_AXIS_ALL),
                                    gm_sum(g, kl, GM_AXIS_ALL)),
                             1.0f / (float)b);
    gm_node_set_role(gm_node_set_name(gm_neg(g, loss), "elbo"),
                     GM_ROLE_METRIC);
    gm_status s = add_vae_eval(m, ctx, &enc, &dec, err);
    if (s != GM_OK) {
        gm_graph_free(g);
        return s;
    }
    return gm_model_add_phase(m, "vae", g, loss, groups, 2, 1, err);
}

static const gm_objective objective = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "plugin_vae",
               .summary = "a VAE with gm's held-out VAE metrics",
               .roles = roles,
               .n_roles = 2,
               .shapes = shapes,
               .hparams = hparams,
               .n_hparams = sizeof hparams / sizeof hparams[0],
               .metrics = metrics,
               .n_metrics = sizeof metrics / sizeof metrics[0],
               .log_px = "iwae_logpx"},
    .build = build,
};

const gm_objective *gm_objective_entry(void) { return &objective; }
