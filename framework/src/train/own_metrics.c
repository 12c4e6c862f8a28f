/* gm's own metrics: one table of every metric gm computes itself (its
 * unit, which way is better, whether it heads a model's results, and the
 * source that computes it), read by the runner (names and values), the
 * run file (units), `gm summary` and tests/test_metric_info.c, which
 * checks it against docs/metrics.md. Adding one is a row here plus the
 * code of its source. */
#include "own_metrics.h"

#include <math.h>
#include <string.h>

#include "gm/kde.h"
#include "gm/metric_info.h"
#include "gm/metrics.h"

/* A source of gm's own metrics: when it applies to a run, what it
 * prepares then, and how it computes its metrics at each evaluation. */
typedef struct source {
    bool (*applies)(const gm_run *r);
    gm_status (*prepare)(gm_run *r, gm_error *err); /* NULL: nothing */
    /* A source that takes the evaluation's samples a draw at a time:
     * begin, then add for each draw (n rows); NULL: compute reads all of
     * them in r->samples, which the run then keeps. */
    void (*begin)(gm_run *r);
    void (*add)(gm_run *r, const float *samples, int n);
    /* Writes one value per metric of the source (the table's rows that
     * name it, in the table's order) into out. */
    void (*compute)(gm_run *r, const double *row, double *out,
                    int *mode_counts);
} source;

#define MAX_SOURCE_METRICS 4 /* the most rows one source computes */

/* ---- the sources -------------------------------------------------------- */

static bool generates(const gm_run *r) { return r->model->samples != NULL; }

/* A mixture's modes: high-quality samples nearest each mode (VEEGAN,
 * PacGAN). */
static bool mixture_applies(const gm_run *r) {
    return generates(r) && !r->classifier && gm_dataset_modes(r->data) > 0;
}
static gm_status mixture_prepare(gm_run *r, gm_error *err) {
    r->k_modes = gm_dataset_modes(r->data);
    return GM_OK;
}
static void mixture_compute(gm_run *r, const double *row, double *out,
                            int *mode_counts) {
    gm_mode_stats ms = gm_mode_stats_compute(r->data, r->samples,
                                             r->e->eval_samples, mode_counts);
    out[0] = ms.modes_covered;
    out[1] = ms.hq_fraction;
}
static const source mixture_modes = {mixture_applies, mixture_prepare, NULL,
                                     NULL, mixture_compute};

/* Both KL directions by the same KDE estimator for every model, against
 * as many data rows as there are samples. */
static bool density_applies(const gm_run *r) {
    return generates(r) && gm_dataset_has_density(r->data);
}
static double log_p_data(const float *x, const void *data) {
    return gm_dataset_log_density(data, x);
}
static void kde_compute(gm_run *r, const double *row, double *out,
                        int *mode_counts) {
    int n_data =
        (int)fmin((double)gm_dataset_rows(r->data), r->e->eval_samples);
    gm_kl_estimate kl = gm_kl_estimate_kde(r->samples, r->e->eval_samples,
                                           gm_dataset_data(r->data), n_data,
                                           r->dim, log_p_data, r->data);
    out[0] = kl.forward;
    out[1] = kl.reverse;
    out[2] = kl.bandwidth;
}
static const source kde_kl = {density_applies, NULL, NULL, NULL,
                              kde_compute};

/* The forward KL with the objective's own density estimate
 * (gm_objective_schema.log_px) on the held-out rows. */
