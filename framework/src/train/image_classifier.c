/* Reading the classifier of eval.classifier from its run file: the
 * network from the file's own config_yaml, the image shape from /dataset,
 * the classes and the accuracy its run recorded, the parameters from its
 * last checkpoint (as gm sample rebuilds a model). */
#include <stdlib.h>
#include <string.h>

#include "gm/config.h"
#include "gm/image_modes.h"
#include "gm/runfile.h"

/* The schema of `objective` (loading `plugin` first unless NULL) if it
 * classifies, else NULL. */
static const gm_objective_schema *
classifying_schema(gm_registry *reg, const char *objective,
                   const char *plugin) {
    gm_error ignored = {0};
    const gm_objective *o =
        objective ? gm_registry_find(reg, objective, plugin, &ignored) : NULL;
    return o && o->schema.classifier_role ? &o->schema : NULL;
}

/* The classifier model of the index: `model`, or the only one whose
 * objective classifies (read_network checks a named one's). */
static gm_status pick_model(const char *path, const char *model,
                            const gm_runfile_index *idx, gm_registry *reg,
                            const gm_runfile_model **out, gm_error *err) {
    bool named = model && model[0];
    const gm_runfile_model *found = NULL;
    int classifiers = 0;
    for (int i = 0; i < idx->n_models; i++) {
        const gm_runfile_model *m = &idx->models[i];
        if (named) {
            if (strcmp(m->name, model) == 0) found = m;
        } else if (classifying_schema(reg, m->objective, NULL)) {
            classifiers++;
            if (!found) found = m;
        }
    }
    if (named && !found)
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "eval.classifier_model: %s has no model '%s'", path,
                            model);
    if (!found)
        return gm_error_set(err, GM_ERR_NOT_FOUND,
                            "eval.classifier: %s has no model of an "
                            "objective that classifies (one whose schema "
                            "declares classifier_role, as classifier does)",
                            path);
    if (classifiers > 1)
        return gm_error_set(err, GM_ERR_INVALID,
                            "eval.classifier: %s has %d classifier models; "
                            "name one with eval.classifier_model",
                            path, classifiers);
    *out = found;
    return GM_OK;
}

/* The network of the model's classifier_role, from the config. */
static gm_status read_network(gm_image_classifier *c, gm_registry *reg,
                              gm_error *err) {
    gm_runfile_info info;
    gm_status s = gm_runfile_read_info(c->path, &info, err);
    if (s != GM_OK) return s;
    gm_experiment e;
    s = gm_config_load_model(&e, info.config_yaml ? info.config_yaml : "",
                             c->path, c->model, gm_registry_schema, reg, err);
    gm_runfile_info_clear(&info);
    if (s != GM_OK) return s;
    const gm_model_spec *m = &e.models[0];
    const gm_objective_schema *schema =
        classifying_schema(reg, m->objective, m->plugin);
    if (!schema) {
        s = gm_error_set(err, GM_ERR_INVALID,
                         "eval.classifier_model: %s: model '%s' has "
                         "objective %s, which does not classify (its schema "
                         "declares no classifier_role)",
                         c->path, c->model, m->objective);
        gm_experiment_clear(&e);
        return s;
    }
    snprintf(c->role, sizeof c->role, "%s", schema->classifier_role);
    snprintf(c->accuracy_metric, sizeof c->accuracy_metric, "%s",
             schema->accuracy_metric ? schema->accuracy_metric : "");
    s = gm_error_set(err, GM_ERR_NOT_FOUND,
                     "eval.classifier: %s: no network '%s' in model '%s' of "
                     "its config",
                     c->path, c->role, c->model);
    for (int r = 0; r < m->n_networks; r++)
        if (strcmp(m->networks[r].role, c->role) == 0) {
            c->net = m->networks[r].net;
            gm_error_clear(err);
            s = GM_OK;
        }
    gm_experiment_clear(&e);
    return s;
}

/* The shape of the classifier's images and its classes, as its run file
 * recorded them. */
static gm_status read_shape(gm_image_classifier *c, gm_error *err) {
    static const char *const dims[3] = {"channels", "height", "width"};
    for (int i = 0; i < 3; i++) {
        double v;
        if (gm_runfile_read_number(c->path, "/dataset", dims[i], &v, err) !=
            GM_OK)
            return gm_error_set(err, GM_ERR_INVALID,
                                "eval.classifier: %s: model '%s' was not "
                                "trained on images (its /dataset has no %s)",
                                c->path, c->model, dims[i]);
        c->shape[i] = (int)v;
    }
    char obj[GM_MODEL_NAME_MAX + 16];
    snprintf(obj, sizeof obj, "/models/%s", c->model);
    double classes;
    gm_status s =
        gm_runfile_read_number(c->path, obj, "classes", &classes, err);
    if (s != GM_OK) return s;
    c->classes = (int)classes;
    return gm_runfile_read_last_metric(c->path, c->model, c->seed,
                                       c->accuracy_metric, &c->accuracy, err);
}

gm_image_classifier *gm_image_classifier_load(const char *path,
                                              const char *model,
                                              gm_registry *reg, gm_error *err) {
    gm_runfile_index idx;
    if (gm_runfile_list_models(path, &idx, err) != GM_OK) {
        gm_error inner = *err;
        gm_error_set(err, inner.status, "eval.classifier: %s", inner.message);
        return NULL;
    }
    gm_image_classifier *c = calloc(1, sizeof *c);
    const gm_runfile_model *m = NULL;
    gm_status s = c ? pick_model(path, model, &idx, reg, &m, err)
                    : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    if (s == GM_OK) {
        snprintf(c->path, sizeof c->path, "%s", path);
        snprintf(c->model, sizeof c->model, "%s", m->name);
        s = gm_error_set(err, GM_ERR_NOT_FOUND,
                         "eval.classifier: %s: model '%s' has no checkpoint "
                         "yet",
                         path, m->name);
        for (int k = m->n_seeds - 1; k >= 0; k--)
            if (m->seeds[k].has_checkpoint) {
                c->seed = m->seeds[k].seed;
                gm_error_clear(err);
                s = GM_OK;
            }
    }
    gm_runfile_index_clear(&idx);
    if (s == GM_OK) s = read_network(c, reg, err);
    if (s == GM_OK) s = read_shape(c, err);
    if (s == GM_OK && !(c->params = gm_state_create()))
        s = gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    if (s == GM_OK)
        s = gm_runfile_read_state(path, c->model, c->seed, c->params, err);
    if (s != GM_OK) {
        gm_image_classifier_free(c);
        return NULL;
    }
    return c;
}

void gm_image_classifier_free(gm_image_classifier *c) {
    if (!c) return;
    gm_state_free(c->params);
    free(c);
}
