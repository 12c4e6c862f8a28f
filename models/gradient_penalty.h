/* Gradient penalties on the discriminator (the critic), one table row per
 * penalty, shared by gan, gan_data_prior and ali: their `penalty` and
 * `penalty_weight` hyperparameters. Each row adds to the discriminator's
 * graph the gradient of the critic's score with respect to its input,
 * built as nodes by gm_grad (gm/grad.h), so that the ordinary backward
 * trains the critic through it. A new penalty is a new row. */
#ifndef GM_MODELS_GRADIENT_PENALTY_H
#define GM_MODELS_GRADIENT_PENALTY_H

#include "gm/objective.h"

/* none, wgan_gp, r1, r2, dragan; NULL-terminated. */
extern const char *const gm_penalty_names[];

/* The hyperparameters: which penalty and its weight (the WGAN-GP and
 * DRAGAN papers' lambda, R1's and R2's gamma; 10 in all of them). */
#define GM_PENALTY_HPARAMS                                                     \
    {.name = "penalty",                                                        \
     .type = GM_HP_CHOICE,                                                     \
     .choices = gm_penalty_names,                                              \
     .def_choice = "none",                                                     \
     .doc = "gradient penalty on the discriminator: none, wgan_gp "            \
            "(lambda E[(||grad D(x_hat)|| - 1)^2] on interpolates of real "    \
            "and fake rows), r1 (gamma/2 E||grad D(x_real)||^2), r2 (the "     \
            "same on fake rows) or dragan (wgan_gp's term on perturbed "       \
            "real rows)"},                                                     \
    {                                                                          \
        .name = "penalty_weight", .type = GM_HP_FLOAT, .def = 10, .min = 0,    \
        .max = 1e6,                                                            \
        .doc = "the penalty's lambda (wgan_gp, dragan) or gamma (r1, r2)"      \
    }

/* The metric a penalty logs (its value as it enters the discriminator's
 * loss, weight included), a row of the schema's metrics. */
#define GM_PENALTY_METRIC                                                      \
    { "gradient_penalty", "the objective's loss", GM_BETTER_NEITHER }

/* What a penalty sees of the discriminator's graph: the critic, its input
 * rows on both sides and its scores on them. */
typedef struct gm_critic_inputs {
    const gm_net *critic;
    gm_node *real, *fake; /* [rows, in] */
    gm_node *real_score;  /* critic(real), [rows, 1] */
    gm_node *fake_score;  /* critic(fake), [rows, 1] */
} gm_critic_inputs;

/* loss plus the model's penalty (`loss` itself for none), the penalty
 * marked as the metric gradient_penalty; its random nodes split off
 * `noise`. NULL with the error recorded in g on failure (e.g. a critic
 * with an op that has no gradient builder: gm_grad names it). */
gm_node *gm_add_gradient_penalty(gm_graph *g, const gm_hparams *h,
                                 const gm_critic_inputs *in, gm_rng *noise,
                                 gm_node *loss);

#endif
