/* A network's forward with its weights given as nodes of the graph
 * (gm_net_forward_nodes), e.g. weights a few differentiable SGD steps
 * away from the group's (the unrolled GAN's discriminator). */
#include "engine/graph_internal.h"
#include "gm/nn.h"
#include "nn/nn_internal.h"

gm_node *gm_net_weight(gm_graph *g, const gm_net_weights *w, int view) {
    return w->nodes ? w->nodes[view] : gm_param(g, w->group, view);
}

/* weights[view] is a node of g of the view's shape. */
static bool weight_fits(gm_graph *g, const gm_net *m, gm_node *const *weights,
                        int view) {
    if (view < 0) return true; /* a layer without this weight */
    const gm_param_view *pv = gm_params_view(m->params, view);
    gm_node *w = weights[view];
    if (!w || w->graph != g) {
        gm_graph_fail(g, GM_ERR_INVALID,
                      "gm_net_forward_nodes: weight %d ('%s') is NULL or of "
                      "another graph",
                      view, pv->name);
        return false;
    }
    if (!gm_shape_equal(&w->shape, &pv->shape)) {
        char a[64], b[64];
        gm_graph_fail(g, GM_ERR_SHAPE,
                      "gm_net_forward_nodes: weight %d ('%s') has shape %s, "
                      "its view %s",
                      view, pv->name, gm_shape_str(&w->shape, a, sizeof a),
                      gm_shape_str(&pv->shape, b, sizeof b));
        return false;
    }
    return true;
}

/* Every weight the network reads fits. */
static bool weights_fit(gm_graph *g, const gm_net *m, gm_node *const *weights) {
    bool ok = true;
    for (int i = 0; ok && i < m->n_layers && m->n_net == 0; i++)
        ok = weight_fits(g, m, weights, m->layers[i].weight) &&
             weight_fits(g, m, weights, m->layers[i].bias);
    for (int i = 0; ok && i < m->n_net; i++)
        ok = weight_fits(g, m, weights, m->net[i].weight) &&
             weight_fits(g, m, weights, m->net[i].bias);
    return ok;
}

gm_node *gm_net_forward_nodes(gm_graph *g, const gm_net *m,
                              gm_node *const *weights, gm_node *x) {
    if (!g || !x) return NULL;
    if (gm_graph_error(g)) return NULL;
    if (!m || !weights)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "gm_net_forward_nodes: needs a network and its "
                             "weights");
    if (!weights_fit(g, m, weights)) return NULL;
    gm_net_weights w = {m->params, weights};
    return gm_net_forward_weights(g, m, &w, x);
}
