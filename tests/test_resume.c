/* Nothing lost: a run stopped at any step and resumed from its checkpoint
 * gives the same metrics, vectors, samples, mode counts and final state, bit
 * for bit, as a run never stopped; for every built-in objective (and a GAN
 * of convolutions and batch norm), with one and two jobs. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "gm/config.h"
#include "gm/runfile.h"
#include "gm/train.h"
#include "run_compare.h"
#include "temp_dir.h"

#define SEEDS 2

static const char experiment[] =
    "experiment: resume\n"
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
    "    params: {sigma: 0.1, iwae_k: 4, warmup_steps: 20}\n"
    "  ae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    params: {sigma: 0.1, posterior: deterministic, beta: 0}\n"
    "  joint:\n"
    "    objective: joint_kl\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    params: {sigma: 0.1, iwae_k: 4}\n"
    "  gan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "  prior:\n"
    "    objective: gan_data_prior\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "  frozen:\n"
    "    objective: gan_data_prior\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {previous: frozen, refresh_every: 3}\n"
    "  aae:\n"
    "    objective: aae\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {sigma: 0.1, loss: hinge}\n"
    "  ali:\n"
    "    objective: ali\n"
    "    encoder: {hidden: [8]}\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    /* convolutions and batch norm, whose running statistics must resume */
    "  conv:\n"
    "    objective: gan\n"
    "    generator:\n"
    "      layers: [{linear: {out: 8}}, batch_norm, relu, {reshape: [2, 2, "
    "2]},\n"
    "               {conv_transpose2d: {out: 1, kernel: 2}}, flatten, linear]\n"
    "    discriminator:\n"
    "      layers: [{linear: {out: 18}}, {reshape: [2, 3, 3]},\n"
    "               {conv2d: {out: 2, kernel: 2}}, batch_norm, leaky_relu,\n"
    "               flatten, linear]\n"
    /* gradient penalties: gm_grad's nodes in the discriminator's graph,
     * WGAN-GP's uniform draws (rand_uniform) */
    "  wgan_gp:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {loss: wasserstein, penalty: wgan_gp, d_steps: 2}\n"
    "  ali_r1:\n"
    "    objective: ali\n"
    "    encoder: {hidden: [8]}\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {penalty: r1, penalty_weight: 1}\n"
    /* DRAGAN's two uniform draws (per element and per row) */
    "  dragan:\n"
    "    objective: gan_data_prior\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {penalty: dragan}\n"
    /* the original WGAN: weight clipping and RMSprop (with momentum, so
     * that both of its state buffers resume) */
    "  wgan_clip:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {loss: wasserstein, clip: 0.05, d_steps: 2}\n"
    "    train: {optimizer: {name: rmsprop, lr: 1.0e-3, momentum: 0.5}}\n"
    /* the unrolled GAN: SGD steps built by gm_grad in the generator's
     * graph, which reads a batch of its own and draws noise per step */
    "  unrolled:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {unroll: 2, unroll_lr: 0.1}\n"
    /* PacGAN: the discriminator on packs of two rows */
    "  pacgan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "    params: {pack: 2}\n"
    /* no sampler: no samples or mode counts, labels in every batch */
    "  cls:\n"
    "    objective: classifier\n"
    "    classifier: {hidden: [8]}\n";

static const char *const models[] = {
    "vae",       "ae",     "joint",  "gan",    "prior",    "frozen",
    "aae",       "ali",    "conv",   "wgan_gp", "ali_r1",  "dragan",
    "wgan_clip", "unrolled", "pacgan", "cls"};
#define N_MODELS 16

/* How a test trains an experiment: --jobs, --resume, --retry-failed,
 * --force, and where to stop (stop_model, or any model if NULL, at step
 * stop_at if > 0). */
typedef struct train_how {
    int jobs;
    bool resume, retry_failed, replace;
    const char *stop_model;
    long stop_at;
} train_how;

/* Trains the experiment `text` (named `name` in errors) into `out`, as
 * gm run does with these options. */
static gm_status train_text(const char *text, const char *name,
                            const char *out, train_how h, gm_error *err) {
    gm_registry *reg = gm_builtin_registry();
    char set_out[256];
    snprintf(set_out, sizeof set_out, "out=%s", out);
    const char *sets[] = {set_out};
    gm_experiment e;
    gm_status s = gm_config_load_string(&e, text, name, sets, 1,
                                        gm_registry_schema, reg, err);
    cr_assert_eq(s, GM_OK, "%s", err->message);
    test_stopper st = {.model = h.stop_model, .at = h.stop_at};
    gm_train_options opts = {.jobs = h.jobs,
                             .resume = h.resume,
                             .retry_failed = h.retry_failed,
                             .replace = h.replace,
                             .stop = &st.flag,
                             .progress = h.stop_at > 0 ? test_stop_at : NULL,
                             .progress_ctx = &st,
                             .progress_interval = 1e-12};
    s = gm_train_experiment(&e, reg, &opts, err);
    gm_experiment_clear(&e);
    gm_registry_free(reg);
    return s;
}

