/* Backward with the optimizer steps folded in (gm_optim_backward_step):
 * each view is updated when backward has finished its gradient, which is
 * then still in cache, rather than in a pass over the group afterwards
 * that reads every gradient back from memory. */
#include "gm/optim.h"
#include "optim/optim_by_view.h"

typedef struct steps_in_backward {
    gm_optim *const *optims;
    int n;
} steps_in_backward;

static void on_gradient_final(void *ctx, gm_params *group, int view) {
    const steps_in_backward *s = ctx;
    for (int i = 0; i < s->n; i++) {
        gm_optim *o = s->optims[i];
        if (gm_optim_group(o) == group && gm_optim_steps_by_view(o)) {
            gm_optim_step_view(o, view);
            return;
        }
    }
}

gm_status gm_optim_backward_step(gm_optim *const *optims, int n, gm_graph *g,
                                 gm_node *loss, gm_error *err) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (gm_optim_group(optims[i]) == gm_optim_group(optims[j]))
                return gm_error_set(err, GM_ERR_INVALID,
                                    "group '%s' has two optimizers in one "
                                    "step",
                                    gm_params_name(gm_optim_group(optims[i])));
    for (int i = 0; i < n; i++)
        if (gm_optim_steps_by_view(optims[i])) gm_optim_step_begin(optims[i]);
    steps_in_backward s = {optims, n};
    /* backward checks its arguments before it visits a node: on an error
     * no view has been updated, and a step begun changes nothing */
    gm_status st =
        gm_graph_backward_notify(g, loss, on_gradient_final, &s, err);
    if (st != GM_OK) return st;
    for (int i = 0; i < n; i++) {
        if (gm_optim_steps_by_view(optims[i]))
            gm_optim_step_end(optims[i]);
        else
            gm_optim_step(optims[i]);
    }
    return GM_OK;
}