static int log_px_index(const gm_run *r) {
    const char *log_px = r->objective->schema.log_px;
    const gm_model *m = r->model;
    for (int i = 0; log_px && i < m->n_eval_metrics; i++)
        if (strcmp(m->eval_names[i], log_px) == 0)
            return m->n_train_metrics + i;
    return -1;
}
static bool log_px_applies(const gm_run *r) {
    return density_applies(r) && log_px_index(r) >= 0;
}
/* Mean log p_data over the held-out rows: the same at every evaluation. */
static gm_status log_px_prepare(gm_run *r, gm_error *err) {
    double sum = 0.0;
    for (int i = 0; i < r->n_held_out; i++)
        sum +=
            gm_dataset_log_density(r->data, r->held_out + (size_t)i * r->dim);
    r->eval_log_p_data = sum / r->n_held_out;
    r->log_px_index = log_px_index(r);
    return GM_OK;
}
static void log_px_compute(gm_run *r, const double *row, double *out,
                           int *mode_counts) {
    out[0] = r->eval_log_p_data - row[r->log_px_index];
}
static const source log_px_kl = {log_px_applies, log_px_prepare, NULL,
                                 NULL, log_px_compute};

/* Images labelled by eval.classifier (Stacked MNIST's protocol). */
static bool image_applies(const gm_run *r) {
    return generates(r) && r->classifier;
}
static gm_status image_prepare(gm_run *r, gm_error *err) {
    r->image_modes = gm_image_modes_create(r->classifier, r->data, err);
    if (!r->image_modes) return err->status;
    r->k_modes = gm_image_modes_count(r->image_modes);
    return gm_model_set_attr(r->model, "classifier_accuracy",
                             r->classifier->accuracy, err);
}
static void image_begin(gm_run *r) { gm_image_modes_begin(r->image_modes); }
static void image_add(gm_run *r, const float *samples, int n) {
    gm_image_modes_add(r->image_modes, samples, n);
}
static void image_compute(gm_run *r, const double *row, double *out,
                          int *mode_counts) {
    gm_image_modes_end(r->image_modes, out, mode_counts);
    out[3] = r->classifier->accuracy;
}
static const source image_modes = {image_applies, image_prepare, image_begin,
                                   image_add, image_compute};

/* Every source, in the order they prepare and compute. */
static const source *const sources[] = {&mixture_modes, &kde_kl, &log_px_kl,
                                        &image_modes};
enum { N_SOURCES = sizeof sources / sizeof sources[0] };

/* ---- the table ---------------------------------------------------------- */

typedef struct own_metric {
    gm_metric_info info;
    /* a sample-based headline metric (gm/metric_info.h), in this order */
    bool headline;
    /* the sources computing it (a run has at most one of them); none:
     * the model's (the phases' losses) */
    const source *from[2];
} own_metric;

#define NATS "nats"
#define FRACTION "fraction of samples"

/* In docs/metrics.md's order. */
static const own_metric table[] = {
    {{"loss_<phase>", "the objective's loss", GM_BETTER_LOWER}, false, {0}},
    {{"modes_covered", "modes", GM_BETTER_HIGHER},
     true,
     {&mixture_modes, &image_modes}},
    {{"hq_fraction", FRACTION, GM_BETTER_HIGHER}, true, {&mixture_modes}},
    {{"kl_data_model", NATS, GM_BETTER_LOWER}, true, {&kde_kl}},
    {{"kl_model_data", NATS, GM_BETTER_LOWER}, true, {&kde_kl}},
    {{"kde_bandwidth", "data units", GM_BETTER_NEITHER}, false, {&kde_kl}},
    {{"kl_data_model_iwae", NATS, GM_BETTER_LOWER}, false, {&log_px_kl}},
    {{"kl_modes", NATS, GM_BETTER_LOWER}, true, {&image_modes}},
    {{"mode_confidence", "probability", GM_BETTER_HIGHER},
     false,
     {&image_modes}},
    {{"classifier_accuracy", "fraction of rows", GM_BETTER_NEITHER},
     false,
     {&image_modes}},
};

enum { TABLE_SIZE = sizeof table / sizeof table[0] };

static bool computed_by(const own_metric *m, const source *s) {
    return m->from[0] == s || m->from[1] == s;
}

/* The source of row m that applies to the run (r->own_sources), or -1. */
static int source_of(const gm_run *r, const own_metric *m) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((r->own_sources >> s & 1u) && computed_by(m, sources[s])) return s;
    return -1;
}

