/* Convolutions over NCHW images, as torch.nn.Conv2d and ConvTranspose2d:
 * one sample at a time, its patches unrolled into a column buffer
 * (im2col) so that the product is one OpenBLAS sgemm, and folded back
 * (col2im) where the product gives patches. The column buffer is the
 * node's scratch, planned at compile, so no step allocates. An optional
 * bias [C_out] is written into the output before the sgemm adds the
 * product (beta 1), as gm_affine does: no separate pass and no copy. */
#include <cblas.h>
#include <string.h>

#include "gm/ops.h"
#include "graph_internal.h"
#include "op_table.h"

/* One image's geometry and the kernel that slides over it: a [C, H, W]
 * image read by a kh x kw window every `stride` pixels, with `pad` zero
 * pixels around it, gives an [oh, ow] grid of patches. */
typedef struct conv_geometry {
    int c, h, w;
    int kh, kw, stride, pad;
    int oh, ow;
} conv_geometry;

/* col [C * kh * kw, oh * ow]: each column one patch of im [C, H, W]. */
static void im2col(const conv_geometry *q, const float *restrict im,
                   float *restrict col) {
    size_t cols = (size_t)q->oh * q->ow;
    for (int c = 0; c < q->c; c++)
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++) {
                float *row = col + ((size_t)(c * q->kh + i) * q->kw + j) * cols;
                const float *plane = im + (size_t)c * q->h * q->w;
                for (int y = 0; y < q->oh; y++) {
                    int iy = y * q->stride - q->pad + i;
                    float *out = row + (size_t)y * q->ow;
                    if (iy < 0 || iy >= q->h) {
                        memset(out, 0, (size_t)q->ow * sizeof(float));
                        continue;
                    }
                    const float *src = plane + (size_t)iy * q->w;
                    for (int x = 0; x < q->ow; x++) {
                        int ix = x * q->stride - q->pad + j;
                        out[x] = ix >= 0 && ix < q->w ? src[ix] : 0.0f;
                    }
                }
            }
}

/* im [C, H, W] += the patches of col [C * kh * kw, oh * ow] put back where
 * im2col took them (overlapping patches add). */
static void col2im_add(const conv_geometry *q, const float *restrict col,
                       float *restrict im) {
    size_t cols = (size_t)q->oh * q->ow;
    for (int c = 0; c < q->c; c++)
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++) {
                const float *row =
                    col + ((size_t)(c * q->kh + i) * q->kw + j) * cols;
                float *plane = im + (size_t)c * q->h * q->w;
                for (int y = 0; y < q->oh; y++) {
                    int iy = y * q->stride - q->pad + i;
                    if (iy < 0 || iy >= q->h) continue;
                    const float *in = row + (size_t)y * q->ow;
                    float *dst = plane + (size_t)iy * q->w;
                    for (int x = 0; x < q->ow; x++) {
                        int ix = x * q->stride - q->pad + j;
                        if (ix >= 0 && ix < q->w) dst[ix] += in[x];
                    }
                }
            }
}

static size_t patch_rows(const conv_geometry *q) {
    return (size_t)q->c * q->kh * q->kw;
}

/* y[n, c, :, :] = bias[c] for every sample, ready for sgemm's beta 1. */
/* Values per sample and channel of y [N, C, ...]. */
static size_t plane_of(const gm_node *y) {
    return y->numel / ((size_t)y->shape.dim[0] * (size_t)y->shape.dim[1]);
}

static void fill_bias(gm_node *y, const gm_node *bias) {
    int batch = y->shape.dim[0], ch = y->shape.dim[1];
    size_t plane = plane_of(y);
    float *out = y->data;
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < ch; c++, out += plane) {
            float b = bias ? bias->data[c] : 0.0f;
            for (size_t i = 0; i < plane; i++)
                out[i] = b;
        }
}

/* db[c] (+)= sum of dy over samples and pixels of channel c. */
static void bias_backward(const gm_node *y, gm_node *bias) {
    if (!bias || !bias->grad) return;
    int batch = y->shape.dim[0], ch = y->shape.dim[1];
    size_t plane = plane_of(y);
    if (bias->grad_fresh) memset(bias->grad, 0, (size_t)ch * sizeof(float));
    const float *dy = y->grad;
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < ch; c++, dy += plane) {
            float s = 0.0f;
            for (size_t i = 0; i < plane; i++)
                s += dy[i];
            bias->grad[c] += s;
        }
}

