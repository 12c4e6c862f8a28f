/* Batch normalisation, as torch.nn.BatchNorm1d/2d: per channel (axis 1)
 * of x [N, C] or [N, C, H, W]. In training mode it normalises with the
 * batch's statistics and moves the running mean and variance towards
 * them; in evaluation mode it normalises with the running statistics. The
 * running statistics are inputs the op writes in training mode: they live
 * in a parameter group no optimizer updates (gm/nn.h keeps them in the
 * network's "<name>.stats" group), so checkpoints save them and every
 * graph of the model reads the same ones. */
#include <math.h>
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "simd/multiversion.h"
#include "op_table.h"

enum { BN_X, BN_GAMMA, BN_BETA, BN_MEAN, BN_VAR };

/* x viewed as [N, C, S]: S pixels per channel and sample. */
typedef struct bn_layout {
    int n, c;
    size_t s;
} bn_layout;

static bn_layout layout_of(const gm_node *n) {
    const gm_shape *x = &n->in[BN_X]->shape;
    bn_layout l = {x->dim[0], x->dim[1], 1};
    for (int d = 2; d < x->ndim; d++)
        l.s *= (size_t)x->dim[d];
    return l;
}

static bool is_channel_vector(const gm_shape *s, int c) {
    return s->ndim == 1 && s->dim[0] == c;
}

/* p[0]: momentum, p[1]: eps, p[2]: 1 in training mode. */
static gm_status bn_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *x = &n->in[BN_X]->shape;
    char sx[64], sv[64];
    if (x->ndim < 2)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "batch_norm: x %s must be [N, C] or [N, C, H, W]",
                            gm_shape_str(x, sx, sizeof sx));
    for (int i = BN_GAMMA; i <= BN_VAR; i++)
        if (!is_channel_vector(&n->in[i]->shape, x->dim[1]))
            return gm_error_set(
                err, GM_ERR_SHAPE,
                "batch_norm: x %s has %d channels but its %s is %s",
                gm_shape_str(x, sx, sizeof sx), x->dim[1],
                (const char *[]){"", "weight", "bias", "running mean",
                                 "running variance"}[i],
                gm_shape_str(&n->in[i]->shape, sv, sizeof sv));
    if (!(n->p[1] > 0.0f) || !(n->p[0] >= 0.0f && n->p[0] <= 1.0f))
        return gm_error_set(err, GM_ERR_SHAPE,
                            "batch_norm: momentum %g must be in [0, 1] and "
                            "eps %g > 0",
                            n->p[0], n->p[1]);
    *out = *x;
    return GM_OK;
}

/* Batch statistics where the op asks for them and its graph trains. */
static bool batch_statistics(const gm_node *n) {
    return n->p[2] != 0.0f && !n->graph->evaluating;
}

/* Per channel: mean and 1/sqrt(var + eps) in float, kept for backward;
 * two sums in double (4 floats' room); backward's mean(dy) and
 * mean(dy xhat) in float. */
static size_t bn_scratch(const gm_node *n) {
    return 8 * (size_t)n->in[BN_X]->shape.dim[1];
}

static double *bn_sums(const gm_node *n, bn_layout l) {
    return (double *)(n->scratch + 2 * (size_t)l.c);
}

static float *bn_grad_means(const gm_node *n, bn_layout l) {
    return n->scratch + 6 * (size_t)l.c;
}

/* The two sums per channel are taken in SUM_LANES partial sums per sample
 * and channel (vectorised: one running sum would wait on each add), or,
 * for x [N, C] (one value per sample and channel), channel by channel
 * across each row, each channel's values in sample order. */
enum { SUM_LANES = 16 };

/* sum of (v[i] - m) for m = 0, or of (v[i] - m)^2 when `squares`. */
static inline double lane_sum(const float *restrict v, size_t n, double m,
                              bool squares) {
    double acc[SUM_LANES] = {0}, s = 0.0;
    size_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++) {
            double d = v[i + k] - m;
            acc[k] += squares ? d * d : d;
        }
    for (; i < n; i++) {
        double d = v[i] - m;
        s += squares ? d * d : d;
    }
    for (int k = 0; k < SUM_LANES; k++)
        s += acc[k];
    return s;
}

/* out[c] = the sum over the batch of (x - m[c]) (m NULL: of x), or of its
 * square, per channel. */
