/* Matrix products in bfloat16 through oneDNN: C = op(A) op(B) (+ C) with
 * A and B rounded to bfloat16 (round to nearest even, as PyTorch's
 * autocast) and products accumulated in float32, on AMX tiles or
 * AVX512-BF16 dot products, whichever oneDNN picks for the CPU. A plan is
 * made once, when a graph compiles, for one shape; running it allocates
 * nothing. */
#ifndef GM_ONEDNN_GEMM_H
#define GM_ONEDNN_GEMM_H

#include <stdbool.h>

#include "gm/status.h"

/* One product's shape, in cblas_sgemm's row-major terms. */
typedef struct gm_gemm_shape {
    bool trans_a, trans_b;
    int m, n, k;
    int lda, ldb, ldc;
    bool accumulate; /* beta 1: add to C; beta 0: overwrite it */
} gm_gemm_shape;

typedef struct gm_onednn gm_onednn;
typedef struct gm_bf16_gemm gm_bf16_gemm;

/* oneDNN's CPU engine and a stream on it, for one graph's products; the
 * products run on `threads` OpenMP threads (the experiment's
 * blas_threads, so that results do not depend on --jobs). NULL with err
 * set if oneDNN cannot start or the CPU lacks bfloat16 products. */
gm_onednn *gm_onednn_create(int threads, gm_error *err);
void gm_onednn_free(gm_onednn *d);

/* The plan of one product; NULL with err set if oneDNN refuses it. */
gm_bf16_gemm *gm_bf16_gemm_plan(gm_onednn *d, const gm_gemm_shape *s,
                                gm_error *err);
bool gm_bf16_gemm_fits(const gm_bf16_gemm *p, const gm_gemm_shape *s);
void gm_bf16_gemm_run(gm_bf16_gemm *p, const float *a, const float *b,
                      float *c);
void gm_bf16_gemm_free(gm_bf16_gemm *p);

#endif
