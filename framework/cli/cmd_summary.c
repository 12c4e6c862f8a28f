/* gm summary: the comparison table of one or more run files, mean ±
 * standard error over seeds of each metric's final value, and each
 * column's unit; in blocks of columns that fit the terminal. */
#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "builtin.h"
#include "cli.h"
#include "gm/metric_info.h"
#include "gm/registry.h"
#include "gm/runfile.h"
#include "summary_merge.h"

static const char usage[] =
    "usage: gm summary RUN.h5 [RUN.h5 ...] [--all] [--wide] [--csv]\n"
    "                  [--plugin LIB.so ...]\n"
    "\n"
    "One row per model: the values of the keys a sweep set in it, then the\n"
    "final value of each headline metric, as mean ± standard error over\n"
    "seeds (runs that failed, counted as \"(k failed)\", left out), then\n"
    "each column's unit and which way is better. The headline\n"
    "metrics are each objective's own (held-out ones first) and then gm's\n"
    "sample-based ones. With several files, one table: a first column\n"
    "names each row's file, the columns are every file's, and a file that\n"
    "cannot be read is named on stderr and left out (the others print; gm\n"
    "exits 1).\n"
    "\n"
    "The table fits the width of $COLUMNS when it is set, else of the\n"
    "terminal, else 100 columns: the metric columns that do not fit go to\n"
    "further blocks, each beginning with the model column again.\n"
    "\n"
    "  --all         every metric, not only the headline ones\n"
    "  --wide        one block however wide (lines as long as it takes)\n"
    "  --csv         comma-separated, every metric, mean and se columns\n"
    "                (se is nan for one seed, where it is undefined; with\n"
    "                several files a first column file)\n"
    "  --plugin LIB  the library of a plugin objective, for its headline\n"
    "                (without it, its models show every metric)\n";

enum { MAX_PLUGINS = 64, DEFAULT_WIDTH = 100 };

