/* gm/sweep.h: one swept key of a model and the value it takes there.
 *
 * An experiment's `sweep:` block (gm/config.h) turns one model into one
 * model per point of a grid of values; each such model carries the keys
 * swept and its values, which the run file records as attributes of the
 * model's group (analysis/README.md) and `gm summary` shows as columns. */
#ifndef GM_SWEEP_H
#define GM_SWEEP_H

#include <stdbool.h>

#include "gm/api.h"

GM_API_BEGIN

#define GM_SWEEP_MAX_KEYS 8
#define GM_SWEEP_KEY_MAX 128
#define GM_SWEEP_TEXT_MAX 64

typedef struct gm_sweep_value {
    /* The key path inside the model: "params.beta", "latent_dim",
     * "train.optimizer.lr". */
    char key[GM_SWEEP_KEY_MAX];
    /* The value as written in the YAML file ("0.25", "1.0e-3", "minimax"). */
    char text[GM_SWEEP_TEXT_MAX];
    /* A number (else a string or a boolean, kept as its text). */
    bool is_number;
    /* Every value the key takes in the sweep is an integer, so it is
     * recorded as an integer. */
    bool is_integer;
    double number; /* when is_number */
} gm_sweep_value;

GM_API_END

#endif
