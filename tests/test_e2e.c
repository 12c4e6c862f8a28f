/* End to end: the gm command on tiny experiments — run, summary, sample,
 * list, and the failures a user meets (bad file, NaN in training). */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtin.h"
#include "gm/data.h"
#include "gm/image_modes.h"
#include "gm/runfile.h"
#include "shell_run.h"
#include "temp_dir.h"

#define GM GM_BINARY_DIR "/gm"

static char dir[64];

static void make_dir(void) { temp_dir_make(dir, sizeof dir, "gm_e2e"); }

static void remove_dir(void) { temp_dir_remove(dir); }

static const char tiny[] =
    "experiment: tiny\n"
    "seeds: [1, 2]\n"
    "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 2000}\n"
    "train: {steps: 40, batch_size: 64, optimizer: {name: adam, lr: 1.0e-3}}\n"
    "eval: {every: 20, samples: 200}\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [16]}\n"
    "    decoder: {hidden: [16]}\n"
    "    params: {sigma: 0.1, iwae_k: 8}\n"
    "  gan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [16]}\n"
    "    discriminator: {hidden: [16]}\n";

static long series_length(hid_t f, const char *path) {
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(d, 0, "missing %s", path);
    hid_t s = H5Dget_space(d);
    hsize_t dims[3];
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    H5Dclose(d);
    return (long)dims[0];
}

static void read_status(hid_t f, char *out, size_t n) {
    hid_t a = H5Aopen(f, "status", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    cr_assert(H5Tis_variable_str(t) > 0);
    H5Aread(a, t, &s);
    snprintf(out, n, "%s", s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
}

/* In a pipe, gm run prints one short line per evaluation: run, step,
 * rate, time left and the model's headline metrics, not every metric. */
static void check_pipe_progress(const char *out) {
    int lines = 0;
    for (const char *l = strstr(out, "\n["); l; l = strstr(l + 1, "\n[")) {
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)strcspn(l + 1, "\n"), l + 1);
        cr_assert_lt(strlen(line), 200, "too long: %s", line);
        cr_assert(strstr(line, " steps/s  ") && strstr(line, "s left "),
                  "no rate or time left: %s", line);
        cr_assert(strstr(line, "step 20/40") || strstr(line, "step 40/40"),
                  "%s", line);
        cr_assert_null(strstr(line, "loss_"), "a training loss: %s", line);
        bool vae = strstr(line, "] vae seed ") != NULL;
        cr_assert(strstr(line, vae ? "  elbo_eval=" : "  d_real="),
                  "the objective's headline first: %s", line);
        cr_assert(strstr(line, " modes_covered="), "%s", line);
        lines++;
    }
    cr_assert_eq(lines, 8, "2 models x 2 seeds x 2 evaluations:\n%s", out);
}

Test(e2e, run_then_summary_then_sample, .init = make_dir, .fini = remove_dir) {
    char path[128], out[16384];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    int rc =
        shell_run(out, sizeof out, "%s run %s --out %s/tiny.h5", GM, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "wrote"), "%s", out);
    check_pipe_progress(out);

    snprintf(path, sizeof path, "%s/tiny.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    char status[64];
    read_status(f, status, sizeof status);
    cr_assert_str_eq(status, "complete");
    const char *models[2] = {"vae", "gan"};
    const char *metric[2] = {"elbo", "d_real"};
    for (int m = 0; m < 2; m++)
        for (int seed = 1; seed <= 2; seed++) {
            char p[128];
            snprintf(p, sizeof p, "/models/%s/seed_%d/metrics/step", models[m],
                     seed);
            cr_assert_eq(series_length(f, p), 2, "%s", p);
            snprintf(p, sizeof p, "/models/%s/seed_%d/metrics/%s", models[m],
                     seed, metric[m]);
            cr_assert_eq(series_length(f, p), 2, "%s", p);
            snprintf(p, sizeof p, "/models/%s/seed_%d/mode_counts", models[m],
                     seed);
            cr_assert_eq(series_length(f, p), 2, "%s", p);
        }
    H5Fclose(f);

    /* A complete file: nothing to resume, and it is left as it is. */
    rc = shell_run(out, sizeof out,
                   "cp %s %s.copy && %s run --resume %s 2>&1 && cmp %s %s.copy && "
                   "ls -a %s",
                   path, path, GM, path, path, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "is complete: every run has finished, nothing to "
                          "resume (the file is left as it is)"),
              "%s", out);
    cr_assert_null(strstr(out, "wrote"), "%s", out);
    cr_assert_null(strstr(out, ".lock"), "no lock file stays: %s", out);
    rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "vae") && strstr(out, "vae_elbo") &&
                  strstr(out, "gan") && strstr(out, "modes_covered"),
              "%s", out);
    rc = shell_run(out, sizeof out, "%s summary %s --csv", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "model,objective,n_seeds"), "%s", out);

    rc = shell_run(out, sizeof out, "%s sample %s --model gan --run-seed 2 -n 7",
                   GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    int lines = 0;
    for (char *c = out; *c; c++) lines += *c == '\n';
    cr_assert_eq(lines, 7, "%s", out);
    cr_assert(strchr(out, ','), "two columns: %s", out);

    rc = shell_run(out, sizeof out,
                   "%s sample %s --model vae -n 3 --out %s/s.csv", GM, path,
                   dir);
    cr_assert_eq(rc, 0, "%s", out);
    rc = shell_run(out, sizeof out, "wc -l < %s/s.csv", dir);
    cr_assert_eq(atoi(out), 3);

    rc = shell_run(out, sizeof out, "%s sample %s --model nope -n 3", GM, path);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "has no model 'nope' (it has vae, gan)"), "%s", out);
    rc = shell_run(out, sizeof out, "%s sample %s --model gann -n 3", GM, path);
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "did you mean 'gan'?"), "%s", out);
}

/* A run that diverges is recorded as failed: gm exits 1 naming it, the
 * file keeps what it logged, gm summary counts it as failed. */
