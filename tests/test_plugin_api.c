/* What a plugin author meets: objectives added to a registry as a plugin
 * is, a graph error in any model found before anything trains (naming
 * model and node), number hyperparameters without a range taking any
 * value, a lookup of an undeclared hyperparameter refused, hooks that
 * know a phase by its name whatever the order of the phases, and a
 * registry in which no objective replaces another (libgm alone has none;
 * the built-ins come from libgm_models), a truncated plugin file refused
 * before the loader maps it, and a plugin that crashes in a hook named
 * by gm as it dies; a metric the objective logs without declaring it
 * refused, naming both, and a declared one's unit in the run file; the
 * noise a plugin's graph can draw (categorical, a custom op's stream). */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtin.h"
#include "gm/config.h"
#include "gm/op.h"
#include "gm/ops.h"
#include "gm/registry.h"
#include "gm/runfile.h"
#include "gm/state.h"
#include "gm/train.h"
#include "gm/vae_eval.h"
#include "train/built_model.h"

static const char *const roles[] = {"generator"};

static const gm_hparam_spec hparams[] = {
    {.name = "offset",
     .type = GM_HP_FLOAT,
     .def = 0.5,
     .doc = "no range given: any number"},
    {.name = "scale",
     .type = GM_HP_FLOAT,
     .def = 1,
     .min = 0,
     .max = 2,
     .doc = "a range"},
};

/* The test objectives' generator: its group in *p and a new graph `name`
 * in *g, and its output [batch, data_dim] on z ~ N(0, I) there; NULL
 * with err set on failure. */
static gm_node *generated(gm_model *m, const gm_build_ctx *ctx,
                          const char *name, gm_params **p, gm_graph **g,
                          gm_error *err) {
    gm_net gen;
    *p = gm_model_network(m, ctx, "generator", ctx->spec->latent_dim,
                          ctx->data_dim, &gen, err);
    if (!*p) return NULL;
    *g = gm_graph_create(name);
    gm_node *z = gm_randn(*g, "z", (int[]){ctx->batch_size, 2}, 2, ctx->noise);
    return gm_net_forward(*g, &gen, z);
}

/* A phase whose loss is the [b, d] output of the generator itself, not a
 * [1] node: an error only building the graph finds. */
static gm_status broken_build(gm_model *m, const gm_build_ctx *ctx,
                              gm_error *err) {
    gm_params *p;
    gm_graph *g;
    gm_node *wide = generated(m, ctx, "broken", &p, &g, err);
    if (!p) return err->status;
    gm_node *loss = gm_add(g, gm_sum(g, wide, GM_AXIS_PER_ROW), wide);
    return gm_model_add_phase(m, "broken", g, loss, &p, 1, 1, err);
}

/* Reads its parameters as a plugin would, with a typo in one name. */
static gm_status typo_build(gm_model *m, const gm_build_ctx *ctx,
                            gm_error *err) {
    (void)m;
    (void)err;
    gm_hparams_number(&ctx->spec->params, "ofset");
    return GM_OK;
}

static const gm_objective broken = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "broken",
               .roles = roles,
               .n_roles = 1,
               .hparams = hparams,
               .n_hparams = 2},
    .build = broken_build,
};

static const gm_objective typo = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "typo",
               .roles = roles,
               .n_roles = 1,
               .hparams = hparams,
               .n_hparams = 2},
    .build = typo_build,
};

static gm_registry *registry_with(const gm_objective *o) {
    gm_registry *r = gm_builtin_registry();
    gm_error err = {0};
    cr_assert_eq(gm_registry_add(r, o, &err), GM_OK, "%s", err.message);
    return r;
}

static const char doc[] = "experiment: preflight\n"
                          "seeds: [1]\n"
                          "dataset: {name: ring, modes: 4, size: 200}\n"
                          "train: {steps: 20, batch_size: 8}\n"
                          "eval: {every: 10, samples: 50}\n"
                          "models:\n"
                          "  gan:\n"
                          "    objective: gan\n"
                          "    generator: {hidden: [4]}\n"
                          "    discriminator: {hidden: [4]}\n"
                          "  late:\n"
                          "    objective: %s\n"
                          "    generator: {hidden: [4]}\n"
                          "    params: {offset: %s}\n";

static gm_status load(gm_experiment *e, gm_registry *r, const char *objective,
                      const char *offset, gm_error *err) {
    char text[sizeof doc + 64];
    snprintf(text, sizeof text, doc, objective, offset);
    return gm_config_load_string(e, text, "preflight.yaml", NULL, 0,
                                 gm_registry_schema, r, err);
}

Test(plugin_api, graph_errors_of_the_last_model_stop_before_training) {
    gm_registry *r = registry_with(&broken);
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, r, "broken", "1", &err), GM_OK, "%s", err.message);
    char out[] = "/tmp/gm_preflight_XXXXXX";
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    unlink(out);
    snprintf(e.out, sizeof e.out, "%s", out);
    gm_train_options opts = {.jobs = 1};
    cr_assert_neq(gm_train_experiment(&e, r, &opts, &err), GM_OK);
    cr_assert(strstr(err.message, "model 'late'"), "%s", err.message);
    cr_assert(strstr(err.message, "add of the sum node #"), "%s", err.message);
    cr_assert(strstr(err.message, "[8, 1]") && strstr(err.message, "[8, 2]"),
              "%s", err.message);
    cr_assert_neq(access(out, F_OK), 0, "no run file: nothing trained");
    gm_experiment_clear(&e);
    gm_registry_free(r);
}

