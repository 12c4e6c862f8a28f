/* Image modes: generated images labelled by a trained classifier, their
 * class histogram against the data's, and the classifier's penultimate
 * features of each image (gm/image_modes.h). */
#include "gm/image_modes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gm/nn.h"

/* Images per forward of the classifier's graph. */
#define CHUNK 250

struct gm_image_modes {
    gm_params *params, *stats;
    gm_net net;
    gm_graph *graph;
    gm_node *x, *features, *logits; /* features: the last linear's input */
    int classes, parts, part_dim; /* parts: classified slices per image */
    int feature_dim;              /* per part */
    int modes;
    long *data_counts, *gen_counts; /* [modes] */
    int *labels;                    /* [CHUNK] */
    double confidence; /* the measurement's sum so far */
    long n;            /* and its images */
};

gm_class_stats gm_class_stats_compute(const long *gen, const long *data,
                                      int k) {
    gm_class_stats s = {0, 0.0};
    double n_gen = 0.0, n_data = k; /* add-one smoothing */
    for (int i = 0; i < k; i++) {
        n_gen += (double)gen[i];
        n_data += (double)data[i];
    }
    for (int i = 0; i < k && n_gen > 0; i++) {
        if (gen[i] == 0) continue;
        s.modes_covered++;
        double p = (double)gen[i] / n_gen, q = (data[i] + 1.0) / n_data;
        s.kl += p * log(p / q);
    }
    return s;
}

void gm_image_modes_free(gm_image_modes *m) {
    if (!m) return;
    gm_graph_free(m->graph);
    gm_params_free(m->params);
    gm_params_free(m->stats);
    free(m->data_counts);
    free(m->gen_counts);
    free(m->labels);
    free(m);
}

/* The dataset's images are the classifier's, or stacks of them. */
static gm_status check_fit(const gm_image_classifier *c, const gm_dataset *d,
                           int *parts, gm_error *err) {
    int shape[3] = {0};
    bool image = gm_dataset_shape(d, shape) == 3;
    if (!image || shape[1] != c->shape[1] || shape[2] != c->shape[2] ||
        shape[0] % c->shape[0] != 0)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "eval.classifier: %s's model '%s' classifies "
                            "images [%d, %d, %d]; dataset %s has rows [%d%s",
                            c->path, c->model, c->shape[0], c->shape[1],
                            c->shape[2], gm_dataset_name(d),
                            image ? shape[0] : gm_dataset_dim(d),
                            image ? "" : "] (not images)");
    *parts = shape[0] / c->shape[0];
    double modes = pow(c->classes, *parts);
    if (gm_dataset_classes(d) == 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "eval.classifier: dataset %s has no classes to "
                            "compare the samples' with",
                            gm_dataset_name(d));
    if (modes != gm_dataset_classes(d))
        return gm_error_set(err, GM_ERR_INVALID,
                            "eval.classifier: %s's model '%s' tells %d "
                            "classes per image of %d channels, %.0f for "
                            "these; dataset %s has %d",
                            c->path, c->model, c->classes, c->shape[0], modes,
                            gm_dataset_name(d), gm_dataset_classes(d));
    return GM_OK;
}

/* The network split at the input of its last linear layer: trunk gives
 * the penultimate features, head the logits from them (the same ops in
 * the same order as the whole network). False if the last linear layer
 * is the first layer: there are no penultimate features. */
static bool split_at_last_linear(const gm_net *net, gm_net *trunk,
                                 gm_net *head) {
    *trunk = *net;
    *head = *net;
    if (net->n_net == 0) { /* an MLP: Linear layers */
        if (net->n_layers < 2) return false;
        trunk->n_layers = net->n_layers - 1;
        trunk->out = net->layers[net->n_layers - 2].out;
        trunk->out_activation = net->activation;
        head->layers[0] = net->layers[net->n_layers - 1];
        head->n_layers = 1;
        head->in = trunk->out;
        return true;
    }
    int last = net->n_net - 1;
    while (last >= 0 && net->net[last].spec.kind != GM_LAYER_LINEAR) last--;
    if (last < 1) return false;
    trunk->n_net = last;
    trunk->out = net->net[last].in_shape[0];
    head->n_net = net->n_net - last;
    memmove(head->net, net->net + last, (size_t)head->n_net * sizeof *net->net);
    head->in = trunk->out;
    return true;
}