Test(e2e, nan_stops_the_run_and_leaves_a_readable_file, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/nan.yaml", dir);
    /* SGD with lr 1e4 blows the GAN up within a few steps. */
    write_text_file(path, "experiment: nan\n"
                          "dataset: {name: ring, size: 1000}\n"
                          "train: {steps: 200, batch_size: 64,\n"
                          "        optimizer: {name: sgd, lr: 1.0e+4}}\n"
                          "eval: {every: 1, samples: 100}\n"
                          "models:\n"
                          "  gan:\n"
                          "    objective: gan\n"
                          "    generator: {hidden: [16]}\n"
                          "    discriminator: {hidden: [16]}\n");
    int rc =
        shell_run(out, sizeof out, "%s run %s --out %s/nan.h5", GM, path, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "model 'gan', seed 1: step "), "%s", out);
    cr_assert(strstr(out, " is inf") || strstr(out, " is nan") ||
                  strstr(out, " is -inf"),
              "%s", out);
    snprintf(path, sizeof path, "%s/nan.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    char status[256];
    read_status(f, status, sizeof status);
    cr_assert(strncmp(status, "failed: ", 8) == 0, "%s", status);
    long n = series_length(f, "/models/gan/seed_1/metrics/step");
    cr_assert_gt(n, 0, "the steps before the failure are logged");
    cr_assert_eq(series_length(f, "/models/gan/seed_1/metrics/d_real"), n);
    H5Fclose(f);
    rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "failed: 1 of 1 runs failed"), "%s", out);
    cr_assert(strstr(out, "0 (1 failed)"), "the model row counts it: %s", out);
    rc = shell_run(out, sizeof out, "%s summary --csv %s", GM, path);
    cr_assert(strstr(out, "objective,n_seeds,n_failed"), "%s", out);
    cr_assert(strstr(out, "\ngan,gan,0,1"), "%s", out);
    /* resuming reports the failed run again without retrying it... */
    rc = shell_run(out, sizeof out, "%s run --resume %s --quiet", GM, path);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "1 of 1 runs failed"), "%s", out);
    cr_assert(strstr(out, "--retry-failed"), "%s", out);
    /* ...which --retry-failed does, saying from which step (issue 27),
     * and it fails the same way */
    rc = shell_run(out, sizeof out, "%s run --resume %s --retry-failed", GM,
                   path);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "model 'gan', seed 1: step "), "%s", out);
    cr_assert(strstr(out, "gm run: [1/1] gan seed 1 goes on from step ") &&
                  strstr(out, " of 200 (its last checkpoint)\n"),
              "%s", out);
    rc = shell_run(out, sizeof out, "%s run %s/nan.yaml --retry-failed", GM,
                   dir);
    cr_assert_eq(rc, 2, "--retry-failed goes with --resume: %s", out);
}

Test(e2e, user_errors_exit_1_with_a_message, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[4096];
    int rc = shell_run(out, sizeof out, "%s run %s/missing.yaml", GM, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "missing.yaml"), "%s", out);
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    write_text_file(path, tiny);
    rc = shell_run(out, sizeof out,
                   "%s run %s --set models.gan.params.loss=sinkhorn", GM,
                   path);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "models.gan.params.loss"), "%s", out);
    cr_assert_null(strstr(out, "wrote"));
    rc = shell_run(out, sizeof out, "%s summary %s/none.h5", GM, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "none.h5"), "%s", out);
    /* The experiment file where its run file was meant. */
    rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "bad.yaml is an experiment file; this wants a run "
                          "file (RUN.h5): train it with 'gm run "),
              "%s", out);
}

/* More held-out rows than the dataset has, and the autoencoder with a KL
 * weight: errors naming the setting, exit 1. */
Test(e2e, evaluation_settings_errors, .init = make_dir, .fini = remove_dir) {
    char path[128], out[4096];
    snprintf(path, sizeof path, "%s/held.yaml", dir);
    write_text_file(path, tiny);
    int rc = shell_run(out, sizeof out,
                       "%s run %s --set eval.held_out=2001 --out %s/h.h5", GM,
                       path, dir);
    cr_assert_eq(rc, 1, "%s", out);
    /* checked when the file is read (or, before that, at set-up) */
    cr_assert(strstr(out, "eval.held_out") && strstr(out, "2001") &&
                  strstr(out, "2000"),
              "%s", out);
    rc = shell_run(out, sizeof out,
                   "%s run %s --set models.vae.params.posterior=deterministic "
                   "--out %s/d.h5",
                   GM, path, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "set params.beta to 0"), "%s", out);
}

Test(e2e, usage_errors_exit_2) {
    char out[4096];
    cr_assert_eq(shell_run(out, sizeof out, "%s", GM), 2);
    cr_assert_eq(shell_run(out, sizeof out, "%s frobnicate", GM), 2);
    cr_assert_eq(shell_run(out, sizeof out, "%s run", GM), 2);
    cr_assert_eq(shell_run(out, sizeof out, "%s run x.yaml --bogus", GM), 2);
    cr_assert_eq(shell_run(out, sizeof out, "%s sample x.h5 -n zero", GM), 2);
    cr_assert_eq(shell_run(out, sizeof out, "%s list things", GM), 2);
}

/* Each usage error of run, summary, sample and list: exit 2, before any file
 * is opened, with a first line saying what is wrong. */
