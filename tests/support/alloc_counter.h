/* Counts heap allocations made by any code in the process while counting
 * is on, and tells OpenBLAS's and oneDNN's apart from gm's: an allocation
 * made while a thread is inside cblas_sgemm is OpenBLAS's (its AVX-512
 * small-matrix kernels, SkylakeX and Cooperlake, allocate on every call),
 * one inside dnnl_primitive_execute oneDNN's (each call's argument map),
 * any other is gm's. Plain builds interpose malloc and friends on glibc's own;
 * sanitizer builds use the sanitizer's allocation hooks. The counter also
 * stands in for cblas_sgemm (and calls the next one: OpenBLAS, or a
 * preloaded stand-in) and for dnnl_primitive_execute to know when a
 * thread is inside them. */
#ifndef GM_TEST_ALLOC_COUNTER_H
#define GM_TEST_ALLOC_COUNTER_H

#include <stddef.h>

typedef struct alloc_counts {
    size_t gm;       /* made outside any OpenBLAS call */
    size_t openblas; /* made inside cblas_sgemm */
    size_t onednn;   /* made inside dnnl_primitive_execute */
} alloc_counts;

void alloc_counter_start(void);
/* Stops counting and returns the allocations since start. */
alloc_counts alloc_counter_stop(void);

#endif