/* Display width: "±" is two bytes but one column. */
static int width(const char *s) {
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* ---- CSV ------------------------------------------------------------------
 */

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

/* A number in full, "nan" where it is undefined or absent (printf could
 * write "-nan"). */
static void csv_number(double x) {
    if (isnan(x))
        fputs(",nan", stdout);
    else
        printf(",%.10g", x);
}

static void print_csv(const summary_merge *m) {
    bool several = m->by_file;
    if (several) csv_field("file", true);
    csv_field("model", !several);
    for (int k = 0; k < m->n_sweep; k++)
        csv_field(m->sweep_keys[k], false);
    printf(",objective,n_seeds,n_failed");
    for (int c = 0; c < m->n_metrics; c++)
        printf(",%s_mean,%s_se", m->metrics[c], m->metrics[c]);
    putchar('\n');
    for (int r = 0; r < m->n_rows; r++) {
        const gm_summary *s = &m->files[m->row_file[r]].s;
        int i = m->row_model[r];
        if (several) csv_field(m->files[m->row_file[r]].path, true);
        csv_field(s->models[i], !several);
        for (int k = 0; k < m->n_sweep; k++)
            csv_field(summary_merge_sweep_value(m, r, k), false);
        csv_field(s->objectives[i], false);
        printf(",%d,%d", s->n_seeds[i], s->n_failed[i]);
        for (int c = 0; c < m->n_metrics; c++) {
            double mean, se;
            summary_merge_estimate(m, r, c, &mean, &se);
            csv_number(mean);
            csv_number(se);
        }
        putchar('\n');
    }
}

/* ---- which columns --------------------------------------------------------
 */

static int find_metric(const summary_merge *m, const char *name) {
    for (int c = 0; c < m->n_metrics; c++)
        if (strcmp(m->metrics[c], name) == 0) return c;
    return -1;
}

static bool row_has(const summary_merge *m, int r, int c) {
    double mean, se;
    summary_merge_estimate(m, r, c, &mean, &se);
    return !isnan(mean);
}

static const gm_objective *objective_of(const summary_merge *m, int r,
                                        gm_registry *reg) {
    gm_error err = {0};
    const gm_summary *s = &m->files[m->row_file[r]].s;
    return gm_registry_find(reg, s->objectives[m->row_model[r]], NULL, &err);
}

/* Adds metric c to cols once. */
static void add_column(int *cols, int *n_cols, int c) {
    for (int k = 0; k < *n_cols; k++)
        if (cols[k] == c) return;
    cols[(*n_cols)++] = c;
}

/* The headline columns: every model's objective's own in row order,
 * then gm's sample-based ones; a model whose objective reg does not have
 * (a plugin's, not loaded) adds every metric it has. */
static int headline_columns(const summary_merge *m, gm_registry *reg,
                            int *cols) {
    int n_cols = 0;
    for (int r = 0; r < m->n_rows; r++) {
        const gm_objective *o = objective_of(m, r, reg);
        if (!o) {
            for (int c = 0; c < m->n_metrics; c++)
                if (row_has(m, r, c) &&
                    !gm_metric_is_sample_headline(m->metrics[c]))
                    add_column(cols, &n_cols, c);
            continue;
        }
        for (int h = 0; h < o->schema.n_headline; h++) {
            int c = find_metric(m, o->schema.headline[h]);
            if (c >= 0 && row_has(m, r, c)) add_column(cols, &n_cols, c);
        }
    }
    const char *common[GM_MAX_HEADLINE];
    int n_common = gm_headline_metrics(NULL, common);
    for (int h = 0; h < n_common; h++) {
        int c = find_metric(m, common[h]);
        if (c >= 0) add_column(cols, &n_cols, c);
    }
    return n_cols;
}

/* ---- the legend -----------------------------------------------------------
 */

/* What metric c means: the attrs of its series (in the first file that
 * has them), or for files written before gm recorded them the
 * declaration of an objective at hand that logs it, or gm's own table. */
static void describe(char *out, size_t n, const summary_merge *m,
                     gm_registry *reg, int c) {
    const char *unit = NULL, *better = NULL;
    for (int f = 0; !unit && f < m->n_files; f++) {
        int j = summary_merge_column(m, f, c);
        if (j >= 0 && m->files[f].s.units[j]) {
            unit = m->files[f].s.units[j];
            better = m->files[f].s.better[j];
        }
    }
    const gm_metric_info *info = NULL;
    for (int r = 0; !unit && !info && r < m->n_rows; r++) {
        const gm_objective *o =
            row_has(m, r, c) ? objective_of(m, r, reg) : NULL;
        if (o) info = gm_metric_info_of(&o->schema, m->metrics[c]);
    }
    if (!unit && !info) info = gm_metric_info_find(m->metrics[c]);
    if (info) {
        unit = info->unit;
        better = gm_better_name(info->better);
    }
    if (!unit)
        snprintf(out, n,
                 "no unit on record (the file has none, nor does an "
                 "objective at hand declare it)");
    else if (strcmp(better, "neither") == 0)
        snprintf(out, n, "%s, a diagnostic (neither way is better)", unit);
    else
        snprintf(out, n, "%s, %s is better", unit, better);
}

/* Prints text, broken at spaces into lines of at most limit columns
 * (a word longer than that stays whole); the lines after the first are
 * indented. */
static void print_wrapped(const char *text, int limit) {
    const char *indent = "    ";
    int col = 0;
    while (*text) {
        int n = (int)strcspn(text, " ");
        int w = width(text) - width(text + n);
        if (col > 0 && col + 1 + w > limit) {
            printf("\n%s", indent);
            col = width(indent);
        } else if (col > 0) {
            putchar(' ');
            col++;
        }
        fwrite(text, 1, (size_t)n, stdout);
        col += w;
        text += n;
        while (*text == ' ')
            text++;
    }
    putchar('\n');
}

/* The columns' units and directions, one line per description:
 * "elbo_eval, iwae_logpx: nats per example, higher is better". */
static void print_legend(const summary_merge *m, gm_registry *reg,
                         const int *cols, int n_cols, int limit) {
    bool *done = calloc((size_t)n_cols + 1, sizeof *done);
    size_t room = 256;
    for (int c = 0; c < n_cols; c++)
        room += strlen(m->metrics[cols[c]]) + 2;
    char *line = malloc(room);
    if (!done || !line) {
        free(done);
        free(line);
        return;
    }
    putchar('\n');
    for (int c = 0; c < n_cols; c++) {
        if (done[c]) continue;
        char what[160], other[160];
        describe(what, sizeof what, m, reg, cols[c]);
        size_t at = (size_t)snprintf(line, room, "%s", m->metrics[cols[c]]);
        for (int d = c + 1; d < n_cols; d++) {
            describe(other, sizeof other, m, reg, cols[d]);
            if (!done[d] && strcmp(what, other) == 0) {
                at += (size_t)snprintf(line + at, room - at, ", %s",
                                       m->metrics[cols[d]]);
                done[d] = true;
            }
        }
        snprintf(line + at, room - at, ": %s", what);
        print_wrapped(line, limit);
    }
    free(done);
    free(line);
}

/* ---- the table ------------------------------------------------------------
 */

/* A column of the printed table: its header and one cell per row, its
 * display width and alignment, and whether every block repeats it (the
 * file and the model, which name the row). */
typedef struct column {
    const char *head;
    char **cells;
    int width;
    bool left, key;
} column;

/* Adds a column whose cells the caller fills. */
static column *add(column *cols, int *n, int n_rows, const char *head,
                   bool left, bool key) {
    column *c = &cols[(*n)++];
    *c = (column){.head = head, .left = left, .key = key, .width = width(head)};
    c->cells = calloc((size_t)n_rows + 1, sizeof *c->cells);
    return c;
}

static void set_cell(column *c, int r, const char *text) {
    c->cells[r] = strdup(text);
    if (c->cells[r] && width(text) > c->width) c->width = width(text);
}

/* The seeds cell: "3", or "2 (1 failed)" when runs of the model failed. */
static void seeds_cell(char *out, size_t n, const gm_summary *s, int model) {
    if (s->n_failed[model] > 0)
        snprintf(out, n, "%d (%d failed)", s->n_seeds[model],
                 s->n_failed[model]);
    else
        snprintf(out, n, "%d", s->n_seeds[model]);
}

/* The table's columns, *n_out of them: [file], model, the swept keys,
 * objective, seeds, then the metrics cols; NULL when out of memory. */
static column *make_columns(const summary_merge *m, const int *cols, int n_cols,
                            int *n_out) {
    int n = 0, rows = m->n_rows;
    column *t = calloc((size_t)(n_cols + m->n_sweep + 4), sizeof *t);
    if (!t) return NULL;
    column *file = m->by_file ? add(t, &n, rows, "file", true, true) : NULL;
    column *model = add(t, &n, rows, "model", true, true);
    int sweep = n;
    for (int k = 0; k < m->n_sweep; k++)
        add(t, &n, rows, m->sweep_keys[k], false, false);
    column *objective = add(t, &n, rows, "objective", true, false);
    column *seeds = add(t, &n, rows, "seeds", false, false);
    int metrics = n;
    for (int c = 0; c < n_cols; c++)
        add(t, &n, rows, m->metrics[cols[c]], false, false);
    for (int r = 0; r < rows; r++) {
        const gm_summary *s = &m->files[m->row_file[r]].s;
        int i = m->row_model[r];
        char cell[96];
        if (file) set_cell(file, r, m->files[m->row_file[r]].path);
        set_cell(model, r, s->models[i]);
        for (int k = 0; k < m->n_sweep; k++)
            set_cell(&t[sweep + k], r, summary_merge_sweep_value(m, r, k));
        set_cell(objective, r, s->objectives[i]);
        seeds_cell(cell, sizeof cell, s, i);
        set_cell(seeds, r, cell);
        for (int c = 0; c < n_cols; c++) {
            double mean, se;
            summary_merge_estimate(m, r, cols[c], &mean, &se);
            cli_format_estimate(cell, sizeof cell, mean, se);
            set_cell(&t[metrics + c], r, cell);
        }
    }
    *n_out = n;
    return t;
}

/* False if a cell could not be allocated. */
static bool columns_complete(const column *t, int n, int rows) {
    for (int c = 0; c < n; c++)
        for (int r = 0; r < rows; r++)
            if (!t[c].cells || !t[c].cells[r]) return false;
    return true;
}

static void free_columns(column *t, int n, int rows) {
    for (int c = 0; t && c < n; c++) {
        for (int r = 0; t[c].cells && r < rows; r++)
            free(t[c].cells[r]);
        free(t[c].cells);
    }
    free(t);
}

/* The columns which[n] of t: a header line, then a line per row. The
 * last column is not padded (no trailing blanks). */
static void print_block(const column *t, const int *which, int n, int rows) {
    for (int r = -1; r < rows; r++) {
        for (int k = 0; k < n; k++) {
            const column *c = &t[which[k]];
            const char *text = r < 0 ? c->head : c->cells[r];
            int pad = c->width - width(text);
            if (k > 0) fputs("  ", stdout);
            if (!c->left) printf("%*s", pad, "");
            fputs(text, stdout);
            if (c->left && k + 1 < n) printf("%*s", pad, "");
        }
        putchar('\n');
    }
}

/* t in blocks of at most limit columns, each the key columns and then as
 * many of the next ones as fit (at least one), a blank line between. */
static void print_blocks(const column *t, int n, int rows, int limit) {
    int *which = malloc((size_t)n * sizeof *which), n_keys = 0;
    if (!which) return;
    while (n_keys < n && t[n_keys].key)
        n_keys++;
    for (int next = n_keys; next < n;) {
        int k = 0, used = -2;
        for (; k < n_keys; k++) {
            which[k] = k;
            used += 2 + t[k].width;
        }
        while (next < n && (k == n_keys || used + 2 + t[next].width <= limit)) {
            used += 2 + t[next].width;
            which[k++] = next++;
        }
        if (which[n_keys] != n_keys) putchar('\n');
        print_block(t, which, k, rows);
    }
    free(which);
}

/* The width to fit: $COLUMNS when set to a number (also in a pipe, so
 * `COLUMNS=160 gm summary x | less` does what it says), else the
 * terminal's, else DEFAULT_WIDTH. */
static int table_width(void) {
    const char *env = getenv("COLUMNS");
    char *end;
    long n = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && n > 0) return n < INT_MAX ? (int)n : INT_MAX;
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    return DEFAULT_WIDTH;
}

