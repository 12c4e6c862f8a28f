/* The table of built-in ops: one descriptor per op, defined in the file of
 * its family. Adding an op: write its descriptor and constructor in the
 * family file, then add one enum entry and one table row. */
#ifndef GM_OP_TABLE_H
#define GM_OP_TABLE_H

#include <math.h>
#include <stddef.h>

#include "gm/op.h"

typedef enum gm_op_id {
    GM_OP_MATMUL,
    GM_OP_AFFINE,
    GM_OP_AFFINE_RELU,
    GM_OP_CONV2D,
    GM_OP_CONV_TRANSPOSE2D,
    GM_OP_BIAS_CHANNELS,
    GM_OP_BATCH_NORM,
    GM_OP_ADD,
    GM_OP_SUB,
    GM_OP_MUL,
    GM_OP_DIV,
    GM_OP_SCALE,
    GM_OP_ADD_SCALAR,
    GM_OP_NEG,
    GM_OP_EXP,
    GM_OP_LOG,
    GM_OP_SQUARE,
    GM_OP_SQRT,
    GM_OP_ABS,
    GM_OP_RELU,
    GM_OP_LEAKY_RELU,
    GM_OP_ELU,
    GM_OP_TANH,
    GM_OP_SIGMOID,
    GM_OP_SOFTPLUS,
    GM_OP_LOG_SIGMOID,
    GM_OP_SUM,
    GM_OP_MEAN,
    GM_OP_LOGSUMEXP_ROWS,
    GM_OP_SLICE_COLS,
    GM_OP_CONCAT_COLS,
    GM_OP_RESHAPE,
    GM_OP_DETACH,
    GM_OP_BCE_WITH_LOGITS,
    GM_OP_GAUSSIAN_NLL,
    GM_OP_GAUSSIAN_NLL_FIXED,
    GM_OP_KL_NORMAL_STD,
    GM_OP_SOFTMAX_CROSS_ENTROPY,
    GM_OP_RANDN,
    GM_OP_COUNT
} gm_op_id;

extern const gm_op_def gm_op_matmul, gm_op_affine, gm_op_affine_relu;
extern const gm_op_def gm_op_conv2d, gm_op_conv_transpose2d,
    gm_op_bias_channels;
extern const gm_op_def gm_op_batch_norm;
extern const gm_op_def gm_op_add, gm_op_sub, gm_op_mul, gm_op_div;
extern const gm_op_def gm_op_scale, gm_op_add_scalar, gm_op_neg;
extern const gm_op_def gm_op_exp, gm_op_log, gm_op_square, gm_op_sqrt,
    gm_op_abs;
extern const gm_op_def gm_op_relu, gm_op_leaky_relu, gm_op_elu, gm_op_tanh,
    gm_op_sigmoid, gm_op_softplus, gm_op_log_sigmoid;
extern const gm_op_def gm_op_sum, gm_op_mean, gm_op_logsumexp_rows;
extern const gm_op_def gm_op_slice_cols, gm_op_concat_cols, gm_op_reshape,
    gm_op_detach;
extern const gm_op_def gm_op_bce_with_logits, gm_op_gaussian_nll,
    gm_op_gaussian_nll_fixed, gm_op_kl_normal_std, gm_op_softmax_cross_entropy;
extern const gm_op_def gm_op_randn;

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
