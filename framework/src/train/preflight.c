/* Building every model of an experiment once before any training, so that
 * an error in the last model's graphs stops the experiment before the
 * first model has trained for an hour. */
#include <string.h>

#include "gm/data.h"
#include "gm/image_modes.h"
#include "gm/train.h"
#include "built_model.h"
#include "run.h"

/* eval.classifier can be read and labels the dataset's images. */
static gm_status check_classifier(const gm_experiment *e, const gm_dataset *d,
                                  gm_registry *reg, gm_error *err) {
    gm_image_classifier *c = gm_image_classifier_load(
        e->eval_classifier, e->eval_classifier_model, reg, err);
    gm_image_modes *m = c ? gm_image_modes_create(c, d, err) : NULL;
    gm_status s = m ? GM_OK : err->status;
    gm_image_modes_free(m);
    gm_image_classifier_free(c);
    return s;
}

gm_status gm_check_models_on(const gm_experiment *e, gm_registry *reg,
                             gm_dataset_cache *datasets, gm_error *err) {
    uint64_t seed = e->n_seeds > 0 ? e->seeds[0] : 0;
    const gm_dataset *d = gm_dataset_cache_get(datasets, seed, err);
    if (!d) return err->status;
    gm_status s = GM_OK;
    for (int i = 0; s == GM_OK && i < e->n_models; i++) {
        const gm_model_spec *spec = &e->models[i];
        s = gm_run_check_dataset_fits(e, spec, d, err);
        if (s != GM_OK) break;
        gm_rng init = gm_rng_stream(seed, "init");
        gm_rng noise = gm_rng_stream(seed, "noise");
        gm_build_ctx ctx = {.spec = spec,
                            .data_dim = gm_dataset_dim(d),
                            .batch_size = spec->train.batch_size,
                            .sample_count = gm_sampler_rows(e->eval_samples),
                            .data = d,
                            .seed = seed,
                            .init = &init,
                            .noise = &noise};
        const gm_objective *o =
            gm_registry_find(reg, spec->objective, spec->plugin, err);
        gm_model *m = o ? gm_model_create(o, &ctx, err) : NULL;
        if (!m) {
            gm_error inner = *err;
            s = gm_error_set(err, inner.status, "model '%s': %s", spec->name,
                             inner.message);
        }
        gm_model_free(m);
    }
    if (s == GM_OK && e->eval_classifier[0])
        s = check_classifier(e, d, reg, err);
    return s;
}

gm_status gm_check_models(const gm_experiment *e, gm_registry *reg,
                          gm_error *err) {
    gm_dataset_cache *datasets = gm_dataset_cache_create(&e->dataset);
    if (!datasets) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_status s = gm_check_models_on(e, reg, datasets, err);
    gm_dataset_cache_free(datasets);
    return s;
}
