/* The OpenBLAS kernel gm asks for: the decision from CPU facts (any
 * machine's) and the sgemm check that vets a kernel. */
#include <criterion/criterion.h>
#include <string.h>

#include "blas/kernel_choice.h"
#include "blas/sgemm_check.h"
#include "gm/blas.h"

/* ---- the decision, from facts ----------------------------------------- */

static const gm_cpu_features sse_only = {0};
static const gm_cpu_features avx2_intel = {.avx2 = true, .fma = true};
static const gm_cpu_features avx2_amd = {
    .avx2 = true, .fma = true, .amd = true};
static const gm_cpu_features avx512 = {.avx2 = true,
                                       .fma = true,
                                       .avx512f = true,
                                       .avx512bw = true,
                                       .avx512dq = true,
                                       .avx512vl = true};
static const gm_cpu_features avx512_bf16 = {.avx2 = true,
                                            .fma = true,
                                            .avx512f = true,
                                            .avx512bw = true,
                                            .avx512dq = true,
                                            .avx512vl = true,
                                            .avx512_bf16 = true};

static void expect_choice(const gm_cpu_features *cpu, const char *core,
                          const char *want) {
    const char *got = gm_blas_kernel_choice(cpu, core);
    const char *shown = core ? core : "(none)";
    if (!want)
        cr_expect_null(got, "OpenBLAS picked %s: keep it, not %s", shown,
                       got);
    else
        cr_expect(got && strcmp(got, want) == 0,
                  "OpenBLAS picked %s: want %s, got %s", shown, want,
                  got ? got : "(keep)");
}

/* The machine: a Xeon with AVX-512 and BF16 that OpenBLAS 0.3.21
 * does not know, so it loads Prescott. */
Test(blas_choice, an_unknown_xeon_gets_cooperlake) {
    expect_choice(&avx512_bf16, "Prescott", "Cooperlake");
}

Test(blas_choice, the_best_kernel_the_cpu_runs) {
    expect_choice(&avx512, "Prescott", "SkylakeX");
    expect_choice(&avx2_intel, "Prescott", "Haswell");
    expect_choice(&avx2_amd, "Prescott", "Zen");
    expect_choice(&avx512_bf16, "Nehalem", "Cooperlake");
    expect_choice(&avx2_intel, "Sandybridge", "Haswell");
    expect_choice(&avx2_amd, "Excavator", "Zen");
    expect_choice(&avx512_bf16, "Haswell", "Cooperlake");
    expect_choice(&avx512_bf16, "SkylakeX", "Cooperlake");
    expect_choice(&avx512, "Zen", "SkylakeX");
}

Test(blas_choice, a_kernel_as_good_as_the_cpu_is_kept) {
    expect_choice(&avx512_bf16, "Cooperlake", NULL);
    expect_choice(&avx512_bf16, "SapphireRapids", NULL);
    expect_choice(&avx512, "SkylakeX", NULL);
    expect_choice(&avx512, "Cooperlake", NULL);
    expect_choice(&avx2_intel, "Haswell", NULL);
    expect_choice(&avx2_intel, "Zen", NULL);
    expect_choice(&avx2_amd, "Haswell", NULL);
    expect_choice(&avx2_intel, "SkylakeX", NULL);
}

/* Without AVX2 and FMA there is nothing better to ask for; AVX-512 needs
 * all four of F, BW, DQ and VL for SkylakeX's kernels. */
Test(blas_choice, too_little_to_ask_for) {
    expect_choice(&sse_only, "Prescott", NULL);
    gm_cpu_features no_fma = {.avx2 = true};
    expect_choice(&no_fma, "Prescott", NULL);
    gm_cpu_features no_vl = avx512;
    no_vl.avx512vl = false;
    expect_choice(&no_vl, "Prescott", "Haswell");
    gm_cpu_features bf16_no_bw = avx512_bf16;
    bf16_no_bw.avx512bw = false;
    expect_choice(&bf16_no_bw, "Prescott", "Haswell");
}

/* A name gm does not know may be a newer OpenBLAS's better kernel. */
Test(blas_choice, an_unknown_core_name_is_kept) {
    expect_choice(&avx512_bf16, "Zen5", NULL);
    expect_choice(&avx512_bf16, "prescott", NULL);
    expect_choice(&avx512_bf16, "", NULL);
    expect_choice(&avx512_bf16, NULL, NULL);
}

/* ---- the sgemm check ---------------------------------------------------- */

Test(sgemm_check, the_loaded_kernel_passes) {
    char why[256] = "";
    cr_assert(gm_sgemm_check(gm_sgemm_openblas, why, sizeof why),
              "OpenBLAS %s: %s", gm_blas_core(), why);
}

static float at(const float *x, bool t, int ld, int r, int c) {
    return t ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

/* A correct sgemm that sums k backwards, in float: other rounding, within
 * the bound. `drop_last` forgets the last term of every sum; `read_c`
 * scales C by beta even when beta is 0 (NaN stays NaN). */
static bool drop_last, read_c;
static void loop_sgemm(bool ta, bool tb, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb,
                       float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int p = k - 1 - drop_last; p >= 0; p--)
                sum += at(a, ta, lda, i, p) * at(b, tb, ldb, p, j);
            float *cij = &c[(size_t)i * ldc + j];
            *cij = alpha * sum + (beta != 0.0f || read_c ? beta * *cij : 0);
        }
}

Test(sgemm_check, another_summation_order_passes) {
    char why[256] = "";
    drop_last = read_c = false;
    cr_assert(gm_sgemm_check(loop_sgemm, why, sizeof why), "%s", why);
}

Test(sgemm_check, a_missing_term_fails) {
    char why[256] = "";
    drop_last = true;
    read_c = false;
    cr_assert_not(gm_sgemm_check(loop_sgemm, why, sizeof why));
    cr_assert(strstr(why, "a plain product gives"), "%s", why);
}

Test(sgemm_check, reading_c_when_beta_is_zero_fails) {
    char why[256] = "";
    drop_last = false;
    read_c = true;
    cr_assert_not(gm_sgemm_check(loop_sgemm, why, sizeof why));
    cr_assert(strstr(why, "beta 0"), "%s", why);
}
