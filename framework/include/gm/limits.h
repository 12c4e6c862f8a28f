/* gm/limits.h: the sizes gm refuses.
 *
 * A typo in a width or latent_dim should fail with a message when the
 * experiment is read, not exhaust memory (or overflow an int) while the
 * networks are built. The limits are far above what gm's MLPs need: a
 * 4096-wide layer on 784-pixel images holds 3.2 million parameters. */
#ifndef GM_LIMITS_H
#define GM_LIMITS_H

#include <stdint.h>

/* The parameters of all networks of one model, as float32: 1 GiB, that is
 * 268 million parameters (training also keeps a gradient and the
 * optimizer's state beside each one). */
#define GM_MODEL_PARAM_BYTES_MAX ((uint64_t)1 << 30)
#define GM_MODEL_PARAMS_MAX (GM_MODEL_PARAM_BYTES_MAX / sizeof(float))

/* One layer's output for a batch (train.batch_size rows) or for the
 * evaluation's samples (eval.samples rows), as float32: 2 GiB. */
#define GM_LAYER_OUTPUT_BYTES_MAX ((uint64_t)1 << 31)
#define GM_LAYER_OUTPUT_MAX (GM_LAYER_OUTPUT_BYTES_MAX / sizeof(float))

#endif
