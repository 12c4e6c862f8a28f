/* Likelihoods and divergences, element-wise so that callers choose how to
 * reduce (per example, per batch). */
#include <math.h>

#include "elementwise.h"
#include "gm/ops.h"
#include "op_table.h"

#define LOG_2PI 1.8378770664093453f

/* bce(z, t) = max(z, 0) - z t + log1p(e^-|z|); d/dz = sigmoid(z) - t,
 * d/dt = -z. */
GM_MULTIVERSION
static void bce_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *z = n->in[0]->data, *t = n->in[1]->data;
    GM_BCAST_LOOP(l, {
        float zi = z[i0];
        y[i] = (zi < 0.0f ? 0.0f : zi) - zi * t[i1] +
               gm_log1p_unit(gm_exp_nonpos(-fabsf(zi)));
    });
}

GM_MULTIVERSION
static void bce_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *z = n->in[0]->data, *t = n->in[1]->data, *dy = n->grad;
    float *dz = n->in[0]->grad, *dt = n->in[1]->grad;
    if (dz)
        GM_BCAST_LOOP(l, {
            float zi = z[i0];
            float e = gm_exp_nonpos(-fabsf(zi));
            float s = zi >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
            dz[i0] += dy[i] * (s - t[i1]);
        });
    if (dt) GM_BCAST_LOOP(l, dt[i1] -= dy[i] * z[i0];);
}

static gm_status bce_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    char a[64], b[64];
    if (gm_bcast_kind(&n->in[1]->shape, &n->in[0]->shape) == GM_BCAST_NONE)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "bce_with_logits: targets %s do not broadcast to "
                            "logits %s",
                            gm_shape_str(&n->in[1]->shape, a, sizeof a),
                            gm_shape_str(&n->in[0]->shape, b, sizeof b));
    *out = n->in[0]->shape;
    return GM_OK;
}

const gm_op_def gm_op_bce_with_logits = {
    .name = "bce_with_logits",
    .arity = 2,
    .shape = bce_shape,
    .forward = bce_forward,
    .backward = bce_backward,
};

/* The output has x's shape; the other inputs broadcast to it. */
static gm_status like_x_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    for (int i = 1; i < n->n_in; i++) {
        char a[64], b[64];
        if (gm_bcast_kind(&n->in[i]->shape, &n->in[0]->shape) == GM_BCAST_NONE)
            return gm_error_set(err, GM_ERR_SHAPE,
                                "%s: input %d of shape %s does not broadcast "
                                "to %s",
                                n->def->name, i,
                                gm_shape_str(&n->in[i]->shape, a, sizeof a),
                                gm_shape_str(&n->in[0]->shape, b, sizeof b));
    }
    *out = n->in[0]->shape;
    return GM_OK;
}

/* nll = 0.5 (log 2pi + lv + (x - m)^2 e^-lv) */
GM_MULTIVERSION
static void gnll_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *x = n->in[0]->data, *m = n->in[1]->data, *lv = n->in[2]->data;
    GM_BCAST_LOOP(l, {
        float d = x[i0] - m[i1];
        y[i] = 0.5f * (LOG_2PI + lv[i2] + d * d * expf(-lv[i2]));
    });
}

GM_MULTIVERSION
static void gnll_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *x = n->in[0]->data, *m = n->in[1]->data, *lv = n->in[2]->data;
    const float *dy = n->grad;
    float *dx = n->in[0]->grad, *dm = n->in[1]->grad, *dlv = n->in[2]->grad;
    GM_BCAST_LOOP(l, {
        float d = x[i0] - m[i1], inv = expf(-lv[i2]);
        if (dx) dx[i0] += dy[i] * d * inv;
        if (dm) dm[i1] -= dy[i] * d * inv;
        if (dlv) dlv[i2] += dy[i] * 0.5f * (1.0f - d * d * inv);
    });
}

const gm_op_def gm_op_gaussian_nll = {
    .name = "gaussian_nll",
    .arity = 3,
    .shape = like_x_shape,
    .forward = gnll_forward,
    .backward = gnll_backward,
};

/* p[0]: the fixed log-variance. */
GM_MULTIVERSION
static void gnll_fixed_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *x = n->in[0]->data, *m = n->in[1]->data;
    float lv = n->p[0], inv = expf(-lv);
    GM_BCAST_LOOP(l, {
        float d = x[i0] - m[i1];
        y[i] = 0.5f * (LOG_2PI + lv + d * d * inv);
    });
}

GM_MULTIVERSION
static void gnll_fixed_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *x = n->in[0]->data, *m = n->in[1]->data, *dy = n->grad;
    float *dx = n->in[0]->grad, *dm = n->in[1]->grad, inv = expf(-n->p[0]);
    GM_BCAST_LOOP(l, {
        float d = x[i0] - m[i1];
        if (dx) dx[i0] += dy[i] * d * inv;
        if (dm) dm[i1] -= dy[i] * d * inv;
    });
}

const gm_op_def gm_op_gaussian_nll_fixed = {
    .name = "gaussian_nll_fixed",
    .arity = 2,
    .shape = like_x_shape,
    .forward = gnll_fixed_forward,
    .backward = gnll_fixed_backward,
};

/* kl = -0.5 (1 + lv - mu^2 - e^lv); d/dmu = mu, d/dlv = 0.5 (e^lv - 1) */
GM_MULTIVERSION
static void kl_forward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    float *y = n->data; /* a local: stores through n->data could alias n */
    const float *mu = n->in[0]->data, *lv = n->in[1]->data;
    GM_BCAST_LOOP(l, y[i] = -0.5f *
                            (1.0f + lv[i1] - mu[i0] * mu[i0] - expf(lv[i1])););
}

