/* "Did you mean ...?" for unknown keys and names. */
#include <ctype.h>
#include <string.h>

#include "config/config_internal.h"

#define SUGGEST_MAX_DISTANCE 2
#define SUGGEST_MAX_LEN 64

/* Names people write for gm's keys, from other frameworks' habits. A
 * synonym only counts when its gm key is among the candidates. */
static const struct {
    const char *alias, *key;
} synonyms[] = {
    {"learning_rate", "lr"},     {"learningrate", "lr"},
    {"epsilon", "eps"},          {"iterations", "steps"},
    {"iters", "steps"},          {"num_steps", "steps"},
    {"max_steps", "steps"},      {"batch", "batch_size"},
    {"batchsize", "batch_size"}, {"optim", "optimizer"},
    {"opt", "optimizer"},        {"latent", "latent_dim"},
    {"z_dim", "latent_dim"},     {"latent_size", "latent_dim"},
    {"layers", "hidden"},        {"hidden_layers", "hidden"},
    {"hidden_sizes", "hidden"},  {"output", "out"},
    {"data", "dataset"},         {"loss_type", "loss"},
    {"num_modes", "modes"},      {"sigma", "std"},
    {"stddev", "std"},           {"eval_every", "every"},
    {"num_samples", "samples"},  {"decay", "weight_decay"},
    {"grad_clip", "clip_norm"},  {"rho", "alpha"}, /* Keras's RMSprop */
    {"weight_clip", "clip"},
};

static bool same(char a, char b) {
    return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* Optimal string alignment distance (edits and adjacent swaps), case
 * folded; anything past `limit` counts as limit + 1. */
static int distance(const char *a, const char *b, int limit) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN) return limit + 1;
    if (la - lb > limit || lb - la > limit) return limit + 1;
    int d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        for (int j = 1; j <= lb; j++) {
            int cost = !same(a[i - 1], b[j - 1]);
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
                same(a[i - 2], b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb] > limit ? limit + 1 : d[la][lb];
}

const char *gm_cfg_suggest(const char *word, const char *const *names, int n) {
    const char *best = NULL;
    int best_d = SUGGEST_MAX_DISTANCE + 1;
    for (int i = 0; i < n; i++) {
        int d = distance(word, names[i], SUGGEST_MAX_DISTANCE);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* A misspelt synonym ("lerning_rate") points to its key too. */
    for (size_t s = 0; s < sizeof synonyms / sizeof synonyms[0]; s++) {
        int d = distance(word, synonyms[s].alias, SUGGEST_MAX_DISTANCE);
        if (d >= best_d) continue;
        for (int i = 0; i < n; i++) {
            if (strcmp(names[i], synonyms[s].key) == 0) {
                best_d = d;
                best = names[i];
            }
        }
    }
    return best;
}
