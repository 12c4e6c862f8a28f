/* gm_grad: reverse-mode differentiation that builds nodes (gm/grad.h).
 *
 * The walk is gm_graph_backward's, over nodes instead of buffers: creation
 * order is topological, so visiting the nodes from y down to the first
 * gives every node's adjoint (the gradient of y with respect to it) in
 * full before its inputs' are built from it. Only the nodes between the
 * xs and y are visited: those that depend on an x (marked forward) and
 * that y reaches (marked backward). */
#include <stdlib.h>

#include "engine/graph_internal.h"
#include "gm/grad.h"
#include "gm/ops.h"
#include "ops/grad_build.h"

static bool passes_gradient(const gm_node *n) {
    return n->def && !(n->def->flags & GM_OP_STOP_GRAD);
}

static gm_status fail(gm_graph *g, gm_error *err) {
    if (err) *err = g->error;
    return g->error.status;
}

/* dep[i]: node i is an x or an op result computed from one. xs created
 * after the last node looked at cannot reach it and are left out. */
static void mark_dependents(gm_graph *g, int last, gm_node *const *xs, int n,
                            unsigned char *dep) {
    for (int j = 0; j < n; j++)
        if (xs[j]->id <= last) dep[xs[j]->id] = 1;
    for (int i = 0; i <= last; i++) {
        gm_node *node = g->nodes[i];
        for (int k = 0; passes_gradient(node) && k < node->n_in; k++)
            dep[i] |= dep[node->in[k]->id];
    }
}

/* Adds to adj the contributions of node n's inputs that depend on an x,
 * and marks those inputs as reached. */
static void visit(gm_node *n, gm_node **adj, const unsigned char *dep,
                  unsigned char *reach) {
    gm_graph *g = n->graph;
    for (int k = 0; k < n->n_in && g->error.status == GM_OK; k++) {
        gm_node *in = n->in[k];
        if (!dep[in->id]) continue;
        if (!n->def->grad) {
            char label[GM_NAME_MAX + 16];
            gm_grad_node_label(n, label, sizeof label);
            gm_graph_fail(g, GM_ERR_INVALID,
                          "gm_grad: op '%s' (node %s) has no gradient "
                          "builder: it cannot be differentiated inside a loss",
                          n->def->name, label);
            return;
        }
        gm_node *d = n->def->grad(n, k, adj[n->id]);
        if (!d) return; /* the builder recorded the error */
        if (!gm_shape_equal(&d->shape, &in->shape)) {
            char a[64], b[64];
            gm_graph_fail(g, GM_ERR_SHAPE,
                          "gm_grad: op '%s' built a gradient of shape %s for "
                          "its input %d of shape %s",
                          n->def->name, gm_shape_str(&d->shape, a, sizeof a), k,
                          gm_shape_str(&in->shape, b, sizeof b));
            return;
        }
        adj[in->id] = adj[in->id] ? gm_add(g, adj[in->id], d) : d;
        reach[in->id] = 1;
    }
}

/* A constant of shape s holding 1: d y / d y. */
static gm_node *ones(gm_graph *g, const gm_shape *s) {
    float one = 1.0f;
    return gm_constant(g, NULL, s->dim, s->ndim, &one);
}

/* Walks from y down to the first node, building each reached node's
 * inputs' adjoints from its own. */
static void build_adjoints(gm_graph *g, gm_node *y, gm_node **adj,
                           const unsigned char *dep, unsigned char *reach) {
    adj[y->id] = ones(g, &y->shape);
    reach[y->id] = 1;
    for (int i = y->id; i >= 0 && g->error.status == GM_OK; i--) {
        gm_node *n = g->nodes[i];
        if (reach[i] && dep[i] && passes_gradient(n)) visit(n, adj, dep, reach);
    }
}

gm_status gm_grad(gm_graph *g, gm_node *y, gm_node *const *xs, int n,
                  gm_node **out, gm_error *err) {
    if (!g) return gm_error_set(err, GM_ERR_INVALID, "gm_grad: graph is NULL");
    if (g->error.status != GM_OK) return fail(g, err);
    if (g->compiled) {
        gm_graph_fail(g, GM_ERR_STATE, "gm_grad: the graph is compiled");
        return fail(g, err);
    }
    if (!y || y->graph != g || y->numel != 1 || n < 0 || (n > 0 && !xs) ||
        !out) {
        gm_graph_fail(g, GM_ERR_INVALID,
                      "gm_grad: needs a [1] node of this graph, the nodes to "
                      "differentiate by and room for their gradients");
        return fail(g, err);
    }
    for (int j = 0; j < n; j++)
        if (!xs[j] || xs[j]->graph != g) {
            gm_graph_fail(g, GM_ERR_INVALID,
                          "gm_grad: x %d is NULL or of another graph", j);
            return fail(g, err);
        }
    size_t count = (size_t)y->id + 1; /* nodes after y cannot reach it */
    unsigned char *dep = calloc(count, 1), *reach = calloc(count, 1);
    gm_node **adj = calloc(count, sizeof *adj);
    if (!dep || !reach || !adj) {
        gm_graph_fail(g, GM_ERR_NOMEM, "out of memory");
    } else {
        mark_dependents(g, y->id, xs, n, dep);
        build_adjoints(g, y, adj, dep, reach);
        for (int j = 0; j < n && g->error.status == GM_OK; j++) {
            gm_node *x = xs[j];
            bool reached = x->id <= y->id && adj[x->id];
            out[j] = reached ? adj[x->id] : gm_grad_zeros(g, &x->shape);
        }
    }
    free(dep);
    free(reach);
    free(adj);
    return g->error.status == GM_OK ? GM_OK : fail(g, err);
}
