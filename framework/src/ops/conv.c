/* Convolutions over NCHW images, as torch.nn.Conv2d and ConvTranspose2d,
 * a chunk of samples at a time: the chunk's patches are unrolled side by
 * side into one column buffer (im2col), so that each product is one
 * matrix product over the whole chunk (ops/products.h), and folded back (col2im) where the
 * product gives patches. A product over several samples comes out channel
 * first ([C, samples * pixels]), so it is moved into the NCHW output (or
 * the NCHW gradient into that layout) by one copy, which also adds the
 * bias. The buffers are the node's scratch, planned at compile, so no step
 * allocates; conv2d's backward unrolls its input again rather than keeping
 * every sample's columns from forward. */
#include <string.h>

#include "gm/ops.h"
#include "engine/graph_internal.h"
#include "grad_build.h"
#include "simd/multiversion.h"
#include "op_table.h"
#include "products.h"

/* Columns (samples x pixels) a chunk's products aim at: enough for
 * OpenBLAS's kernels to run near their best, few enough that the chunk's
 * columns stay in the core's cache between im2col and sgemm. */
enum { CHUNK_COLUMNS = 256 };

/* One image's geometry and the kernel that slides over it: a [C, H, W]
 * image read by a kh x kw window every `stride` pixels, with `pad` zero
 * pixels around it, gives an [oh, ow] grid of patches. */
typedef struct conv_geometry {
    int c, h, w;
    int kh, kw, stride, pad;
    int oh, ow;
} conv_geometry;

static size_t patch_rows(const conv_geometry *q) {
    return (size_t)q->c * q->kh * q->kw;
}

static size_t patch_cols(const conv_geometry *q) {
    return (size_t)q->oh * q->ow;
}

/* The image with its zero border: [C, H + 2 pad, W + 2 pad]. Unrolling
 * from it (and folding into it) needs no bounds checks, so the loops over
 * a patch row are branch-free. */
static size_t padded_size(const conv_geometry *q) {
    return (size_t)q->c * (q->h + 2 * q->pad) * (q->w + 2 * q->pad);
}

static void pad_image(const conv_geometry *q, const float *restrict im,
                      float *restrict padded) {
    int hp = q->h + 2 * q->pad, wp = q->w + 2 * q->pad;
    memset(padded, 0, padded_size(q) * sizeof(float));
    for (int c = 0; c < q->c; c++)
        for (int y = 0; y < q->h; y++)
            memcpy(padded + ((size_t)c * hp + y + q->pad) * wp + q->pad,
                   im + ((size_t)c * q->h + y) * q->w,
                   (size_t)q->w * sizeof(float));
}

/* out [oh, ow] = base[(y * wp + x) * stride]: one row of col. Strides 1
 * and 2 (DCGAN's) spelled out so that each compiles to its own loop. */
static inline void unroll_row(float *restrict out, const float *restrict base,
                              int oh, int ow, int wp, int stride) {
    for (int y = 0; y < oh; y++, out += ow) {
        const float *src = base + (size_t)y * wp * stride;
        if (stride == 1)
            for (int x = 0; x < ow; x++)
                out[x] = src[x];
        else if (stride == 2)
            for (int x = 0; x < ow; x++)
                out[x] = src[2 * x];
        else
            for (int x = 0; x < ow; x++)
                out[x] = src[x * stride];
    }
}

/* base[(y * wp + x) * stride] += in [oh, ow]: one row of col folded. */
static inline void fold_row(float *restrict base, const float *restrict in,
                            int oh, int ow, int wp, int stride) {
    for (int y = 0; y < oh; y++, in += ow) {
        float *dst = base + (size_t)y * wp * stride;
        if (stride == 1)
            for (int x = 0; x < ow; x++)
                dst[x] += in[x];
        else if (stride == 2)
            for (int x = 0; x < ow; x++)
                dst[2 * x] += in[x];
        else
            for (int x = 0; x < ow; x++)
                dst[x * stride] += in[x];
    }
}

/* col [C * kh * kw, oh * ow], rows `ld` floats apart: each column one
 * patch of im [C, H, W], unrolled from its padded copy in `padded`. The
 * rows of a chunk's samples sit side by side. */
