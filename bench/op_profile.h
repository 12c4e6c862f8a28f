/* Where a training step's time goes, op by op: a graph op hook
 * (gm_graph_set_op_hook) reads a thread CPU-time clock
 * (CLOCK_THREAD_CPUTIME_ID: time the thread was preempted does not count)
 * around each op of gm_graph_forward and gm_graph_backward, summed per op
 * and output shape; what backward spends outside its ops (clearing the
 * gradients, the walk) is a row of its own. The optimizer runs after
 * backward (gm_optim_step) rather than inside it, and is timed on its own.
 * For benchmark programs only. */
#ifndef GM_BENCH_OP_PROFILE_H
#define GM_BENCH_OP_PROFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gm/gm.h"

enum { PROFILE_MAX_ROWS = 64 };

typedef struct profile_row {
    char key[96];
    double forward, backward; /* seconds */
} profile_row;

typedef struct op_profile {
    profile_row row[PROFILE_MAX_ROWS];
    int n;
    double total;
    double op_start;     /* when the op being timed started */
    double backward_ops; /* the current backward's ops, summed */
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

/* The graph's op hook: each op's time into its row. */
static inline void profile_op(void *ctx, const gm_node *n, gm_pass pass,
                              bool after) {
    op_profile *p = ctx;
    double now = profile_cpu_now();
    if (!after) {
        p->op_start = now;
        return;
    }
    profile_row *r = profile_row_of(p, gm_node_op_name(n), gm_node_shape(n));
    if (pass == GM_PASS_FORWARD) {
        r->forward += now - p->op_start;
    } else {
        r->backward += now - p->op_start;
        p->backward_ops += now - p->op_start;
    }
}

/* A phase: zero the group's gradient, forward, backward, one step. */
static inline void profile_phase(op_profile *p, gm_params *group, gm_graph *g,
                                 gm_node *loss, gm_optim *opt) {
    gm_graph_set_op_hook(g, profile_op, p);
    double t0 = profile_cpu_now();
    gm_params_zero_grad(group);
    gm_graph_forward(g);
    double backward_start = profile_cpu_now();
    p->backward_ops = 0;
    gm_error err = {0};
    if (gm_graph_backward(g, loss, &err) != GM_OK) {
        fprintf(stderr, "op profile: %s\n", err.message);
        exit(1);
    }
    double t1 = profile_cpu_now();
    profile_row_of(p, "(clear gradients, walk)", gm_node_shape(loss))
        ->backward += t1 - backward_start - p->backward_ops;
    gm_optim_step(opt);
    double t2 = profile_cpu_now();
    profile_row_of(p, "(adam)", gm_node_shape(loss))->backward += t2 - t1;
    p->total += t2 - t0;
    gm_graph_set_op_hook(g, NULL, NULL);
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
