/* The HDF5 run file: every object of the layout read back with the HDF5 C
 * API, status transitions, a crashed writer, checkpoints, the summary,
 * clear errors on bad and damaged files, and one writer per file whatever
 * name or link reaches it. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gm/optim.h"
#include "gm/runfile.h"

#define OUT_DIR "test_runfile_out"
#define K 3 /* modes */
#define S 4 /* samples per snapshot */
#define D 2 /* data dimension */
#define EVALS 3
#define H5DUMP "/usr/bin/h5dump"

static const char *const metric_names[] = {"loss_d", "kl_model_data"};
static const char *const model_names[] = {"gan", "vae"};
static const uint64_t seeds[] = {7, 11};

/* Deterministic contents: model m, seed index s, evaluation e. */
static long step_of(int e) { return 10L * (e + 1); }
static double metric_of(int m, int s, int e, int k) {
    return 100.0 * m + 10.0 * s + e + 0.5 * k;
}
static int count_of(int m, int s, int e, int k) { return m + s + e + k; }
static float sample_of(int m, int s, int e, int i) {
    return (float)m + 0.1f * (float)s + 0.01f * (float)e + 0.001f * (float)i;
}

static char *out_path(const char *name) {
    mkdir(OUT_DIR, 0777);
    static char buf[256];
    snprintf(buf, sizeof buf, OUT_DIR "/%s.h5", name);
    unlink(buf);
    return buf;
}

static gm_hparams model_params(void) {
    gm_hparams h = {.n = 4};
    h.item[0].name = "lambda";
    h.item[0].type = GM_HP_FLOAT;
    h.item[0].number = 2.5;
    h.item[1].name = "loss";
    h.item[1].type = GM_HP_CHOICE;
    snprintf(h.item[1].choice, GM_HPARAM_STR_MAX, "non_saturating");
    h.item[2].name = "d_steps";
    h.item[2].type = GM_HP_INT;
    h.item[2].number = 3;
    h.item[3].name = "learn_sigma";
    h.item[3].type = GM_HP_BOOL;
    h.item[3].number = 1;
    return h;
}

static gm_runfile *create_or_die(const char *path) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_create(path, GM_RUNFILE_NEW, "unit",
                                      "experiment: unit\n", &err);
    cr_assert_not_null(f, "create: %s", err.message);
    return f;
}

/* Appends evaluations [0, n) of model m, seed index s. */
static void append_evals(gm_run_log *log, int m, int s, int n) {
    gm_error err = {0};
    for (int e = 0; e < n; e++) {
        double metrics[2];
        int counts[K];
        float samples[S * D];
        for (int k = 0; k < 2; k++)
            metrics[k] = metric_of(m, s, e, k);
        for (int k = 0; k < K; k++)
            counts[k] = count_of(m, s, e, k);
        for (int i = 0; i < S * D; i++)
            samples[i] = sample_of(m, s, e, i);
        cr_assert_eq(gm_run_log_append(log, step_of(e), metrics, counts,
                                       samples, NULL, &err),
                     GM_OK, "append: %s", err.message);
    }
}

