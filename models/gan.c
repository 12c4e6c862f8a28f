/* gan: the discriminator maximises E_data[log D] + E_g[log(1 - D)]; the
 * generator minimises E_g[log(1 - D)] (minimax) or -E_g[log D]
 * (non-saturating); or the hinge or least-squares pair of the loss table
 * (adversarial_loss.h). */
#include "gan_parts.h"
#include "objectives.h"

static const gm_hparam_spec gan_hparams[] = {GM_GAN_HPARAMS};

static gm_status gan_build(gm_model *m, const gm_build_ctx *ctx,
                           gm_error *err) {
    gm_gan_parts p;
    gm_status s = gm_gan_networks(m, ctx, &p, err);
    if (s == GM_OK) s = gm_gan_add_discriminator_phase(m, ctx, &p, err);
    if (s != GM_OK) return s;
    gm_gan_generator_graph gen;
    s = gm_gan_generator_graph_build(ctx, &p, &gen, err);
    if (s != GM_OK) return s;
    s = gm_gan_add_generator_phase(m, ctx, &p, gen.graph, gen.loss, 1, err);
    return s == GM_OK ? gm_gan_set_sampler(m, ctx, &p.gen, err) : s;
}

/* A GAN has no held-out likelihood: the discriminator's view. */
/* d_score_* in place of d_real/d_fake for the losses on raw scores. */
static const char *const gan_headline[] = {"d_real", "d_fake", "d_score_real",
                                           "d_score_fake"};

const gm_objective gm_objective_gan = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "gan",
               .summary = "GAN: discriminator and generator, with a "
                          "loss family (minimax, non-saturating, hinge, "
                          "least squares)",
               .roles = gm_gan_roles,
               .n_roles = 2,
               .shapes = gm_gan_shapes,
               .hparams = gan_hparams,
               .n_hparams = sizeof gan_hparams / sizeof gan_hparams[0],
               .headline = gan_headline,
               .n_headline = sizeof gan_headline / sizeof gan_headline[0],
               .metrics = gm_gan_metrics,
               .n_metrics = GM_GAN_METRICS},
    .build = gan_build,
};