GM_MULTIVERSION static void channel_moment(const float *restrict x, bn_layout l,
                                           const double *restrict m,
                                           bool squares, double *restrict out) {
    for (int c = 0; c < l.c; c++)
        out[c] = 0.0;
    for (int s = 0; s < l.n; s++) {
        const float *row = x + (size_t)s * l.c * l.s;
        if (l.s == 1) {
            for (int c = 0; c < l.c; c++) {
                double d = (double)row[c] - (m ? m[c] : 0.0);
                out[c] += squares ? d * d : d;
            }
            continue;
        }
        for (int c = 0; c < l.c; c++)
            out[c] +=
                lane_sum(row + (size_t)c * l.s, l.s, m ? m[c] : 0.0, squares);
    }
}

GM_MULTIVERSION static void bn_normalise(gm_node *n, bn_layout l) {
    const float *restrict x = n->in[BN_X]->data;
    const float *gamma = n->in[BN_GAMMA]->data, *beta = n->in[BN_BETA]->data;
    const float *mean = n->scratch, *inv_std = n->scratch + l.c;
    float *restrict y = n->data;
    for (int s = 0; s < l.n; s++)
        for (int c = 0; c < l.c; c++) {
            size_t at = ((size_t)s * l.c + c) * l.s;
            float scale = gamma[c] * inv_std[c], m = mean[c], b = beta[c];
            for (size_t i = 0; i < l.s; i++)
                y[at + i] = (x[at + i] - m) * scale + b;
        }
}

/* The batch's mean, then its biased variance from the mean (two passes:
 * no cancellation), in double. */
static void bn_forward(gm_node *n) {
    bn_layout l = layout_of(n);
    const float *x = n->in[BN_X]->data;
    float *run_mean = n->in[BN_MEAN]->data, *run_var = n->in[BN_VAR]->data;
    float momentum = n->p[0], eps = n->p[1];
    float *mean = n->scratch, *inv_std = n->scratch + l.c;
    double *sum = bn_sums(n, l), count = (double)l.n * (double)l.s;
    if (!batch_statistics(n)) {
        for (int c = 0; c < l.c; c++) {
            mean[c] = run_mean[c];
            inv_std[c] = 1.0f / sqrtf(run_var[c] + eps);
        }
        bn_normalise(n, l);
        return;
    }
    double *mean_d = sum, *sq = sum + l.c;
    channel_moment(x, l, NULL, false, sum);
    for (int c = 0; c < l.c; c++) {
        mean_d[c] = sum[c] / count;
        mean[c] = (float)mean_d[c];
    }
    channel_moment(x, l, mean_d, true, sq);
    for (int c = 0; c < l.c; c++) {
        double m = mean_d[c], v = sq[c] / count;
        inv_std[c] = (float)(1.0 / sqrt(v + eps));
        /* PyTorch's running variance is the unbiased one */
        double unbiased = count > 1.0 ? v * count / (count - 1.0) : v;
        run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * (float)m;
        run_var[c] =
            (1.0f - momentum) * run_var[c] + momentum * (float)unbiased;
    }
    bn_normalise(n, l);
}

/* Per channel: sum dy (a) and sum dy * xhat (b), xhat = (x - mean) / std,
 * in double, the same lanes and order as the forward sums. */
GM_MULTIVERSION static void channel_sums(const gm_node *n, bn_layout l,
                                         double *restrict a,
                                         double *restrict b) {
    const float *restrict x = n->in[BN_X]->data, *restrict dy = n->grad;
    const float *mean = n->scratch, *inv_std = n->scratch + l.c;
    for (int c = 0; c < l.c; c++)
        a[c] = b[c] = 0.0;
    if (l.s == 1) {
        for (int s = 0; s < l.n; s++)
            for (int c = 0; c < l.c; c++) {
                size_t at = (size_t)s * l.c + c;
                a[c] += dy[at];
                b[c] += dy[at] * (x[at] - mean[c]) * inv_std[c];
            }
        return;
    }
    for (int s = 0; s < l.n; s++)
        for (int c = 0; c < l.c; c++) {
            size_t at = ((size_t)s * l.c + c) * l.s;
            double sa[SUM_LANES] = {0}, sb[SUM_LANES] = {0}, ta = 0, tb = 0;
            float m = mean[c], r = inv_std[c];
            size_t i = 0;
            for (; i + SUM_LANES <= l.s; i += SUM_LANES)
                for (int k = 0; k < SUM_LANES; k++) {
                    float g = dy[at + i + k];
                    sa[k] += g;
                    sb[k] += g * (x[at + i + k] - m) * r;
                }
            for (; i < l.s; i++) {
                float g = dy[at + i];
                ta += g;
                tb += g * (x[at + i] - m) * r;
            }
            for (int k = 0; k < SUM_LANES; k++) {
                ta += sa[k];
                tb += sb[k];
            }
            a[c] += ta;
            b[c] += tb;
        }
}