/* Each file's experiment and status: "gan_vs_vae: complete", after the
 * file's name when there are several. */
static void print_titles(const summary_merge *m) {
    for (int f = 0; f < m->n_files; f++) {
        const gm_summary *s = &m->files[f].s;
        if (m->by_file) printf("%s: ", m->files[f].path);
        printf("%s: %s%s\n", s->experiment ? s->experiment : "?",
               s->status ? s->status : "?",
               s->from_series ? " (no /summary: computed from the series)"
                              : "");
    }
}

/* False when out of memory. */
static bool print_table(const summary_merge *m, gm_registry *reg, bool all,
                        int limit) {
    int *cols = malloc(((size_t)m->n_metrics + 1) * sizeof *cols), n_cols = 0;
    if (!cols) return false;
    if (!all) n_cols = headline_columns(m, reg, cols);
    if (n_cols == 0)
        for (int c = 0; c < m->n_metrics; c++)
            cols[n_cols++] = c;
    int n = 0;
    column *t = make_columns(m, cols, n_cols, &n);
    if (!t || !columns_complete(t, n, m->n_rows)) {
        free_columns(t, n, m->n_rows);
        free(cols);
        return false;
    }
    print_titles(m);
    print_blocks(t, n, m->n_rows, limit);
    print_legend(m, reg, cols, n_cols, limit);
    int failed = 0;
    for (int r = 0; r < m->n_rows; r++)
        failed += m->files[m->row_file[r]].s.n_failed[m->row_model[r]];
    if (failed > 0)
        printf("seeds: the runs that failed (a NaN, ...) are left out of the "
               "means; the status of each run's group says why\n");
    free_columns(t, n, m->n_rows);
    free(cols);
    return true;
}

