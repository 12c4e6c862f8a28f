/* The OpenBLAS kernel to ask for, from the CPU's features and OpenBLAS's
 * own pick: OpenBLAS 0.3.21 falls back to Prescott (SSE3) on x86 CPUs it
 * does not know, even when they run AVX-512. */
#include "kernel_choice.h"

#include <stddef.h>
#include <string.h>

/* The widest instructions a kernel uses, weakest first. */
typedef enum isa_level {
    ISA_SSE,
    ISA_AVX,
    ISA_AVX2,
    ISA_AVX512,
    ISA_AVX512_BF16,
} isa_level;

typedef struct kernel_level {
    const char *name; /* as openblas_get_corename() spells it */
    isa_level level;
} kernel_level;

/* OpenBLAS's x86 core names (driver/others/dynamic.c). */
static const kernel_level kernels[] = {
    {"Unknown", ISA_SSE},        {"Katmai", ISA_SSE},
    {"Coppermine", ISA_SSE},     {"Northwood", ISA_SSE},
    {"Prescott", ISA_SSE},       {"Banias", ISA_SSE},
    {"Atom", ISA_SSE},           {"Core2", ISA_SSE},
    {"Penryn", ISA_SSE},         {"Dunnington", ISA_SSE},
    {"Nehalem", ISA_SSE},        {"Athlon", ISA_SSE},
    {"Opteron", ISA_SSE},        {"Opteron_SSE3", ISA_SSE},
    {"Barcelona", ISA_SSE},      {"Nano", ISA_SSE},
    {"Bobcat", ISA_SSE},         {"Sandybridge", ISA_AVX},
    {"Bulldozer", ISA_AVX},      {"Piledriver", ISA_AVX},
    {"Steamroller", ISA_AVX},    {"Excavator", ISA_AVX},
    {"Haswell", ISA_AVX2},       {"Zen", ISA_AVX2},
    {"Dhyana", ISA_AVX2},        {"SkylakeX", ISA_AVX512},
    {"Cooperlake", ISA_AVX512_BF16}, {"SapphireRapids", ISA_AVX512_BF16},
};

static const kernel_level *known_kernel(const char *name) {
    for (size_t i = 0; name && i < sizeof kernels / sizeof kernels[0]; i++)
        if (strcmp(kernels[i].name, name) == 0) return &kernels[i];
    return NULL;
}

/* The best level OpenBLAS has a kernel for that the CPU runs; ISA_SSE
 * stands for "nothing worth asking for". */
static isa_level cpu_level(const cli_cpu_features *c) {
    bool avx512 = c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl;
    if (avx512 && c->avx512_bf16) return ISA_AVX512_BF16;
    if (avx512) return ISA_AVX512;
    if (c->avx2 && c->fma) return ISA_AVX2;
    return ISA_SSE;
}

const char *cli_blas_kernel_choice(const cli_cpu_features *cpu,
                                  const char *openblas_core) {
    const kernel_level *have = known_kernel(openblas_core);
    isa_level can = cpu_level(cpu);
    if (!have || can <= have->level) return NULL;
    switch (can) {
    case ISA_AVX512_BF16: return "Cooperlake";
    case ISA_AVX512: return "SkylakeX";
    case ISA_AVX2: return cpu->amd ? "Zen" : "Haswell";
    default: return NULL;
    }
}