Test(e2e, usage_errors_say_what_is_wrong) {
    static const char *const cases[][2] = {
        {"run x.yaml --set train.steps",
         "--set needs key.path=value, got 'train.steps'"},
        {"summary", "missing the run file"},
        {"summary ''", "the run file's name is empty"},
        {"summary a.h5 ''", "the run file's name is empty"},
        {"summary --bogus", "unexpected argument '--bogus'"},
        {"summary x.h5 --plugin", "--plugin needs a value"},
        {"sample", "missing the run file"},
        {"sample ''", "the run file's name is empty"},
        {"sample x.h5 -n 5", "missing --model"},
        {"sample x.h5 --model vae", "missing -n"},
        {"sample x.h5 -n 5 --model", "--model needs a value"},
        {"sample x.h5 -n 5 --model ''", "--model needs a value"},
        {"sample x.h5 --model vae -n", "-n needs a value"},
        {"sample x.h5 --model vae -n 0", "-n needs a count in 1.."},
        {"sample x.h5 --model vae -n 5 --run-seed ''", "--run-seed needs a value"},
        {"sample x.h5 --model vae -n 5 --run-seed -1", "--run-seed needs a seed"},
        {"sample x.h5 --model vae -n 5 --noise-seed 1x",
         "--noise-seed needs a seed"},
        {"sample x.h5 --model vae -n 5 --run-seed 99999999999999999999",
         "--run-seed needs a seed"},
        {"sample x.h5 --model vae -n 5 --out ''", "--out needs a value"},
        {"list", "missing what to list"},
        {"list objectives datasets", "unexpected argument 'datasets'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[4096], first[256];
        int rc = shell_run(out, sizeof out, "%s %s", GM, cases[i][0]);
        cr_assert_eq(rc, 2, "gm %s: exit %d\n%s", cases[i][0], rc, out);
        snprintf(first, sizeof first, "%.*s", (int)strcspn(out, "\n"), out);
        cr_assert(strstr(first, cases[i][1]), "gm %s: '%s' lacks '%s'",
                  cases[i][0], first, cases[i][1]);
    }
}

Test(e2e, help_version_and_lists) {
    char out[16384];
    cr_assert_eq(shell_run(out, sizeof out, "%s --version", GM), 0);
    cr_assert(strncmp(out, "gm ", 3) == 0, "%s", out);
    cr_assert_eq(shell_run(out, sizeof out, "%s --help", GM), 0);
    cr_assert(strstr(out, "summary"), "%s", out);
    const char *cmds[] = {"run", "summary", "sample", "list"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(shell_run(out, sizeof out, "%s %s --help", GM, cmds[i]),
                     0);
        cr_assert(strstr(out, "usage: gm"), "%s", out);
    }
    cr_assert_eq(shell_run(out, sizeof out, "%s sample --help", GM), 0);
    cr_assert(strstr(out, "\n  --run-seed S ") && strstr(out, "\n  --noise-seed S "),
              "every option is explained: %s", out);
    cr_assert_eq(shell_run(out, sizeof out, "%s list objectives", GM), 0);
    gm_registry *builtins = gm_builtin_registry();
    for (int i = 0; i < gm_registry_count(builtins); i++) {
        const char *name = gm_registry_at(builtins, i)->schema.name;
        char line[96]; /* each objective heads its entry: "name — summary" */
        snprintf(line, sizeof line, "\n%s \u2014 ", name);
        bool first = strncmp(out, line + 1, strlen(line + 1)) == 0;
        cr_assert(first || strstr(out, line), "%s missing in:\n%s", name,
                  out);
    }
    gm_registry_free(builtins);
    cr_assert(strstr(out, "lambda"), "parameters are listed: %s", out);
    cr_assert(strstr(out, "\n  headline: elbo_eval iwae_logpx distortion rate "
                            "active_units\n"),
              "vae_elbo's headline metrics are listed: %s", out);
    cr_assert(strstr(out, "\n  metrics:\n    elbo                   nats per "
                          "example (better: higher)\n"),
              "each objective's metrics are listed with their units: %s",
              out);
    cr_assert_eq(shell_run(out, sizeof out, "%s list layers", GM), 0);
    cr_assert(strstr(out, "\nconv_transpose2d  out, kernel, stride, padding, "
                          "bias\n") && strstr(out, "\nsoftplus\n"),
              "every layer kind with its arguments: %s", out);
    cr_assert_eq(shell_run(out, sizeof out, "%s list datasets", GM), 0);
    cr_assert(strstr(out, "ring") && strstr(out, "fashion_mnist"), "%s", out);
}

/* Runs train in parallel but are written in order: the file's contents
 * (metrics, samples, checkpoints) do not depend on --jobs. */
Test(e2e, jobs_do_not_change_the_run_file, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    for (int jobs = 1; jobs <= 3; jobs += 2) {
        int rc = shell_run(out, sizeof out,
                           "%s run %s --jobs %d --quiet --out %s/j%d.h5", GM,
                           path, jobs, dir, jobs);
        cr_assert_eq(rc, 0, "%s", out);
    }
    char dump[2][16384];
    const char *objects =
        "-d /models/vae/seed_2/metrics/elbo -d /models/gan/seed_1/samples "
        "-d /models/gan/seed_2/mode_counts "
        "-d /models/vae/seed_1/checkpoint/params/decoder/decoder.1.weight";
    for (int k = 0; k < 2; k++) {
        int rc = shell_run(dump[k], sizeof dump[k],
                           "h5dump %s %s/j%d.h5 | tail -n +2", objects, dir,
                           k ? 3 : 1);
        cr_assert_eq(rc, 0, "%s", dump[k]);
        cr_assert(strstr(dump[k], "DATA"), "%s", dump[k]);
    }
    cr_assert_str_eq(dump[0], dump[1]);
}

/* The flagship, shortened: every model trains, and the summary shows all
 * four with the mode and KL columns. */
Test(e2e, short_flagship_summary_has_all_four_models, .init = make_dir,
     .fini = remove_dir) {
    char out[16384];
    int rc =
        shell_run(out, sizeof out,
                  "%s run %s/experiments/gan_vs_vae.yaml --quiet --out %s/f.h5 "
                  "--set train.steps=20 --set eval.every=10 "
                  "--set eval.samples=300 --set dataset.size=3000 "
                  "--set train.batch_size=64 --set seeds=[1,2]",
                  GM, GM_SOURCE_DIR, dir);
    cr_assert_eq(rc, 0, "%s", out);
    rc = shell_run(out, sizeof out, "%s summary %s/f.h5", GM, dir);
    cr_assert_eq(rc, 0, "%s", out);
    const char *want[] = {"vae_elbo",      "joint_kl",    "gan_data_prior",
                          "gan_prior",     "modes_covered", "hq_fraction",
                          "kl_data_model", "kl_model_data", "complete"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(out, want[i]), "'%s' missing in:\n%s", want[i], out);
}

/* A dataset read from an HDF5 file while the run file is written, with
 * two jobs: HDF5 calls take turns. */
/* dir/data.h5 with dataset x: 2000 points in 3-d. */
static void write_points_h5(char *path, size_t n) {
    snprintf(path, n, "%s/data.h5", dir);
    static float x[2000][3];
    for (int i = 0; i < 2000; i++)
        for (int j = 0; j < 3; j++) x[i][j] = (float)((i * 7 + j * 3) % 11) / 11;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {2000, 3};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "x", H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                         H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           x),
                  0);
    H5Dclose(d);
    H5Sclose(space);
    H5Fclose(f);
}

Test(e2e, hdf5_dataset_with_parallel_jobs, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[8192];
    write_points_h5(path, sizeof path);
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "experiment: h5data\n"
             "seeds: [1, 2, 3]\n"
             "dataset: {name: hdf5, path: %s, key: x}\n"
             "train: {steps: 30, batch_size: 50}\n"
             "eval: {every: 10, samples: 40}\n"
             "models:\n"
             "  vae: {objective: vae_elbo, encoder: {hidden: [8]},\n"
             "        decoder: {hidden: [8]}, params: {iwae_k: 4}}\n"
             "  gan: {objective: gan, generator: {hidden: [8]},\n"
             "        discriminator: {hidden: [8]}}\n",
             path);
    snprintf(path, sizeof path, "%s/h5data.yaml", dir);
    write_text_file(path, yaml);
    int rc =
        shell_run(out, sizeof out, "%s run %s --jobs 2 --quiet --out %s/r.h5",
                  GM, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    rc = shell_run(out, sizeof out, "%s summary %s/r.h5", GM, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "complete") && strstr(out, "gan"), "%s", out);
}

/* A batch larger than a file dataset, whose size only the file tells: an
 * error naming the model and the key before any model trains (it was
 * found when that model's runs began, after the others had trained). */
Test(e2e, a_batch_larger_than_a_file_dataset_stops_before_training,
     .init = make_dir, .fini = remove_dir) {
    char path[128], yaml[1024], out[8192];
    write_points_h5(path, sizeof path);
    snprintf(yaml, sizeof yaml,
             "experiment: too_big\n"
             "dataset: {name: hdf5, path: %s, key: x}\n"
             "train: {steps: 30, batch_size: 50}\n"
             "models:\n"
             "  vae: {objective: vae_elbo, encoder: {hidden: [8]},\n"
             "        decoder: {hidden: [8]}}\n"
             "  gan: {objective: gan, train: {batch_size: 4096}}\n",
             path);
    snprintf(path, sizeof path, "%s/too_big.yaml", dir);
    write_text_file(path, yaml);
    int rc = shell_run(out, sizeof out, "%s run %s --quiet --out %s/r.h5", GM,
                       path, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "model 'gan': train.batch_size 4096 exceeds the "
                          "2000 rows of the dataset"),
              "%s", out);
    snprintf(path, sizeof path, "%s/r.h5", dir);
    cr_assert_neq(access(path, F_OK), 0, "nothing trained, no run file");
}

/* An HDF5 dataset that cannot be read, in worker threads: one message
 * from gm naming the file and exit 1, nothing printed by HDF5 itself
 * (no error stack, no "infinite loop closing library" at exit). */