/* The classifier's network with its checkpoint's parameters, in a graph
 * that evaluates (batch norm with its running statistics). */
static gm_status build_network(gm_image_modes *m, const gm_image_classifier *c,
                               gm_error *err) {
    gm_net_spec spec = c->net;
    spec.out = c->classes;
    /* the groups and records the classifier's model saved: its role's */
    char stats[GM_NAME_MAX], record[GM_NAME_MAX + 8];
    snprintf(stats, sizeof stats, "%s.stats", c->role);
    m->params = gm_params_create(c->role);
    m->stats = gm_net_has_stats(&spec) ? gm_params_create(stats) : NULL;
    if (!m->params || (gm_net_has_stats(&spec) && !m->stats))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_rng init = gm_rng_stream(0, "init"); /* overwritten by the load */
    gm_status s = gm_net_init(&m->net, m->params, m->stats, c->role,
                              m->part_dim, &spec, &init, err);
    snprintf(record, sizeof record, "params/%s", c->role);
    if (s == GM_OK)
        s = gm_params_load_state(m->params, c->params, record, err);
    snprintf(record, sizeof record, "params/%s", stats);
    if (s == GM_OK && m->stats)
        s = gm_params_load_state(m->stats, c->params, record, err);
    if (s != GM_OK) return s;
    m->graph = gm_graph_create("image_classifier");
    if (!m->graph) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_graph_set_training(m->graph, false);
    gm_graph_set_forward_only(m->graph);
    gm_net trunk, head;
    if (!split_at_last_linear(&m->net, &trunk, &head))
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': its network's last linear layer is "
                            "its first, so it has no penultimate features "
                            "for the k-NN metrics and the Frechet distance",
                            c->model);
    m->feature_dim = trunk.out;
    m->x = gm_input(m->graph, "x", (int[]){CHUNK, m->part_dim}, 2);
    /* both read after the forward-only graph has run */
    m->features = gm_node_keep(gm_net_forward(m->graph, &trunk, m->x));
    m->logits = gm_node_keep(gm_net_forward(m->graph, &head, m->features));
    return gm_graph_compile(m->graph, err);
}

