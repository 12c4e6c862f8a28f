/* The unrolled discriminator (unrolled_gan.h). */
#include "unrolled_gan.h"

#include <stdio.h>
#include <stdlib.h>

#include "gan_parts.h"
#include "gm/grad.h"
#include "gm/ops.h"

/* The discriminator's loss with weights theta, on the real packs and on
 * fake rows (packed here, with pack > 1): the loss family's, without
 * metrics. */
static gm_node *discriminator_loss(gm_graph *g, const gm_gan_parts *p,
                                   gm_node *const *theta, gm_node *real,
                                   gm_node *fake) {
    gm_node *real_score = gm_net_forward_nodes(g, &p->disc, theta, real);
    gm_node *fake_score =
        gm_net_forward_nodes(g, &p->disc, theta, gm_gan_packs(g, p, fake));
    return gm_add(g, p->loss->d_real(g, real_score),
                  p->loss->d_fake(g, fake_score));
}

/* theta <- theta - lr * d loss / d theta, on n weights (grads: room for
 * n nodes). false with the error recorded in g. */
static bool sgd_step(gm_graph *g, gm_node *loss, gm_node **theta,
                     gm_node **grads, int n, float lr) {
    if (!loss) return false;
    gm_error err = {0};
    if (gm_grad(g, loss, theta, n, grads, &err) != GM_OK) return false;
    for (int v = 0; v < n; v++)
        theta[v] = gm_sub(g, theta[v], gm_scale(g, grads[v], lr));
    return !gm_graph_error(g);
}

/* A failed build of the unroll: g's error, prefixed with the model and
 * the key. */
static gm_status unroll_failed(gm_graph *g, const gm_build_ctx *ctx,
                               gm_error *err) {
    const gm_error *e = gm_graph_error(g);
    return gm_error_set(err, e->status, "model '%s': unroll: %s",
                        ctx->spec->name, e->message);
}

gm_status gm_unrolled_discriminator_score(gm_graph *g, const gm_build_ctx *ctx,
                                          const gm_gan_parts *p, gm_node *fake,
                                          gm_node **score, gm_error *err) {
    const gm_hparams *h = &ctx->spec->params;
    int steps = (int)gm_hparams_number(h, "unroll");
    *score = NULL;
    if (steps == 0) {
        *score = gm_gan_discriminate(g, p, fake);
        return GM_OK;
    }
    if (!gm_hparams_is(h, "penalty", "none"))
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': unroll: the unrolled discriminator "
                            "steps have no gradient penalty; set penalty: "
                            "none with unroll > 0",
                            ctx->spec->name);
    float lr = (float)gm_hparams_number(h, "unroll_lr");
    int b = ctx->batch_size, latent = ctx->spec->latent_dim;
    int n = gm_params_count(p->discriminator);
    gm_node **theta = calloc((size_t)n, sizeof *theta);
    gm_node **grads = calloc((size_t)n, sizeof *grads);
    if (!theta || !grads) {
        free(theta);
        free(grads);
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    }
    bool ok = true;
    for (int v = 0; v < n; v++)
        theta[v] = gm_param(g, p->discriminator, v);
    gm_node *real =
        gm_gan_packs(g, p, gm_input(g, "x", (int[]){b, ctx->data_dim}, 2));
    for (int i = 1; ok && i <= steps; i++) {
        char name[32];
        snprintf(name, sizeof name, "unroll_z%d", i);
        gm_node *z = gm_randn(g, name, (int[]){b, latent}, 2, ctx->noise);
        gm_node *loss = discriminator_loss(g, p, theta, real,
                                           gm_net_forward(g, &p->gen, z));
        ok = sgd_step(g, loss, theta, grads, n, lr);
    }
    if (ok)
        *score =
            gm_net_forward_nodes(g, &p->disc, theta, gm_gan_packs(g, p, fake));
    free(theta);
    free(grads);
    return *score ? GM_OK : unroll_failed(g, ctx, err);
}