static gm_status train_until(const char *out, int jobs, bool resume,
                             const char *model, long stop, gm_error *err) {
    return train_text(experiment, "resume.yaml", out,
                      (train_how){.jobs = jobs,
                                  .resume = resume,
                                  .stop_model = model,
                                  .stop_at = stop},
                      err);
}

static gm_status train(const char *out, int jobs, bool resume, long stop,
                       gm_error *err) {
    return train_until(out, jobs, resume, NULL, stop, err);
}

static char dir[64];

static void make_dir(void) { temp_dir_make(dir, sizeof dir, "gm_resume"); }

static void remove_dir(void) { temp_dir_remove(dir); }

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info,
                      void *ctx) {
    (void)g;
    (void)info;
    char (*names)[64] = ctx;
    for (int i = 0; i < 64; i++)
        if (!names[i][0]) {
            snprintf(names[i], 64, "%s", name);
            break;
        }
    return 0;
}

/* Every series and every checkpoint record but the timing of the models
 * model_names[0..n) are equal. */
static void same_runs_of(const char *want, const char *got,
                         const char *const *model_names, int n) {
    hid_t a = H5Fopen(want, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t b = H5Fopen(got, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(a >= 0 && b >= 0);
    for (int m = 0; m < n; m++)
        for (int seed = 1; seed <= SEEDS; seed++) {
            char group[128], path[256];
            snprintf(group, sizeof group, "/models/%s/seed_%d",
                     model_names[m], seed);
            snprintf(path, sizeof path, "%s/metrics", group);
            char names[64][64] = {{0}};
            hid_t g = H5Gopen2(a, path, H5P_DEFAULT);
            H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect, names);
            H5Gclose(g);
            cr_assert(names[0][0], "%s has series", path);
            for (int i = 0; names[i][0]; i++) {
                snprintf(path, sizeof path, "%s/metrics/%.60s", group,
                         names[i]);
                same_dataset(a, b, path);
            }
            if (strcmp(model_names[m], "vae") == 0 ||
                strcmp(model_names[m], "joint") == 0) {
                snprintf(path, sizeof path, "%s/vectors/kl_per_dim", group);
                same_dataset(a, b, path);
            }
            bool generates = strcmp(model_names[m], "cls") != 0;
            const char *const sampled[] = {"samples", "mode_counts"};
            for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof path, "%s/%s", group, sampled[k]);
                if (generates)
                    same_dataset(a, b, path);
                else
                    cr_assert_eq(H5Lexists(b, path, H5P_DEFAULT), 0,
                                 "%s: a model without a sampler has none",
                                 path);
            }
        }
    H5Fclose(a);
    H5Fclose(b);
    for (int m = 0; m < n; m++)
        for (int seed = 1; seed <= SEEDS; seed++)
            same_checkpoint(want, got, model_names[m], seed);
}

static void same_runs(const char *want, const char *got) {
    same_runs_of(want, got, models, N_MODELS);
}

/* Stops the experiment when `model` reaches step `stop` (the runs before
 * it finished, those after not begun, with two jobs one more stopped
 * wherever it was), resumes it, and compares with a run never stopped. */
static void stopped_and_resumed(int jobs, const char *model, long stop) {
    char want[128], got[128];
    gm_error err = {0};
    snprintf(want, sizeof want, "%s/whole_%d_%s_%ld.h5", dir, jobs, model,
             stop);
    snprintf(got, sizeof got, "%s/resumed_%d_%s_%ld.h5", dir, jobs, model,
             stop);
    cr_assert_eq(train(want, jobs, false, 0, &err), GM_OK, "%s", err.message);
    gm_status s = train_until(got, jobs, false, model, stop, &err);
    cr_assert_eq(s, GM_INTERRUPTED, "stopped at %ld: %s", stop, err.message);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(got, &info, &err), GM_OK);
    cr_assert_str_eq(info.status, "interrupted");
    gm_runfile_info_clear(&info);
    cr_assert_eq(train(got, jobs, true, 0, &err), GM_OK, "resume: %s",
                 err.message);
    cr_assert_eq(gm_runfile_read_info(got, &info, &err), GM_OK);
    cr_assert_str_eq(info.status, "complete");
    gm_runfile_info_clear(&info);
    same_runs(want, got);
}

/* Between checkpoints, at one, at an evaluation, and near the end. */
static const long stops[] = {3, 10, 17, 26};

/* The experiment above has a model of every built-in objective: a new
 * built-in without one fails here. */
