/* gm/image_modes.h: the modes of generated images, counted by a trained
 * classifier (the Stacked MNIST protocol of VEEGAN and PacGAN).
 *
 * A classifier run (a model of an objective whose schema declares
 * classifier_role, such as classifier) on images of shape [c, H, W]
 * labels each generated image of shape [C, H, W]: with C = c its class
 * is the classifier's; with c = 1 and C > 1 each channel is classified
 * on its own and the labels l1..lC combine as l1 K^(C-1) + ... + lC (the
 * stacked datasets' l1*100 + l2*10 + l3 for K = 10, C = 3). At each
 * evaluation gm records the modes covered (classes with at least one
 * sample), KL(generated class histogram || data class histogram) in nats
 * and the classifier's mean confidence (its largest softmax probability,
 * averaged over every classified image or channel). The classifier's
 * penultimate features (the input of its network's last linear layer),
 * concatenated over the channels classified apart, serve the k-NN
 * metrics and the Frechet distance (gm/manifold.h, gm/frechet.h). */
#ifndef GM_IMAGE_MODES_H
#define GM_IMAGE_MODES_H

#include "gm/api.h"
#include "gm/data.h"
#include "gm/experiment.h"
#include "gm/registry.h"
#include "gm/state.h"

GM_API_BEGIN

/* A classifier as a run file stores it: what each run needs to rebuild
 * its network. Read once, shared read-only by every run. */
typedef struct gm_image_classifier {
    char path[GM_PATH_MAX];
    char model[GM_MODEL_NAME_MAX];
    uint64_t seed;    /* the run whose last checkpoint is used */
    char role[32];    /* its objective's classifier_role */
    gm_net_spec net;  /* that role's network, as its YAML gives it */
    int shape[3];     /* one input image [c, H, W] */
    int classes;      /* K */
    char accuracy_metric[GM_NAME_MAX]; /* its objective's */
    double accuracy;                   /* that metric at that checkpoint */
    gm_state *params; /* that checkpoint */
} gm_image_classifier;

/* Reads the classifier model `model` ("" or NULL: the file's only model
 * whose objective, known to reg without loading a plugin, declares
 * classifier_role) of the run file at `path`: its config, the shape of
 * its images, its classes and its first seed's last checkpoint. Errors
 * name the file: missing, no classifier model (or several, without
 * `model`), a model whose objective does not classify, not trained on
 * images, no checkpoint. The registry gives the schema its config is
 * read with, loading the model's plugin if it has one. */
gm_image_classifier *gm_image_classifier_load(const char *path,
                                              const char *model,
                                              gm_registry *reg, gm_error *err);
void gm_image_classifier_free(gm_image_classifier *c);

/* Modes covered and KL(p_gen || p_data) of two histograms over k classes:
 * gen [k] samples per class, data [k] data rows per class. p_data counts
 * each class once more than the data has it (add-one smoothing), so a
 * class the data lacks gives a finite KL; classes without samples add 0. */
typedef struct gm_class_stats {
    int modes_covered;
    double kl; /* nats */
} gm_class_stats;

gm_class_stats gm_class_stats_compute(const long *gen, const long *data, int k);

/* One run's instance of the classifier: its network in an evaluating
 * graph, the data's class histogram and the buffers of a measurement,
 * all allocated here. */
typedef struct gm_image_modes gm_image_modes;

/* For the images of dataset d: an error (naming both shapes, or the
 * dataset) if they do not fit the classifier, or if d has no classes or
 * not the K^(C/c) the classifier's labels combine to, or if the
 * classifier's last linear layer is its first (no penultimate features). */
gm_image_modes *gm_image_modes_create(const gm_image_classifier *c,
                                      const gm_dataset *d, gm_error *err);

/* The number of modes (classes of the dataset) it counts. */
int gm_image_modes_count(const gm_image_modes *m);

/* The parts of an image the classifier labels apart (C / c). */
int gm_image_modes_parts(const gm_image_modes *m);

/* The features of one image: parts classified apart times the width of
 * the input of the classifier's last linear layer. */
int gm_image_modes_feature_dim(const gm_image_modes *m);

/* Classifies n images [n, C*H*W] and writes out[0] the modes covered,
 * out[1] the KL in nats, out[2] the mean confidence, and, if counts is not
 * NULL, the images labelled as each mode into counts
 * [gm_image_modes_count(m)]; if features is not NULL, the features of the
 * first n_features images into features [n_features,
 * gm_image_modes_feature_dim(m)]. Never allocates. The same as begin, one
 * add of the n images and end. */
void gm_image_modes_measure(gm_image_modes *m, const float *images, int n,
                            double out[3], int *counts, float *features,
                            int n_features);

/* The features of n images into features [n, gm_image_modes_feature_dim(m)]
 * (nothing counted). Never allocates. */
void gm_image_modes_features(gm_image_modes *m, const float *images, int n,
                             float *features);

/* A measurement of images that come a chunk at a time (a sampler's
 * draws), so that no one holds them all: begin, add each chunk of
 * images [n, C*H*W], then end writes what gm_image_modes_measure writes
 * for all of them. Each add is given the same features buffer
 * [n_features, gm_image_modes_feature_dim(m)] (or NULL) and writes the
 * features of those of its images that are among the first n_features
 * added since begin. Chunks of a multiple of 250 images (the
 * classifier's own batch) give the same bits as one add of all. Never
 * allocates. */
void gm_image_modes_begin(gm_image_modes *m);
void gm_image_modes_add(gm_image_modes *m, const float *images, int n,
                        float *features, int n_features);
void gm_image_modes_end(gm_image_modes *m, double out[3], int *counts);

void gm_image_modes_free(gm_image_modes *m);

GM_API_END

#endif
