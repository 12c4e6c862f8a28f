/* gm/optim.h: optimizers over one parameter group.
 *
 * An optimizer updates every float of its group from the group's gradient
 * buffer. The update rules follow torch.optim (SGD with momentum and
 * weight decay, Adam with L2 weight decay, AdamW with decoupled decay,
 * RMSprop with L2 weight decay and momentum, not centered), so settings
 * carry over from PyTorch code. */
#ifndef GM_OPTIM_H
#define GM_OPTIM_H

#include "gm/api.h"
#include "gm/graph.h"
#include "gm/params.h"
#include "gm/state.h"
#include "gm/status.h"

GM_API_BEGIN

typedef enum gm_optim_kind {
    GM_OPTIM_SGD,
    GM_OPTIM_ADAM,
    GM_OPTIM_ADAMW,
    GM_OPTIM_RMSPROP,
    GM_OPTIM_KIND_COUNT
} gm_optim_kind;

typedef struct gm_optim_config {
    gm_optim_kind kind;
    float lr;
    float momentum;     /* SGD, RMSprop */
    float beta1, beta2; /* Adam */
    float eps;          /* Adam, RMSprop */
    float weight_decay;
    float clip_norm; /* > 0: rescale gradients whose L2 norm exceeds it */
    float alpha;     /* RMSprop: the squared gradients' smoothing */
} gm_optim_config;

typedef struct gm_optim gm_optim;

/* The PyTorch defaults for `kind` (lr 1e-3 for Adam, 1e-2 for SGD and
 * RMSprop, alpha 0.99, eps 1e-8). */
gm_optim_config gm_optim_defaults(gm_optim_kind kind);

/* "sgd", "adam", "adamw", "rmsprop" -> false if unknown. */
bool gm_optim_kind_parse(const char *name, gm_optim_kind *out);
const char *gm_optim_kind_name(gm_optim_kind kind);

/* An optimizer for `group` (which it locks); NULL with err set on a bad
 * setting or out of memory. */
gm_optim *gm_optim_create(gm_params *group, const gm_optim_config *cfg,
                          gm_error *err);
void gm_optim_free(gm_optim *o);

/* One update from the current gradients (clipped first if asked). */
void gm_optim_step(gm_optim *o);

/* Backward through g from loss, then one step of each of the n
 * optimizers: the values and state that gm_graph_backward followed by
 * gm_optim_step on each give, bit for bit, but faster. Each view is
 * updated during backward as soon as its gradient is final, while that
 * gradient is still in cache, instead of in a pass over the whole group
 * afterwards. Views the loss does not reach are updated after backward
 * (Adam moves them through its moments), and so is the whole group of an
 * optimizer that clips, which needs the norm of the whole gradient first.
 * Each group may appear once, and this backward must be the last to add
 * to its gradient before the step. A group stepped view by view has its
 * gradient norm summed view by view: gm_optim_last_grad_norm may differ
 * from gm_params_grad_norm in the last bits. On an error nothing is
 * updated. */
gm_status gm_optim_backward_step(gm_optim *const *optims, int n, gm_graph *g,
                                 gm_node *loss, gm_error *err);

/* Steps taken so far (Adam's bias correction depends on it). */
long gm_optim_step_count(const gm_optim *o);
void gm_optim_set_step_count(gm_optim *o, long steps);

/* The gradient norm before clipping, as of the last step (NaN or Inf if
 * a gradient was not finite: the trainer checks it). */
double gm_optim_last_grad_norm(const gm_optim *o);

void gm_optim_set_lr(gm_optim *o, float lr);
const gm_optim_config *gm_optim_config_of(const gm_optim *o);

/* State buffers for checkpoints, numel(group) floats each: slot 0 is SGD's
 * or RMSprop's momentum or Adam's first moment, slot 1 Adam's second
 * moment or RMSprop's mean square (square_avg). NULL for a slot the
 * optimizer does not have. */
float *gm_optim_state(gm_optim *o, int slot);

/* The optimizer's state as records under `prefix` of a run state:
 * step_count, and m and v (Adam, AdamW), momentum (SGD) or square_avg and
 * momentum (RMSprop) as f32 [numel].
 * Loading needs an optimizer of the same kind over a group of the same
 * size. */
gm_status gm_optim_save_state(const gm_optim *o, gm_state *s,
                              const char *prefix, gm_error *err);
gm_status gm_optim_load_state(gm_optim *o, const gm_state *s,
                              const char *prefix, gm_error *err);

GM_API_END

#endif
