/* gm run: train an experiment file into a run file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blas_kernel.h"
#include "builtin.h"
#include "cli.h"
#include "gm/cluster.h"
#include "gm/config.h"
#include "gm/metric_info.h"
#include "gm/runfile.h"
#include "gm/train.h"

static const char usage[] =
    "usage: gm run FILE.yaml [--set key.path=value ...] [--out PATH]\n"
    "              [--force] [--plugin LIB.so ...] [--jobs N] [--quiet]\n"
    "       gm run --resume RUN.h5 [--retry-failed] [--plugin LIB.so ...]\n"
    "              [--jobs N] [--quiet]\n"
    "\n"
    "Trains every model of the experiment once per seed and writes one HDF5\n"
    "run file (default runs/<experiment>.h5), with a checkpoint of every\n"
    "run at each evaluation (checkpoint.every to change it).\n"
    "\n"
    "  --set k=v     override any key of the file, e.g. --set train.steps=500\n"
    "  --out PATH    the run file to write; it must not exist\n"
    "  --force       replace an existing run file, once every run of the\n"
    "                new one has ended (some may have failed) or it is\n"
    "                interrupted (written as PATH.new until then)\n"
    "  --resume RUN  go on with every unfinished run of RUN.h5 from its last\n"
    "                checkpoint, as if never stopped; runs that failed (a\n"
    "                NaN, ...) stay failed, unless --retry-failed: then\n"
    "                they go on from their last checkpoint too\n"
    "  --plugin LIB  load an objective from a shared library\n"
    "  --jobs N      train N runs at once (default: the number of cores\n"
    "                over the experiment's blas_threads); the run file is\n"
    "                the same for every N\n"
    "  --quiet       no progress output\n"
    "\n"
    "Ctrl-C (SIGINT), SIGTERM or a hangup (SIGHUP, unless under nohup):\n"
    "every run checkpoints at its next step, the file is marked interrupted,\n"
    "and gm exits 130, 143 or 129; a second Ctrl-C stops at once (the last\n"
    "checkpoints stay). Progress to a closed pipe stops; training goes on.\n"
    "\n"
    "Under mpirun or srun, rank 0 writes the run file and every rank trains\n"
    "--jobs runs at once (default: its machine's cores over its ranks\n"
    "there); the run file is the same as one process's.\n";

#define MAX_ARGS 64

/* The signal that asked gm to stop (0: none). A signal handler can only
 * talk to the program through such a variable. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    /* A second Ctrl-C or SIGTERM stops at once. A hangup does not: a
     * closed terminal may send two (the shell's and the kernel's when the
     * session leader exits), and nobody asked twice. */
    if (stop_signal && sig != SIGHUP) _exit(128 + sig);
    if (!stop_signal) stop_signal = sig;
}

static void catch_stop_signals(void) {
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed terminal or ssh session (SIGHUP) stops like SIGTERM, but
     * under nohup, which ignores it, it stays ignored. */
    struct sigaction hup;
    if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN)
        sigaction(SIGHUP, &sa, NULL);
    /* Progress to a closed pipe (gm run x.yaml 2>&1 | head) is not a
     * reason to stop training: the write fails with EPIPE instead of
     * killing gm, and on_progress stops printing. */
    signal(SIGPIPE, SIG_IGN);
    /* A file past `ulimit -f` fails to write (EFBIG) and gm says so,
     * instead of dying of SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
}

/* True if a and b are the same existing file. */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return a && b && *a && *b && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The run file must not be one of the experiment's inputs. */
static bool out_is_an_input(const gm_experiment *e, const char *file) {
    const char *inputs[3] = {file, e->dataset.path,
                                     e->dataset.test_path};
    for (int i = 0; i < 3; i++)
        if (same_file(e->out, inputs[i])) {
            cli_error("run", "--out %s is one of the experiment's inputs (%s)",
                      e->out, inputs[i]);
            return true;
        }
    for (int m = 0; m < e->n_models; m++)
        if (same_file(e->out, e->models[m].plugin)) {
            cli_error("run", "--out %s is the plugin of model '%s'", e->out,
                      e->models[m].name);
            return true;
        }
    return false;
}

/* A --force stopped by a kill or a crash leaves its work in OUT.new, which
 * nothing else points to: say where it is and how to go on. */