GM_MULTIVERSION static void im2col(const conv_geometry *q,
                                   const float *restrict im,
                                   float *restrict padded, float *restrict col,
                                   size_t ld) {
    int hp = q->h + 2 * q->pad, wp = q->w + 2 * q->pad;
    pad_image(q, im, padded);
    for (int c = 0; c < q->c; c++)
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++)
                unroll_row(col + ((size_t)(c * q->kh + i) * q->kw + j) * ld,
                           padded + ((size_t)c * hp + i) * wp + j, q->oh, q->ow,
                           wp, q->stride);
}

/* im [C, H, W] += the patches of col (rows `ld` apart) put back where
 * im2col took them (overlapping patches add), summed in `padded` first. */
GM_MULTIVERSION static void col2im_add(const conv_geometry *q,
                                       const float *restrict col, size_t ld,
                                       float *restrict padded,
                                       float *restrict im) {
    int hp = q->h + 2 * q->pad, wp = q->w + 2 * q->pad;
    memset(padded, 0, padded_size(q) * sizeof(float));
    for (int c = 0; c < q->c; c++)
        for (int i = 0; i < q->kh; i++)
            for (int j = 0; j < q->kw; j++)
                fold_row(padded + ((size_t)c * hp + i) * wp + j,
                         col + ((size_t)(c * q->kh + i) * q->kw + j) * ld,
                         q->oh, q->ow, wp, q->stride);
    for (int c = 0; c < q->c; c++)
        for (int y = 0; y < q->h; y++) {
            const float *src =
                padded + ((size_t)c * hp + y + q->pad) * wp + q->pad;
            float *dst = im + ((size_t)c * q->h + y) * q->w;
            for (int x = 0; x < q->w; x++)
                dst[x] += src[x];
        }
}

/* Samples per chunk for `cols` patch columns per sample. */
static int chunk_samples(int batch, size_t cols) {
    size_t s = (CHUNK_COLUMNS + cols - 1) / cols;
    return s < (size_t)batch ? (int)s : batch;
}

/* A node's scratch: the chunk's columns [rows, chunk * cols], its product
 * [channels, chunk * cols] (channel first) and one padded image. */
static size_t chunk_scratch(const conv_geometry *q, int batch,
                            size_t channels) {
    size_t cols = patch_cols(q);
    return (patch_rows(q) + channels) * (size_t)chunk_samples(batch, cols) *
               cols +
           padded_size(q);
}

/* The distinct chunks a batch is cut into, for the planner of the
 * products: (samples, whether first) of the first chunk, of a later full
 * one and of a shorter last one, as far as they exist. */
static int distinct_chunks(int batch, int chunk, int samples[3],
                           bool first[3]) {
    int count = 0;
    for (int s0 = 0; s0 < batch; s0 += chunk) {
        int m = batch - s0 < chunk ? batch - s0 : chunk;
        bool seen = false;
        for (int i = 0; i < count; i++)
            seen = seen || (samples[i] == m && first[i] == (s0 == 0));
        if (!seen) {
            samples[count] = m;
            first[count++] = s0 == 0;
        }
    }
    return count;
}

/* A convolution's three products over a chunk (conv2d's names; the
 * transposed convolution's are the same products with the roles of
 * forward and input gradient swapped). */
enum { CONV_UNROLLED, CONV_WEIGHT_GRAD, CONV_FOLDED };

/* Each chunk's products of a node whose weight is [c, k] (k = the patch
 * rows) against [k or c, samples * cols] columns:
 * - CONV_UNROLLED: [c, ld] = W [c, k] col [k, ld];
 * - CONV_WEIGHT_GRAD: dW [c, k] (+)= d [c, ld] col^T, accumulating after
 *   the first chunk or into a gradient others write;
 * - CONV_FOLDED: col [k, ld] = W^T [k, c] d [c, ld]. */
