/* The table of built-in ops: one descriptor per op, defined in the file of
 * its family. Adding an op: write its descriptor and constructor in the
 * family file, then add its name to GM_OPS. */
#ifndef GM_OP_TABLE_H
#define GM_OP_TABLE_H

#include <math.h>
#include <stddef.h>

#include "gm/op.h"

/* Every built-in op, in table order: X(name) stands for the descriptor
 * gm_op_<name>, defined in the file of its family. From this one list come
 * the declarations below, GM_OP_COUNT and gm_op_table. */
#define GM_OPS(X)                                                             \
    /* linalg.c, conv.c, norm.c */                                            \
    X(matmul) X(affine) X(affine_relu) X(conv2d) X(conv_transpose2d)          \
    X(bias_channels) X(batch_norm)                                            \
    /* arith.c, math.c */                                                     \
    X(add) X(sub) X(mul) X(div) X(scale) X(add_scalar) X(neg) X(exp) X(log)   \
    X(square) X(sqrt) X(abs)                                                  \
    /* activation.c */                                                        \
    X(relu) X(leaky_relu) X(elu) X(tanh) X(sigmoid) X(softplus)               \
    X(log_sigmoid) X(step) X(relu_mask)                                       \
    /* reduce.c, shape.c */                                                   \
    X(sum) X(mean) X(logsumexp_rows) X(slice_cols) X(concat_cols)             \
    X(reshape) X(detach)                                                      \
    /* loss.c, random.c */                                                    \
    X(bce_with_logits) X(gaussian_nll) X(gaussian_nll_fixed)                  \
    X(kl_normal_std) X(softmax_cross_entropy) X(randn)                        \
    X(rand_uniform) X(rand_categorical)

#define GM_OP_DECLARE(name) extern const gm_op_def gm_op_##name;
GM_OPS(GM_OP_DECLARE)
#undef GM_OP_DECLARE

#define GM_OP_ONE(name) +1
enum { GM_OP_COUNT = 0 GM_OPS(GM_OP_ONE) };
#undef GM_OP_ONE

/* log sum_c exp(row[c]) over n >= 1 values without overflow: the largest
 * value is taken out and the exponentials summed in double (logsumexp and
 * softmax_cross_entropy). */
static inline float gm_logsumexp_row(const float *row, size_t n) {
    float m = row[0];
    for (size_t c = 1; c < n; c++)
        m = fmaxf(m, row[c]);
    double s = 0.0;
    for (size_t c = 0; c < n; c++)
        s += exp((double)(row[c] - m));
    return m + (float)log(s);
}

/* Every built-in op, indexed by gm_op_id. */
extern const gm_op_def *const gm_op_table[GM_OP_COUNT];

#endif