Test(resume, the_experiment_has_every_builtin) {
    gm_registry *reg = gm_builtin_registry();
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(gm_config_load_string(&e, experiment, "resume.yaml", NULL, 0,
                                       gm_registry_schema, reg, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(e.n_models, N_MODELS);
    for (int i = 0; i < gm_registry_count(reg); i++) {
        const char *name = gm_registry_at(reg, i)->schema.name;
        bool found = false;
        for (int k = 0; k < e.n_models; k++)
            found = found || strcmp(e.models[k].objective, name) == 0;
        cr_assert(found, "no model of objective %s in the resume experiment",
                  name);
    }
    gm_experiment_clear(&e);
    gm_registry_free(reg);
}

Test(resume, every_objective_one_job, .init = make_dir, .fini = remove_dir) {
    for (int m = 0; m < N_MODELS; m++)
        stopped_and_resumed(1, models[m], stops[m % 4]);
}

Test(resume, every_objective_two_jobs, .init = make_dir, .fini = remove_dir) {
    for (int m = 0; m < N_MODELS; m++)
        stopped_and_resumed(2, models[m], stops[(m + 2) % 4]);
}

Test(resume, twice_in_a_row, .init = make_dir, .fini = remove_dir) {
    char want[128], got[128];
    gm_error err = {0};
    snprintf(want, sizeof want, "%s/whole.h5", dir);
    snprintf(got, sizeof got, "%s/resumed.h5", dir);
    cr_assert_eq(train(want, 2, false, 0, &err), GM_OK, "%s", err.message);
    cr_assert_eq(train(got, 2, false, 4, &err), GM_INTERRUPTED);
    cr_assert_eq(train(got, 1, true, 17, &err), GM_INTERRUPTED);
    cr_assert_eq(train(got, 2, true, 0, &err), GM_OK, "%s", err.message);
    same_runs(want, got);
}

Test(resume, a_complete_file_has_nothing_to_resume, .init = make_dir,
     .fini = remove_dir) {
    char path[128];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/done.h5", dir);
    cr_assert_eq(train(path, 2, false, 0, &err), GM_OK, "%s", err.message);
    cr_assert_eq(train(path, 2, true, 0, &err), GM_OK, "%s", err.message);
    cr_assert_eq(train(path, 2, false, 0, &err), GM_ERR_STATE,
                 "an existing file is refused");
    cr_assert(strstr(err.message, "exists"), "%s", err.message);
}

/* ---- the stored experiment must be the one the file was trained with ---- */

/* Two models, two seeds; each %s is a place an edit goes. */
static const char guarded[] =
    "experiment: guarded\n"
    "seeds: %s\n"
    "dataset: {name: ring, modes: 8, radius: %s, std: 0.02, size: 1000}\n"
    "train: {steps: 30, batch_size: 32, optimizer: {name: adam, lr: 1.0e-3}}\n"
    "eval: {every: 10, samples: 100}\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    params: {sigma: 0.1}\n"
    "%s";

static const char gan_model[] = "  gan:\n"
                                "    objective: gan\n"
                                "    generator: {hidden: [8]}\n"
                                "    discriminator: {hidden: [8]}\n"
                                "    train: {optimizer: {lr: %s}}\n";

/* Trains (or resumes) the experiment with these edits, as gm run --resume
 * does with a run file's config_yaml; stops at step `stop` if > 0. */
static gm_status train_guarded(const char *out, bool resume, const char *seeds,
                               const char *radius, const char *gan_lr,
                               long stop, gm_error *err) {
    char gan[512], text[4096];
    snprintf(gan, sizeof gan, gan_model, gan_lr ? gan_lr : "");
    snprintf(text, sizeof text, guarded, seeds, radius, gan_lr ? gan : "");
    return train_text(text, "guarded.yaml", out,
                      (train_how){.jobs = 2, .resume = resume, .stop_at = stop},
                      err);
}

/* An edited stored experiment is refused, naming the model and the key
 * that changed, and the file is left as it was: resumable as written. */
Test(resume, an_edited_experiment_is_refused_naming_the_key,
     .init = make_dir, .fini = remove_dir) {
    char path[128];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/guarded.h5", dir);
    cr_assert_eq(train_guarded(path, false, "[1, 2]", "2.0", "2.0e-4", 12,
                               &err),
                 GM_INTERRUPTED, "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "2.0", "1.0e-3", 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message,
                     "model 'gan': train.optimizer.lr is 0.001 in the stored "
                     "experiment but the checkpoints were trained with "
                     "0.0002"),
              "%s", err.message);
    cr_assert(strstr(err.message, path), "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "3.0", "2.0e-4", 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message,
                     "model 'vae': dataset.radius is 3 in the stored "
                     "experiment but the checkpoints were trained with 2"),
              "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1]", "2.0", "2.0e-4", 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "model 'vae' has a run for seed 2"), "%s",
              err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 3]", "2.0", "2.0e-4", 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "seed 2"), "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 2, 3]", "2.0", "2.0e-4", 0,
                               &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "seed 3, which model 'vae' has no run for"),
              "%s", err.message);
    /* a model gone from the stored experiment would stay pending for ever */
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "2.0", NULL, 0, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "model 'gan' is in the file but not in its "
                                  "stored experiment"),
              "%s", err.message);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(path, &info, &err), GM_OK);
    cr_assert_str_eq(info.status, "interrupted", "a refused resume writes "
                                                 "nothing");
    gm_runfile_info_clear(&info);
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "2.0", "2.0e-4", 0, &err),
                 GM_OK, "the unedited experiment resumes: %s", err.message);
}