Test(plugin_api, a_number_without_a_range_takes_any_value) {
    gm_registry *r = registry_with(&broken);
    const char *values[] = {"-3.5", "1.0e6", "0.5"};
    for (int i = 0; i < 3; i++) {
        gm_experiment e;
        gm_error err = {0};
        cr_assert_eq(load(&e, r, "broken", values[i], &err), GM_OK, "%s: %s",
                     values[i], err.message);
        cr_assert_float_eq(gm_hparams_number(&e.models[1].params, "offset"),
                           atof(values[i]), 1e-9);
        gm_experiment_clear(&e);
    }
    gm_registry_free(r);
}

Test(plugin_api, a_ranged_number_is_still_checked) {
    gm_registry *r = registry_with(&broken);
    char text[sizeof doc + 64];
    snprintf(text, sizeof text, doc, "broken", "0");
    strcat(text, "    train: {steps: 5}\n");
    const char *set = "models.late.params.scale=3";
    gm_experiment e;
    gm_error err = {0};
    cr_assert_neq(gm_config_load_string(&e, text, "p.yaml", &set, 1,
                                        gm_registry_schema, r, &err),
                  GM_OK);
    cr_assert(strstr(err.message, "models.late.params.scale"), "%s",
              err.message);
    gm_registry_free(r);
}

Test(plugin_api, the_registry_refuses_a_second_objective_of_a_name) {
    gm_registry *r = gm_builtin_registry();
    gm_objective again = broken;
    again.schema.name = "gan";
    gm_error err = {0};
    cr_assert_neq(gm_registry_add(r, &again, &err), GM_OK);
    cr_assert(strstr(err.message, "gan") && strstr(err.message, "taken"), "%s",
              err.message);
    gm_objective old = broken;
    old.abi = GM_OBJECTIVE_ABI - 1;
    cr_assert_neq(gm_registry_add(r, &old, &err), GM_OK);
    cr_assert(strstr(err.message, "ABI"), "%s", err.message);
    gm_registry_free(r);
}

Test(plugin_api, libgm_alone_knows_no_objective) {
    gm_registry *r = gm_registry_create();
    cr_assert_eq(gm_registry_count(r), 0);
    gm_error err = {0};
    cr_assert_null(gm_registry_find(r, "gan", NULL, &err));
    cr_assert_str_eq(err.message,
                     "unknown objective 'gan' (known: none); an objective of "
                     "a plugin is loaded with --plugin LIB.so or the model's "
                     "plugin: key");
    gm_registry_free(r);
}

Test(plugin_api, the_builtins_are_added_as_any_objective_is) {
    gm_registry *r = gm_builtin_registry();
    cr_assert_gt(gm_registry_count(r), 0);
    for (int i = 0; i < gm_registry_count(r); i++) {
        const gm_objective *o = gm_registry_at(r, i);
        cr_assert_null(gm_registry_plugin_path(r, o->schema.name));
        cr_assert_eq(gm_registry_find(r, o->schema.name, NULL, NULL), o);
        gm_error err = {0};
        cr_assert_neq(gm_registry_add(r, o, &err), GM_OK);
        char want[GM_ERROR_MAX];
        snprintf(want, sizeof want,
                 "objective %s: the objective name '%s' is taken by a "
                 "built-in objective: give the objective another name",
                 o->schema.name, o->schema.name);
        cr_assert_str_eq(err.message, want);
    }
    gm_registry_free(r);
}

/* tests/plugins/impostor_plugin.c calls its objective "gan". */
Test(plugin_api, a_plugin_cannot_replace_a_builtin) {
    gm_registry *r = gm_builtin_registry();
    const gm_objective *gan = gm_registry_find(r, "gan", NULL, NULL);
    int builtins = gm_registry_count(r);
    gm_error err = {0};
    cr_assert_null(gm_registry_load(r, GM_IMPOSTOR_PLUGIN, &err));
    cr_assert(strstr(err.message, "plugin " GM_IMPOSTOR_PLUGIN ": ") ==
                  err.message,
              "%s", err.message);
    cr_assert(strstr(err.message, "'gan' is taken by a built-in objective"),
              "%s", err.message);
    cr_assert_eq(gm_registry_find(r, "gan", NULL, NULL), gan);
    cr_assert_eq(gm_registry_count(r), builtins);
    gm_registry_free(r);
}

Test(plugin_api, a_plugin_cannot_replace_another_plugin) {
    char copy[] = "/tmp/gm_impostor_XXXXXX";
    int fd = mkstemp(copy);
    cr_assert_geq(fd, 0);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s %s", GM_IMPOSTOR_PLUGIN, copy);
    cr_assert_eq(system(cmd), 0);
    gm_registry *r = gm_registry_create();
    gm_error err = {0};
    cr_assert_not_null(gm_registry_load(r, GM_IMPOSTOR_PLUGIN, &err), "%s",
                       err.message);
    const gm_objective *second = gm_registry_load(r, copy, &err);
    unlink(copy);
    cr_assert_null(second);
    cr_assert(strstr(err.message, "'gan' is taken by the plugin "), "%s",
              err.message);
    cr_assert(strstr(err.message, "impostor_plugin.so"), "%s", err.message);
    gm_registry_free(r);
}

/* A typo in a hyperparameter's name aborts at once, naming it, instead of
 * quietly reading a default. */