static gm_gemm_shape conv_gemm(const gm_node *n, int which, int c, int k,
                               int samples, size_t cols, bool first) {
    int ld = (int)((size_t)samples * cols);
    switch (which) {
    case CONV_UNROLLED: return (gm_gemm_shape){false, false, c, ld, k, k, ld,
                                               ld, false};
    case CONV_WEIGHT_GRAD:
        return (gm_gemm_shape){false, true, c, k, ld, ld, ld, k,
                               !(first && n->in[1]->grad_fresh)};
    default: return (gm_gemm_shape){true, false, k, ld, c, k, ld, ld, false};
    }
}

/* The shapes of every chunk's products, for the planner. */
static int conv_gemms(const gm_node *n, int c, size_t k, size_t cols,
                      gm_gemm_shape *out) {
    int batch = n->shape.dim[0], samples[3];
    bool first[3];
    int chunks = distinct_chunks(batch, chunk_samples(batch, cols), samples,
                                 first);
    int count = 0;
    for (int i = 0; i < chunks; i++)
        for (int which = CONV_UNROLLED; which <= CONV_FOLDED; which++)
            out[count++] = conv_gemm(n, which, c, (int)k, samples[i], cols,
                                     first[i]);
    return count;
}

/* Values per sample and channel of y [N, C, ...]. */
static size_t plane_of(const gm_node *y) {
    return y->numel / ((size_t)y->shape.dim[0] * (size_t)y->shape.dim[1]);
}

/* y[s0 + s, c, :] = prod [C, chunk * cols] (+ bias[c]) for the chunk's
 * samples. */
static void chunk_to_nchw(const float *restrict prod, int chunk, int ch,
                          size_t cols, const float *bias, float *restrict y) {
    for (int s = 0; s < chunk; s++)
        for (int c = 0; c < ch; c++) {
            const float *in = prod + ((size_t)c * chunk + s) * cols;
            float *out = y + ((size_t)s * ch + c) * cols;
            float b = bias ? bias[c] : 0.0f;
            for (size_t p = 0; p < cols; p++)
                out[p] = in[p] + b;
        }
}

/* Adds (or, when `fresh`, writes) prod [C, chunk * cols] into y NCHW. */
static void chunk_add_nchw(const float *restrict prod, int chunk, int ch,
                           size_t cols, bool fresh, float *restrict y) {
    if (fresh) {
        chunk_to_nchw(prod, chunk, ch, cols, NULL, y);
        return;
    }
    for (int s = 0; s < chunk; s++)
        for (int c = 0; c < ch; c++) {
            const float *in = prod + ((size_t)c * chunk + s) * cols;
            float *out = y + ((size_t)s * ch + c) * cols;
            for (size_t p = 0; p < cols; p++)
                out[p] += in[p];
        }
}

/* prod [C, chunk * cols] = the chunk's samples of x NCHW, channel first. */
static void chunk_from_nchw(const float *restrict x, int chunk, int ch,
                            size_t cols, float *restrict prod) {
    for (int s = 0; s < chunk; s++)
        for (int c = 0; c < ch; c++)
            memcpy(prod + ((size_t)c * chunk + s) * cols,
                   x + ((size_t)s * ch + c) * cols, cols * sizeof(float));
}

/* y[n, c, :, :] = bias[c] (0 without a bias), for col2im to add to. */
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
    return chunk_scratch(&q, n->shape.dim[0], (size_t)n->shape.dim[1]);
}

/* Per chunk of samples: col [K, chunk * oh*ow] (K = C_in kh kw) from x,
 * prod [C_out, chunk * oh*ow] = W [C_out, K] col, y = prod + bias. */
static void conv2d_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1];
    const float *bias = n->n_in == 3 ? n->in[2]->data : NULL;
    conv_geometry q = conv2d_geometry(n);
    int batch = x->shape.dim[0], c_out = n->shape.dim[1];
    size_t k = patch_rows(&q), cols = patch_cols(&q);
    size_t x_step = (size_t)q.c * q.h * q.w, y_step = (size_t)c_out * cols;
    int chunk = chunk_samples(batch, cols);
    float *col = n->scratch, *prod = col + k * chunk * cols;
    float *padded = prod + (size_t)c_out * chunk * cols;
    for (int s0 = 0; s0 < batch; s0 += chunk) {
        int m = batch - s0 < chunk ? batch - s0 : chunk;
        size_t ld = (size_t)m * cols;
        for (int s = 0; s < m; s++)
            im2col(&q, x->data + (s0 + s) * x_step, padded, col + s * cols, ld);
        gm_gemm_shape prod_s =
            conv_gemm(n, CONV_UNROLLED, c_out, (int)k, m, cols, s0 == 0);
        gm_node_gemm(n, &prod_s, w->data, col, prod);
        chunk_to_nchw(prod, m, c_out, cols, bias, n->data + s0 * y_step);
    }
}

