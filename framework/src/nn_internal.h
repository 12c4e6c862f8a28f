/* What nn.c's MLPs share with nn_layers.c's layer lists. */
#ifndef GM_NN_INTERNAL_H
#define GM_NN_INTERNAL_H

#include "gm/nn.h"

/* A layer list (m->n_net > 0) applied to x [rows, m->in]: [rows, m->out]. */
gm_node *gm_net_forward_layers(gm_graph *g, const gm_mlp *m, gm_params *params,
                               gm_node *x);

#endif
