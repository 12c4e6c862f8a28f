#include "gm/registry.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/plugin_file.h"

#define MAX_OBJECTIVES 64

struct gm_registry {
    const gm_objective *objectives[MAX_OBJECTIVES];
    int n;
    struct {
        char *path;
        void *handle;
        const gm_objective *objective;
    } plugins[MAX_OBJECTIVES];
    int n_plugins;
};

static const gm_objective *by_name(const gm_registry *r, const char *name);

static bool declares(const gm_objective_schema *s, const char *metric) {
    for (int i = 0; s->metrics && i < s->n_metrics; i++)
        if (s->metrics[i].name && strcmp(s->metrics[i].name, metric) == 0)
            return true;
    return false;
}

/* The schema's metric rows have names and units, and the metrics its
 * properties name (log_px, accuracy_metric) are among them. */
static gm_status check_metrics(const gm_objective_schema *s, const char *who,
                               gm_error *err) {
    for (int i = 0; i < s->n_metrics; i++)
        if (!s->metrics || !s->metrics[i].name || !s->metrics[i].unit)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: metric row %d of its schema lacks a "
                                "name or a unit",
                                who, i);
    if (s->log_px && !declares(s, s->log_px))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: its schema's log_px names '%s', which is "
                            "not among its metrics",
                            who, s->log_px);
    if (s->classifier_role &&
        !(s->accuracy_metric && declares(s, s->accuracy_metric)))
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: its schema's classifier_role needs an "
                            "accuracy_metric among its metrics (it names "
                            "'%s')",
                            who,
                            s->accuracy_metric ? s->accuracy_metric : "none");
    return GM_OK;
}

/* Refuses o, unless it can join r, with a message that starts with `who`
 * (the objective, or the plugin that brings it). */
static gm_status admit(const gm_registry *r, const gm_objective *o,
                       const char *who, gm_error *err) {
    if (o->abi != GM_OBJECTIVE_ABI)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: ABI version mismatch (built for %d, gm has "
                            "%d): rebuild it against this gm",
                            who, o->abi, GM_OBJECTIVE_ABI);
    if (!o->schema.name || !o->build)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: its objective lacks a name or a build "
                            "function",
                            who);
    gm_status s = check_metrics(&o->schema, who, err);
    if (s != GM_OK) return s;
    if (by_name(r, o->schema.name)) {
        /* No objective replaces another: the one a name means stays the
         * same whatever plugins are loaded. */
        const char *path = gm_registry_plugin_path(r, o->schema.name);
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: the objective name '%s' is taken by %s%s: "
                            "give the objective another name",
                            who, o->schema.name,
                            path ? "the plugin " : "a built-in objective",
                            path ? path : "");
    }
    if (r->n == MAX_OBJECTIVES)
        return gm_error_set(err, GM_ERR_INVALID, "%s: too many objectives",
                            who);
    return GM_OK;
}

gm_status gm_registry_add(gm_registry *r, const gm_objective *o,
                          gm_error *err) {
    if (!o) return gm_error_set(err, GM_ERR_INVALID, "no objective");
    char who[GM_NAME_MAX + 16];
    snprintf(who, sizeof who, "objective %s",
             o->schema.name ? o->schema.name : "(null)");
    gm_status s = admit(r, o, who, err);
    if (s == GM_OK) r->objectives[r->n++] = o;
    return s;
}

gm_registry *gm_registry_create(void) { return calloc(1, sizeof(gm_registry)); }

void gm_registry_free(gm_registry *r) {
    if (!r) return;
    for (int i = 0; i < r->n_plugins; i++) {
        dlclose(r->plugins[i].handle);
        free(r->plugins[i].path);
    }
    free(r);
}

static const gm_objective *by_name(const gm_registry *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->objectives[i]->schema.name, name) == 0)
            return r->objectives[i];
    return NULL;
}

typedef const gm_objective *(*entry_fn)(void);

const gm_objective *gm_registry_load(gm_registry *r, const char *path,
                                     gm_error *err) {
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    for (int i = 0; i < r->n_plugins; i++)
        if (strcmp(r->plugins[i].path, key) == 0)
            return r->plugins[i].objective;
    if (r->n_plugins == MAX_OBJECTIVES || r->n == MAX_OBJECTIVES) {
        gm_error_set(err, GM_ERR_INVALID, "%s: too many plugins", path);
        return NULL;
    }
    /* dlopen searches the library path for a bare name; a path with a
     * slash is taken as it is, and checked first. */
    if (strchr(path, '/') && gm_plugin_file_check(path, err) != GM_OK)
        return NULL;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        gm_error_set(err, GM_ERR_NOT_FOUND, "cannot load plugin %s: %s", path,
                     dlerror());
        return NULL;
    }
    entry_fn entry;
    /* POSIX's way of turning a dlsym result into a function pointer. */
    *(void **)&entry = dlsym(handle, "gm_objective_entry");
    const gm_objective *o = entry ? entry() : NULL;
    char who[PATH_MAX + 16];
    snprintf(who, sizeof who, "plugin %s", path);
    gm_status s;
    if (!entry)
        s = gm_error_set(err, GM_ERR_INVALID,
                         "%s: it has no gm_objective_entry function", who);
    else if (!o)
        s = gm_error_set(err, GM_ERR_INVALID,
                         "%s: gm_objective_entry returned NULL", who);
    else
        s = admit(r, o, who, err);
    if (s != GM_OK) {
        dlclose(handle);
        return NULL;
    }
    char *copy = strdup(key);
    if (!copy) {
        dlclose(handle);
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->plugins[r->n_plugins].path = copy;
    r->plugins[r->n_plugins].handle = handle;
    r->plugins[r->n_plugins++].objective = o;
    r->objectives[r->n++] = o;
    return o;
}

const gm_objective *gm_registry_find(gm_registry *r, const char *name,
                                     const char *plugin, gm_error *err) {
    if (plugin && *plugin) {
        const gm_objective *o = gm_registry_load(r, plugin, err);
        if (!o) return NULL;
        if (strcmp(o->schema.name, name) != 0) {
            gm_error_set(err, GM_ERR_NOT_FOUND,
                         "plugin %s provides objective '%s', not '%s'", plugin,
                         o->schema.name, name);
            return NULL;
        }
        return o;
    }
    const gm_objective *o = by_name(r, name);
    if (!o) {
        char known[512] = "";
        for (int i = 0; i < r->n; i++) {
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                     r->objectives[i]->schema.name);
        }
        gm_error_set(err, GM_ERR_NOT_FOUND,
                     "unknown objective '%s' (known: %s); an objective of a "
                     "plugin is loaded with --plugin LIB.so or the model's "
                     "plugin: key",
                     name, r->n ? known : "none");
    }
    return o;
}

const gm_objective_schema *gm_registry_schema(const char *name,
                                              const char *plugin, void *ctx,
                                              gm_error *err) {
    const gm_objective *o = gm_registry_find(ctx, name, plugin, err);
    return o ? &o->schema : NULL;
}

const char *gm_registry_plugin_path(const gm_registry *r,
                                    const char *objective) {
    for (int i = 0; i < r->n_plugins; i++)
        if (strcmp(r->plugins[i].objective->schema.name, objective) == 0)
            return r->plugins[i].path;
    return NULL;
}

int gm_registry_count(const gm_registry *r) { return r->n; }

const gm_objective *gm_registry_at(const gm_registry *r, int index) {
    return index >= 0 && index < r->n ? r->objectives[index] : NULL;
}
