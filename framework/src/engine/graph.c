/* Building, compiling and running a static graph. */
#include <stdarg.h>
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "ops/products.h"

/* Buffers start on 64-byte boundaries so sgemm and vector loops see
 * aligned data. */
#define ALIGN_FLOATS 16

gm_graph *gm_graph_create(const char *name) {
    gm_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    snprintf(g->name, sizeof g->name, "%s", name ? name : "graph");
    return g;
}

void gm_graph_free(gm_graph *g) {
    if (!g) return;
    gm_graph_free_products(g);
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i]->owned);
        free(g->nodes[i]);
    }
    free(g->nodes);
    free(g->arena);
    free(g->mark);
    free(g);
}

const gm_error *gm_graph_error(const gm_graph *g) {
    return g->error.status == GM_OK ? NULL : &g->error;
}

const char *gm_graph_name(const gm_graph *g) { return g->name; }
int gm_graph_node_count(const gm_graph *g) { return g->n_nodes; }

gm_node *gm_graph_node(const gm_graph *g, int index) {
    return index >= 0 && index < g->n_nodes ? g->nodes[index] : NULL;
}

size_t gm_graph_arena_bytes(const gm_graph *g) {
    return g->arena_floats * sizeof(float);
}

void gm_graph_hold_noise(gm_graph *g, bool hold) { g->hold_noise = hold; }

void gm_graph_set_training(gm_graph *g, bool training) {
    g->evaluating = !training;
}

bool gm_graph_training(const gm_graph *g) { return !g->evaluating; }

gm_node *gm_graph_fail(gm_graph *g, gm_status status, const char *fmt, ...) {
    if (g->error.status != GM_OK) return NULL;
    char msg[GM_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gm_error_set(&g->error, status, "graph '%s': %s", g->name, msg);
    return NULL;
}

static gm_node *append(gm_graph *g, gm_role role, const gm_shape *shape) {
    if (g->compiled)
        return gm_graph_fail(g, GM_ERR_STATE, "cannot add nodes after compile");
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        gm_node **nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return gm_graph_fail(g, GM_ERR_NOMEM, "out of memory");
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    gm_node *n = calloc(1, sizeof *n);
    if (!n) return gm_graph_fail(g, GM_ERR_NOMEM, "out of memory");
    n->graph = g;
    n->id = g->n_nodes;
    n->role = role;
    n->shape = *shape;
    n->numel = gm_shape_numel(shape);
    n->param_index = -1;
    g->nodes[g->n_nodes++] = n;
    return n;
}

static gm_node *find_node(const gm_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
    return NULL;
}

gm_node *gm_node_set_name(gm_node *n, const char *name) {
    if (!n) return NULL;
    gm_graph *g = n->graph;
    if (!name || !*name || strlen(name) >= GM_NAME_MAX)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "node names must have 1 to %d chars",
                             GM_NAME_MAX - 1);
    gm_node *other = find_node(g, name);
    if (other && other != n)
        return gm_graph_fail(g, GM_ERR_INVALID, "two nodes named '%s'", name);
    snprintf(n->name, sizeof n->name, "%s", name);
    return n;
}

const char *gm_node_label(const gm_node *n, char *buf, size_t cap) {
    if (n->name[0])
        snprintf(buf, cap, "'%s'", n->name);
    else
        snprintf(buf, cap, "the %s node #%d", n->def ? n->def->name : "leaf",
                 n->id);
    return buf;
}

gm_node *gm_node_set_role(gm_node *n, gm_role role) {
    if (!n) return NULL;
    char label[GM_NAME_MAX + 32];
    if ((role == GM_ROLE_LOSS || role == GM_ROLE_METRIC) && n->numel != 1) {
        char s[64];
        return gm_graph_fail(
            n->graph, GM_ERR_SHAPE,
            "a loss or metric must have shape [1], node %s has %s",
            gm_node_label(n, label, sizeof label),
            gm_shape_str(&n->shape, s, sizeof s));
    }
    if (n->role == GM_ROLE_INPUT || n->role == GM_ROLE_PARAM ||
        n->role == GM_ROLE_CONST)
        return gm_graph_fail(n->graph, GM_ERR_INVALID,
                             "node %s is a leaf; its role cannot change",
                             gm_node_label(n, label, sizeof label));
    n->role = role;
    return n;
}