/* Output side of a convolution: floor((in + 2 pad - k) / stride) + 1. */
static int conv_out(int in, int k, int stride, int pad) {
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

/* Checks x [N, C, H, W], a 4-D weight, the optional bias [bias_len] and
 * the stride and padding (p[0], p[1]); fills kernel and channel sizes. */
static gm_status check_operands(const gm_node *n, const char *layout,
                                int w_in_axis, gm_error *err) {
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    char sx[64], sw[64], sb[64] = "none";
    int stride = (int)n->p[0], pad = (int)n->p[1];
    if (n->n_in < 2 || n->n_in > 3)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: takes x, weight and an optional bias, got %d "
                            "inputs",
                            n->def->name, n->n_in);
    const gm_shape *b = n->n_in == 3 ? &n->in[2]->shape : NULL;
    if (b) gm_shape_str(b, sb, sizeof sb);
    int c_out = w->ndim == 4 ? w->dim[1 - w_in_axis] : 0;
    bool ok = x->ndim == 4 && w->ndim == 4 && x->dim[1] == w->dim[w_in_axis] &&
              (!b || (b->ndim == 1 && b->dim[0] == c_out));
    if (!ok)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: x %s, weight %s and bias %s do not fit x [N, "
                            "C_in, H, W], weight %s, bias [C_out]",
                            n->def->name, gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(w, sw, sizeof sw), sb, layout);
    if (stride < 1 || pad < 0)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "%s: stride %d must be >= 1 and padding %d >= 0",
                            n->def->name, stride, pad);
    return GM_OK;
}

/* ---- conv2d ------------------------------------------------------------ */

/* The image read is the input, one sample of x. */
static conv_geometry conv2d_geometry(const gm_node *n) {
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    return (conv_geometry){.c = x->dim[1],
                           .h = x->dim[2],
                           .w = x->dim[3],
                           .kh = w->dim[2],
                           .kw = w->dim[3],
                           .stride = (int)n->p[0],
                           .pad = (int)n->p[1],
                           .oh = n->shape.dim[2],
                           .ow = n->shape.dim[3]};
}

static gm_status conv2d_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    gm_status st = check_operands(n, "[C_out, C_in, kH, kW]", 1, err);
    if (st != GM_OK) return st;
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    int stride = (int)n->p[0], pad = (int)n->p[1];
    int oh = conv_out(x->dim[2], w->dim[2], stride, pad);
    int ow = conv_out(x->dim[3], w->dim[3], stride, pad);
    char sx[64], sw[64];
    if (oh < 1 || ow < 1)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "conv2d: kernel %dx%d with padding %d does not fit "
                            "in x %s (weight %s)",
                            w->dim[2], w->dim[3], pad,
                            gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(w, sw, sizeof sw));
    gm_shape_make(out, (int[]){x->dim[0], w->dim[0], oh, ow}, 4);
    return GM_OK;
}

static size_t conv2d_scratch(const gm_node *n) {
    conv_geometry q = conv2d_geometry(n);
    return patch_rows(&q) * (size_t)q.oh * q.ow;
}

/* y[n] [C_out, oh*ow] = W [C_out, K] col [K, oh*ow] (+ bias), K = C kh kw */
static void conv2d_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv2d_geometry(n);
    int batch = x->shape.dim[0], c_out = n->shape.dim[1];
    int k = (int)patch_rows(&q), cols = q.oh * q.ow;
    size_t x_step = (size_t)q.c * q.h * q.w, y_step = (size_t)c_out * cols;
    fill_bias(n, n->n_in == 3 ? n->in[2] : NULL);
    for (int s = 0; s < batch; s++) {
        im2col(&q, x->data + s * x_step, n->scratch);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c_out, cols, k,
                    1.0f, w->data, k, n->scratch, cols, 1.0f,
                    n->data + s * y_step, cols);
    }
}

