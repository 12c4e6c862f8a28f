/* gm's own metrics: one table of every metric gm computes itself (its
 * unit, which way is better, whether it heads a model's results, and the
 * source that computes it), read by the runner (names and values), the
 * run file (units), `gm summary` and tests/test_metric_info.c, which
 * checks it against docs/metrics.md. Adding one is a row here plus the
 * code of its source. */
#include "own_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm/frechet.h"
#include "gm/kde.h"
#include "gm/manifold.h"
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
     * name it, in the table's order) into out, from n rows x [n, dim]
     * (the model's samples, or the real rows of the data's floor). */
    void (*compute)(gm_run *r, const float *x, int n, const double *row,
                    double *out, int *mode_counts);
    /* its metrics come from the rows alone (not the objective's row),
     * so they have a real-data floor */
    bool of_samples;
} source;

#define MAX_SOURCE_METRICS 5 /* the most rows one source computes */

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
static void mixture_compute(gm_run *r, const float *x, int n, const double *row,
                            double *out, int *mode_counts) {
    gm_mode_stats ms = gm_mode_stats_compute(r->data, x, n, mode_counts);
    out[0] = ms.modes_covered;
    out[1] = ms.hq_fraction;
}
static const source mixture_modes = {mixture_applies, mixture_prepare, NULL,
                                     NULL, mixture_compute, true};

/* Both KL directions by the same KDE estimator for every model, against
 * as many data rows as there are samples. */
static bool density_applies(const gm_run *r) {
    return generates(r) && gm_dataset_has_density(r->data);
}
static double log_p_data(const float *x, const void *data) {
    return gm_dataset_log_density(data, x);
}
static void kde_compute(gm_run *r, const float *x, int n, const double *row,
                        double *out, int *mode_counts) {
    int n_data =
        (int)fmin((double)gm_dataset_rows(r->data), r->e->eval_samples);
    gm_kl_estimate kl = gm_kl_estimate_kde(x, n, gm_dataset_data(r->data),
                                           n_data, r->dim, log_p_data, r->data);
    out[0] = kl.forward;
    out[1] = kl.reverse;
    out[2] = kl.bandwidth;
}
static const source kde_kl = {density_applies, NULL, NULL, NULL,
                              kde_compute, true};

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
static void log_px_compute(gm_run *r, const float *x, int n, const double *row,
                           double *out, int *mode_counts) {
    out[0] = r->eval_log_p_data - row[r->log_px_index];
}
static const source log_px_kl = {log_px_applies, log_px_prepare, NULL,
                                 NULL, log_px_compute, false};

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
/* The images come a draw at a time; the features of the first r->n_knn
 * go to r->knn_features for image_knn. */
static void image_begin(gm_run *r) { gm_image_modes_begin(r->image_modes); }
static void image_add(gm_run *r, const float *samples, int n) {
    gm_image_modes_add(r->image_modes, samples, n, r->knn_features, r->n_knn);
}
static void image_compute(gm_run *r, const float *x, int n, const double *row,
                          double *out, int *mode_counts) {
    gm_image_modes_end(r->image_modes, out, mode_counts);
    out[3] = r->classifier->accuracy;
}
static const source image_modes = {image_applies, image_prepare, image_begin,
                                   image_add,     image_compute, true};

/* The k-NN metrics and the Frechet distance use the first n_knn samples,
 * against as many reference rows: eval.knn_samples, at most eval.samples
 * and the rows of the training split and (for the floor's real rows to
 * be distinct) of the test split. */
static int knn_rows(const gm_run *r) {
    double n = fmin(r->e->eval_samples, r->e->eval_knn_samples);
    n = fmin(n, (double)gm_dataset_rows(r->data));
    if (gm_dataset_test_rows(r->data) > 0)
        n = fmin(n, (double)gm_dataset_test_rows(r->data));
    return (int)n;
}

/* The k-NN balls need more than k rows on each side. */
static bool knn_fits(const gm_run *r) { return knn_rows(r) > r->e->eval_knn_k; }

/* Precision, recall, density and coverage of a mixture's samples, in data
 * coordinates, against its first training rows. */