static void note_unfinished_replacement(const char *out) {
    char fresh[GM_PATH_MAX + 8];
    struct stat st;
    snprintf(fresh, sizeof fresh, "%s.new", out);
    if (stat(fresh, &st) == 0 && S_ISREG(st.st_mode) &&
        !gm_runfile_has_writer(fresh))
        cli_error("run",
                  "%s holds the work of an unfinished --force: go on with "
                  "'gm run --resume %s', then move it over %s",
                  fresh, fresh, out);
}

/* --out naming a directory, a device (/dev/null) or a FIFO: refused before
 * training, and never replaced by a run file. */
static bool out_is_not_a_file(const gm_experiment *e, const struct stat *st) {
    if (S_ISREG(st->st_mode)) return false;
    cli_error("run", "--out %s is %s: --out names the run file to write "
              "(RUN.h5)", e->out,
              S_ISDIR(st->st_mode) ? "a directory"
                                   : "not a regular file (a device or a FIFO)");
    return true;
}

/* The experiment stored in a run file, to go on with it. */
static gm_status load_from_run(gm_experiment *e, const char *path,
                               gm_registry *reg, gm_error *err) {
    gm_runfile_info info;
    gm_status s = gm_runfile_read_info(path, &info, err);
    if (s != GM_OK) return s;
    if (!info.config_yaml) {
        gm_runfile_info_clear(&info);
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s: no config_yaml: not a gm run file", path);
    }
    s = gm_config_load_string(e, info.config_yaml, path, NULL, 0,
                              gm_registry_schema, reg, err);
    gm_runfile_info_clear(&info);
    if (s == GM_OK) snprintf(e->out, sizeof e->out, "%s", path);
    return s;
}

/* Loads the experiment again with each plugin model's library as an
 * absolute `models.<name>.plugin` override (single-quoted YAML), so that
 * the config_yaml the run file records finds it from any directory, for
 * gm sample and --resume; also when it came with --plugin. */
static gm_status record_plugins(gm_experiment *e, const char *file,
                                const char *const *sets, int n_sets,
                                gm_registry *reg, gm_error *err) {
    enum { ENTRY = 2 * GM_PATH_MAX + 96 };
    int n_models = e->n_models, n = n_sets;
    char *entries = calloc((size_t)n_models, ENTRY);
    const char **all = calloc((size_t)(n_sets + n_models), sizeof *all);
    if (!entries || !all) {
        free(entries);
        free(all);
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n_sets; i++)
        all[i] = sets[i];
    for (int m = 0; m < n_models; m++) {
        const gm_model_spec *s = &e->models[m];
        const char *lib = s->plugin[0]
                              ? s->plugin
                              : gm_registry_plugin_path(reg, s->objective);
        if (!lib) continue;
        char *entry = entries + (size_t)m * ENTRY;
        /* A sweep point's override goes to the swept model, whose name is
         * the point's up to its '[' (overrides apply before the sweep). */
        int base = s->n_sweep > 0 ? (int)strcspn(s->name, "[")
                                  : (int)strlen(s->name);
        size_t k = (size_t)snprintf(entry, ENTRY, "models.%.*s.plugin='",
                                    base, s->name);
        for (const char *c = lib; *c && k + 3 < ENTRY; c++) {
            if (*c == '\'') entry[k++] = '\'';
            entry[k++] = *c;
        }
        entry[k++] = '\'';
        all[n++] = entry;
    }
    gm_status st = GM_OK;
    if (n > n_sets) {
        gm_experiment_clear(e);
        st = gm_config_load(e, file, all, n, gm_registry_schema, reg, err);
    }
    free(entries);
    free(all);
    return st;
}
/* Metrics the terminal line has room for, and a pipe's line (about 150
 * characters: the file has every metric). */
enum { LIVE_METRICS = 3, PIPE_METRICS = 6 };

typedef struct progress_view {
    bool live; /* a terminal: one line redrawn in place */
    bool quiet;
    /* Each model's headline metrics (gm/metric_info.h), in e->models'
     * order, found before training starts. */
    const gm_experiment *e;
    const char *(*headline)[GM_MAX_HEADLINE];
    int *n_headline;
} progress_view;

/* Finds every model's headline metrics; false if out of memory. */
static bool progress_view_init(progress_view *v, const gm_experiment *e,
                               gm_registry *reg) {
    v->e = e;
    v->headline = calloc((size_t)e->n_models + 1, sizeof *v->headline);
    v->n_headline = calloc((size_t)e->n_models + 1, sizeof *v->n_headline);
    if (!v->headline || !v->n_headline) return false;
    for (int m = 0; m < e->n_models; m++) {
        gm_error err = {0};
        const gm_objective *o = gm_registry_find(reg, e->models[m].objective,
                                                 e->models[m].plugin, &err);
        v->n_headline[m] =
            gm_headline_metrics(o ? &o->schema : NULL, v->headline[m]);
    }
    return true;
}