/* 2 models x 2 seeds x 3 evaluations, a ring dataset, status complete. */
static void write_run(const char *path) {
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    const gm_runfile_attr ds_attrs[] = {
        {.name = "modes", .type = GM_RUNFILE_ATTR_INTEGER, .integer = K},
        {.name = "radius", .number = 2.0}};
    const float centers[K * D] = {2, 0, -1, 1.5f, -1, -1.5f};
    cr_assert_eq(gm_runfile_set_dataset(f, "ring", ds_attrs, 2, centers, K, D,
                                        0.02, &err),
                 GM_OK, "%s", err.message);
    gm_hparams h = model_params();
    for (int m = 0; m < 2; m++) {
        cr_assert_eq(gm_runfile_add_model(f, model_names[m], "gan", &h, &err),
                     GM_OK, "%s", err.message);
        for (int s = 0; s < 2; s++) {
            gm_run_log *log = gm_runfile_begin_run(
                f, model_names[m], seeds[s], metric_names, 2, K, S, D, &err);
            cr_assert_not_null(log, "begin: %s", err.message);
            append_evals(log, m, s, EVALS);
            cr_assert_eq(gm_run_log_finish(log, 30, 1.5 + s, &err), GM_OK);
            gm_run_log_free(log);
        }
    }
    cr_assert_eq(gm_runfile_write_summary(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
}

/* ---- reading with the HDF5 C API ---------------------------------------- */

/* gm writes without file locks; HDF5 refuses to open one file twice in a
 * process with different locking, so match it. */
static hid_t open_ro(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, false, true);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    cr_assert_geq(f, 0, "H5Fopen %s", path);
    return f;
}

/* A scalar UTF-8 string attribute (variable or fixed length). */
static char *attr_str(hid_t loc, const char *obj, const char *name) {
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "attribute %s of %s", name, obj);
    hid_t t = H5Aget_type(a);
    cr_assert_eq(H5Tget_class(t), H5T_STRING, "%s is a string", name);
    cr_assert_eq(H5Tget_cset(t), H5T_CSET_UTF8, "%s is UTF-8", name);
    cr_assert(H5Tis_variable_str(t) > 0, "%s is variable-length", name);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char *raw = NULL;
    cr_assert_geq(H5Aread(a, mt, &raw), 0);
    char *s = strdup(raw);
    H5free_memory(raw);
    H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

static void assert_attr_str(hid_t loc, const char *obj, const char *name,
                            const char *want) {
    char *s = attr_str(loc, obj, name);
    cr_assert_str_eq(s, want, "%s@%s", obj, name);
    free(s);
}

/* A scalar numeric attribute of the given class and byte size. */
static void attr_num(hid_t loc, const char *obj, const char *name,
                     H5T_class_t cls, size_t size, hid_t memtype, void *out) {
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert_geq(a, 0, "attribute %s of %s", name, obj);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    cr_assert_eq(H5Tget_class(t), cls, "%s@%s class", obj, name);
    cr_assert_eq(H5Tget_size(t), size, "%s@%s size", obj, name);
    cr_assert_eq(H5Sget_simple_extent_type(sp), H5S_SCALAR);
    cr_assert_geq(H5Aread(a, memtype, out), 0);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
}

static int64_t attr_i64(hid_t loc, const char *obj, const char *name) {
    int64_t v;
    attr_num(loc, obj, name, H5T_INTEGER, 8, H5T_NATIVE_INT64, &v);
    return v;
}

static double attr_f64(hid_t loc, const char *obj, const char *name) {
    double v;
    attr_num(loc, obj, name, H5T_FLOAT, 8, H5T_NATIVE_DOUBLE, &v);
    return v;
}

/* Opens a dataset and checks its class, size (unless 0), rank and dims. */
static hid_t open_ds(hid_t file, const char *obj, H5T_class_t cls, size_t size,
                     int rank, const hsize_t *dims) {
    hid_t ds = H5Dopen2(file, obj, H5P_DEFAULT);
    cr_assert_geq(ds, 0, "dataset %s", obj);
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    cr_assert_eq(H5Tget_class(t), cls, "%s class", obj);
    if (size) cr_assert_eq(H5Tget_size(t), size, "%s element size", obj);
    hsize_t have[4];
    cr_assert_eq(H5Sget_simple_extent_dims(sp, have, NULL), rank, "%s rank",
                 obj);
    for (int i = 0; i < rank; i++)
        cr_assert_eq(have[i], dims[i], "%s dim %d: %llu", obj, i,
                     (unsigned long long)have[i]);
    H5Sclose(sp);
    H5Tclose(t);
    return ds;
}

/* A series: chunked and unlimited in its first dimension. */
static void assert_series(hid_t ds, const char *obj) {
    hid_t sp = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
    hsize_t max[4];
    H5Sget_simple_extent_dims(sp, NULL, max);
    cr_assert_eq(max[0], H5S_UNLIMITED, "%s is unlimited", obj);
    cr_assert_eq(H5Pget_layout(dcpl), H5D_CHUNKED, "%s is chunked", obj);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

/* ---- tests ----------------------------------------------------------------
 */

Test(runfile, root_attributes_and_status_running) {
    const char *path = out_path("root");
    gm_runfile *f = create_or_die(path);
    cr_assert_str_eq(gm_runfile_path(f), path);
    hid_t h = open_ro(path);
    assert_attr_str(h, "/", "experiment", "unit");
    assert_attr_str(h, "/", "status", "running");
    assert_attr_str(h, "/", "config_yaml", "experiment: unit\n");
    char *v = attr_str(h, "/", "gm_version");
    cr_assert(strlen(v) >= 5 && strchr(v, '.'), "version '%s'", v);
    free(v);
    char *c = attr_str(h, "/", "created"); /* 2024-05-01T12:00:00Z */
    cr_assert_eq(strlen(c), 20, "created '%s'", c);
    cr_assert(c[4] == '-' && c[10] == 'T' && c[13] == ':' && c[19] == 'Z',
              "created '%s' is ISO 8601 UTC", c);
    free(c);
    cr_assert(H5Lexists(h, "/models", H5P_DEFAULT) > 0);
    H5Fclose(h);
    cr_assert_eq(gm_runfile_close(f, NULL), GM_OK);
}

Test(runfile, dataset_and_model_attributes) {
    const char *path = out_path("layout_attrs");
    write_run(path);
    hid_t h = open_ro(path);
    assert_attr_str(h, "/dataset", "name", "ring");
    /* integers and booleans as int64 (issue 27) */
    cr_assert_eq(attr_i64(h, "/dataset", "modes"), K);
    cr_assert_eq(attr_f64(h, "/dataset", "radius"), 2.0);
    cr_assert_eq(attr_f64(h, "/dataset", "std"), 0.02);
    hid_t ds =
        open_ds(h, "/dataset/centers", H5T_FLOAT, 8, 2, (hsize_t[]){K, D});
    double c[K * D];
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c);
    cr_assert_eq(c[0], 2.0);
    cr_assert_eq(c[3], 1.5);
    cr_assert_eq(c[5], -1.5);
    H5Dclose(ds);
    for (int m = 0; m < 2; m++) {
        char obj[64];
        snprintf(obj, sizeof obj, "/models/%s", model_names[m]);
        assert_attr_str(h, obj, "objective", "gan");
        cr_assert_eq(attr_f64(h, obj, "lambda"), 2.5);
        assert_attr_str(h, obj, "loss", "non_saturating");
        cr_assert_eq(attr_i64(h, obj, "d_steps"), 3);
        cr_assert_eq(attr_i64(h, obj, "learn_sigma"), 1);
        for (int s = 0; s < 2; s++) {
            char so[96];
            snprintf(so, sizeof so, "%s/seed_%llu", obj,
                     (unsigned long long)seeds[s]);
            uint64_t seed;
            int64_t steps;
            attr_num(h, so, "seed", H5T_INTEGER, 8, H5T_NATIVE_UINT64, &seed);
            attr_num(h, so, "steps", H5T_INTEGER, 8, H5T_NATIVE_INT64, &steps);
            cr_assert_eq(seed, seeds[s]);
            cr_assert_eq(steps, 30);
            cr_assert_eq(attr_f64(h, so, "train_seconds"), 1.5 + s);
        }
    }
    H5Fclose(h);
}

Test(runfile, series_datasets_have_layout_types_shapes_and_values) {
    const char *path = out_path("layout_series");
    write_run(path);
    hid_t h = open_ro(path);
    for (int m = 0; m < 2; m++) {
        for (int s = 0; s < 2; s++) {
            char base[96], obj[160];
            snprintf(base, sizeof base, "/models/%s/seed_%llu", model_names[m],
                     (unsigned long long)seeds[s]);
            snprintf(obj, sizeof obj, "%s/metrics/step", base);
            hid_t ds = open_ds(h, obj, H5T_INTEGER, 8, 1, (hsize_t[]){EVALS});
            assert_series(ds, obj);
            int64_t steps[EVALS];
            H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps);
            for (int e = 0; e < EVALS; e++)
                cr_assert_eq(steps[e], step_of(e));
            H5Dclose(ds);
            /* every series has a unit (issue 27), not only the metrics */
            assert_attr_str(h, obj, "unit", "training steps");
            assert_attr_str(h, obj, "better", "neither");
            for (int k = 0; k < 2; k++) {
                snprintf(obj, sizeof obj, "%s/metrics/%s", base,
                         metric_names[k]);
                ds = open_ds(h, obj, H5T_FLOAT, 8, 1, (hsize_t[]){EVALS});
                assert_series(ds, obj);
                double v[EVALS];
                H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                        v);
                for (int e = 0; e < EVALS; e++)
                    cr_assert_eq(v[e], metric_of(m, s, e, k), "%s[%d]", obj, e);
                H5Dclose(ds);
            }
            snprintf(obj, sizeof obj, "%s/mode_counts", base);
            ds = open_ds(h, obj, H5T_INTEGER, 4, 2, (hsize_t[]){EVALS, K});
            assert_series(ds, obj);
            int counts[EVALS * K];
            H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts);
            for (int e = 0; e < EVALS; e++)
                for (int k = 0; k < K; k++)
                    cr_assert_eq(counts[e * K + k], count_of(m, s, e, k));
            H5Dclose(ds);
            assert_attr_str(h, obj, "unit", "samples");
            snprintf(obj, sizeof obj, "%s/samples", base);
            ds = open_ds(h, obj, H5T_FLOAT, 4, 3, (hsize_t[]){EVALS, S, D});
            assert_series(ds, obj);
            float x[EVALS * S * D];
            H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
            for (int e = 0; e < EVALS; e++)
                for (int i = 0; i < S * D; i++)
                    cr_assert_eq(x[e * S * D + i], sample_of(m, s, e, i));
            H5Dclose(ds);
            assert_attr_str(h, obj, "unit", "data units");
        }
    }
    H5Fclose(h);
}