/* Per chunk: dprod [C_out, chunk * oh*ow] from dy; dW (+)= dprod col^T
 * with col unrolled again from x; dcol = W^T dprod, folded into dx. */
static void conv2d_backward(gm_node *n) {
    gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv2d_geometry(n);
    int batch = x->shape.dim[0], c_out = n->shape.dim[1];
    size_t k = patch_rows(&q), cols = patch_cols(&q);
    size_t x_step = (size_t)q.c * q.h * q.w, y_step = (size_t)c_out * cols;
    int chunk = chunk_samples(batch, cols);
    float *col = n->scratch, *dprod = col + k * chunk * cols;
    float *padded = dprod + (size_t)c_out * chunk * cols;
    bias_backward(n, n->n_in == 3 ? n->in[2] : NULL);
    if (x->grad && x->grad_fresh) memset(x->grad, 0, x->numel * sizeof(float));
    if (!x->grad && !w->grad) return;
    for (int s0 = 0; s0 < batch; s0 += chunk) {
        int m = batch - s0 < chunk ? batch - s0 : chunk;
        size_t ld = (size_t)m * cols;
        chunk_from_nchw(n->grad + s0 * y_step, m, c_out, cols, dprod);
        if (w->grad) {
            for (int s = 0; s < m; s++)
                im2col(&q, x->data + (s0 + s) * x_step, padded, col + s * cols,
                       ld);
            gm_gemm_shape dw_s = conv_gemm(n, CONV_WEIGHT_GRAD, c_out, (int)k,
                                           m, cols, s0 == 0);
            gm_node_gemm(n, &dw_s, dprod, col, w->grad);
        }
        if (x->grad) {
            gm_gemm_shape dcol_s =
                conv_gemm(n, CONV_FOLDED, c_out, (int)k, m, cols, s0 == 0);
            gm_node_gemm(n, &dcol_s, w->data, dprod, col);
            for (int s = 0; s < m; s++)
                col2im_add(&q, col + s * cols, ld, padded,
                           x->grad + (s0 + s) * x_step);
        }
    }
}

/* ---- gradient builders ------------------------------------------------- */

/* The adjoint `up` [N, C, ...] of an output with a per-channel bias,
 * summed over all but the channel: the bias's gradient [C]. */
static gm_node *sum_but_channels(gm_node *up) {
    gm_graph *g = up->graph;
    int batch = up->shape.dim[0], ch = up->shape.dim[1];
    int plane = (int)(up->numel / ((size_t)batch * (size_t)ch));
    gm_node *maps = gm_grad_as_shape(up, &(gm_shape){2, {batch * ch, plane}});
    if (plane > 1) maps = gm_sum(g, maps, GM_AXIS_PER_ROW);
    gm_node *per_channel = gm_sum(
        g, gm_grad_as_shape(maps, &(gm_shape){2, {batch, ch}}), GM_AXIS_PER_COL);
    return gm_grad_as_shape(per_channel, &(gm_shape){1, {ch}});
}

/* conv_transpose2d(up, weight) sized to `want` [N, C, H, W]: where the
 * stride leaves the last rows or columns of a conv2d's input unread, the
 * output padding adds them (their gradient is 0). */
static gm_node *transpose_to(gm_node *up, gm_node *weight, int stride,
                             int pad, const gm_shape *want) {
    const gm_shape *w = &weight->shape;
    int h = (up->shape.dim[2] - 1) * stride - 2 * pad + w->dim[2];
    int wd = (up->shape.dim[3] - 1) * stride - 2 * pad + w->dim[3];
    gm_node *in[2] = {up, weight};
    float p[4] = {(float)stride, (float)pad, (float)(want->dim[2] - h),
                  (float)(want->dim[3] - wd)};
    return gm_node_new(up->graph, &gm_op_conv_transpose2d, in, 2, p, 4);
}