gm_node *gm_graph_find(const gm_graph *g, const char *name, gm_error *err) {
    gm_node *n = name ? find_node(g, name) : NULL;
    if (!n)
        gm_error_set(err, GM_ERR_NOT_FOUND, "graph '%s' has no node named '%s'",
                     g->name, name ? name : "(null)");
    return n;
}

gm_node *gm_input(gm_graph *g, const char *name, const int *shape, int ndim) {
    gm_shape s;
    if (!gm_shape_make(&s, shape, ndim))
        return gm_graph_fail(g, GM_ERR_INVALID, "input '%s': bad shape",
                             name ? name : "");
    return gm_node_set_name(append(g, GM_ROLE_INPUT, &s), name);
}

gm_node *gm_param(gm_graph *g, gm_params *group, int index) {
    if (!group)
        return gm_graph_fail(g, GM_ERR_INVALID, "parameter group is NULL");
    const gm_param_view *v = gm_params_view(group, index);
    if (!v)
        return gm_graph_fail(g, GM_ERR_NOT_FOUND,
                             "group '%s' has no parameter %d",
                             gm_params_name(group), index);
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (n->role == GM_ROLE_PARAM && n->group == group &&
            n->param_index == index)
            return n;
    }
    gm_node *n = append(g, GM_ROLE_PARAM, &v->shape);
    if (!n) return NULL;
    n->group = group;
    n->param_index = index;
    /* Parameter names are qualified by group and need not be unique in g. */
    snprintf(n->name, sizeof n->name, "%s.%s", gm_params_name(group), v->name);
    return n;
}

gm_node *gm_constant(gm_graph *g, const char *name, const int *shape, int ndim,
                     const float *data) {
    gm_shape s;
    if (!gm_shape_make(&s, shape, ndim) || !data)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "constant '%s': bad shape or no data",
                             name ? name : "");
    gm_node *n = append(g, GM_ROLE_CONST, &s);
    if (!n) return NULL;
    n->owned = malloc(n->numel * sizeof(float));
    if (!n->owned) return gm_graph_fail(g, GM_ERR_NOMEM, "out of memory");
    memcpy(n->owned, data, n->numel * sizeof(float));
    return name ? gm_node_set_name(n, name) : n;
}

gm_node *gm_scalar(gm_graph *g, float value) {
    int one = 1;
    return gm_constant(g, NULL, &one, 1, &value);
}

static bool is_frozen(const gm_graph *g, const gm_params *group);

void gm_graph_freeze(gm_graph *g, const gm_params *group) {
    if (is_frozen(g, group)) return;
    if (g->n_frozen == (int)(sizeof g->frozen / sizeof g->frozen[0])) {
        gm_graph_fail(g, GM_ERR_INVALID, "too many frozen groups");
        return;
    }
    g->frozen[g->n_frozen++] = group;
}

gm_node *gm_node_new(gm_graph *g, const gm_op_def *def, gm_node *const *inputs,
                     int n_inputs, const float *params, int n_params) {
    if (g->error.status != GM_OK) return NULL;
    if (!def) return gm_graph_fail(g, GM_ERR_INVALID, "op definition is NULL");
    if ((def->arity >= 0 && n_inputs != def->arity) || n_inputs < 0 ||
        n_inputs > GM_MAX_INPUTS || (def->arity < 0 && n_inputs < 1))
        return gm_graph_fail(g, GM_ERR_INVALID, "%s: takes %d inputs, got %d",
                             def->name, def->arity, n_inputs);
    if (n_params < 0 || n_params > GM_MAX_OP_PARAMS)
        return gm_graph_fail(g, GM_ERR_INVALID, "%s: too many parameters",
                             def->name);
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i])
            return gm_graph_fail(g, GM_ERR_INVALID, "%s: input %d is NULL",
                                 def->name, i);
        if (inputs[i]->graph != g)
            return gm_graph_fail(g, GM_ERR_INVALID,
                                 "%s: input %d belongs to graph '%s'",
                                 def->name, i, inputs[i]->graph->name);
    }
    /* A scratch node carries the inputs and parameters to the shape rule. */
    gm_node probe = {.graph = g, .def = def, .n_in = n_inputs};
    for (int i = 0; i < n_inputs; i++)
        probe.in[i] = inputs[i];
    for (int i = 0; i < n_params; i++)
        probe.p[i] = params[i];
    gm_shape out;
    gm_error err = {0};
    if (def->shape(&probe, &out, &err) != GM_OK)
        return gm_graph_fail(g, err.status, "%s", err.message);
    gm_node *n = append(g, GM_ROLE_OP, &out);
    if (!n) return NULL;
    n->def = def;
    n->n_in = n_inputs;
    memcpy(n->in, probe.in, sizeof n->in);
    memcpy(n->p, probe.p, sizeof n->p);
    return n;
}

