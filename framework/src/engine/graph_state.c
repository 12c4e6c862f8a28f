/* A graph's part of a run state: the generators of its random nodes. */
#include <stdio.h>

#include "gm/graph.h"
#include "engine/graph_internal.h"

static bool is_random(const gm_node *n) {
    return n->def && (n->def->flags & GM_OP_RANDOM);
}

static void record_name(char *buf, size_t n, const char *prefix,
                        const gm_node *node) {
    snprintf(buf, n, "%s/%d", prefix, node->id);
}

gm_status gm_graph_save_state(const gm_graph *g, gm_state *s,
                              const char *prefix, gm_error *err) {
    char name[GM_NAME_MAX + 32];
    for (int i = 0; i < g->n_nodes; i++) {
        const gm_node *n = g->nodes[i];
        if (!is_random(n)) continue;
        record_name(name, sizeof name, prefix, n);
        gm_status st = gm_state_put_rng(s, name, &n->rng, err);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

gm_status gm_graph_load_state(gm_graph *g, const gm_state *s,
                              const char *prefix, gm_error *err) {
    char name[GM_NAME_MAX + 32];
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (!is_random(n)) continue;
        record_name(name, sizeof name, prefix, n);
        gm_status st = gm_state_get_rng(s, name, &n->rng, err);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}