gm_status gm_own_metrics_setup(gm_run *r, gm_error *err) {
    r->own_sources = 0;
    r->log_px_index = -1;
    for (int s = 0; s < N_SOURCES; s++) {
        if (!sources[s]->applies(r)) continue;
        r->own_sources |= 1u << s;
        gm_status st = sources[s]->prepare ? sources[s]->prepare(r, err) : GM_OK;
        if (st != GM_OK) return st;
    }
    for (int i = 0; i < TABLE_SIZE; i++) {
        if (source_of(r, &table[i]) < 0) continue;
        GM_ASSERT(r->n_logged < GM_RUN_MAX_LOGGED);
        r->infos[r->n_logged] = &table[i].info;
        r->names[r->n_logged++] = table[i].info.name;
    }
    return GM_OK;
}

bool gm_own_metrics_need_all_samples(const gm_run *r) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((r->own_sources >> s & 1u) && !sources[s]->add) return true;
    return false;
}

void gm_own_metrics_begin(gm_run *r) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((r->own_sources >> s & 1u) && sources[s]->begin)
            sources[s]->begin(r);
}

void gm_own_metrics_add(gm_run *r, const float *samples, int n) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((r->own_sources >> s & 1u) && sources[s]->add)
            sources[s]->add(r, samples, n);
}

int gm_own_metrics_compute(gm_run *r, double *row, int at, int *mode_counts) {
    double values[N_SOURCES][MAX_SOURCE_METRICS];
    for (int s = 0; s < N_SOURCES; s++)
        if (r->own_sources >> s & 1u)
            sources[s]->compute(r, row, values[s], mode_counts);
    /* each row's value, the next of its source's, in the table's order */
    int taken[N_SOURCES] = {0};
    for (int i = 0; i < TABLE_SIZE; i++) {
        int s = source_of(r, &table[i]);
        if (s < 0) continue;
        GM_ASSERT(taken[s] < MAX_SOURCE_METRICS);
        row[at++] = values[s][taken[s]++];
    }
    return at;
}

/* ---- lookups ------------------------------------------------------------ */

const gm_metric_info *gm_metric_info_find(const char *name) {
    if (strncmp(name, "loss_", 5) == 0) name = "loss_<phase>";
    for (int i = 0; i < TABLE_SIZE; i++)
        if (strcmp(table[i].info.name, name) == 0) return &table[i].info;
    return NULL;
}

int gm_metric_info_count(void) { return TABLE_SIZE; }

const gm_metric_info *gm_metric_info_at(int index) {
    return index >= 0 && index < TABLE_SIZE ? &table[index].info : NULL;
}

const gm_metric_info *gm_metric_info_of(const gm_objective_schema *schema,
                                        const char *name) {
    for (int i = 0; schema && i < schema->n_metrics; i++)
        if (strcmp(schema->metrics[i].name, name) == 0)
            return &schema->metrics[i];
    return gm_metric_info_find(name);
}

const char *gm_better_name(gm_better better) {
    return better == GM_BETTER_HIGHER  ? "higher"
           : better == GM_BETTER_LOWER ? "lower"
                                       : "neither";
}

bool gm_metric_is_sample_headline(const char *name) {
    for (int i = 0; i < TABLE_SIZE; i++)
        if (table[i].headline && strcmp(table[i].info.name, name) == 0)
            return true;
    return false;
}

static int add_once(const char *out[GM_MAX_HEADLINE], int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(out[i], name) == 0) return n;
    if (n < GM_MAX_HEADLINE) out[n++] = name;
    return n;
}

int gm_headline_metrics(const gm_objective_schema *schema,
                        const char *out[GM_MAX_HEADLINE]) {
    int n = 0;
    for (int i = 0; schema && i < schema->n_headline; i++)
        n = add_once(out, n, schema->headline[i]);
    for (int i = 0; i < TABLE_SIZE; i++)
        if (table[i].headline) n = add_once(out, n, table[i].info.name);
    return n;
}
