/* gm summary: the comparison table of a run file, mean ± standard error
 * over seeds of each metric's final value, and each column's unit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "cli.h"
#include "gm/metric_info.h"
#include "gm/registry.h"
#include "gm/runfile.h"

static const char usage[] =
    "usage: gm summary RUN.h5 [--all] [--csv] [--plugin LIB.so ...]\n"
    "\n"
    "One row per model: the values of the keys a sweep set in it, then the\n"
    "final value of each headline metric, as mean ± standard error over\n"
    "seeds (runs that failed, counted as \"(k failed)\", left out), then\n"
    "each column's unit and which way is better. The headline\n"
    "metrics are each objective's own (held-out ones first) and then gm's\n"
    "sample-based ones.\n"
    "\n"
    "  --all         every metric, not only the headline ones\n"
    "  --csv         comma-separated, every metric, mean and se columns\n"
    "  --plugin LIB  the library of a plugin objective, for its headline\n"
    "                (without it, its models show every metric)\n";

enum { MAX_COLUMNS = 256, MAX_PLUGINS = 64 };

/* One CSV field, quoted (RFC 4180) when it holds a comma, a quote or a
 * line break: a sweep point's name "vae[beta=4,latent_dim=8]" does. */
static void csv_field(const char *text, bool first) {
    if (!first) putchar(',');
    if (!text[strcspn(text, ",\"\r\n")]) {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const char *p = text; *p; p++) {
        if (*p == '"') putchar('"');
        putchar(*p);
    }
    putchar('"');
}

static const char *sweep_value(const gm_summary *s, int model, int key) {
    return s->sweep_values[(size_t)model * (size_t)s->n_sweep + (size_t)key];
}

static void print_csv(const gm_summary *s) {
    csv_field("model", true);
    for (int k = 0; k < s->n_sweep; k++)
        csv_field(s->sweep_keys[k], false);
    printf(",objective,n_seeds,n_failed");
    for (int j = 0; j < s->n_metrics; j++)
        printf(",%s_mean,%s_se", s->metrics[j], s->metrics[j]);
    putchar('\n');
    for (int i = 0; i < s->n_models; i++) {
        csv_field(s->models[i], true);
        for (int k = 0; k < s->n_sweep; k++)
            csv_field(sweep_value(s, i, k), false);
        csv_field(s->objectives[i], false);
        printf(",%d,%d", s->n_seeds[i], s->n_failed[i]);
        for (int j = 0; j < s->n_metrics; j++)
            printf(",%.10g,%.10g", s->mean[i * s->n_metrics + j],
                   s->se[i * s->n_metrics + j]);
        putchar('\n');
    }
}

/* The column of metric `name`, or -1. */
static int metric_column(const gm_summary *s, const char *name) {
    for (int j = 0; j < s->n_metrics; j++)
        if (strcmp(s->metrics[j], name) == 0) return j;
    return -1;
}

static bool model_has(const gm_summary *s, int model, int metric) {
    return !isnan(s->mean[model * s->n_metrics + metric]);
}

/* Adds metric j to cols once. */
static void add_column(int *cols, int *n_cols, int j) {
    for (int c = 0; c < *n_cols; c++)
        if (cols[c] == j) return;
    if (*n_cols < MAX_COLUMNS) cols[(*n_cols)++] = j;
}

/* The headline columns: every model's objective's own in model order,
 * then gm's sample-based ones; a model whose objective reg does not have
 * (a plugin's, not loaded) adds every metric it has. */
static int headline_columns(const gm_summary *s, gm_registry *reg, int *cols) {
    int n_cols = 0;
    for (int i = 0; i < s->n_models; i++) {
        gm_error err = {0};
        const gm_objective *o =
            gm_registry_find(reg, s->objectives[i], NULL, &err);
        if (!o) {
            for (int j = 0; j < s->n_metrics; j++)
                if (model_has(s, i, j) &&
                    !gm_metric_is_sample_headline(s->metrics[j]))
                    add_column(cols, &n_cols, j);
            continue;
        }
        for (int h = 0; h < o->schema.n_headline; h++) {
            int j = metric_column(s, o->schema.headline[h]);
            if (j >= 0 && model_has(s, i, j)) add_column(cols, &n_cols, j);
        }
    }
    const char *common[GM_MAX_HEADLINE];
    int n_common = gm_headline_metrics(NULL, common);
    for (int h = 0; h < n_common; h++) {
        int j = metric_column(s, common[h]);
        if (j >= 0) add_column(cols, &n_cols, j);
    }
    return n_cols;
}

