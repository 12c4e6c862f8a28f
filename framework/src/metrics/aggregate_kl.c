/* The marginal KL(q(z) || p(z)) of a mixture of diagonal Gaussians at one
 * draw per component (gm/aggregate_kl.h). Every pair's log-density comes
 * from one product: with precision p = exp(-logvar),
 *   sum_d p_d (z_d - mu_d)^2 = [z^2, z] . [p, -2 mu p] + sum_d mu_d^2 p_d,
 * in double, since a posterior of variance 1e-8 makes these terms 1e8
 * times larger than their sum. */
#include "gm/aggregate_kl.h"

#include <cblas.h>
#include <math.h>

#include "simd/fastmath.h"

/* Draws per product: [BLOCK, n] log-densities at a time. */
#define BLOCK 256

/* log q(z_i | x_i), term by term. */
static double own_log_density(const float *mu, const float *logvar,
                              const float *z, int i, int dim) {
    double sum = 0.0;
    for (int d = 0; d < dim; d++) {
        size_t at = (size_t)i * dim + d;
        double diff = (double)z[at] - mu[at];
        sum += log(2.0 * M_PI) + logvar[at] + diff * diff * exp(-logvar[at]);
    }
    return -0.5 * sum;
}

size_t gm_aggregate_kl_workspace(int n, int dim) {
    /* weights [n, 2 dim], constants [n], draws [BLOCK, 2 dim], products
     * [BLOCK, n] */
    return (size_t)n * (2 * dim + 1) + (size_t)BLOCK * (2 * dim + n);
}

double gm_aggregate_kl(const float *mu, const float *logvar, const float *z,
                       int n, int dim, double *work) {
    const double log2pi = log(2.0 * M_PI);
    int k = 2 * dim;
    double *w = work, *c = w + (size_t)n * k, *zz = c + n, *s = zz + BLOCK * k;
    for (int m = 0; m < n; m++) {
        double cm = dim * log2pi;
        for (int d = 0; d < dim; d++) {
            size_t at = (size_t)m * dim + d;
            double p = exp(-(double)logvar[at]);
            w[(size_t)m * k + d] = p;
            w[(size_t)m * k + dim + d] = -2.0 * mu[at] * p;
            cm += logvar[at] + (double)mu[at] * mu[at] * p;
        }
        c[m] = cm;
    }
    double total = 0.0;
    for (int start = 0; start < n; start += BLOCK) {
        int rows = n - start < BLOCK ? n - start : BLOCK;
        for (int i = 0; i < rows; i++)
            for (int d = 0; d < dim; d++) {
                double v = z[(size_t)(start + i) * dim + d];
                zz[i * k + d] = v * v;
                zz[i * k + dim + d] = v;
            }
        /* s[i, m] = [z_i^2, z_i] . w_m */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, k, 1.0,
                    zz, k, w, k, 0.0, s, n);
        for (int i = 0; i < rows; i++) {
            double *si = s + (size_t)i * n, top = -INFINITY, sum = 0.0;
            for (int m = 0; m < n; m++)
                si[m] = -0.5 * (si[m] + c[m]); /* log q(z_i | x_m) */
            /* z_i's own component, where the expansion's cancellation
             * matters most (precisions of 1e20 and more), exactly. */
            si[start + i] = own_log_density(mu, logvar, z, start + i, dim);
            for (int m = 0; m < n; m++)
                top = si[m] > top ? si[m] : top;
            for (int m = 0; m < n; m++) /* float e^-x: vectorises */
                sum += gm_exp_nonpos((float)(si[m] - top));
            double log_q = top + log(sum) - log((double)n), log_p = 0.0;
            for (int d = 0; d < dim; d++) {
                double v = z[(size_t)(start + i) * dim + d];
                log_p -= 0.5 * (log2pi + v * v);
            }
            total += log_q - log_p;
        }
    }
    return total / n;
}
