/* Room for OpenBLAS's per-thread buffer, checked before a thread first
 * multiplies. OpenBLAS 0.3.21 retries a failed buffer allocation for ever
 * (blas_memory_alloc in driver/others/memory.c), so under a memory limit
 * (ulimit -v, ulimit -d) a thread without room spins instead of failing,
 * and so does each of OpenBLAS's worker threads, which take a buffer when
 * the library loads and which exit() then waits for. Internal to libgm
 * and the gm command (docs/performance.md). */
#ifndef GM_BLAS_THREAD_BUFFER_H
#define GM_BLAS_THREAD_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/status.h"

/* What OpenBLAS maps for one thread's buffer: its BUFFER_SIZE (128 MiB
 * in x86-64 builds) and two pages, as strace shows it asking. */
#define GM_BLAS_BUFFER_BYTES (((size_t)128 << 20) + 8192)

/* True if one more buffer fits in the address space now (mapped and
 * unmapped at once); otherwise false, with why in `why`: the limit, what
 * is in use and what to do. */
bool gm_blas_buffer_fits(char *why, size_t why_size);

/* Makes sure the calling thread has its OpenBLAS buffer, once per thread:
 * checks that it fits, then has OpenBLAS allocate it, both under one lock
 * so that threads starting together do not count the same room. Returns
 * GM_ERR_NOMEM, with the limit in the message, if it does not fit. Call
 * before a thread's first matrix product. */
gm_status gm_blas_thread_ready(gm_error *err);

#endif
