/* Building a model from an objective, and running its phases. */
#define _GNU_SOURCE /* dladdr */
#include "built_model.h"

#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "blas/thread_buffer.h"
#include "train/hook_scope.h"

/* The group of a network's batch norm statistics, "<role>.stats", which
 * the model owns and no phase trains. */
static gm_params *running_stats(gm_model *m, const char *role, gm_error *err) {
    char name[GM_NAME_MAX];
    snprintf(name, sizeof name, "%s.stats", role);
    gm_params *stats = gm_params_create(name);
    if (!stats || gm_model_adopt_params(m, stats, err) != GM_OK) {
        gm_params_free(stats);
        if (!stats) gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return stats;
}

gm_params *gm_model_network(gm_model *m, const gm_build_ctx *ctx,
                            const char *role, int in, int out, gm_net *net,
                            gm_error *err) {
    const gm_role_network *described = NULL;
    for (int i = 0; i < ctx->spec->n_networks; i++)
        if (strcmp(ctx->spec->networks[i].role, role) == 0)
            described = &ctx->spec->networks[i];
    if (!described) {
        gm_error_set(err, GM_ERR_NOT_FOUND,
                     "model '%s' has no network for the role '%s'",
                     ctx->spec->name, role);
        return NULL;
    }
    gm_params *p = gm_params_create(role);
    if (!p || gm_model_adopt_params(m, p, err) != GM_OK) {
        gm_params_free(p);
        if (!p) gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    gm_net_spec spec = described->net;
    spec.out = out;
    gm_params *stats =
        gm_net_has_stats(&spec) ? running_stats(m, role, err) : NULL;
    if (gm_net_has_stats(&spec) && !stats) return NULL;
    if (gm_net_init(net, p, stats, role, in, &spec, ctx->init, err) != GM_OK)
        return NULL;
    return p;
}

gm_status gm_model_adopt_params(gm_model *m, gm_params *p, gm_error *err) {
    if (m->n_owned == GM_MAX_GROUPS)
        return gm_error_set(err, GM_ERR_INVALID,
                            "a model has at most %d parameter groups",
                            GM_MAX_GROUPS);
    m->owned[m->n_owned++] = p;
    return GM_OK;
}

static gm_status add_metric(gm_model *m, const char *name, gm_node *node,
                            int phase, gm_error *err) {
    for (int i = 0; i < m->n_train_metrics; i++)
        if (strcmp(m->metric_names[i], name) == 0)
            return GM_OK; /* the same metric in two phases: keep the first */
    if (m->n_train_metrics == GM_MAX_METRICS)
        return gm_error_set(err, GM_ERR_INVALID, "more than %d metrics",
                            GM_MAX_METRICS);
    int k = m->n_train_metrics++;
    snprintf(m->metric_names[k], GM_NAME_MAX, "%s", name);
    m->metric_src[k] = (gm_metric_source){node, phase};
    return GM_OK;
}

/* The one optimizer of an owned group, made when a phase first trains it. */
static gm_optim *optim_of(gm_model *m, gm_params *group, const char *phase,
                          gm_error *err) {
    for (int g = 0; g < m->n_owned; g++) {
        if (m->owned[g] != group) continue;
        if (!m->optims[g])
            m->optims[g] = gm_optim_create(group, &m->train.optimizer, err);
        return m->optims[g];
    }
    gm_error_set(err, GM_ERR_INVALID,
                 "phase '%s': group '%s' is not the model's (make it with "
                 "gm_model_network or give it to gm_model_adopt_params)",
                 phase, gm_params_name(group));
    return NULL;
}

/* The phase other than `p` that trains with optimizer o, or -1. */
static int other_phase_of(const gm_model *m, int p, const gm_optim *o) {
    for (int q = 0; q < m->n_phases; q++)
        for (int i = 0; q != p && i < m->phases[q].n_groups; i++)
            if (m->phases[q].optims[i] == o) return q;
    return -1;
}

/* The phase's input "labels", which must hold one class per row of x. */
static gm_status phase_labels(gm_phase *ph, gm_error *err) {
    gm_node *labels = gm_graph_find(ph->graph, "labels", NULL);
    if (!labels || gm_node_role(labels) != GM_ROLE_INPUT) return GM_OK;
    char a[64], b[64];
    const gm_shape *ls = gm_node_shape(labels);
    if (!ph->x)
        return gm_error_set(err, GM_ERR_INVALID,
                            "phase '%s': an input 'labels' needs the data "
                            "input 'x' whose rows it labels",
                            ph->name);
    const gm_shape *xs = gm_node_shape(ph->x);
    int rows = gm_shape_rows(xs);
    if (!(ls->ndim == 1 && ls->dim[0] == rows) &&
        !(ls->ndim == 2 && ls->dim[0] == rows && ls->dim[1] == 1))
        return gm_error_set(err, GM_ERR_SHAPE,
                            "phase '%s': labels %s must be [rows] or "
                            "[rows, 1] for x %s",
                            ph->name, gm_shape_str(ls, a, sizeof a),
                            gm_shape_str(xs, b, sizeof b));
    ph->labels = labels;
    return GM_OK;
}

gm_status gm_model_add_phase(gm_model *m, const char *name, gm_graph *g,
                             gm_node *loss, gm_params *const *groups,
                             int n_groups, int repeats, gm_error *err) {
    if (m->n_phases == GM_MAX_PHASES) {
        gm_graph_free(g);
        return gm_error_set(err, GM_ERR_INVALID, "more than %d phases",
                            GM_MAX_PHASES);
    }
    /* Hooks and gm_model_set_phase_lr know a phase by its name. */
    for (int p = 0; p < m->n_phases; p++)
        if (strcmp(m->phases[p].name, name) == 0) {
            gm_graph_free(g);
            return gm_error_set(err, GM_ERR_INVALID,
                                "two phases named '%s': a phase's name must "
                                "be its own",
                                name);
        }
    gm_phase *ph = &m->phases[m->n_phases++];
    ph->graph = g; /* owned from here on, even if what follows fails */
    snprintf(ph->name, sizeof ph->name, "%s", name);
    if (n_groups < 1 || n_groups > GM_MAX_GROUPS || repeats < 1)
        return gm_error_set(err, GM_ERR_INVALID,
                            "phase '%s': needs 1 to %d groups and repeats "
                            ">= 1",
                            name, GM_MAX_GROUPS);
    if (!loss && !gm_graph_error(g))
        return gm_error_set(err, GM_ERR_INVALID, "phase '%s' has no loss",
                            name);
    gm_node_set_role(loss, GM_ROLE_LOSS);
    /* train.precision, which must be set before the graph compiles */
    if (m->train.precision != GM_PRECISION_FP32)
        gm_graph_set_precision(g, m->train.precision);
    gm_status s = gm_graph_compile(g, err);
    if (s != GM_OK) return s;
    ph->loss = loss;
    ph->repeats = repeats;
    ph->n_groups = n_groups;
    gm_node *x = gm_graph_find(g, "x", NULL);
    ph->x = x && gm_node_role(x) == GM_ROLE_INPUT ? x : NULL;
    s = phase_labels(ph, err);
    if (s != GM_OK) return s;
    for (int i = 0; i < n_groups; i++) {
        for (int j = 0; j < i; j++)
            if (groups[j] == groups[i])
                return gm_error_set(err, GM_ERR_INVALID,
                                    "phase '%s' lists group '%s' twice", name,
                                    gm_params_name(groups[i]));
        ph->groups[i] = groups[i];
        ph->optims[i] = optim_of(m, groups[i], name, err);
        if (!ph->optims[i]) return err->status;
    }
    char metric[GM_NAME_MAX];
    snprintf(metric, sizeof metric, "loss_%s", name);
    s = add_metric(m, metric, loss, m->n_phases - 1, err);
    for (int i = 0; s == GM_OK && i < gm_graph_node_count(g); i++) {
        gm_node *n = gm_graph_node(g, i);
        if (gm_node_role(n) == GM_ROLE_METRIC)
            s = add_metric(m, gm_node_name(n), n, m->n_phases - 1, err);
    }
    return s;
}

gm_status gm_model_set_phase_lr(gm_model *m, const char *phase, float lr,
                                gm_error *err) {
    if (!(lr > 0.0f))
        return gm_error_set(err, GM_ERR_INVALID, "phase '%s': lr must be > 0",
                            phase);
    for (int p = 0; p < m->n_phases; p++) {
        gm_phase *ph = &m->phases[p];
        if (strcmp(ph->name, phase) != 0) continue;
        for (int i = 0; i < ph->n_groups; i++) {
            int q = other_phase_of(m, p, ph->optims[i]);
            if (q >= 0)
                return gm_error_set(err, GM_ERR_INVALID,
                                    "phase '%s': group '%s' is trained by "
                                    "phase '%s' too, and its one optimizer "
                                    "has one learning rate",
                                    phase, gm_params_name(ph->groups[i]),
                                    m->phases[q].name);
        }
        for (int i = 0; i < ph->n_groups; i++)
            gm_optim_set_lr(ph->optims[i], lr);
        return GM_OK;
    }
    return gm_error_set(err, GM_ERR_NOT_FOUND, "no phase named '%s'", phase);
}

gm_status gm_model_set_phase_clip(gm_model *m, const char *phase, float clip,
                                  gm_error *err) {
    if (!(clip >= 0.0f && isfinite(clip)))
        return gm_error_set(err, GM_ERR_INVALID,
                            "phase '%s': clip must be a number >= 0, got %g",
                            phase, (double)clip);
    for (int p = 0; p < m->n_phases; p++)
        if (strcmp(m->phases[p].name, phase) == 0) {
            m->phases[p].clip = clip;
            return GM_OK;
        }
    return gm_error_set(err, GM_ERR_NOT_FOUND, "no phase named '%s'", phase);
}

/* torch's p.data.clamp_(-c, c) on every value of the phase's groups (NaN
 * stays NaN, for the trainer to report). */
static void clip_groups(const gm_phase *ph) {
    const float hi = ph->clip, lo = -ph->clip;
    for (int i = 0; i < ph->n_groups; i++) {
        float *w = gm_params_data(ph->groups[i]);
        size_t n = gm_params_numel(ph->groups[i]);
        for (size_t k = 0; k < n; k++)
            w[k] = w[k] < lo ? lo : w[k] > hi ? hi : w[k];
    }
}

gm_status gm_model_set_sampler(gm_model *m, gm_graph *g, gm_node *samples,
                               gm_error *err) {
    gm_graph_free(m->sampler);
    m->sampler = g;
    gm_graph_set_training(g, false); /* batch norm: running statistics */
    gm_graph_set_forward_only(g);      /* gm reads only the samples */
    gm_node_keep(samples);
    gm_status s = gm_graph_compile(g, err);
    if (s != GM_OK) return s;
    const gm_shape *shape = samples ? gm_node_shape(samples) : NULL;
    if (!shape || shape->ndim != 2 || shape->dim[0] != m->sample_count ||
        shape->dim[1] != m->data_dim)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "sampler must produce [%d, %d] samples",
                            m->sample_count, m->data_dim);
    m->samples = samples;
    return GM_OK;
}

gm_status gm_model_set_attr(gm_model *m, const char *name, double value,
                            gm_error *err) {
    if (m->n_attrs == GM_MAX_MODEL_ATTRS)
        return gm_error_set(err, GM_ERR_INVALID, "more than %d model attributes",
                            GM_MAX_MODEL_ATTRS);
    snprintf(m->attr_names[m->n_attrs], GM_NAME_MAX, "%s", name);
    m->attr_values[m->n_attrs++] = value;
    return GM_OK;
}

gm_status gm_model_set_hooks(gm_model *m, const gm_hooks *hooks,
                             gm_error *err) {
    gm_status st = GM_OK;
    if (hooks->n_eval_metrics < 0 ||
        hooks->n_eval_metrics > GM_MAX_EVAL_METRICS)
        st = gm_error_set(err, GM_ERR_INVALID, "at most %d evaluation metrics",
                          GM_MAX_EVAL_METRICS);
    else if (hooks->n_eval_vectors < 0 ||
             hooks->n_eval_vectors > GM_MAX_EVAL_VECTORS)
        st = gm_error_set(err, GM_ERR_INVALID, "at most %d evaluation vectors",
                          GM_MAX_EVAL_VECTORS);
    int values = 0;
    for (int i = 0; st == GM_OK && i < hooks->n_eval_vectors; i++) {
        int len = hooks->eval_vector_lens[i];
        if (len < 1 || len > GM_MAX_EVAL_VECTOR_LEN)
            st = gm_error_set(err, GM_ERR_INVALID,
                              "evaluation vector '%s' has length %d, not in "
                              "1..%d",
                              hooks->eval_vectors[i], len,
                              GM_MAX_EVAL_VECTOR_LEN);
        values += len;
    }
    if (st != GM_OK) {
        if (hooks->free_state) hooks->free_state(hooks->state);
        return st;
    }
    if (m->hooks.free_state) m->hooks.free_state(m->hooks.state);
    m->hooks = *hooks;
    for (int i = 0; i < hooks->n_eval_metrics; i++)
        snprintf(m->eval_names[i], GM_NAME_MAX, "%s", hooks->eval_metrics[i]);
    m->n_eval_metrics = hooks->n_eval_metrics;
    for (int i = 0; i < hooks->n_eval_vectors; i++) {
        snprintf(m->eval_vector_names[i], GM_NAME_MAX, "%s",
                 hooks->eval_vectors[i]);
        m->eval_vector_lens[i] = hooks->eval_vector_lens[i];
    }
    m->n_eval_vectors = hooks->n_eval_vectors;
    m->eval_vector_values = values;
    /* the copies above are what count */
    m->hooks.eval_metrics = m->hooks.eval_vectors = NULL;
    m->hooks.eval_vector_lens = NULL;
    return GM_OK;
}

/* True if `name` is the loss of one of the model's phases. */
static bool is_phase_loss(const gm_model *m, const char *name) {
    for (int p = 0; p < m->n_phases; p++)
        if (strncmp(name, "loss_", 5) == 0 &&
            strcmp(name + 5, m->phases[p].name) == 0)
            return true;
    return false;
}

static bool declared(const gm_objective_schema *s, const char *name) {
    for (int i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0) return true;
    return false;
}

/* Every metric the model logs has a unit: its objective declares it
 * (gm_objective_schema.metrics), or it is a phase's loss. */
static gm_status check_declared(const gm_model *m, gm_error *err) {
    const gm_objective_schema *s = &m->objective->schema;
    const char *undeclared = NULL;
    for (int i = 0; !undeclared && i < m->n_train_metrics; i++)
        if (!is_phase_loss(m, m->metric_names[i]) &&
            !declared(s, m->metric_names[i]))
            undeclared = m->metric_names[i];
    for (int i = 0; !undeclared && i < m->n_eval_metrics; i++)
        if (!declared(s, m->eval_names[i])) undeclared = m->eval_names[i];
    for (int i = 0; !undeclared && i < m->n_eval_vectors; i++)
        if (!declared(s, m->eval_vector_names[i]))
            undeclared = m->eval_vector_names[i];
    if (!undeclared) return GM_OK;
    return gm_error_set(err, GM_ERR_INVALID,
                        "objective '%s' logs metric '%s', which its schema "
                        "does not declare: add {\"%s\", unit, better} to "
                        "its schema's metrics",
                        s->name, undeclared, undeclared);
}

gm_model *gm_model_create(const gm_objective *objective,
                          const gm_build_ctx *ctx, gm_error *err) {
    /* The thread that builds a model multiplies with it next (the
     * trainer readies the buffers of its threads before they start). */
    if (gm_blas_buffers_ready(1, err) != GM_OK) return NULL;
    gm_model *m = calloc(1, sizeof *m);
    if (!m) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->objective = objective;
    Dl_info where;
    snprintf(m->objective_file, sizeof m->objective_file, "%s",
             dladdr(*(void **)&objective->build, &where) && where.dli_fname
                 ? where.dli_fname
                 : "unknown file");
    snprintf(m->name, sizeof m->name, "%s", ctx->spec->name);
    m->seed = ctx->seed;
    m->train = ctx->spec->train;
    m->data_dim = ctx->data_dim;
    m->sample_count = ctx->sample_count;
    gm_hook_enter(m, "build");
    gm_status s = objective->build(m, ctx, err);
    gm_hook_leave();
    if (s == GM_OK && m->n_phases == 0)
        s = gm_error_set(err, GM_ERR_INVALID, "objective '%s' built no phase",
                         objective->schema.name);
    if (s == GM_OK) s = check_declared(m, err);
    if (s != GM_OK) {
        gm_model_free(m);
        return NULL;
    }
    return m;
}

void gm_model_free(gm_model *m) {
    if (!m) return;
    if (m->hooks.free_state) {
        gm_hook_enter(m, "free_state");
        m->hooks.free_state(m->hooks.state);
        gm_hook_leave();
    }
    for (int p = 0; p < m->n_phases; p++)
        gm_graph_free(m->phases[p].graph);
    gm_graph_free(m->sampler);
    for (int i = 0; i < m->n_owned; i++) {
        gm_optim_free(m->optims[i]);
        gm_params_free(m->owned[i]);
    }
    free(m);
}

static gm_status not_finite(long step, const char *what, double value,
                            gm_error *err) {
    return gm_error_set(err, GM_ERR_NUMERIC, "step %ld: %s is %g", step, what,
                        value);
}

gm_status gm_model_train_step(gm_model *m, long step, gm_batch_fn next_batch,
                              void *batcher, gm_error *err) {
    for (int p = 0; p < m->n_phases; p++) {
        gm_phase *ph = &m->phases[p];
        for (int r = 0; r < ph->repeats; r++) {
            if (ph->x)
                next_batch(batcher, gm_node_data(ph->x),
                           ph->labels ? gm_node_data(ph->labels) : NULL);
            if (ph->clip > 0.0f) clip_groups(ph);
            if (m->hooks.before_phase) {
                gm_hook_enter(m, "before_phase");
                gm_status s = m->hooks.before_phase(m->hooks.state, ph->name, r,
                                                    step, err);
                gm_hook_leave();
                if (s != GM_OK) return s;
            }
            for (int i = 0; i < ph->n_groups; i++)
                gm_params_zero_grad(ph->groups[i]);
            gm_graph_forward(ph->graph);
            double loss = gm_node_scalar(ph->loss);
            if (!isfinite(loss)) {
                char what[2 * GM_NAME_MAX];
                snprintf(what, sizeof what, "loss_%s", ph->name);
                return not_finite(step, what, loss, err);
            }
            gm_status s = gm_optim_backward_step(ph->optims, ph->n_groups,
                                                 ph->graph, ph->loss, err);
            if (s != GM_OK) return s;
            for (int i = 0; i < ph->n_groups; i++) {
                double norm = gm_optim_last_grad_norm(ph->optims[i]);
                if (!isfinite(norm)) {
                    char what[2 * GM_NAME_MAX];
                    snprintf(what, sizeof what, "the gradient of '%s'",
                             gm_params_name(ph->groups[i]));
                    return not_finite(step, what, norm, err);
                }
            }
            for (int k = 0; k < m->n_train_metrics; k++) {
                if (m->metric_src[k].phase != p) continue;
                double v = gm_node_scalar(m->metric_src[k].node);
                if (!isfinite(v))
                    return not_finite(step, m->metric_names[k], v, err);
                m->metric_sum[k] += v;
                m->metric_count[k]++;
            }
        }
    }
    if (!m->hooks.after_step) return GM_OK;
    gm_hook_enter(m, "after_step");
    gm_status s = m->hooks.after_step(m->hooks.state, step, err);
    gm_hook_leave();
    return s;
}

gm_status gm_model_evaluate(gm_model *m, const float *data, const int *labels,
                            int n, double *out, gm_error *err) {
    gm_hook_enter(m, "evaluate");
    gm_status s = m->hooks.evaluate(m->hooks.state, data, labels, n, out, err);
    gm_hook_leave();
    return s;
}

gm_status gm_model_save_hook_state(const gm_model *m, gm_state *s,
                                   gm_error *err) {
    gm_hook_enter(m, "save_state");
    gm_status st = m->hooks.save_state(m->hooks.state, s, "objective", err);
    gm_hook_leave();
    return st;
}

gm_status gm_model_load_hook_state(gm_model *m, const gm_state *s,
                                   gm_error *err) {
    gm_hook_enter(m, "load_state");
    gm_status st = m->hooks.load_state(m->hooks.state, s, "objective", err);
    gm_hook_leave();
    return st;
}

void gm_model_take_train_metrics(gm_model *m, double *out) {
    for (int k = 0; k < m->n_train_metrics; k++) {
        out[k] = m->metric_count[k] ? m->metric_sum[k] / m->metric_count[k]
                                    : NAN;
        m->metric_sum[k] = 0.0;
        m->metric_count[k] = 0;
    }
}

bool gm_model_uses_labels(const gm_model *m) {
    for (int p = 0; p < m->n_phases; p++)
        if (m->phases[p].labels) return true;
    return false;
}

const float *gm_model_draw(gm_model *m) {
    GM_ASSERT(m->samples);
    gm_graph_forward(m->sampler);
    return gm_node_data(m->samples);
}

void gm_model_sample(gm_model *m, float *out) {
    memcpy(out, gm_model_draw(m),
           (size_t)m->sample_count * m->data_dim * sizeof(float));
}