Test(runfile, status_transitions) {
    const char *path = out_path("status");
    gm_runfile *f = create_or_die(path);
    gm_error err = {0};
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(path, &info, &err), GM_OK, "%s",
                 err.message);
    cr_assert_str_eq(info.status, "running");
    gm_runfile_info_clear(&info);
    cr_assert_eq(gm_runfile_set_status(f, "done", &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "done"), "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "failed: ", &err), GM_ERR_INVALID,
                 "a failure needs a reason");
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_read_info(path, &info, &err); /* read while still open */
    cr_assert_str_eq(info.status, "complete");
    gm_runfile_info_clear(&info);
    cr_assert_eq(
        gm_runfile_set_status(f, "failed: loss is NaN at step 40", &err),
        GM_OK);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK);
    hid_t h = open_ro(path);
    assert_attr_str(h, "/", "status", "failed: loss is NaN at step 40");
    H5Fclose(h);
}

Test(runfile, crashed_writer_leaves_a_readable_file) {
    const char *path = out_path("crash");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        gm_runfile *f =
            gm_runfile_create(path, GM_RUNFILE_NEW, "crash", "", NULL);
        gm_hparams h = model_params();
        if (!f || gm_runfile_add_model(f, "gan", "gan", &h, NULL) != GM_OK)
            _exit(2);
        gm_run_log *log =
            gm_runfile_begin_run(f, "gan", 7, metric_names, 2, K, S, D, NULL);
        if (!log) _exit(3);
        append_evals(log, 0, 0, 2);
        _exit(0); /* no finish, no close: as if killed */
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
    hid_t h = open_ro(path);
    assert_attr_str(h, "/", "status", "running");
    hid_t ds = open_ds(h, "/models/gan/seed_7/metrics/step", H5T_INTEGER, 8, 1,
                       (hsize_t[]){2});
    int64_t steps[2];
    H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps);
    cr_assert(steps[0] == 10 && steps[1] == 20);
    H5Dclose(ds);
    ds = open_ds(h, "/models/gan/seed_7/metrics/kl_model_data", H5T_FLOAT, 8, 1,
                 (hsize_t[]){2});
    double v[2];
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    cr_assert_eq(v[1], metric_of(0, 0, 1, 1));
    H5Dclose(ds);
    H5Dclose(open_ds(h, "/models/gan/seed_7/samples", H5T_FLOAT, 4, 3,
                     (hsize_t[]){2, S, D}));
    H5Fclose(h);
    gm_summary sum;
    gm_error err = {0};
    cr_assert_eq(gm_runfile_read_summary(path, &sum, &err), GM_OK, "%s",
                 err.message);
    cr_assert(sum.from_series, "no /summary: computed from the series");
    cr_assert_str_eq(sum.status, "running");
    cr_assert_eq(sum.n_seeds[0], 1);
    cr_assert_eq(sum.mean[1], metric_of(0, 0, 1, 1));
    gm_summary_clear(&sum);
}

/* Runs argv in a fresh process; returns its exit status. */
static int run(char *const argv[]) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(runfile, h5dump_reads_the_file_while_training_and_after) {
    const char *path = out_path("h5dump");
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    gm_hparams h = model_params();
    gm_runfile_add_model(f, "vae", "vae_elbo", &h, &err);
    gm_run_log *log =
        gm_runfile_begin_run(f, "vae", 1, metric_names, 2, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    double m[2] = {1, 2};
    cr_assert_eq(gm_run_log_append(log, 5, m, NULL, NULL, NULL, &err), GM_OK,
                 "%s", err.message);
    bool have_h5dump = access(H5DUMP, X_OK) == 0;
    if (have_h5dump) {
        char *argv[] = {H5DUMP, "-d", "/models/vae/seed_1/metrics/step",
                        (char *)path, NULL};
        cr_assert_eq(run(argv), 0, "h5dump reads the file while it is open");
    } else {
        cr_log_warn(H5DUMP " missing (install hdf5-tools)");
    }
    gm_run_log_free(log);
    gm_runfile_write_summary(f, &err);
    gm_runfile_set_status(f, "complete", &err);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK);
    cr_assert(H5Fis_hdf5(path) > 0);
    const char *full = out_path("h5dump_full");
    write_run(full);
    if (have_h5dump) {
        char *argv[] = {H5DUMP, "-H", (char *)full, NULL};
        cr_assert_eq(run(argv), 0, "h5dump -H %s", full);
        char *argv2[] = {H5DUMP, "-d", "/summary", (char *)full, NULL};
        cr_assert_eq(run(argv2), 0, "h5dump -d /summary %s", full);
    }
}

/* ---- checkpoints ----------------------------------------------------------
 */

static gm_params *make_group(const char *name, int rows, bool fill) {
    gm_params *p = gm_params_create(name);
    cr_assert_geq(gm_params_add(p, "fc0.weight", (int[]){rows, 2}, 2, NULL), 0);
    cr_assert_geq(gm_params_add(p, "fc0.bias", (int[]){rows}, 1, NULL), 0);
    for (size_t i = 0; fill && i < gm_params_numel(p); i++)
        gm_params_data(p)[i] = 0.25f * (float)i - 1.0f;
    return p;
}

static gm_optim *make_adam(gm_params *p) {
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_optim *o = gm_optim_create(p, &c, NULL);
    cr_assert_not_null(o);
    return o;
}

/* A state of groups generator (2 rows) and discriminator (3 rows, Adam
 * after 3 steps). */
static gm_state *make_state(gm_params *g, gm_params *d, gm_optim *od) {
    for (int t = 0; t < 3; t++) {
        for (size_t i = 0; i < gm_params_numel(d); i++)
            gm_params_grad(d)[i] = 0.1f * (float)(i + 1) * (float)(t + 1);
        gm_optim_step(od);
    }
    gm_state *s = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_params_save_state(g, s, "params/generator", &err), GM_OK);
    cr_assert_eq(gm_params_save_state(d, s, "params/discriminator", &err),
                 GM_OK);
    cr_assert_eq(gm_optim_save_state(od, s, "optim/discriminator", &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_state_put_i64(s, "run/step", 7, &err), GM_OK);
    return s;
}

