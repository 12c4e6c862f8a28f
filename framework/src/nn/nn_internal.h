/* What mlp.c's MLPs share with layer_list.c's layer lists. */
#ifndef GM_NN_INTERNAL_H
#define GM_NN_INTERNAL_H

#include "gm/nn.h"

/* gm_net_init of an MLP (spec without layers). */
gm_status gm_mlp_init(gm_net *m, gm_params *group, const char *prefix, int in,
                      const gm_net_spec *spec, gm_rng *init, gm_error *err);

/* Where a forward reads a network's weights: the views of a group, or,
 * when `nodes` is set, the caller's nodes, one per view of the group
 * (gm_net_forward_nodes). */
typedef struct gm_net_weights {
    gm_params *group;
    gm_node *const *nodes;
} gm_net_weights;

/* The weight of view `view`: nodes[view], or the group's parameter node. */
gm_node *gm_net_weight(gm_graph *g, const gm_net_weights *w, int view);

/* The network m applied to x, its weights read from w (an MLP or a layer
 * list). */
gm_node *gm_net_forward_weights(gm_graph *g, const gm_net *m,
                                const gm_net_weights *w, gm_node *x);

/* A layer list (m->n_net > 0) applied to x [rows, m->in]: [rows, m->out]. */
gm_node *gm_net_forward_layers(gm_graph *g, const gm_net *m,
                               const gm_net_weights *w, gm_node *x);

#endif
