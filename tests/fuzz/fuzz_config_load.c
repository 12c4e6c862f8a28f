/* libFuzzer target for the experiment loader: YAML text to a validated
 * experiment, as `gm run` reads it, with the built-in objectives.
 *
 * The input is the document, then up to MAX_OVERRIDES `--set` overrides,
 * separated by NUL bytes. Loading only reads and validates: nothing is
 * written or trained, and plugins are refused so that no input makes the
 * loader open a shared library.
 *
 * Beyond "no crash, leak or undefined behaviour" it checks what callers
 * rely on: a failure leaves the experiment empty and says what is wrong
 * on one line; a success is in range; and the document the run file
 * records (config_yaml) reads back as the same experiment. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "gm/config.h"
#include "gm/registry.h"

#define MAX_OVERRIDES 4

/* An invariant broken: abort, which libFuzzer reports with the input. */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_config_load: broken: %s\n", #cond);          \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const gm_objective_schema *builtin_only(const char *objective,
                                               const char *plugin, void *ctx,
                                               gm_error *err) {
    if (plugin[0]) {
        gm_error_set(err, GM_ERR_INVALID,
                     "plugins are not loaded while fuzzing");
        return NULL;
    }
    return gm_registry_schema(objective, NULL, ctx, err);
}

static void check_failure(const gm_experiment *e, const gm_error *err) {
    REQUIRE(err->status != GM_OK && err->message[0]);
    for (const char *p = err->message; *p; p++)
        REQUIRE((unsigned char)*p >= 0x20);
    REQUIRE(!e->models && !e->config_yaml && e->n_models == 0);
}

static void check_success(const gm_experiment *e) {
    REQUIRE(e->name[0] && e->out[0] && e->config_yaml);
    REQUIRE(e->n_seeds >= 1 && e->n_seeds <= GM_MAX_SEEDS);
    REQUIRE(e->n_models >= 1 && e->models);
    REQUIRE(e->eval_every >= 1 && e->eval_samples >= 1 &&
            e->eval_held_out >= 0);
    for (int i = 0; i < e->n_models; i++) {
        const gm_model_spec *m = &e->models[i];
        REQUIRE(m->name[0] && m->latent_dim >= 1);
        REQUIRE(m->train.steps >= 1 && m->train.batch_size >= 1);
        REQUIRE(m->n_networks >= 0 && m->n_networks <= GM_MAX_ROLES);
        REQUIRE(m->n_sweep >= 0 && m->n_sweep <= GM_SWEEP_MAX_KEYS);
        for (int r = 0; r < m->n_networks; r++) {
            const gm_net_spec *mlp = &m->networks[r].net;
            REQUIRE(mlp->n_hidden >= 0 && mlp->n_hidden < GM_MLP_MAX_LAYERS);
            for (int k = 0; k < mlp->n_hidden; k++)
                REQUIRE(mlp->hidden[k] >= 1);
        }
    }
}

static void put_train(FILE *f, const gm_train_spec *t) {
    const gm_optim_config *o = &t->optimizer;
    fprintf(f, "train %ld %d %d %a %a %a %a %a %a %a\n", t->steps,
            t->batch_size, (int)o->kind, o->lr, o->momentum, o->beta1, o->beta2,
            o->eps, o->weight_decay, o->clip_norm);
}

static void put_model(FILE *f, const gm_model_spec *m) {
    fprintf(f, "model %s %s %s %d\n", m->name, m->objective, m->plugin,
            m->latent_dim);
    for (int r = 0; r < m->n_networks; r++) {
        const gm_net_spec *mlp = &m->networks[r].net;
        fprintf(f, "net %s %d %a [", m->networks[r].role, (int)mlp->activation,
                mlp->activation_param);
        for (int k = 0; k < mlp->n_hidden; k++)
            fprintf(f, " %d", mlp->hidden[k]);
        fprintf(f, " ]\n");
    }
    for (int k = 0; k < m->params.n; k++)
        fprintf(f, "param %s %a %s\n", m->params.item[k].name,
                m->params.item[k].number, m->params.item[k].choice);
    for (int k = 0; k < m->n_sweep; k++)
        fprintf(f, "sweep %s %s %d %d %a\n", m->sweep[k].key, m->sweep[k].text,
                m->sweep[k].is_number, m->sweep[k].is_integer,
                m->sweep[k].number);
    put_train(f, &m->train);
}

/* Every value of e, exactly, as text (a malloc'd string). */
static char *describe(const gm_experiment *e) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    REQUIRE(f);
    fprintf(f, "%s %s %ld %d %d\n", e->name, e->out, e->eval_every,
            e->eval_samples, e->eval_held_out);
    for (int i = 0; i < e->n_seeds; i++)
        fprintf(f, "seed %" PRIu64 "\n", e->seeds[i]);
    const gm_dataset_spec *d = &e->dataset;
    fprintf(f, "dataset %s %d %a %d %a %a %ld %s %s %s\n", d->name, d->modes,
            d->radius, d->side, d->spacing, d->std, d->size, d->path,
            d->test_path, d->key);
    put_train(f, &e->train);
    for (int i = 0; i < e->n_models; i++)
        put_model(f, &e->models[i]);
    REQUIRE(fclose(f) == 0);
    return text;
}

/* What the run file records must read back as the same experiment. */
static void check_round_trip(const gm_experiment *e, gm_registry *registry) {
    gm_experiment again;
    gm_error err = {0};
    gm_status st = gm_config_load_string(&again, e->config_yaml, "fuzz.yaml",
                                         NULL, 0, builtin_only, registry, &err);
    if (st != GM_OK)
        fprintf(stderr, "reloading config_yaml: %s\n", err.message);
    REQUIRE(st == GM_OK);
    char *before = describe(e), *after = describe(&again);
    if (strcmp(before, after) != 0)
        fprintf(stderr, "before:\n%s\nafter:\n%s\n", before, after);
    REQUIRE(strcmp(before, after) == 0);
    free(before);
    free(after);
    gm_experiment_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static gm_registry *registry; /* built once, kept for the process */
    if (!registry) registry = gm_builtin_registry();
    REQUIRE(registry);
    char *text = malloc(size + 1);
    REQUIRE(text);
    memcpy(text, data, size);
    text[size] = '\0';
    /* The document ends at the first NUL; each later one starts a --set. */
    const char *sets[MAX_OVERRIDES];
    int n_sets = 0;
    for (char *p = text + strlen(text);
         p < text + size && n_sets < MAX_OVERRIDES; p += strlen(p))
        sets[n_sets++] = ++p;
    gm_experiment e;
    gm_error err = {0};
    gm_status st = gm_config_load_string(&e, text, "fuzz.yaml", sets, n_sets,
                                         builtin_only, registry, &err);
    if (st == GM_OK) {
        check_success(&e);
        check_round_trip(&e, registry);
        gm_experiment_clear(&e);
    } else {
        check_failure(&e, &err);
    }
    free(text);
    return 0;
}
