/* The OpenBLAS kernel gm asks for: the decision from CPU facts (any
 * machine's), the sgemm check on the kernels this CPU runs, and the gm
 * command choosing, re-executing and falling back (with OpenBLAS's answers
 * faked by tests/preload/fake_openblas.c). Also: the run file does not
 * depend on --jobs when OpenBLAS would use several threads. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shell_run.h"

#include "kernel_choice.h"
#include "sgemm_check.h"
#include "gm/blas.h"
#include "temp_dir.h"

#define GM GM_BINARY_DIR "/gm"
/* The environment of a gm on which OpenBLAS seems to have picked Prescott
 * by itself. ASan wants its runtime first among the libraries, and the
 * preloaded one comes before it. */
#define ON_PRESCOTT                                                           \
    "env -u OPENBLAS_CORETYPE -u GM_BLAS_AUTO LD_PRELOAD=" GM_FAKE_OPENBLAS  \
    " ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0"

/* ---- the decision, from facts ----------------------------------------- */

static const cli_cpu_features sse_only = {0};
static const cli_cpu_features avx2_intel = {.avx2 = true, .fma = true};
static const cli_cpu_features avx2_amd = {
    .avx2 = true, .fma = true, .amd = true};
static const cli_cpu_features avx512 = {.avx2 = true,
                                       .fma = true,
                                       .avx512f = true,
                                       .avx512bw = true,
                                       .avx512dq = true,
                                       .avx512vl = true};
static const cli_cpu_features avx512_bf16 = {.avx2 = true,
                                            .fma = true,
                                            .avx512f = true,
                                            .avx512bw = true,
                                            .avx512dq = true,
                                            .avx512vl = true,
                                            .avx512_bf16 = true};

