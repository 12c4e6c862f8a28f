/* The gradient norm's summation order, shared by gm_params_grad_norm and
 * the optimizer's fused pass so that both give the same value: squares
 * (exact in double) added into GM_GRAD_NORM_LANES partial sums, element i
 * into sum i % GM_GRAD_NORM_LANES for the full blocks; then the partial
 * sums in order; then the tail. Several partial sums vectorise into
 * independent chains of adds (one chain would wait on each add). */
#ifndef GM_GRAD_NORM_LANES_H
#define GM_GRAD_NORM_LANES_H

#include <stddef.h>

enum { GM_GRAD_NORM_LANES = 32 };

/* The sum of the squares of g[0..n) in the order above (params.c). */
double gm_sum_squares_in_lanes(const float *g, size_t n);

#endif
