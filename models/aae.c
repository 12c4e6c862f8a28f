/* aae: the adversarial autoencoder (Makhzani et al., 2016). An encoder
 * q(z|x) = N(mu(x), exp(logvar(x))) (reparameterised) and a decoder p(x|z)
 * learn to reconstruct (the VAE's likelihood, without its KL), while a
 * discriminator on z matches the aggregate posterior q(z) = E_x q(z|x) to
 * the prior p(z) = N(0, I) adversarially. Three phases per step:
 *   reconstruction  -E_q[log p(x|z)] over encoder and decoder;
 *   discriminator   the loss family's discriminator loss, p(z) real and
 *                   q(z) fake;
 *   regularisation  its generator loss over the encoder alone.
 * The encoder has one optimizer, shared by reconstruction and
 * regularisation. At evaluation: recon_mse and kl_agg_qz_pz
 * (latent_eval.h). */
#include <stdlib.h>

#include "adversarial_loss.h"
#include "gm/ops.h"
#include "latent_eval.h"
#include "objectives.h"

static const char *const aae_roles[] = {"encoder", "decoder", "discriminator"};
static const gm_role_shape aae_shapes[] = {
    {.in = {.data = 1}, .out = {.latent = 2}},  /* x -> mu, logvar */
    {.in = {.latent = 1}, .out = {.data = 1}},  /* z -> x */
    {.in = {.latent = 1}, .out = {.fixed = 1}}, /* z -> 1 */
};

static const gm_hparam_spec aae_hparams[] = {
    GM_VAE_LIKELIHOOD_HPARAMS,
    GM_ADV_LOSS_HPARAM,
    GM_ADV_D_STEPS_HPARAM("discriminator steps per step"),
    GM_ADV_D_LR_HPARAM,
};

typedef struct aae_parts {
    gm_vae_parts vae; /* encoder, decoder, the reconstruction graph */
    gm_net disc;
    gm_params *discriminator;
    const gm_adv_loss *loss;
} aae_parts;

static gm_status graph_failed(gm_graph *g, gm_error *err) {
    *err = *gm_graph_error(g);
    gm_graph_free(g);
    return err->status;
}

/* A graph of encoded training rows: x -> z ~ q(z|x). */
static gm_node *encoded(gm_graph *g, const aae_parts *p,
                        const gm_build_ctx *ctx) {
    gm_node *x = gm_input(g, "x", (int[]){ctx->batch_size, ctx->data_dim}, 2);
    return gm_gaussian_encode(g, &p->vae.encoder, x, "eps", ctx->noise).z;
}

static gm_status discriminator_phase(gm_model *m, const gm_build_ctx *ctx,
                                     const aae_parts *p, gm_error *err) {
    gm_graph *g = gm_graph_create("discriminator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->vae.groups[0]);
    gm_node *fake = encoded(g, p, ctx);
    gm_node *real =
        gm_randn(g, "z_prior", (int[]){ctx->batch_size, ctx->spec->latent_dim},
                 2, ctx->noise);
    /* Real is p(z) and fake q(z): a logit estimates log p(z)/q(z). */
    gm_node *loss = gm_adv_discriminator_loss(
        g, p->loss, gm_net_forward(g, &p->disc, real),
        gm_net_forward(g, &p->disc, fake),
        (gm_adv_metric_names){"kl_pz_qz_disc", "kl_qz_pz_disc", 1});
    if (gm_graph_error(g)) return graph_failed(g, err);
    gm_params *groups[1] = {p->discriminator};
    const gm_hparams *h = &ctx->spec->params;
    gm_status s = gm_model_add_phase(m, "discriminator", g, loss, groups, 1,
                                     (int)gm_hparams_number(h, "d_steps"), err);
    double lr = gm_hparams_number(h, "d_lr");
    if (s == GM_OK && lr > 0)
        s = gm_model_set_phase_lr(m, "discriminator", (float)lr, err);
    return s;
}

static gm_status regularisation_phase(gm_model *m, const gm_build_ctx *ctx,
                                      const aae_parts *p, gm_error *err) {
    gm_graph *g = gm_graph_create("regularisation");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->discriminator);
    gm_node *score = gm_net_forward(g, &p->disc, encoded(g, p, ctx));
    gm_node *loss = gm_adv_generator_loss(g, p->loss, score, NULL);
    if (gm_graph_error(g)) return graph_failed(g, err);
    gm_params *groups[1] = {p->vae.groups[0]};
    return gm_model_add_phase(m, "regularisation", g, loss, groups, 1, 1, err);
}

static gm_status set_eval(gm_model *m, const gm_build_ctx *ctx,
                          const aae_parts *p, gm_error *err) {
    gm_latent_eval *e = calloc(1, sizeof *e);
    gm_hooks hooks = {.state = e,
                      .free_state = gm_latent_eval_free,
                      .evaluate = gm_latent_evaluate,
                      .eval_metrics = gm_latent_eval_metrics,
                      .n_eval_metrics = GM_LATENT_EVAL_METRICS};
    gm_status s = e ? gm_model_set_hooks(m, &hooks, err)
                    : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    return s == GM_OK
               ? gm_latent_eval_build(e, &p->vae.encoder, p->vae.groups[0],
                                      &p->vae.decoder, p->vae.groups[1],
                                      p->vae.bernoulli, ctx->data_dim,
                                      ctx->spec->latent_dim, err)
               : s;
}

static gm_status aae_build(gm_model *m, const gm_build_ctx *ctx,
                           gm_error *err) {
    aae_parts p = {.loss = gm_adv_loss_of(&ctx->spec->params)};
    gm_status s = gm_vae_build_parts(m, ctx, &p.vae, err);
    if (s != GM_OK) return s;
    /* The reconstruction phase is the VAE's graph with -E_q[log p(x|z)]
     * as its loss; its kl_qz_pz and elbo stay as metrics. */
    s = gm_model_add_phase(m, "reconstruction", p.vae.graph, p.vae.recon_nll,
                           p.vae.groups, 2, 1, err);
    if (s != GM_OK) return s;
    p.discriminator = gm_model_network(m, ctx, "discriminator",
                                       ctx->spec->latent_dim, 1, &p.disc, err);
    if (!p.discriminator) return err->status;
    s = discriminator_phase(m, ctx, &p, err);
    if (s == GM_OK) s = regularisation_phase(m, ctx, &p, err);
    if (s == GM_OK) s = gm_vae_set_sampler(m, ctx, &p.vae, err);
    return s == GM_OK ? set_eval(m, ctx, &p, err) : s;
}

static const char *const aae_headline[] = {"recon_mse", "kl_agg_qz_pz"};

static const gm_metric_info aae_metrics[] = {
    GM_VAE_PARTS_METRICS,
    GM_ADV_SCORE_METRICS,
    {"kl_pz_qz_disc", "nats", GM_BETTER_LOWER},
    {"kl_qz_pz_disc", "nats", GM_BETTER_LOWER},
    GM_LATENT_EVAL_METRIC_ROWS};

const gm_objective gm_objective_aae = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "aae",
               .summary = "adversarial autoencoder: reconstruction, and a "
                          "discriminator on z matching q(z) to p(z)",
               .roles = aae_roles,
               .n_roles = 3,
               .shapes = aae_shapes,
               .hparams = aae_hparams,
               .n_hparams = sizeof aae_hparams / sizeof aae_hparams[0],
               .headline = aae_headline,
               .n_headline = sizeof aae_headline / sizeof aae_headline[0],
               .metrics = aae_metrics,
               .n_metrics = sizeof aae_metrics / sizeof aae_metrics[0]},
    .build = aae_build,
};