Test(plugin_api, an_undeclared_hyperparameter_name_aborts, .signal = SIGABRT) {
    gm_registry *r = registry_with(&typo);
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, r, "typo", "1", &err), GM_OK, "%s", err.message);
    gm_check_models(&e, r, &err);
}

/* An objective of two phases, "a" (once per step) and "b" (twice), added
 * in the order its `order` parameter spells ("aa": "a" twice), whose
 * before_phase hook logs the phase names and repeats it is called with. */
static const char *const orders[] = {"ab", "ba", "aa", NULL};
static const gm_hparam_spec order_hparams[] = {
    {.name = "order",
     .type = GM_HP_CHOICE,
     .choices = orders,
     .def_choice = "ab",
     .doc = "the order the phases are added in"},
};

#define MAX_LOGGED 8

typedef struct phase_log {
    char seen[MAX_LOGGED][GM_NAME_MAX];
    int n;
} phase_log;

static gm_status log_phase(void *state, const char *phase, int repeat,
                           long step, gm_error *err) {
    phase_log *log = state;
    cr_assert_lt(log->n, MAX_LOGGED);
    snprintf(log->seen[log->n++], GM_NAME_MAX, "%s/%d", phase, repeat);
    return GM_OK;
}

static gm_status add_named_phase(gm_model *m, const gm_build_ctx *ctx,
                                 gm_params *p, const gm_net *gen, char name,
                                 gm_error *err) {
    char phase[2] = {name, 0};
    gm_graph *g = gm_graph_create(phase);
    gm_node *z = gm_randn(
        g, "z", (int[]){ctx->batch_size, ctx->spec->latent_dim}, 2, ctx->noise);
    gm_node *loss =
        gm_mean(g, gm_square(g, gm_net_forward(g, gen, z)), GM_AXIS_ALL);
    return gm_model_add_phase(m, phase, g, loss, &p, 1, name == 'b' ? 2 : 1,
                              err);
}

static gm_status ordered_build(gm_model *m, const gm_build_ctx *ctx,
                               gm_error *err) {
    gm_net gen;
    gm_params *p = gm_model_network(m, ctx, "generator", ctx->spec->latent_dim,
                                    ctx->data_dim, &gen, err);
    if (!p) return err->status;
    phase_log *log = calloc(1, sizeof *log);
    gm_hooks hooks = {
        .state = log, .free_state = free, .before_phase = log_phase};
    gm_status s = gm_model_set_hooks(m, &hooks, err);
    const char *order = gm_hparams_choice(&ctx->spec->params, "order");
    for (int i = 0; s == GM_OK && i < 2; i++)
        s = add_named_phase(m, ctx, p, &gen, order[i], err);
    if (s != GM_OK) return s;
    gm_graph *g = gm_graph_create("sampler");
    gm_node *z =
        gm_randn(g, "z", (int[]){ctx->sample_count, ctx->spec->latent_dim}, 2,
                 ctx->noise);
    return gm_model_set_sampler(
        m, g, gm_node_set_name(gm_net_forward(g, &gen, z), "samples"), err);
}

static const gm_objective ordered = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "ordered",
               .roles = roles,
               .n_roles = 1,
               .hparams = order_hparams,
               .n_hparams = 1},
    .build = ordered_build,
};

/* Builds model `spec` of objective o for 2-D data in batches of 4, one
 * Adam step, seed 1; NULL with err set if it cannot be built. */
static gm_model *build_small(const gm_objective *o, gm_model_spec *spec,
                             gm_error *err) {
    spec->train.steps = 1;
    spec->train.batch_size = 4;
    spec->train.optimizer = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_build_ctx ctx = {.spec = spec,
                        .data_dim = 2,
                        .batch_size = 4,
                        .sample_count = 4,
                        .seed = 1,
                        .init = &init,
                        .noise = &noise};
    return gm_model_create(o, &ctx, err);
}

/* The model `ordered` with its phases in `order`; NULL with err set if it
 * cannot be built. */
static gm_model *ordered_model(const char *order, gm_error *err) {
    gm_model_spec spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.name, sizeof spec.name, "ordered");
    snprintf(spec.objective, sizeof spec.objective, "ordered");
    spec.latent_dim = 2;
    spec.n_networks = 1;
    snprintf(spec.networks[0].role, GM_NAME_MAX, "generator");
    spec.networks[0].net =
        (gm_net_spec){.hidden = {4}, .n_hidden = 1, .activation = GM_ACT_RELU};
    gm_hparams_defaults(&spec.params, order_hparams, 1);
    snprintf(spec.params.item[0].choice, GM_HPARAM_STR_MAX, "%s", order);
    return build_small(&ordered, &spec, err);
}