Test(e2e, unreadable_hdf5_dataset_is_one_clear_error, .init = make_dir,
     .fini = remove_dir) {
    char path[128], yaml[1024], out[8192];
    snprintf(path, sizeof path, "%s/data.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    H5Fclose(f);
    snprintf(path, sizeof path, "%s/not_hdf5.h5", dir);
    write_text_file(path, "plain text\n");
    const char *cases[][2] = {{"data.h5", "no dataset \"x\""},
                              {"not_hdf5.h5", "not an HDF5 file"}};
    for (int i = 0; i < 2; i++) {
        snprintf(yaml, sizeof yaml,
                 "experiment: broken\n"
                 "seeds: [1, 2]\n"
                 "dataset: {name: hdf5, path: %s/%s, key: x}\n"
                 "train: {steps: 5, batch_size: 4}\n"
                 "models:\n"
                 "  gan: {objective: gan}\n",
                 dir, cases[i][0]);
        snprintf(path, sizeof path, "%s/broken.yaml", dir);
        write_text_file(path, yaml);
        int rc = shell_run(out, sizeof out,
                           "%s run %s --jobs 2 --quiet --out %s/r%d.h5", GM,
                           path, dir, i);
        cr_assert_eq(rc, 1, "%s", out);
        cr_assert(strstr(out, cases[i][0]) && strstr(out, cases[i][1]), "%s",
                  out);
        cr_assert_null(strstr(out, "HDF5-DIAG"), "%s", out);
        cr_assert_null(strstr(out, "infinite loop"), "%s", out);
    }
}

/* The tester's cases: a latent_dim that overflowed an int, and a hidden
 * width that allocated until the OOM killer came. Both are refused when
 * the file is read, naming the key and the size, before any run starts. */
Test(e2e, oversized_model_is_refused_when_read, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[4096];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    const char *cases[][2] = {
        {"models.vae.latent_dim=2147483647", "models.vae.latent_dim: "},
        {"models.gan.generator.hidden=[64,1000000000]",
         "models.gan.generator.hidden[1]: "}};
    for (int i = 0; i < 2; i++) {
        int rc =
            shell_run(out, sizeof out, "%s run %s --out %s/big.h5 --set '%s'",
                      GM, path, dir, cases[i][0]);
        cr_assert_eq(rc, 1, "%s", out);
        cr_assert(strstr(out, cases[i][1]) && strstr(out, "too large") &&
                      strstr(out, "GiB"),
                  "%s", out);
        snprintf(path, sizeof path, "%s/big.h5", dir);
        cr_assert_neq(access(path, F_OK), 0, "no run file is written");
        snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    }
}

/* An IDX file of unsigned bytes: n items of `item` bytes each, value
 * (i * 37 + k) % 256 for byte k of item i (labels: (i * 7) % 10). */
static void write_ubyte_idx(const char *path, int ndim, const unsigned *dims,
                            bool labels) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    unsigned char magic[4] = {0, 0, 0x08, (unsigned char)ndim};
    fwrite(magic, 1, 4, f);
    size_t item = 1;
    for (int d = 0; d < ndim; d++) {
        unsigned char be[4] = {
            (unsigned char)(dims[d] >> 24), (unsigned char)(dims[d] >> 16),
            (unsigned char)(dims[d] >> 8), (unsigned char)dims[d]};
        fwrite(be, 1, 4, f);
        if (d > 0) item *= dims[d];
    }
    for (unsigned i = 0; i < dims[0]; i++)
        for (size_t k = 0; k < item; k++)
            fputc(labels ? (int)(i * 7 % 10) : (int)((i * 37 + k) % 256), f);
    fclose(f);
}

/* A small Fashion-MNIST in dir/fashion: 64 training and 16 test images. */
static void write_small_fashion(char *fm, size_t n) {
    char path[192];
    snprintf(fm, n, "%s/fashion", dir);
    cr_assert_eq(mkdir(fm, 0700), 0);
    const char *split[2] = {"train", "t10k"};
    unsigned rows[2] = {64, 16};
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", fm, split[s]);
        write_ubyte_idx(path, 3, (unsigned[]){rows[s], 28, 28}, false);
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", fm, split[s]);
        write_ubyte_idx(path, 1, (unsigned[]){rows[s]}, true);
    }
}

/* experiments/fashion_dcgan.yaml (a DCGAN and a convolutional VAE given
 * as layer lists) trains a few steps, on a small Fashion-MNIST written
 * here, and its run file knows the images' shape. */
Test(e2e, conv_experiment_trains_a_few_steps, .init = make_dir,
     .fini = remove_dir) {
    char fm[128], path[192], out[16384];
    write_small_fashion(fm, sizeof fm);
    int rc = shell_run(out, sizeof out,
                       "%s run %s/experiments/fashion_dcgan.yaml --quiet "
                       "--out %s/c.h5 --set train.steps=4 --set eval.every=2 "
                       "--set eval.samples=16 --set train.batch_size=16 "
                       "--set dataset.path=%s",
                       GM, GM_SOURCE_DIR, dir, fm);
    cr_assert_eq(rc, 0, "%s", out);
    rc = shell_run(out, sizeof out, "%s summary %s/c.h5", GM, dir);
    cr_assert_eq(rc, 0, "%s", out);
    const char *want[] = {"dcgan", "conv_vae", "d_real", "elbo", "complete"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(out, want[i]), "'%s' missing in:\n%s", want[i], out);
    snprintf(path, sizeof path, "%s/c.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    const char *attrs[3] = {"channels", "height", "width"};
    const double shape[3] = {1, 28, 28};
    for (int i = 0; i < 3; i++) {
        double v = 0;
        hid_t a =
            H5Aopen_by_name(f, "dataset", attrs[i], H5P_DEFAULT, H5P_DEFAULT);
        cr_assert_geq(a, 0, "no /dataset attribute %s", attrs[i]);
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a);
        cr_assert_eq(v, shape[i], "%s", attrs[i]);
    }
    cr_assert_eq(series_length(f, "models/dcgan/seed_1/samples"), 2);
    H5Fclose(f);
}

/* The last value of a float64 series. */
static double last_value(hid_t f, const char *path) {
    long n = series_length(f, path);
    cr_assert_gt(n, 0, "%s is empty", path);
    double v[64];
    cr_assert_leq(n, 64);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(d);
    return v[n - 1];
}

/* /dataset/floor/<metric>, a float64 scalar. */
static double floor_value(hid_t f, const char *metric) {
    char path[128];
    snprintf(path, sizeof path, "dataset/floor/%s", metric);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(d, 0, "no %s", path);
    double v = NAN;
    cr_assert_geq(
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), 0);
    H5Dclose(d);
    return v;
}

/* The ring's real-data floor: a fresh sample of the mixture scores as real
 * data should (nearly every sample within 3 standard deviations, the k-NN
 * metrics near 1, both KL estimates near 0), in /dataset/floor and as the
 * last row "data" of the summary, read and printed; the models have the
 * k-NN metrics too. */