static bool mixture_knn_applies(const gm_run *r) {
    return mixture_applies(r) && knn_fits(r);
}
static gm_status mixture_knn_prepare(gm_run *r, gm_error *err) {
    r->n_knn = knn_rows(r);
    r->knn = gm_manifold_create(gm_dataset_data(r->data), r->n_knn, r->dim,
                                r->e->eval_knn_k, r->n_knn, err);
    return r->knn ? GM_OK : err->status;
}
static void knn_stats(gm_manifold *knn, const float *x, int n, double *out) {
    gm_manifold_stats s = gm_manifold_measure(knn, x, n);
    out[0] = s.precision;
    out[1] = s.recall;
    out[2] = s.density;
    out[3] = s.coverage;
}
static void mixture_knn_compute(gm_run *r, const float *x, int n,
                                const double *row, double *out,
                                int *mode_counts) {
    knn_stats(r->knn, x, r->n_knn, out);
}
static const source mixture_knn = {mixture_knn_applies, mixture_knn_prepare,
                                   NULL, NULL, mixture_knn_compute, true};

/* The same for images in the classifier's penultimate features, and the
 * Frechet distance of their Gaussian fits: the reference is the features
 * of the first training images. After image_modes, whose compute leaves
 * the samples' features in r->knn_features. */
static bool image_knn_applies(const gm_run *r) {
    return image_applies(r) && knn_fits(r);
}
static gm_status image_knn_prepare(gm_run *r, gm_error *err) {
    r->n_knn = knn_rows(r);
    int d = gm_image_modes_feature_dim(r->image_modes);
    size_t size = (size_t)r->n_knn * d * sizeof(float);
    float *reference = malloc(size);
    r->knn_features = malloc(size);
    if (!reference || !r->knn_features) {
        free(reference);
        return gm_error_set(err, GM_ERR_NOMEM,
                            "out of memory for the features of %d images",
                            r->n_knn);
    }
    gm_image_modes_features(r->image_modes, gm_dataset_data(r->data), r->n_knn,
                            reference);
    r->knn = gm_manifold_create(reference, r->n_knn, d, r->e->eval_knn_k,
                                r->n_knn, err);
    if (r->knn) r->frechet = gm_frechet_create(reference, r->n_knn, d, err);
    free(reference);
    return r->knn && r->frechet ? GM_OK : err->status;
}
static void image_knn_compute(gm_run *r, const float *x, int n,
                              const double *row, double *out,
                              int *mode_counts) {
    knn_stats(r->knn, r->knn_features, r->n_knn, out);
    out[4] = gm_frechet_measure(r->frechet, r->knn_features, r->n_knn);
}
/* Takes its rows as they come too: image_modes' add gives it their
 * features. */
static void image_knn_add(gm_run *r, const float *samples, int n) {
    (void)r, (void)samples, (void)n;
}
static const source image_knn = {image_knn_applies, image_knn_prepare,
                                 NULL,              image_knn_add,
                                 image_knn_compute, true};

/* Every source, in the order they prepare and compute. */
static const source *const sources[] = {&mixture_modes, &kde_kl,
                                        &log_px_kl,     &image_modes,
                                        &mixture_knn,   &image_knn};
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
    {{"precision", FRACTION, GM_BETTER_HIGHER},
     true,
     {&mixture_knn, &image_knn}},
    {{"recall", "fraction of reference rows", GM_BETTER_HIGHER},
     true,
     {&mixture_knn, &image_knn}},
    {{"density", "k-NN balls per sample / k", GM_BETTER_HIGHER},
     true,
     {&mixture_knn, &image_knn}},
    {{"coverage", "fraction of reference rows", GM_BETTER_HIGHER},
     true,
     {&mixture_knn, &image_knn}},
    {{"fd_classifier",
      "squared classifier features (not comparable with published FIDs)",
      GM_BETTER_LOWER},
     true,
     {&image_knn}},
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
        gm_status st =
            sources[s]->prepare ? sources[s]->prepare(r, err) : GM_OK;
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

/* The metrics of the sources in `which` (a bit per source) on rows x
 * [n, dim], into out in the table's order, their names into names (if not
 * NULL); returns how many. */
static int compute_sources(gm_run *r, unsigned which, const float *x, int n,
                           const double *row, double *out, int *mode_counts,
                           const gm_metric_info **infos) {
    double values[N_SOURCES][MAX_SOURCE_METRICS];
    for (int s = 0; s < N_SOURCES; s++)
        if (which >> s & 1u)
            sources[s]->compute(r, x, n, row, values[s], mode_counts);
    /* each row's value, the next of its source's, in the table's order */
    int taken[N_SOURCES] = {0}, at = 0;
    for (int i = 0; i < TABLE_SIZE; i++) {
        int s = source_of(r, &table[i]);
        if (s < 0 || !(which >> s & 1u)) continue;
        GM_ASSERT(taken[s] < MAX_SOURCE_METRICS);
        if (infos) infos[at] = &table[i].info;
        out[at++] = values[s][taken[s]++];
    }
    return at;
}

