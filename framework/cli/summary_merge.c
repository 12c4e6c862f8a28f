/* Several run files' summaries as one table (summary_merge.h). */
#include "summary_merge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The index of name among names[n], or -1. */
static int find(const char **names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* The union of each file's names (metrics or swept keys) in order of
 * first appearance, into names (room for every file's), and where each
 * file has each, into at[n_files, union]. Returns the union's size. */
static int merge_names(const summary_file *files, int n_files,
                       char **(*names_of)(const gm_summary *),
                       int (*count_of)(const gm_summary *), const char **names,
                       int **at) {
    int n = 0;
    for (int f = 0; f < n_files; f++) {
        char **own = names_of(&files[f].s);
        for (int j = 0; j < count_of(&files[f].s); j++)
            if (find(names, n, own[j]) < 0) names[n++] = own[j];
    }
    *at = malloc(((size_t)n_files * (size_t)n + 1) * sizeof **at);
    if (!*at) return -1;
    for (int f = 0; f < n_files; f++)
        for (int c = 0; c < n; c++)
            (*at)[f * n + c] = find((const char **)names_of(&files[f].s),
                                    count_of(&files[f].s), names[c]);
    return n;
}

static char **metrics_of(const gm_summary *s) { return s->metrics; }
static int n_metrics_of(const gm_summary *s) { return s->n_metrics; }
static char **sweep_keys_of(const gm_summary *s) { return s->sweep_keys; }
static int n_sweep_of(const gm_summary *s) { return s->n_sweep; }

bool summary_merge_make(summary_merge *m, const summary_file *files,
                        int n_files) {
    memset(m, 0, sizeof *m);
    m->files = files;
    m->n_files = n_files;
    size_t rows = 0, metrics = 0, keys = 0;
    for (int f = 0; f < n_files; f++) {
        rows += (size_t)files[f].s.n_models;
        metrics += (size_t)files[f].s.n_metrics;
        keys += (size_t)files[f].s.n_sweep;
    }
    m->row_file = malloc((rows + 1) * sizeof *m->row_file);
    m->row_model = malloc((rows + 1) * sizeof *m->row_model);
    m->metrics = malloc((metrics + 1) * sizeof *m->metrics);
    m->sweep_keys = malloc((keys + 1) * sizeof *m->sweep_keys);
    if (!m->row_file || !m->row_model || !m->metrics || !m->sweep_keys) {
        summary_merge_clear(m);
        return false;
    }
    for (int f = 0; f < n_files; f++)
        for (int i = 0; i < files[f].s.n_models; i++) {
            m->row_file[m->n_rows] = f;
            m->row_model[m->n_rows++] = i;
        }
    m->n_metrics = merge_names(files, n_files, metrics_of, n_metrics_of,
                               m->metrics, &m->metric_at);
    m->n_sweep = merge_names(files, n_files, sweep_keys_of, n_sweep_of,
                             m->sweep_keys, &m->sweep_at);
    if (m->n_metrics < 0 || m->n_sweep < 0) {
        summary_merge_clear(m);
        return false;
    }
    return true;
}

void summary_merge_clear(summary_merge *m) {
    free(m->row_file);
    free(m->row_model);
    free(m->metrics);
    free(m->metric_at);
    free(m->sweep_keys);
    free(m->sweep_at);
    memset(m, 0, sizeof *m);
}

int summary_merge_column(const summary_merge *m, int file, int c) {
    return m->metric_at[file * m->n_metrics + c];
}

void summary_merge_estimate(const summary_merge *m, int r, int c, double *mean,
                            double *se) {
    const gm_summary *s = &m->files[m->row_file[r]].s;
    int j = summary_merge_column(m, m->row_file[r], c);
    if (j < 0) {
        *mean = *se = NAN;
        return;
    }
    size_t at = (size_t)m->row_model[r] * (size_t)s->n_metrics + (size_t)j;
    *mean = s->mean[at];
    *se = s->se[at];
}

const char *summary_merge_sweep_value(const summary_merge *m, int r, int k) {
    const gm_summary *s = &m->files[m->row_file[r]].s;
    int j = m->sweep_at[m->row_file[r] * m->n_sweep + k];
    return j < 0
               ? ""
               : s->sweep_values[(size_t)m->row_model[r] * (size_t)s->n_sweep +
                                 (size_t)j];
}
