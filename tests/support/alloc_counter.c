#include "alloc_counter.h"

#include <stdatomic.h>
#include <stdbool.h>

/* Test-process state: the counter must see every allocation, whichever
 * library makes it, so it cannot be passed around. */
static atomic_bool counting;
static atomic_size_t count;

static void note_allocation(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
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
    atomic_store(&count, 0);
    atomic_store(&counting, true);
}

size_t alloc_counter_stop(void) {
    atomic_store(&counting, false);
    return atomic_load(&count);
}