/* A file with one run of model "gan", seed 3, and a checkpoint of s,
 * written twice (the second rewrites the first in place). */
static void write_checkpointed(const char *path, gm_state *s) {
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    gm_runfile_add_model(f, "gan", "gan", NULL, &err);
    gm_run_log *log = gm_runfile_begin_run(f, "gan", 3, NULL, 0, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    gm_state *first = gm_state_create();
    float zero[4] = {0};
    gm_state_put(first, "params/generator/fc0.weight", GM_STATE_F32, 2,
                 (int64_t[]){2, 2}, zero, &err);
    cr_assert_eq(gm_runfile_write_state(f, "gan", 3, first, &err), GM_OK, "%s",
                 err.message);
    gm_state_free(first);
    cr_assert_eq(gm_runfile_write_state(f, "gan", 3, s, &err), GM_OK, "%s",
                 err.message);
    gm_run_log_free(log);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK);
}

Test(runfile, checkpoint_round_trip_with_adam_state) {
    const char *path = out_path("checkpoint");
    gm_params *g = make_group("generator", 2, true);
    gm_params *d = make_group("discriminator", 3, true);
    gm_optim *od = make_adam(d);
    gm_state *s = make_state(g, d, od);
    write_checkpointed(path, s);

    hid_t h = open_ro(path);
    const char *ck = "/models/gan/seed_3/checkpoint";
    char obj[256];
    snprintf(obj, sizeof obj, "%s/params/generator/fc0.weight", ck);
    H5Dclose(open_ds(h, obj, H5T_FLOAT, 4, 2, (hsize_t[]){2, 2}));
    snprintf(obj, sizeof obj, "%s/optim/discriminator/v", ck);
    H5Dclose(open_ds(h, obj, H5T_FLOAT, 4, 1,
                     (hsize_t[]){gm_params_numel(d)}));
    snprintf(obj, sizeof obj, "%s/optim/discriminator/step_count", ck);
    H5Dclose(open_ds(h, obj, H5T_INTEGER, 8, 0, NULL));
    H5Fclose(h);

    gm_state *back = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_runfile_read_state(path, "gan", 3, back, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(gm_state_count(back), gm_state_count(s));
    for (int i = 0; i < gm_state_count(s); i++) {
        gm_state_record a = gm_state_at(s, i), b;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)a.name_len, a.name);
        cr_assert(gm_state_find(back, name, &b), "%s read back", name);
        cr_assert_eq(a.type, b.type);
        cr_assert_eq(a.rank, b.rank);
        cr_assert_eq(a.count, b.count);
        cr_assert_eq(memcmp(a.data, b.data,
                            a.count * gm_state_type_size(a.type)),
                     0, "%s bit for bit", name);
    }
    gm_params *g2 = make_group("generator", 2, false);
    gm_params *d2 = make_group("discriminator", 3, false);
    gm_optim *od2 = make_adam(d2);
    cr_assert_eq(gm_params_load_state(g2, back, "params/generator", &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_params_load_state(d2, back, "params/discriminator", &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_optim_load_state(od2, back, "optim/discriminator", &err),
                 GM_OK, "%s", err.message);
    for (size_t i = 0; i < gm_params_numel(g); i++)
        cr_assert_eq(gm_params_data(g2)[i], gm_params_data(g)[i]);
    for (size_t i = 0; i < gm_params_numel(d); i++) {
        cr_assert_eq(gm_params_data(d2)[i], gm_params_data(d)[i]);
        cr_assert_eq(gm_optim_state(od2, 0)[i], gm_optim_state(od, 0)[i]);
        cr_assert_eq(gm_optim_state(od2, 1)[i], gm_optim_state(od, 1)[i]);
        cr_assert_neq(gm_optim_state(od, 1)[i], 0.0f);
    }
    cr_assert_eq(gm_optim_step_count(od2), 3);

    /* A layout that differs is named. */
    gm_params *wrong = make_group("generator", 5, false); /* [5,2] */
    cr_assert_eq(gm_params_load_state(wrong, back, "params/generator", &err),
                 GM_ERR_SHAPE);
    cr_assert(strstr(err.message, "params/generator/fc0.weight"), "%s",
              err.message);
    gm_params *other = make_group("encoder", 2, false);
    cr_assert_eq(gm_params_load_state(other, back, "params/encoder", &err),
                 GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "no record 'params/encoder/fc0.weight'"),
              "%s", err.message);
    cr_assert_eq(gm_runfile_read_state(path, "gan", 4, back, &err),
                 GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "/models/gan/seed_4: no run for seed 4"),
              "%s", err.message);
    gm_optim_free(od);
    gm_optim_free(od2);
    gm_state_free(s);
    gm_state_free(back);
    gm_params *all[] = {g, d, g2, d2, wrong, other};
    for (int i = 0; i < 6; i++)
        gm_params_free(all[i]);
}

Test(runfile, a_run_without_checkpoint_says_so) {
    const char *path = out_path("no_checkpoint");
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    gm_runfile_add_model(f, "gan", "gan", NULL, &err);
    cr_assert_eq(gm_runfile_add_run(f, "gan", 3, &err), GM_OK, "%s",
                 err.message);
    gm_runfile_close(f, NULL);
    gm_state *s = gm_state_create();
    cr_assert_eq(gm_runfile_read_state(path, "gan", 3, s, &err),
                 GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "no checkpoint yet"), "%s", err.message);
    gm_state_free(s);
}

/* ---- summary --------------------------------------------------------------
 */

/* Reads column `member` (float64) of the /summary table. */
static void summary_column(hid_t h, const char *member, double *out) {
    hid_t ds = H5Dopen2(h, "/summary", H5P_DEFAULT);
    cr_assert_geq(ds, 0);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(double));
    H5Tinsert(t, member, 0, H5T_NATIVE_DOUBLE);
    cr_assert_geq(H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0,
                  "column %s", member);
    H5Tclose(t);
    H5Dclose(ds);
}

