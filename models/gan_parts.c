/* The GAN's networks, discriminator phase, generator graph and sampler;
 * the losses come from the loss family's table (adversarial_loss.c). */
#include <limits.h>
#include <stdlib.h>
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

/* A list of layers that reshapes its flat input into images before any
 * layer mixes features reads a pack as [pack * C, H, W]: the pack's rows
 * lie one after another, so its images stand stacked along the channels.
 * Each reshape before the first linear or convolution gets pack times its
 * leading dimension (a reshape to [features] pack times the features). */
static void stack_channels(gm_net_spec *net, int pack) {
    for (int i = 0; i < net->n_layers; i++) {
        gm_layer_spec *l = &net->layers[i];
        if (l->kind == GM_LAYER_LINEAR || l->kind == GM_LAYER_CONV2D ||
            l->kind == GM_LAYER_CONV_TRANSPOSE2D)
            return;
        /* too large a shape stays as it is: the plan refuses it */
        if (l->kind == GM_LAYER_RESHAPE && l->shape[0] <= INT_MAX / pack)
            l->shape[0] *= pack;
    }
}

/* The discriminator on packs: pack * data_dim features, built from a copy
 * of the model's settings whose discriminator stacks the channels. */
static gm_params *packed_discriminator(gm_model *m, const gm_build_ctx *ctx,
                                       int pack, gm_net *net, gm_error *err) {
    gm_model_spec *spec = malloc(sizeof *spec);
    if (!spec) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *spec = *ctx->spec;
    for (int i = 0; i < spec->n_networks; i++)
        if (strcmp(spec->networks[i].role, "discriminator") == 0)
            stack_channels(&spec->networks[i].net, pack);
    gm_build_ctx packed = *ctx;
    packed.spec = spec;
    gm_params *d = gm_model_network(m, &packed, "discriminator",
                                    pack * ctx->data_dim, 1, net, err);
    free(spec);
    if (!d) {
        gm_error inner = *err;
        gm_error_set(err, inner.status,
                     "params.pack %d: the discriminator reads %d samples of "
                     "%d features side by side (images stacked along the "
                     "channels): %s",
                     pack, pack, ctx->data_dim, inner.message);
    }
    return d;
}

gm_status gm_gan_networks(gm_model *m, const gm_build_ctx *ctx, gm_gan_parts *p,
                          gm_error *err) {
    memset(p, 0, sizeof *p);
    const gm_hparams *h = &ctx->spec->params;
    p->loss = gm_adv_loss_of(h);
    p->d_steps = (int)gm_hparams_number(h, "d_steps");
    p->pack = (int)gm_hparams_number(h, "pack");
    if (ctx->batch_size % p->pack != 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "params.pack %d does not divide train.batch_size "
                            "%d: the discriminator judges batch_size / pack "
                            "packs of pack samples on each side",
                            p->pack, ctx->batch_size);
    if (ctx->data_dim > INT_MAX / p->pack)
        return gm_error_set(err, GM_ERR_INVALID,
                            "params.pack %d: packs of %d-dimensional samples "
                            "are too wide",
                            p->pack, ctx->data_dim);
    p->generator = gm_model_network(m, ctx, "generator", ctx->spec->latent_dim,
                                    ctx->data_dim, &p->gen, err);
    if (!p->generator) return err->status;
    p->discriminator =
        p->pack == 1 ? gm_model_network(m, ctx, "discriminator", ctx->data_dim,
                                        1, &p->disc, err)
                     : packed_discriminator(m, ctx, p->pack, &p->disc, err);
    return p->discriminator ? GM_OK : err->status;
}

gm_node *gm_gan_packs(gm_graph *g, const gm_gan_parts *p, gm_node *rows) {
    if (p->pack == 1 || !rows) return rows;
    const gm_shape *s = gm_node_shape(rows);
    return gm_reshape(g, rows,
                      (int[]){s->dim[0] / p->pack, p->pack * s->dim[1]}, 2);
}

gm_node *gm_gan_discriminate(gm_graph *g, const gm_gan_parts *p,
                             gm_node *rows) {
    return gm_net_forward(g, &p->disc, gm_gan_packs(g, p, rows));
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
    gm_node *real = gm_gan_packs(g, p, x),
            *fake_packs = gm_gan_packs(g, p, fake);
    gm_node *real_logit = gm_net_forward(g, &p->disc, real);
    gm_node *fake_logit = gm_net_forward(g, &p->disc, fake_packs);
    /* A logit estimates log p_data/p_g (exactly so for the optimal D), of
     * a pack the sum over its samples. */
    gm_node *loss = gm_adv_discriminator_loss(
        g, p->loss, real_logit, fake_logit,
        (gm_adv_metric_names){"kl_data_model_disc", "kl_model_data_disc",
                              p->pack});
    /* the penalty's gradients are with respect to whole packs */
    gm_critic_inputs critic = {.critic = &p->disc,
                               .real = real,
                               .fake = fake_packs,
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
    gm_status s =
        gm_unrolled_discriminator_score(g, ctx, p, out->fake, &score, err);
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