Test(e2e, real_data_floor_of_a_mixture, .init = make_dir, .fini = remove_dir) {
    char out[16384], path[128];
    int rc = shell_run(out, sizeof out,
                       "%s run %s/experiments/gan_vs_vae.yaml --quiet --out "
                       "%s/f.h5 --set train.steps=20 --set eval.every=10 "
                       "--set eval.samples=500 --set seeds=[1]",
                       GM, GM_SOURCE_DIR, dir);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(path, sizeof path, "%s/f.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    cr_expect_eq(floor_value(f, "modes_covered"), 8);
    cr_expect_gt(floor_value(f, "hq_fraction"), 0.97);
    cr_expect_lt(fabs(floor_value(f, "kl_model_data")), 0.2);
    cr_expect_lt(fabs(floor_value(f, "kl_data_model")), 0.2);
    const char *knn[] = {"precision", "recall", "density", "coverage"};
    for (int i = 0; i < 4; i++) {
        double v = floor_value(f, knn[i]);
        cr_expect(v > 0.8 && v < 1.2, "the floor's %s: %g", knn[i], v);
        char series[96];
        snprintf(series, sizeof series, "models/gan/seed_1/metrics/%s",
                 knn[i]);
        double g = last_value(f, series);
        cr_expect(g >= 0 && g <= (i == 2 ? 1e3 : 1), "gan's %s: %g", knn[i],
                  g);
    }
    char *rows = NULL;
    hid_t a = H5Aopen_by_name(f, "dataset/floor", "rows", H5P_DEFAULT,
                              H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    cr_assert_geq(H5Aread(a, t, &rows), 0);
    cr_expect(rows && strstr(rows, "fresh sample of the mixture"), "%s", rows);
    H5free_memory(rows);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);

    gm_summary s;
    gm_error err = {0};
    cr_assert_eq(gm_runfile_read_summary(path, &s, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(s.n_models, 5, "four models and the data row");
    cr_expect_str_eq(s.models[4], "data");
    cr_expect_str_eq(s.objectives[4], "real data");
    gm_summary_clear(&s);
    rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "\ndata ") && strstr(out, "real data") &&
                  strstr(out, "coverage"),
              "%s", out);
}

/* A WGAN-GP whose critic is convolutional (experiments/fashion_dcgan.yaml's
 * discriminator without its batch norm, which a penalty cannot go through)
 * trains 30 steps on the real Fashion-MNIST (`make test` installs
 * dataset-fashion-mnist): the penalty, a gradient through two conv2d
 * layers built by gm_grad, is logged and finite, and the critic already
 * scores real images above the generator's. */
Test(e2e, wgan_gp_with_a_conv_critic_trains_on_fashion_mnist,
     .init = make_dir, .fini = remove_dir) {
    cr_assert(access(GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz",
                     F_OK) == 0 ||
                  access(GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte",
                         F_OK) == 0,
              "Fashion-MNIST is not in " GM_FASHION_MNIST_DIR
              ": apt-get install dataset-fashion-mnist (make test does)");
    char yaml[160], path[192], out[16384];
    snprintf(yaml, sizeof yaml, "%s/wgan_gp.yaml", dir);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs("experiment: conv_wgan_gp\n"
          "dataset: {name: fashion_mnist}\n"
          "train:\n"
          "  steps: 30\n"
          "  batch_size: 32\n"
          "  optimizer: {name: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\n"
          "eval: {every: 30, samples: 16}\n"
          "models:\n"
          "  wgan_gp:\n"
          "    objective: gan\n"
          "    latent_dim: 32\n"
          "    generator:\n"
          "      layers:\n"
          "        - {linear: {out: 1568}}\n"
          "        - relu\n"
          "        - {reshape: [32, 7, 7]}\n"
          "        - {conv_transpose2d: {out: 16, kernel: 4, stride: 2, "
          "padding: 1}}\n"
          "        - relu\n"
          "        - {conv_transpose2d: {out: 1, kernel: 4, stride: 2, "
          "padding: 1}}\n"
          "        - sigmoid\n"
          "    discriminator:\n"
          "      layers:\n"
          "        - {reshape: [1, 28, 28]}\n"
          "        - {conv2d: {out: 16, kernel: 4, stride: 2, padding: 1}}\n"
          "        - {leaky_relu: {slope: 0.2}}\n"
          "        - {conv2d: {out: 32, kernel: 4, stride: 2, padding: 1}}\n"
          "        - {leaky_relu: {slope: 0.2}}\n"
          "        - flatten\n"
          "        - linear\n"
          "    params: {loss: wasserstein, penalty: wgan_gp, d_steps: 5}\n",
          f);
    fclose(f);
    int rc = shell_run(out, sizeof out, "%s run %s --quiet --out %s/w.h5", GM,
                       yaml, dir);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(path, sizeof path, "%s/w.h5", dir);
    hid_t h = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(h, 0);
    const char *run = "models/wgan_gp/seed_1/metrics/";
    char name[128];
    snprintf(name, sizeof name, "%sgradient_penalty", run);
    double penalty = last_value(h, name);
    snprintf(name, sizeof name, "%sd_score_real", run);
    double real = last_value(h, name);
    snprintf(name, sizeof name, "%sd_score_fake", run);
    double fake = last_value(h, name);
    H5Fclose(h);
    cr_assert(isfinite(penalty) && penalty > 0, "penalty %g", penalty);
    cr_assert(isfinite(real) && isfinite(fake) && real > fake,
              "critic scores: real %g, fake %g", real, fake);
}

/* The last evaluation's row of a run's mode_counts [n, k] into counts
 * [k]; fails unless the dataset has k columns. */
static void last_mode_counts(hid_t f, const char *run, int k, int *counts) {
    char path[128];
    snprintf(path, sizeof path, "%s/mode_counts", run);
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    cr_assert_geq(d, 0, "no %s", path);
    hid_t space = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    cr_assert_eq(H5Sget_simple_extent_dims(space, dims, NULL), 2);
    cr_assert(dims[0] > 0 && dims[1] == (hsize_t)k, "%s is [%llu, %llu]", path,
              (unsigned long long)dims[0], (unsigned long long)dims[1]);
    hsize_t start[2] = {dims[0] - 1, 0}, count[2] = {1, (hsize_t)k};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t mem = H5Screate_simple(2, count, NULL);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_INT, mem, space, H5P_DEFAULT, counts),
                  0);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
}

/* A generator experiment on `dataset` whose modes eval.classifier counts;
 * its output is dir/<out>.h5. Returns gm's exit code, output in `out`. */
static int run_counted(const char *dataset, const char *classifier,
                       const char *name, char *out, size_t n) {
    char yaml[1024], path[192];
    snprintf(yaml, sizeof yaml,
             "experiment: %s\n"
             "dataset: %s\n"
             "train: {steps: 4, batch_size: 16}\n"
             "eval: {every: 2, samples: 50, classifier: %s}\n"
             "models:\n"
             "  gan:\n"
             "    objective: gan\n"
             "    latent_dim: 4\n"
             "    generator: {hidden: [16]}\n"
             "    discriminator: {hidden: [16]}\n",
             name, dataset, classifier);
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    write_text_file(path, yaml);
    return shell_run(out, n, "%s run %s --quiet --out %s/%s.h5 2>&1", GM, path,
                     dir, name);
}

/* A classifier (experiments/fashion_classifier.yaml) trained a few steps
 * labels a GAN's samples on Fashion-MNIST (10 modes) and, channel by
 * channel, on Stacked Fashion-MNIST (1000): the counts are in the file and
 * in range, with the classifier's accuracy beside them and the class
 * histogram they come from in mode_counts; the errors a user
 * meets are one clear message each. */