int gm_own_metrics_compute(gm_run *r, double *row, int at, int *mode_counts) {
    return at + compute_sources(r, r->own_sources, r->samples,
                                r->e->eval_samples, row, row + at, mode_counts,
                                NULL);
}

/* ---- the real-data floor ------------------------------------------------ */

/* Real images for the floor, rows [from, from + count) of eval.samples
 * into x [count, dim]: the test split's rows, then (past the split's
 * rows) images put together as the split's are, each part (a channel
 * classified apart) a random part of a random test row, drawn from rng in
 * row order. */
static void floor_images(const gm_run *r, gm_rng *rng, size_t from,
                         size_t count, float *x) {
    const gm_dataset *d = r->data;
    size_t test = gm_dataset_test_rows(d), dim = (size_t)r->dim;
    int parts = gm_image_modes_parts(r->image_modes);
    size_t part = dim / (size_t)parts;
    const float *split = gm_dataset_test_data(d);
    for (size_t i = from; i < from + count; i++) {
        float *row = x + (i - from) * dim;
        if (i < test) {
            memcpy(row, split + i * dim, dim * sizeof *x);
            continue;
        }
        for (int p = 0; p < parts; p++) {
            size_t pick = gm_rng_below(rng, test);
            size_t at = gm_rng_below(rng, (uint64_t)parts);
            memcpy(row + p * part, split + pick * dim + at * part,
                   part * sizeof *x);
        }
    }
}

/* Begins the sources of `which` that take rows as they come. */
static void begin_sources(gm_run *r, unsigned which) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((which >> s & 1u) && sources[s]->begin) sources[s]->begin(r);
}

/* Hands rows x [n, dim] to the sources of `which` that take them as they
 * come. */
static void add_to_sources(gm_run *r, unsigned which, const float *x, int n) {
    for (int s = 0; s < N_SOURCES; s++)
        if ((which >> s & 1u) && sources[s]->add) sources[s]->add(r, x, n);
}

/* Images of the floor a chunk at a time, as a sampler's draws come. */
enum { FLOOR_CHUNK = 2500 };

gm_status gm_own_metrics_floor(gm_run *r, gm_error *err) {
    unsigned which = 0;
    for (int s = 0; s < N_SOURCES; s++)
        if ((r->own_sources >> s & 1u) && sources[s]->of_samples)
            which |= 1u << s;
    r->n_floor = 0;
    if (!which) return GM_OK;
    gm_rng rng = gm_rng_stream(r->seed, "floor");
    gm_dataset *fresh = NULL;
    float *chunk = NULL;
    const float *x = NULL; /* all rows at once (mixtures) */
    int n = r->e->eval_samples;
    int *counts =
        r->k_modes ? calloc((size_t)r->k_modes, sizeof *counts) : NULL;
    if (r->k_modes && !counts)
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_status st = GM_OK;
    begin_sources(r, which);
    if (r->image_modes) {
        if (gm_dataset_test_rows(r->data) == 0) { /* no floor */
            free(counts);
            return GM_OK;
        }
        chunk = malloc((size_t)FLOOR_CHUNK * r->dim * sizeof *chunk);
        if (!chunk)
            st = gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        for (int at = 0; st == GM_OK && at < n; at += FLOOR_CHUNK) {
            int rows = n - at < FLOOR_CHUNK ? n - at : FLOOR_CHUNK;
            floor_images(r, &rng, (size_t)at, (size_t)rows, chunk);
            add_to_sources(r, which, chunk, rows);
        }
        snprintf(r->floor_rows, sizeof r->floor_rows,
                 "%d images of the test split (beyond its %zu rows, "
                 "restacked from its images), against the first %d "
                 "training images",
                 n, gm_dataset_test_rows(r->data), r->n_knn);
    } else {
        /* a fresh sample of the mixture, as large as the training set */
        fresh = gm_dataset_create(&r->e->dataset, &rng, err);
        if (!fresh) st = err->status;
        else if (gm_dataset_rows(fresh) < (size_t)n)
            which = 0; /* too few rows to stand for the samples */
        if (st == GM_OK && which) {
            x = gm_dataset_data(fresh);
            add_to_sources(r, which, x, n);
            snprintf(r->floor_rows, sizeof r->floor_rows,
                     "%d rows of a fresh sample of the mixture, against the "
                     "first %d training rows",
                     n, r->n_knn);
        }
    }
    if (st == GM_OK && which)
        r->n_floor = compute_sources(r, which, x, n, NULL, r->floor_values,
                                     counts, r->floor_infos);
    free(chunk);
    free(counts);
    gm_dataset_free(fresh);
    return st;
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