gm_image_modes *gm_image_modes_create(const gm_image_classifier *c,
                                      const gm_dataset *d, gm_error *err) {
    int parts = 0;
    if (check_fit(c, d, &parts, err) != GM_OK) return NULL;
    gm_image_modes *m = calloc(1, sizeof *m);
    if (!m) {
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->classes = c->classes;
    m->parts = parts;
    m->part_dim = c->shape[0] * c->shape[1] * c->shape[2];
    m->modes = gm_dataset_classes(d);
    m->data_counts = calloc((size_t)m->modes, sizeof *m->data_counts);
    m->gen_counts = calloc((size_t)m->modes, sizeof *m->gen_counts);
    m->labels = calloc(CHUNK, sizeof *m->labels);
    gm_status s = m->data_counts && m->gen_counts && m->labels
                      ? build_network(m, c, err)
                      : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    if (s != GM_OK) {
        gm_error inner = *err;
        gm_error_set(err, inner.status, "eval.classifier: %s: %s", c->path,
                     inner.message);
        gm_image_modes_free(m);
        return NULL;
    }
    const int *labels = gm_dataset_labels(d);
    for (size_t i = 0; i < gm_dataset_rows(d); i++)
        m->data_counts[labels[i]]++;
    return m;
}

/* Labels rows images [rows, parts * part_dim] part by part into
 * m->labels and, unless features is NULL, writes the first n_features
 * rows' features [n_features, parts * feature_dim] (part by part); returns
 * the sum of the confidences. */
static double classify(gm_image_modes *m, const float *images, int rows,
                       float *features, int n_features) {
    float *x = gm_node_data(m->x);
    const float *logits = gm_node_data(m->logits);
    const float *feature = gm_node_data(m->features);
    size_t feature_row = (size_t)m->parts * m->feature_dim;
    size_t dim = (size_t)m->parts * m->part_dim;
    double confidence = 0.0;
    memset(m->labels, 0, CHUNK * sizeof *m->labels);
    for (int p = 0; p < m->parts; p++) {
        for (int i = 0; i < rows; i++)
            memcpy(x + (size_t)i * m->part_dim,
                   images + i * dim + (size_t)p * m->part_dim,
                   (size_t)m->part_dim * sizeof *x);
        gm_graph_forward(m->graph);
        for (int i = 0; features && i < n_features && i < rows; i++)
            memcpy(features + i * feature_row + (size_t)p * m->feature_dim,
                   feature + (size_t)i * m->feature_dim,
                   (size_t)m->feature_dim * sizeof *features);
        for (int i = 0; i < rows; i++) {
            const float *z = logits + (size_t)i * m->classes;
            int best = 0;
            for (int k = 1; k < m->classes; k++)
                if (z[k] > z[best]) best = k;
            double sum = 0.0; /* 1 / sum is the largest softmax probability */
            for (int k = 0; k < m->classes; k++)
                sum += exp((double)z[k] - z[best]);
            confidence += 1.0 / sum;
            m->labels[i] = m->labels[i] * m->classes + best;
        }
    }
    return confidence;
}

int gm_image_modes_count(const gm_image_modes *m) { return m->modes; }

int gm_image_modes_parts(const gm_image_modes *m) { return m->parts; }

int gm_image_modes_feature_dim(const gm_image_modes *m) {
    return m->parts * m->feature_dim;
}

void gm_image_modes_begin(gm_image_modes *m) {
    memset(m->gen_counts, 0, (size_t)m->modes * sizeof *m->gen_counts);
    m->confidence = 0.0;
    m->n = 0;
}

void gm_image_modes_add(gm_image_modes *m, const float *images, int n,
                        float *features, int n_features) {
    size_t dim = (size_t)m->parts * m->part_dim;
    size_t feature_row = (size_t)gm_image_modes_feature_dim(m);
    for (int at = 0; at < n; at += CHUNK) {
        int rows = n - at < CHUNK ? n - at : CHUNK;
        /* the features of rows [m->n + at, n_features) of those added */
        int first = m->n + at;
        bool keep = features && first < n_features;
        m->confidence += classify(m, images + (size_t)at * dim, rows,
                                  keep ? features + first * feature_row : NULL,
                                  n_features - first);
        for (int i = 0; i < rows; i++)
            m->gen_counts[m->labels[i]]++;
    }
    m->n += n;
}

void gm_image_modes_end(gm_image_modes *m, double out[3], int *counts) {
    gm_class_stats s =
        gm_class_stats_compute(m->gen_counts, m->data_counts, m->modes);
    out[0] = s.modes_covered;
    out[1] = s.kl;
    out[2] = m->confidence / ((double)m->n * m->parts);
    for (int i = 0; counts && i < m->modes; i++)
        counts[i] = (int)m->gen_counts[i];
}

void gm_image_modes_features(gm_image_modes *m, const float *images, int n,
                             float *features) {
    size_t dim = (size_t)m->parts * m->part_dim;
    size_t feature_row = (size_t)gm_image_modes_feature_dim(m);
    for (int at = 0; at < n; at += CHUNK) {
        int rows = n - at < CHUNK ? n - at : CHUNK;
        classify(m, images + (size_t)at * dim, rows,
                 features + at * feature_row, rows);
    }
}

void gm_image_modes_measure(gm_image_modes *m, const float *images, int n,
                            double out[3], int *counts, float *features,
                            int n_features) {
    gm_image_modes_begin(m);
    gm_image_modes_add(m, images, n, features, n_features);
    gm_image_modes_end(m, out, counts);
}
