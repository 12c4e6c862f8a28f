/* gm/aggregate_kl.h: the marginal KL of ELBO surgery (Hoffman and Johnson,
 * 2016). The rate of a VAE splits as
 *   E_x KL(q(z|x) || p(z)) = I_q(x; z) + KL(q(z) || p(z))
 * with q(z) the aggregate posterior. Over N held-out rows, q(z) is the
 * mixture of their N diagonal Gaussian posteriors, and
 *   KL(q(z) || p(z)) ~ mean over n of log q(z_n) - log N(z_n; 0, I),
 *   log q(z) = logsumexp_m log q(z | x_m) - log N,
 * with z_n one draw from q(z | x_n). The estimate is of the KL of the
 * N-row mixture: I_q of it is at most log N, so a rate far above log N
 * shows up as marginal KL (docs/metrics.md states the bias). */
#ifndef GM_AGGREGATE_KL_H
#define GM_AGGREGATE_KL_H

#include <stddef.h>

#include "gm/api.h"

GM_API_BEGIN

/* Doubles of workspace gm_aggregate_kl needs for n rows of dim. */
size_t gm_aggregate_kl_workspace(int n, int dim);

/* KL(q(z) || p(z)) in nats, q the mixture of N(mu[m], exp(logvar[m]))
 * over m < n, estimated at the draws z [n, dim] (z[m] from component m);
 * mu, logvar and z are [n, dim] row-major. `work` holds
 * gm_aggregate_kl_workspace(n, dim) doubles. Allocates nothing. */
double gm_aggregate_kl(const float *mu, const float *logvar, const float *z,
                       int n, int dim, double *work);

GM_API_END

#endif