gm_node *gm_node_new_source(gm_graph *g, const gm_op_def *def,
                            const gm_shape *shape) {
    gm_node *n = append(g, GM_ROLE_OP, shape);
    if (n) n->def = def;
    return n;
}

gm_node *gm_custom(gm_graph *g, const gm_op_def *def, gm_node *const *inputs,
                   int n_inputs, const float *params, int n_params) {
    if (def && (!def->shape || !def->forward))
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "op '%s' lacks a shape rule or forward",
                             def->name ? def->name : "?");
    if (def && (def->flags & GM_OP_RANDOM))
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "op '%s' is GM_OP_RANDOM: add it with "
                             "gm_custom_random, which gives it its stream",
                             def->name ? def->name : "?");
    return gm_node_new(g, def, inputs, n_inputs, params, n_params);
}

gm_node *gm_custom_random(gm_graph *g, const gm_op_def *def,
                          gm_node *const *inputs, int n_inputs,
                          const float *params, int n_params, gm_rng *parent) {
    const char *name = def && def->name ? def->name : "?";
    if (def && (!def->shape || !def->forward))
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "op '%s' lacks a shape rule or forward", name);
    if (!def || !(def->flags & GM_OP_RANDOM) || !parent)
        return gm_graph_fail(g, GM_ERR_INVALID,
                             "op '%s': gm_custom_random needs a GM_OP_RANDOM "
                             "op and a parent stream",
                             name);
    gm_node *n = gm_node_new(g, def, inputs, n_inputs, params, n_params);
    if (n) n->rng = gm_rng_split(parent);
    return n;
}

gm_rng *gm_node_rng(gm_node *n) {
    return n->def && (n->def->flags & GM_OP_RANDOM) ? &n->rng : NULL;
}

bool gm_node_draw_now(gm_node *n) {
    if (n->drawn && n->graph->hold_noise) return false;
    n->drawn = true;
    return true;
}

static bool is_frozen(const gm_graph *g, const gm_params *group) {
    for (int i = 0; i < g->n_frozen; i++)
        if (g->frozen[i] == group) return true;
    return false;
}

