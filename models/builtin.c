/* The table of built-in objectives: adding one is a file in models/ and a
 * row here. */
#include "models.h"

const gm_objective *const gm_builtin_objectives[] = {
    &gm_objective_vae_elbo,
    &gm_objective_joint_kl,
    &gm_objective_gan,
    &gm_objective_gan_data_prior,
    &gm_objective_aae,
    &gm_objective_ali,
    &gm_objective_classifier,
    NULL,
};
