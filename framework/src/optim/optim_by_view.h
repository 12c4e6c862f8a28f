/* An optimizer step taken view by view, for gm_optim_backward_step
 * (optim_backward.c), which updates each view of a group as soon as
 * backward has finished its gradient. The per-element arithmetic is
 * gm_optim_step's: only the order in which elements are visited differs,
 * so values and state come out the same, bit for bit. */
#ifndef GM_OPTIM_BY_VIEW_H
#define GM_OPTIM_BY_VIEW_H

#include "gm/optim.h"

gm_params *gm_optim_group(const gm_optim *o);

/* Whether o can step view by view: not when it clips, which needs the
 * whole gradient's norm before the first update. */
bool gm_optim_steps_by_view(const gm_optim *o);

/* Starts a step (Adam's bias correction for step count + 1); nothing is
 * updated yet, so a step begun and never ended changes nothing. */
void gm_optim_step_begin(gm_optim *o);

/* Updates view `index` of the group from its gradient, once per step
 * (later calls for the same view do nothing). */
void gm_optim_step_view(gm_optim *o, int index);

/* Updates the views not updated yet (Adam moves them through its moments
 * even with a zero gradient), counts the step and sets the gradient norm:
 * the views' sums of squares added in the order they were updated, which
 * may differ from gm_params_grad_norm in the last bits. */
void gm_optim_step_end(gm_optim *o);

#endif
