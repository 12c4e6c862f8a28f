/* What mlp.c's MLPs share with layer_list.c's layer lists. */
#ifndef GM_NN_INTERNAL_H
#define GM_NN_INTERNAL_H

#include "gm/nn.h"

/* gm_net_init of an MLP (spec without layers). */
gm_status gm_mlp_init(gm_net *m, gm_params *group, const char *prefix, int in,
                      const gm_net_spec *spec, gm_rng *init, gm_error *err);

/* A layer list (m->n_net > 0) applied to x [rows, m->in]: [rows, m->out]. */
gm_node *gm_net_forward_layers(gm_graph *g, const gm_net *m, gm_params *params,
                               gm_node *x);

#endif
