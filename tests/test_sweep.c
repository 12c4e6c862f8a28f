/* Sweeps end to end: a swept experiment run by the gm command records
 * each point's keys and values in its model group, `gm summary` shows
 * them as columns, `gm sample` takes a point's name, and `gm run
 * --resume` rebuilds every point from the stored document and goes on
 * bit for bit. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "gm/config.h"
#include "gm/registry.h"
#include "gm/runfile.h"
#include "gm/train.h"
#include "run_compare.h"
#include "shell_run.h"
#include "temp_dir.h"

/* The library's and the command's OpenBLAS kernel must be the same for
 * bit-for-bit comparisons: keep the command on OpenBLAS's own choice. */
#define GM "GM_BLAS_AUTO=0 " GM_BINARY_DIR "/gm"

static const char swept[] =
    "experiment: swept\n"
    "seeds: [1, 2]\n"
    "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 1000}\n"
    "train: {steps: 30, batch_size: 32, optimizer: {name: adam, lr: 1.0e-3}}\n"
    "eval: {every: 10, samples: 100}\n"
    "checkpoint: {every: 5}\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    params: {beta: 1.0, sigma: 0.1, iwae_k: 4}\n"
    "  gan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "sweep:\n"
    "  models.vae.params.beta: [0.25, 4]\n"
    "  models.vae.latent_dim: [1, 2]\n";

static const char *const points[] = {
    "vae[beta=0.25,latent_dim=1]", "vae[beta=0.25,latent_dim=2]",
    "vae[beta=4,latent_dim=1]", "vae[beta=4,latent_dim=2]", "gan"};
#define N_POINTS 5

static char dir[64];

static void make_dir(void) { temp_dir_make(dir, sizeof dir, "gm_sweep"); }

static void remove_dir(void) { temp_dir_remove(dir); }

/* The type class of attribute `name` of `obj` and its value as double. */
static H5T_class_t read_number_attr(hid_t obj, const char *name, double *out) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    cr_assert_geq(a, 0, "missing attribute %s", name);
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    cr_assert_geq(H5Aread(a, H5T_NATIVE_DOUBLE, out), 0, "%s", name);
    H5Tclose(t);
    H5Aclose(a);
    return cls;
}

/* The strings of attribute `name` of `obj`, joined with ' '. */
static void read_strings_attr(hid_t obj, const char *name, char *out,
                              size_t cap) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    cr_assert_geq(a, 0, "missing attribute %s", name);
    hid_t space = H5Aget_space(a), t = H5Aget_type(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    char *s[8] = {0};
    cr_assert(n >= 0 && n <= 8);
    cr_assert_geq(H5Aread(a, t, s), 0);
    size_t k = 0;
    out[0] = '\0';
    for (hssize_t i = 0; i < n; i++) {
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", s[i]);
        H5free_memory(s[i]);
    }
    H5Tclose(t);
    H5Sclose(space);
    H5Aclose(a);
}

