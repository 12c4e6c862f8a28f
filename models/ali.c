/* ali: adversarially learned inference (ALI, Dumoulin et al. 2017; BiGAN,
 * Donahue et al. 2017). An encoder q(z|x) = N(mu(x), exp(logvar(x)))
 * (reparameterised) and a generator x = G(z) are trained against a
 * discriminator on (x, z) pairs: real pairs (x, z ~ q(z|x)) with x from
 * the data, i.e. q(x, z) = p_data(x) q(z|x), against fake pairs
 * (G(z), z) with z ~ N(0, I), i.e. p(x, z) = p(z) p(x|z). It matches the
 * same two joints as joint_kl, with a discriminator instead of an explicit
 * KL. The loss family is the `loss` table of adversarial_loss.h; the
 * encoder and generator minimise its generator terms on both sides.
 * At evaluation: recon_mse (x -> E -> G) and kl_agg_qz_pz
 * (latent_eval.h). */
#include <limits.h>
#include <stdlib.h>

#include "adversarial_loss.h"
#include "gan_parts.h"
#include "gm/ops.h"
#include "gradient_penalty.h"
#include "latent_eval.h"
#include "objectives.h"
#include "weight_clip.h"

static const char *const ali_roles[] = {"encoder", "generator",
                                        "discriminator"};
static const gm_role_shape ali_shapes[] = {
    {.in = {.data = 1}, .out = {.latent = 2}},             /* x -> mu, logvar */
    {.in = {.latent = 1}, .out = {.data = 1}},             /* z -> x */
    {.in = {.latent = 1, .data = 1}, .out = {.fixed = 1}}, /* (x, z) -> 1 */
};

static const gm_hparam_spec ali_hparams[] = {
    GM_ADV_LOSS_HPARAM,
    GM_ADV_D_STEPS_HPARAM("discriminator steps per encoder/generator step"),
    GM_ADV_D_LR_HPARAM,
    GM_ADV_G_LR_HPARAM("encoder and generator learning rate (0: the model's "
                       "lr)"),
    GM_PENALTY_HPARAMS,
    GM_WEIGHT_CLIP_HPARAM,
};

typedef struct ali_parts {
    gm_net enc, gen, disc;
    gm_params *encoder, *generator, *discriminator;
    const gm_adv_loss *loss;
} ali_parts;

/* The discriminator's inputs, the pairs, and its scores on them. */
typedef struct ali_scores {
    gm_node *real_pair, *fake_pair;
    gm_node *real, *fake;
} ali_scores;

/* The discriminator's scores on (x, z ~ q(z|x)) and (G(z), z ~ p(z)). */
static ali_scores pair_scores(gm_graph *g, const ali_parts *p,
                              const gm_build_ctx *ctx) {
    int b = ctx->batch_size, latent = ctx->spec->latent_dim;
    gm_node *x = gm_input(g, "x", (int[]){b, ctx->data_dim}, 2);
    gm_gaussian_code q = gm_gaussian_encode(g, &p->enc, x, "eps", ctx->noise);
    gm_node *z = gm_randn(g, "z", (int[]){b, latent}, 2, ctx->noise);
    gm_node *fake_x = gm_node_set_name(gm_net_forward(g, &p->gen, z), "fake");
    gm_node *real_cols[2] = {x, q.z}, *fake_cols[2] = {fake_x, z};
    ali_scores s;
    s.real_pair = gm_concat_cols(g, real_cols, 2);
    s.real = gm_net_forward(g, &p->disc, s.real_pair);
    s.fake_pair = gm_concat_cols(g, fake_cols, 2);
    s.fake = gm_net_forward(g, &p->disc, s.fake_pair);
    return s;
}

static gm_status graph_failed(gm_graph *g, gm_error *err) {
    *err = *gm_graph_error(g);
    gm_graph_free(g);
    return err->status;
}

static gm_status add_phase(gm_model *m, const char *name, gm_graph *g,
                           gm_node *loss, gm_params **groups, int n,
                           int repeats, double lr, gm_error *err) {
    if (gm_graph_error(g)) return graph_failed(g, err);
    gm_status s = gm_model_add_phase(m, name, g, loss, groups, n, repeats, err);
    if (s == GM_OK && lr > 0)
        s = gm_model_set_phase_lr(m, name, (float)lr, err);
    return s;
}

