#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "blas/thread_buffer.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define MB (1024.0 * 1024.0)

/* The tightest of the limits an anonymous mapping counts against, as a
 * ulimit option and the bytes of it in use (from /proc/self/statm:
 * the whole address space, or data and stack). False if neither is set. */
static bool tightest_limit(char *option, double *limit, double *in_use) {
    struct rlimit as, data;
    bool has_as = getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
    bool has_data =
        getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur != RLIM_INFINITY;
    if (!has_as && !has_data) return false;
    bool by_as = has_as && (!has_data || as.rlim_cur <= data.rlim_cur);
    *option = by_as ? 'v' : 'd';
    *limit = (double)(by_as ? as.rlim_cur : data.rlim_cur);
    unsigned long size = 0, rss, shared, text, lib, data_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu %lu %lu %lu %lu", &size, &rss, &shared, &text,
                   &lib, &data_pages) != 6)
            size = data_pages = 0;
        fclose(f);
    }
    *in_use = (double)(by_as ? size : data_pages) * (double)getpagesize();
    return true;
}

bool gm_blas_buffer_fits(char *why, size_t why_size) {
    void *p = mmap(NULL, GM_BLAS_BUFFER_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        munmap(p, GM_BLAS_BUFFER_BYTES);
        return true;
    }
    int error = errno;
    char option;
    double limit, in_use;
    if (tightest_limit(&option, &limit, &in_use))
        snprintf(why, why_size,
                 "OpenBLAS needs %.0f MB of address space for each thread "
                 "that multiplies matrices, and the limit (ulimit -%c) is "
                 "%.0f MB with %.0f MB in use: raise it by %.0f MB for each "
                 "of OpenBLAS's threads and each run trained at once",
                 GM_BLAS_BUFFER_BYTES / MB, option, limit / MB, in_use / MB,
                 GM_BLAS_BUFFER_BYTES / MB);
    else
        snprintf(why, why_size,
                 "OpenBLAS's %.0f MB buffer for a thread that multiplies "
                 "matrices cannot be mapped: %s",
                 GM_BLAS_BUFFER_BYTES / MB, strerror(error));
    return false;
}

/* OpenBLAS 0.3.21 keeps one pool of buffers for the process: a product
 * takes a free one or maps a new one (spinning if it cannot), gives it
 * back when done, and the pool never shrinks. `ensured` is how many the
 * pool is known to hold; process-wide like the pool, under one lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int ensured;

#define MAX_HELD 128

gm_status gm_blas_buffers_ready(int threads, gm_error *err) {
    if (threads > MAX_HELD) threads = MAX_HELD;
    /* OpenBLAS's own allocator, looked up rather than linked: it is not
     * part of the CBLAS interface, and another BLAS may lack it (then
     * only the room for one buffer is checked). */
    void *(*buffer_alloc)(int);
    void (*buffer_free)(void *);
    *(void **)&buffer_alloc = dlsym(RTLD_DEFAULT, "blas_memory_alloc");
    *(void **)&buffer_free = dlsym(RTLD_DEFAULT, "blas_memory_free");
    bool has_pool = buffer_alloc && buffer_free;
    void *held[MAX_HELD];
    int n_held = 0;
    bool fits = true;
    char why[GM_ERROR_MAX];
    pthread_mutex_lock(&pool_lock);
    if (ensured < threads) {
        /* Holding `threads` buffers at once makes the pool map the ones
         * it lacks, each after a check that it fits. */
        int wanted = has_pool ? threads : 1;
        while (fits && n_held < wanted) {
            fits = gm_blas_buffer_fits(why, sizeof why);
            if (fits && has_pool) held[n_held] = buffer_alloc(0);
            if (fits) n_held++;
        }
        for (int i = 0; has_pool && i < n_held; i++) buffer_free(held[i]);
        if (fits && has_pool) ensured = threads;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!fits) return gm_error_set(err, GM_ERR_NOMEM, "out of memory: %s", why);
    return GM_OK;
}