static void progress_view_clear(progress_view *v) {
    free(v->headline);
    free(v->n_headline);
}

/* " name=value" for up to `max` of the model's headline metrics that the
 * last evaluation has, in headline order. */
static void print_headline(const progress_view *v, const gm_progress *p,
                           int max) {
    int m = 0;
    while (m < v->e->n_models && strcmp(v->e->models[m].name, p->model) != 0)
        m++;
    if (m == v->e->n_models) return;
    int shown = 0;
    for (int h = 0; h < v->n_headline[m] && shown < max; h++)
        for (int i = 0; i < p->n_metrics; i++)
            if (strcmp(p->metric_names[i], v->headline[m][h]) == 0) {
                fprintf(stderr, " %s=%.4g", p->metric_names[i], p->metrics[i]);
                shown++;
                break;
            }
}

/* "42s", "3m05s", "2h10m". */
static void format_duration(char *out, size_t n, double seconds) {
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s < 100)
        snprintf(out, n, "%lds", s);
    else if (s < 3600)
        snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(out, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
}

static void on_progress(const gm_progress *p, void *ctx) {
    progress_view *v = ctx;
    if (v->quiet || (!v->live && !p->evaluation)) return;
    char left[32];
    format_duration(left, sizeof left, p->eta_seconds);
    /* The terminal's line is redrawn in place; a pipe gets one line per
     * evaluation, with the headline metrics (the file has them all). */
    fprintf(stderr,
            "%s[%d/%d] %s seed %llu  step %ld/%ld  %.0f steps/s  %s "
            "left ",
            v->live ? "\r\033[K" : "", p->run_index + 1, p->n_runs, p->model,
            (unsigned long long)p->seed, p->step, p->steps, p->steps_per_second,
            left);
    print_headline(v, p, v->live ? LIVE_METRICS : PIPE_METRICS);
    if (!v->live || p->step == p->steps) fputc('\n', stderr);
    /* Nobody reads any more (a closed pipe or terminal): go on quietly. */
    if (fflush(stderr) == EOF || ferror(stderr)) v->quiet = true;
}

/* --jobs's default: the cores a process has, shared by its runs' OpenBLAS
 * threads, so that jobs x threads does not exceed them. */
static int share_cores(long cores, int blas_threads) {
    return cores > blas_threads ? (int)(cores / blas_threads) : 1;
}

/* A rank other than 0: trains the runs rank 0 hands it, from the
 * experiment rank 0 shares; rank 0 reports every outcome. */
static int serve_rank_0(gm_cluster *cluster, gm_registry *reg, bool loaded,
                        int jobs, bool jobs_given) {
    char *doc = NULL;
    gm_cluster_share_text(cluster, NULL, &doc);
    if (!doc) return EXIT_USER; /* rank 0 failed and said why */
    gm_error err = {0};
    gm_experiment e;
    bool ok =
        loaded && gm_config_load_string(&e, doc, "the experiment", NULL, 0,
                                        gm_registry_schema, reg, &err) == GM_OK;
    free(doc);
    if (ok && !jobs_given) jobs = share_cores(jobs, e.blas_threads);
    if (loaded && !ok)
        fprintf(stderr, "gm run (rank %d): %s; this rank trains nothing\n",
                gm_cluster_rank(cluster), err.message);
    gm_cluster_count_threads(cluster, ok ? jobs : 0);
    gm_status s = GM_OK;
    if (ok) {
        catch_stop_signals();
        gm_train_options opts = {
            .jobs = jobs, .stop = &stop_signal, .cluster = cluster};
        s = gm_train_experiment(&e, reg, &opts, &err);
    }
    if (ok) gm_experiment_clear(&e);
    if (stop_signal) return 128 + stop_signal;
    return ok && s == GM_OK ? EXIT_OK : EXIT_USER;
}

