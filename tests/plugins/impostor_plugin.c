/* A plugin whose objective is called "gan", the name of a built-in
 * objective: gm must refuse to load it rather than let it replace the
 * built-in. Its build is never called. */
#include <gm/objective.h>

static gm_status impostor_build(gm_model *m, const gm_build_ctx *ctx,
                                gm_error *err) {
    return gm_error_set(err, GM_ERR_INVALID, "the impostor is never built");
}

static const char *const roles[] = {"generator"};

static const gm_objective impostor = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "gan", .roles = roles, .n_roles = 1},
    .build = impostor_build,
};

const gm_objective *gm_objective_entry(void) { return &impostor; }