Test(runfile, summary_mean_and_standard_error) {
    const char *path = out_path("summary");
    write_run(path);
    /* Final values (evaluation 2) over seeds s = 0, 1 of metric k, model m:
     * 100m + 2 + 0.5k and 100m + 12 + 0.5k: mean 100m + 7 + 0.5k,
     * sample std 10 / sqrt(2), se = std / sqrt(2) = 5. */
    hid_t h = open_ro(path);
    hid_t ds = open_ds(h, "/summary", H5T_COMPOUND, 0, 1, (hsize_t[]){2});
    /* the model names also as an attribute of UTF-8 strings, which h5py
     * reads as str (it reads a compound's strings as bytes) */
    hid_t a = H5Aopen(ds, "models", H5P_DEFAULT);
    cr_assert_geq(a, 0, "/summary@models");
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    cr_assert(H5Tis_variable_str(t) > 0);
    cr_assert_eq(H5Tget_cset(t), H5T_CSET_UTF8);
    cr_assert_eq(H5Sget_simple_extent_npoints(sp), 2);
    char *names[2];
    cr_assert_geq(H5Aread(a, t, names), 0);
    cr_assert_str_eq(names[0], "gan");
    cr_assert_str_eq(names[1], "vae");
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, names);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    H5Dclose(ds);
    double mean[2], se[2];
    summary_column(h, "kl_model_data_mean", mean);
    summary_column(h, "kl_model_data_se", se);
    for (int m = 0; m < 2; m++) {
        cr_assert_float_eq(mean[m], 100.0 * m + 7.5, 1e-12);
        cr_assert_float_eq(se[m], 5.0, 1e-12);
    }
    H5Fclose(h);

    gm_summary s;
    gm_error err = {0};
    cr_assert_eq(gm_runfile_read_summary(path, &s, &err), GM_OK, "%s",
                 err.message);
    cr_assert_not(s.from_series);
    cr_assert_str_eq(s.status, "complete");
    cr_assert_str_eq(s.experiment, "unit");
    cr_assert_eq(s.n_models, 2);
    cr_assert_eq(s.n_metrics, 2);
    cr_assert_str_eq(s.models[0], "gan");
    cr_assert_str_eq(s.models[1], "vae");
    cr_assert_str_eq(s.metrics[0], "loss_d");
    cr_assert_str_eq(s.objectives[1], "gan");
    for (int m = 0; m < 2; m++) {
        cr_assert_eq(s.n_seeds[m], 2);
        for (int k = 0; k < 2; k++) {
            cr_assert_float_eq(s.mean[m * 2 + k], 100.0 * m + 7 + 0.5 * k,
                               1e-12);
            cr_assert_float_eq(s.se[m * 2 + k], 5.0, 1e-12);
        }
    }
    gm_summary_clear(&s);
}

Test(runfile, summary_one_seed_and_missing_metrics) {
    const char *path = out_path("summary_uneven");
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    gm_runfile_add_model(f, "zeta", "vae_elbo", NULL, &err);
    gm_runfile_add_model(f, "alpha", "gan", NULL, &err);
    const char *elbo[] = {"elbo"};
    gm_run_log *log =
        gm_runfile_begin_run(f, "zeta", 1, elbo, 1, 0, 0, 0, &err);
    const double v1[] = {-3.0}, v2[] = {-2.0};
    gm_run_log_append(log, 1, v1, NULL, NULL, NULL, &err);
    gm_run_log_append(log, 2, v2, NULL, NULL, NULL, &err);
    gm_run_log_free(log);
    log = gm_runfile_begin_run(f, "zeta", 2, elbo, 1, 0, 0, 0, &err);
    gm_run_log_free(log); /* began, never evaluated: not counted */
    const char *d[] = {"d_real"};
    const double finals[] = {0.2, 0.4, 0.9};
    for (int s = 0; s < 3; s++) {
        log =
            gm_runfile_begin_run(f, "alpha", (uint64_t)s, d, 1, 0, 0, 0, &err);
        cr_assert_not_null(log, "%s", err.message);
        gm_run_log_append(log, 100, &finals[s], NULL, NULL, NULL, &err);
        gm_run_log_free(log);
    }
    cr_assert_eq(gm_runfile_write_summary(f, &err), GM_OK, "%s", err.message);
    gm_runfile_close(f, NULL);
    gm_summary s;
    cr_assert_eq(gm_runfile_read_summary(path, &s, &err), GM_OK, "%s",
                 err.message);
    cr_assert_str_eq(s.models[0], "zeta",
                     "models keep the order they were added");
    cr_assert_str_eq(s.metrics[0], "elbo");
    cr_assert_str_eq(s.metrics[1], "d_real");
    cr_assert_eq(s.n_seeds[0], 1);
    cr_assert_eq(s.n_seeds[1], 3);
    cr_assert_eq(s.mean[0], -2.0);
    cr_assert(isnan(s.se[0]), "one seed: se undefined, NaN");
    cr_assert(isnan(s.mean[1]) && isnan(s.se[1]), "zeta has no d_real");
    cr_assert(isnan(s.mean[2]), "alpha has no elbo");
    /* mean 0.5; sample std sqrt(((-.3)^2 + (-.1)^2 + .4^2) / 2) = sqrt(.13) */
    cr_assert_float_eq(s.mean[3], 0.5, 1e-12);
    cr_assert_float_eq(s.se[3], sqrt(0.13) / sqrt(3.0), 1e-12);
    gm_summary_clear(&s);
}

/* ---- reading helpers and errors ------------------------------------------ */

Test(runfile, list_models_and_read_info) {
    const char *path = out_path("index");
    write_run(path);
    gm_error err = {0};
    gm_runfile_index idx;
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(idx.n_models, 2);
    for (int m = 0; m < 2; m++) {
        cr_assert_str_eq(idx.models[m].name, model_names[m]);
        cr_assert_str_eq(idx.models[m].objective, "gan");
        cr_assert_eq(idx.models[m].n_seeds, 2);
        for (int s = 0; s < 2; s++) {
            cr_assert_eq(idx.models[m].seeds[s].seed, seeds[s]);
            cr_assert_eq(idx.models[m].seeds[s].steps, 30);
            cr_assert_eq(idx.models[m].seeds[s].evaluations, EVALS);
            cr_assert_not(idx.models[m].seeds[s].has_checkpoint);
        }
    }
    gm_runfile_index_clear(&idx);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(path, &info, &err), GM_OK);
    cr_assert_str_eq(info.experiment, "unit");
    cr_assert_str_eq(info.config_yaml, "experiment: unit\n");
    cr_assert_str_eq(info.status, "complete");
    cr_assert_not_null(info.created);
    cr_assert_not_null(info.gm_version);
    gm_runfile_info_clear(&info);
}

