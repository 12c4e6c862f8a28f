/* gm run: train an experiment file into a run file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_kernel.h"
#include "builtin.h"
#include "cli.h"
#include "gm/cluster.h"
#include "gm/config.h"
#include "gm/runfile.h"
#include "gm/train.h"
#include "run_out.h"
#include "run_progress.h"

static const char usage[] =
    "usage: gm run FILE.yaml [--set key.path=value ...] [--out PATH]\n"
    "              [--force | --keep] [--plugin LIB.so ...] [--jobs N]\n"
    "              [--quiet]\n"
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
    "  --keep        like --force, but the earlier file stays, renamed with\n"
    "                its creation time (runs/x.2026-12-07T230300Z.h5)\n"
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
     * killing gm, and progress_view_report stops printing. */
    signal(SIGPIPE, SIG_IGN);
    /* A file past `ulimit -f` fails to write (EFBIG) and gm says so,
     * instead of dying of SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
}

/* The experiment stored in a run file, to go on with it; *complete: the
 * file is complete (every run finished) and no gm run writes it (a --force
 * replacing it: then the lock refuses), there is nothing to go on with,
 * and e is left empty. */
static gm_status load_from_run(gm_experiment *e, const char *path,
                               gm_registry *reg, bool *complete,
                               gm_error *err) {
    gm_runfile_info info;
    gm_status s = gm_runfile_read_info(path, &info, err);
    if (s != GM_OK) return s;
    *complete = info.status && strcmp(info.status, "complete") == 0 &&
                !gm_runfile_has_writer(path);
    if (*complete) {
        gm_runfile_info_clear(&info);
        return GM_OK;
    }
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

/* What the command line asks for. */
typedef struct run_args {
    const char *file, *resume; /* the experiment, or the file to resume */
    bool force, keep, retry_failed, quiet; /* keep implies force */
    const char *sets[MAX_ARGS], *plugins[MAX_ARGS];
    int n_sets, n_plugins;
    char out_set[GM_PATH_MAX + 8]; /* --out as the override out=PATH */
    long jobs;                     /* 0: not given */
} run_args;

/* Returned by parse_args when gm run goes on. */
enum { PARSED = -1 };

/* Reads the options into a; PARSED, or the exit code once it has printed
 * the help or a usage error. */
static int parse_args(int argc, char **argv, run_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool has_value = i + 1 < argc;
        if (cli_is_help(o)) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(o, "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(o, "--force") == 0) {
            a->force = true;
        } else if (strcmp(o, "--keep") == 0) {
            a->force = a->keep = true;
        } else if (strcmp(o, "--retry-failed") == 0) {
            a->retry_failed = true;
        } else if ((strcmp(o, "--set") == 0 || strcmp(o, "--out") == 0 ||
                    strcmp(o, "--plugin") == 0 || strcmp(o, "--jobs") == 0 ||
                    strcmp(o, "--resume") == 0) &&
                   (!has_value || !*argv[i + 1])) {
            cli_error("run", "%s needs a value", o);
            return EXIT_USAGE;
        } else if (strcmp(o, "--resume") == 0) {
            a->resume = argv[++i];
        } else if ((strcmp(o, "--set") == 0 || strcmp(o, "--out") == 0) &&
                   a->n_sets == MAX_ARGS - 1) {
            cli_error("run", "at most %d --set and --out", MAX_ARGS - 1);
            return EXIT_USAGE;
        } else if (strcmp(o, "--plugin") == 0 && a->n_plugins == MAX_ARGS) {
            cli_error("run", "at most %d --plugin", MAX_ARGS);
            return EXIT_USAGE;
        } else if (strcmp(o, "--set") == 0 && !strchr(argv[i + 1], '=')) {
            cli_error("run", "--set needs key.path=value, got '%s'",
                      argv[i + 1]);
            return EXIT_USAGE;
        } else if (strcmp(o, "--set") == 0) {
            a->sets[a->n_sets++] = argv[++i];
        } else if (strcmp(o, "--out") == 0) {
            /* --out is the override out=PATH: recorded like any other. */
            snprintf(a->out_set, sizeof a->out_set, "out=%s", argv[++i]);
            a->sets[a->n_sets++] = a->out_set;
        } else if (strcmp(o, "--jobs") == 0) {
            char *end;
            a->jobs = strtol(argv[++i], &end, 10);
            if (*end || a->jobs < 1 || a->jobs > GM_MAX_JOBS) {
                cli_error("run", "--jobs needs 1 to %d, got '%s'",
                          GM_MAX_JOBS, argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(o, "--plugin") == 0) {
            a->plugins[a->n_plugins++] = argv[++i];
        } else if (o[0] == '-') {
            cli_error("run", "unknown option '%s' (see gm run --help)", o);
            return EXIT_USAGE;
        } else if (!*o) {
            cli_error("run", "the experiment file's path is empty");
            return EXIT_USAGE;
        } else if (!a->file) {
            a->file = o;
        } else {
            cli_error("run", "one experiment file at a time ('%s' and '%s')",
                      a->file, o);
            return EXIT_USAGE;
        }
    }
    if (a->resume && (a->file || a->n_sets > 0 || a->force)) {
        cli_error("run", "--resume takes the run file alone: its experiment "
                         "and overrides are the ones stored in it");
        return EXIT_USAGE;
    }
    if (a->retry_failed && !a->resume) {
        cli_error("run", "--retry-failed goes with --resume RUN.h5");
        return EXIT_USAGE;
    }
    if (!a->file && !a->resume) {
        cli_error("run", "no experiment file (see gm run --help)");
        return EXIT_USAGE;
    }
    return PARSED;
}

/* A registry of the built-ins and the --plugin libraries; NULL (said why)
 * on failure. */
static gm_registry *load_objectives(const run_args *a) {
    gm_registry *reg = gm_builtin_registry();
    if (!reg) {
        cli_error("run", "out of memory");
        return NULL;
    }
    gm_error err = {0};
    for (int i = 0; i < a->n_plugins; i++)
        if (!gm_registry_load(reg, a->plugins[i], &err)) {
            fprintf(stderr, "gm run: %s\n", err.message);
            gm_registry_free(reg);
            return NULL;
        }
    return reg;
}

/* The experiment to train, from its file or from the run file to resume,
 * with its run file checked (run_out.h); false (said why, e cleared) if
 * it cannot be trained. *out_exists: --force replaces an existing file.
 * *complete: the run file to resume is complete (false is returned). */
static bool load_experiment(const run_args *a, gm_registry *reg,
                            gm_experiment *e, bool *out_exists,
                            bool *complete) {
    gm_error err = {0};
    *complete = false;
    gm_status loaded =
        a->resume ? load_from_run(e, a->resume, reg, complete, &err)
                  : gm_config_load(e, a->file, a->sets, a->n_sets,
                                   gm_registry_schema, reg, &err);
    if (*complete) {
        fprintf(stderr, "gm run: %s is complete: every run has finished, "
                        "nothing to resume (the file is left as it is)\n",
                a->resume);
        return false;
    }
    if (loaded == GM_OK && !a->resume)
        loaded = record_plugins(e, a->file, a->sets, a->n_sets, reg, &err);
    if (loaded != GM_OK) {
        fprintf(stderr, "%s\n", err.message);
        return false;
    }
    *out_exists = false;
    if (!a->resume && !run_out_acceptable(e, a->file, a->force, out_exists)) {
        gm_experiment_clear(e);
        return false;
    }
    return true;
}

/* gm run's first lines: what trains, how many runs at once, the kernel,
 * which models train in bfloat16 and on what. */
static void print_start(const run_args *a, const gm_experiment *e,
                        gm_cluster *cluster, long jobs, bool out_exists) {
    char blas[128];
    const char *what = a->resume ? a->resume : a->file;
    const char *threads = e->blas_threads == 1 ? "" : "s";
    if (cluster)
        fprintf(stderr,
                "gm run: %s, %d MPI ranks: %ld jobs here and %d on the "
                "others x %d thread%s, OpenBLAS %s\n",
                what, gm_cluster_size(cluster), jobs,
                gm_cluster_remote_slots(cluster), e->blas_threads, threads,
                cli_blas_describe(blas, sizeof blas));
    else
        fprintf(stderr, "gm run: %s, %ld job%s x %d thread%s, OpenBLAS %s\n",
                what, jobs, jobs == 1 ? "" : "s", e->blas_threads, threads,
                cli_blas_describe(blas, sizeof blas));
    int bf16 = 0;
    for (int m = 0; m < e->n_models; m++)
        bf16 += e->models[m].train.precision == GM_PRECISION_BF16;
    if (bf16)
        fprintf(stderr, "gm run: %d of %d models train with bfloat16 products "
                        "on %s\n",
                bf16, e->n_models, gm_bf16_isa() ? gm_bf16_isa() : "none");
    if (out_exists)
        fprintf(stderr, "gm run: writing %s.new; it replaces %s when the run "
                        "completes or is interrupted\n",
                e->out, e->out);
}

/* Says how training ended and returns gm run's exit code. */
static int report_outcome(gm_status s, const gm_error *err,
                          const gm_experiment *e, bool quiet) {
    if (s == GM_INTERRUPTED) {
        fprintf(stderr, "gm run: interrupted; every run is checkpointed in %s\n"
                        "gm run: go on with:  gm run --resume %s\n",
                e->out, e->out);
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    if (s != GM_OK) {
        fprintf(stderr, "gm run: %s\n", err->message);
        return EXIT_USER;
    }
    if (!quiet) fprintf(stderr, "gm run: wrote %s\n", e->out);
    return EXIT_OK;
}

int cmd_run(int argc, char **argv) {
    run_args a = {0};
    int code = parse_args(argc, argv, &a);
    if (code != PARSED) return code;
    gm_cluster *cluster;
    code = join_cluster(&cluster);
    if (code != EXIT_OK) return code;
    bool jobs_given = a.jobs > 0;
    long jobs = a.jobs;
    if (!jobs_given) { /* the cores, shared by the ranks on this machine */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        long ranks_here = cluster ? gm_cluster_local_size(cluster) : 1;
        jobs = cores > ranks_here ? cores / ranks_here : 1;
    }
    gm_registry *reg = load_objectives(&a);
    if (cluster && gm_cluster_rank(cluster) > 0) {
        code = serve_rank_0(cluster, reg, reg != NULL, (int)jobs, jobs_given);
        gm_registry_free(reg);
        gm_cluster_leave(cluster);
        return code;
    }
    gm_experiment e = {0};
    bool out_exists = false, complete = false;
    bool ready = reg && load_experiment(&a, reg, &e, &out_exists, &complete);
    char kept[GM_PATH_MAX + 48] = ""; /* --keep: the earlier file's name */
    if (ready && a.keep && out_exists &&
        !run_out_keep_earlier(e.out, kept, sizeof kept)) {
        gm_experiment_clear(&e);
        ready = false;
    }
    if (ready && !jobs_given) jobs = share_cores(jobs, e.blas_threads);
    if (cluster)
        gm_cluster_share_text(cluster, ready ? e.config_yaml : NULL, NULL);
    if (ready && cluster) gm_cluster_count_threads(cluster, (int)jobs);
    progress_view view = {.live = isatty(STDERR_FILENO) && !getenv("CI"),
                          .quiet = a.quiet};
    if (ready && !progress_view_init(&view, &e, reg)) {
        cli_error("run", "out of memory");
        gm_experiment_clear(&e);
        ready = false;
    }
    if (!ready) {
        progress_view_clear(&view);
        gm_registry_free(reg);
        gm_cluster_leave(cluster);
        return complete ? EXIT_OK : EXIT_USER;
    }
    catch_stop_signals();
    if (!view.quiet) print_start(&a, &e, cluster, jobs, out_exists);
    gm_train_options opts = {.progress = progress_view_report,
                             .progress_ctx = &view,
                             .progress_interval = view.live ? 0.25 : 0.0,
                             .jobs = (int)jobs,
                             .resume = a.resume != NULL,
                             .retry_failed = a.retry_failed,
                             .replace = a.force,
                             .stop = &stop_signal,
                             .cluster = cluster};
    gm_error err = {0};
    gm_status s = gm_train_experiment(&e, reg, &opts, &err);
    if (view.live && !view.quiet) fputs("\r\033[K", stderr);
    code = report_outcome(s, &err, &e, view.quiet);
    if (kept[0]) run_out_settle_kept(e.out, kept);
    progress_view_clear(&view);
    gm_experiment_clear(&e);
    gm_registry_free(reg);
    gm_cluster_leave(cluster);
    return code;
}
