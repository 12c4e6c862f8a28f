/* The discriminator's weight clipping (weight_clip.h). */
#include "weight_clip.h"

gm_status gm_weight_clip_phase(gm_model *m, const gm_hparams *h,
                               const char *phase, gm_error *err) {
    double clip = gm_hparams_number(h, "clip");
    return clip > 0 ? gm_model_set_phase_clip(m, phase, (float)clip, err)
                    : GM_OK;
}
