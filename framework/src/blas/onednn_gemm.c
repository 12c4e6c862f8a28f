/* bfloat16 products on oneDNN's matmul primitive (the v2 C API of
 * Debian's oneDNN 2.6): per product, two reorders round the float32
 * operands to bfloat16 copies in the same layout (contiguous
 * conversions), and the matmul reads the copies, strided as the operands
 * are, and writes float32 C, adding to it through a sum post-op when the
 * product accumulates. The copies and oneDNN's scratchpads are the plan's
 * own buffers (scratchpad mode "user"), so a run allocates nothing. */
#include "onednn_gemm.h"

#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "gm/blas.h"

struct gm_onednn {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
};

/* A primitive with the memory objects it runs on. */
typedef struct primitive_run {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[4];
    int n_args;
} primitive_run;

struct gm_bf16_gemm {
    gm_onednn *onednn;
    gm_gemm_shape shape;
    primitive_run round_a, round_b, matmul;
    dnnl_memory_t a, b, c;         /* the caller's float32 operands */
    dnnl_memory_t a16, b16, scratch[3];
    void *buffer; /* the bfloat16 copies and the scratchpads */
};

const char *gm_bf16_isa(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx)
        return "avx512_core_amx";
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16)
        return "avx512_core_bf16";
    return NULL;
}

static gm_status dnnl_failed(gm_error *err, const char *what,
                             dnnl_status_t s) {
    return gm_error_set(err, GM_ERR_INVALID, "oneDNN: %s failed (status %d)",
                        what, (int)s);
}

gm_onednn *gm_onednn_create(int threads, gm_error *err) {
    if (!gm_bf16_isa()) {
        gm_error_set(err, GM_ERR_INVALID,
                     "bfloat16 products need a CPU with AMX_BF16 or "
                     "AVX512_BF16 (amx_bf16 or avx512_bf16 in "
                     "/proc/cpuinfo); this one has neither, or "
                     "DNNL_MAX_CPU_ISA hides them");
        return NULL;
    }
    gm_onednn *d = calloc(1, sizeof *d);
    if (!d) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->threads = threads < 1 ? 1 : threads;
    dnnl_status_t s = dnnl_engine_create(&d->engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&d->stream, d->engine,
                               dnnl_stream_default_flags);
    if (s != dnnl_success) {
        dnnl_failed(err, "creating the CPU engine", s);
        gm_onednn_free(d);
        return NULL;
    }
    return d;
}

void gm_onednn_free(gm_onednn *d) {
    if (!d) return;
    if (d->stream) dnnl_stream_destroy(d->stream);
    if (d->engine) dnnl_engine_destroy(d->engine);
    free(d);
}

/* A [rows, cols] matrix stored row-major with leading dimension ld, read
 * transposed or not: the strides of op(M). */
