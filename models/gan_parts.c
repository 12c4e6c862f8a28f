/* The GAN's networks, discriminator phase, generator graph and sampler;
 * the losses come from the loss family's table (adversarial_loss.c). */
#include <string.h>

#include "gan_parts.h"
#include "gm/ops.h"

const gm_metric_info gm_gan_metrics[GM_GAN_METRICS] = {
    GM_ADV_SCORE_METRICS, GM_ADV_KL_DISC_METRICS, GM_PENALTY_METRIC};

const char *const gm_gan_roles[] = {"generator", "discriminator"};
/* The generator maps z to x, the discriminator x to one logit. */
const gm_role_shape gm_gan_shapes[] = {
    {.in = {.latent = 1}, .out = {.data = 1}},
    {.in = {.data = 1}, .out = {.fixed = 1}},
};

gm_status gm_gan_networks(gm_model *m, const gm_build_ctx *ctx, gm_gan_parts *p,
                          gm_error *err) {
    memset(p, 0, sizeof *p);
    const gm_hparams *h = &ctx->spec->params;
    p->loss = gm_adv_loss_of(h);
    p->d_steps = (int)gm_hparams_number(h, "d_steps");
    p->generator = gm_model_network(m, ctx, "generator", ctx->spec->latent_dim,
                                    ctx->data_dim, &p->gen, err);
    if (!p->generator) return err->status;
    p->discriminator = gm_model_network(m, ctx, "discriminator", ctx->data_dim,
                                        1, &p->disc, err);
    return p->discriminator ? GM_OK : err->status;
}

static gm_status graph_failed(gm_graph *g, gm_error *err) {
    *err = *gm_graph_error(g);
    gm_graph_free(g);
    return err->status;
}

gm_status gm_gan_add_discriminator_phase(gm_model *m, const gm_build_ctx *ctx,
                                         const gm_gan_parts *p, gm_error *err) {
    int b = ctx->batch_size;
    gm_graph *g = gm_graph_create("discriminator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->generator);
    gm_node *x = gm_input(g, "x", (int[]){b, ctx->data_dim}, 2);
    gm_node *z =
        gm_randn(g, "z", (int[]){b, ctx->spec->latent_dim}, 2, ctx->noise);
    gm_node *fake = gm_node_set_name(gm_net_forward(g, &p->gen, z), "fake");
    gm_node *real_logit = gm_net_forward(g, &p->disc, x);
    gm_node *fake_logit = gm_net_forward(g, &p->disc, fake);
    /* A logit estimates log p_data/p_g (exactly so for the optimal D). */
    gm_node *loss = gm_adv_discriminator_loss(
        g, p->loss, real_logit, fake_logit,
        (gm_adv_metric_names){"kl_data_model_disc", "kl_model_data_disc"});
    gm_critic_inputs critic = {.critic = &p->disc,
                               .real = x,
                               .fake = fake,
                               .real_score = real_logit,
                               .fake_score = fake_logit};
    loss = gm_add_gradient_penalty(g, &ctx->spec->params, &critic, ctx->noise,
                                   loss);
    if (gm_graph_error(g)) return graph_failed(g, err);
    gm_params *groups[1] = {p->discriminator};
    gm_status s = gm_model_add_phase(m, "discriminator", g, loss, groups, 1,
                                     p->d_steps, err);
    double lr = gm_hparams_number(&ctx->spec->params, "d_lr");
    if (s == GM_OK && lr > 0)
        s = gm_model_set_phase_lr(m, "discriminator", (float)lr, err);
    if (s == GM_OK)
        s = gm_weight_clip_phase(m, &ctx->spec->params, "discriminator", err);
    return s;
}

gm_status gm_gan_add_generator_phase(gm_model *m, const gm_build_ctx *ctx,
                                     const gm_gan_parts *p, gm_graph *g,
                                     gm_node *loss, int repeats,
                                     gm_error *err) {
    gm_params *groups[1] = {p->generator};
    gm_status s =
        gm_model_add_phase(m, "generator", g, loss, groups, 1, repeats, err);
    double lr = gm_hparams_number(&ctx->spec->params, "g_lr");
    if (s == GM_OK && lr > 0)
        s = gm_model_set_phase_lr(m, "generator", (float)lr, err);
    return s;
}

gm_node *gm_gan_generator_loss(gm_graph *g, const gm_gan_parts *p,
                               gm_node *fake_logit) {
    return gm_adv_generator_loss(g, p->loss, fake_logit, NULL);
}

gm_status gm_gan_generator_graph_build(const gm_build_ctx *ctx,
                                       const gm_gan_parts *p,
                                       gm_gan_generator_graph *out,
                                       gm_error *err) {
    int b = ctx->batch_size;
    gm_graph *g = out->graph = gm_graph_create("generator");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_freeze(g, p->discriminator);
    out->z = gm_randn(g, "z", (int[]){b, ctx->spec->latent_dim}, 2, ctx->noise);
    out->fake = gm_node_set_name(gm_net_forward(g, &p->gen, out->z), "fake");
    gm_node *score;
    gm_status s = gm_unrolled_discriminator_score(g, ctx, p, out->fake,
                                                  &score, err);
    out->loss = gm_gan_generator_loss(g, p, score);
    if (s != GM_OK) gm_graph_free(g);
    if (s == GM_OK && gm_graph_error(g)) s = graph_failed(g, err);
    if (s != GM_OK) out->graph = NULL;
    return s;
}

gm_status gm_gan_set_sampler(gm_model *m, const gm_build_ctx *ctx,
                             const gm_net *generator, gm_error *err) {
    gm_graph *g = gm_graph_create("sampler");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_node *z =
        gm_randn(g, "z", (int[]){ctx->sample_count, ctx->spec->latent_dim}, 2,
                 ctx->noise);
    gm_node *x = gm_node_set_name(gm_net_forward(g, generator, z), "samples");
    return gm_model_set_sampler(m, g, x, err);
}