static size_t round_up(size_t n) {
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static bool is_view(const gm_node *n) {
    return n->def && (n->def->flags & GM_OP_VIEW);
}

/* A gradient need not be zeroed before backward when exactly one op
 * writes it and that op overwrites (GM_OP_OVERWRITES): it is written
 * before anything reads it. Views share their input's gradient, so an
 * input with a view among its consumers is always zeroed. */
static gm_status mark_fresh_gradients(gm_graph *g) {
    size_t n_nodes = g->n_nodes > 0 ? (size_t)g->n_nodes : 1;
    int *writers = calloc(n_nodes, sizeof *writers);
    gm_node **writer = calloc(n_nodes, sizeof *writer);
    if (!writers || !writer) {
        free(writers);
        free(writer);
        return GM_ERR_NOMEM;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        for (int k = 0; n->def && k < n->n_in; k++) {
            int id = n->in[k]->id;
            writers[id] += is_view(n) ? 2 : 1; /* a view never counts as one */
            writer[id] = n;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        n->grad_fresh = n->needs_grad && n->role != GM_ROLE_PARAM &&
                        !is_view(n) && writers[i] == 1 &&
                        (writer[i]->def->flags & GM_OP_OVERWRITES);
    }
    free(writers);
    free(writer);
    return GM_OK;
}

/* Decides which nodes need a gradient (none in a forward-only graph). */
static void mark_needs_grad(gm_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (n->role == GM_ROLE_PARAM) {
            n->needs_grad = !g->forward_only && !is_frozen(g, n->group);
            gm_params_lock(n->group);
        } else if (n->def && !(n->def->flags & GM_OP_STOP_GRAD)) {
            for (int k = 0; k < n->n_in; k++)
                n->needs_grad = n->needs_grad || n->in[k]->needs_grad;
        }
    }
}

/* Where each node's values go: one after the other, or, in a forward-only
 * graph, in buffers given back after their last reader (value_plan.c).
 * offset [n_nodes]; returns the floats of the values part, or
 * GM_ERR_NOMEM in *st. */
static size_t plan_values(gm_graph *g, size_t *offset, gm_status *st) {
    size_t values = 0;
    *st = GM_OK;
    if (g->forward_only) {
        *st = gm_value_plan(g, offset, &values, round_up);
        return values;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (gm_node_owns_values(g->nodes[i])) {
            offset[i] = values;
            values += round_up(g->nodes[i]->numel);
        }
    return values;
}

/* Decides which nodes need a gradient, then lays out one arena:
 * [values | scratch | gradients to zero | fresh gradients], the gradients
 * to zero contiguous so that one memset clears them before each backward. */
gm_status gm_graph_compile(gm_graph *g, gm_error *err) {
    if (g->error.status != GM_OK) {
        if (err) *err = g->error;
        return g->error.status;
    }
    if (g->compiled) return GM_OK;
    mark_needs_grad(g);
    size_t scratch = 0, grads = 0, fresh = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        n->n_scratch = n->def && n->def->scratch ? n->def->scratch(n) : 0;
        scratch += round_up(n->n_scratch);
    }
    size_t *offset = malloc((g->n_nodes > 0 ? (size_t)g->n_nodes : 1) *
                            sizeof *offset);
    gm_status st = offset ? mark_fresh_gradients(g) : GM_ERR_NOMEM;
    size_t values = st == GM_OK ? plan_values(g, offset, &st) : 0;
    for (int i = 0; st == GM_OK && i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (n->needs_grad && n->role != GM_ROLE_PARAM && !is_view(n))
            *(n->grad_fresh ? &fresh : &grads) += round_up(n->numel);
    }
    size_t total = values + scratch + grads + fresh;
    g->arena =
        st == GM_OK
            ? aligned_alloc(64, round_up(total ? total : 1) * sizeof(float))
            : NULL;
    g->mark = calloc((size_t)g->n_nodes + 1, 1);
    if (!g->arena || !g->mark) {
        free(offset);
        gm_graph_fail(g, GM_ERR_NOMEM, "out of memory planning %zu floats",
                      total);
        if (err) *err = g->error;
        return g->error.status;
    }
    memset(g->arena, 0, total * sizeof(float));
    g->arena_floats = total;
    g->grad_base = g->arena + values + scratch;
    g->grad_floats = grads;
    float *s = g->arena + values, *gr = g->grad_base;
    float *gf = g->grad_base + grads;
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (n->role == GM_ROLE_PARAM) {
            n->data = gm_params_view_data(n->group, n->param_index);
            n->grad = n->needs_grad
                          ? gm_params_view_grad(n->group, n->param_index)
                          : NULL;
        } else if (n->role == GM_ROLE_CONST) {
            n->data = n->owned;
        } else if (is_view(n)) {
            n->data = n->in[0]->data;
            n->grad = n->needs_grad ? n->in[0]->grad : NULL;
        } else {
            n->data = g->arena + offset[i];
            if (n->needs_grad) {
                float **next = n->grad_fresh ? &gf : &gr;
                n->grad = *next;
                *next += round_up(n->numel);
            }
        }
        if (n->n_scratch) {
            n->scratch = s;
            s += round_up(n->n_scratch);
        }
    }
    free(offset);
    if (gm_graph_plan_products(g, &g->error) != GM_OK) {
        if (err) *err = g->error;
        return g->error.status;
    }
    g->compiled = true;
    return GM_OK;
}

const char *gm_precision_name(gm_precision p) {
    return p == GM_PRECISION_BF16 ? "bf16" : "fp32";
}

void gm_graph_set_precision(gm_graph *g, gm_precision p) {
    if (g->compiled)
        gm_graph_fail(g, GM_ERR_STATE, "cannot change the precision after "
                                       "compile");
    else
        g->precision = p;
}

gm_precision gm_graph_precision(const gm_graph *g) { return g->precision; }

void gm_graph_set_forward_only(gm_graph *g) {
    if (g->compiled)
        gm_graph_fail(g, GM_ERR_STATE,
                      "set forward-only before compiling, not after");
    else
        g->forward_only = true;
}

gm_node *gm_node_keep(gm_node *n) {
    if (n) n->keep = true;
    return n;
}

void gm_graph_set_op_hook(gm_graph *g, gm_op_hook_fn hook, void *ctx) {
    g->op_hook = hook;
    g->op_hook_ctx = ctx;
}