/* One step's hook calls, joined by spaces. */
static void one_step_calls(const char *order, char *out, size_t n) {
    gm_error err = {0};
    gm_model *m = ordered_model(order, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(gm_model_train_step(m, 1, NULL, NULL, &err), GM_OK, "%s",
                 err.message);
    const phase_log *log = m->hooks.state;
    out[0] = 0;
    for (int i = 0; i < log->n; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? " " : "",
                 log->seen[i]);
    gm_model_free(m);
}

Test(plugin_api, before_phase_gets_the_name_whatever_the_order) {
    char calls[256];
    one_step_calls("ab", calls, sizeof calls);
    cr_assert_str_eq(calls, "a/0 b/0 b/1");
    one_step_calls("ba", calls, sizeof calls);
    cr_assert_str_eq(calls, "b/0 b/1 a/0");
}

Test(plugin_api, two_phases_of_one_name_are_refused) {
    gm_error err = {0};
    cr_assert_null(ordered_model("aa", &err));
    cr_assert(strstr(err.message, "two phases named 'a'"), "%s", err.message);
}

/* Copies the first `length` bytes of `from` into a new temporary file,
 * whose name goes into path. */
static void copy_head(const char *from, long length, char *path) {
    strcpy(path, "/tmp/gm_cut_plugin_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *in = fopen(from, "rb");
    cr_assert_not_null(in);
    char buf[4096];
    for (long left = length; left > 0;) {
        size_t n = fread(buf, 1, left < 4096 ? (size_t)left : 4096, in);
        cr_assert_gt(n, 0);
        cr_assert_eq(write(fd, buf, n), (ssize_t)n);
        left -= (long)n;
    }
    fclose(in);
    close(fd);
}

/* The dynamic loader maps what the ELF headers describe: a file cut short
 * killed gm with SIGBUS before the check. Cut at the ELF header, inside
 * the program headers, in each segment and in the section headers. */
Test(plugin_api, a_truncated_plugin_is_refused_naming_the_file) {
    struct stat st;
    cr_assert_eq(stat(GM_IMPOSTOR_PLUGIN, &st), 0);
    long size = (long)st.st_size;
    long lengths[] = {64, 100, 1000, 4096, 6000, size / 2, size - 100,
                      size - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char path[64];
        copy_head(GM_IMPOSTOR_PLUGIN, lengths[i], path);
        gm_registry *r = gm_registry_create();
        gm_error err = {0};
        const gm_objective *o = gm_registry_load(r, path, &err);
        unlink(path);
        cr_assert_null(o, "%ld bytes loaded", lengths[i]);
        cr_assert(strstr(err.message, path), "%s", err.message);
        cr_assert(strstr(err.message, "truncated"), "%ld bytes: %s",
                  lengths[i], err.message);
        gm_registry_free(r);
    }
}

Test(plugin_api, a_file_that_is_no_shared_object_is_refused) {
    char path[] = "/tmp/gm_not_plugin_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "not an ELF file at all, but long enough\n", 40),
                 40);
    close(fd);
    gm_registry *r = gm_registry_create();
    gm_error err = {0};
    cr_assert_null(gm_registry_load(r, path, &err));
    unlink(path);
    cr_assert(strstr(err.message, "not an ELF file"), "%s", err.message);
    gm_registry_free(r);
}

/* Runs the gm command with argv (argv[0] "gm") and, if crash_in is not
 * NULL, GM_TEST_CRASH_IN set to it; returns the wait status, with what
 * gm wrote on stderr in err. */
static int run_gm(char *const argv[], const char *crash_in, char *err,
                  size_t size) {
    char log[] = "/tmp/gm_stderr_XXXXXX";
    int fd = mkstemp(log);
    cr_assert_geq(fd, 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        if (crash_in) setenv("GM_TEST_CRASH_IN", crash_in, 1);
        execv(GM_BINARY_DIR "/gm", argv);
        _exit(127);
    }
    close(fd);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f);
    size_t n = fread(err, 1, size - 1, f);
    err[n] = '\0';
    fclose(f);
    unlink(log);
    return status;
}

/* Through the gm command: exit 1 and the message, where the loader died
 * of SIGBUS. */
Test(plugin_api, gm_refuses_a_truncated_plugin_with_exit_1) {
    char path[64], err[4096];
    copy_head(GM_IMPOSTOR_PLUGIN, 5000, path);
    char *argv[] = {"gm", "list", "objectives", "--plugin", path, NULL};
    int status = run_gm(argv, NULL, err, sizeof err);
    unlink(path);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
              "status %#x: %s", status, err);
    cr_assert(strstr(err, "truncated"), "%s", err);
}

/* Runs gm on an experiment of tests/plugins/crash_plugin.c's objective
 * with GM_TEST_CRASH_IN=hook; returns the wait status, stderr in err. */
static int run_crashing(const char *hook, char *err, size_t size) {
    char dir[] = "/tmp/gm_crash_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char yaml[128], out[128];
    snprintf(yaml, sizeof yaml, "%s/c.yaml", dir);
    snprintf(out, sizeof out, "%s/c.h5", dir);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "experiment: crash\n"
            "seeds: [3]\n"
            "dataset: {name: ring, modes: 8, radius: 2.0, std: 0.02, "
            "size: 500}\n"
            "train: {steps: 4, batch_size: 16, optimizer: {name: adam, "
            "lr: 1.0e-3}}\n"
            "eval: {every: 2, samples: 50}\n"
            "models:\n"
            "  bad:\n"
            "    objective: crasher\n"
            "    plugin: %s\n"
            "    generator: {hidden: [8]}\n",
            GM_CRASH_PLUGIN);
    fclose(f);
    char *argv[] = {"gm", "run", yaml, "--out", out, "--quiet", NULL};
    int status = run_gm(argv, hook, err, size);
    char cleanup[256];
    snprintf(cleanup, sizeof cleanup, "rm -rf %s", dir);
    cr_assert_eq(system(cleanup), 0);
    return status;
}

/* A plugin that crashes in a hook ended gm with no word: now gm names the
 * objective, its file, the hook and the run, then dies of the signal (in a
 * sanitizer build the sanitizer's handler, put back, reports it). */
