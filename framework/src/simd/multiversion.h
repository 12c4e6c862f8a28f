/* GM_MULTIVERSION: compiles a hot loop three times, for AVX-512
 * (x86-64-v4), AVX2 with FMA (x86-64-v3) and baseline x86-64, and lets the
 * loader pick the widest the CPU runs (GCC's target_clones, through glibc's
 * ifunc). libgm itself is built for baseline x86-64 so that it runs
 * anywhere; without this its vectorised loops use 4 float lanes where the
 * CPU may have 16. The clones may contract a*b+c into one FMA, so results
 * can differ in the last bit between CPUs, as OpenBLAS's kernels already
 * make them do; on one machine they are repeatable. */
#ifndef GM_MULTIVERSION_H
#define GM_MULTIVERSION_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) &&         \
    defined(__linux__)
#define GM_MULTIVERSION                                                        \
    __attribute__((                                                            \
        target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GM_MULTIVERSION
#endif

#endif
