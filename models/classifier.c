/* classifier: a network mapping one data row (an image, a point) to the
 * logits of its K classes, K the dataset's (gm_dataset_classes), trained
 * by softmax cross-entropy on the batch's labels. Held out, each
 * evaluation reports the accuracy and the cross-entropy over the whole
 * test split. It does not generate: it has no sampler, so gm skips the
 * sample-based metrics and `gm sample` refuses it. Its run file is what
 * eval.classifier reads to count the modes of a generative model's
 * samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gm/data.h"
#include "gm/objective.h"
#include "gm/ops.h"
#include "objectives.h"

/* Held-out rows per forward of the evaluation graph. */
#define EVAL_CHUNK 250

static const char *const roles[] = {"classifier"};
/* x -> one logit per class */
static const gm_role_shape shapes[] = {
    {.in = {.data = 1}, .out = {.classes = 1}}};
static const char *const eval_names[] = {"accuracy_eval", "xent_eval"};
static const char *const headline[] = {"accuracy_eval", "xent_eval",
                                       "loss_classifier"};
static const gm_metric_info metrics[] = {
    {"accuracy_eval", "fraction of rows", GM_BETTER_HIGHER},
    {"xent_eval", GM_NATS_PER_EXAMPLE, GM_BETTER_LOWER}};

typedef struct classifier_eval {
    gm_graph *graph; /* evaluates: batch norm reads its running statistics */
    gm_node *x, *logits;
    int chunk, classes, dim;
} classifier_eval;

static void eval_free(void *p) {
    classifier_eval *e = p;
    gm_graph_free(e->graph);
    free(e);
}

/* Adds the cross-entropy (nats) and the correct predictions of `rows`
 * rows of logits [rows, classes] against labels. */
static void score(const float *logits, const int *labels, int rows, int classes,
                  double *xent, long *correct) {
    for (int r = 0; r < rows; r++) {
        const float *z = logits + (size_t)r * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (z[c] > z[best]) best = c;
        double sum = 0.0;
        for (int c = 0; c < classes; c++)
            sum += exp((double)z[c] - z[best]);
        *xent += z[best] + log(sum) - z[labels[r]];
        *correct += best == labels[r];
    }
}

static gm_status classifier_evaluate(void *state, const float *data,
                                     const int *labels, int n, double *out,
                                     gm_error *err) {
    classifier_eval *e = state;
    if (!labels)
        return gm_error_set(err, GM_ERR_INVALID,
                            "classifier: the held-out rows have no labels");
    if (n < 1 || !e->graph)
        return gm_error_set(err, GM_ERR_INVALID,
                            "classifier: %d held-out rows (built for %d)", n,
                            e->graph ? e->chunk : 0);
    double xent = 0.0;
    long correct = 0;
    float *x = gm_node_data(e->x);
    for (int at = 0; at < n; at += e->chunk) {
        /* the last chunk's tail keeps old rows: each row is independent */
        int rows = n - at < e->chunk ? n - at : e->chunk;
        memcpy(x, data + (size_t)at * e->dim,
               (size_t)rows * e->dim * sizeof *x);
        gm_graph_forward(e->graph);
        score(gm_node_data(e->logits), labels + at, rows, e->classes, &xent,
              &correct);
    }
    out[0] = (double)correct / n;
    out[1] = xent / n;
    return GM_OK;
}

/* The evaluation graph over chunks of the held-out rows (none when the
 * run evaluates no rows). */
static gm_status eval_build(gm_model *m, const gm_build_ctx *ctx,
                            const gm_net *net, int classes, gm_error *err) {
    classifier_eval *e = calloc(1, sizeof *e);
    if (!e) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    e->classes = classes;
    e->dim = ctx->data_dim;
    e->chunk = ctx->eval_rows < EVAL_CHUNK ? ctx->eval_rows : EVAL_CHUNK;
    gm_status s = GM_OK;
    if (e->chunk > 0) {
        e->graph = gm_graph_create("classifier_eval");
        if (!e->graph) s = gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    }
    if (s == GM_OK && e->graph) {
        gm_graph_set_training(e->graph, false);
        gm_graph_set_forward_only(e->graph);
        e->x = gm_input(e->graph, "x", (int[]){e->chunk, e->dim}, 2);
        e->logits = gm_node_keep(gm_net_forward(e->graph, net, e->x));
        s = gm_graph_compile(e->graph, err);
    }
    if (s != GM_OK) {
        eval_free(e);
        return s;
    }
    gm_hooks hooks = {.state = e,
                      .free_state = eval_free,
                      .evaluate = classifier_evaluate,
                      .eval_metrics = eval_names,
                      .n_eval_metrics = 2};
    return gm_model_set_hooks(m, &hooks, err);
}

static gm_status classifier_build(gm_model *m, const gm_build_ctx *ctx,
                                  gm_error *err) {
    int classes = ctx->data ? gm_dataset_classes(ctx->data) : 0;
    if (classes < 2)
        return gm_error_set(err, GM_ERR_INVALID,
                            "model '%s': objective classifier needs a "
                            "dataset with at least 2 classes; dataset %s has "
                            "%s",
                            ctx->spec->name,
                            ctx->data ? gm_dataset_name(ctx->data) : "(none)",
                            classes ? "1" : "no labels");
    gm_net net;
    gm_params *p = gm_model_network(m, ctx, "classifier", ctx->data_dim,
                                    classes, &net, err);
    if (!p) return err->status;
    int b = ctx->batch_size;
    gm_graph *g = gm_graph_create("classifier");
    if (!g) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_node *x = gm_input(g, "x", (int[]){b, ctx->data_dim}, 2);
    gm_node *labels = gm_input(g, "labels", (int[]){b}, 1);
    gm_node *logits = gm_net_forward(g, &net, x);
    gm_node *loss =
        gm_mean(g, gm_softmax_cross_entropy(g, logits, labels), GM_AXIS_ALL);
    gm_status s = gm_model_add_phase(m, "classifier", g, loss, &p, 1, 1, err);
    /* read back by eval.classifier (gm/image_modes.h) */
    if (s == GM_OK) s = gm_model_set_attr(m, "classes", classes, err);
    if (s != GM_OK) return s;
    return eval_build(m, ctx, &net, classes, err);
}

const gm_objective gm_objective_classifier = {
    .abi = GM_OBJECTIVE_ABI,
    .schema = {.name = "classifier",
               .summary = "softmax cross-entropy classifier of the dataset's "
                          "labels (no sampler); counts image modes for "
                          "eval.classifier",
               .roles = roles,
               .n_roles = 1,
               .shapes = shapes,
               .headline = headline,
               .n_headline = sizeof headline / sizeof headline[0],
               .metrics = metrics,
               .n_metrics = sizeof metrics / sizeof metrics[0],
               .classifier_role = "classifier",
               .accuracy_metric = "accuracy_eval"},
    .build = classifier_build,
};