Test(e2e, classifier_counts_image_modes, .init = make_dir, .fini = remove_dir) {
    char fm[128], path[256], out[16384], ds[320], cls[192];
    write_small_fashion(fm, sizeof fm);
    /* experiments/fashion_classifier.yaml, a few steps */
    int rc = shell_run(out, sizeof out,
                       "%s run %s/experiments/fashion_classifier.yaml "
                       "--quiet --out %s/cls.h5 --set train.steps=4 --set "
                       "eval.every=2 --set train.batch_size=16 --set "
                       "dataset.path=%s",
                       GM, GM_SOURCE_DIR, dir, fm);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(cls, sizeof cls, "%s/cls.h5", dir);
    rc = shell_run(out, sizeof out, "%s sample %s --model classifier -n 4 2>&1",
                   GM, cls);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "does not generate"), "%s", out);
    hid_t f = H5Fopen(cls, H5F_ACC_RDONLY, H5P_DEFAULT);
    double accuracy =
        last_value(f, "models/classifier/seed_1/metrics/accuracy_eval");
    cr_assert(accuracy >= 0 && accuracy <= 1, "%g", accuracy);
    cr_assert_eq(H5Lexists(f, "models/classifier/seed_1/samples", H5P_DEFAULT),
                 0);
    H5Fclose(f);

    const char *kinds[2] = {"fashion", "stacked"};
    const double modes[2] = {10, 1000};
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            snprintf(ds, sizeof ds, "{name: fashion_mnist, path: %s}", fm);
        else
            snprintf(ds, sizeof ds,
                     "{name: stacked_fashion_mnist, path: %s, size: 64, "
                     "seed: 3}",
                     fm);
        rc = run_counted(ds, cls, kinds[k], out, sizeof out);
        cr_assert_eq(rc, 0, "%s", out);
        snprintf(path, sizeof path, "%s/%s.h5", dir, kinds[k]);
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        cr_assert_geq(f, 0);
        double covered = last_value(f, "models/gan/seed_1/metrics/"
                                       "modes_covered");
        double kl = last_value(f, "models/gan/seed_1/metrics/kl_modes");
        double conf =
            last_value(f, "models/gan/seed_1/metrics/mode_confidence");
        double acc =
            last_value(f, "models/gan/seed_1/metrics/classifier_accuracy");
        cr_assert(covered >= 1 && covered <= fmin(50, modes[k]), "%s: %g",
                  kinds[k], covered);
        /* at most log(modes) + log(1 + 64 / modes) above 0: the samples
         * on one class the data has once (add-one smoothing) */
        cr_assert(kl >= 0 && kl <= log(modes[k] + 64) + 1e-9, "%s: %g",
                  kinds[k], kl);
        cr_assert(conf >= 1.0 / 10 && conf <= 1, "%s: %g", kinds[k], conf);
        cr_assert_eq(acc, accuracy, "%s: the classifier's accuracy", kinds[k]);
        /* the histogram: every one of the 50 samples, on `covered` modes */
        int counts[1000], total = 0, nonzero = 0;
        last_mode_counts(f, "models/gan/seed_1", (int)modes[k], counts);
        for (int i = 0; i < (int)modes[k]; i++) {
            cr_assert_geq(counts[i], 0);
            total += counts[i];
            nonzero += counts[i] > 0;
        }
        cr_assert_eq(total, 50, "%s: %d samples counted", kinds[k], total);
        cr_assert_eq(nonzero, covered, "%s", kinds[k]);
        double attr = -1;
        hid_t a = H5Aopen_by_name(f, "models/gan", "classifier_accuracy",
                                  H5P_DEFAULT, H5P_DEFAULT);
        cr_assert_geq(a, 0, "no classifier_accuracy attribute");
        H5Aread(a, H5T_NATIVE_DOUBLE, &attr);
        H5Aclose(a);
        cr_assert_eq(attr, accuracy);
        /* the k-NN metrics and the Frechet distance in the classifier's
         * features, and the real-data floor of the test split */
        double fd = last_value(f, "models/gan/seed_1/metrics/fd_classifier");
        double precision =
            last_value(f, "models/gan/seed_1/metrics/precision");
        cr_assert(fd >= 0 && isfinite(fd), "%s: %g", kinds[k], fd);
        cr_assert(precision >= 0 && precision <= 1, "%s", kinds[k]);
        cr_assert(floor_value(f, "fd_classifier") < fd, "%s: real images "
                  "nearer the training images than an untrained GAN's",
                  kinds[k]);
        cr_assert(floor_value(f, "kl_modes") >= 0, "%s", kinds[k]);
        H5Fclose(f);
    }
    rc = shell_run(out, sizeof out, "%s summary %s/stacked.h5", GM, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "kl_modes") && strstr(out, "modes_covered"), "%s",
              out);

    /* experiments/fashion_gan.yaml and the stacked experiments, a few
     * steps each with this classifier */
    const char *experiments[4] = {"fashion_gan", "stacked_fashion",
                                  "stacked_fashion_quarter_d",
                                  "stacked_fashion_ali"};
    const char *want[4][4] = {
        {"dcgan", "dcgan_prior", "conv_vae", "kl_modes"},
        {"dcgan", "dcgan_prior", "conv_vae", "kl_modes"},
        {"dcgan_quarter_d", "dcgan_prior_quarter_d", "prior_kl", "kl_modes"},
        {"ali", "recon_mse", "modes_covered", "kl_modes"}};
    for (int k = 0; k < 4; k++) {
        rc = shell_run(out, sizeof out,
                       "%s run %s/experiments/%s.yaml --quiet --out %s/x%d.h5 "
                       "--set train.steps=2 --set eval.every=2 --set "
                       "eval.samples=20 --set train.batch_size=16 --set "
                       "seeds=[1] --set dataset.path=%s --set "
                       "eval.classifier=%s%s 2>&1",
                       GM, GM_SOURCE_DIR, experiments[k], dir, k, fm, cls,
                       k ? " --set dataset.size=64" : "");
        cr_assert_eq(rc, 0, "%s: %s", experiments[k], out);
        rc = shell_run(out, sizeof out, "%s summary %s/x%d.h5", GM, dir, k);
        for (int i = 0; i < 4; i++)
            cr_assert(strstr(out, want[k][i]), "%s: no %s in\n%s",
                      experiments[k], want[k][i], out);
    }

    /* errors: each stops before training, naming what is wrong */
    snprintf(path, sizeof path, "%s/images.idx", dir);
    write_ubyte_idx(path, 3, (unsigned[]){64, 28, 28}, false);
    char idx[320], missing[192];
    snprintf(idx, sizeof idx, "{name: idx, path: %s}", path);
    snprintf(missing, sizeof missing, "%s/nothing.h5", dir);
    snprintf(ds, sizeof ds, "{name: fashion_mnist, path: %s}", fm);
    char gen[192];
    snprintf(gen, sizeof gen, "%s/fashion.h5", dir);
    const char *cases[][3] = {
        {ds, missing, "nothing.h5"},
        {ds, gen, "no model of an objective that classifies"},
        {"{name: ring, size: 100}", cls, "[2] (not images)"},
        {idx, cls, "has no classes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc = run_counted(cases[i][0], cases[i][1], "bad", out, sizeof out);
        cr_assert_eq(rc, 1, "case %zu: %s", i, out);
        cr_assert(strstr(out, cases[i][2]) && strstr(out, "eval.classifier"),
                  "case %zu: %s", i, out);
        snprintf(path, sizeof path, "%s/bad.h5", dir);
        cr_assert_neq(access(path, F_OK), 0, "case %zu: no run file", i);
    }
}

