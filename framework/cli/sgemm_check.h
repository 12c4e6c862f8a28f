/* Checking an sgemm against a plain product, before gm trusts a kernel.
 * The gm command's (blas_kernel.c). */
#ifndef GM_CLI_SGEMM_CHECK_H
#define GM_CLI_SGEMM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, row-major; op transposes
 * when ta (tb) is set. With beta 0, C is not read. */
typedef void cli_sgemm_fn(bool ta, bool tb, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb,
                         float beta, float *c, int ldc);

/* OpenBLAS's cblas_sgemm, with the kernel and threads it has now. */
cli_sgemm_fn cli_sgemm_openblas;

/* True if `sgemm` agrees with a triple loop in double on a few shapes:
 * gm's Linear layers forward and backward, one past OpenBLAS's blocking of
 * k, odd sizes that reach every edge kernel, one row, one column. Each
 * element must be within the float error bound of a k-term sum,
 * (k + 2) eps sum |alpha a b| + |beta c|, and beta 0 must ignore NaN in
 * C. Otherwise false, with the first disagreement in `why`. */
bool cli_sgemm_check(cli_sgemm_fn *sgemm, char *why, size_t why_size);

#endif
