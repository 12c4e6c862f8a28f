/* The GEMM-only bound of a step whose sgemm calls are not known in advance
 * (the convolutions choose their chunks): the program defines
 * cblas_sgemm itself, which the dynamic linker binds libgm's calls to,
 * records the shape of every call made while recording is on, and passes
 * each call on to OpenBLAS's. sgemm_replay_step then makes the same calls
 * (shapes, transposes, beta) on buffers of its own, one per distinct
 * pointer gm used, so they reuse memory as gm's scratch does. Include it
 * in one benchmark program only. */
#ifndef GM_BENCH_SGEMM_REPLAY_H
#define GM_BENCH_SGEMM_REPLAY_H

#include <dlfcn.h>

#include "bench_util.h"

enum { REPLAY_MAX_CALLS = 8192, REPLAY_MAX_BUFFERS = 8192 };

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
                         enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                         const float *, blasint, const float *, blasint, float,
                         float *, blasint);

typedef struct replay_call {
    enum CBLAS_ORDER order;
    enum CBLAS_TRANSPOSE ta, tb;
    blasint m, n, k, lda, ldb, ldc;
    float alpha, beta;
    int a, b, c; /* buffer indices */
} replay_call;

typedef struct replay_buffer {
    const void *gm; /* the pointer gm passed */
    size_t floats;  /* the most any call read or wrote from it */
    float *own;
} replay_buffer;

static struct sgemm_replay {
    bool recording;
    bool overflow;
    int n_calls, n_buffers;
    double flops;
    replay_call call[REPLAY_MAX_CALLS];
    replay_buffer buf[REPLAY_MAX_BUFFERS];
} replay;

static int replay_buffer_of(const void *p, size_t floats) {
    for (int i = 0; i < replay.n_buffers; i++)
        if (replay.buf[i].gm == p) {
            if (floats > replay.buf[i].floats) replay.buf[i].floats = floats;
            return i;
        }
    if (replay.n_buffers == REPLAY_MAX_BUFFERS) {
        replay.overflow = true;
        return 0;
    }
    replay.buf[replay.n_buffers] = (replay_buffer){p, floats, NULL};
    return replay.n_buffers++;
}

/* Floats a row-major operand of `rows` x `cols` with leading dimension ld
 * spans. */
static size_t replay_span(blasint rows, blasint cols, blasint ld) {
    return rows ? (size_t)(rows - 1) * (size_t)ld + (size_t)cols : 0;
}

void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta,
                 enum CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                 float alpha, const float *a, blasint lda, const float *b,
                 blasint ldb, float beta, float *c, blasint ldc) {
    static sgemm_fn openblas;
    if (!openblas) openblas = (sgemm_fn)dlsym(RTLD_NEXT, "cblas_sgemm");
    if (replay.recording && order == CblasRowMajor) {
        if (replay.n_calls == REPLAY_MAX_CALLS) {
            replay.overflow = true;
        } else {
            bool at = ta == CblasTrans, bt = tb == CblasTrans;
            replay.call[replay.n_calls++] =
                (replay_call){order,
                              ta,
                              tb,
                              m,
                              n,
                              k,
                              lda,
                              ldb,
                              ldc,
                              alpha,
                              beta,
                              replay_buffer_of(a, at ? replay_span(k, m, lda)
                                                     : replay_span(m, k, lda)),
                              replay_buffer_of(b, bt ? replay_span(n, k, ldb)
                                                     : replay_span(k, n, ldb)),
                              replay_buffer_of(c, replay_span(m, n, ldc))};
            replay.flops += 2.0 * m * n * k;
        }
    }
    openblas(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Records the sgemm calls of one run of `step`; false if they did not fit
 * the tables or were not all row-major. */
static bool sgemm_replay_record(const bench_step *step) {
    replay.recording = true;
    step->run(step->state);
    replay.recording = false;
    for (int i = 0; !replay.overflow && i < replay.n_buffers; i++)
        replay.buf[i].own = bench_alloc(replay.buf[i].floats);
    return !replay.overflow && replay.n_calls > 0;
}

static void sgemm_replay_step(void *unused) {
    (void)unused;
    for (int i = 0; i < replay.n_calls; i++) {
        const replay_call *r = &replay.call[i];
        cblas_sgemm(r->order, r->ta, r->tb, r->m, r->n, r->k, r->alpha,
                    replay.buf[r->a].own, r->lda, replay.buf[r->b].own, r->ldb,
                    r->beta, replay.buf[r->c].own, r->ldc);
    }
}

static void sgemm_replay_free(void) {
    for (int i = 0; i < replay.n_buffers; i++)
        free(replay.buf[i].own);
}

#endif
