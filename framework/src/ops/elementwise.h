/* Loop helpers for the element-wise op families. */
#ifndef GM_OPS_ELEMENTWISE_H
#define GM_OPS_ELEMENTWISE_H

#include <math.h>

#include "simd/fastmath.h"
#include "engine/graph_internal.h"
#include "simd/multiversion.h"

/* Defines forward, backward and the descriptor gm_op_<NAME> of a one-input
 * element-wise op. FWD computes y from x; DERIV computes dy/dx from x and
 * y. Both may use p[0..3], the op's parameters. GRAD is the op's gradient
 * builder (gm_op_def.grad): DERIV written with ops. */
#define GM_UNARY_OP(NAME, FWD, DERIV, GRAD)                                    \
    GM_MULTIVERSION static void NAME##_forward(gm_node *n) {                   \
        const float *restrict xs = n->in[0]->data;                             \
        float *restrict ys = n->data;                                          \
        /* a local copy: FWD may read p only for some x (leaky_relu), and      \
         * only a local can be read unconditionally, which vectorises */       \
        const float p[GM_MAX_OP_PARAMS] = {n->p[0], n->p[1], n->p[2],          \
                                           n->p[3]};                           \
        (void)p;                                                               \
        for (size_t i = 0; i < n->numel; i++) {                                \
            float x = xs[i];                                                   \
            ys[i] = (FWD);                                                     \
        }                                                                      \
    }                                                                          \
    GM_MULTIVERSION static void NAME##_backward(gm_node *n) {                  \
        gm_node *in = n->in[0];                                                \
        if (!in->grad) return;                                                 \
        const float *restrict xs = in->data, *restrict ys = n->data;           \
        const float *restrict dys = n->grad;                                   \
        float *restrict dxs = in->grad;                                        \
        const float p[GM_MAX_OP_PARAMS] = {n->p[0], n->p[1], n->p[2],          \
                                           n->p[3]};                           \
        (void)p;                                                               \
        /* Overwrite a gradient only this op writes, else add to it. */        \
        if (in->grad_fresh) {                                                  \
            for (size_t i = 0; i < n->numel; i++) {                            \
                float x = xs[i], y = ys[i];                                    \
                (void)x, (void)y;                                              \
                dxs[i] = dys[i] * (DERIV);                                     \
            }                                                                  \
        } else {                                                               \
            for (size_t i = 0; i < n->numel; i++) {                            \
                float x = xs[i], y = ys[i];                                    \
                (void)x, (void)y;                                              \
                dxs[i] += dys[i] * (DERIV);                                    \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    const gm_op_def gm_op_##NAME = {                                           \
        .name = #NAME,                                                         \
        .arity = 1,                                                            \
        .shape = gm_shape_same_as_input,                                       \
        .forward = NAME##_forward,                                             \
        .backward = NAME##_backward,                                           \
        .flags = GM_OP_OVERWRITES,                                             \
        .grad = GRAD,                                                          \
    }

/* How inputs map onto an element-wise output [rows, cols]. */
typedef struct gm_bcast_layout {
    size_t rows, cols;
    gm_bcast kind[3];
} gm_bcast_layout;

static inline gm_bcast_layout gm_bcast_layout_of(const gm_node *n) {
    gm_bcast_layout l = {(size_t)gm_shape_rows(&n->shape),
                         (size_t)gm_shape_cols(&n->shape),
                         {GM_BCAST_FULL, GM_BCAST_FULL, GM_BCAST_FULL}};
    for (int k = 0; k < n->n_in && k < 3; k++)
        l.kind[k] = gm_bcast_kind(&n->in[k]->shape, &n->shape);
    return l;
}

static inline bool gm_bcast_all_full(const gm_bcast_layout *l) {
    return l->kind[0] == GM_BCAST_FULL && l->kind[1] == GM_BCAST_FULL &&
           l->kind[2] == GM_BCAST_FULL;
}

static inline bool gm_bcast_is_bias(const gm_bcast_layout *l) {
    return l->kind[0] == GM_BCAST_FULL && l->kind[1] == GM_BCAST_ROW &&
           l->kind[2] == GM_BCAST_FULL;
}

/* Runs the body (the variadic argument) for every output element i, with
 * i0, i1, i2 the matching elements of inputs 0, 1, 2. Equal shapes, and a
 * row added to a matrix (a bias), take plain loops the compiler can
 * vectorise; other broadcasts compute each index. */
#define GM_BCAST_LOOP(L, ...)                                                  \
    do {                                                                       \
        if (gm_bcast_all_full(&(L))) {                                         \
            size_t n_ = (L).rows * (L).cols;                                   \
            for (size_t i = 0; i < n_; i++) {                                  \
                size_t i0 = i, i1 = i, i2 = i;                                 \
                (void)i0, (void)i1, (void)i2;                                  \
                __VA_ARGS__                                                    \
            }                                                                  \
        } else if (gm_bcast_is_bias(&(L))) {                                   \
            for (size_t r_ = 0; r_ < (L).rows; r_++)                           \
                for (size_t i1 = 0; i1 < (L).cols; i1++) {                     \
                    size_t i = r_ * (L).cols + i1, i0 = i, i2 = i;             \
                    (void)i0, (void)i2;                                        \
                    __VA_ARGS__                                                \
                }                                                              \
        } else {                                                               \
            size_t i = 0;                                                      \
            for (size_t r_ = 0; r_ < (L).rows; r_++)                           \
                for (size_t c_ = 0; c_ < (L).cols; c_++, i++) {                \
                    size_t i0 = gm_bcast_index((L).kind[0], i, r_, c_);        \
                    size_t i1 = gm_bcast_index((L).kind[1], i, r_, c_);        \
                    size_t i2 = gm_bcast_index((L).kind[2], i, r_, c_);        \
                    (void)i0, (void)i1, (void)i2;                              \
                    __VA_ARGS__                                                \
                }                                                              \
        }                                                                      \
    } while (0)

#endif
