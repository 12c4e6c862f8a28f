/* gm/params.h: parameter groups.
 *
 * Parameters live outside any graph, in groups: one flat float buffer for
 * the values and one for the gradients, with named views into them. An
 * optimizer is a loop over a group's n floats; a GAN's generator and
 * discriminator are two groups; the same group can feed any number of
 * graphs. A group's layout is fixed the first time a graph compiles against
 * it (or gm_params_lock is called); after that views cannot be added. */
#ifndef GM_PARAMS_H
#define GM_PARAMS_H

#include "gm/api.h"
#include "gm/rng.h"
#include "gm/state.h"
#include "gm/status.h"
#include "gm/tensor.h"

GM_API_BEGIN

typedef struct gm_params gm_params;

/* A named view into a group: values and gradients at the same offset. */
typedef struct gm_param_view {
    const char *name;
    gm_shape shape;
    size_t offset; /* in floats from the start of the group */
    size_t numel;
} gm_param_view;

/* An empty group named `name` (e.g. "generator"); NULL if out of memory. */
gm_params *gm_params_create(const char *name);
void gm_params_free(gm_params *p);

/* Adds a zero-initialised view; returns its index, or -1 with err set
 * (duplicate name, bad shape, locked group, out of memory). */
int gm_params_add(gm_params *p, const char *name, const int *shape, int ndim,
                  gm_error *err);

/* Fixes the layout: no more views can be added. */
void gm_params_lock(gm_params *p);
bool gm_params_locked(const gm_params *p);

const char *gm_params_name(const gm_params *p);
size_t gm_params_numel(const gm_params *p); /* total floats */
int gm_params_count(const gm_params *p);    /* number of views */
const gm_param_view *gm_params_view(const gm_params *p, int index);

/* Index of the view called `name`, or -1. */
int gm_params_find(const gm_params *p, const char *name);

/* The flat value and gradient buffers (numel floats each). */
float *gm_params_data(gm_params *p);
float *gm_params_grad(gm_params *p);
const float *gm_params_data_const(const gm_params *p);

/* Pointers to one view's values and gradients. */
float *gm_params_view_data(gm_params *p, int index);
float *gm_params_view_grad(gm_params *p, int index);

/* Sets every gradient to zero (once per step, before backward). */
void gm_params_zero_grad(gm_params *p);

/* A frozen copy: same layout and values, locked, named `name`. Use it as
 * "the previous generator" with gm_params_copy_values to refresh it. */
gm_params *gm_params_clone(const gm_params *src, const char *name,
                           gm_error *err);

/* Copies values from src into dst; the layouts must match. */
gm_status gm_params_copy_values(gm_params *dst, const gm_params *src,
                                gm_error *err);

/* The L2 norm of the gradient buffer. */
double gm_params_grad_norm(const gm_params *p);

/* True if every value and gradient is finite. */
bool gm_params_finite(const gm_params *p);

/* The group's values as records "<prefix>/<view>" of a run state, each
 * f32 in its view's shape. Loading needs a group with the same views;
 * the error names the first that differs. */
gm_status gm_params_save_state(const gm_params *p, gm_state *s,
                               const char *prefix, gm_error *err);
gm_status gm_params_load_state(gm_params *p, const gm_state *s,
                               const char *prefix, gm_error *err);

GM_API_END

#endif
