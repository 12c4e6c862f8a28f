/* Matrix products, on OpenBLAS's cblas_sgemm. */
#include <cblas.h>
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "grad_build.h"
#include "simd/multiversion.h"
#include "op_table.h"

/* p[0], p[1]: whether a and b are transposed. */
static gm_status matmul_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *a = &n->in[0]->shape, *b = &n->in[1]->shape;
    char sa[64], sb[64];
    if (a->ndim != 2 || b->ndim != 2)
        return gm_error_set(
            err, GM_ERR_SHAPE, "matmul: operands must be 2-D, got %s and %s",
            gm_shape_str(a, sa, sizeof sa), gm_shape_str(b, sb, sizeof sb));
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = ta ? a->dim[1] : a->dim[0], ka = ta ? a->dim[0] : a->dim[1];
    int kb = tb ? b->dim[1] : b->dim[0], cols = tb ? b->dim[0] : b->dim[1];
    if (ka != kb)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "matmul: inner dimensions differ: %s%s @ %s%s",
                            gm_shape_str(a, sa, sizeof sa), ta ? "^T" : "",
                            gm_shape_str(b, sb, sizeof sb), tb ? "^T" : "");
    int dims[2] = {m, cols};
    gm_shape_make(out, dims, 2);
    return GM_OK;
}

static CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

/* C[M,N] = op(A)[M,K] op(B)[K,N] */
static void matmul_forward(gm_node *n) {
    const gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = n->shape.dim[0], cols = n->shape.dim[1];
    int k = ta ? a->shape.dim[0] : a->shape.dim[1];
    cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), m, cols, k, 1.0f, a->data,
                a->shape.dim[1], b->data, b->shape.dim[1], 0.0f, n->data, cols);
}

static void matmul_backward(gm_node *n) {
    gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = n->shape.dim[0], cols = n->shape.dim[1];
    int k = ta ? a->shape.dim[0] : a->shape.dim[1];
    int lda = a->shape.dim[1], ldb = b->shape.dim[1];
    const float *dc = n->grad;
    /* beta 0 overwrites a gradient nothing else writes (GM_OP_OVERWRITES) */
    float beta_a = a->grad_fresh ? 0.0f : 1.0f;
    float beta_b = b->grad_fresh ? 0.0f : 1.0f;
    if (a->grad) {
        if (!ta) /* dA[M,K] += dC op(B)^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tr(!tb), m, k, cols, 1.0f,
                        dc, cols, b->data, ldb, beta_a, a->grad, lda);
        else /* dA[K,M] += op(B) dC^T */
            cblas_sgemm(CblasRowMajor, tr(tb), CblasTrans, k, m, cols, 1.0f,
                        b->data, ldb, dc, cols, beta_a, a->grad, lda);
    }
    if (b->grad) {
        if (!tb) /* dB[K,N] += op(A)^T dC */
            cblas_sgemm(CblasRowMajor, tr(!ta), CblasNoTrans, k, cols, m, 1.0f,
                        a->data, lda, dc, cols, beta_b, b->grad, ldb);
        else /* dB[N,K] += dC^T op(A) */
            cblas_sgemm(CblasRowMajor, CblasTrans, tr(ta), cols, k, m, 1.0f, dc,
                        cols, a->data, lda, beta_b, b->grad, ldb);
    }
}

/* The products of matmul_backward, as matmul nodes. */
static gm_node *matmul_grad(gm_node *n, int i, gm_node *up) {
    gm_graph *g = n->graph;
    gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    if (i == 0) /* dA = dC op(B)^T, or its transpose op(B) dC^T */
        return ta ? gm_matmul(g, b, up, tb, true)
                  : gm_matmul(g, up, b, false, !tb);
    /* dB = op(A)^T dC, or its transpose dC^T op(A) */
    return tb ? gm_matmul(g, up, a, true, ta)
              : gm_matmul(g, a, up, !ta, false);
}

const gm_op_def gm_op_matmul = {
    .name = "matmul",
    .arity = 2,
    .shape = matmul_shape,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = matmul_grad,
};

gm_node *gm_matmul(gm_graph *g, gm_node *a, gm_node *b, bool trans_a,
                   bool trans_b) {
    gm_node *in[2] = {a, b};
    float p[2] = {trans_a ? 1.0f : 0.0f, trans_b ? 1.0f : 0.0f};
    return gm_node_new(g, &gm_op_matmul, in, 2, p, 2);
}

/* y = x W^T + b, as torch.nn.Linear: x [rows, in], W [out, in], b [out].
 * The bias is copied into y and sgemm adds the product with beta 1, which
 * saves the separate bias pass (and OpenBLAS's clearing of y for beta 0);
 * backward reads dy once for b. */
static gm_status affine_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape,
                   *b = &n->in[2]->shape;
    char sx[64], sw[64], sb[64];
    if (x->ndim != 2 || w->ndim != 2 || x->dim[1] != w->dim[1] ||
        gm_shape_numel(b) != (size_t)w->dim[0] || gm_shape_rows(b) != 1)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "affine: x %s, weight %s and bias %s do not fit "
                            "x [rows, in], weight [out, in], bias [out]",
                            gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(w, sw, sizeof sw),
                            gm_shape_str(b, sb, sizeof sb));
    gm_shape_make(out, (int[]){x->dim[0], w->dim[0]}, 2);
    return GM_OK;
}

