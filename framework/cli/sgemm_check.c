/* An sgemm against a plain triple loop on a few shapes. */
#include "sgemm_check.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct sgemm_case {
    bool ta, tb;
    int m, n, k;
    float alpha, beta;
} sgemm_case;

static const sgemm_case cases[] = {
    {false, true, 256, 128, 256, 1.0f, 1.0f},  /* a Linear layer, bias in C */
    {false, false, 256, 256, 128, 1.0f, 0.0f}, /* its input gradient */
    {true, false, 128, 256, 256, 1.0f, 1.0f},  /* its weight gradient */
    {false, true, 32, 400, 784, 1.0f, 1.0f},   /* k over several blocks */
    {true, true, 37, 29, 1001, -0.5f, 0.25f},  /* odd sizes, edge kernels */
    {false, false, 1, 300, 77, 1.0f, 0.0f},    /* one row */
    {false, true, 512, 1, 128, 1.0f, 1.0f},    /* one column */
    {true, false, 3, 5, 2, 2.0f, 0.0f},        /* tiny */
};

void cli_sgemm_openblas(bool ta, bool tb, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb,
                       float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

/* Values in [-1, 1) from a fixed sequence (no global state). */
static void fill(float *x, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 8388608.0f - 1.0f;
    }
}

/* op(X) [rows, cols] of X, stored row-major with leading dimension ld,
 * copied row by row into out (transposed back when `t`). */
static void copy_op(const float *x, bool t, int ld, int rows, int cols,
                    float *out) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[(size_t)r * cols + c] =
                t ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

/* The first element of c that is off the plain product; false with it in
 * `why`. ar is op(A) [m, k], bt is op(B)^T [n, k]: both read along k. */
static bool compare(const sgemm_case *s, const float *ar, const float *bt,
                    const float *c0, const float *c, char *why,
                    size_t why_size) {
    for (int i = 0; i < s->m; i++) {
        for (int j = 0; j < s->n; j++) {
            const float *x = ar + (size_t)i * s->k, *y = bt + (size_t)j * s->k;
            double sum = 0.0, size = 0.0;
            for (int p = 0; p < s->k; p++) {
                double t = (double)x[p] * y[p];
                sum += t;
                size += fabs(t);
            }
            double c_in = s->beta != 0.0f ? c0[(size_t)i * s->n + j] : 0.0;
            double want = s->alpha * sum + s->beta * c_in;
            double bound = fabs(s->alpha) * size + fabs(s->beta * c_in);
            double tol = (s->k + 2) * FLT_EPSILON * bound + FLT_MIN;
            double got = c[(size_t)i * s->n + j];
            if (!(fabs(got - want) <= tol)) {
                snprintf(why, why_size,
                         "sgemm %dx%dx%d (%s, %s, alpha %g, beta %g): "
                         "C[%d,%d] = %.9g, a plain product gives %.9g",
                         s->m, s->n, s->k, s->ta ? "T" : "N",
                         s->tb ? "T" : "N", s->alpha, s->beta, i, j, got,
                         want);
                return false;
            }
        }
    }
    return true;
}

/* Checks one case; false with the disagreement in `why`. */
static bool check_case(cli_sgemm_fn *sgemm, const sgemm_case *s, char *why,
                       size_t why_size) {
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    size_t na = (size_t)s->m * s->k, nb = (size_t)s->k * s->n,
           nc = (size_t)s->m * s->n;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    float *ar = malloc(na * sizeof *ar), *bt = malloc(nb * sizeof *bt);
    float *c0 = malloc(nc * sizeof *c0), *c = malloc(nc * sizeof *c);
    bool ok = a && b && ar && bt && c0 && c;
    if (!ok) snprintf(why, why_size, "out of memory");
    if (ok) {
        fill(a, na, 1u + (uint32_t)s->m);
        fill(b, nb, 2u + (uint32_t)s->n);
        fill(c0, nc, 3u + (uint32_t)s->k);
        for (size_t i = 0; i < nc; i++) c[i] = s->beta != 0.0f ? c0[i] : NAN;
        sgemm(s->ta, s->tb, s->m, s->n, s->k, s->alpha, a, lda, b, ldb,
              s->beta, c, s->n);
        copy_op(a, s->ta, lda, s->m, s->k, ar);
        copy_op(b, !s->tb, ldb, s->n, s->k, bt);
        ok = compare(s, ar, bt, c0, c, why, why_size);
    }
    free(a);
    free(b);
    free(ar);
    free(bt);
    free(c0);
    free(c);
    return ok;
}

bool cli_sgemm_check(cli_sgemm_fn *sgemm, char *why, size_t why_size) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!check_case(sgemm, &cases[i], why, why_size)) return false;
    return true;
}