/* eval.samples above the sampler's 2500 rows are drawn in several
 * forwards: all 6000 are in the file, none repeats another draw's. */
Test(e2e, large_sample_counts_are_drawn_in_pieces, .init = make_dir,
     .fini = remove_dir) {
    char path[128], out[4096];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    int rc = shell_run(out, sizeof out,
                       "%s run %s --quiet --out %s/big.h5 --set seeds=[1] "
                       "--set train.steps=2 --set eval.every=2 --set "
                       "eval.samples=6000",
                       GM, path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(path, sizeof path, "%s/big.h5", dir);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "models/gan/seed_1/samples", H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hsize_t dims[3];
    H5Sget_simple_extent_dims(s, dims, NULL);
    cr_assert(dims[0] == 1 && dims[1] == 6000 && dims[2] == 2);
    static float x[6000 * 2];
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    for (int i = 0; i < 6000 * 2; i++)
        cr_assert(isfinite(x[i]), "sample value %d", i);
    /* the second and third draws are new noise, not the first again */
    for (int piece = 1; piece < 3; piece++)
        cr_assert_neq(memcmp(x, x + piece * 2500 * 2, 500 * 2 * sizeof *x), 0,
                      "draw %d repeats the first", piece);
}

/* --keep (what `make run` passes): a second run replaces the file and
 * keeps the earlier one under its name with its creation time, and says
 * so; the kept file is the earlier run, whole; no lock file stays. */
Test(e2e, keep_renames_the_earlier_file_with_its_creation_time,
     .init = make_dir, .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    int rc = shell_run(out, sizeof out,
                       "%s run %s --quiet --set seeds=[1] --out %s/k.h5", GM,
                       path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    char created[64];
    rc = shell_run(created, sizeof created,
                   "h5dump -a /created %s/k.h5 | sed -n 's/.*(0): \"\\(.*\\)\".*/\\1/p'"
                   " | tr -d :",
                   dir);
    created[strcspn(created, "\n")] = '\0';
    cr_assert(strlen(created) == 18 && created[10] == 'T', "'%s'", created);
    rc = shell_run(out, sizeof out, "%s run %s --keep --out %s/k.h5", GM, path,
                   dir);
    cr_assert_eq(rc, 0, "%s", out);
    char kept[256], says[400];
    snprintf(kept, sizeof kept, "%s/k.%s.h5", dir, created);
    snprintf(says, sizeof says, "gm run: the earlier %s/k.h5 is kept as %s\n",
             dir, kept);
    cr_assert(strstr(out, says), "expected '%s' in:\n%s", says, out);
    rc = shell_run(out, sizeof out, "h5ls %s/models/vae; ls -a %s", kept, dir);
    cr_assert(strstr(out, "seed_1") && !strstr(out, "seed_2"),
              "the kept file is the one-seed run:\n%s", out);
    cr_assert_null(strstr(out, ".lock"), "a lock file stays:\n%s", out);
    rc = shell_run(out, sizeof out, "h5ls %s/k.h5/models/vae", dir);
    cr_assert(strstr(out, "seed_2"), "the new file has both seeds:\n%s", out);
}

/* The user's CSV of points beside the experiment file, run from another
 * directory (issue 27): the relative path is read from the file's
 * directory, and a missing one names file:line:column and the key. */
Test(e2e, csv_dataset_beside_the_experiment_file, .init = make_dir,
     .fini = remove_dir) {
    char path[256], out[8192];
    snprintf(path, sizeof path, "%s/exp", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/exp/moons.csv", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("x,y\n", f);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%g,%g\n", cos(i * 0.1), sin(i * 0.1));
    fclose(f);
    snprintf(path, sizeof path, "%s/exp/moons.yaml", dir);
    write_text_file(path,
                    "experiment: moons\n"
                    "seeds: [1]\n"
                    "dataset: {name: csv, path: moons.csv}\n"
                    "train: {steps: 20, batch_size: 32}\n"
                    "eval: {every: 20, samples: 100}\n"
                    "models:\n"
                    "  gan:\n"
                    "    objective: gan\n"
                    "    generator: {hidden: [8]}\n"
                    "    discriminator: {hidden: [8]}\n");
    int rc = shell_run(out, sizeof out, "cd %s && %s run exp/moons.yaml --quiet "
                       "--out m.h5", dir, GM);
    cr_assert_eq(rc, 0, "%s", out);
    rc = shell_run(out, sizeof out, "cd / && %s summary %s/m.h5", GM, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "gan"), "%s", out);
    rc = shell_run(out, sizeof out,
                   "cd %s && %s run exp/moons.yaml --set dataset.path=moon.csv "
                   "--out m2.h5", dir, GM);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "--set dataset.path=moon.csv: dataset.path: "),
              "%s", out);
    rc = shell_run(out, sizeof out,
                   "cd %s && sed -i s/moons.csv/moon.csv/ exp/moons.yaml && "
                   "%s run exp/moons.yaml --out m2.h5", dir, GM);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "exp/moons.yaml:3:28: dataset.path: ") &&
                  strstr(out, "/exp/moon.csv: No such file or directory (a "
                              "relative path is read from the experiment "
                              "file's directory, "),
              "%s", out);
}

/* gm sample (issue 27): a row does not depend on -n (the sampler runs in
 * chunks of fixed size); --run-seed picks the training run, --noise-seed
 * the sampling noise; the old --seed still picks the run, saying so. */
Test(e2e, sample_rows_do_not_depend_on_n_and_the_seeds_are_named_apart,
     .init = make_dir, .fini = remove_dir) {
    char path[128], out[8192];
    snprintf(path, sizeof path, "%s/tiny.yaml", dir);
    write_text_file(path, tiny);
    int rc = shell_run(out, sizeof out, "%s run %s --quiet --out %s/t.h5", GM,
                       path, dir);
    cr_assert_eq(rc, 0, "%s", out);
    const char *draw = "%s sample %s/t.h5 --model gan %s 2>/dev/null";
    char cmd[256], a[8192], b[8192];
    snprintf(cmd, sizeof cmd, "-n 3");
    shell_run(a, sizeof a, draw, GM, dir, cmd);
    shell_run(b, sizeof b, "%s sample %s/t.h5 --model gan -n 1500 | head -3",
              GM, dir);
    cr_assert_str_eq(a, b, "the first 3 rows of -n 3 and -n 1500");
    shell_run(a, sizeof a, "%s sample %s/t.h5 --model gan -n 1500 | sed -n 1200p",
              GM, dir);
    shell_run(b, sizeof b, "%s sample %s/t.h5 --model gan -n 2500 | sed -n 1200p",
              GM, dir);
    cr_assert_str_eq(a, b, "row 1200 of -n 1500 and -n 2500");
    char run2[8192], noise7[8192], old[8192];
    shell_run(run2, sizeof run2, draw, GM, dir, "-n 3 --run-seed 2");
    shell_run(noise7, sizeof noise7, draw, GM, dir,
              "-n 3 --run-seed 2 --noise-seed 7");
    cr_assert_str_neq(run2, noise7, "another noise seed, other samples");
    cr_assert_str_neq(run2, a, "another run, other samples");
    rc = shell_run(old, sizeof old, "%s sample %s/t.h5 --model gan -n 3 "
                   "--seed 2 2>&1", GM, dir);
    cr_assert_eq(rc, 0, "%s", old);
    cr_assert(strstr(old, "gm sample: --seed is now --run-seed (the training "
                          "run whose checkpoint samples); --noise-seed sets "
                          "the sampling noise\n"),
              "%s", old);
    cr_assert(strstr(old, run2), "--seed 2 is --run-seed 2:\n%s", old);
}