/* Display width: "±" is two bytes but one column. */
static int width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* What metric j means: the attrs of its series, or for a file written
 * before gm recorded them the declaration of an objective at hand that
 * logs it, or gm's own table. */
static void describe(char *out, size_t n, const gm_summary *s,
                     gm_registry *reg, int j) {
    const char *unit = s->units[j], *better = s->better[j];
    const gm_metric_info *info = NULL;
    for (int i = 0; !unit && !info && i < s->n_models; i++) {
        gm_error err = {0};
        const gm_objective *o =
            model_has(s, i, j)
                ? gm_registry_find(reg, s->objectives[i], NULL, &err)
                : NULL;
        if (o) info = gm_metric_info_of(&o->schema, s->metrics[j]);
    }
    if (!unit && !info) info = gm_metric_info_find(s->metrics[j]);
    if (info) {
        unit = info->unit;
        better = gm_better_name(info->better);
    }
    if (!unit)
        snprintf(out, n, "no unit on record (the file has none, nor does an "
                         "objective at hand declare it)");
    else if (strcmp(better, "neither") == 0)
        snprintf(out, n, "%s, a diagnostic (neither way is better)", unit);
    else
        snprintf(out, n, "%s, %s is better", unit, better);
}

/* The columns' units and directions, one line per description:
 * "elbo_eval, iwae_logpx: nats per example, higher is better". */
static void print_legend(const gm_summary *s, gm_registry *reg,
                         const int *cols, int n_cols) {
    bool done[MAX_COLUMNS] = {false};
    putchar('\n');
    for (int c = 0; c < n_cols; c++) {
        if (done[c]) continue;
        char what[160], other[160];
        describe(what, sizeof what, s, reg, cols[c]);
        fputs(s->metrics[cols[c]], stdout);
        for (int d = c + 1; d < n_cols; d++) {
            describe(other, sizeof other, s, reg, cols[d]);
            if (!done[d] && strcmp(what, other) == 0) {
                printf(", %s", s->metrics[cols[d]]);
                done[d] = true;
            }
        }
        printf(": %s\n", what);
    }
}

/* The seeds cell: "3", or "2 (1 failed)" when runs of the model failed. */
static void seeds_cell(char *out, size_t n, const gm_summary *s, int model) {
    if (s->n_failed[model] > 0)
        snprintf(out, n, "%d (%d failed)", s->n_seeds[model],
                 s->n_failed[model]);
    else
        snprintf(out, n, "%d", s->n_seeds[model]);
}