/* Runs one op's forward or backward, inside the graph's op hook if any. */
static inline void run_op(gm_graph *g, gm_node *n, gm_pass pass,
                          void (*compute)(gm_node *)) {
    if (g->op_hook) g->op_hook(g->op_hook_ctx, n, pass, false);
    compute(n);
    if (g->op_hook) g->op_hook(g->op_hook_ctx, n, pass, true);
}

void gm_graph_forward(gm_graph *g) {
    GM_ASSERT(g->compiled);
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        if (n->def && !is_view(n))
            run_op(g, n, GM_PASS_FORWARD, n->def->forward);
    }
}

gm_status gm_graph_backward(gm_graph *g, gm_node *loss, gm_error *err) {
    return gm_graph_backward_notify(g, loss, NULL, NULL, err);
}

gm_status gm_graph_backward_notify(gm_graph *g, gm_node *loss,
                                   gm_grad_final_fn on_final, void *ctx,
                                   gm_error *err) {
    if (!g->compiled)
        return gm_error_set(err, GM_ERR_STATE,
                            "graph '%s': backward before compile", g->name);
    if (!loss || loss->graph != g || loss->numel != 1)
        return gm_error_set(err, GM_ERR_INVALID,
                            "graph '%s': backward needs a [1] node of this "
                            "graph as its loss",
                            g->name);
    if (g->forward_only)
        return gm_error_set(err, GM_ERR_STATE,
                            "graph '%s' is forward-only: it has no gradients",
                            g->name);
    char label[GM_NAME_MAX + 32];
    if (!loss->needs_grad)
        return gm_error_set(err, GM_ERR_INVALID,
                            "graph '%s': loss %s depends on no trainable "
                            "parameter",
                            g->name, gm_node_label(loss, label, sizeof label));
    if (g->grad_floats) memset(g->grad_base, 0, g->grad_floats * sizeof(float));
    memset(g->mark, 0, (size_t)g->n_nodes);
    /* No consumer of the loss is on its path, so its gradient is exactly 1
     * (a parameter's gradient lives in its group and accumulates). */
    if (loss->role == GM_ROLE_PARAM)
        loss->grad[0] += 1.0f;
    else
        loss->grad[0] = 1.0f;
    g->mark[loss->id] = 1;
    /* Nodes are in topological order: when the walk reaches a parameter,
     * all its consumers (created after it) have added to its gradient. */
    for (int i = loss->id; i >= 0; i--) {
        gm_node *n = g->nodes[i];
        if (!g->mark[i] || !n->needs_grad) continue;
        if (n->role == GM_ROLE_PARAM && on_final)
            on_final(ctx, n->group, n->param_index);
        if (!n->def) continue;
        if (!is_view(n) && n->def->backward)
            run_op(g, n, GM_PASS_BACKWARD, n->def->backward);
        for (int k = 0; k < n->n_in; k++)
            g->mark[n->in[k]->id] = 1;
    }
    return GM_OK;
}

float *gm_node_data(gm_node *n) { return n->data; }
float *gm_node_grad(gm_node *n) { return n->grad; }
const gm_shape *gm_node_shape(const gm_node *n) {
    static const gm_shape failed; /* ndim 0 */
    return n ? &n->shape : &failed;
}
size_t gm_node_numel(const gm_node *n) { return n ? n->numel : 0; }
const char *gm_node_name(const gm_node *n) { return n->name; }
gm_role gm_node_role(const gm_node *n) { return n->role; }
float gm_node_scalar(const gm_node *n) { return n->data[0]; }

const char *gm_node_op_name(const gm_node *n) {
    if (n->def) return n->def->name;
    switch (n->role) {
    case GM_ROLE_INPUT: return "input";
    case GM_ROLE_PARAM: return "param";
    default: return "constant";
    }
}

int gm_node_input_count(const gm_node *n) { return n->n_in; }
gm_node *gm_node_input(const gm_node *n, int i) {
    GM_ASSERT(i >= 0 && i < n->n_in);
    return n->in[i];
}
float gm_node_param(const gm_node *n, int i) {
    GM_ASSERT(i >= 0 && i < GM_MAX_OP_PARAMS);
    return n->p[i];
}
float *gm_node_scratch(gm_node *n) { return n->scratch; }

void gm_node_set_user(gm_node *n, void *user) {
    if (n) n->user = user;
}
void *gm_node_user(const gm_node *n) { return n->user; }
bool gm_node_grad_fresh(const gm_node *n) { return n->grad_fresh; }
