/* gm/ops.h: the built-in ops, as graph-building functions.
 *
 * Every function adds one node to g and returns it, or returns NULL and
 * records an error in g (see gm/graph.h). Element-wise ops view a tensor as
 * a matrix [rows, cols], cols being the last dimension.
 *
 * Broadcasting (binary element-wise ops and the optional operands below):
 * an operand may have the other's shape, or be a scalar [1]. A row
 * [cols] / [1, cols] repeated over rows, or a column [rows, 1] repeated
 * over columns, must be asked for: gm_add_bcast and its kin allow it,
 * gm_add refuses it with an error naming both shapes (an [n, 1] where an
 * [n, m] was meant is a common slip). The optional operands of the losses
 * below broadcast as documented there. The result has the larger
 * operand's shape. */
#ifndef GM_OPS_H
#define GM_OPS_H

#include "gm/api.h"
#include "gm/graph.h"
#include "gm/rng.h"

GM_API_BEGIN

/* ---- linear algebra (ops/linalg.c) ---- */

/* op(a) @ op(b) for 2-D a, b, where op transposes when asked (sgemm). */
gm_node *gm_matmul(gm_graph *g, gm_node *a, gm_node *b, bool trans_a,
                   bool trans_b);

/* x weight^T + bias, as torch.nn.Linear: x [rows, in], weight [out, in],
 * bias [out] -> [rows, out], in one pass (the bias rides in the sgemm). */
gm_node *gm_affine(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias);

/* relu(x weight^T + bias) in one node: the same values and input
 * gradients as gm_relu(gm_affine(...)) with fewer passes over memory (the
 * MLP builder uses it for ReLU layers). Its backward masks its own
 * gradient in place: after backward, gm_node_grad of this node holds the
 * gradient with respect to the pre-activation x weight^T + bias. */
gm_node *gm_affine_relu(gm_graph *g, gm_node *x, gm_node *weight,
                        gm_node *bias);

/* ---- convolutions (ops/conv.c) ---- */

/* Images are NCHW: x [N, C_in, H, W]. Both convolutions take a stride and
 * a zero padding on every side, as torch.nn.Conv2d and ConvTranspose2d
 * (without output_padding, groups or dilation), and an optional bias
 * [C_out] (NULL for none) added without a separate pass. */

/* weight [C_out, C_in, kH, kW] -> [N, C_out, oH, oW] with
 * oH = (H + 2 padding - kH) / stride + 1 (rounded down), oW likewise. */
gm_node *gm_conv2d(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias,
                   int stride, int padding);

/* The transpose of conv2d (its input gradient as a forward):
 * weight [C_in, C_out, kH, kW] -> [N, C_out, oH, oW] with
 * oH = (H - 1) stride - 2 padding + kH, oW likewise. */
gm_node *gm_conv_transpose2d(gm_graph *g, gm_node *x, gm_node *weight,
                             gm_node *bias, int stride, int padding);

/* x + bias[c] on channel c (axis 1) of x [N, C] or [N, C, H, W], bias [C]:
 * the per-channel bias on its own (the convolutions fold theirs in), read
 * in place rather than broadcast to x's shape. */
gm_node *gm_bias_channels(gm_graph *g, gm_node *x, gm_node *bias);

/* ---- normalisation (ops/norm.c) ---- */

/* Batch normalisation over axis 1 of x [N, C] or [N, C, H, W], as
 * torch.nn.BatchNorm1d/2d: y = weight (x - mean) / sqrt(var + eps) + bias
 * per channel, weight and bias [C]. With training true while the graph
 * trains (gm_graph_set_training, the default), mean and var are
 * the batch's (var biased) and each forward moves running_mean and
 * running_var towards them: r = (1 - momentum) r + momentum batch_value
 * (the unbiased variance, as PyTorch). Otherwise (training false, or a
 * graph that evaluates) it normalises with running_mean and running_var.
 * The running statistics [C] are state, not trained: no
 * gradient flows to them; keep them in a parameter group no optimizer
 * steps (gm_net_init does), so checkpoints save them. */
gm_node *gm_batch_norm(gm_graph *g, gm_node *x, gm_node *weight, gm_node *bias,
                       gm_node *running_mean, gm_node *running_var,
                       bool training, float momentum, float eps);

/* ---- arithmetic (ops/arith.c) ---- */

