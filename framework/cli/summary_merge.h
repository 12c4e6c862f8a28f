/* Several run files' summaries as one table for gm summary: a row per
 * (file, model) in the order given, a column per metric and per swept key
 * that any of the files has, in order of first appearance. */
#ifndef GM_CLI_SUMMARY_MERGE_H
#define GM_CLI_SUMMARY_MERGE_H

#include <stdbool.h>

#include "gm/runfile.h"

typedef struct summary_file {
    const char *path;
    gm_summary s;
} summary_file;

typedef struct summary_merge {
    const summary_file *files; /* [n_files], borrowed */
    int n_files;
    bool by_file; /* label each row with its file: several were asked for */
    int n_rows;   /* the files' models, file by file */
    int *row_file, *row_model;
    int n_metrics;
    const char **metrics; /* borrowed from the files */
    int *metric_at;       /* [n_files, n_metrics]: the file's column or -1 */
    int n_sweep;
    const char **sweep_keys;
    int *sweep_at; /* [n_files, n_sweep] */
} summary_merge;

/* False when out of memory. */
bool summary_merge_make(summary_merge *m, const summary_file *files,
                        int n_files);
void summary_merge_clear(summary_merge *m);

/* The file's column of merged metric c, or -1. */
int summary_merge_column(const summary_merge *m, int file, int c);

/* Merged metric c of row r: mean and standard error, NaN where the
 * row's model has no such metric. */
void summary_merge_estimate(const summary_merge *m, int r, int c, double *mean,
                            double *se);

/* Row r's value of swept key k as text, "" where its model does not
 * sweep it. */
const char *summary_merge_sweep_value(const summary_merge *m, int r, int k);

#endif