static void print_table(const gm_summary *s, gm_registry *reg, bool all) {
    int cols[MAX_COLUMNS], n_cols = 0;
    if (!all) n_cols = headline_columns(s, reg, cols);
    if (n_cols == 0)
        for (int j = 0; j < s->n_metrics && n_cols < MAX_COLUMNS; j++)
            cols[n_cols++] = j;
    int w_model = 5, w_obj = 9, w_seeds = 5, w[MAX_COLUMNS],
        w_sweep[MAX_COLUMNS];
    char seeds[48];
    int n_sweep = s->n_sweep < MAX_COLUMNS ? s->n_sweep : MAX_COLUMNS;
    for (int k = 0; k < n_sweep; k++) {
        w_sweep[k] = width(s->sweep_keys[k]);
        for (int i = 0; i < s->n_models; i++)
            if (width(sweep_value(s, i, k)) > w_sweep[k])
                w_sweep[k] = width(sweep_value(s, i, k));
    }
    for (int i = 0; i < s->n_models; i++) {
        w_model = w_model > width(s->models[i]) ? w_model : width(s->models[i]);
        w_obj = w_obj > width(s->objectives[i]) ? w_obj : width(s->objectives[i]);
        seeds_cell(seeds, sizeof seeds, s, i);
        w_seeds = w_seeds > width(seeds) ? w_seeds : width(seeds);
    }
    for (int c = 0; c < n_cols; c++) {
        w[c] = width(s->metrics[cols[c]]);
        for (int i = 0; i < s->n_models; i++) {
            char cell[96];
            cli_format_estimate(cell, sizeof cell,
                                s->mean[i * s->n_metrics + cols[c]],
                                s->se[i * s->n_metrics + cols[c]]);
            w[c] = w[c] > width(cell) ? w[c] : width(cell);
        }
    }
    printf("%s: %s%s\n", s->experiment ? s->experiment : "?",
           s->status ? s->status : "?",
           s->from_series ? " (no /summary: computed from the series)" : "");
    printf("%-*s", w_model, "model");
    for (int k = 0; k < n_sweep; k++)
        printf("  %*s", w_sweep[k], s->sweep_keys[k]);
    printf("  %-*s  %*s", w_obj, "objective", w_seeds, "seeds");
    for (int c = 0; c < n_cols; c++) printf("  %*s", w[c], s->metrics[cols[c]]);
    putchar('\n');
    for (int i = 0; i < s->n_models; i++) {
        printf("%-*s", w_model, s->models[i]);
        for (int k = 0; k < n_sweep; k++)
            printf("  %*s", w_sweep[k], sweep_value(s, i, k));
        seeds_cell(seeds, sizeof seeds, s, i);
        printf("  %-*s  %*s", w_obj, s->objectives[i], w_seeds, seeds);
        for (int c = 0; c < n_cols; c++) {
            char cell[96];
            cli_format_estimate(cell, sizeof cell,
                                s->mean[i * s->n_metrics + cols[c]],
                                s->se[i * s->n_metrics + cols[c]]);
            printf("  %*s%s", w[c] - width(cell), "", cell);
        }
        putchar('\n');
    }
    print_legend(s, reg, cols, n_cols);
    int failed = 0;
    for (int i = 0; i < s->n_models; i++) failed += s->n_failed[i];
    if (failed > 0)
        printf("seeds: the runs that failed (a NaN, ...) are left out of the "
               "means; the status of each run's group says why\n");
}

int cmd_summary(int argc, char **argv) {
    const char *path = NULL, *plugins[MAX_PLUGINS];
    int n_plugins = 0;
    bool csv = false, all = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--plugin") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                cli_error("summary", "--plugin needs a value");
                return EXIT_USAGE;
            }
            if (n_plugins == MAX_PLUGINS) {
                cli_error("summary", "at most %d --plugin", MAX_PLUGINS);
                return EXIT_USAGE;
            }
            plugins[n_plugins++] = argv[++i];
        } else if (strcmp(argv[i], "--csv") == 0) {
            csv = true;
        } else if (strcmp(argv[i], "--all") == 0) {
            all = true;
        } else if (argv[i][0] == '-' || path) {
            cli_error("summary", "unexpected argument '%s'", argv[i]);
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path || !path[0]) {
        cli_error("summary", "%s", path ? "the run file's name is empty"
                                        : "missing the run file RUN.h5");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    gm_error err = {0};
    gm_registry *reg = gm_builtin_registry();
    if (!reg) {
        cli_error("summary", "out of memory");
        return EXIT_USER;
    }
    for (int i = 0; i < n_plugins; i++) {
        if (!gm_registry_load(reg, plugins[i], &err)) {
            cli_error("summary", "%s", err.message);
            gm_registry_free(reg);
            return EXIT_USER;
        }
    }
    /* Before reading: a writer that finishes meanwhile leaves "complete". */
    bool writer = gm_runfile_has_writer(path);
    gm_summary s;
    if (gm_runfile_read_summary(path, &s, &err) != GM_OK) {
        cli_error("summary", "%s", err.message);
        gm_registry_free(reg);
        return EXIT_USER;
    }
    if (csv) print_csv(&s);
    else
        print_table(&s, reg, all);
    gm_registry_free(reg);
    if (s.status && strcmp(s.status, "running") == 0 && !writer)
        fprintf(stderr,
                "gm summary: no gm run is writing %s: it was stopped; go on "
                "with 'gm run --resume %s'\n",
                path, path);
    gm_summary_clear(&s);
    return EXIT_OK;
}