/* The settings are in the file for analysis code: attrs config (key=value
 * lines) and config_digest on each model's group; an edited config that
 * no longer matches its digest is refused too. */
Test(resume, config_attrs_are_recorded_and_checked, .init = make_dir,
     .fini = remove_dir) {
    char path[128];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/attrs.h5", dir);
    cr_assert_eq(train_guarded(path, false, "[1, 2]", "2.0", "2.0e-4", 12,
                               &err),
                 GM_INTERRUPTED, "%s", err.message);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    hid_t g = H5Gopen2(f, "/models/gan", H5P_DEFAULT);
    cr_assert_geq(g, 0);
    hid_t a = H5Aopen(g, "config", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *config = NULL;
    cr_assert_geq(H5Aread(a, t, &config), 0);
    cr_assert(strstr(config, "\ntrain.optimizer.lr=0.0002\n"), "%s", config);
    cr_assert(strstr(config, "\ndataset.radius=2\n"), "%s", config);
    cr_assert(strstr(config, "\nblas_threads=1\n"), "%s", config);
    cr_assert_gt(H5Aexists(g, "config_digest"), 0);
    /* the same text with another learning rate, digest left as it was
     * (written through gm, so that the file's own checksum holds) */
    char edited[4096];
    char *at = strstr(config, "lr=0.0002");
    snprintf(edited, sizeof edited, "%.*slr=0.001%s", (int)(at - config),
             config, at + strlen("lr=0.0002"));
    H5free_memory(config);
    H5Tclose(t);
    H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
    gm_runfile *w = gm_runfile_resume(path, &err);
    cr_assert(w, "%s", err.message);
    cr_assert_eq(gm_runfile_set_model_text(w, "gan", "config", edited, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_close(w, &err), GM_OK, "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "2.0", "2.0e-4", 0, &err),
                 GM_ERR_INVALID, "%s", err.message);
    cr_assert(strstr(err.message, "model 'gan': attribute 'config' does not "
                                  "match its config_digest"),
              "%s", err.message);
}

/* A file stopped after it was created but before its runs were laid out
 * (a kill -9 then) has no models: resuming lays them out and trains. */
/* The digest gm records beside a model's config (FNV-1a, 64 bits, in
 * hexadecimal), for tests that write a config as an older gm did. */
static void config_digest(const char *text, char hex[17]) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

/* Rewrites model's config (and its digest) without the lines that start
 * with `prefix`, as a gm that lacked those settings wrote it. */
static void drop_config_lines(const char *path, const char *model,
                              const char *prefix) {
    char obj[64];
    snprintf(obj, sizeof obj, "/models/%s", model);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, obj, H5P_DEFAULT);
    hid_t a = H5Aopen(g, "config", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *config = NULL;
    cr_assert(f >= 0 && g >= 0 && a >= 0 && H5Aread(a, t, &config) >= 0);
    char older[8192] = "";
    size_t n = 0, dropped = 0;
    for (const char *l = config; *l;) {
        size_t len = strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0);
        if (strncmp(l, prefix, strlen(prefix)) == 0)
            dropped++;
        else if (n + len < sizeof older)
            memcpy(older + n, l, len), n += len;
        l += len;
    }
    older[n] = '\0';
    cr_assert_gt(dropped, 0, "no line %s in %s", prefix, config);
    H5free_memory(config);
    H5Tclose(t);
    H5Aclose(a);
    H5Gclose(g);
    H5Fclose(f);
    char hex[17];
    config_digest(older, hex);
    gm_error err = {0};
    gm_runfile *w = gm_runfile_resume(path, &err);
    cr_assert(w, "%s", err.message);
    cr_assert_eq(gm_runfile_set_model_text(w, model, "config", older, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_set_model_text(w, model, "config_digest", hex,
                                           &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(gm_runfile_close(w, &err), GM_OK, "%s", err.message);
}

/* Stops the guarded experiment at step 12, drops model's config lines
 * that start with `prefix` (as a gm without those settings wrote them)
 * and resumes it. */
static gm_status resume_without(const char *model, const char *prefix,
                                gm_error *err) {
    char path[128];
    snprintf(path, sizeof path, "%s/older.h5", dir);
    cr_assert_eq(train_guarded(path, false, "[1, 2]", "2.0", "2.0e-4", 12, err),
                 GM_INTERRUPTED, "%s", err->message);
    drop_config_lines(path, model, prefix);
    return train_guarded(path, true, "[1, 2]", "2.0", "2.0e-4", 0, err);
}

/* A file of a gm before an objective had some hyperparameter (gan's
 * penalty, added with issue 24) resumes when the experiment leaves it at
 * its default: the runs computed what they compute now. */
Test(resume, a_hyperparameter_added_since_resumes_at_its_default,
     .init = make_dir, .fini = remove_dir) {
    gm_error err = {0};
    cr_assert_eq(resume_without("gan", "params.penalty", &err), GM_OK, "%s",
                 err.message);
}

/* ... as does one from before `clip` (the weight clipping, issue 24). */
Test(resume, a_file_from_before_weight_clipping_resumes, .init = make_dir,
     .fini = remove_dir) {
    gm_error err = {0};
    cr_assert_eq(resume_without("gan", "params.clip=", &err), GM_OK, "%s",
                 err.message);
}

/* RMSprop's alpha is recorded in the settings of RMSprop's runs alone:
 * the settings of the other optimizers' runs, and so their digests, are
 * what they were before RMSprop. */
Test(resume, only_rmsprop_runs_record_alpha, .init = make_dir,
     .fini = remove_dir) {
    static const char text[] =
        "experiment: alpha\n"
        "dataset: {name: ring, modes: 4, size: 256}\n"
        "train: {steps: 2, batch_size: 16}\n"
        "eval: {every: 2, samples: 16}\n"
        "models:\n"
        "  adam: {objective: gan}\n"
        "  rmsprop:\n"
        "    objective: gan\n"
        "    train: {optimizer: {name: rmsprop, alpha: 0.9}}\n";
    char path[128];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/alpha.h5", dir);
    cr_assert_eq(train_text(text, "alpha.yaml", path, (train_how){.jobs = 1},
                            &err),
                 GM_OK, "%s", err.message);
    static const char *const attrs[] = {"config"};
    char **configs = NULL;
    int n = 0;
    cr_assert_eq(gm_runfile_read_models_text(path, attrs, 1, &configs, &n,
                                             &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(n, 2);
    cr_assert(strstr(configs[0], "\ntrain.optimizer.name=adam\n"));
    cr_assert_null(strstr(configs[0], "alpha"), "%s", configs[0]);
    cr_assert(strstr(configs[1], "\ntrain.optimizer.alpha=0.9\n"), "%s",
              configs[1]);
    gm_runfile_texts_free(configs, n);
}

/* The k-NN metrics' settings are part of what --resume compares once off
 * their defaults (a series must not mix two estimators); at their
 * defaults the settings read as before they existed. */
Test(resume, knn_settings_are_compared_off_their_defaults, .init = make_dir,
     .fini = remove_dir) {
    static const char text[] =
        "experiment: knn\n"
        "dataset: {name: ring, modes: 4, size: 256}\n"
        "train: {steps: 4, batch_size: 16}\n"
        "eval: {every: 2, samples: 64%s}\n"
        "checkpoint: {every: 1}\n"
        "models:\n"
        "  gan: {objective: gan}\n";
    char path[128], edited[512], plain[512];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/knn.h5", dir);
    snprintf(plain, sizeof plain, text, "");
    snprintf(edited, sizeof edited, text, ", knn_k: 5");
    cr_assert_eq(train_text(plain, "knn.yaml", path,
                            (train_how){.jobs = 1, .stop_at = 3}, &err),
                 GM_INTERRUPTED, "%s", err.message);
    static const char *const attrs[] = {"config"};
    char **configs = NULL;
    int n = 0;
    cr_assert_eq(gm_runfile_read_models_text(path, attrs, 1, &configs, &n,
                                             &err),
                 GM_OK, "%s", err.message);
    cr_assert_null(strstr(configs[0], "knn"), "%s", configs[0]);
    gm_runfile_texts_free(configs, n);
    cr_assert_eq(train_text(edited, "knn.yaml", path,
                            (train_how){.jobs = 1, .resume = true}, &err),
                 GM_ERR_INVALID);
    cr_assert(strstr(err.message, "eval.knn_k=5"), "%s", err.message);
    cr_assert_eq(train_text(plain, "knn.yaml", path,
                            (train_how){.jobs = 1, .resume = true}, &err),
                 GM_OK, "%s", err.message);
}

/* ... but not when the experiment sets it to another value than its
 * default: the vae's sigma is 0.1, its default 1. */
Test(resume, a_setting_the_checkpoints_lack_is_refused_off_its_default,
     .init = make_dir, .fini = remove_dir) {
    gm_error err = {0};
    cr_assert_eq(resume_without("vae", "params.sigma=", &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "model 'vae': the stored experiment sets "
                                  "params.sigma=0.1"),
              "%s", err.message);
}

Test(resume, a_file_stopped_before_its_layout_resumes, .init = make_dir,
     .fini = remove_dir) {
    char path[128];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/bare.h5", dir);
    gm_runfile *f =
        gm_runfile_create(path, GM_RUNFILE_NEW, "guarded", "", &err);
    cr_assert(f, "%s", err.message);
    cr_assert_eq(gm_runfile_close(f, &err), GM_OK, "%s", err.message);
    cr_assert_eq(train_guarded(path, true, "[1, 2]", "2.0", "2.0e-4", 0, &err),
                 GM_OK, "%s", err.message);
    gm_runfile_info info;
    cr_assert_eq(gm_runfile_read_info(path, &info, &err), GM_OK);
    cr_assert_str_eq(info.status, "complete");
    gm_runfile_info_clear(&info);
    int n = 0;
    static const char *const attrs[] = {"config"};
    char **configs = NULL;
    cr_assert_eq(gm_runfile_read_models_text(path, attrs, 1, &configs, &n,
                                             &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(n, 2);
    cr_assert(configs[0] && configs[1], "the settings are recorded");
    gm_runfile_texts_free(configs, n);
}

/* ---- one diverging run does not block the experiment ------------------- */

/* A diverging run is recorded as failed (its seed group's status names the
 * step and the metric), the other runs go on and stay bit for bit what
 * they are alone, whatever the number of jobs; the summary leaves it out;
 * --resume skips it unless asked to retry it. */

/* SGD at lr 1e4 makes the GAN's numbers infinite within a few steps; the
 * sweep's other point trains normally. */
static const char diverging[] =
    "experiment: diverging\n"
    "seeds: [1, 2]\n"
    "dataset: {name: ring, modes: 4, radius: 2.0, std: 0.05, size: 512}\n"
    "train: {steps: 30, batch_size: 32, optimizer: {name: sgd, lr: 1.0e-3}}\n"
    "eval: {every: 5, samples: 64}\n"
    "models:\n"
    "  gan:\n"
    "    objective: gan\n"
    "    generator: {hidden: [8]}\n"
    "    discriminator: {hidden: [8]}\n"
    "sweep:\n"
    "  models.gan.train.optimizer.lr: %s\n";

#define DIVERGING "gan[lr=1.0e+4]"
#define HEALTHY "gan[lr=1.0e-3]"

static gm_status train_sweep(const char *out, const char *lrs, train_how h,
                             gm_error *err) {
    char text[2048];
    snprintf(text, sizeof text, diverging, lrs);
    return train_text(text, "diverging.yaml", out, h, err);
}

/* The status attribute of the object at `obj` (a copy). */
static void read_status_attr(const char *path, const char *obj, char *out,
                        size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "%s", path);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    cr_assert_geq(o, 0, "%s: %s", path, obj);
    hid_t a = H5Aopen(o, "status", H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    cr_assert_geq(H5Aread(a, t, &s), 0);
    snprintf(out, n, "%s", s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    H5Oclose(o);
    H5Fclose(f);
}

static void seed_status(const char *path, const char *model, int seed,
                       char *out, size_t n) {
    char obj[128];
    snprintf(obj, sizeof obj, "/models/%s/seed_%d", model, seed);
    read_status_attr(path, obj, out, n);
}

/* The healthy point's runs are the same in both files, bit for bit. */
static void same_healthy_runs(const char *want, const char *got) {
    hid_t a = H5Fopen(want, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t b = H5Fopen(got, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(a >= 0 && b >= 0);
    const char *const series[] = {"metrics/step", "metrics/d_real",
                                  "metrics/kl_model_data", "samples",
                                  "mode_counts"};
    for (int seed = 1; seed <= 2; seed++)
        for (int i = 0; i < 5; i++) {
            char path[128];
            snprintf(path, sizeof path, "/models/" HEALTHY "/seed_%d/%s", seed,
                     series[i]);
            same_dataset(a, b, path);
        }
    H5Fclose(a);
    H5Fclose(b);
    for (int seed = 1; seed <= 2; seed++)
        same_checkpoint(want, got, HEALTHY, seed);
}

/* Both seeds of the diverging point fail, the healthy point completes
 * as it does alone, the file says 2 of 4 runs failed and the error lists
 * them; with one job and with two. */
Test(failed_runs, a_diverging_run_fails_alone, .init = make_dir,
     .fini = remove_dir) {
    char alone[128], path[128], status[512];
    gm_error err = {0};
    snprintf(alone, sizeof alone, "%s/alone.h5", dir);
    cr_assert_eq(train_sweep(alone, "[1.0e-3]", (train_how){.jobs = 1}, &err), GM_OK,
                 "%s", err.message);
    for (int jobs = 1; jobs <= 2; jobs++) {
        snprintf(path, sizeof path, "%s/both_%d.h5", dir, jobs);
        cr_assert_eq(train_sweep(path, "[1.0e+4, 1.0e-3]", (train_how){.jobs = jobs},
                           &err),
                     GM_ERR_STATE, "jobs %d: %s", jobs, err.message);
        cr_assert(strstr(err.message, "2 of 4 runs failed"), "%s",
                  err.message);
        cr_assert(strstr(err.message, "model '" DIVERGING "', seed 1: step "),
                  "%s", err.message);
        cr_assert(strstr(err.message, "model '" DIVERGING "', seed 2: step "),
                  "%s", err.message);
        cr_assert(strstr(err.message, "--retry-failed"), "%s", err.message);
        read_status_attr(path, "/", status, sizeof status);
        cr_assert_str_eq(status, "failed: 2 of 4 runs failed");
        for (int seed = 1; seed <= 2; seed++) {
            seed_status(path, DIVERGING, seed, status, sizeof status);
            cr_assert(strncmp(status, "failed: step ", 13) == 0, "%s", status);
            cr_assert(strstr(status, " is inf") || strstr(status, " is nan") ||
                          strstr(status, " is -inf"),
                      "%s", status);
            seed_status(path, HEALTHY, seed, status, sizeof status);
            cr_assert_str_eq(status, "complete");
        }
        same_healthy_runs(alone, path);
        gm_summary s;
        cr_assert_eq(gm_runfile_read_summary(path, &s, &err), GM_OK, "%s",
                     err.message);
        cr_assert(!s.from_series, "the file has its /summary");
        cr_assert_eq(s.n_models, 3, "two models, then the real data's row");
        cr_assert_str_eq(s.models[2], "data");
        cr_assert_str_eq(s.models[0], DIVERGING);
        cr_assert_eq(s.n_failed[0], 2);
        cr_assert_eq(s.n_seeds[0], 0, "failed seeds are left out");
        cr_assert_eq(s.n_failed[1], 0);
        cr_assert_eq(s.n_seeds[1], 2);
        gm_summary_clear(&s);
    }
    /* the failed runs too: what they logged and their last checkpoint */
    char one[128];
    snprintf(one, sizeof one, "%s/both_1.h5", dir);
    hid_t a = H5Fopen(one, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t b = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    for (int seed = 1; seed <= 2; seed++) {
        char series[128];
        snprintf(series, sizeof series,
                 "/models/" DIVERGING "/seed_%d/metrics/d_real", seed);
        same_dataset(a, b, series);
        same_checkpoint(one, path, DIVERGING, seed);
    }
    H5Fclose(a);
    H5Fclose(b);
}

/* Stopped while the healthy point trains, resumed: the healthy runs
 * finish (bit for bit as if never stopped), the failed ones are not
 * tried again; resuming again changes nothing and reports them; with
 * retry_failed they go on from their last checkpoint and fail the same
 * way. */
Test(failed_runs, resume_finishes_the_others_and_skips_failed_runs,
     .init = make_dir, .fini = remove_dir) {
    char whole[128], path[128], status[512], first[2][512];
    gm_error err = {0};
    snprintf(whole, sizeof whole, "%s/whole.h5", dir);
    snprintf(path, sizeof path, "%s/stopped.h5", dir);
    const char *lrs = "[1.0e+4, 1.0e-3]";
    cr_assert_eq(train_sweep(whole, lrs, (train_how){.jobs = 2}, &err), GM_ERR_STATE,
                 "%s", err.message);
    cr_assert_eq(train_sweep(path, lrs,
                       (train_how){.jobs = 1, .stop_model = HEALTHY, .stop_at = 12},
                       &err),
                 GM_INTERRUPTED, "%s", err.message);
    read_status_attr(path, "/", status, sizeof status);
    cr_assert_str_eq(status, "interrupted");
    for (int seed = 1; seed <= 2; seed++) {
        seed_status(path, DIVERGING, seed, first[seed - 1], sizeof first[0]);
        cr_assert(strncmp(first[seed - 1], "failed: ", 8) == 0, "%s",
                  first[seed - 1]);
    }
    for (int again = 0; again < 2; again++) {
        cr_assert_eq(train_sweep(path, lrs, (train_how){.jobs = 2, .resume = true}, &err),
                     GM_ERR_STATE, "%s", err.message);
        cr_assert(strstr(err.message, "2 of 4 runs failed"), "%s",
                  err.message);
        read_status_attr(path, "/", status, sizeof status);
        cr_assert_str_eq(status, "failed: 2 of 4 runs failed");
        same_healthy_runs(whole, path);
    }
    cr_assert_eq(train_sweep(path, lrs,
                       (train_how){.jobs = 2, .resume = true, .retry_failed = true},
                       &err),
                 GM_ERR_STATE, "%s", err.message);
    for (int seed = 1; seed <= 2; seed++) {
        seed_status(path, DIVERGING, seed, status, sizeof status);
        cr_assert_str_eq(status, first[seed - 1],
                         "retried from its checkpoint, it fails the same way");
    }
    same_healthy_runs(whole, path);
}

/* --force: a file whose every run ended, some failed, replaces the old
 * one as a complete file does, and the error names where it is. */
Test(failed_runs, a_file_with_failed_runs_replaces_the_old_one,
     .init = make_dir, .fini = remove_dir) {
    char path[128], fresh[140], status[512];
    gm_error err = {0};
    snprintf(path, sizeof path, "%s/forced.h5", dir);
    snprintf(fresh, sizeof fresh, "%s.new", path);
    cr_assert_eq(train_sweep(path, "[1.0e-3]", (train_how){.jobs = 1}, &err),
                 GM_OK, "%s", err.message);
    cr_assert_eq(train_sweep(path, "[1.0e+4, 1.0e-3]",
                             (train_how){.jobs = 2, .replace = true}, &err),
                 GM_ERR_STATE, "%s", err.message);
    cr_assert(strstr(err.message, " in ") && !strstr(err.message, ".h5.new"),
              "the message names the replaced file: %s", err.message);
    read_status_attr(path, "/", status, sizeof status);
    cr_assert_str_eq(status, "failed: 2 of 4 runs failed");
    cr_assert_neq(access(fresh, F_OK), 0, "%s is gone", fresh);
}

/* ---- bfloat16 products ---------------------------------------------- */

/* An MLP VAE and a GAN of convolutions and batch norm, trained with
 * bfloat16 products (train.precision); %s is the precision. */
static const char bf16_experiment[] =
    "experiment: bf16\n"
    "seeds: [1, 2]\n"
    "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, size: 1000}\n"
    "train: {steps: 30, batch_size: 32, optimizer: {name: adam, lr: 1.0e-3},\n"
    "        precision: %s}\n"
    "eval: {every: 10, samples: 100}\n"
    "checkpoint: {every: 5}\n"
    "models:\n"
    "  vae:\n"
    "    objective: vae_elbo\n"
    "    encoder: {hidden: [8]}\n"
    "    decoder: {hidden: [8]}\n"
    "    params: {sigma: 0.1, iwae_k: 4}\n"
    "  conv:\n"
    "    objective: gan\n"
    "    generator:\n"
    "      layers: [{linear: {out: 8}}, batch_norm, relu, {reshape: [2, 2, "
    "2]},\n"
    "               {conv_transpose2d: {out: 1, kernel: 2}}, flatten, linear]\n"
    "    discriminator:\n"
    "      layers: [{linear: {out: 18}}, {reshape: [2, 3, 3]},\n"
    "               {conv2d: {out: 2, kernel: 2}}, batch_norm, leaky_relu,\n"
    "               flatten, linear]\n";

static gm_status train_bf16(const char *out, const char *precision,
                            bool resume, long stop, gm_error *err) {
    char text[sizeof bf16_experiment + 16];
    snprintf(text, sizeof text, bf16_experiment, precision);
    return train_text(text, "bf16.yaml", out,
                      (train_how){.jobs = 2, .resume = resume, .stop_at = stop},
                      err);
}

/* Stopped twice and resumed, a bfloat16 run gives the metrics, samples
 * and checkpoints of one never stopped, bit for bit; a resume in float32
 * is refused, naming the setting. A CPU without bfloat16 products
 * refuses the experiment before training, naming what it lacks. */
Test(resume, a_bf16_run_resumes_bit_for_bit, .init = make_dir,
     .fini = remove_dir) {
    char want[128], got[128];
    gm_error err = {0};
    snprintf(want, sizeof want, "%s/bf16_whole.h5", dir);
    snprintf(got, sizeof got, "%s/bf16_resumed.h5", dir);
    gm_status s = train_bf16(want, "bf16", false, 0, &err);
    if (!gm_bf16_isa()) {
        cr_assert_neq(s, GM_OK, "bf16 on a CPU without it must be refused");
        cr_assert(strstr(err.message, "AVX512_BF16"), "%s", err.message);
        return;
    }
    cr_assert_eq(s, GM_OK, "%s", err.message);
    cr_assert_eq(train_bf16(got, "bf16", false, 7, &err), GM_INTERRUPTED);
    cr_assert_eq(train_bf16(got, "fp32", true, 0, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "the checkpoints were trained with "
                                  "train.precision=bf16"),
              "%s", err.message);
    cr_assert_eq(train_bf16(got, "bf16", true, 18, &err), GM_INTERRUPTED);
    cr_assert_eq(train_bf16(got, "bf16", true, 0, &err), GM_OK, "%s",
                 err.message);
    const char *const bf16_models[] = {"vae", "conv"};
    same_runs_of(want, got, bf16_models, 2);
}