Test(runfile, missing_not_hdf5_and_corrupt_files_give_clear_errors) {
    gm_error err = {0};
    gm_summary s;
    const char *missing = OUT_DIR "/no_such_file.h5";
    cr_assert_eq(gm_runfile_read_summary(missing, &s, &err), GM_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, missing), "%s", err.message);
    cr_assert(strstr(err.message, "No such file"), "%s", err.message);

    const char *text = out_path("not_hdf5");
    FILE *fp = fopen(text, "w");
    fputs("experiment: not an hdf5 file\n", fp);
    fclose(fp);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(text, &info, &err), GM_ERR_IO);
    cr_assert(strstr(err.message, text), "%s", err.message);
    cr_assert(strstr(err.message, "not an HDF5 file"), "%s", err.message);

    const char *cut = out_path("truncated");
    write_run(cut);
    struct stat st;
    stat(cut, &st);
    cr_assert_eq(truncate(cut, st.st_size / 2), 0);
    gm_runfile_index idx;
    gm_status rc = gm_runfile_list_models(cut, &idx, &err);
    cr_assert_neq(rc, GM_OK, "a truncated file is refused");
    cr_assert(strstr(err.message, cut), "%s", err.message);

    gm_state *state = gm_state_create();
    cr_assert_eq(gm_runfile_read_state(missing, "gan", 1, state, &err),
                 GM_ERR_NOT_FOUND);
    gm_state_free(state);
    cr_assert_eq(gm_runfile_list_models(OUT_DIR, &idx, &err), GM_ERR_IO,
                 "a directory is not a run file");
}

Test(runfile, append_and_begin_run_refuse_bad_calls) {
    const char *path = out_path("bad_calls");
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    cr_assert_eq(gm_runfile_add_model(f, "a/b", "gan", NULL, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "'a/b'"), "%s", err.message);
    cr_assert_eq(gm_runfile_add_model(f, "gan", "gan", NULL, &err), GM_OK);
    cr_assert_eq(gm_runfile_add_model(f, "gan", "gan", NULL, &err),
                 GM_ERR_STATE);
    cr_assert_null(
        gm_runfile_begin_run(f, "vae", 1, metric_names, 2, K, 0, 0, &err));
    cr_assert(strstr(err.message, "/models/vae: no such model"), "%s",
              err.message);
    const char *dup[] = {"x", "x"};
    cr_assert_null(gm_runfile_begin_run(f, "gan", 1, dup, 2, 0, 0, 0, &err));
    const char *reserved[] = {"step"};
    cr_assert_null(
        gm_runfile_begin_run(f, "gan", 1, reserved, 1, 0, 0, 0, &err));
    gm_run_log *log =
        gm_runfile_begin_run(f, "gan", 1, metric_names, 2, K, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_null(
        gm_runfile_begin_run(f, "gan", 1, metric_names, 2, K, 0, 0, &err),
        "a run begins once");
    cr_assert_eq(err.status, GM_ERR_STATE);
    gm_run_log *other =
        gm_runfile_begin_run(f, "gan", 5, metric_names, 2, K, 0, 0, &err);
    cr_assert_not_null(other, "several runs at once: %s", err.message);
    gm_run_log_free(other);
    double m[2] = {1, 2};
    int counts[K] = {1, 2, 3};
    cr_assert_eq(gm_run_log_append(log, 10, m, counts, NULL, NULL, &err),
                 GM_OK);
    cr_assert_eq(gm_run_log_append(log, 10, m, counts, NULL, NULL, &err),
                 GM_ERR_INVALID, "steps must increase");
    cr_assert(strstr(err.message, "step 10 does not follow step 10"), "%s",
              err.message);
    cr_assert_eq(gm_run_log_append(log, 20, m, NULL, NULL, NULL, &err),
                 GM_ERR_INVALID, "mode counts are required");
    cr_assert_eq(
        gm_run_log_append(log, 20, m, counts, (float[]){0}, NULL, &err),
        GM_ERR_INVALID, "no samples in this run");
    cr_assert_eq(gm_run_log_rows(log), 1, "refused rows are not written");
    gm_run_log_free(log);
    cr_assert_null(
        gm_runfile_begin_run(f, "gan", 1, metric_names, 2, K, 0, 0, &err),
        "seed 1 exists");
    cr_assert(strstr(err.message, "already exists"), "%s", err.message);
    /* Closing the file first detaches a live log. */
    log = gm_runfile_begin_run(f, "gan", 2, metric_names, 2, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(gm_run_log_append(log, 1, m, NULL, NULL, NULL, &err),
                 GM_ERR_STATE);
    gm_run_log_free(log);
    hid_t h = open_ro(path);
    H5Dclose(open_ds(h, "/models/gan/seed_1/mode_counts", H5T_INTEGER, 4, 2,
                     (hsize_t[]){1, K}));
    H5Dclose(open_ds(h, "/models/gan/seed_1/metrics/loss_d", H5T_FLOAT, 8, 1,
                     (hsize_t[]){1}));
    cr_assert(H5Lexists(h, "/models/gan/seed_1/samples", H5P_DEFAULT) == 0);
    H5Fclose(h);
}

Test(runfile, create_makes_parents_and_replaces_only_when_done) {
    char dir[128], path[192];
    snprintf(dir, sizeof dir, OUT_DIR "/nested_%d", (int)getpid());
    snprintf(path, sizeof path, "%s/runs/x.h5", dir);
    write_run(path);
    gm_error err = {0};
    cr_assert_null(gm_runfile_create(path, GM_RUNFILE_NEW, "x", "", &err));
    cr_assert(strstr(err.message, "exists"), "%s", err.message);
    gm_runfile_index idx;
    /* Replacing: the old file stays until the new one is complete. */
    gm_runfile *f = gm_runfile_create(path, GM_RUNFILE_REPLACE, "again", "",
                                      &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_OK);
    cr_assert_gt(idx.n_models, 0, "the old file is still there");
    gm_runfile_index_clear(&idx);
    cr_assert_null(gm_runfile_create(path, GM_RUNFILE_REPLACE, "x", "", &err),
                   "one writer at a time");
    cr_assert(strstr(err.message, "being written by another gm run"), "%s",
              err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_OK);
    cr_assert_eq(idx.n_models, 0, "the old file was replaced");
    gm_runfile_index_clear(&idx);
    cr_assert_null(gm_runfile_create("/proc/gm_cannot/x.h5", GM_RUNFILE_NEW,
                                     "x", "", &err));
    cr_assert(strstr(err.message, "/proc/gm_cannot"), "%s", err.message);
    unlink(path);
    char runs[160];
    snprintf(runs, sizeof runs, "%s/runs", dir);
    rmdir(runs);
    rmdir(dir);
}

/* ---- vector series ------------------------------------------------------
 */

/* The dimensions of a [rows, len] dataset of a closed file. */
static void vector_dims(const char *path, const char *obj, hsize_t *dims) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, obj, H5P_DEFAULT);
    cr_assert(ds >= 0, "%s: %s", path, obj);
    hid_t sp = H5Dget_space(ds);
    cr_assert_eq(H5Sget_simple_extent_ndims(sp), 2);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
}

