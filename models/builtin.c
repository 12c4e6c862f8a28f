/* The table of built-in objectives: adding one is a file in models/ and a
 * row here. */
#include "builtin.h"

#include "objectives.h"

static const gm_objective *const builtin_objectives[] = {
    &gm_objective_vae_elbo,   &gm_objective_joint_kl,
    &gm_objective_gan,        &gm_objective_gan_data_prior,
    &gm_objective_aae,        &gm_objective_ali,
    &gm_objective_classifier, NULL,
};

gm_registry *gm_builtin_registry(void) {
    gm_registry *r = gm_registry_create();
    if (!r) return NULL;
    /* A refusal here is a bug of the table (two rows of one name). */
    for (int i = 0; builtin_objectives[i]; i++)
        GM_ASSERT(gm_registry_add(r, builtin_objectives[i], NULL) == GM_OK);
    return r;
}
