/* Weight clipping of the discriminator (the critic), the original WGAN's
 * way of keeping it Lipschitz (Arjovsky et al. 2017: clip 0.01 with
 * RMSprop, lr 5e-5, 5 critic steps): shared by gan, gan_data_prior and
 * ali as their `clip` hyperparameter. The critic's parameters are clamped
 * to [-clip, clip] before each of its forwards, as the reference code
 * clamps them at the start of each critic iteration; the generator's
 * phase sees them as the critic's last update left them. Batch norm's
 * running statistics, a group no phase trains, are not clipped. */
#ifndef GM_MODELS_WEIGHT_CLIP_H
#define GM_MODELS_WEIGHT_CLIP_H

#include "gm/objective.h"

#define GM_WEIGHT_CLIP_HPARAM                                                  \
    {                                                                          \
        .name = "clip", .type = GM_HP_FLOAT, .def = 0, .min = 0, .max = 1e6,   \
        .doc = "clamp the discriminator's parameters to [-clip, clip] "        \
               "before each of its steps (the original WGAN's weight "         \
               "clipping, 0.01 in its paper); 0: off"                          \
    }

/* Clips the groups of the model's phase `phase` (its discriminator's) as
 * the model's `clip` says; nothing at 0. */
gm_status gm_weight_clip_phase(gm_model *m, const gm_hparams *h,
                               const char *phase, gm_error *err);

#endif
