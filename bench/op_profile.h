/* Where a training step's time goes, op by op: gm_graph_forward and
 * gm_graph_backward walked again here with a thread CPU-time clock
 * (CLOCK_THREAD_CPUTIME_ID: time the thread was preempted does not count)
 * around each op, summed per op and output shape. It reads the graph's
 * insides (framework/src/engine/graph_internal.h), so it follows graph.c's two
 * loops; the optimizer runs after backward (gm_optim_step) rather than
 * inside it, and is timed on its own. For benchmark programs only. */
#ifndef GM_BENCH_OP_PROFILE_H
#define GM_BENCH_OP_PROFILE_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gm/gm.h"
#include "engine/graph_internal.h"

enum { PROFILE_MAX_ROWS = 64 };

typedef struct profile_row {
    char key[96];
    double forward, backward; /* seconds */
} profile_row;

typedef struct op_profile {
    profile_row row[PROFILE_MAX_ROWS];
    int n;
    double total;
} op_profile;

static inline double profile_cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The row of `op` with output `shape` (created on first use). */
static inline profile_row *profile_row_of(op_profile *p, const char *op,
                                          const gm_shape *shape) {
    char key[96], dims[64];
    snprintf(key, sizeof key, "%s %s", op,
             gm_shape_str(shape, dims, sizeof dims));
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->row[i].key, key) == 0) return &p->row[i];
    if (p->n == PROFILE_MAX_ROWS) return &p->row[PROFILE_MAX_ROWS - 1];
    profile_row *r = &p->row[p->n++];
    snprintf(r->key, sizeof r->key, "%s", key);
    return r;
}

static inline bool profile_is_view(const gm_node *n) {
    return n->def && (n->def->flags & GM_OP_VIEW);
}

static inline void profile_forward(op_profile *p, gm_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (!n->def || profile_is_view(n)) continue;
        double t0 = profile_cpu_now();
        n->def->forward(n);
        profile_row_of(p, n->def->name, &n->shape)->forward +=
            profile_cpu_now() - t0;
    }
}

/* gm_graph_backward's walk, each op's backward timed. */
static inline void profile_backward(op_profile *p, gm_graph *g, gm_node *loss) {
    double t0 = profile_cpu_now();
    if (g->grad_floats) memset(g->grad_base, 0, g->grad_floats * sizeof(float));
    memset(g->mark, 0, (size_t)g->n_nodes);
    loss->grad[0] = 1.0f;
    g->mark[loss->id] = 1;
    profile_row_of(p, "(clear gradients)", &loss->shape)->backward +=
        profile_cpu_now() - t0;
    for (int i = loss->id; i >= 0; i--) {
        gm_node *n = g->nodes[i];
        if (!g->mark[i] || !n->needs_grad || !n->def) continue;
        if (!profile_is_view(n) && n->def->backward) {
            t0 = profile_cpu_now();
            n->def->backward(n);
            profile_row_of(p, n->def->name, &n->shape)->backward +=
                profile_cpu_now() - t0;
        }
        for (int k = 0; k < n->n_in; k++)
            g->mark[n->in[k]->id] = 1;
    }
}

/* A phase: zero the group's gradient, forward, backward, one step. */
static inline void profile_phase(op_profile *p, gm_params *group, gm_graph *g,
                                 gm_node *loss, gm_optim *opt) {
    double t0 = profile_cpu_now();
    gm_params_zero_grad(group);
    profile_forward(p, g);
    profile_backward(p, g, loss);
    double t1 = profile_cpu_now();
    gm_optim_step(opt);
    double t2 = profile_cpu_now();
    profile_row_of(p, "(adam)", gm_node_shape(loss))->backward += t2 - t1;
    p->total += t2 - t0;
}

/* Rows from the most expensive down, with their share of the total. */
static inline void profile_print(op_profile *p, const char *model, int steps) {
    for (int i = 0; i < p->n; i++)
        for (int j = i + 1; j < p->n; j++) {
            profile_row *a = &p->row[i], *b = &p->row[j];
            if (b->forward + b->backward > a->forward + a->backward) {
                profile_row t = *a;
                *a = *b;
                *b = t;
            }
        }
    printf("%s profile: %d steps, %.2f ms CPU per step (thread CPU time)\n",
           model, steps, 1e3 * p->total / steps);
    printf("  %-44s %9s %9s %6s\n", "op output", "fwd ms", "bwd ms", "share");
    for (int i = 0; i < p->n; i++) {
        const profile_row *r = &p->row[i];
        printf("  %-44s %9.3f %9.3f %5.1f%%\n", r->key,
               1e3 * r->forward / steps, 1e3 * r->backward / steps,
               100.0 * (r->forward + r->backward) / p->total);
    }
}

#endif
