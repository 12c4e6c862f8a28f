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
#include "graph_internal.h"
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

/* mean [C] then 1/sqrt(var + eps) [C], kept for backward */
static size_t bn_scratch(const gm_node *n) {
    return 2 * (size_t)n->in[BN_X]->shape.dim[1];
}

/* The batch's mean and biased variance of channel c, in double. */
static void batch_moments(const float *x, bn_layout l, int c, double *mean,
                          double *var) {
    double sum = 0.0, sq = 0.0;
    for (int s = 0; s < l.n; s++) {
        const float *v = x + ((size_t)s * l.c + c) * l.s;
        for (size_t i = 0; i < l.s; i++)
            sum += v[i];
    }
    double count = (double)l.n * (double)l.s, m = sum / count;
    for (int s = 0; s < l.n; s++) {
        const float *v = x + ((size_t)s * l.c + c) * l.s;
        for (size_t i = 0; i < l.s; i++)
            sq += (v[i] - m) * (v[i] - m);
    }
    *mean = m;
    *var = sq / count;
}

static void bn_forward(gm_node *n) {
    bn_layout l = layout_of(n);
    const float *x = n->in[BN_X]->data, *gamma = n->in[BN_GAMMA]->data,
                *beta = n->in[BN_BETA]->data;
    float *run_mean = n->in[BN_MEAN]->data, *run_var = n->in[BN_VAR]->data;
    float momentum = n->p[0], eps = n->p[1];
    bool training = batch_statistics(n);
    float *mean = n->scratch, *inv_std = n->scratch + l.c;
    double count = (double)l.n * (double)l.s;
    for (int c = 0; c < l.c; c++) {
        if (training) {
            double m, v;
            batch_moments(x, l, c, &m, &v);
            mean[c] = (float)m;
            inv_std[c] = (float)(1.0 / sqrt(v + eps));
            /* PyTorch's running variance is the unbiased one */
            double unbiased = count > 1.0 ? v * count / (count - 1.0) : v;
            run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * (float)m;
            run_var[c] =
                (1.0f - momentum) * run_var[c] + momentum * (float)unbiased;
        } else {
            mean[c] = run_mean[c];
            inv_std[c] = 1.0f / sqrtf(run_var[c] + eps);
        }
    }
    for (int s = 0; s < l.n; s++)
        for (int c = 0; c < l.c; c++) {
            size_t at = ((size_t)s * l.c + c) * l.s;
            float scale = gamma[c] * inv_std[c], m = mean[c], b = beta[c];
            for (size_t i = 0; i < l.s; i++)
                n->data[at + i] = (x[at + i] - m) * scale + b;
        }
}

/* Per channel: sum dy and sum dy * xhat, xhat = (x - mean) / std. */
static void channel_sums(const gm_node *n, bn_layout l, int c, double *sum_dy,
                         double *sum_dy_xhat) {
    const float *x = n->in[BN_X]->data, *dy = n->grad;
    float mean = n->scratch[c], inv_std = n->scratch[l.c + c];
    double a = 0.0, b = 0.0;
    for (int s = 0; s < l.n; s++) {
        size_t at = ((size_t)s * l.c + c) * l.s;
        for (size_t i = 0; i < l.s; i++) {
            a += dy[at + i];
            b += dy[at + i] * (x[at + i] - mean) * inv_std;
        }
    }
    *sum_dy = a;
    *sum_dy_xhat = b;
}

/* dx = gamma / std (dy - [mean(dy) + xhat mean(dy xhat)] in training mode,
 * where the statistics depend on x). */
static void bn_backward(gm_node *n) {
    bn_layout l = layout_of(n);
    gm_node *x = n->in[BN_X], *gamma = n->in[BN_GAMMA], *beta = n->in[BN_BETA];
    bool training = batch_statistics(n);
    double count = (double)l.n * (double)l.s;
    for (int c = 0; c < l.c; c++) {
        double sum_dy, sum_dy_xhat;
        channel_sums(n, l, c, &sum_dy, &sum_dy_xhat);
        if (gamma->grad)
            gamma->grad[c] = (float)sum_dy_xhat +
                             (gamma->grad_fresh ? 0.0f : gamma->grad[c]);
        if (beta->grad)
            beta->grad[c] =
                (float)sum_dy + (beta->grad_fresh ? 0.0f : beta->grad[c]);
        if (!x->grad) continue;
        float mean = n->scratch[c], inv_std = n->scratch[l.c + c];
        float scale = gamma->data[c] * inv_std;
        float mean_dy = training ? (float)(sum_dy / count) : 0.0f;
        float mean_dy_xhat = training ? (float)(sum_dy_xhat / count) : 0.0f;
        for (int s = 0; s < l.n; s++) {
            size_t at = ((size_t)s * l.c + c) * l.s;
            const float *xv = x->data + at, *dy = n->grad + at;
            float *dx = x->grad + at;
            for (size_t i = 0; i < l.s; i++) {
                float xhat = (xv[i] - mean) * inv_std;
                float g = scale * (dy[i] - mean_dy - xhat * mean_dy_xhat);
                dx[i] = x->grad_fresh ? g : dx[i] + g;
            }
        }
    }
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