Test(plugin_api, a_plugin_crashing_in_a_hook_is_named_as_gm_dies) {
    const char *hooks[] = {"build", "before_phase", "after_step", "evaluate",
                           "free_state"};
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++) {
        char err[4096];
        int status = run_crashing(hooks[i], err, sizeof err);
#ifdef GM_SANITIZE
        cr_assert(WIFSIGNALED(status) || WEXITSTATUS(status) != 0, "%s: %s",
                  hooks[i], err);
#else
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                  "%s: status %#x: %s", hooks[i], status, err);
#endif
        char want[512];
        snprintf(want, sizeof want,
                 "gm: objective 'crasher' (%s) crashed in its %s hook "
                 "(SIGSEGV), model 'bad' seed 3\n",
                 GM_CRASH_PLUGIN, hooks[i]);
        cr_assert(strstr(err, want), "%s: %s", hooks[i], err);
    }
}

/* Out of memory while building, a node comes back NULL: a build that
 * reads its shape (the VAE's encoder reads its input's rows) must go on
 * to the graph's error. It died of SIGSEGV under ulimit -v 540 MB. */
Test(plugin_api, a_failed_node_has_an_empty_shape_and_the_graph_its_error) {
    gm_graph *g = gm_graph_create("g");
    gm_node *x = gm_input(g, "x", (int[]){0, 3}, 2); /* a bad shape: NULL */
    cr_assert_null(x);
    cr_assert_eq(gm_shape_rows(gm_node_shape(x)), 1);
    cr_assert_eq(gm_node_numel(x), 0);
    cr_assert_not_null(gm_graph_error(g));
    cr_assert(strstr(gm_graph_error(g)->message, "input 'x'"), "%s",
              gm_graph_error(g)->message);
    gm_graph_free(g);
}

/* A generator phase whose loss is the mean output, and a metric node
 * my_score beside it; only `declared` declares my_score. */
static gm_status scored_build(gm_model *m, const gm_build_ctx *ctx,
                              gm_error *err) {
    gm_params *p;
    gm_graph *g;
    gm_node *out = generated(m, ctx, "scored", &p, &g, err);
    if (!p) return err->status;
    gm_node *loss = gm_mean(g, out, GM_AXIS_ALL);
    gm_node_set_role(gm_node_set_name(gm_scale(g, loss, 2.0f), "my_score"),
                     GM_ROLE_METRIC);
    return gm_model_add_phase(m, "scored", g, loss, &p, 1, 1, err);
}

static const gm_metric_info my_score[] = {
    {"my_score", "widgets", GM_BETTER_HIGHER}};

static const gm_objective undeclared = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "undeclared",
               .roles = roles,
               .n_roles = 1,
               .hparams = hparams,
               .n_hparams = 2},
    .build = scored_build,
};

/* A model that logs a metric its objective does not declare is refused
 * before anything trains, the message naming the metric and the
 * objective; declared, it trains, and its series carries the unit. */
Test(plugin_api, an_undeclared_metric_is_refused_naming_it_and_its_objective) {
    gm_registry *r = registry_with(&undeclared);
    gm_experiment e;
    gm_error err = {0};
    cr_assert_eq(load(&e, r, "undeclared", "1", &err), GM_OK, "%s",
                 err.message);
    char out[] = "/tmp/gm_undeclared_XXXXXX";
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    unlink(out);
    snprintf(e.out, sizeof e.out, "%s", out);
    gm_train_options opts = {.jobs = 1};
    cr_assert_neq(gm_train_experiment(&e, r, &opts, &err), GM_OK);
    cr_assert(strstr(err.message, "objective 'undeclared' logs metric "
                                  "'my_score', which its schema does not "
                                  "declare"),
              "%s", err.message);
    cr_assert_neq(access(out, F_OK), 0, "no run file: nothing trained");
    gm_experiment_clear(&e);
    gm_registry_free(r);

    gm_objective declared = undeclared;
    declared.schema.name = "declared";
    declared.schema.metrics = my_score;
    declared.schema.n_metrics = 1;
    r = registry_with(&declared);
    cr_assert_eq(load(&e, r, "declared", "1", &err), GM_OK, "%s", err.message);
    snprintf(e.out, sizeof e.out, "%s", out);
    cr_assert_eq(gm_train_experiment(&e, r, &opts, &err), GM_OK, "%s",
                 err.message);
    gm_experiment_clear(&e);
    gm_registry_free(r);
    gm_summary s;
    cr_assert_eq(gm_runfile_read_summary(out, &s, &err), GM_OK, "%s",
                 err.message);
    bool found = false;
    for (int j = 0; j < s.n_metrics; j++)
        if (strcmp(s.metrics[j], "my_score") == 0) {
            found = true;
            cr_assert_str_eq(s.units[j], "widgets");
            cr_assert_str_eq(s.better[j], "higher");
        }
    cr_assert(found, "no my_score in %s", out);
    gm_summary_clear(&s);
    unlink(out);
}