static void affine_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int rows = n->shape.dim[0], out = n->shape.dim[1], in = x->shape.dim[1];
    for (int r = 0; r < rows; r++)
        memcpy(n->data + (size_t)r * out, b->data, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f,
                x->data, in, w->data, in, 1.0f, n->data, out);
}

/* The weight and input gradients of y = x W^T + b from dy (sgemm). */
static void affine_backward_products(gm_node *n, const float *dy) {
    gm_node *x = n->in[0], *w = n->in[1];
    int rows = n->shape.dim[0], out = n->shape.dim[1], in = x->shape.dim[1];
    if (x->grad) /* dx [rows, in] = dy W */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out,
                    1.0f, dy, out, w->data, in, x->grad_fresh ? 0.0f : 1.0f,
                    x->grad, in);
    if (w->grad) /* dW [out, in] = dy^T x */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows,
                    1.0f, dy, out, x->data, in, w->grad_fresh ? 0.0f : 1.0f,
                    w->grad, in);
}

GM_MULTIVERSION
static void affine_backward(gm_node *n) {
    gm_node *b = n->in[2];
    int rows = n->shape.dim[0], out = n->shape.dim[1];
    const float *dy = n->grad;
    affine_backward_products(n, dy);
    if (b->grad) { /* db = column sums of dy */
        float *db = b->grad;
        if (b->grad_fresh) memset(db, 0, (size_t)out * sizeof(float));
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < out; c++)
                db[c] += dy[(size_t)r * out + c];
    }
}

/* The gradients of y = x W^T + b from dy, as nodes: dx = dy W,
 * dW = dy^T x, db = column sums of dy. */
static gm_node *affine_grad_from(gm_node *n, int i, gm_node *dy) {
    gm_graph *g = n->graph;
    switch (i) {
    case 0: return gm_matmul(g, dy, n->in[1], false, false);
    case 1: return gm_matmul(g, dy, n->in[0], true, false);
    default: return gm_grad_reduce_to(dy, n->in[2]);
    }
}

static gm_node *affine_grad(gm_node *n, int i, gm_node *up) {
    return affine_grad_from(n, i, up);
}

const gm_op_def gm_op_affine = {
    .name = "affine",
    .arity = 3,
    .shape = affine_shape,
    .forward = affine_forward,
    .backward = affine_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = affine_grad,
};

gm_node *gm_affine(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias) {
    gm_node *in[3] = {x, weight, bias};
    return gm_node_new(g, &gm_op_affine, in, 3, NULL, 0);
}

/* y = relu(x W^T + b) in one node, what an MLP's hidden layer computes:
 * the ReLU runs over the product in place while it is still in cache, and
 * backward masks dy in place (dy becomes the gradient of the
 * pre-activation, which nothing else reads) and sums it for the bias in
 * the same pass: one pass where affine and relu take three.
 * relu(v) = v > 0 ? v : 0, as gm_relu. */
GM_MULTIVERSION
static void affine_relu_forward(gm_node *n) {
    affine_forward(n);
    float *y = n->data;
    for (size_t i = 0; i < n->numel; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

GM_MULTIVERSION
static void affine_relu_backward(gm_node *n) {
    gm_node *b = n->in[2];
    int rows = n->shape.dim[0], out = n->shape.dim[1];
    const float *restrict y = n->data;
    float *restrict dy = n->grad;
    float *restrict db = b->grad;
    if (db && b->grad_fresh) memset(db, 0, (size_t)out * sizeof(float));
    for (int r = 0; r < rows; r++) {
        float *restrict d = dy + (size_t)r * out;
        const float *restrict yr = y + (size_t)r * out;
        for (int c = 0; c < out; c++) d[c] = yr[c] > 0.0f ? d[c] : 0.0f;
        if (db)
            for (int c = 0; c < out; c++) db[c] += d[c];
    }
    affine_backward_products(n, dy);
}

/* The pre-activation's gradient: dy masked where y > 0 (where the
 * pre-activation is), built once for all three inputs. */
static gm_node *pre_activation_grad(gm_node *n, gm_node *up) {
    return gm_relu_mask(n->graph, up, n, 0.0f);
}

static gm_node *affine_relu_grad(gm_node *n, int i, gm_node *up) {
    return affine_grad_from(n, i, gm_grad_once(n, up, pre_activation_grad));
}

const gm_op_def gm_op_affine_relu = {
    .name = "affine_relu",
    .arity = 3,
    .shape = affine_shape,
    .forward = affine_relu_forward,
    .backward = affine_relu_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = affine_relu_grad,
};

gm_node *gm_affine_relu(gm_graph *g, gm_node *x, gm_node *weight,
                        gm_node *bias) {
    gm_node *in[3] = {x, weight, bias};
    return gm_node_new(g, &gm_op_affine_relu, in, 3, NULL, 0);
}
