/* Matrix products: matmul and the linear layers (ops/products.h runs
 * their products in the graph's precision). */
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "grad_build.h"
#include "simd/multiversion.h"
#include "op_table.h"
#include "products.h"

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

/* C[M,N] = op(A)[M,K] op(B)[K,N] */
static gm_gemm_shape matmul_forward_gemm(const gm_node *n) {
    const gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = n->shape.dim[0], cols = n->shape.dim[1];
    return (gm_gemm_shape){ta, tb, m, cols, ta ? a->shape.dim[0] : a->shape.dim[1],
                           a->shape.dim[1], b->shape.dim[1], cols, false};
}

/* dA[M,K] (+)= dC op(B)^T, or for a transposed A, dA[K,M] (+)= op(B) dC^T.
 * Beta 0 overwrites a gradient nothing else writes (GM_OP_OVERWRITES). */
static gm_gemm_shape matmul_grad_a_gemm(const gm_node *n) {
    const gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = n->shape.dim[0], cols = n->shape.dim[1];
    int k = ta ? a->shape.dim[0] : a->shape.dim[1];
    int lda = a->shape.dim[1], ldb = b->shape.dim[1];
    if (!ta) return (gm_gemm_shape){false, !tb, m, k, cols, cols, ldb, lda,
                                    !a->grad_fresh};
    return (gm_gemm_shape){tb, true, k, m, cols, ldb, cols, lda,
                           !a->grad_fresh};
}

/* dB[K,N] (+)= op(A)^T dC, or for a transposed B, dB[N,K] (+)= dC^T op(A). */
static gm_gemm_shape matmul_grad_b_gemm(const gm_node *n) {
    const gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    int m = n->shape.dim[0], cols = n->shape.dim[1];
    int k = ta ? a->shape.dim[0] : a->shape.dim[1];
    int lda = a->shape.dim[1], ldb = b->shape.dim[1];
    if (!tb) return (gm_gemm_shape){!ta, false, k, cols, m, lda, cols, ldb,
                                    !b->grad_fresh};
    return (gm_gemm_shape){true, ta, cols, k, m, cols, lda, ldb,
                           !b->grad_fresh};
}

int gm_matmul_gemms(const gm_node *n, gm_gemm_shape *out) {
    int count = 0;
    out[count++] = matmul_forward_gemm(n);
    if (n->in[0]->grad) out[count++] = matmul_grad_a_gemm(n);
    if (n->in[1]->grad) out[count++] = matmul_grad_b_gemm(n);
    return count;
}

static void matmul_forward(gm_node *n) {
    gm_gemm_shape s = matmul_forward_gemm(n);
    gm_node_gemm(n, &s, n->in[0]->data, n->in[1]->data, n->data);
}

static void matmul_backward(gm_node *n) {
    gm_node *a = n->in[0], *b = n->in[1];
    bool ta = n->p[0] != 0.0f, tb = n->p[1] != 0.0f;
    if (a->grad) {
        gm_gemm_shape s = matmul_grad_a_gemm(n);
        if (!ta) gm_node_gemm(n, &s, n->grad, b->data, a->grad);
        else gm_node_gemm(n, &s, b->data, n->grad, a->grad);
    }
    if (b->grad) {
        gm_gemm_shape s = matmul_grad_b_gemm(n);
        if (!tb) gm_node_gemm(n, &s, a->data, n->grad, b->grad);
        else gm_node_gemm(n, &s, n->grad, a->data, b->grad);
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
 * The bias is copied into y and the product is added to it (sgemm's beta
 * 1), which saves the separate bias pass (and clearing y for beta 0);
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

/* The products of y = x W^T + b: y += x W^T over the bias, dx [rows, in]
 * (+)= dy W and dW [out, in] (+)= dy^T x. */
enum { AFFINE_Y, AFFINE_DX, AFFINE_DW };

static gm_gemm_shape affine_gemm(const gm_node *n, int which) {
    const gm_node *x = n->in[0], *w = n->in[1];
    int rows = n->shape.dim[0], out = n->shape.dim[1], in = x->shape.dim[1];
    switch (which) {
    case AFFINE_Y: return (gm_gemm_shape){false, true, rows, out, in, in, in,
                                          out, true};
    case AFFINE_DX: return (gm_gemm_shape){false, false, rows, in, out, out,
                                           in, in, !x->grad_fresh};
    default: return (gm_gemm_shape){true, false, out, in, rows, out, in, in,
                                    !w->grad_fresh};
    }
}

int gm_affine_gemms(const gm_node *n, gm_gemm_shape *out) {
    int count = 0;
    out[count++] = affine_gemm(n, AFFINE_Y);
    if (n->in[0]->grad) out[count++] = affine_gemm(n, AFFINE_DX);
    if (n->in[1]->grad) out[count++] = affine_gemm(n, AFFINE_DW);
    return count;
}

static void affine_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int rows = n->shape.dim[0], out = n->shape.dim[1];
    for (int r = 0; r < rows; r++)
        memcpy(n->data + (size_t)r * out, b->data, (size_t)out * sizeof(float));
    gm_gemm_shape s = affine_gemm(n, AFFINE_Y);
    gm_node_gemm(n, &s, x->data, w->data, n->data);
}

/* The weight and input gradients of y = x W^T + b from dy. */
static void affine_backward_products(gm_node *n, const float *dy) {
    gm_node *x = n->in[0], *w = n->in[1];
    if (x->grad) {
        gm_gemm_shape s = affine_gemm(n, AFFINE_DX);
        gm_node_gemm(n, &s, dy, w->data, x->grad);
    }
    if (w->grad) {
        gm_gemm_shape s = affine_gemm(n, AFFINE_DW);
        gm_node_gemm(n, &s, dy, x->data, w->grad);
    }
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