static void conv2d_backward(gm_node *n) {
    gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv2d_geometry(n);
    int batch = x->shape.dim[0], c_out = n->shape.dim[1];
    int k = (int)patch_rows(&q), cols = q.oh * q.ow;
    size_t x_step = (size_t)q.c * q.h * q.w, y_step = (size_t)c_out * cols;
    bias_backward(n, n->n_in == 3 ? n->in[2] : NULL);
    if (x->grad && x->grad_fresh) memset(x->grad, 0, x->numel * sizeof(float));
    for (int s = 0; s < batch; s++) {
        const float *dy = n->grad + s * y_step; /* [C_out, oh*ow] */
        if (w->grad) {                          /* dW [C_out, K] += dy col^T */
            im2col(&q, x->data + s * x_step, n->scratch);
            float beta = s == 0 && w->grad_fresh ? 0.0f : 1.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c_out, k, cols,
                        1.0f, dy, cols, n->scratch, cols, beta, w->grad, k);
        }
        if (x->grad) { /* dcol [K, oh*ow] = W^T dy, folded back into dx */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, c_out,
                        1.0f, w->data, k, dy, cols, 0.0f, n->scratch, cols);
            col2im_add(&q, n->scratch, x->grad + s * x_step);
        }
    }
}

const gm_op_def gm_op_conv2d = {
    .name = "conv2d",
    .arity = -1,
    .shape = conv2d_shape,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .scratch = conv2d_scratch,
    .flags = GM_OP_OVERWRITES,
};

/* ---- conv_transpose2d --------------------------------------------------- */

/* The image col2im folds into is the output, one sample of y: the
 * transposed convolution is conv2d's input gradient. */
static conv_geometry conv_transpose2d_geometry(const gm_node *n) {
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    return (conv_geometry){.c = w->dim[1],
                           .h = n->shape.dim[2],
                           .w = n->shape.dim[3],
                           .kh = w->dim[2],
                           .kw = w->dim[3],
                           .stride = (int)n->p[0],
                           .pad = (int)n->p[1],
                           .oh = x->dim[2],
                           .ow = x->dim[3]};
}

static gm_status conv_transpose2d_shape(const gm_node *n, gm_shape *out,
                                        gm_error *err) {
    gm_status st = check_operands(n, "[C_in, C_out, kH, kW]", 0, err);
    if (st != GM_OK) return st;
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    int stride = (int)n->p[0], pad = (int)n->p[1];
    int oh = (x->dim[2] - 1) * stride - 2 * pad + w->dim[2];
    int ow = (x->dim[3] - 1) * stride - 2 * pad + w->dim[3];
    char sx[64], sw[64];
    if (oh < 1 || ow < 1)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "conv_transpose2d: padding %d leaves no output for "
                            "x %s and weight %s",
                            pad, gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(w, sw, sizeof sw));
    gm_shape_make(out, (int[]){x->dim[0], w->dim[1], oh, ow}, 4);
    return GM_OK;
}

static size_t conv_transpose2d_scratch(const gm_node *n) {
    conv_geometry q = conv_transpose2d_geometry(n);
    return patch_rows(&q) * (size_t)q.oh * q.ow;
}

/* col [K, H*W] = W^T [K, C_in] x[n] [C_in, H*W], K = C_out kh kw, folded
 * into y[n] (which holds the bias). */
static void conv_transpose2d_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv_transpose2d_geometry(n);
    int batch = x->shape.dim[0], c_in = x->shape.dim[1];
    int k = (int)patch_rows(&q), cols = q.oh * q.ow;
    size_t x_step = (size_t)c_in * cols, y_step = (size_t)q.c * q.h * q.w;
    fill_bias(n, n->n_in == 3 ? n->in[2] : NULL);
    for (int s = 0; s < batch; s++) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, c_in,
                    1.0f, w->data, k, x->data + s * x_step, cols, 0.0f,
                    n->scratch, cols);
        col2im_add(&q, n->scratch, n->data + s * y_step);
    }
}