gm_node *gm_add(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_sub(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_mul(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_div(gm_graph *g, gm_node *a, gm_node *b);
/* The same, also repeating a row or a column of one operand. */
gm_node *gm_add_bcast(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_sub_bcast(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_mul_bcast(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_div_bcast(gm_graph *g, gm_node *a, gm_node *b);
gm_node *gm_scale(gm_graph *g, gm_node *x, float alpha);     /* alpha * x */
gm_node *gm_add_scalar(gm_graph *g, gm_node *x, float c);    /* x + c */
gm_node *gm_neg(gm_graph *g, gm_node *x);

/* ---- element-wise math (ops/math.c) ---- */

gm_node *gm_exp(gm_graph *g, gm_node *x);
gm_node *gm_log(gm_graph *g, gm_node *x);
gm_node *gm_square(gm_graph *g, gm_node *x);
gm_node *gm_sqrt(gm_graph *g, gm_node *x);
gm_node *gm_abs(gm_graph *g, gm_node *x);

/* ---- activations (ops/activation.c) ---- */

gm_node *gm_relu(gm_graph *g, gm_node *x);
gm_node *gm_leaky_relu(gm_graph *g, gm_node *x, float slope);
gm_node *gm_elu(gm_graph *g, gm_node *x, float alpha);
gm_node *gm_tanh(gm_graph *g, gm_node *x);
gm_node *gm_sigmoid(gm_graph *g, gm_node *x);
gm_node *gm_softplus(gm_graph *g, gm_node *x);    /* log(1 + e^x), stable */
gm_node *gm_log_sigmoid(gm_graph *g, gm_node *x); /* -softplus(-x) */
/* 1 where x > 0, else 0 (relu's derivative, a mask); no gradient flows
 * through it. */
gm_node *gm_step(gm_graph *g, gm_node *x);

/* ---- reductions (ops/reduce.c) ---- */

typedef enum gm_axis {
    GM_AXIS_ALL,     /* -> [1] */
    GM_AXIS_PER_ROW, /* one value per row -> [rows, 1] */
    GM_AXIS_PER_COL, /* one value per column -> [1, cols] */
} gm_axis;

gm_node *gm_sum(gm_graph *g, gm_node *x, gm_axis axis);
gm_node *gm_mean(gm_graph *g, gm_node *x, gm_axis axis);
/* log sum_j exp(x[i, j]) per row -> [rows, 1], stable. */
gm_node *gm_logsumexp_rows(gm_graph *g, gm_node *x);

/* ---- shape (ops/shape.c) ---- */

/* Columns [start, start + len) of a 2-D x -> [rows, len]. */
gm_node *gm_slice_cols(gm_graph *g, gm_node *x, int start, int len);
/* Side by side: 2-D xs with equal rows -> [rows, sum of cols]. */
gm_node *gm_concat_cols(gm_graph *g, gm_node *const *xs, int n);
/* Same data, new shape of equal size (no copy). */
gm_node *gm_reshape(gm_graph *g, gm_node *x, const int *shape, int ndim);
/* Same values; no gradient flows back through it (no copy). */
gm_node *gm_detach(gm_graph *g, gm_node *x);

/* ---- likelihoods and divergences, element-wise (ops/loss.c) ---- */

/* -[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))], stable in z;
 * targets t broadcast to z. */
gm_node *gm_bce_with_logits(gm_graph *g, gm_node *logits, gm_node *targets);
/* -log N(x; mean, exp(logvar)) = 0.5 (log 2pi + logvar + (x-mean)^2 e^-logvar);
 * logvar broadcasts to x (learned per dimension, or per element). */
gm_node *gm_gaussian_nll(gm_graph *g, gm_node *x, gm_node *mean,
                         gm_node *logvar);
/* The same with a fixed log-variance. */
gm_node *gm_gaussian_nll_fixed(gm_graph *g, gm_node *x, gm_node *mean,
                               float logvar);
/* KL(N(mu, exp(logvar)) || N(0, 1)) = -0.5 (1 + logvar - mu^2 - e^logvar). */
gm_node *gm_kl_normal_std(gm_graph *g, gm_node *mu, gm_node *logvar);

/* Softmax cross-entropy per row: logits [rows, classes] and labels [rows]
 * or [rows, 1] holding class indices 0..classes-1 as floats ->
 * [rows, 1] = logsumexp(logits_i) - logits_i[label_i], stable for any
 * logits. A label that is not a class index gives NaN. No gradient flows
 * to the labels. */
gm_node *gm_softmax_cross_entropy(gm_graph *g, gm_node *logits,
                                  gm_node *labels);

/* ---- randomness (ops/random.c) ---- */

/* Standard normal noise of the given shape. The node owns a stream split
 * off `parent`, draws anew at each forward and keeps its draw for backward:
 * z = mu + exp(logvar / 2) * eps is built from it with gm_mul and gm_add. */
gm_node *gm_randn(gm_graph *g, const char *name, const int *shape, int ndim,
                  gm_rng *parent);

/* Uniform noise in [0, 1] (a float draw of U[0, 1) may round to 1), drawn
 * and kept as gm_randn's: e.g. a WGAN-GP interpolation weight per row,
 * x_hat = x_fake + eps * (x_real - x_fake) with eps [rows, 1]. */
gm_node *gm_rand_uniform(gm_graph *g, const char *name, const int *shape,
                         int ndim, gm_rng *parent);

/* Categorical noise [rows, classes]: each row one-hot, its class drawn
 * uniformly, drawn and kept as gm_randn's (e.g. InfoGAN's categorical
 * code; its cross-entropy against logits [rows, classes] is
 * logsumexp_rows(logits) - sum_cols(code * logits)). */
gm_node *gm_rand_categorical(gm_graph *g, const char *name, int rows,
                             int classes, gm_rng *parent);

GM_API_END

#endif