/* ---- the command ----------------------------------------------------------
 */

typedef struct options {
    const char **paths;
    int n_paths;
    const char *plugins[MAX_PLUGINS];
    int n_plugins;
    bool csv, all, wide;
} options;

/* EXIT_OK, or the exit code of a usage error (reported). */
static int parse(int argc, char **argv, options *o) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plugin") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                cli_error("summary", "--plugin needs a value");
                return EXIT_USAGE;
            }
            if (o->n_plugins == MAX_PLUGINS) {
                cli_error("summary", "at most %d --plugin", MAX_PLUGINS);
                return EXIT_USAGE;
            }
            o->plugins[o->n_plugins++] = argv[++i];
        } else if (strcmp(argv[i], "--csv") == 0) {
            o->csv = true;
        } else if (strcmp(argv[i], "--all") == 0) {
            o->all = true;
        } else if (strcmp(argv[i], "--wide") == 0) {
            o->wide = true;
        } else if (argv[i][0] == '-') {
            cli_error("summary", "unexpected argument '%s'", argv[i]);
            return EXIT_USAGE;
        } else {
            o->paths[o->n_paths++] = argv[i];
        }
    }
    for (int i = 0; i < o->n_paths; i++)
        if (!o->paths[i][0]) {
            cli_error("summary", "the run file's name is empty");
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    if (o->n_paths == 0) {
        cli_error("summary", "missing the run file RUN.h5");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Reads each of o's files into files (those that can be read, in order;
 * each that cannot is named on stderr), and warns of a file left
 * "running" with no writer. Returns how many were read. */
static int read_files(const options *o, summary_file *files, bool *failed) {
    int n = 0;
    for (int i = 0; i < o->n_paths; i++) {
        const char *path = o->paths[i];
        gm_error err = {0};
        /* Before reading: a writer that finishes meanwhile leaves
         * "complete". */
        bool writer = gm_runfile_has_writer(path);
        files[n].path = path;
        if (gm_runfile_read_summary(path, &files[n].s, &err) != GM_OK) {
            cli_error("summary", "%s%s", err.message,
                      o->n_paths > 1 ? " (left out of the table)" : "");
            *failed = true;
            continue;
        }
        const char *status = files[n].s.status;
        if (status && strcmp(status, "running") == 0 && !writer)
            fprintf(stderr,
                    "gm summary: no gm run is writing %s: it was stopped; go "
                    "on with 'gm run --resume %s'\n",
                    path, path);
        n++;
    }
    return n;
}

int cmd_summary(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
    options o = {.paths = calloc((size_t)argc, sizeof *o.paths)};
    summary_file *files = calloc((size_t)argc, sizeof *files);
    gm_registry *reg = o.paths && files ? gm_builtin_registry() : NULL;
    int rc = EXIT_OK;
    if (!reg) {
        cli_error("summary", "out of memory");
        rc = EXIT_USER;
    } else {
        rc = parse(argc, argv, &o);
    }
    for (int i = 0; rc == EXIT_OK && i < o.n_plugins; i++) {
        gm_error err = {0};
        if (!gm_registry_load(reg, o.plugins[i], &err)) {
            cli_error("summary", "%s", err.message);
            rc = EXIT_USER;
        }
    }
    int n_files = 0;
    if (rc == EXIT_OK) {
        bool failed = false;
        n_files = read_files(&o, files, &failed);
        summary_merge m;
        if (n_files > 0 && !summary_merge_make(&m, files, n_files)) {
            cli_error("summary", "out of memory");
            failed = true;
        } else if (n_files > 0) {
            m.by_file = o.n_paths > 1;
            if (o.csv)
                print_csv(&m);
            else if (!print_table(&m, reg, o.all,
                                  o.wide ? INT_MAX : table_width())) {
                cli_error("summary", "out of memory");
                failed = true;
            }
            summary_merge_clear(&m);
        }
        if (failed) rc = EXIT_USER;
    }
    for (int f = 0; f < n_files; f++)
        gm_summary_clear(&files[f].s);
    gm_registry_free(reg);
    free(files);
    free(o.paths);
    return rc;
}