/* Joins the MPI job if a launcher started several ranks of gm. */
static int join_cluster(gm_cluster **cluster) {
    int ranks = gm_cluster_launched_size();
    *cluster = NULL;
    if (ranks == 1) return EXIT_OK;
    gm_error err = {0};
    if (!gm_cluster_available()) {
        cli_error("run",
                  "started as one of %d MPI ranks, but this gm was built "
                  "without MPI: install libopenmpi-dev and rebuild, or run "
                  "gm without mpirun",
                  ranks);
        return EXIT_USER;
    }
    if (!(*cluster = gm_cluster_join(&err))) {
        cli_error("run", "%s", err.message);
        return EXIT_USER;
    }
    return EXIT_OK;
}

int cmd_run(int argc, char **argv) {
    const char *file = NULL, *resume = NULL;
    bool force = false, retry_failed = false;
    const char *sets[MAX_ARGS], *plugins[MAX_ARGS];
    int n_sets = 0, n_plugins = 0;
    char out_set[GM_PATH_MAX + 8];
    progress_view view = {.live = isatty(STDERR_FILENO) && !getenv("CI")};
    long cores = sysconf(_SC_NPROCESSORS_ONLN), jobs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0) {
            view.quiet = true;
        } else if (strcmp(a, "--force") == 0) {
            force = true;
        } else if (strcmp(a, "--retry-failed") == 0) {
            retry_failed = true;
        } else if ((strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 ||
                    strcmp(a, "--plugin") == 0 || strcmp(a, "--jobs") == 0 ||
                    strcmp(a, "--resume") == 0) &&
                   (!has_value || !*argv[i + 1])) {
            cli_error("run", "%s needs a value", a);
            return EXIT_USAGE;
        } else if (strcmp(a, "--resume") == 0) {
            resume = argv[++i];
        } else if ((strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0) &&
                   n_sets == MAX_ARGS - 1) {
            cli_error("run", "at most %d --set and --out", MAX_ARGS - 1);
            return EXIT_USAGE;
        } else if (strcmp(a, "--plugin") == 0 && n_plugins == MAX_ARGS) {
            cli_error("run", "at most %d --plugin", MAX_ARGS);
            return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0 && !strchr(argv[i + 1], '=')) {
            cli_error("run", "--set needs key.path=value, got '%s'",
                      argv[i + 1]);
            return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0) {
            sets[n_sets++] = argv[++i];
        } else if (strcmp(a, "--out") == 0) {
            /* --out is the override out=PATH: recorded like any other. */
            snprintf(out_set, sizeof out_set, "out=%s", argv[++i]);
            sets[n_sets++] = out_set;
        } else if (strcmp(a, "--jobs") == 0) {
            char *end;
            jobs = strtol(argv[++i], &end, 10);
            if (*end || jobs < 1 || jobs > GM_MAX_JOBS) {
                cli_error("run", "--jobs needs 1 to %d, got '%s'",
                          GM_MAX_JOBS, argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--plugin") == 0) {
            plugins[n_plugins++] = argv[++i];
        } else if (a[0] == '-') {
            cli_error("run", "unknown option '%s' (see gm run --help)", a);
            return EXIT_USAGE;
        } else if (!*a) {
            cli_error("run", "the experiment file's path is empty");
            return EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            cli_error("run", "one experiment file at a time ('%s' and '%s')",
                      file, a);
            return EXIT_USAGE;
        }
    }
    if (resume && (file || n_sets > 0 || force)) {
        cli_error("run", "--resume takes the run file alone: its experiment "
                         "and overrides are the ones stored in it");
        return EXIT_USAGE;
    }
    if (retry_failed && !resume) {
        cli_error("run", "--retry-failed goes with --resume RUN.h5");
        return EXIT_USAGE;
    }
    if (!file && !resume) {
        cli_error("run", "no experiment file (see gm run --help)");
        return EXIT_USAGE;
    }
    gm_cluster *cluster;
    int code = join_cluster(&cluster);
    if (code != EXIT_OK) return code;
    bool jobs_given = jobs > 0;
    if (!jobs_given) { /* the cores, shared by the ranks on this machine */
        long ranks_here = cluster ? gm_cluster_local_size(cluster) : 1;
        jobs = cores > ranks_here ? cores / ranks_here : 1;
    }
    gm_error err = {0};
    gm_registry *reg = gm_builtin_registry();
    bool plugins_loaded = reg != NULL;
    if (!reg) cli_error("run", "out of memory");
    for (int i = 0; plugins_loaded && i < n_plugins; i++)
        if (!gm_registry_load(reg, plugins[i], &err)) {
            fprintf(stderr, "gm run: %s\n", err.message);
            plugins_loaded = false;
        }
    if (cluster && gm_cluster_rank(cluster) > 0) {
        code =
            serve_rank_0(cluster, reg, plugins_loaded, (int)jobs, jobs_given);
        gm_registry_free(reg);
        gm_cluster_leave(cluster);
        return code;
    }
    gm_experiment e = {0};
    bool ready = plugins_loaded;
    if (ready) {
        gm_status loaded = resume
                               ? load_from_run(&e, resume, reg, &err)
                               : gm_config_load(&e, file, sets, n_sets,
                                                gm_registry_schema, reg, &err);
        if (loaded == GM_OK && !resume)
            loaded = record_plugins(&e, file, sets, n_sets, reg, &err);
        if (loaded != GM_OK) fprintf(stderr, "%s\n", err.message);
        ready = loaded == GM_OK;
    }
    struct stat out_stat;
    bool out_exists = ready && !resume && stat(e.out, &out_stat) == 0;
    if (out_exists && out_is_not_a_file(&e, &out_stat)) {
        gm_experiment_clear(&e);
        ready = out_exists = false;
    }
    if (ready &&
        ((out_exists && !force) || (!resume && out_is_an_input(&e, file)))) {
        if (out_exists && !force) {
            cli_error("run",
                      "%s exists: use 'gm run --resume %s' to continue it, or "
                      "--force to replace it",
                      e.out, e.out);
            note_unfinished_replacement(e.out);
        }
        gm_experiment_clear(&e);
        ready = false;
    }
    if (ready && !jobs_given) jobs = share_cores(jobs, e.blas_threads);
    if (cluster)
        gm_cluster_share_text(cluster, ready ? e.config_yaml : NULL, NULL);
    if (ready && cluster) gm_cluster_count_threads(cluster, (int)jobs);
    if (!ready) {
        gm_registry_free(reg);
        gm_cluster_leave(cluster);
        return EXIT_USER;
    }
    if (!progress_view_init(&view, &e, reg)) {
        cli_error("run", "out of memory");
        progress_view_clear(&view);
        gm_experiment_clear(&e);
        gm_registry_free(reg);
        return EXIT_USER;
    }
    catch_stop_signals();
    char blas[128];
    if (!view.quiet && cluster)
        fprintf(stderr,
                "gm run: %s, %d MPI ranks: %ld jobs here and %d on the "
                "others x %d thread%s, OpenBLAS %s\n",
                resume ? resume : file, gm_cluster_size(cluster), jobs,
                gm_cluster_remote_slots(cluster), e.blas_threads,
                e.blas_threads == 1 ? "" : "s",
                cli_blas_describe(blas, sizeof blas));
    else if (!view.quiet)
        fprintf(stderr, "gm run: %s, %ld job%s x %d thread%s, OpenBLAS %s\n",
                resume ? resume : file, jobs, jobs == 1 ? "" : "s",
                e.blas_threads, e.blas_threads == 1 ? "" : "s",
                cli_blas_describe(blas, sizeof blas));
    gm_train_options opts = {.progress = on_progress,
                             .progress_ctx = &view,
                             .progress_interval = view.live ? 0.25 : 0.0,
                             .jobs = (int)jobs,
                             .resume = resume != NULL,
                             .retry_failed = retry_failed,
                             .replace = force,
                             .stop = &stop_signal,
                             .cluster = cluster};
    if (out_exists && !view.quiet)
        fprintf(stderr, "gm run: writing %s.new; it replaces %s when the run "
                        "completes or is interrupted\n",
                e.out, e.out);
    gm_status s = gm_train_experiment(&e, reg, &opts, &err);
    if (view.live && !view.quiet) fputs("\r\033[K", stderr);
    code = s == GM_OK ? EXIT_OK : EXIT_USER;
    if (s == GM_INTERRUPTED) {
        fprintf(stderr, "gm run: interrupted; every run is checkpointed in %s\n"
                        "gm run: go on with:  gm run --resume %s\n",
                e.out, e.out);
        code = 128 + (stop_signal ? stop_signal : SIGINT);
    } else if (s != GM_OK) {
        fprintf(stderr, "gm run: %s\n", err.message);
    } else if (!view.quiet) {
        fprintf(stderr, "gm run: wrote %s\n", e.out);
    }
    progress_view_clear(&view);
    gm_experiment_clear(&e);
    gm_registry_free(reg);
    gm_cluster_leave(cluster);
    return code;
}
