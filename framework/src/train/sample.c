/* Sampling from a trained model: the experiment is rebuilt from the run
 * file's own config_yaml and the parameters come from its checkpoint, so
 * no retraining and no original YAML file are needed. */
#include <string.h>

#include "config/config_internal.h"
#include "gm/config.h"
#include "gm/data.h"
#include "gm/runfile.h"
#include "gm/train.h"
#include "built_model.h"

/* Model names offered for a misspelt --model (a run file rarely has more). */
#define GM_MAX_LISTED_MODELS 64

/* Rows per forward of the sampler, whatever n: row i is then computed
 * the same way (its noise, the products' blocking) for every n >= i + 1,
 * so that -n does not change a row. */
#define SAMPLE_CHUNK 1000

/* "FILE has no model 'gann' (did you mean 'gan'? it has vae, gan)". */
static gm_status no_such_model(const char *path, const char *model,
                               const gm_runfile_index *idx, gm_error *err) {
    const char *names[GM_MAX_LISTED_MODELS];
    char list[256] = "";
    int n = 0;
    for (; n < idx->n_models && n < GM_MAX_LISTED_MODELS; n++) {
        names[n] = idx->models[n].name;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "",
                 names[n]);
    }
    const char *near = gm_cfg_suggest(model, names, n);
    char hint[96] = "";
    if (near) snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
    return gm_error_set(err, GM_ERR_NOT_FOUND,
                        "%s has no model '%s' (%sit has %s)", path, model, hint,
                        n ? list : "none");
}

static gm_status find_seed(const char *path, const char *model, bool has_seed,
                           uint64_t *seed, gm_error *err) {
    gm_runfile_index idx;
    gm_status s = gm_runfile_list_models(path, &idx, err);
    if (s != GM_OK) return s;
    s = no_such_model(path, model, &idx, err);
    for (int i = 0; i < idx.n_models; i++) {
        gm_runfile_model *m = &idx.models[i];
        if (strcmp(m->name, model) != 0) continue;
        if (has_seed)
            s = gm_error_set(err, GM_ERR_NOT_FOUND,
                             "%s: model '%s' has no checkpoint for seed %llu",
                             path, model, (unsigned long long)*seed);
        else
            s = gm_error_set(err, GM_ERR_NOT_FOUND,
                             "%s: model '%s' has no checkpoint yet (its runs "
                             "stopped before their first)",
                             path, model);
        for (int k = 0; k < m->n_seeds; k++) {
            if ((has_seed && m->seeds[k].seed != *seed) ||
                !m->seeds[k].has_checkpoint)
                continue;
            *seed = m->seeds[k].seed;
            gm_error_clear(err);
            s = GM_OK;
            break;
        }
    }
    gm_runfile_index_clear(&idx);
    return s;
}

/* The parameters of the run's last checkpoint (the final one for a
 * finished run). */
static gm_status load_params(const char *path, const char *model,
                             uint64_t seed, gm_model *m, gm_error *err) {
    gm_state *state = gm_state_create();
    if (!state) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_status s = gm_runfile_read_state(path, model, seed, state, err);
    if (s == GM_OK) s = gm_model_load_params(m, state, err);
    gm_state_free(state);
    return s;
}

/* The objective by name when the registry has it (built in, or loaded
 * with --plugin), else from the model's own plugin: path. */
static const gm_objective_schema *known_first(const char *objective,
                                              const char *plugin, void *ctx,
                                              gm_error *err) {
    const gm_objective *o = gm_registry_find(ctx, objective, NULL, NULL);
    if (o) return &o->schema;
    return gm_registry_schema(objective, plugin, ctx, err);
}

gm_status gm_sample_from_run(const char *path, const char *model,
                             bool has_seed, uint64_t seed, bool has_noise_seed,
                             uint64_t noise_seed, int n, gm_registry *reg,
                             float **out, int *dim, gm_error *err) {
    *out = NULL;
    if (n < 1) return gm_error_set(err, GM_ERR_INVALID, "n must be >= 1");
    gm_status s = find_seed(path, model, has_seed, &seed, err);
    if (s != GM_OK) return s;
    gm_runfile_info info;
    s = gm_runfile_read_info(path, &info, err);
    if (s != GM_OK) return s;
    gm_experiment e;
    s = gm_config_load_model(&e, info.config_yaml ? info.config_yaml : "", path,
                             model, known_first, reg, err);
    gm_runfile_info_clear(&info);
    if (s != GM_OK) return s;
    const gm_model_spec *spec = NULL;
    for (int i = 0; i < e.n_models; i++)
        if (strcmp(e.models[i].name, model) == 0) spec = &e.models[i];
    gm_rng data = gm_rng_stream(seed, "data");
    gm_rng init = gm_rng_stream(seed, "init");
    gm_rng noise = gm_rng_stream(has_noise_seed ? noise_seed : seed, "sample");
    gm_dataset *d = spec ? gm_dataset_create(&e.dataset, &data, err) : NULL;
    gm_model *m = NULL;
    if (!spec) s = gm_error_set(err, GM_ERR_NOT_FOUND,
                                "%s: config has no model '%s'", path, model);
    else if (!d) s = err->status;
    if (s == GM_OK) {
        const gm_objective *o =
            gm_registry_find(reg, spec->objective, NULL, NULL);
        if (!o) o = gm_registry_find(reg, spec->objective, spec->plugin, err);
        gm_build_ctx ctx = {.spec = spec,
                            .data_dim = gm_dataset_dim(d),
                            .batch_size = spec->train.batch_size,
                            .sample_count = SAMPLE_CHUNK,
                            .data = d,
                            .seed = seed,
                            .init = &init,
                            .noise = &noise};
        m = o ? gm_model_create(o, &ctx, err) : NULL;
        s = m ? load_params(path, model, seed, m, err) : err->status;
        if (s == GM_OK && !m->samples)
            s = gm_error_set(err, GM_ERR_INVALID,
                             "%s: model '%s' (objective %s) does not "
                             "generate data: it has no sampler to draw from",
                             path, model, spec->objective);
    }
    float *chunk = NULL;
    if (s == GM_OK) {
        *dim = m->data_dim;
        size_t row = (size_t)m->data_dim;
        *out = malloc((size_t)n * row * sizeof **out);
        chunk = malloc(SAMPLE_CHUNK * row * sizeof *chunk);
        if (!*out || !chunk) {
            free(*out);
            *out = NULL;
            s = gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        }
        for (int drawn = 0; s == GM_OK && drawn < n; drawn += SAMPLE_CHUNK) {
            int rows = n - drawn < SAMPLE_CHUNK ? n - drawn : SAMPLE_CHUNK;
            gm_model_sample(m, chunk);
            memcpy(*out + (size_t)drawn * row, chunk,
                   (size_t)rows * row * sizeof *chunk);
        }
    }
    free(chunk);
    gm_model_free(m);
    gm_dataset_free(d);
    gm_experiment_clear(&e);
    return s;
}