/* x: the transposed convolution of the adjoint with the same weight,
 * stride and padding; bias: the adjoint summed per channel. */
static gm_node *conv2d_grad(gm_node *n, int i, gm_node *up) {
    switch (i) {
    case 0:
        return transpose_to(up, n->in[1], (int)n->p[0], (int)n->p[1],
                            &n->in[0]->shape);
    case 1: return gm_grad_not_built(n, "its weights");
    default: return sum_but_channels(up);
    }
}

/* x: the convolution of the adjoint with the same weight (its output has
 * x's shape whatever the output padding); bias as conv2d's. */
static gm_node *conv_transpose2d_grad(gm_node *n, int i, gm_node *up) {
    switch (i) {
    case 0:
        return gm_conv2d(n->graph, up, n->in[1], NULL, (int)n->p[0],
                         (int)n->p[1]);
    case 1: return gm_grad_not_built(n, "its weights");
    default: return sum_but_channels(up);
    }
}

int gm_conv2d_gemms(const gm_node *n, gm_gemm_shape *out) {
    conv_geometry q = conv2d_geometry(n);
    return conv_gemms(n, n->shape.dim[1], patch_rows(&q), patch_cols(&q), out);
}

const gm_op_def gm_op_conv2d = {
    .name = "conv2d",
    .arity = -1,
    .shape = conv2d_shape,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .scratch = conv2d_scratch,
    .flags = GM_OP_OVERWRITES,
    .grad = conv2d_grad,
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

/* p[2], p[3]: rows and columns added below and right of the output
 * (PyTorch's output_padding), each below the stride. gm_conv_transpose2d
 * leaves them 0; conv2d's gradient builder sets them where a stride
 * leaves input pixels that no patch reads, so that its input gradient has
 * the input's shape. The kernels take the output's size from the shape. */
static gm_status conv_transpose2d_shape(const gm_node *n, gm_shape *out,
                                        gm_error *err) {
    gm_status st = check_operands(n, "[C_in, C_out, kH, kW]", 0, err);
    if (st != GM_OK) return st;
    const gm_shape *x = &n->in[0]->shape, *w = &n->in[1]->shape;
    int stride = (int)n->p[0], pad = (int)n->p[1];
    int extra_h = (int)n->p[2], extra_w = (int)n->p[3];
    char sx[64], sw[64];
    if (extra_h < 0 || extra_w < 0 || extra_h >= stride || extra_w >= stride)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "conv_transpose2d: output padding %dx%d must be "
                            "below the stride %d (x %s, weight %s)",
                            extra_h, extra_w, stride,
                            gm_shape_str(x, sx, sizeof sx),
                            gm_shape_str(w, sw, sizeof sw));
    int oh = (x->dim[2] - 1) * stride - 2 * pad + w->dim[2] + extra_h;
    int ow = (x->dim[3] - 1) * stride - 2 * pad + w->dim[3] + extra_w;
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
    return chunk_scratch(&q, n->shape.dim[0], (size_t)n->in[0]->shape.dim[1]);
}

/* Per chunk: xt [C_in, chunk * H*W] from x, col [K, chunk * H*W] = W^T xt
 * (K = C_out kh kw), folded into y (which holds the bias). */
