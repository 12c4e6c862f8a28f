/* gm summary's table on a run file with known final values: which columns
 * it shows and in what order, the digits of each cell, and the legend of
 * units and directions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gm/runfile.h"
#include "shell_run.h"
#include "temp_dir.h"

#define GM GM_BINARY_DIR "/gm"

static char dir[64], path[128];

static void make_dir(void) {
    temp_dir_make(dir, sizeof dir, "gm_summary");
    snprintf(path, sizeof path, "%s/s.h5", dir);
}

static void remove_dir(void) { temp_dir_remove(dir); }

/* One run of `model` whose metrics end at `finals` (one evaluation). */
static void add_run(gm_runfile *f, const char *model, uint64_t seed,
                    const char *const *names, const double *finals, int n) {
    gm_error err = {0};
    gm_run_log *log =
        gm_runfile_begin_run(f, model, seed, names, n, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_run_log_append(log, 10, finals, NULL, NULL, NULL, &err),
                 GM_OK, "%s", err.message);
    gm_run_log_free(log);
}

/* Two seeds of a VAE, a GAN and a plugin's objective gm does not know.
 * Two seeds a, b: mean (a + b) / 2, standard error |a - b| / 2. */
static void write_file(void) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_create(path, GM_RUNFILE_NEW, "known",
                                      "experiment: known\n", &err);
    cr_assert_not_null(f, "%s", err.message);
    const char *models[][2] = {
        {"vae", "vae_elbo"}, {"gan", "gan"}, {"mine", "my_plugin"}};
    for (int m = 0; m < 3; m++)
        cr_assert_eq(
            gm_runfile_add_model(f, models[m][0], models[m][1], NULL, &err),
            GM_OK, "%s", err.message);
    const char *vae[] = {"loss_vae",  "elbo",          "iwae_logpx",
                         "elbo_eval", "modes_covered", "kl_model_data"};
    const double vae1[] = {1, 2, -871.6, 0.239, 7, 5.0},
                 vae2[] = {1, 2, -889.2, 0.263, 8, 5.0};
    add_run(f, "vae", 1, vae, vae1, 6);
    add_run(f, "vae", 2, vae, vae2, 6);
    const char *gan[] = {"loss_generator", "d_real", "d_fake", "modes_covered",
                         "kl_model_data"};
    const double gan1[] = {1, 0.6, 0.4, 2, 1234.5},
                 gan2[] = {1, 0.6, 0.4, 3, 1234.5};
    add_run(f, "gan", 1, gan, gan1, 5);
    add_run(f, "gan", 2, gan, gan2, 5);
    const char *mine[] = {"my_score"};
    const double mine1[] = {0.5};
    add_run(f, "mine", 1, mine, mine1, 1);
    cr_assert_eq(gm_runfile_write_summary(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
}

/* The line of out that starts with `start`, cut at its end. */
static const char *line_of(const char *out, const char *start, char *buf,
                           size_t n) {
    for (const char *l = out; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : 0)
        if (strncmp(l, start, strlen(start)) == 0) {
            snprintf(buf, n, "%.*s", (int)strcspn(l, "\n"), l);
            return buf;
        }
    cr_assert_fail("no line starting '%s' in:\n%s", start, out);
    return NULL;
}

Test(summary_table, objective_headlines_first_then_the_sample_metrics,
     .init = make_dir, .fini = remove_dir) {
    write_file();
    char out[8192], line[1024];
    int rc = shell_run(out, sizeof out, "%s summary --wide %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    /* vae_elbo's (held-out first), gan's, the unknown plugin's every
     * metric, then gm's own; training-only metrics stay out. */
    line_of(out, "model", line, sizeof line);
    const char *order[] = {"elbo_eval",     "iwae_logpx", "d_real",
                           "d_fake",        "my_score",   "modes_covered",
                           "kl_model_data", NULL};
    const char *at = line;
    for (int i = 0; order[i]; i++) {
        const char *next = strstr(at, order[i]);
        cr_assert_not_null(next, "'%s' missing or out of order in '%s'",
                           order[i], line);
        at = next + strlen(order[i]);
    }
    cr_assert_null(strstr(line, "loss_"), "%s", line);
    cr_assert_null(strstr(line, " elbo "), "%s", line);
    cr_assert_null(strstr(line, "hq_fraction"), "no model has it: %s", line);
}

Test(summary_table, digits_follow_the_standard_error, .init = make_dir,
     .fini = remove_dir) {
    write_file();
    char out[8192], line[1024];
    int rc = shell_run(out, sizeof out, "%s summary --wide %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    line_of(out, "vae ", line, sizeof line);
    /* se 8.8 -> one digit; se 0.012 -> two (it begins with 1). */
    cr_assert(strstr(line, " 0.251 ± 0.012 "), "%s", line);
    cr_assert(strstr(line, " -880 ± 9 "), "%s", line);
    cr_assert(strstr(line, " 7.5 ± 0.5 "), "%s", line);
    cr_assert(strcmp(line + strlen(line) - 3, "  5") == 0,
              "both seeds 5: no ±: %s", line);
    line_of(out, "gan ", line, sizeof line);
    cr_assert(strstr(line, " 2.5 ± 0.5 "), "%s", line);
    cr_assert(strcmp(line + strlen(line) - 6, "  1234") == 0, "%s", line);
    line_of(out, "mine ", line, sizeof line);
    cr_assert(strstr(line, " 0.5 "), "one seed: %s", line);
}

Test(summary_table, legend_gives_each_columns_unit_and_direction,
     .init = make_dir, .fini = remove_dir) {
    write_file();
    char out[8192];
    int rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    /* One line per description, columns that share one together. */
    const char *legend[] = {
        "\nelbo_eval, iwae_logpx: nats per example, higher is better\n",
        "\nd_real, d_fake: probability, a diagnostic (neither way is better)\n",
        "\nmy_score: no unit on record (the file has none, nor does an "
        "objective at hand declare it)\n",
        "\nmodes_covered: modes, higher is better\n",
        "\nkl_model_data: nats, lower is better\n"};
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++)
        cr_assert(strstr(out, legend[i]), "'%s' missing in:\n%s", legend[i],
                  out);
}

/* A plugin's metric, unknown to gm and to every objective at hand, gets
 * its unit and direction from the attributes its series carries. */
Test(summary_table, a_plugins_metric_has_the_unit_its_series_records,
     .init = make_dir, .fini = remove_dir) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_create(path, GM_RUNFILE_NEW, "plugin",
                                      "experiment: plugin\n", &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(gm_runfile_add_model(f, "mine", "my_plugin", NULL, &err),
                 GM_OK, "%s", err.message);
    const char *names[] = {"my_rate", "my_other"};
    const char *units[] = {"widgets per second", NULL};
    const char *better[] = {"higher", NULL};
    gm_run_log *log =
        gm_runfile_begin_run(f, "mine", 1, names, 2, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_run_log_describe(log, units, better, &err), GM_OK, "%s",
                 err.message);
    const double finals[] = {3, 4};
    cr_assert_eq(gm_run_log_append(log, 10, finals, NULL, NULL, NULL, &err),
                 GM_OK, "%s", err.message);
    gm_run_log_free(log);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    char out[8192];
    int rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\nmy_rate: widgets per second, higher is better\n"),
              "%s", out);
    cr_assert(strstr(out, "\nmy_other: no unit on record"), "%s", out);
}

/* A seed whose run failed (its last values wild) is counted apart, in the
 * seeds column and the table's n_failed, and left out of the means, both
 * in the written /summary and in one computed from the series. */
Test(summary_table, failed_seeds_are_counted_and_left_out, .init = make_dir,
     .fini = remove_dir) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_create(path, GM_RUNFILE_NEW, "failing",
                                      "experiment: failing\n", &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(gm_runfile_add_model(f, "gan", "gan", NULL, &err), GM_OK, "%s",
                 err.message);
    const char *names[] = {"d_real", "kl_model_data"};
    const double one[] = {0.5, 10}, two[] = {0.7, 12}, wild[] = {1, 3e38};
    add_run(f, "gan", 1, names, one, 2);
    add_run(f, "gan", 2, names, two, 2);
    gm_run_log *log =
        gm_runfile_begin_run(f, "gan", 3, names, 2, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_run_log_append(log, 10, wild, NULL, NULL, NULL, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_run_log_fail(log, 12, 0.5, "step 12: d_real is nan", &err),
                 GM_OK, "%s", err.message);
    gm_run_log_free(log);
    for (int written = 0; written < 2; written++) {
        if (written) {
            cr_assert_eq(gm_runfile_write_summary(f, &err), GM_OK, "%s",
                         err.message);
            cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
        } else {
            cr_assert_eq(gm_runfile_flush(f, &err), GM_OK, "%s", err.message);
        }
        gm_summary s;
        cr_assert_eq(gm_runfile_read_summary(path, &s, &err), GM_OK, "%s",
                     err.message);
        cr_assert_eq(s.from_series, !written);
        cr_assert_eq(s.n_seeds[0], 2);
        cr_assert_eq(s.n_failed[0], 1);
        for (int k = 0; k < s.n_metrics; k++)
            if (strcmp(s.metrics[k], "kl_model_data") == 0)
                cr_assert_float_eq(s.mean[k], 11.0, 1e-12);
        gm_summary_clear(&s);
    }
    char out[8192], line[1024];
    int rc = shell_run(out, sizeof out, "%s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    line_of(out, "gan ", line, sizeof line);
    cr_assert(strstr(line, " 2 (1 failed) "), "%s", line);
    cr_assert(strstr(line, " 11.0 ± 1.0"), "%s", line);
    cr_assert(strstr(out, "left out of the means"), "%s", out);
}

/* ---- several files, the width, the CSV ---------------------------------- */

/* The display width of the longest line of out ("±" is one column). */
static int widest_line(const char *out) {
    int widest = 0, w = 0;
    for (const char *p = out; *p; p++) {
        if (*p == '\n') {
            widest = w > widest ? w : widest;
            w = 0;
        } else {
            w += ((unsigned char)*p & 0xC0) != 0x80;
        }
    }
    return w > widest ? w : widest;
}

/* How many times needle occurs in out. */
static int count(const char *out, const char *needle) {
    int n = 0;
    for (const char *p = strstr(out, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A file like the flagship's (experiments/gan_vs_vae.yaml): its four
 * models with the metrics each logs, two seeds whose values differ in the
 * third digit, so each cell is "mean ± se" as wide as the real ones. */
static void write_flagship_like(const char *to) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_create(to, GM_RUNFILE_NEW, "gan_vs_vae",
                                      "experiment: gan_vs_vae\n", &err);
    cr_assert_not_null(f, "%s", err.message);
    const char *common[] = {"modes_covered", "hq_fraction", "kl_data_model",
                            "kl_model_data", "kde_bandwidth"};
    const char *vae[] = {"loss_vae",      "recon_nll",    "kl_qz_pz",
                         "elbo",          "distortion",   "rate",
                         "elbo_eval",     "iwae_logpx",   "posterior_gap",
                         "active_units",  "mutual_info",  "marginal_kl",
                         "recon_mse",     "kl_agg_qz_pz", "kl_data_model_iwae",
                         "loss_joint_kl", "joint_kl",     "data_entropy"};
    const char *gan[] = {
        "loss_discriminator", "d_real",         "d_fake",  "kl_data_model_disc",
        "kl_model_data_disc", "loss_generator", "prior_kl"};
    struct {
        const char *name, *objective;
        const char *const *own;
        int n_own;
    } models[] = {{"vae", "vae_elbo", vae, 15},
                  {"joint_kl", "joint_kl", vae + 1, 17},
                  {"gan", "gan", gan, 6},
                  {"gan_prior", "gan_data_prior", gan, 7}};
    for (int m = 0; m < 4; m++)
        cr_assert_eq(gm_runfile_add_model(f, models[m].name,
                                          models[m].objective, NULL, &err),
                     GM_OK, "%s", err.message);
    for (int m = 0; m < 4; m++) {
        const char *names[32];
        double one[32], two[32];
        int n = 0;
        for (int k = 0; k < models[m].n_own; k++)
            names[n++] = models[m].own[k];
        for (int k = 0; k < 5; k++)
            names[n++] = common[k];
        for (int k = 0; k < n; k++) {
            one[k] = -1.2345 * (k + 1) * (m + 1);
            two[k] = one[k] * 1.0123;
        }
        add_run(f, models[m].name, 1, names, one, n);
        add_run(f, models[m].name, 2, names, two, n);
    }
    cr_assert_eq(gm_runfile_write_summary(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
}

Test(summary_table, fits_100_columns_in_blocks_that_repeat_the_model,
     .init = make_dir, .fini = remove_dir) {
    write_flagship_like(path);
    static char out[65536];
    for (int all = 0; all < 2; all++) {
        int rc = shell_run(out, sizeof out, "env -u COLUMNS %s summary %s %s",
                           GM, all ? "--all" : "", path);
        cr_assert_eq(rc, 0, "%s", out);
        cr_assert_leq(widest_line(out), 100, "%s", out);
        cr_assert_geq(count(out, "\nmodel "), 2, "blocks: %s", out);
        /* each block names its rows; each column is in one block */
        cr_assert_eq(count(out, "\ngan_prior "), count(out, "\nmodel "), "%s",
                     out);
        cr_assert_eq(count(out, " objective "), 1, "%s", out);
        cr_assert_eq(count(out, "  elbo_eval"), 1, "%s", out);
    }
    int rc = shell_run(out, sizeof out, "COLUMNS=60 %s summary %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_leq(widest_line(out), 60, "$COLUMNS: %s", out);
}

Test(summary_table, wide_gives_one_block, .init = make_dir,
     .fini = remove_dir) {
    write_flagship_like(path);
    static char out[65536];
    int rc =
        shell_run(out, sizeof out, "COLUMNS=80 %s summary --wide %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_eq(count(out, "\nmodel "), 1, "%s", out);
    cr_assert_gt(widest_line(out), 100, "%s", out);
    char line[1024];
    line_of(out, "model ", line, sizeof line);
    cr_assert(strstr(line, "elbo_eval") && strstr(line, "kl_model_data"), "%s",
              line);
}

Test(summary_table, two_files_in_one_table_labelled_by_file, .init = make_dir,
     .fini = remove_dir) {
    write_file();
    char flagship[160];
    snprintf(flagship, sizeof flagship, "%s/flagship.h5", dir);
    write_flagship_like(flagship);
    static char out[65536];
    int rc = shell_run(out, sizeof out, "env -u COLUMNS %s summary %s %s", GM,
                       path, flagship);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_leq(widest_line(out), 100, "%s", out);
    char title[256], line[1024];
    snprintf(title, sizeof title, "%s: known: complete\n", path);
    cr_assert(strstr(out, title), "%s", out);
    snprintf(title, sizeof title, "%s: gan_vs_vae: complete\n", flagship);
    cr_assert(strstr(out, title), "%s", out);
    /* a file column first; both files' vae and gan rows in file order */
    line_of(out, "file ", line, sizeof line);
    cr_assert(strncmp(line + strspn(line + 4, " ") + 4, "model ", 6) == 0, "%s",
              line);
    char row[256];
    snprintf(row, sizeof row, "%s ", path);
    line_of(out, row, line, sizeof line);
    cr_assert(strstr(line, " vae "), "%s", line);
    cr_assert(strstr(line, " 0.251 ± 0.012 "), "the first file's numbers: %s",
              line);
    snprintf(row, sizeof row, "\n%s  gan ", flagship);
    cr_assert(strstr(out, row), "%s", out);
    /* the union of the columns: the plugin's, and the flagship's joint_kl */
    cr_assert(strstr(out, " my_score"), "%s", out);
    cr_assert(strstr(out, " joint_kl "), "%s", out);
    /* the legend once */
    cr_assert_eq(count(out, "\nmodes_covered: modes, higher is better\n"), 1,
                 "%s", out);
    rc = shell_run(out, sizeof out, "%s summary --csv %s %s", GM, path,
                   flagship);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strncmp(out, "file,model,objective,n_seeds,n_failed,", 38) == 0,
              "%s", out);
    snprintf(row, sizeof row, "\n%s,vae,vae_elbo,2,0,", path);
    cr_assert(strstr(out, row), "%s", out);
    snprintf(row, sizeof row, "\n%s,gan_prior,gan_data_prior,2,0,", flagship);
    cr_assert(strstr(out, row), "%s", out);
}

/* One seed has no standard error: the CSV says nan, not 0. */
Test(summary_table, csv_standard_error_of_one_seed_is_nan, .init = make_dir,
     .fini = remove_dir) {
    write_file();
    char out[8192];
    int rc = shell_run(out, sizeof out, "%s summary --csv %s", GM, path);
    cr_assert_eq(rc, 0, "%s", out);
    char head[4096];
    snprintf(head, sizeof head, "%.*s", (int)strcspn(out, "\n"), out);
    /* the column of my_score_se, counted in fields */
    int field = 0;
    for (const char *p = head; p < strstr(head, "my_score_se"); p++)
        field += *p == ',';
    char line[1024];
    line_of(out, "mine,", line, sizeof line);
    const char *at = line;
    for (int k = 0; k < field - 1; k++)
        at = strchr(at, ',') + 1;
    cr_assert(strncmp(at, "0.5,nan", 7) == 0 && (at[7] == ',' || at[7] == '\0'),
              "my_score mean, se: %s in\n%s", at, out);
    line_of(out, "vae,", line, sizeof line);
    cr_assert(strstr(line, ",-880.4,8.8,"), "two seeds keep theirs: %s", line);
}

Test(summary_table, a_bad_file_among_several_is_named_and_the_others_print,
     .init = make_dir, .fini = remove_dir) {
    write_file();
    char damaged[160];
    snprintf(damaged, sizeof damaged, "%s/damaged.h5", dir);
    FILE *f = fopen(damaged, "w");
    cr_assert_not_null(f);
    fputs("not an HDF5 file\n", f);
    fclose(f);
    char out[8192];
    int rc = shell_run(out, sizeof out, "%s summary %s %s/missing.h5 %s", GM,
                       path, dir, damaged);
    cr_assert_eq(rc, 1, "%s", out);
    char said[256];
    snprintf(said, sizeof said, "gm summary: %s/missing.h5: ", dir);
    cr_assert(strstr(out, said), "%s", out);
    snprintf(said, sizeof said, "gm summary: %s: ", damaged);
    cr_assert(strstr(out, said), "%s", out);
    cr_assert_eq(count(out, "(left out of the table)"), 2, "%s", out);
    snprintf(said, sizeof said, "\n%s  vae ", path);
    cr_assert(strstr(out, said), "the readable file prints: %s", out);
}