/* The metrics a schema's properties name must be among its metrics. */
Test(plugin_api, a_property_naming_an_undeclared_metric_is_refused) {
    gm_registry *r = gm_builtin_registry();
    gm_error err = {0};
    gm_objective o = undeclared;
    o.schema.log_px = "my_logpx";
    cr_assert_neq(gm_registry_add(r, &o, &err), GM_OK);
    cr_assert(strstr(err.message, "log_px names 'my_logpx', which is not "
                                  "among its metrics"),
              "%s", err.message);
    o.schema.log_px = NULL;
    o.schema.classifier_role = "generator";
    cr_assert_neq(gm_registry_add(r, &o, &err), GM_OK);
    cr_assert(strstr(err.message, "classifier_role needs an accuracy_metric"),
              "%s", err.message);
    gm_registry_free(r);
}

/* ---- a gradient penalty written in a plugin ----------------------------- */

/* `objective` on a 2-D batch of 4 with 2 x 8 tanh networks, from the same
 * seed: the same parameters and draws whichever objective builds them. */
static gm_model *penalty_model(gm_registry *r, const char *objective,
                               gm_error *err) {
    const gm_objective *o = gm_registry_find(r, objective, NULL, err);
    cr_assert_not_null(o, "%s", err->message);
    gm_model_spec spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.name, sizeof spec.name, "%s", objective);
    snprintf(spec.objective, sizeof spec.objective, "%s", objective);
    spec.latent_dim = 2;
    spec.n_networks = 2;
    for (int i = 0; i < 2; i++) {
        snprintf(spec.networks[i].role, GM_NAME_MAX, "%s", o->schema.roles[i]);
        spec.networks[i].net = (gm_net_spec){
            .hidden = {8, 8}, .n_hidden = 2, .activation = GM_ACT_TANH};
    }
    gm_hparams_defaults(&spec.params, o->schema.hparams, o->schema.n_hparams);
    for (int i = 0; i < spec.params.n; i++) {
        if (strcmp(spec.params.item[i].name, "loss") == 0)
            snprintf(spec.params.item[i].choice, GM_HPARAM_STR_MAX,
                     "wasserstein");
        if (strcmp(spec.params.item[i].name, "penalty") == 0)
            snprintf(spec.params.item[i].choice, GM_HPARAM_STR_MAX, "wgan_gp");
    }
    gm_model *m = build_small(o, &spec, err);
    cr_assert_not_null(m, "%s", err->message);
    return m;
}

/* tests/plugins/penalty_plugin.c (docs/plugins.md quotes its penalty)
 * writes WGAN-GP's penalty with gm_grad through the public API alone: its
 * value and the critic's gradient through it are the built-in gan's with
 * `loss: wasserstein, penalty: wgan_gp`. */
Test(plugin_api, a_plugin_writes_the_builtin_gradient_penalty) {
    gm_registry *r = gm_builtin_registry();
    gm_error err = {0};
    cr_assert_not_null(gm_registry_load(r, GM_PENALTY_PLUGIN, &err), "%s",
                       err.message);
    gm_model *models[2] = {penalty_model(r, "gan", &err),
                           penalty_model(r, "plugin_wgan_gp", &err)};
    const float x[8] = {0.5f, -1.0f, 1.5f, 0.25f, -0.3f, 0.9f, 2.0f, -1.7f};
    double penalty[2];
    float grad[2][256];
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        gm_phase *d = &models[k]->phases[0];
        cr_assert_str_eq(d->name, "discriminator");
        memcpy(gm_node_data(gm_graph_find(d->graph, "x", &err)), x, sizeof x);
        gm_params_zero_grad(d->groups[0]);
        gm_graph_forward(d->graph);
        cr_assert_eq(gm_graph_backward(d->graph, d->loss, NULL), GM_OK);
        penalty[k] = gm_node_scalar(
            gm_graph_find(d->graph, "gradient_penalty", &err));
        n = gm_params_numel(d->groups[0]);
        cr_assert_leq(n, 256u);
        memcpy(grad[k], gm_params_grad(d->groups[0]), n * sizeof(float));
    }
    cr_assert_gt(penalty[0], 0.0);
    cr_assert_float_eq(penalty[1], penalty[0], 1e-6 * penalty[0]);
    for (size_t i = 0; i < n; i++)
        cr_assert_float_eq(grad[1][i], grad[0][i], 1e-5f,
                           "the critic's gradient, element %zu", i);
    gm_model_free(models[0]);
    gm_model_free(models[1]);
    gm_registry_free(r);
}

/* ---- the held-out VAE metrics in a plugin (issue 27) -------------------- */

#define VAE_ROWS 40

/* Model "vae" of `objective` on 2-D data with 2 x 8 tanh networks, sigma
 * 0.1, iwae_k 4 and VAE_ROWS held-out rows, from the same seed: the same
 * parameters and draws whichever objective builds them. */
static gm_model *vae_model(gm_registry *r, const char *objective,
                           gm_error *err) {
    const gm_objective *o = gm_registry_find(r, objective, NULL, err);
    cr_assert_not_null(o, "%s", err->message);
    gm_model_spec spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.name, sizeof spec.name, "vae");
    snprintf(spec.objective, sizeof spec.objective, "%s", objective);
    spec.latent_dim = 2;
    spec.n_networks = 2;
    for (int i = 0; i < 2; i++) {
        snprintf(spec.networks[i].role, GM_NAME_MAX, "%s", o->schema.roles[i]);
        spec.networks[i].net = (gm_net_spec){
            .hidden = {8, 8}, .n_hidden = 2, .activation = GM_ACT_TANH};
    }
    gm_hparams_defaults(&spec.params, o->schema.hparams, o->schema.n_hparams);
    for (int i = 0; i < spec.params.n; i++) {
        if (strcmp(spec.params.item[i].name, "sigma") == 0)
            spec.params.item[i].number = 0.1;
        if (strcmp(spec.params.item[i].name, "iwae_k") == 0)
            spec.params.item[i].number = 4;
    }
    spec.train.steps = 1;
    spec.train.batch_size = 4;
    spec.train.optimizer = gm_optim_defaults(GM_OPTIM_ADAM);
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_build_ctx ctx = {.spec = &spec,
                        .data_dim = 2,
                        .batch_size = 4,
                        .sample_count = 4,
                        .eval_rows = VAE_ROWS,
                        .seed = 1,
                        .init = &init,
                        .noise = &noise};
    gm_model *m = gm_model_create(o, &ctx, err);
    cr_assert_not_null(m, "%s", err->message);
    return m;
}