Test(runfile, vectors_are_series_cut_back_on_resume) {
    const char *path = out_path("vectors");
    const char *names[] = {"kl_per_dim"},
               *obj = "/models/vae/seed_1/vectors/kl_per_dim";
    const int lens[] = {3}, wrong[] = {4};
    gm_error err = {0};
    gm_runfile *f = create_or_die(path);
    gm_hparams h = model_params();
    gm_runfile_add_model(f, "vae", "vae_elbo", &h, &err);
    gm_run_log *log =
        gm_runfile_begin_run(f, "vae", 1, metric_names, 2, 0, 0, 0, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_run_log_add_vectors(log, names, lens, 1, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(gm_run_log_add_vectors(log, names, lens, 1, &err),
                 GM_ERR_INVALID, "vectors are added once");
    double m[2] = {1, 2}, v[3] = {0.5, 0.25, 0.125};
    cr_assert_eq(gm_run_log_append(log, 1, m, NULL, NULL, NULL, &err),
                 GM_ERR_INVALID, "a row without its vectors");
    cr_assert(strstr(err.message, "vectors missing"), "%s", err.message);
    for (long step = 1; step <= 3; step++)
        cr_assert_eq(gm_run_log_append(log, step, m, NULL, NULL, v, &err),
                     GM_OK, "%s", err.message);
    gm_run_log_free(log);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    hsize_t dims[2];
    vector_dims(path, obj, dims);
    cr_assert(dims[0] == 3 && dims[1] == 3, "[%llu, %llu]",
              (unsigned long long)dims[0], (unsigned long long)dims[1]);

    f = gm_runfile_resume(path, &err);
    cr_assert_not_null(f, "%s", err.message);
    log =
        gm_runfile_continue_run(f, "vae", 1, metric_names, 2, 0, 0, 0, 1, &err);
    cr_assert_not_null(log, "%s", err.message);
    cr_assert_eq(gm_run_log_add_vectors(log, names, wrong, 1, &err), GM_ERR_IO,
                 "a vector of another length");
    cr_assert(strstr(err.message, "kl_per_dim"), "%s", err.message);
    gm_run_log_free(log);
    log =
        gm_runfile_continue_run(f, "vae", 1, metric_names, 2, 0, 0, 0, 1, &err);
    cr_assert_eq(gm_run_log_add_vectors(log, names, lens, 1, &err), GM_OK, "%s",
                 err.message);
    gm_run_log_free(log);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    vector_dims(path, obj, dims);
    cr_assert(dims[0] == 1 && dims[1] == 3,
              "cut back to the checkpoint's "
              "row: [%llu, %llu]",
              (unsigned long long)dims[0], (unsigned long long)dims[1]);
}

/* ---- damaged files and the paths a file is reached by --------------------
 */

/* Copies `from` to `to` with the byte at `at` XOR `mask`. */
static void copy_flipped(const char *from, const char *to, long at,
                         unsigned char mask) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out);
    int c;
    for (long i = 0; (c = fgetc(in)) != EOF; i++)
        fputc(i == at ? c ^ mask : c, out);
    fclose(in);
    fclose(out);
}

/* HDF5 1.10 crashes on some damaged metadata (the earliest format has no
 * checksums): gm's header turns every change into an error, before HDF5
 * reads the file, for every reader and for resume. */
