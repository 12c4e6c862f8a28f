/* The built-in objectives (libgm_models), one row each in builtin.c's
 * table. libgm itself knows no objective; the gm command and the tests
 * get these from here, added to a registry through gm_registry_add, the
 * door every objective goes through (tests take their lists of objectives
 * from such a registry). */
#ifndef GM_MODELS_BUILTIN_H
#define GM_MODELS_BUILTIN_H

#include "gm/registry.h"

/* A registry holding the built-in objectives, before any plugin is loaded
 * into it (so that no plugin can take a built-in's name); NULL if out of
 * memory. */
gm_registry *gm_builtin_registry(void);

#endif