static void conv_transpose2d_backward(gm_node *n) {
    gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv_transpose2d_geometry(n);
    int batch = x->shape.dim[0], c_in = x->shape.dim[1];
    int k = (int)patch_rows(&q), cols = q.oh * q.ow;
    size_t x_step = (size_t)c_in * cols, y_step = (size_t)q.c * q.h * q.w;
    bias_backward(n, n->n_in == 3 ? n->in[2] : NULL);
    if (!x->grad && !w->grad) return;
    for (int s = 0; s < batch; s++) {
        /* dcol [K, H*W]: the patches of dy[n] */
        im2col(&q, n->grad + s * y_step, n->scratch);
        if (x->grad) { /* dx[n] [C_in, H*W] (+)= W dcol */
            float beta = x->grad_fresh ? 0.0f : 1.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c_in, cols,
                        k, 1.0f, w->data, k, n->scratch, cols, beta,
                        x->grad + s * x_step, cols);
        }
        if (w->grad) { /* dW [C_in, K] += x[n] dcol^T */
            float beta = s == 0 && w->grad_fresh ? 0.0f : 1.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c_in, k, cols,
                        1.0f, x->data + s * x_step, cols, n->scratch, cols,
                        beta, w->grad, k);
        }
    }
}

const gm_op_def gm_op_conv_transpose2d = {
    .name = "conv_transpose2d",
    .arity = -1,
    .shape = conv_transpose2d_shape,
    .forward = conv_transpose2d_forward,
    .backward = conv_transpose2d_backward,
    .scratch = conv_transpose2d_scratch,
    .flags = GM_OP_OVERWRITES,
};

static gm_node *conv_node(gm_graph *g, const gm_op_def *def, gm_node *x,
                          gm_node *weight, gm_node *bias, int stride,
                          int padding) {
    gm_node *in[3] = {x, weight, bias};
    float p[2] = {(float)stride, (float)padding};
    return gm_node_new(g, def, in, bias ? 3 : 2, p, 2);
}

gm_node *gm_conv2d(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias,
                   int stride, int padding) {
    return conv_node(g, &gm_op_conv2d, x, weight, bias, stride, padding);
}

gm_node *gm_conv_transpose2d(gm_graph *g, gm_node *x, gm_node *weight,
                             gm_node *bias, int stride, int padding) {
    return conv_node(g, &gm_op_conv_transpose2d, x, weight, bias, stride,
                     padding);
}

/* ---- bias_channels ------------------------------------------------------ */

/* y = x + bias[c] over channel c (axis 1) of x [N, C] or [N, C, H, W]:
 * the bias read in place, not broadcast into a tensor of x's shape. */
static gm_status bias_channels_shape(const gm_node *n, gm_shape *out,
                                     gm_error *err) {
    const gm_shape *x = &n->in[0]->shape, *b = &n->in[1]->shape;
    char sx[64], sb[64];
    if (x->ndim < 2 || b->ndim != 1 || b->dim[0] != x->dim[1])
        return gm_error_set(err, GM_ERR_SHAPE,
                            "bias_channels: x %s and bias %s do not fit x "
                            "[N, C, ...] and bias [C]",
                            gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(b, sb, sizeof sb));
    *out = *x;
    return GM_OK;
}

static void bias_channels_forward(gm_node *n) {
    const gm_node *x = n->in[0], *b = n->in[1];
    size_t plane = plane_of(n), rows = n->numel / plane;
    for (size_t r = 0; r < rows; r++) {
        float v = b->data[r % (size_t)n->shape.dim[1]];
        const float *in = x->data + r * plane;
        float *out = n->data + r * plane;
        for (size_t i = 0; i < plane; i++)
            out[i] = in[i] + v;
    }
}

static void bias_channels_backward(gm_node *n) {
    gm_node *x = n->in[0];
    bias_backward(n, n->in[1]);
    if (!x->grad) return;
    if (x->grad_fresh) {
        memcpy(x->grad, n->grad, n->numel * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n->numel; i++)
        x->grad[i] += n->grad[i];
}

const gm_op_def gm_op_bias_channels = {
    .name = "bias_channels",
    .arity = 2,
    .shape = bias_channels_shape,
    .forward = bias_channels_forward,
    .backward = bias_channels_backward,
    .flags = GM_OP_OVERWRITES,
};

gm_node *gm_bias_channels(gm_graph *g, gm_node *x, gm_node *bias) {
    gm_node *in[2] = {x, bias};
    return gm_node_new(g, &gm_op_bias_channels, in, 2, NULL, 0);
}