static gm_status discriminator_phase(gm_model *m, const gm_build_ctx *ctx,
                                     const ali_parts *p, gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    gm_graph *g = gm_graph_create("discriminator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->encoder);
    gm_graph_freeze(g, p->generator);
    ali_scores s = pair_scores(g, p, ctx);
    /* A logit estimates log q(x,z)/p(x,z) (exactly so for the optimal D). */
    gm_node *loss = gm_adv_discriminator_loss(
        g, p->loss, s.real, s.fake,
        (gm_adv_metric_names){"kl_data_model_disc", "kl_model_data_disc", 1});
    /* The penalty on the joint input: pairs, interpolated as pairs. */
    gm_critic_inputs critic = {.critic = &p->disc,
                               .real = s.real_pair,
                               .fake = s.fake_pair,
                               .real_score = s.real,
                               .fake_score = s.fake};
    loss = gm_add_gradient_penalty(g, h, &critic, ctx->noise, loss);
    gm_params *groups[1] = {p->discriminator};
    gm_status st = add_phase(m, "discriminator", g, loss, groups, 1,
                             (int)gm_hparams_number(h, "d_steps"),
                             gm_hparams_number(h, "d_lr"), err);
    return st == GM_OK ? gm_weight_clip_phase(m, h, "discriminator", err)
                       : st;
}

static gm_status generator_phase(gm_model *m, const gm_build_ctx *ctx,
                                 const ali_parts *p, gm_error *err) {
    gm_graph *g = gm_graph_create("generator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->discriminator);
    ali_scores s = pair_scores(g, p, ctx);
    gm_node *loss = gm_adv_generator_loss(g, p->loss, s.fake, s.real);
    gm_params *groups[2] = {p->encoder, p->generator};
    return add_phase(m, "generator", g, loss, groups, 2, 1,
                     gm_hparams_number(&ctx->spec->params, "g_lr"), err);
}

static gm_status set_eval(gm_model *m, const gm_build_ctx *ctx,
                          const ali_parts *p, gm_error *err) {
    gm_latent_eval *e = calloc(1, sizeof *e);
    gm_hooks hooks = {.state = e,
                      .free_state = gm_latent_eval_free,
                      .evaluate = gm_latent_evaluate,
                      .eval_metrics = gm_latent_eval_metrics,
                      .n_eval_metrics = GM_LATENT_EVAL_METRICS};
    gm_status s = e ? gm_model_set_hooks(m, &hooks, err)
                    : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    return s == GM_OK ? gm_latent_eval_build(e, &p->enc, p->encoder, &p->gen,
                                             p->generator, false, ctx->data_dim,
                                             ctx->spec->latent_dim, err)
                      : s;
}

static gm_status ali_build(gm_model *m, const gm_build_ctx *ctx,
                           gm_error *err) {
    int d = ctx->data_dim, latent = ctx->spec->latent_dim;
    if (latent < 1 || latent > INT_MAX / 2 || d > INT_MAX - latent)
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': latent_dim must be in 1..%d (the "
                            "encoder outputs 2 x latent_dim), got %d",
                            ctx->spec->name, INT_MAX / 2, latent);
    ali_parts p = {.loss = gm_adv_loss_of(&ctx->spec->params)};
    p.encoder = gm_model_network(m, ctx, "encoder", d, 2 * latent, &p.enc, err);
    p.generator = p.encoder ? gm_model_network(m, ctx, "generator", latent, d,
                                               &p.gen, err)
                            : NULL;
    p.discriminator = p.generator
                          ? gm_model_network(m, ctx, "discriminator",
                                             d + latent, 1, &p.disc, err)
                          : NULL;
    if (!p.discriminator) return err->status;
    gm_status s = discriminator_phase(m, ctx, &p, err);
    if (s == GM_OK) s = generator_phase(m, ctx, &p, err);
    if (s == GM_OK) s = gm_gan_set_sampler(m, ctx, &p.gen, err);
    return s == GM_OK ? set_eval(m, ctx, &p, err) : s;
}

static const char *const ali_headline[] = {
    "recon_mse", "kl_agg_qz_pz", "d_real", "d_fake", "d_score_real",
    "d_score_fake"};

static const gm_metric_info ali_metrics[] = {
    GM_ADV_SCORE_METRICS, GM_ADV_KL_DISC_METRICS, GM_PENALTY_METRIC,
    GM_LATENT_EVAL_METRIC_ROWS};

const gm_objective gm_objective_ali = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "ali",
               .summary = "ALI/BiGAN: encoder and generator against a "
                          "discriminator on (x, z) pairs",
               .roles = ali_roles,
               .n_roles = 3,
               .shapes = ali_shapes,
               .hparams = ali_hparams,
               .n_hparams = sizeof ali_hparams / sizeof ali_hparams[0],
               .headline = ali_headline,
               .n_headline = sizeof ali_headline / sizeof ali_headline[0],
               .metrics = ali_metrics,
               .n_metrics = sizeof ali_metrics / sizeof ali_metrics[0]},
    .build = ali_build,
};
