/* The GAN's networks and its two phases, shared by gan and
 * gan_data_prior. */
#ifndef GM_MODELS_GAN_PARTS_H
#define GM_MODELS_GAN_PARTS_H

#include "adversarial_loss.h"
#include "gm/objective.h"
#include "gradient_penalty.h"
#include "unrolled_gan.h"
#include "weight_clip.h"

typedef struct gm_gan_parts {
    gm_params *generator, *discriminator;
    gm_net gen, disc;
    const gm_adv_loss *loss;
    int d_steps;
    int pack; /* samples the discriminator judges at once (PacGAN) */
} gm_gan_parts;

/* PacGAN (Lin et al. 2018): the discriminator judges packs of `pack`
 * samples of one side concatenated, batch_size / pack packs per side. */
#define GM_GAN_PACK_HPARAM                                                     \
    {                                                                          \
        .name = "pack", .type = GM_HP_INT, .def = 1, .min = 1, .max = 1024,    \
        .doc = "samples per discriminator input (PacGAN; 1: one sample, "      \
               "must divide the batch size)"                                   \
    }

/* Hyperparameters both GAN objectives take: loss, d_steps, the two
 * learning rates, the discriminator's gradient penalty, weight clipping
 * and packing, and the unrolled GAN's steps (unrolled_gan.h). */
#define GM_GAN_HPARAMS                                                         \
    GM_ADV_LOSS_HPARAM,                                                        \
        GM_ADV_D_STEPS_HPARAM("discriminator steps per generator step"),       \
        GM_ADV_D_LR_HPARAM,                                                    \
        GM_ADV_G_LR_HPARAM(                                                    \
            "generator learning rate (0: the model's optimizer lr)"),          \
        GM_PENALTY_HPARAMS, GM_WEIGHT_CLIP_HPARAM, GM_GAN_PACK_HPARAM,         \
        GM_UNROLL_HPARAMS

/* The GAN's metrics: the discriminator's scores, its two KL estimates and
 * its gradient penalty (gan's whole gm_objective_schema.metrics). */
#define GM_GAN_METRICS 7
extern const gm_metric_info gm_gan_metrics[GM_GAN_METRICS];

extern const char *const gm_gan_roles[];
/* The shapes of the roles: generator latent -> data, discriminator
 * data -> 1. With pack > 1 the discriminator reads pack * data (the
 * reader's size checks count its first layer at pack 1; the network
 * checks gm's limits again when it is built). */
extern const gm_role_shape gm_gan_shapes[];

/* Makes the networks: generator latent -> data, discriminator pack * data
 * -> 1 logit. A discriminator given as a list of layers that reshapes its
 * input into images [C, H, W] reads [pack * C, H, W]: the pack's samples
 * stacked along the channels, as PacGAN does for images. Fails naming
 * params.pack and train.batch_size if pack does not divide the batch. */
gm_status gm_gan_networks(gm_model *m, const gm_build_ctx *ctx, gm_gan_parts *p,
                          gm_error *err);

/* The discriminator's phase: the loss family's discriminator loss on data
 * and G(z), with its metrics (gm_adv_discriminator_loss) and, for a logit
 * loss, the density-ratio KL estimates kl_data_model_disc and
 * kl_model_data_disc; plus the model's gradient penalty
 * (gradient_penalty.h) and weight clipping (weight_clip.h). */
gm_status gm_gan_add_discriminator_phase(gm_model *m, const gm_build_ctx *ctx,
                                         const gm_gan_parts *p, gm_error *err);

/* Adds the generator's phase (`repeats` updates per step) with its own
 * learning rate if g_lr is set. */
gm_status gm_gan_add_generator_phase(gm_model *m, const gm_build_ctx *ctx,
                                     const gm_gan_parts *p, gm_graph *g,
                                     gm_node *loss, int repeats, gm_error *err);

/* The discriminator's scores [rows / pack, 1] on rows [rows, data]: each
 * score judges `pack` consecutive rows concatenated. */
gm_node *gm_gan_discriminate(gm_graph *g, const gm_gan_parts *p, gm_node *rows);

/* rows [n, d] as packs [n / pack, pack * d]: consecutive rows side by
 * side (a view of the same floats); the rows themselves at pack 1. */
gm_node *gm_gan_packs(gm_graph *g, const gm_gan_parts *p, gm_node *rows);

/* The generator's loss from the discriminator's scores on its samples. */
gm_node *gm_gan_generator_loss(gm_graph *g, const gm_gan_parts *p,
                               gm_node *fake_logit);

/* A graph for the generator's phase: G(z) and the generator loss, the
 * discriminator frozen. The caller may add terms, then adds the phase. */
typedef struct gm_gan_generator_graph {
    gm_graph *graph;
    gm_node *z, *fake, *loss;
} gm_gan_generator_graph;

gm_status gm_gan_generator_graph_build(const gm_build_ctx *ctx,
                                       const gm_gan_parts *p,
                                       gm_gan_generator_graph *out,
                                       gm_error *err);

/* The sampler: G(z), z ~ N(0, I), for any objective whose generator
 * reads the prior's z (gan, gan_data_prior, ali). */
gm_status gm_gan_set_sampler(gm_model *m, const gm_build_ctx *ctx,
                             const gm_net *generator, gm_error *err);

#endif