Test(runfile, a_damaged_file_is_an_error_never_a_crash) {
    char good[256], path[256], checkpointed[256];
    snprintf(good, sizeof good, "%s", out_path("undamaged"));
    write_run(good);
    snprintf(path, sizeof path, "%s", out_path("damaged"));
    gm_params *g = make_group("generator", 2, true);
    gm_params *d = make_group("discriminator", 3, true);
    gm_optim *od = make_adam(d);
    gm_state *s = make_state(g, d, od);
    snprintf(checkpointed, sizeof checkpointed, "%s",
             out_path("damaged_checkpoint_src"));
    write_checkpointed(checkpointed, s);
    int flips = 0;
    for (int which = 0; which < 2; which++) {
        const char *from = which ? checkpointed : good;
        struct stat st;
        cr_assert_eq(stat(from, &st), 0);
        long end = st.st_size < 8192 ? (long)st.st_size : 8192;
        for (long at = 0; at < end; at += 41 + which * 6, flips++) {
            copy_flipped(from, path, at, (unsigned char)(1u << (at % 8)));
            gm_error err = {0};
            gm_summary sum;
            cr_assert_neq(gm_runfile_read_summary(path, &sum, &err), GM_OK,
                          "flip at %ld", at);
            cr_assert(strstr(err.message, "damaged") &&
                          strstr(err.message, path),
                      "flip at %ld: %s", at, err.message);
            gm_runfile_info info;
            cr_assert_neq(gm_runfile_read_info(path, &info, &err), GM_OK);
            cr_assert_neq(gm_runfile_read_state(path, "gan", 3, s, &err),
                          GM_OK);
            cr_assert(strstr(err.message, "damaged"), "%s", err.message);
            cr_assert_null(gm_runfile_resume(path, &err), "flip at %ld", at);
            cr_assert(strstr(err.message, "damaged"), "flip at %ld: %s", at,
                      err.message);
        }
    }
    cr_assert_gt(flips, 150);
    /* A file cut short or grown says so. */
    copy_flipped(good, path, -1, 0);
    FILE *fp = fopen(path, "ab");
    fputc(0, fp);
    fclose(fp);
    gm_error err = {0};
    gm_runfile_index idx;
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_ERR_IO);
    cr_assert(strstr(err.message, "damaged"), "%s", err.message);
    /* The undamaged file reads, and resumes into a file that still reads. */
    gm_runfile *f = gm_runfile_resume(good, &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_list_models(good, &idx, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(idx.n_models, 2);
    gm_runfile_index_clear(&idx);
    gm_state_free(s);
    gm_optim_free(od);
    gm_params_free(g);
    gm_params_free(d);
}

/* Files written before gm's header (HDF5's signature at byte 0) stay
 * readable and resumable; resuming gives them the header. */
Test(runfile, files_from_before_the_header_stay_readable) {
    const char *path = out_path("headerless");
    write_run(path);
    /* what earlier gm wrote: the HDF5 image without the user block */
    hid_t h = open_ro(path);
    ssize_t n = H5Fget_file_image(h, NULL, 0);
    cr_assert_gt(n, 0);
    char *image = malloc((size_t)n);
    cr_assert_eq(H5Fget_file_image(h, image, (size_t)n), n);
    H5Fclose(h);
    FILE *fp = fopen(path, "wb");
    cr_assert_eq(fwrite(image, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    cr_assert_eq(memcmp(image, "\x89HDF", 4), 0, "HDF5's signature first");
    free(image);
    gm_error err = {0};
    gm_runfile_index idx;
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(idx.n_models, 2);
    gm_runfile_index_clear(&idx);
    gm_runfile *f = gm_runfile_resume(path, &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    fp = fopen(path, "rb");
    char head[12];
    cr_assert_eq(fread(head, 1, sizeof head, fp), sizeof head);
    fclose(fp);
    cr_assert_eq(memcmp(head, "gm run file\n", 12), 0, "resumed: checked");
    gm_summary sum;
    cr_assert_eq(gm_runfile_read_summary(path, &sum, &err), GM_OK, "%s",
                 err.message);
    cr_assert_eq(sum.n_models, 2);
    gm_summary_clear(&sum);
}

/* A writer leaves no lock file behind (issue 27): neither beside the
 * file nor beside path.new after a replacement; the next writer makes
 * its own. */
Test(runfile, no_lock_file_is_left_once_the_writer_ends) {
    const char *path = out_path("unlocked");
    write_run(path);
    char lock[300], new_lock[300];
    snprintf(lock, sizeof lock, OUT_DIR "/.unlocked.h5.lock");
    snprintf(new_lock, sizeof new_lock, OUT_DIR "/.unlocked.h5.new.lock");
    cr_assert_neq(access(lock, F_OK), 0, "a new file's lock is removed");
    gm_error err = {0};
    gm_runfile *f = gm_runfile_resume(path, &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(access(lock, F_OK), 0, "held while writing");
    cr_assert(gm_runfile_has_writer(path));
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);
    cr_assert_neq(access(lock, F_OK), 0, "a resumed file's lock is removed");
    cr_assert_not(gm_runfile_has_writer(path));
    f = gm_runfile_create(path, GM_RUNFILE_REPLACE, "again", "", &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_eq(access(new_lock, F_OK), 0);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);
    cr_assert_neq(access(lock, F_OK), 0);
    cr_assert_neq(access(new_lock, F_OK), 0, "nor path.new's");
}

/* One lock per file, whatever name reaches it: a symbolic link, or the
 * path.new a replacing writer publishes to; a link stays a link. */
Test(runfile, one_writer_per_file_through_links_and_new) {
    const char *path = out_path("locked");
    write_run(path);
    char link[256], link_name[64];
    snprintf(link, sizeof link, OUT_DIR "/locked_link.h5");
    snprintf(link_name, sizeof link_name, "locked.h5");
    unlink(link);
    cr_assert_eq(symlink(link_name, link), 0);
    gm_error err = {0};
    gm_runfile *f = gm_runfile_resume(path, &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_null(gm_runfile_resume(link, &err), "the link is the file");
    cr_assert(strstr(err.message, "being written by another gm run"), "%s",
              err.message);
    cr_assert(gm_runfile_has_writer(link));
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);

    /* Written through the link: the target is replaced, the link stays. */
    f = gm_runfile_resume(link, &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert_null(gm_runfile_resume(path, &err));
    cr_assert(strstr(err.message, "being written"), "%s", err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link is still a link");
    cr_assert_eq(lstat(path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));

    /* A replacing writer holds path.new too. */
    f = gm_runfile_create(link, GM_RUNFILE_REPLACE, "again", "", &err);
    cr_assert_not_null(f, "%s", err.message);
    char fresh[300];
    snprintf(fresh, sizeof fresh, "%s.new", path);
    cr_assert_null(gm_runfile_resume(fresh, &err), "path.new is being written");
    cr_assert(strstr(err.message, "being written by another gm run"), "%s",
              err.message);
    cr_assert_eq(gm_runfile_set_status(f, "complete", &err), GM_OK);
    gm_runfile_close(f, NULL);
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "replaced through the link: still a link");
    gm_runfile_index idx;
    cr_assert_eq(gm_runfile_list_models(path, &idx, &err), GM_OK);
    cr_assert_eq(idx.n_models, 0, "the target was replaced");
    gm_runfile_index_clear(&idx);
    unlink(link);

    /* A link to a file yet to be written: the file is made, the link
     * stays. */
    char dangling[256], made[256];
    snprintf(made, sizeof made, "%s", out_path("link_target"));
    snprintf(dangling, sizeof dangling, OUT_DIR "/dangling.h5");
    unlink(dangling);
    cr_assert_eq(symlink("link_target.h5", dangling), 0);
    f = gm_runfile_create(dangling, GM_RUNFILE_NEW, "x", "", &err);
    cr_assert_not_null(f, "%s", err.message);
    cr_assert(gm_runfile_has_writer(made));
    gm_runfile_close(f, NULL);
    cr_assert_eq(lstat(dangling, &st), 0);
    cr_assert(S_ISLNK(st.st_mode));
    cr_assert_eq(lstat(made, &st), 0);
    cr_assert(S_ISREG(st.st_mode), "the link's target was written");
    unlink(dangling);
}

/* Only a regular file is replaced: not a FIFO, a device or a directory. */
Test(runfile, only_a_regular_file_is_replaced) {
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s", out_path("fifo"));
    unlink(OUT_DIR "/.fifo.h5.lock");
    unlink(OUT_DIR "/.fifo.h5.new.lock");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    const char *others[] = {fifo, "/dev/null", OUT_DIR};
    for (int i = 0; i < 3; i++) {
        gm_error err = {0};
        cr_assert_null(gm_runfile_create(others[i], GM_RUNFILE_REPLACE, "x",
                                         "", &err),
                       "%s", others[i]);
        cr_assert(strstr(err.message, others[i]), "%s", err.message);
        cr_assert(strstr(err.message, "not a regular file"), "%s",
                  err.message);
        cr_assert_null(gm_runfile_resume(others[i], &err));
        cr_assert(strstr(err.message, "not a regular file"), "%s",
                  err.message);
    }
    struct stat st;
    cr_assert_eq(lstat(fifo, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode), "the FIFO is untouched");
    cr_assert_eq(stat("/dev/null", &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "/dev/null is untouched");
    cr_assert_neq(access(OUT_DIR "/.fifo.h5.lock", F_OK), 0,
                  "refused before any lock");
    cr_assert_neq(access(OUT_DIR "/.fifo.h5.new.lock", F_OK), 0);
    unlink(fifo);
}