static void conv_transpose2d_forward(gm_node *n) {
    const gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv_transpose2d_geometry(n);
    int batch = x->shape.dim[0], c_in = x->shape.dim[1];
    size_t k = patch_rows(&q), cols = patch_cols(&q);
    size_t x_step = (size_t)c_in * cols, y_step = (size_t)q.c * q.h * q.w;
    int chunk = chunk_samples(batch, cols);
    float *col = n->scratch, *xt = col + k * chunk * cols;
    float *padded = xt + (size_t)c_in * chunk * cols;
    fill_bias(n, n->n_in == 3 ? n->in[2] : NULL);
    for (int s0 = 0; s0 < batch; s0 += chunk) {
        int m = batch - s0 < chunk ? batch - s0 : chunk;
        size_t ld = (size_t)m * cols;
        chunk_from_nchw(x->data + s0 * x_step, m, c_in, cols, xt);
        gm_gemm_shape col_s =
            conv_gemm(n, CONV_FOLDED, c_in, (int)k, m, cols, s0 == 0);
        gm_node_gemm(n, &col_s, w->data, xt, col);
        for (int s = 0; s < m; s++)
            col2im_add(&q, col + s * cols, ld, padded,
                       n->data + (s0 + s) * y_step);
    }
}

/* Per chunk: dcol [K, chunk * H*W], the patches of dy; dW (+)= xt dcol^T;
 * dxt [C_in, chunk * H*W] = W dcol, into dx. */
static void conv_transpose2d_backward(gm_node *n) {
    gm_node *x = n->in[0], *w = n->in[1];
    conv_geometry q = conv_transpose2d_geometry(n);
    int batch = x->shape.dim[0], c_in = x->shape.dim[1];
    size_t k = patch_rows(&q), cols = patch_cols(&q);
    size_t x_step = (size_t)c_in * cols, y_step = (size_t)q.c * q.h * q.w;
    int chunk = chunk_samples(batch, cols);
    float *col = n->scratch, *xt = col + k * chunk * cols;
    float *padded = xt + (size_t)c_in * chunk * cols;
    bias_backward(n, n->n_in == 3 ? n->in[2] : NULL);
    if (!x->grad && !w->grad) return;
    for (int s0 = 0; s0 < batch; s0 += chunk) {
        int m = batch - s0 < chunk ? batch - s0 : chunk;
        size_t ld = (size_t)m * cols;
        for (int s = 0; s < m; s++)
            im2col(&q, n->grad + (s0 + s) * y_step, padded, col + s * cols, ld);
        if (w->grad) {
            chunk_from_nchw(x->data + s0 * x_step, m, c_in, cols, xt);
            gm_gemm_shape dw_s = conv_gemm(n, CONV_WEIGHT_GRAD, c_in, (int)k, m,
                                           cols, s0 == 0);
            gm_node_gemm(n, &dw_s, xt, col, w->grad);
        }
        if (x->grad) {
            gm_gemm_shape dxt_s =
                conv_gemm(n, CONV_UNROLLED, c_in, (int)k, m, cols, s0 == 0);
            gm_node_gemm(n, &dxt_s, w->data, col, xt);
            chunk_add_nchw(xt, m, c_in, cols, x->grad_fresh,
                           x->grad + s0 * x_step);
        }
    }
}

int gm_conv_transpose2d_gemms(const gm_node *n, gm_gemm_shape *out) {
    conv_geometry q = conv_transpose2d_geometry(n);
    return conv_gemms(n, n->in[0]->shape.dim[1], patch_rows(&q),
                      patch_cols(&q), out);
}

const gm_op_def gm_op_conv_transpose2d = {
    .name = "conv_transpose2d",
    .arity = -1,
    .shape = conv_transpose2d_shape,
    .forward = conv_transpose2d_forward,
    .backward = conv_transpose2d_backward,
    .scratch = conv_transpose2d_scratch,
    .flags = GM_OP_OVERWRITES,
    .grad = conv_transpose2d_grad,
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

static gm_node *bias_channels_grad(gm_node *n, int i, gm_node *up) {
    (void)n;
    return i == 0 ? up : sum_but_channels(up);
}

const gm_op_def gm_op_bias_channels = {
    .name = "bias_channels",
    .arity = 2,
    .shape = bias_channels_shape,
    .forward = bias_channels_forward,
    .backward = bias_channels_backward,
    .flags = GM_OP_OVERWRITES,
    .grad = bias_channels_grad,
};

gm_node *gm_bias_channels(gm_graph *g, gm_node *x, gm_node *bias) {
    gm_node *in[2] = {x, bias};
    return gm_node_new(g, &gm_op_bias_channels, in, 2, NULL, 0);
}