/* tests/plugins/vae_plugin.c (docs/plugins.md quotes it) installs
 * gm/vae_eval.h's evaluation through the public API alone: its names and
 * values, at two evaluations in a row (the second draws new noise), are
 * vae_elbo's on the same networks and rows, bit for bit. */
Test(plugin_api, a_plugin_gets_the_builtin_vae_evaluation) {
    gm_registry *r = gm_builtin_registry();
    gm_error err = {0};
    cr_assert_not_null(gm_registry_load(r, GM_VAE_PLUGIN, &err), "%s",
                       err.message);
    gm_model *models[2] = {vae_model(r, "vae_elbo", &err),
                           vae_model(r, "plugin_vae", &err)};
    float rows[VAE_ROWS * 2];
    gm_rng data = gm_rng_stream(3, "data");
    for (int i = 0; i < VAE_ROWS * 2; i++)
        rows[i] = (float)gm_rng_normal(&data);
    const gm_model *a = models[0], *b = models[1];
    cr_assert_eq(b->n_eval_metrics, 10);
    cr_assert_eq(b->n_eval_metrics, a->n_eval_metrics);
    for (int i = 0; i < a->n_eval_metrics; i++)
        cr_assert_str_eq(b->eval_names[i], a->eval_names[i]);
    cr_assert_eq(b->n_eval_vectors, 1);
    cr_assert_str_eq(b->eval_vector_names[0], "kl_per_dim");
    cr_assert_eq(b->eval_vector_lens[0], 2);
    for (int pass = 0; pass < 2; pass++) {
        double out[2][12];
        for (int k = 0; k < 2; k++)
            cr_assert_eq(gm_model_evaluate(models[k], rows, NULL, VAE_ROWS,
                                           out[k], &err),
                         GM_OK, "%s", err.message);
        cr_assert(isfinite(out[0][3]) && out[0][1] > 0.0,
                  "iwae_logpx %g, rate %g", out[0][3], out[0][1]);
        for (int i = 0; i < 12; i++)
            cr_assert_eq(memcmp(&out[1][i], &out[0][i], sizeof(double)), 0,
                         "pass %d, %s: %.17g, vae_elbo %.17g", pass,
                         i < 10 ? a->eval_names[i] : "kl_per_dim", out[1][i],
                         out[0][i]);
    }
    gm_model_free(models[0]);
    gm_model_free(models[1]);
    gm_registry_free(r);
}

/* The spec's networks must fit the data and the latent size. */
Test(plugin_api, a_vae_evaluation_of_misfit_networks_is_refused) {
    gm_model_spec spec;
    memset(&spec, 0, sizeof spec);
    snprintf(spec.name, sizeof spec.name, "vae");
    gm_rng init = gm_rng_stream(1, "init"), noise = gm_rng_stream(1, "noise");
    gm_build_ctx ctx = {.spec = &spec, .data_dim = 2, .eval_rows = 10,
                        .init = &init, .noise = &noise};
    gm_net_spec mlp = {.hidden = {4}, .n_hidden = 1};
    gm_net enc, dec;
    gm_params *ge = gm_params_create("encoder"), *gd = gm_params_create("decoder");
    gm_error err = {0};
    mlp.out = 3; /* not 2 x latent */
    cr_assert_eq(gm_net_init(&enc, ge, NULL, "encoder", 2, &mlp, &init, &err),
                 GM_OK, "%s", err.message);
    mlp.out = 2;
    cr_assert_eq(gm_net_init(&dec, gd, NULL, "decoder", 2, &mlp, &init, &err),
                 GM_OK, "%s", err.message);
    gm_vae_eval_spec v = {.encoder = &enc, .decoder = &dec, .latent = 2,
                          .sigma = 1.0};
    gm_vae_eval *eval;
    cr_assert_eq(gm_vae_eval_create(&eval, &v, &ctx, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "model 'vae': VAE evaluation: the encoder "
                                  "must give 2 x latent columns"),
              "%s", err.message);
    v.encoder = &dec; /* 2 -> 2: latent 1 */
    v.latent = 1;
    cr_assert_eq(gm_vae_eval_create(&eval, &v, &ctx, &err), GM_ERR_INVALID);
    cr_assert(strstr(err.message, "the decoder must map latent columns"),
              "%s", err.message);
    gm_params_free(ge);
    gm_params_free(gd);
}

/* ---- randomness a plugin can reach (issue 27) -------------------------- */

/* A custom random op: dropout at rate 1/2, its mask drawn from the
 * node's own stream (a scaled copy of the input where kept). */