static void expect_choice(const cli_cpu_features *cpu, const char *core,
                          const char *want) {
    const char *got = cli_blas_kernel_choice(cpu, core);
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
    cli_cpu_features no_fma = {.avx2 = true};
    expect_choice(&no_fma, "Prescott", NULL);
    cli_cpu_features no_vl = avx512;
    no_vl.avx512vl = false;
    expect_choice(&no_vl, "Prescott", "Haswell");
    cli_cpu_features bf16_no_bw = avx512_bf16;
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
    cr_assert(cli_sgemm_check(cli_sgemm_openblas, why, sizeof why),
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
    cr_assert(cli_sgemm_check(loop_sgemm, why, sizeof why), "%s", why);
}

Test(sgemm_check, a_missing_term_fails) {
    char why[256] = "";
    drop_last = true;
    read_c = false;
    cr_assert_not(cli_sgemm_check(loop_sgemm, why, sizeof why));
    cr_assert(strstr(why, "a plain product gives"), "%s", why);
}

Test(sgemm_check, reading_c_when_beta_is_zero_fails) {
    char why[256] = "";
    drop_last = false;
    read_c = true;
    cr_assert_not(cli_sgemm_check(loop_sgemm, why, sizeof why));
    cr_assert(strstr(why, "beta 0"), "%s", why);
}

/* ---- the check in a child gm, with each kernel this CPU runs ----------- */

/* The exit status of gm checking `kernel` while OpenBLAS loaded `loaded`. */
static int check_in_child(const char *loaded, const char *kernel, char *out,
                          size_t n) {
    return shell_run(out, n,
                     "env OPENBLAS_CORETYPE=%s GM_BLAS_CHECK_KERNEL=%s %s",
                     loaded, kernel, GM);
}

Test(sgemm_check, every_kernel_this_cpu_runs_passes_in_a_child) {
#if defined(__x86_64__)
    cli_cpu_features cpu = cli_cpu_features_detect();
    bool skx = cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl;
    struct {
        const char *kernel;
        bool runs;
    } kernels[] = {
        {"Prescott", true},
        {"Nehalem", true},
        {"Sandybridge", __builtin_cpu_supports("avx")},
        {"Haswell", cpu.avx2 && cpu.fma},
        {"Zen", cpu.avx2 && cpu.fma},
        {"SkylakeX", skx},
        {"Cooperlake", skx && cpu.avx512_bf16},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (!kernels[i].runs) continue;
        const char *k = kernels[i].kernel;
        cr_expect_eq(check_in_child(k, k, out, sizeof out), 0, "%s: %s", k,
                     out);
    }
#else
    cr_skip_test("OpenBLAS's x86 kernels only");
#endif
}

Test(sgemm_check, a_child_without_the_kernel_says_so) {
    char out[4096];
    cr_assert_eq(check_in_child("Prescott", "Cooperlake", out, sizeof out), 2,
                 "%s", out);
}

/* ---- the gm command's choice ------------------------------------------ */

static char dir[64];

static void make_dir(void) { temp_dir_make(dir, sizeof dir, "gm_blas"); }

static void remove_dir(void) { temp_dir_remove(dir); }

static const char tiny[] =
    "experiment: tiny\n"
    "seeds: [1]\n"
    "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 500}\n"
    "train: {steps: 4, batch_size: 32}\n"
    "eval: {every: 4, samples: 50}\n"
    "models:\n"
    "  gan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n";

/* The kernel gm should choose here when OpenBLAS seems to pick Prescott. */
static const char *choice_here(void) {
    cli_cpu_features cpu = cli_cpu_features_detect();
    return cli_blas_kernel_choice(&cpu, "Prescott");
}

/* Runs `env_prefix gm run tiny.yaml` into dir/r.h5; returns its output. */
static void run_tiny(const char *env_prefix, char *out, size_t n) {
    char path[128];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    int rc =
        shell_run(out, n, "%s run %s --out %s/r.h5", env_prefix, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
}

/* The root attribute blas_core of dir/r.h5. */
static void read_blas_core(char *out, size_t n) {
    char dump[64];
    int rc = shell_run(dump, sizeof dump,
                       "h5dump -a blas_core %s/r.h5 | "
                       "sed -n 's/.*(0): \"\\(.*\\)\"/\\1/p'",
                       dir);
    cr_assert_eq(rc, 0, "%s", dump);
    dump[strcspn(dump, "\n")] = '\0';
    snprintf(out, n, "%s", dump);
}

Test(blas_command, chooses_a_better_kernel_and_records_it, .init = make_dir,
     .fini = remove_dir) {
    const char *want = choice_here();
    if (!want) cr_skip_test("this CPU runs nothing better than Prescott");
    char out[8192], line[256], core[64];
    run_tiny(ON_PRESCOTT " " GM, out, sizeof out);
    snprintf(line, sizeof line,
             "OpenBLAS %s (chosen by gm; OpenBLAS picked Prescott)\n", want);
    cr_assert(strstr(out, line), "want '%s' in:\n%s", line, out);
    cr_assert_not(strstr(out, "warning"), "%s", out);
    read_blas_core(core, sizeof core);
    cr_assert_str_eq(core, want);
    cr_assert_eq(shell_run(out, sizeof out, ON_PRESCOTT " %s --version", GM),
                 0);
    snprintf(line, sizeof line, "OpenBLAS kernel %s (chosen by gm", want);
    cr_assert(strstr(out, line), "want '%s' in:\n%s", line, out);
}

Test(blas_command, keeps_the_kernel_when_its_products_are_wrong,
     .init = make_dir, .fini = remove_dir) {
    const char *want = choice_here();
    if (!want) cr_skip_test("this CPU runs nothing better than Prescott");
    char out[8192], warning[256], core[64];
    run_tiny("GM_TEST_WRONG_SGEMM=1 " ON_PRESCOTT " " GM, out, sizeof out);
    snprintf(warning, sizeof warning,
             "gm: warning: OpenBLAS's %s kernel failed gm's sgemm check "
             "(wrong products); keeping Prescott",
             want);
    cr_assert(strstr(out, warning), "want '%s' in:\n%s", warning, out);
    cr_assert(strstr(out, "OpenBLAS Prescott\n"), "%s", out);
    read_blas_core(core, sizeof core);
    cr_assert_str_eq(core, "Prescott");
}

Test(blas_command, gm_blas_auto_0_keeps_openblas_choice, .init = make_dir,
     .fini = remove_dir) {
    char out[8192];
    run_tiny(ON_PRESCOTT " GM_BLAS_AUTO=0 " GM, out, sizeof out);
    cr_assert(strstr(out, "OpenBLAS Prescott\n"), "%s", out);
}

Test(blas_command, a_kernel_the_user_set_is_kept, .init = make_dir,
     .fini = remove_dir) {
    char out[8192], core[64];
    run_tiny("env OPENBLAS_CORETYPE=Nehalem " GM, out, sizeof out);
    cr_assert(strstr(out, "OpenBLAS Nehalem (OPENBLAS_CORETYPE=Nehalem)\n"),
              "%s", out);
    read_blas_core(core, sizeof core);
    cr_assert_str_eq(core, "Nehalem");
}

/* ---- threads ------------------------------------------------------------ */

/* Layers wide enough for OpenBLAS to split products over threads. */
static const char wide[] =
    "experiment: wide\n"
    "seeds: [1, 2]\n"
    "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 2000}\n"
    "train: {steps: 6, batch_size: 512}\n"
    "eval: {every: 3, samples: 50}\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [400, 400]}\n"
    "    decoder: {hidden: [400, 400]}\n"
    "    params: {iwae_k: 1}\n";

/* OpenBLAS's products change in the last bits with its thread count
 * (docs/performance.md), so every run has one thread, whatever
 * OPENBLAS_NUM_THREADS says: one job allowed two threads writes the same
 * file as two jobs allowed one. */
Test(blas_threads, the_file_does_not_depend_on_jobs_or_threads,
     .init = make_dir, .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/wide.yaml", dir);
    write_text_file(path, wide);
    for (int jobs = 1; jobs <= 2; jobs++) {
        int rc =
            shell_run(out, sizeof out,
                      "env OPENBLAS_NUM_THREADS=%d %s run %s --jobs %d --quiet "
                      "--out %s/j%d.h5",
                      3 - jobs, GM, path, jobs, dir, jobs);
        cr_assert_eq(rc, 0, "%s", out);
    }
    const char *objects[] = {"/models/vae/seed_1/checkpoint/params",
                             "/models/vae/seed_2/metrics",
                             "/models/vae/seed_2/samples"};
    for (int i = 0; i < 3; i++) {
        int rc = shell_run(out, sizeof out, "h5diff -q %s/j1.h5 %s/j2.h5 %s %s",
                           dir, dir, objects[i], objects[i]);
        cr_assert_eq(rc, 0, "%s differs:\n%s", objects[i], out);
    }
}

/* An experiment may ask for several OpenBLAS threads per run (a lone big
 * run then uses the idle cores); the count is part of the experiment, so
 * the file still does not depend on --jobs, and --jobs defaults to the
 * cores over it. */
Test(blas_threads, the_experiment_sets_them_and_jobs_do_not_matter,
     .init = make_dir, .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/wide2.yaml", dir);
    char text[sizeof wide + 32];
    snprintf(text, sizeof text, "blas_threads: 2\n%s", wide);
    write_text_file(path, text);
    for (int jobs = 1; jobs <= 2; jobs++) {
        int rc = shell_run(out, sizeof out,
                           "%s run %s --jobs %d --quiet --out %s/t%d.h5", GM,
                           path, jobs, dir, jobs);
        cr_assert_eq(rc, 0, "%s", out);
    }
    const char *objects[] = {"/models/vae/seed_1/checkpoint/params",
                             "/models/vae/seed_2/metrics",
                             "/models/vae/seed_2/samples"};
    for (int i = 0; i < 3; i++) {
        int rc = shell_run(out, sizeof out, "h5diff -q %s/t1.h5 %s/t2.h5 %s %s",
                           dir, dir, objects[i], objects[i]);
        cr_assert_eq(rc, 0, "%s differs:\n%s", objects[i], out);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = shell_run(out, sizeof out,
                       "%s run %s --set train.steps=1 --out %s/d.h5 2>&1 | "
                       "head -1",
                       GM, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char want[64];
    snprintf(want, sizeof want, ", %ld job%s x 2 threads, ",
             cores > 2 ? cores / 2 : 1, cores > 3 ? "s" : "");
    cr_assert(strstr(out, want), "'%s' not in: %s", want, out);
}