/* dx = gamma / std (dy - [mean(dy) + xhat mean(dy xhat)] in training mode,
 * where the statistics depend on x), with md = mean(dy) and mdx =
 * mean(dy xhat) per channel (0 in evaluation mode). */
GM_MULTIVERSION static void bn_input_grad(gm_node *n, bn_layout l,
                                          const float *restrict md,
                                          const float *restrict mdx) {
    gm_node *x = n->in[BN_X];
    const float *restrict gamma = n->in[BN_GAMMA]->data;
    const float *restrict mean = n->scratch, *restrict inv_std =
                                                 n->scratch + l.c;
    bool fresh = x->grad_fresh;
    for (int s = 0; s < l.n; s++) {
        size_t row = (size_t)s * l.c * l.s;
        const float *restrict xv = x->data + row, *restrict dy = n->grad + row;
        float *restrict dx = x->grad + row;
        if (l.s == 1) { /* x [N, C]: across the row's channels */
            for (int c = 0; c < l.c; c++) {
                float r = inv_std[c];
                float g = gamma[c] * r *
                          (dy[c] - md[c] - (xv[c] - mean[c]) * r * mdx[c]);
                dx[c] = fresh ? g : dx[c] + g;
            }
            continue;
        }
        for (int c = 0; c < l.c; c++, xv += l.s, dy += l.s, dx += l.s) {
            float m = mean[c], r = inv_std[c], scale = gamma[c] * r;
            float a = md[c], b = mdx[c];
            if (fresh)
                for (size_t i = 0; i < l.s; i++)
                    dx[i] = scale * (dy[i] - a - (xv[i] - m) * r * b);
            else
                for (size_t i = 0; i < l.s; i++)
                    dx[i] += scale * (dy[i] - a - (xv[i] - m) * r * b);
        }
    }
}

static void bn_backward(gm_node *n) {
    bn_layout l = layout_of(n);
    gm_node *x = n->in[BN_X], *gamma = n->in[BN_GAMMA], *beta = n->in[BN_BETA];
    double *sum_dy = bn_sums(n, l), *sum_dy_xhat = sum_dy + l.c;
    channel_sums(n, l, sum_dy, sum_dy_xhat);
    for (int c = 0; c < l.c; c++) {
        if (gamma->grad)
            gamma->grad[c] = (float)sum_dy_xhat[c] +
                             (gamma->grad_fresh ? 0.0f : gamma->grad[c]);
        if (beta->grad)
            beta->grad[c] =
                (float)sum_dy[c] + (beta->grad_fresh ? 0.0f : beta->grad[c]);
    }
    if (!x->grad) return;
    bool training = batch_statistics(n);
    double count = (double)l.n * (double)l.s;
    float *md = bn_grad_means(n, l), *mdx = md + l.c;
    for (int c = 0; c < l.c; c++) {
        md[c] = training ? (float)(sum_dy[c] / count) : 0.0f;
        mdx[c] = training ? (float)(sum_dy_xhat[c] / count) : 0.0f;
    }
    bn_input_grad(n, l, md, mdx);
}

const gm_op_def gm_op_batch_norm = {
    .name = "batch_norm",
    .arity = 5,
    .shape = bn_shape,
    .forward = bn_forward,
    .backward = bn_backward,
    .scratch = bn_scratch,
    .flags = GM_OP_OVERWRITES,
};

gm_node *gm_batch_norm(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias,
                       gm_node *running_mean, gm_node *running_var,
                       bool training, float momentum, float eps) {
    gm_node *in[5] = {x, weight, bias, running_mean, running_var};
    float p[3] = {momentum, eps, training ? 1.0f : 0.0f};
    return gm_node_new(g, &gm_op_batch_norm, in, 5, p, 3);
}