GM_MULTIVERSION
static void kl_backward(gm_node *n) {
    gm_bcast_layout l = gm_bcast_layout_of(n);
    const float *mu = n->in[0]->data, *lv = n->in[1]->data, *dy = n->grad;
    float *dmu = n->in[0]->grad, *dlv = n->in[1]->grad;
    if (dmu) GM_BCAST_LOOP(l, dmu[i0] += dy[i] * mu[i0];);
    if (dlv) GM_BCAST_LOOP(l, dlv[i1] += dy[i] * 0.5f * (expf(lv[i1]) - 1.0f););
}

const gm_op_def gm_op_kl_normal_std = {
    .name = "kl_normal_std",
    .arity = 2,
    .shape = like_x_shape,
    .forward = kl_forward,
    .backward = kl_backward,
};

/* Softmax cross-entropy of logits z [N, K] against class labels y [N] or
 * [N, 1] (class indices stored as floats): loss_i = lse(z_i) - z_i[y_i],
 * [N, 1]. The scratch keeps lse per row for backward, where
 * d/dz_ij = softmax(z_i)_j - [j == y_i]. A label outside 0..K-1 gives a NaN
 * loss (the trainer stops on it) rather than a read out of bounds. Labels
 * are classes, not values: no gradient flows to them. */
static gm_status softmax_ce_shape(const gm_node *n, gm_shape *out,
                                  gm_error *err) {
    const gm_shape *z = &n->in[0]->shape, *y = &n->in[1]->shape;
    char a[64], b[64];
    int rows = gm_shape_rows(z);
    bool labels_ok = (y->ndim == 1 && y->dim[0] == rows) ||
                     (y->ndim == 2 && y->dim[0] == rows && y->dim[1] == 1);
    if (z->ndim != 2 || !labels_ok)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "softmax_cross_entropy: logits %s must be "
                            "[rows, classes] and labels %s [rows] or "
                            "[rows, 1]",
                            gm_shape_str(z, a, sizeof a),
                            gm_shape_str(y, b, sizeof b));
    return gm_shape_make(out, (int[]){rows, 1}, 2) ? GM_OK : GM_ERR_SHAPE;
}

static size_t softmax_ce_scratch(const gm_node *n) {
    return (size_t)gm_shape_rows(&n->in[0]->shape);
}

/* The label of row r as an index in 0..k-1, or -1. */
static int class_of(float label, int k) {
    return label >= 0.0f && label < (float)k && label == floorf(label)
               ? (int)label
               : -1;
}

GM_MULTIVERSION
static void softmax_ce_forward(gm_node *n) {
    const float *z = n->in[0]->data, *y = n->in[1]->data;
    int rows = gm_shape_rows(&n->in[0]->shape);
    int k = gm_shape_cols(&n->in[0]->shape);
    for (int r = 0; r < rows; r++) {
        const float *row = z + (size_t)r * k;
        float lse = gm_logsumexp_row(row, (size_t)k);
        int label = class_of(y[r], k);
        n->scratch[r] = lse;
        n->data[r] = label < 0 ? NAN : lse - row[label];
    }
}

GM_MULTIVERSION
static void softmax_ce_backward(gm_node *n) {
    float *dz = n->in[0]->grad;
    if (!dz) return;
    const float *z = n->in[0]->data, *y = n->in[1]->data;
    int rows = gm_shape_rows(&n->in[0]->shape);
    int k = gm_shape_cols(&n->in[0]->shape);
    for (int r = 0; r < rows; r++) {
        size_t at = (size_t)r * k;
        float dy = n->grad[r], lse = n->scratch[r];
        for (int c = 0; c < k; c++)
            dz[at + c] += dy * expf(z[at + c] - lse);
        int label = class_of(y[r], k);
        if (label >= 0) dz[at + label] -= dy;
    }
}

const gm_op_def gm_op_softmax_cross_entropy = {
    .name = "softmax_cross_entropy",
    .arity = 2,
    .shape = softmax_ce_shape,
    .forward = softmax_ce_forward,
    .backward = softmax_ce_backward,
    .scratch = softmax_ce_scratch,
};

gm_node *gm_bce_with_logits(gm_graph *g, gm_node *logits, gm_node *targets) {
    gm_node *in[2] = {logits, targets};
    return gm_node_new(g, &gm_op_bce_with_logits, in, 2, NULL, 0);
}

gm_node *gm_gaussian_nll(gm_graph *g, gm_node *x, gm_node *mean,
                         gm_node *logvar) {
    gm_node *in[3] = {x, mean, logvar};
    return gm_node_new(g, &gm_op_gaussian_nll, in, 3, NULL, 0);
}

gm_node *gm_gaussian_nll_fixed(gm_graph *g, gm_node *x, gm_node *mean,
                               float logvar) {
    gm_node *in[2] = {x, mean};
    return gm_node_new(g, &gm_op_gaussian_nll_fixed, in, 2, &logvar, 1);
}

gm_node *gm_kl_normal_std(gm_graph *g, gm_node *mu, gm_node *logvar) {
    gm_node *in[2] = {mu, logvar};
    return gm_node_new(g, &gm_op_kl_normal_std, in, 2, NULL, 0);
}

gm_node *gm_softmax_cross_entropy(gm_graph *g, gm_node *logits,
                                  gm_node *labels) {
    gm_node *in[2] = {logits, labels};
    return gm_node_new(g, &gm_op_softmax_cross_entropy, in, 2, NULL, 0);
}
