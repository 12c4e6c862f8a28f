/* gm run's progress output (run_progress.h). */
#include "run_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Metrics the terminal line has room for, and a pipe's line (about 150
 * characters: the file has every metric). */
enum { LIVE_METRICS = 3, PIPE_METRICS = 6 };

bool progress_view_init(progress_view *v, const gm_experiment *e,
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

void progress_view_clear(progress_view *v) {
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

/* Where a resumed run goes on from, on a line of its own. */
static void report_resumed(const progress_view *v, const gm_progress *p) {
    fprintf(stderr, "%sgm run: [%d/%d] %s seed %llu ", v->live ? "\r\033[K" : "",
            p->run_index + 1, p->n_runs, p->model, (unsigned long long)p->seed);
    if (p->step > 0)
        fprintf(stderr, "goes on from step %ld of %ld (its last checkpoint)\n",
                p->step, p->steps);
    else
        fprintf(stderr, "starts over: it has no checkpoint\n");
}

void progress_view_report(const gm_progress *p, void *ctx) {
    progress_view *v = ctx;
    if (!v->quiet && p->resumed) report_resumed(v, p);
    if (v->quiet || p->resumed || (!v->live && !p->evaluation)) return;
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
