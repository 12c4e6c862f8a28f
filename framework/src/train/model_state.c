/* A model's part of a run state: parameters, optimizers, the random nodes
 * of its graphs, the training-metric averages in progress and the
 * objective's own state. */
#include <stdio.h>

#include "built_model.h"

#define NAME_MAX_LEN 512

static gm_status put_graphs(const gm_model *m, gm_state *s, gm_error *err) {
    char prefix[NAME_MAX_LEN];
    gm_status st = GM_OK;
    for (int p = 0; st == GM_OK && p < m->n_phases; p++) {
        snprintf(prefix, sizeof prefix, "rng/phase_%d", p);
        st = gm_graph_save_state(m->phases[p].graph, s, prefix, err);
    }
    if (st != GM_OK || !m->sampler) return st;
    return gm_graph_save_state(m->sampler, s, "rng/sampler", err);
}

static gm_status get_graphs(gm_model *m, const gm_state *s, gm_error *err) {
    char prefix[NAME_MAX_LEN];
    gm_status st = GM_OK;
    for (int p = 0; st == GM_OK && p < m->n_phases; p++) {
        snprintf(prefix, sizeof prefix, "rng/phase_%d", p);
        st = gm_graph_load_state(m->phases[p].graph, s, prefix, err);
    }
    if (st != GM_OK || !m->sampler) return st;
    return gm_graph_load_state(m->sampler, s, "rng/sampler", err);
}

gm_status gm_model_save_state(const gm_model *m, gm_state *s, gm_error *err) {
    char prefix[NAME_MAX_LEN];
    gm_status st = GM_OK;
    for (int g = 0; st == GM_OK && g < m->n_owned; g++) {
        const char *group = gm_params_name(m->owned[g]);
        snprintf(prefix, sizeof prefix, "params/%s", group);
        st = gm_params_save_state(m->owned[g], s, prefix, err);
        snprintf(prefix, sizeof prefix, "optim/%s", group);
        if (st == GM_OK && m->optims[g])
            st = gm_optim_save_state(m->optims[g], s, prefix, err);
    }
    if (st == GM_OK) st = put_graphs(m, s, err);
    int64_t counts[GM_MAX_METRICS], dims[1] = {m->n_train_metrics};
    for (int k = 0; k < m->n_train_metrics; k++)
        counts[k] = m->metric_count[k];
    if (st == GM_OK)
        st = gm_state_put_f64(s, "metrics/sum", m->metric_sum,
                              (size_t)m->n_train_metrics, err);
    if (st == GM_OK)
        st = gm_state_put(s, "metrics/count", GM_STATE_I64, 1, dims, counts,
                          err);
    if (st == GM_OK && m->hooks.save_state)
        st = gm_model_save_hook_state(m, s, err);
    return st;
}

gm_status gm_model_load_params(gm_model *m, const gm_state *s, gm_error *err) {
    char prefix[NAME_MAX_LEN];
    gm_status st = GM_OK;
    for (int g = 0; st == GM_OK && g < m->n_owned; g++) {
        snprintf(prefix, sizeof prefix, "params/%s",
                 gm_params_name(m->owned[g]));
        st = gm_params_load_state(m->owned[g], s, prefix, err);
    }
    return st;
}

gm_status gm_model_load_state(gm_model *m, const gm_state *s, gm_error *err) {
    char prefix[NAME_MAX_LEN];
    gm_status st = gm_model_load_params(m, s, err);
    for (int g = 0; st == GM_OK && g < m->n_owned; g++) {
        snprintf(prefix, sizeof prefix, "optim/%s",
                 gm_params_name(m->owned[g]));
        if (m->optims[g])
            st = gm_optim_load_state(m->optims[g], s, prefix, err);
    }
    if (st == GM_OK) st = get_graphs(m, s, err);
    int64_t counts[GM_MAX_METRICS];
    size_t n = (size_t)m->n_train_metrics;
    if (st == GM_OK)
        st = gm_state_get(s, "metrics/sum", GM_STATE_F64, n, m->metric_sum,
                          err);
    if (st == GM_OK)
        st = gm_state_get(s, "metrics/count", GM_STATE_I64, n, counts, err);
    for (size_t k = 0; st == GM_OK && k < n; k++)
        m->metric_count[k] = (long)counts[k];
    if (st == GM_OK && m->hooks.load_state)
        st = gm_model_load_hook_state(m, s, err);
    return st;
}
