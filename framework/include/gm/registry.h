/* gm/registry.h: the objectives a run can use.
 *
 * A registry holds objectives added with gm_registry_add (the gm command's
 * built-ins, from its own library libgm_models: libgm knows no objective)
 * and those loaded from shared libraries (`plugin:` in YAML, `gm run
 * --plugin`). A plugin library exports
 * `const gm_objective *gm_objective_entry(void)` (see gm/objective.h); it
 * stays loaded until the registry is freed. A name means one objective:
 * neither kind can replace one already there. */
#ifndef GM_REGISTRY_H
#define GM_REGISTRY_H

#include "gm/api.h"
#include "gm/objective.h"

GM_API_BEGIN

typedef struct gm_registry gm_registry;

/* An empty registry; NULL if out of memory. */
gm_registry *gm_registry_create(void);
void gm_registry_free(gm_registry *r);

/* Adds an objective: the built-ins come in this way, and a library's
 * through gm_registry_load. Refused, naming it, if its abi is not
 * GM_OBJECTIVE_ABI, it lacks a name or a build function, or its name is
 * taken (the message says by a built-in or by which plugin). */
gm_status gm_registry_add(gm_registry *r, const gm_objective *o, gm_error *err);

/* Loads the objective of the shared library at `path` (once per path).
 * Errors name the path: missing file, no gm_objective_entry, an ABI other
 * than GM_OBJECTIVE_ABI, a name already taken (a plugin cannot replace a
 * built-in objective: add the built-ins first). */
const gm_objective *gm_registry_load(gm_registry *r, const char *path,
                                     gm_error *err);

/* The objective called `name`, loading `plugin` first unless it is NULL or
 * "". NULL with err set if there is none. */
const gm_objective *gm_registry_find(gm_registry *r, const char *name,
                                     const char *plugin, gm_error *err);

/* gm_registry_find as a gm_schema_lookup (ctx is the registry). */
const gm_objective_schema *gm_registry_schema(const char *name,
                                              const char *plugin, void *ctx,
                                              gm_error *err);

/* The absolute path of the library that provided `objective`, or NULL for
 * a built-in (or an unknown name). */
const char *gm_registry_plugin_path(const gm_registry *r,
                                    const char *objective);

int gm_registry_count(const gm_registry *r);
const gm_objective *gm_registry_at(const gm_registry *r, int index);

GM_API_END

#endif