/* Peak resident memory, in kB, of `gm run yaml --jobs jobs` in a child. */
static long peak_rss_kb(const char *yaml, int jobs) {
    char cmd[512], out_file[192];
    snprintf(out_file, sizeof out_file, "%s/jobs%d.h5", dir, jobs);
    snprintf(cmd, sizeof cmd, "exec %s run %s --jobs %d --quiet --out %s", GM,
             yaml, jobs, out_file);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed",
              cmd);
    return ru.ru_maxrss;
}

/* The runs of an experiment share one copy of its dataset in a process,
 * whatever --jobs: four runs of a Stacked Fashion-MNIST of 20,000 rows
 * (282 MB with its test split) trained side by side take the memory of
 * one after the other (each loaded its own before: 1430 MB with 4 jobs,
 * 797 MB with 1). */
Test(e2e, jobs_share_one_copy_of_the_dataset, .init = make_dir,
     .fini = remove_dir) {
    cr_assert(access(GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz",
                     F_OK) == 0 ||
                  access(GM_FASHION_MNIST_DIR "/train-images-idx3-ubyte",
                         F_OK) == 0,
              "Fashion-MNIST is not in " GM_FASHION_MNIST_DIR
              ": apt-get install dataset-fashion-mnist (make test does)");
    char yaml[160];
    snprintf(yaml, sizeof yaml, "%s/shared.yaml", dir);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs("experiment: shared\n"
          "seeds: [1, 2, 3, 4]\n"
          "dataset: {name: stacked_fashion_mnist, size: 20000}\n"
          "train: {steps: 300, batch_size: 16, optimizer: {name: adam}}\n"
          "eval: {every: 300, samples: 16}\n"
          "models:\n"
          "  gan:\n"
          "    objective: gan\n"
          "    latent_dim: 4\n"
          "    generator: {hidden: [8]}\n"
          "    discriminator: {hidden: [8]}\n",
          f);
    fclose(f);
    long one = peak_rss_kb(yaml, 1), four = peak_rss_kb(yaml, 4);
    long copy_kb = 20000L * 3 * 28 * 28 * 4 / 1024;
    cr_assert_lt(four - one, copy_kb / 2,
                 "peak RSS %ld kB with 4 jobs, %ld kB with 1: a dataset "
                 "copy is %ld kB",
                 four, one, copy_kb);
}

/* Generated images measured a draw at a time (gm_image_modes_add, as an
 * evaluation now takes the sampler's draws) count the same modes, KL and
 * confidence as all of them measured at once: bit for bit in chunks of a
 * multiple of the classifier's 250 rows (the sampler's 2500); otherwise
 * the same counts and a confidence within float rounding (a row's logits
 * may differ in their last bits with its place in the classifier's
 * batch: 3.6e-11 relative here). */
Test(e2e, image_modes_measured_in_chunks_equal_one_measurement,
     .init = make_dir, .fini = remove_dir) {
    char fm[128], out[16384], cls[192];
    write_small_fashion(fm, sizeof fm);
    int rc = shell_run(out, sizeof out,
                       "%s run %s/experiments/fashion_classifier.yaml "
                       "--quiet --out %s/cls.h5 --set train.steps=4 --set "
                       "eval.every=2 --set train.batch_size=16 --set "
                       "dataset.path=%s",
                       GM, GM_SOURCE_DIR, dir, fm);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(cls, sizeof cls, "%s/cls.h5", dir);
    gm_registry *reg = gm_builtin_registry();
    gm_error err = {0};
    gm_image_classifier *c = gm_image_classifier_load(cls, NULL, reg, &err);
    cr_assert_not_null(c, "%s", err.message);
    gm_dataset_spec spec = {.name = "stacked_fashion_mnist", .size = 64,
                            .seed = 3};
    snprintf(spec.path, sizeof spec.path, "%s", fm);
    gm_dataset *d = gm_dataset_create(&spec, NULL, &err);
    cr_assert_not_null(d, "%s", err.message);
    gm_image_modes *m = gm_image_modes_create(c, d, &err);
    cr_assert_not_null(m, "%s", err.message);
    enum { N = 1100, DIM = 3 * 28 * 28 };
    float *images = malloc((size_t)N * DIM * sizeof *images);
    cr_assert_not_null(images);
    gm_rng r = gm_rng_stream(5, "images");
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        images[i] = (float)gm_rng_uniform(&r);
    double whole[3], part[3];
    static int whole_counts[1000], part_counts[1000];
    /* the features of the first 700 images, which span chunks */
    enum { FEATURES = 700 };
    size_t feature_floats =
        (size_t)FEATURES * (size_t)gm_image_modes_feature_dim(m);
    float *whole_features = malloc(feature_floats * sizeof(float));
    float *part_features = malloc(feature_floats * sizeof(float));
    cr_assert(whole_features && part_features);
    gm_image_modes_measure(m, images, N, whole, whole_counts, whole_features,
                           FEATURES);
    const int chunks[2] = {500, 300};
    for (int k = 0; k < 2; k++) {
        memset(part_features, 0, feature_floats * sizeof(float));
        gm_image_modes_begin(m);
        for (int at = 0; at < N; at += chunks[k])
            gm_image_modes_add(m, images + (size_t)at * DIM,
                               N - at < chunks[k] ? N - at : chunks[k],
                               part_features, FEATURES);
        gm_image_modes_end(m, part, part_counts);
        /* bit for bit in whole batches of the classifier (250 rows);
         * other chunks change the products' blocking in the last bits */
        double worst = 0.0, scale = 0.0;
        for (size_t i = 0; i < feature_floats; i++) {
            worst = fmax(worst, fabs((double)part_features[i] -
                                     (double)whole_features[i]));
            scale = fmax(scale, fabs((double)whole_features[i]));
        }
        if (k == 0)
            cr_assert_eq(worst, 0.0, "chunks of 500: the first %d images' "
                                     "features differ by %g",
                         FEATURES, worst);
        else
            cr_assert_leq(worst, 1e-5 * scale,
                          "chunks of 300: the first %d images' features "
                          "differ by %g (largest %g)",
                          FEATURES, worst, scale);
        cr_assert_eq(part[0], whole[0], "chunks of %d: modes", chunks[k]);
        cr_assert_eq(part[1], whole[1], "chunks of %d: KL", chunks[k]);
        cr_assert_eq(memcmp(part_counts, whole_counts, sizeof part_counts), 0);
        if (k == 0)
            cr_assert_eq(part[2], whole[2], "chunks of 500: confidence");
        else
            cr_assert_float_eq(part[2], whole[2], 1.2e-7 * whole[2],
                               "chunks of 300: confidence %.17g, %.17g",
                               part[2], whole[2]);
    }
    free(images);
    free(whole_features);
    free(part_features);
    gm_image_modes_free(m);
    gm_dataset_free(d);
    gm_image_classifier_free(c);
    gm_registry_free(reg);
}
