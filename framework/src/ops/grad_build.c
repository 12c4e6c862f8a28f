/* Helpers for the ops' gradient builders. */
#include <stdio.h>
#include <stdlib.h>

#include "gm/ops.h"
#include "grad_build.h"

gm_node *gm_grad_as_shape(gm_node *x, const gm_shape *s) {
    if (!x || gm_shape_equal(&x->shape, s)) return x;
    return gm_reshape(x->graph, x, s->dim, s->ndim);
}

void gm_grad_node_label(const gm_node *n, char *buf, size_t size) {
    if (n->name[0])
        snprintf(buf, size, "'%s'", n->name);
    else
        snprintf(buf, size, "#%d", n->id);
}

gm_node *gm_grad_not_built(gm_node *n, const char *what) {
    char label[GM_NAME_MAX + 16];
    gm_grad_node_label(n, label, sizeof label);
    return gm_graph_fail(n->graph, GM_ERR_INVALID,
                         "gm_grad: %s (node %s): the gradient with respect to "
                         "%s is not built as nodes yet",
                         n->def->name, label, what);
}

gm_node *gm_grad_zeros(gm_graph *g, const gm_shape *s) {
    float *zeros = calloc(gm_shape_numel(s), sizeof *zeros);
    if (!zeros) return gm_graph_fail(g, GM_ERR_NOMEM, "out of memory");
    gm_node *n = gm_constant(g, NULL, s->dim, s->ndim, zeros);
    free(zeros);
    return n;
}

gm_node *gm_grad_reduce_to(gm_node *adj, const gm_node *operand) {
    if (!adj) return NULL;
    const gm_shape *s = &operand->shape;
    if (gm_shape_numel(s) == adj->numel) return gm_grad_as_shape(adj, s);
    gm_axis axis;
    switch (gm_bcast_kind(s, &adj->shape)) {
    case GM_BCAST_ROW: axis = GM_AXIS_PER_COL; break;
    case GM_BCAST_COL: axis = GM_AXIS_PER_ROW; break;
    default: axis = GM_AXIS_ALL; break;
    }
    return gm_grad_as_shape(gm_sum(adj->graph, adj, axis), s);
}

gm_node *gm_grad_expand(gm_node *adj, const gm_node *x) {
    if (!adj) return NULL;
    gm_graph *g = adj->graph;
    gm_node *spread = gm_add_bcast(g, gm_grad_zeros(g, &x->shape), adj);
    return gm_grad_as_shape(spread, &x->shape);
}

gm_node *gm_grad_once(gm_node *n, gm_node *up,
                      gm_node *(*build)(gm_node *n, gm_node *up)) {
    if (!n->once || n->once_for != up) {
        n->once = build(n, up);
        n->once_for = up;
    }
    return n->once;
}
