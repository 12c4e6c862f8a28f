/* The unrolled GAN (Metz et al., "Unrolled generative adversarial
 * networks", ICLR 2017), for gan and gan_data_prior: their `unroll` and
 * `unroll_lr` hyperparameters. The generator's loss is taken against the
 * discriminator after k differentiable SGD steps on the discriminator's
 * loss,
 *   theta_{i+1} = theta_i - unroll_lr * d L_D(theta_i) / d theta_i,
 * each step on the phase's real batch x and on G of fresh noise, built as
 * nodes of the generator's graph by gm_grad (gm/grad.h), so that the
 * generator's gradient flows through the steps (the paper's second-order
 * term). The discriminator itself is updated by its own phase only. */
#ifndef GM_MODELS_UNROLLED_GAN_H
#define GM_MODELS_UNROLLED_GAN_H

#include "gm/objective.h"

struct gm_gan_parts; /* gan_parts.h */

/* unroll (0: off) and the SGD step of the unrolled updates. The step is
 * its own hyperparameter rather than the discriminator's learning rate:
 * the discriminator trains with Adam (or RMSprop), whose step is about lr
 * per weight whatever the gradient's scale, while an SGD step is
 * lr * gradient, so the same number would not move it as far. */
#define GM_UNROLL_HPARAMS                                                      \
    {.name = "unroll",                                                         \
     .type = GM_HP_INT,                                                        \
     .def = 0,                                                                 \
     .min = 0,                                                                 \
     .max = 50,                                                                \
     .doc = "unrolled GAN: the generator's loss against the discriminator "    \
            "after this many differentiable SGD steps on its loss (0: off)"},  \
    {                                                                          \
        .name = "unroll_lr", .type = GM_HP_FLOAT, .def = 0.05, .min = 1e-9,    \
        .max = 100, .doc = "the SGD step of the unrolled discriminator updates"\
    }

/* *score: the discriminator's scores of `fake` rows in the generator's
 * graph g (where the discriminator's group is frozen): D(fake) with
 * unroll 0, the unrolled discriminator's otherwise, which also adds g's
 * input "x" (the trainer fills it with a real batch) and a noise node
 * "unroll_z<i>" per step i = 1..unroll. Fails naming the model and
 * `unroll` for a penalty set with unroll (the unrolled steps have
 * none) or a discriminator that gm_grad cannot differentiate by its
 * weights (convolutions, batch norm: gm_grad names the op). */
gm_status gm_unrolled_discriminator_score(gm_graph *g, const gm_build_ctx *ctx,
                                          const struct gm_gan_parts *p,
                                          gm_node *fake,
                                          gm_node **score, gm_error *err);

#endif
