/* The unit and better direction of every metric gm logs; docs/metrics.md
 * has the same rows (tests/test_metric_info.c compares them). */
#include "gm/metric_info.h"

#include <string.h>

#define PER_EXAMPLE "nats per example"

/* In docs/metrics.md's order. */
static const gm_metric_info table[] = {
    {"loss_<phase>", "the objective's loss", GM_BETTER_LOWER},
    {"elbo", PER_EXAMPLE, GM_BETTER_HIGHER},
    {"recon_nll", PER_EXAMPLE, GM_BETTER_LOWER},
    {"kl_qz_pz", PER_EXAMPLE, GM_BETTER_NEITHER},
    {"joint_kl", PER_EXAMPLE, GM_BETTER_LOWER},
    {"data_entropy", PER_EXAMPLE, GM_BETTER_NEITHER},
    {"d_real", "probability", GM_BETTER_NEITHER},
    {"d_fake", "probability", GM_BETTER_NEITHER},
    {"d_score_real", "discriminator score", GM_BETTER_NEITHER},
    {"d_score_fake", "discriminator score", GM_BETTER_NEITHER},
    {"kl_data_model_disc", "nats", GM_BETTER_LOWER},
    {"kl_model_data_disc", "nats", GM_BETTER_LOWER},
    {"kl_pz_qz_disc", "nats", GM_BETTER_LOWER},
    {"kl_qz_pz_disc", "nats", GM_BETTER_LOWER},
    {"prior_kl", "the objective's loss", GM_BETTER_NEITHER},
    {"distortion", PER_EXAMPLE, GM_BETTER_LOWER},
    {"rate", PER_EXAMPLE, GM_BETTER_NEITHER},
    {"elbo_eval", PER_EXAMPLE, GM_BETTER_HIGHER},
    {"iwae_logpx", PER_EXAMPLE, GM_BETTER_HIGHER},
    {"posterior_gap", PER_EXAMPLE, GM_BETTER_LOWER},
    {"active_units", "latent dimensions", GM_BETTER_HIGHER},
    {"mutual_info", PER_EXAMPLE, GM_BETTER_NEITHER},
    {"marginal_kl", PER_EXAMPLE, GM_BETTER_LOWER},
    {"kl_per_dim", PER_EXAMPLE, GM_BETTER_NEITHER},
    {"recon_mse", "squared data units", GM_BETTER_LOWER},
    {"kl_agg_qz_pz", "nats", GM_BETTER_LOWER},
    {"accuracy_eval", "fraction of rows", GM_BETTER_HIGHER},
    {"xent_eval", PER_EXAMPLE, GM_BETTER_LOWER},
    {"modes_covered", "modes", GM_BETTER_HIGHER},
    {"hq_fraction", "fraction of samples", GM_BETTER_HIGHER},
    {"kl_data_model", "nats", GM_BETTER_LOWER},
    {"kl_model_data", "nats", GM_BETTER_LOWER},
    {"kde_bandwidth", "data units", GM_BETTER_NEITHER},
    {"kl_data_model_iwae", "nats", GM_BETTER_LOWER},
    {"kl_modes", "nats", GM_BETTER_LOWER},
    {"mode_confidence", "probability", GM_BETTER_HIGHER},
    {"classifier_accuracy", "fraction of rows", GM_BETTER_NEITHER},
};

enum { TABLE_SIZE = sizeof table / sizeof table[0] };

/* gm's own headline, after every objective's: how the samples cover the
 * data, comparable across objectives (mixtures, and images counted by
 * eval.classifier). */
static const char *const sample_headline[] = {"modes_covered", "hq_fraction",
                                              "kl_data_model", "kl_model_data",
                                              "kl_modes"};

enum { SAMPLE_HEADLINE = sizeof sample_headline / sizeof sample_headline[0] };

const gm_metric_info *gm_metric_info_find(const char *name) {
    if (strncmp(name, "loss_", 5) == 0) name = "loss_<phase>";
    for (int i = 0; i < TABLE_SIZE; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

int gm_metric_info_count(void) { return TABLE_SIZE; }

const gm_metric_info *gm_metric_info_at(int index) {
    return index >= 0 && index < TABLE_SIZE ? &table[index] : NULL;
}

const char *gm_better_name(gm_better better) {
    return better == GM_BETTER_HIGHER  ? "higher"
           : better == GM_BETTER_LOWER ? "lower"
                                       : "neither";
}

bool gm_metric_is_sample_headline(const char *name) {
    for (int i = 0; i < SAMPLE_HEADLINE; i++)
        if (strcmp(sample_headline[i], name) == 0) return true;
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
    for (int i = 0; i < SAMPLE_HEADLINE; i++)
        n = add_once(out, n, sample_headline[i]);
    return n;
}
