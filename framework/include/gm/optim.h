/* gm/optim.h: optimizers over one parameter group.
 *
 * An optimizer updates every float of its group from the group's gradient
 * buffer. The update rules follow torch.optim (SGD with momentum and
 * weight decay, Adam with L2 weight decay, AdamW with decoupled decay), so
 * settings carry over from PyTorch code. */
#ifndef GM_OPTIM_H
#define GM_OPTIM_H

#include "gm/params.h"
#include "gm/state.h"
#include "gm/status.h"

typedef enum gm_optim_kind {
    GM_OPTIM_SGD,
    GM_OPTIM_ADAM,
    GM_OPTIM_ADAMW,
    GM_OPTIM_KIND_COUNT
} gm_optim_kind;

typedef struct gm_optim_config {
    gm_optim_kind kind;
    float lr;
    float momentum;     /* SGD */
    float beta1, beta2; /* Adam */
    float eps;          /* Adam */
    float weight_decay;
    float clip_norm; /* > 0: rescale gradients whose L2 norm exceeds it */
} gm_optim_config;

typedef struct gm_optim gm_optim;

/* The PyTorch defaults for `kind` (lr 1e-3 for Adam, 1e-2 for SGD). */
gm_optim_config gm_optim_defaults(gm_optim_kind kind);

/* "sgd", "adam", "adamw" -> false if unknown. */
bool gm_optim_kind_parse(const char *name, gm_optim_kind *out);
const char *gm_optim_kind_name(gm_optim_kind kind);

/* An optimizer for `group` (which it locks); NULL with err set on a bad
 * setting or out of memory. */
gm_optim *gm_optim_create(gm_params *group, const gm_optim_config *cfg,
                          gm_error *err);
void gm_optim_free(gm_optim *o);

/* One update from the current gradients (clipped first if asked). */
void gm_optim_step(gm_optim *o);

/* Steps taken so far (Adam's bias correction depends on it). */
long gm_optim_step_count(const gm_optim *o);
void gm_optim_set_step_count(gm_optim *o, long steps);

/* The gradient norm before clipping, as of the last step (NaN or Inf if
 * a gradient was not finite: the trainer checks it). */
double gm_optim_last_grad_norm(const gm_optim *o);

void gm_optim_set_lr(gm_optim *o, float lr);
const gm_optim_config *gm_optim_config_of(const gm_optim *o);

/* State buffers for checkpoints, numel(group) floats each: slot 0 is SGD's
 * momentum or Adam's first moment, slot 1 Adam's second moment. NULL for a
 * slot the optimizer does not have. */
float *gm_optim_state(gm_optim *o, int slot);

/* The optimizer's state as records under `prefix` of a run state:
 * step_count, and m and v (Adam, AdamW) or momentum (SGD) as f32 [numel].
 * Loading needs an optimizer of the same kind over a group of the same
 * size. */
gm_status gm_optim_save_state(const gm_optim *o, gm_state *s,
                              const char *prefix, gm_error *err);
gm_status gm_optim_load_state(gm_optim *o, const gm_state *s,
                              const char *prefix, gm_error *err);

#endif
