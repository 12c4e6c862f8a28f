/* gm run: train an experiment file into a run file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_kernel.h"
#include "cli.h"
#include "gm/config.h"
#include "gm/train.h"

static const char usage[] =
    "usage: gm run FILE.yaml [--set key.path=value ...] [--out PATH]\n"
    "              [--plugin LIB.so ...] [--jobs N] [--quiet]\n"
    "\n"
    "Trains every model of the experiment once per seed and writes one HDF5\n"
    "run file (default runs/<experiment>.h5).\n"
    "\n"
    "  --set k=v     override any key of the file, e.g. --set train.steps=500\n"
    "  --out PATH    the run file to write\n"
    "  --plugin LIB  load an objective from a shared library\n"
    "  --jobs N      train N runs at once (default: the number of cores);\n"
    "                the run file is the same for every N\n"
    "  --quiet       no progress output\n";

#define MAX_ARGS 64

typedef struct progress_view {
    bool live; /* a terminal: one line redrawn in place */
    bool quiet;
} progress_view;

static void print_metrics(const gm_progress *p, int max) {
    for (int i = 0; i < p->n_metrics && i < max; i++)
        fprintf(stderr, " %s=%.4g", p->metric_names[i], p->metrics[i]);
}

static void on_progress(const gm_progress *p, void *ctx) {
    const progress_view *v = ctx;
    if (v->quiet) return;
    if (v->live) {
        fprintf(stderr, "\r\033[K[%d/%d] %s seed %llu  step %ld/%ld  %.0f "
                        "steps/s  %.0fs left ",
                p->run_index + 1, p->n_runs, p->model,
                (unsigned long long)p->seed, p->step, p->steps,
                p->steps_per_second, p->eta_seconds);
        print_metrics(p, 3);
        if (p->step == p->steps) fputc('\n', stderr);
    } else if (p->evaluation) {
        fprintf(stderr, "[%d/%d] %s seed %llu step %ld/%ld:", p->run_index + 1,
                p->n_runs, p->model, (unsigned long long)p->seed, p->step,
                p->steps);
        print_metrics(p, p->n_metrics);
        fputc('\n', stderr);
    }
    fflush(stderr);
}

int cmd_run(int argc, char **argv) {
    const char *file = NULL;
    const char *sets[MAX_ARGS], *plugins[MAX_ARGS];
    int n_sets = 0, n_plugins = 0;
    char out_set[GM_PATH_MAX + 8];
    progress_view view = {.live = isatty(STDERR_FILENO) && !getenv("CI")};
    long cores = sysconf(_SC_NPROCESSORS_ONLN), jobs = cores > 0 ? cores : 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0) {
            view.quiet = true;
        } else if ((strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 ||
                    strcmp(a, "--plugin") == 0 || strcmp(a, "--jobs") == 0) &&
                   !has_value) {
            cli_error("run", "%s needs a value", a);
            return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0 && n_sets < MAX_ARGS - 1) {
            sets[n_sets++] = argv[++i];
        } else if (strcmp(a, "--out") == 0 && n_sets < MAX_ARGS - 1) {
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
        } else if (strcmp(a, "--plugin") == 0 && n_plugins < MAX_ARGS) {
            plugins[n_plugins++] = argv[++i];
        } else if (a[0] == '-') {
            cli_error("run", "unknown option '%s' (see gm run --help)", a);
            return EXIT_USAGE;
        } else if (!file) {
            file = a;
        } else {
            cli_error("run", "one experiment file at a time ('%s' and '%s')",
                      file, a);
            return EXIT_USAGE;
        }
    }
    if (!file) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    gm_error err = {0};
    gm_registry *reg = gm_registry_create();
    if (!reg) {
        cli_error("run", "out of memory");
        return EXIT_USER;
    }
    for (int i = 0; i < n_plugins; i++) {
        if (!gm_registry_load(reg, plugins[i], &err)) {
            fprintf(stderr, "gm run: %s\n", err.message);
            gm_registry_free(reg);
            return EXIT_USER;
        }
    }
    gm_experiment e;
    if (gm_config_load(&e, file, sets, n_sets, gm_registry_schema, reg,
                       &err) != GM_OK) {
        fprintf(stderr, "%s\n", err.message);
        gm_registry_free(reg);
        return EXIT_USER;
    }
    char blas[128];
    if (!view.quiet)
        fprintf(stderr, "gm run: %s, %ld jobs, OpenBLAS %s\n", file, jobs,
                cli_blas_describe(blas, sizeof blas));
    gm_train_options opts = {.progress = on_progress,
                             .progress_ctx = &view,
                             .progress_interval = view.live ? 0.25 : 0.0,
                             .jobs = (int)jobs};
    gm_status s = gm_train_experiment(&e, reg, &opts, &err);
    if (view.live && !view.quiet) fputs("\r\033[K", stderr);
    if (s != GM_OK) fprintf(stderr, "gm run: %s\n", err.message);
    else if (!view.quiet) fprintf(stderr, "gm run: wrote %s\n", e.out);
    gm_experiment_clear(&e);
    gm_registry_free(reg);
    return s == GM_OK ? EXIT_OK : EXIT_USER;
}
