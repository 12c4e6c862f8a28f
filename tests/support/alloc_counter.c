#define _GNU_SOURCE /* RTLD_NEXT */
#include "alloc_counter.h"

#include <cblas.h>
#include <dlfcn.h>
#include <dnnl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Test-process state: the counter must see every allocation, whichever
 * library makes it, so it cannot be passed around. */
static atomic_bool counting;
static atomic_size_t gm_count, openblas_count, onednn_count;
/* How deep this thread is in cblas_sgemm and dnnl_primitive_execute
 * calls. */
static _Thread_local int inside_openblas, inside_onednn;

static void note_allocation(void) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed)) return;
    atomic_fetch_add_explicit(inside_openblas  ? &openblas_count
                              : inside_onednn ? &onednn_count
                                              : &gm_count,
                              1, memory_order_relaxed);
}

typedef void sgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE,
                      enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                      const float *, blasint, const float *, blasint, float,
                      float *, blasint);
static sgemm_fn *next_sgemm;
typedef dnnl_status_t execute_fn(const_dnnl_primitive_t, dnnl_stream_t, int,
                                 const dnnl_exec_arg_t *);
static execute_fn *next_execute;

/* Found before main, so that no lookup allocates while counting. */
__attribute__((constructor)) static void find_next_sgemm(void) {
    next_sgemm = (sgemm_fn *)dlsym(RTLD_NEXT, "cblas_sgemm");
    next_execute = (execute_fn *)dlsym(RTLD_NEXT, "dnnl_primitive_execute");
    if (!next_sgemm || !next_execute) {
        fputs("alloc_counter: no cblas_sgemm or dnnl_primitive_execute after "
              "the test's own\n",
              stderr);
        abort();
    }
}

/* libgm's bfloat16 products run oneDNN primitives here first; oneDNN
 * builds each call's argument map on the heap. */
dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t p,
                                     dnnl_stream_t stream, int nargs,
                                     const dnnl_exec_arg_t *args) {
    inside_onednn++;
    dnnl_status_t s = next_execute(p, stream, nargs, args);
    inside_onednn--;
    return s;
}

/* libgm's products come here first (the executable's definition wins). */
void cblas_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta,
                 enum CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k,
                 float alpha, const float *a, blasint lda, const float *b,
                 blasint ldb, float beta, float *c, blasint ldc) {
    inside_openblas++;
    next_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    inside_openblas--;
}

#ifdef GM_SANITIZE
/* From the sanitizer runtime's allocator interface (gcc ships the runtime
 * but not the header). */
void __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *ptr, size_t size) {
    (void)ptr;
    (void)size;
    note_allocation();
}
static void on_free(const volatile void *ptr) { (void)ptr; }

static void install(void) {
    static atomic_bool installed;
    if (!atomic_exchange(&installed, true))
        __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
#include <errno.h>
#include <stdint.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
    note_allocation();
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
    note_allocation();
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
    note_allocation();
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t align, size_t n) {
    note_allocation();
    return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n) {
    note_allocation();
    return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
    note_allocation();
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void free(void *p) { __libc_free(p); }

static void install(void) {}
#endif

void alloc_counter_start(void) {
    install();
    atomic_store(&gm_count, 0);
    atomic_store(&openblas_count, 0);
    atomic_store(&onednn_count, 0);
    atomic_store(&counting, true);
}

alloc_counts alloc_counter_stop(void) {
    atomic_store(&counting, false);
    return (alloc_counts){.gm = atomic_load(&gm_count),
                          .openblas = atomic_load(&openblas_count),
                          .onednn = atomic_load(&onednn_count)};
}