static gm_status same_shape(const gm_node *n, gm_shape *out, gm_error *err) {
    (void)err;
    *out = *gm_node_shape(gm_node_input(n, 0));
    return GM_OK;
}

static void dropout_forward(gm_node *n) {
    float *mask = gm_node_scratch(n);
    size_t numel = gm_node_numel(n);
    if (gm_node_draw_now(n))
        for (size_t i = 0; i < numel; i++)
            mask[i] = gm_rng_uniform(gm_node_rng(n)) < 0.5 ? 2.0f : 0.0f;
    const float *x = gm_node_data(gm_node_input(n, 0));
    float *y = gm_node_data(n);
    for (size_t i = 0; i < numel; i++) y[i] = x[i] * mask[i];
}

static size_t dropout_scratch(const gm_node *n) { return gm_node_numel(n); }

static const gm_op_def dropout = {.name = "dropout",
                                  .arity = 1,
                                  .shape = same_shape,
                                  .forward = dropout_forward,
                                  .scratch = dropout_scratch,
                                  .flags = GM_OP_RANDOM};

/* Builds x -> dropout(x) with a stream split off `noise`. */
static gm_graph *dropout_graph(gm_rng *noise, gm_node **y) {
    gm_graph *g = gm_graph_create("dropout");
    gm_node *x = gm_input(g, "x", (int[]){4, 8}, 2);
    *y = gm_custom_random(g, &dropout, &x, 1, NULL, 0, noise);
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    for (int i = 0; i < 32; i++) gm_node_data(x)[i] = 1.0f;
    return g;
}

/* A custom op reaches its own stream: it draws anew at each forward,
 * keeps its draw while the graph holds its noise, and a graph restored
 * from a saved state draws what the saved one would have. gm_custom
 * refuses a random op (it would have no stream). */
Test(plugin_api, a_custom_op_draws_from_its_own_saved_stream) {
    gm_rng noise = gm_rng_stream(5, "noise");
    gm_node *y;
    gm_graph *g = dropout_graph(&noise, &y);
    cr_assert_not_null(gm_node_rng(y));
    gm_graph_forward(g);
    float first[32], held[32];
    memcpy(first, gm_node_data(y), sizeof first);
    int kept = 0;
    for (int i = 0; i < 32; i++) kept += first[i] != 0.0f;
    cr_assert(kept > 4 && kept < 28, "a mask of rate 1/2: %d of 32 kept", kept);
    gm_graph_hold_noise(g, true);
    gm_graph_forward(g);
    cr_assert_eq(memcmp(first, gm_node_data(y), sizeof first), 0, "held");
    gm_graph_hold_noise(g, false);
    gm_state *s = gm_state_create();
    gm_error err = {0};
    cr_assert_eq(gm_graph_save_state(g, s, "g", &err), GM_OK, "%s", err.message);
    gm_graph_forward(g);
    memcpy(held, gm_node_data(y), sizeof held);
    cr_assert_neq(memcmp(first, held, sizeof first), 0, "a new draw");

    gm_rng other = gm_rng_stream(6, "noise");
    gm_node *y2;
    gm_graph *g2 = dropout_graph(&other, &y2);
    cr_assert_eq(gm_graph_load_state(g2, s, "g", &err), GM_OK, "%s",
                 err.message);
    gm_graph_forward(g2);
    cr_assert_eq(memcmp(held, gm_node_data(y2), sizeof held), 0,
                 "restored: the same next draw");
    gm_state_free(s);
    gm_graph_free(g2);

    gm_graph_free(g);
    g = gm_graph_create("plain");
    gm_node *x = gm_input(g, "x", (int[]){4, 8}, 2);
    cr_assert_null(gm_custom(g, &dropout, &x, 1, NULL, 0));
    cr_assert(strstr(gm_graph_error(g)->message, "add it with gm_custom_random"),
              "%s", gm_graph_error(g)->message);
    gm_graph_free(g);
}

/* Categorical noise: one-hot rows, classes near uniform, held like
 * gm_randn's. */
Test(plugin_api, categorical_noise_is_one_hot_and_uniform) {
    gm_rng noise = gm_rng_stream(3, "noise");
    gm_graph *g = gm_graph_create("code");
    enum { ROWS = 4000, K = 5 };
    gm_node *c = gm_rand_categorical(g, "c", ROWS, K, &noise);
    gm_error err = {0};
    cr_assert_eq(gm_graph_compile(g, &err), GM_OK, "%s", err.message);
    gm_graph_forward(g);
    int count[K] = {0};
    const float *d = gm_node_data(c);
    for (int i = 0; i < ROWS; i++) {
        float sum = 0;
        for (int k = 0; k < K; k++) {
            cr_assert(d[i * K + k] == 0.0f || d[i * K + k] == 1.0f);
            sum += d[i * K + k];
            count[k] += d[i * K + k] == 1.0f;
        }
        cr_assert_eq(sum, 1.0f, "row %d is one-hot", i);
    }
    /* 800 expected per class, standard deviation about 25 */
    for (int k = 0; k < K; k++)
        cr_assert(abs(count[k] - ROWS / K) < 125, "class %d: %d", k, count[k]);
    gm_graph_free(g);
    g = gm_graph_create("bad");
    cr_assert_null(gm_rand_categorical(g, "bad", 3, 0, &noise));
    cr_assert(strstr(gm_graph_error(g)->message, "classes >= 1"), "%s",
              gm_graph_error(g)->message);
    gm_graph_free(g);
}