Test(sweep, run_records_points_and_summary_shows_them, .init = make_dir,
     .fini = remove_dir) {
    char yaml[128], h5[128], out[32768];
    snprintf(yaml, sizeof yaml, "%s/swept.yaml", dir);
    snprintf(h5, sizeof h5, "%s/swept.h5", dir);
    write_text_file(yaml, swept);
    int rc = shell_run(out, sizeof out, "%s run %s --out %s --jobs 2 --quiet",
                       GM, yaml, h5);
    cr_assert_eq(rc, 0, "%s", out);

    gm_runfile_index index;
    gm_error err = {0};
    cr_assert_eq(gm_runfile_list_models(h5, &index, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(index.n_models, N_POINTS);
    for (int i = 0; i < N_POINTS; i++) {
        cr_assert_str_eq(index.models[i].name, points[i], "in file order");
        cr_assert_eq(index.models[i].n_seeds, 2);
        cr_assert(index.models[i].seeds[1].complete);
    }
    gm_runfile_index_clear(&index);

    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t g = H5Gopen2(f, "/models/vae[beta=4,latent_dim=1]", H5P_DEFAULT);
    cr_assert_geq(g, 0);
    char keys[256];
    read_strings_attr(g, "sweep_keys", keys, sizeof keys);
    cr_assert_str_eq(keys, "params.beta latent_dim");
    double v;
    cr_assert_eq(read_number_attr(g, "sweep.params.beta", &v), H5T_FLOAT);
    cr_assert_eq(v, 4.0);
    cr_assert_eq(read_number_attr(g, "sweep.latent_dim", &v), H5T_INTEGER);
    cr_assert_eq(v, 1.0);
    cr_assert_eq(read_number_attr(g, "beta", &v), H5T_FLOAT,
                 "the hyperparameter itself, as for any model");
    cr_assert_eq(v, 4.0);
    H5Gclose(g);
    g = H5Gopen2(f, "/models/gan", H5P_DEFAULT);
    cr_assert_eq(H5Aexists(g, "sweep_keys"), 0, "gan is not swept");
    H5Gclose(g);
    hid_t table = H5Dopen2(f, "/summary", H5P_DEFAULT);
    read_strings_attr(table, "sweep_keys", keys, sizeof keys);
    cr_assert_str_eq(keys, "params.beta latent_dim");
    H5Dclose(table);
    H5Fclose(f);

    gm_summary s;
    cr_assert_eq(gm_runfile_read_summary(h5, &s, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(s.n_sweep, 2);
    cr_assert_str_eq(s.sweep_values[1 * 2 + 0], "0.25");
    cr_assert_str_eq(s.sweep_values[1 * 2 + 1], "2");
    cr_assert_str_eq(s.sweep_values[4 * 2 + 0], "", "gan has no beta");
    gm_summary_clear(&s);

    rc = shell_run(out, sizeof out, "%s summary %s", GM, h5);
    cr_assert_eq(rc, 0, "%s", out);
    const char *header = strstr(out, "\nmodel ");
    cr_assert_not_null(header, "%s", out);
    const char *beta = strstr(header, "params.beta"),
               *dim = strstr(header, "latent_dim"),
               *objective = strstr(header, "objective"),
               *elbo = strstr(header, "elbo");
    cr_assert(beta && dim && objective && elbo, "%s", out);
    cr_assert(beta < dim && dim < objective && objective < elbo,
              "model, swept keys, objective, then metrics: %s", out);
    const char *row = strstr(out, "vae[beta=0.25,latent_dim=2] ");
    cr_assert_not_null(row, "%s", out);
    char name[64], beta_value[16], dim_value[16], objective_value[16];
    cr_assert_eq(sscanf(row, "%63s %15s %15s %15s", name, beta_value, dim_value,
                        objective_value),
                 4);
    cr_assert_str_eq(beta_value, "0.25", "%s", out);
    cr_assert_str_eq(dim_value, "2", "%s", out);
    cr_assert_str_eq(objective_value, "vae_elbo", "%s", out);

    rc = shell_run(out, sizeof out, "%s summary %s --csv", GM, h5);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strncmp(out, "model,params.beta,latent_dim,objective,n_seeds,",
                      47) == 0,
              "%s", out);
    cr_assert(strstr(out, "\n\"vae[beta=4,latent_dim=2]\",4,2,vae_elbo,2,"),
              "names with commas are quoted: %s", out);
    cr_assert(strstr(out, "\ngan,,,gan,2,"), "%s", out);

    rc = shell_run(out, sizeof out, "%s sample %s --model '%s' -n 4", GM, h5,
                   points[2]);
    cr_assert_eq(rc, 0, "%s", out);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 4, "%s", out);
}

/* The series and the final checkpoint of every point agree bit for
 * bit. */
static void same_points(const char *want, const char *got) {
    hid_t a = H5Fopen(want, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t b = H5Fopen(got, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(a >= 0 && b >= 0);
    static const char *const series[] = {"metrics/step", "metrics/elbo",
                                         "metrics/kl_qz_pz", "samples",
                                         "mode_counts"};
    for (int m = 0; m < N_POINTS - 1; m++)
        for (int seed = 1; seed <= 2; seed++)
            for (int k = 0; k < 5; k++) {
                char path[256];
                snprintf(path, sizeof path, "/models/%s/seed_%d/%s", points[m],
                         seed, series[k]);
                same_dataset(a, b, path);
            }
    H5Fclose(a);
    H5Fclose(b);
    for (int m = 0; m < N_POINTS; m++)
        same_checkpoint(want, got, points[m], 2);
}

/* The document stored in the run file (with its sweep block and an
 * override) is what `gm run --resume` expands again. */
Test(sweep, resume_rebuilds_every_point, .init = make_dir, .fini = remove_dir) {
    char yaml[128], want[128], got[128], out[16384];
    snprintf(yaml, sizeof yaml, "%s/swept.yaml", dir);
    snprintf(want, sizeof want, "%s/whole.h5", dir);
    snprintf(got, sizeof got, "%s/resumed.h5", dir);
    write_text_file(yaml, swept);
    const char *set = "sweep.models.vae.params.beta=[0.25,4]";
    int rc = shell_run(out, sizeof out, "%s run %s --set '%s' --out %s --quiet",
                       GM, yaml, set, want);
    cr_assert_eq(rc, 0, "%s", out);

    gm_registry *reg = gm_builtin_registry();
    char set_out[256];
    snprintf(set_out, sizeof set_out, "out=%s", got);
    const char *sets[] = {set, set_out};
    gm_experiment e;
    gm_error err = {0};
    gm_status s = gm_config_load_string(&e, swept, yaml, sets, 2,
                                        gm_registry_schema, reg, &err);
    cr_assert_eq(s, GM_OK, "%s", err.message);
    test_stopper st = {.model = points[2], .at = 13};
    gm_train_options opts = {.jobs = 2,
                             .stop = &st.flag,
                             .progress = test_stop_at,
                             .progress_ctx = &st,
                             .progress_interval = 1e-12};
    s = gm_train_experiment(&e, reg, &opts, &err);
    cr_assert_eq(s, GM_INTERRUPTED, "%s", err.message);
    gm_experiment_clear(&e);
    gm_registry_free(reg);

    /* An interrupted file has no /summary: the table, swept values
     * included, comes from the model groups. */
    gm_summary table;
    cr_assert_eq(gm_runfile_read_summary(got, &table, &err), GM_OK, "%s",
                 err.message);
    cr_assert(table.from_series);
    cr_assert_eq(table.n_sweep, 2);
    cr_assert_str_eq(table.sweep_keys[0], "params.beta");
    cr_assert_str_eq(table.sweep_values[2 * 2 + 0], "4");
    cr_assert_str_eq(table.sweep_values[2 * 2 + 1], "1");
    gm_summary_clear(&table);

    rc = shell_run(out, sizeof out, "%s run --resume %s --quiet", GM, got);
    cr_assert_eq(rc, 0, "%s", out);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(got, &info, &err), GM_OK);
    cr_assert_str_eq(info.status, "complete");
    gm_runfile_info_clear(&info);
    same_points(want, got);
}
