/* Where each value buffer of a forward-only graph sits in its arena
 * (gm_graph_set_forward_only): a buffer is given back once the last op
 * that reads it has run, and a later node takes it (best fit), so the
 * arena holds what is alive at once rather than every node's values (a
 * 2500-row DCGAN sampler: 612 MB of values, of which about 250 MB are
 * ever alive together). Kept buffers are never given back. */
#include <stdlib.h>

#include "engine/graph_internal.h"

/* A free stretch [at, at + size) of the arena. */
typedef struct hole {
    size_t at, size;
} hole;

typedef struct pool {
    hole *holes; /* sorted by at, never touching each other */
    int n;
    size_t end; /* the arena's size so far */
} pool;

/* The first float of a buffer of `size`: the smallest hole that fits, or
 * the end (grown over a hole that touches it). */
static size_t take(pool *p, size_t size) {
    int best = -1;
    for (int i = 0; i < p->n; i++)
        if (p->holes[i].size >= size &&
            (best < 0 || p->holes[i].size < p->holes[best].size))
            best = i;
    if (best >= 0) {
        size_t at = p->holes[best].at;
        p->holes[best].at += size;
        p->holes[best].size -= size;
        if (p->holes[best].size == 0) {
            for (int i = best; i + 1 < p->n; i++)
                p->holes[i] = p->holes[i + 1];
            p->n--;
        }
        return at;
    }
    if (p->n > 0 && p->holes[p->n - 1].at + p->holes[p->n - 1].size == p->end) {
        size_t at = p->holes[--p->n].at;
        p->end = at + size;
        return at;
    }
    size_t at = p->end;
    p->end += size;
    return at;
}

/* Gives [at, at + size) back, merged with the holes it touches. */
static void give_back(pool *p, size_t at, size_t size) {
    int i = 0;
    while (i < p->n && p->holes[i].at < at) i++;
    for (int k = p->n; k > i; k--)
        p->holes[k] = p->holes[k - 1];
    p->holes[i] = (hole){at, size};
    p->n++;
    if (i + 1 < p->n && at + size == p->holes[i + 1].at) {
        p->holes[i].size += p->holes[i + 1].size;
        for (int k = i + 1; k + 1 < p->n; k++)
            p->holes[k] = p->holes[k + 1];
        p->n--;
    }
    if (i > 0 && p->holes[i - 1].at + p->holes[i - 1].size == p->holes[i].at) {
        p->holes[i - 1].size += p->holes[i].size;
        for (int k = i; k + 1 < p->n; k++)
            p->holes[k] = p->holes[k + 1];
        p->n--;
    }
}

/* The node whose buffer n's values are (views share their input's). */
static const gm_node *storage_of(const gm_node *n) {
    while (n->def && (n->def->flags & GM_OP_VIEW)) n = n->in[0];
    return n;
}

/* Read after gm_graph_forward, or held across forwards: kept. */
static bool read_after_forward(const gm_node *n, bool has_reader) {
    return !has_reader || n->keep || n->role == GM_ROLE_INPUT ||
           n->role == GM_ROLE_LOSS || n->role == GM_ROLE_METRIC ||
           (n->def && (n->def->flags & GM_OP_RANDOM));
}

enum { KEPT = -1, GIVEN_BACK = -2 };

gm_status gm_value_plan(const gm_graph *g, size_t *offset, size_t *total,
                        size_t (*rounded)(size_t)) {
    int n = g->n_nodes;
    size_t cells = n > 0 ? (size_t)n : 1;
    int *last = malloc(cells * sizeof *last); /* last reader, or KEPT */
    bool *has_reader = calloc(cells, sizeof *has_reader);
    pool p = {.holes = malloc((cells + 1) * sizeof *p.holes)};
    if (!last || !has_reader || !p.holes) {
        free(last);
        free(has_reader);
        free(p.holes);
        return GM_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        last[i] = i;
        const gm_node *node = g->nodes[i];
        for (int k = 0; node->def && k < node->n_in; k++) {
            has_reader[node->in[k]->id] = true;
            int s = storage_of(node->in[k])->id;
            if (last[s] < i) last[s] = i;
        }
    }
    for (int i = 0; i < n; i++)
        if (read_after_forward(g->nodes[i], has_reader[i]))
            last[storage_of(g->nodes[i])->id] = KEPT;
    for (int i = 0; i < n; i++) {
        const gm_node *node = g->nodes[i];
        if (gm_node_owns_values(node))
            offset[i] = take(&p, rounded(node->numel));
        for (int k = 0; node->def && k < node->n_in; k++) {
            const gm_node *s = storage_of(node->in[k]);
            if (last[s->id] != i || !gm_node_owns_values(s)) continue;
            give_back(&p, offset[s->id], rounded(s->numel));
            last[s->id] = GIVEN_BACK;
        }
    }
    *total = p.end;
    free(last);
    free(has_reader);
    free(p.holes);
    return GM_OK;
}