static dnnl_status_t matrix_md(dnnl_memory_desc_t *md, int rows, int cols,
                               bool trans, int ld, dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {trans ? 1 : ld, trans ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

static size_t align64(size_t bytes) { return (bytes + 63) & ~(size_t)63; }

/* The primitive of pd with its scratchpad's size; pd is destroyed. */
static dnnl_status_t make_primitive(dnnl_primitive_desc_t pd,
                                    dnnl_primitive_t *prim,
                                    dnnl_memory_desc_t *scratch_md) {
    *scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_status_t s = dnnl_primitive_create(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

/* Attributes with the scratchpad in the caller's hands and, for a
 * product that accumulates, a sum post-op (C += the product); NULL if
 * any of it fails, rather than a product that would overwrite. */
static dnnl_primitive_attr_t user_scratchpad(bool accumulate) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    bool ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
              dnnl_primitive_attr_set_scratchpad_mode(
                  attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && accumulate)
        ok = dnnl_post_ops_create(&ops) == dnnl_success &&
             dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    if (ops) dnnl_post_ops_destroy(ops);
    if (!ok && attr) {
        dnnl_primitive_attr_destroy(attr);
        attr = NULL;
    }
    return attr;
}

gm_bf16_gemm *gm_bf16_gemm_plan(gm_onednn *d, const gm_gemm_shape *sh,
                                gm_error *err) {
    gm_bf16_gemm *p = calloc(1, sizeof *p);
    if (!p) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    p->onednn = d;
    p->shape = *sh;
    /* oneDNN sizes its blocking by the threads it will run on */
    omp_set_num_threads(d->threads);
    dnnl_memory_desc_t a32, b32, a16, b16, c, scratch[3];
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = matrix_md(&a32, sh->m, sh->k, sh->trans_a, sh->lda, dnnl_f32);
    if (s == dnnl_success)
        s = matrix_md(&a16, sh->m, sh->k, sh->trans_a,
                      sh->trans_a ? sh->m : sh->k, dnnl_bf16);
    if (s == dnnl_success)
        s = matrix_md(&b32, sh->k, sh->n, sh->trans_b, sh->ldb, dnnl_f32);
    if (s == dnnl_success)
        s = matrix_md(&b16, sh->k, sh->n, sh->trans_b,
                      sh->trans_b ? sh->k : sh->n, dnnl_bf16);
    if (s == dnnl_success)
        s = matrix_md(&c, sh->m, sh->n, false, sh->ldc, dnnl_f32);
    dnnl_primitive_attr_t plain = user_scratchpad(false);
    dnnl_primitive_attr_t mm_attr = user_scratchpad(sh->accumulate);
    if (!plain || !mm_attr) s = dnnl_out_of_memory;
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, &a32, d->engine, &a16,
                                               d->engine, plain);
    if (s == dnnl_success) s = make_primitive(pd, &p->round_a.prim, &scratch[0]);
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, &b32, d->engine, &b16,
                                               d->engine, plain);
    if (s == dnnl_success) s = make_primitive(pd, &p->round_b.prim, &scratch[1]);
    dnnl_matmul_desc_t mm;
    if (s == dnnl_success) s = dnnl_matmul_desc_init(&mm, &a16, &b16, NULL, &c);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &mm, mm_attr, d->engine, NULL);
    if (s == dnnl_success) s = make_primitive(pd, &p->matmul.prim, &scratch[2]);
    if (plain) dnnl_primitive_attr_destroy(plain);
    if (mm_attr) dnnl_primitive_attr_destroy(mm_attr);

    size_t a16_bytes = 0, b16_bytes = 0, bytes = 0;
    if (s == dnnl_success) {
        a16_bytes = align64(dnnl_memory_desc_get_size(&a16));
        b16_bytes = align64(dnnl_memory_desc_get_size(&b16));
        bytes = a16_bytes + b16_bytes;
        for (int i = 0; i < 3; i++)
            bytes += align64(dnnl_memory_desc_get_size(&scratch[i]));
    }
    if (s == dnnl_success && !(p->buffer = aligned_alloc(64, bytes ? bytes : 64)))
        s = dnnl_out_of_memory;
    char *at = p->buffer;
    if (s == dnnl_success) s = dnnl_memory_create(&p->a, &a32, d->engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&p->b, &b32, d->engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&p->c, &c, d->engine, DNNL_MEMORY_NONE);
    if (s == dnnl_success) s = dnnl_memory_create(&p->a16, &a16, d->engine, at);
    at += a16_bytes;
    if (s == dnnl_success) s = dnnl_memory_create(&p->b16, &b16, d->engine, at);
    at += b16_bytes;
    for (int i = 0; i < 3 && s == dnnl_success; i++) {
        s = dnnl_memory_create(&p->scratch[i], &scratch[i], d->engine, at);
        at += align64(dnnl_memory_desc_get_size(&scratch[i]));
    }
    if (s != dnnl_success) {
        char what[96];
        snprintf(what, sizeof what, "planning a %dx%dx%d bfloat16 product",
                 sh->m, sh->k, sh->n);
        dnnl_failed(err, what, s);
        gm_bf16_gemm_free(p);
        return NULL;
    }
    p->round_a = (primitive_run){p->round_a.prim,
                                 {{DNNL_ARG_FROM, p->a},
                                  {DNNL_ARG_TO, p->a16},
                                  {DNNL_ARG_SCRATCHPAD, p->scratch[0]}},
                                 3};
    p->round_b = (primitive_run){p->round_b.prim,
                                 {{DNNL_ARG_FROM, p->b},
                                  {DNNL_ARG_TO, p->b16},
                                  {DNNL_ARG_SCRATCHPAD, p->scratch[1]}},
                                 3};
    p->matmul = (primitive_run){p->matmul.prim,
                                {{DNNL_ARG_SRC, p->a16},
                                 {DNNL_ARG_WEIGHTS, p->b16},
                                 {DNNL_ARG_DST, p->c},
                                 {DNNL_ARG_SCRATCHPAD, p->scratch[2]}},
                                4};
    return p;
}

bool gm_bf16_gemm_fits(const gm_bf16_gemm *p, const gm_gemm_shape *s) {
    const gm_gemm_shape *t = &p->shape; /* field by field: not the padding */
    return t->trans_a == s->trans_a && t->trans_b == s->trans_b &&
           t->m == s->m && t->n == s->n && t->k == s->k && t->lda == s->lda &&
           t->ldb == s->ldb && t->ldc == s->ldc &&
           t->accumulate == s->accumulate;
}

static void run(const gm_onednn *d, const primitive_run *r) {
    dnnl_primitive_execute(r->prim, d->stream, r->n_args, r->args);
}

void gm_bf16_gemm_run(gm_bf16_gemm *p, const float *a, const float *b,
                      float *c) {
    const gm_onednn *d = p->onednn;
    /* OpenMP's thread count is the calling thread's own setting */
    if (omp_get_max_threads() != d->threads) omp_set_num_threads(d->threads);
    dnnl_memory_set_data_handle(p->a, (void *)a);
    dnnl_memory_set_data_handle(p->b, (void *)b);
    dnnl_memory_set_data_handle(p->c, c);
    run(d, &p->round_a);
    run(d, &p->round_b);
    run(d, &p->matmul);
}

void gm_bf16_gemm_free(gm_bf16_gemm *p) {
    if (!p) return;
    dnnl_memory_t mems[] = {p->a, p->b, p->c, p->a16, p->b16,
                            p->scratch[0], p->scratch[1], p->scratch[2]};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    primitive_run *runs[] = {&p->round_a, &p->round_b, &p->matmul};
    for (int i = 0; i < 3; i++)
        if (runs[i]->prim) dnnl_primitive_destroy(runs[i]->prim);
    free(p->buffer);
    free(p);
}
