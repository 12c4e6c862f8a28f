/* The Frechet distance between Gaussian fits (gm/frechet.h): covariances
 * by dgemm over blocks of centred rows, the square-root trace by two
 * symmetric eigen-decompositions (LAPACK's dsyev, which Debian's OpenBLAS
 * carries). */
#include "gm/frechet.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's symmetric eigen-solver (Fortran calling convention, with the
 * hidden lengths of the two character arguments). No header declares it
 * without LAPACKE, which gm does not need. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a,
                   const int *lda, double *w, double *work, const int *lwork,
                   int *info, size_t jobz_len, size_t uplo_len);

/* Rows centred per dgemm of the covariance. */
#define BLOCK 256

/* dsyev's workspace: (block size + 2) n, its optimum for a block of 32. */
static int lapack_work(int d) { return 34 * d; }

long gm_frechet_work(int d) { return 3L * d * d + d + lapack_work(d); }

struct gm_frechet {
    int d;
    double *mean, *cov;         /* the reference's [d], [d, d] */
    double *fit_mean, *fit_cov; /* a measured set's */
    double *centred;            /* [BLOCK, d] */
    double *work;               /* gm_frechet_work(d) */
};

/* Mean [d] and unbiased covariance [d, d] of rows [n, d]. */
static void fit(const float *rows, int n, int d, double *mean, double *cov,
                double *centred) {
    memset(mean, 0, (size_t)d * sizeof *mean);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            mean[j] += rows[(size_t)i * d + j];
    for (int j = 0; j < d; j++)
        mean[j] /= n;
    for (int first = 0; first < n; first += BLOCK) {
        int b = n - first < BLOCK ? n - first : BLOCK;
        for (int i = 0; i < b; i++)
            for (int j = 0; j < d; j++)
                centred[(size_t)i * d + j] =
                    rows[(size_t)(first + i) * d + j] - mean[j];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, b,
                    1.0 / (n - 1), centred, d, centred, d, first ? 1.0 : 0.0,
                    cov, d);
    }
}

/* Eigenvalues of the symmetric a [d, d] into w [d] (ascending), and the
 * eigenvectors into a's rows when `vectors`. */
static void eigen(double *a, int d, double *w, double *work, bool vectors) {
    int lwork = lapack_work(d), info = 0;
    dsyev_(vectors ? "V" : "N", "U", &d, a, &d, w, work, &lwork, &info, 1, 1);
    GM_ASSERT(info == 0); /* only a bad argument or no convergence fails */
}

double gm_frechet_distance(const double *mu1, const double *s1,
                           const double *mu2, const double *s2, int d,
                           double *work) {
    size_t dd = (size_t)d * d;
    double *a = work, *root = a + dd, *t = root + dd, *w = t + dd;
    double *lapack = w + d;
    /* root = s1^(1/2) = V^T diag(sqrt(l)) V, V's rows the eigenvectors
     * (dsyev's column-major output read row-major) */
    memcpy(a, s1, dd * sizeof *a);
    eigen(a, d, w, lapack, true);
    for (int i = 0; i < d; i++) {
        double scale = sqrt(sqrt(w[i] > 0.0 ? w[i] : 0.0));
        for (int j = 0; j < d; j++)
            a[(size_t)i * d + j] *= scale;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, a, d, a,
                d, 0.0, root, d);
    /* tr (s1 s2)^(1/2) = sum sqrt(eigenvalues of root s2 root) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, root,
                d, s2, d, 0.0, t, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d,
                root, d, 0.0, a, d);
    eigen(a, d, w, lapack, false);
    double fd = 0.0;
    for (int i = 0; i < d; i++) {
        double diff = mu1[i] - mu2[i];
        fd += diff * diff + s1[(size_t)i * d + i] + s2[(size_t)i * d + i] -
              2.0 * sqrt(w[i] > 0.0 ? w[i] : 0.0);
    }
    return fd;
}

void gm_frechet_free(gm_frechet *f) {
    if (!f) return;
    free(f->mean);
    free(f->cov);
    free(f->fit_mean);
    free(f->fit_cov);
    free(f->centred);
    free(f->work);
    free(f);
}

gm_frechet *gm_frechet_create(const float *real, int n, int d, gm_error *err) {
    if (n < 2 || d < 1) {
        gm_error_set(err, GM_ERR_INVALID,
                     "Frechet distance: need 2 or more rows of 1 or more "
                     "features, got %d of %d",
                     n, d);
        return NULL;
    }
    size_t dd = (size_t)d * d;
    gm_frechet *f = calloc(1, sizeof *f);
    bool ok = f && (f->mean = malloc((size_t)d * sizeof(double))) &&
              (f->cov = malloc(dd * sizeof(double))) &&
              (f->fit_mean = malloc((size_t)d * sizeof(double))) &&
              (f->fit_cov = malloc(dd * sizeof(double))) &&
              (f->centred = malloc((size_t)BLOCK * d * sizeof(double))) &&
              (f->work = malloc((size_t)gm_frechet_work(d) * sizeof(double)));
    if (!ok) {
        gm_frechet_free(f);
        gm_error_set(err, GM_ERR_NOMEM,
                     "Frechet distance: out of memory for %d features", d);
        return NULL;
    }
    f->d = d;
    fit(real, n, d, f->mean, f->cov, f->centred);
    return f;
}

double gm_frechet_measure(gm_frechet *f, const float *rows, int n) {
    GM_ASSERT(n >= 2);
    fit(rows, n, f->d, f->fit_mean, f->fit_cov, f->centred);
    return gm_frechet_distance(f->fit_mean, f->fit_cov, f->mean, f->cov, f->d,
                               f->work);
}
