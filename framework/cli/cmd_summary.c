/* gm summary: the comparison table of a run file, mean ± standard error
 * over seeds of each metric's final value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gm/runfile.h"

static const char usage[] =
    "usage: gm summary RUN.h5 [--all] [--csv]\n"
    "\n"
    "One row per model: the values of the keys a sweep set in it, then the\n"
    "final value of each headline metric, as mean ± standard error over\n"
    "seeds.\n"
    "\n"
    "  --all   every metric, not only the headline ones\n"
    "  --csv   comma-separated, every metric, mean and se columns\n";

/* The columns a comparison of mode covering and mode collapse needs, in
 * this order, where the file has them. */
static const char *const headline[] = {
    "modes_covered", "hq_fraction", "kl_data_model", "kl_model_data",
    "elbo",          "joint_kl",    "d_real",        "d_fake",
    "prior_kl",      NULL};

static bool is_headline(const char *name) {
    for (int i = 0; headline[i]; i++)
        if (strcmp(headline[i], name) == 0) return true;
    return false;
}

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
    printf(",objective,n_seeds");
    for (int j = 0; j < s->n_metrics; j++)
        printf(",%s_mean,%s_se", s->metrics[j], s->metrics[j]);
    putchar('\n');
    for (int i = 0; i < s->n_models; i++) {
        csv_field(s->models[i], true);
        for (int k = 0; k < s->n_sweep; k++)
            csv_field(sweep_value(s, i, k), false);
        csv_field(s->objectives[i], false);
        printf(",%d", s->n_seeds[i]);
        for (int j = 0; j < s->n_metrics; j++)
            printf(",%.10g,%.10g", s->mean[i * s->n_metrics + j],
                   s->se[i * s->n_metrics + j]);
        putchar('\n');
    }
}

static void format_cell(char *out, size_t n, double mean, double se) {
    if (isnan(mean)) snprintf(out, n, "-");
    else if (se > 0) snprintf(out, n, "%.4g ± %.2g", mean, se);
    else snprintf(out, n, "%.4g", mean);
}

/* Display width: "±" is two bytes but one column. */
static int width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void print_table(const gm_summary *s, bool all) {
    int cols[256], n_cols = 0;
    for (int j = 0; j < s->n_metrics && n_cols < 256; j++)
        if (all || is_headline(s->metrics[j])) cols[n_cols++] = j;
    if (n_cols == 0)
        for (int j = 0; j < s->n_metrics && n_cols < 256; j++) cols[n_cols++] = j;
    int w_model = 5, w_obj = 9, w[256], w_sweep[256];
    int n_sweep = s->n_sweep < 256 ? s->n_sweep : 256;
    for (int k = 0; k < n_sweep; k++) {
        w_sweep[k] = width(s->sweep_keys[k]);
        for (int i = 0; i < s->n_models; i++)
            if (width(sweep_value(s, i, k)) > w_sweep[k])
                w_sweep[k] = width(sweep_value(s, i, k));
    }
    for (int i = 0; i < s->n_models; i++) {
        w_model = w_model > width(s->models[i]) ? w_model : width(s->models[i]);
        w_obj = w_obj > width(s->objectives[i]) ? w_obj : width(s->objectives[i]);
    }
    for (int c = 0; c < n_cols; c++) {
        w[c] = width(s->metrics[cols[c]]);
        for (int i = 0; i < s->n_models; i++) {
            char cell[64];
            format_cell(cell, sizeof cell, s->mean[i * s->n_metrics + cols[c]],
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
    printf("  %-*s  %5s", w_obj, "objective", "seeds");
    for (int c = 0; c < n_cols; c++) printf("  %*s", w[c], s->metrics[cols[c]]);
    putchar('\n');
    for (int i = 0; i < s->n_models; i++) {
        printf("%-*s", w_model, s->models[i]);
        for (int k = 0; k < n_sweep; k++)
            printf("  %*s", w_sweep[k], sweep_value(s, i, k));
        printf("  %-*s  %5d", w_obj, s->objectives[i], s->n_seeds[i]);
        for (int c = 0; c < n_cols; c++) {
            char cell[64];
            format_cell(cell, sizeof cell, s->mean[i * s->n_metrics + cols[c]],
                        s->se[i * s->n_metrics + cols[c]]);
            printf("  %*s%s", w[c] - width(cell), "", cell);
        }
        putchar('\n');
    }
}

int cmd_summary(int argc, char **argv) {
    const char *path = NULL;
    bool csv = false, all = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return EXIT_OK;
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
    /* Before reading: a writer that finishes meanwhile leaves "complete". */
    bool writer = gm_runfile_has_writer(path);
    gm_summary s;
    gm_error err = {0};
    if (gm_runfile_read_summary(path, &s, &err) != GM_OK) {
        cli_error("summary", "%s", err.message);
        return EXIT_USER;
    }
    if (csv) print_csv(&s);
    else print_table(&s, all);
    if (s.status && strcmp(s.status, "running") == 0 && !writer)
        fprintf(stderr,
                "gm summary: no gm run is writing %s: it was stopped; go on "
                "with 'gm run --resume %s'\n",
                path, path);
    gm_summary_clear(&s);
    return EXIT_OK;
}
