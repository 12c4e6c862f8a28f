/* A model's resolved configuration as "key=value" lines (run_config.h). */
#include "run_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lines {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory */
} lines;

static void add(lines *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(lines *t, const char *fmt, ...) {
    for (int tries = 0; !t->failed && tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL,
                          t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
        } else if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = 2 * (t->cap + (size_t)n) + 256;
            char *b = realloc(t->buf, cap);
            if (!b) t->failed = true;
            else t->buf = b, t->cap = cap;
        }
    }
}

/* The fewest digits that read back as the same float or double: "0.001",
 * not "0.0010000000474974513". */
static const char *shortest(char *out, size_t n, double v, bool single) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, n, "%.*g", digits, v);
        if (single ? strtof(out, NULL) == (float)v : strtod(out, NULL) == v)
            break;
    }
    return out;
}

static void number(lines *t, const char *key, double v, bool single) {
    char digits[40];
    add(t, "%s=%s\n", key, shortest(digits, sizeof digits, v, single));
}

static void network(lines *t, const gm_role_network *net) {
    const gm_net_spec *s = &net->net;
    char key[96];
    add(t, "%s.hidden=[", net->role);
    for (int i = 0; i < s->n_hidden; i++)
        add(t, "%s%d", i ? "," : "", s->hidden[i]);
    add(t, "]\n%s.activation=%s\n", net->role,
        gm_activation_name(s->activation));
    snprintf(key, sizeof key, "%s.activation_param", net->role);
    number(t, key, s->activation_param, true);
    add(t, "%s.out_activation=%s\n", net->role,
        gm_activation_name(s->out_activation));
    for (int i = 0; i < s->n_layers; i++) {
        const gm_layer_spec *l = &s->layers[i];
        char slope[40], momentum[40], eps[40];
        add(t,
            "%s.layers[%d]=%s out=%d kernel=%d stride=%d padding=%d "
            "no_bias=%d slope=%s momentum=%s eps=%s shape=[",
            net->role, i, gm_layer_kind_name(l->kind), l->out, l->kernel,
            l->stride, l->padding, l->no_bias,
            shortest(slope, sizeof slope, l->slope, true),
            shortest(momentum, sizeof momentum, l->momentum, true),
            shortest(eps, sizeof eps, l->eps, true));
        for (int d = 0; d < l->ndim; d++)
            add(t, "%s%d", d ? "," : "", l->shape[d]);
        add(t, "]\n");
    }
}

static void train(lines *t, const gm_train_spec *s) {
    const gm_optim_config *o = &s->optimizer;
    add(t, "train.steps=%ld\ntrain.batch_size=%d\ntrain.optimizer.name=%s\n",
        s->steps, s->batch_size, gm_optim_kind_name(o->kind));
    number(t, "train.optimizer.lr", o->lr, true);
    number(t, "train.optimizer.momentum", o->momentum, true);
    number(t, "train.optimizer.beta1", o->beta1, true);
    number(t, "train.optimizer.beta2", o->beta2, true);
    number(t, "train.optimizer.eps", o->eps, true);
    number(t, "train.optimizer.weight_decay", o->weight_decay, true);
    number(t, "train.optimizer.clip_norm", o->clip_norm, true);
    /* RMSprop's alone: the lines of the other kinds stay as they were
     * before RMSprop, and so their runs' digests */
    if (o->kind == GM_OPTIM_RMSPROP)
        number(t, "train.optimizer.alpha", o->alpha, true);
    /* bfloat16's alone, likewise: float32 runs keep their digests */
    if (s->precision != GM_PRECISION_FP32)
        add(t, "train.precision=%s\n", gm_precision_name(s->precision));
}

static void dataset(lines *t, const gm_dataset_spec *d) {
    add(t, "dataset.name=%s\ndataset.modes=%d\n", d->name, d->modes);
    number(t, "dataset.radius", d->radius, false);
    add(t, "dataset.side=%d\n", d->side);
    number(t, "dataset.spacing", d->spacing, false);
    number(t, "dataset.std", d->std, false);
    add(t,
        "dataset.size=%ld\ndataset.path=%s\ndataset.test_path=%s\n"
        "dataset.key=%s\ndataset.seed=%ld\n",
        d->size, d->path, d->test_path, d->key, d->seed);
}

static void params(lines *t, const gm_hparams *p) {
    for (int i = 0; i < p->n; i++) {
        char key[GM_HPARAM_STR_MAX + 16];
        snprintf(key, sizeof key, "params.%s", p->item[i].name);
        if (p->item[i].type == GM_HP_CHOICE)
            add(t, "%s=%s\n", key, p->item[i].choice);
        else if (p->item[i].type == GM_HP_BOOL)
            add(t, "%s=%s\n", key, p->item[i].number != 0 ? "true" : "false");
        else
            number(t, key, p->item[i].number, false);
    }
}

static char *text_of(lines *t) {
    if (!t->failed) return t->buf;
    free(t->buf);
    return NULL;
}

char *gm_run_config_text(const gm_experiment *e, const gm_model_spec *m) {
    lines t = {0};
    add(&t, "objective=%s\nlatent_dim=%d\n", m->objective, m->latent_dim);
    for (int i = 0; i < m->n_networks; i++)
        network(&t, &m->networks[i]);
    params(&t, &m->params);
    train(&t, &m->train);
    dataset(&t, &e->dataset);
    add(&t, "eval.every=%ld\neval.samples=%d\neval.held_out=%d\n",
        e->eval_every, e->eval_samples, e->eval_held_out);
    add(&t, "eval.classifier=%s\neval.classifier_model=%s\nblas_threads=%d\n",
        e->eval_classifier, e->eval_classifier_model, e->blas_threads);
    /* the k-NN metrics' settings off their defaults only, so that runs
     * from before them keep their digests */
    if (e->eval_knn_k != 3 || e->eval_knn_samples != 5000)
        add(&t, "eval.knn_k=%d\neval.knn_samples=%d\n", e->eval_knn_k,
            e->eval_knn_samples);
    return text_of(&t);
}

char *gm_run_config_param_defaults(const gm_hparam_spec *specs, int n) {
    gm_hparams defaults;
    gm_hparams_defaults(&defaults, specs, n);
    lines t = {0};
    params(&t, &defaults);
    if (!t.buf && !t.failed) add(&t, "%s", ""); /* no parameters: "" */
    return text_of(&t);
}

uint64_t gm_run_config_digest(const char *text) {
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

/* Splits the line at *p into key and value (both up to '\n' or the end),
 * moving *p past it; false at the end. */
static bool next_line(const char **p, const char **key, int *key_len,
                      const char **value, int *value_len) {
    if (!**p) return false;
    const char *end = *p + strcspn(*p, "\n");
    const char *eq = memchr(*p, '=', (size_t)(end - *p));
    *key = *p;
    *key_len = (int)((eq ? eq : end) - *p);
    *value = eq ? eq + 1 : end;
    *value_len = (int)(end - *value);
    *p = *end ? end + 1 : end;
    return true;
}

/* True if the line line[0..len) is one of the lines of text. */
static bool has_line(const char *text, const char *line, size_t len) {
    for (const char *l = text; *l;) {
        if (strncmp(l, line, len) == 0 && (l[len] == '\n' || !l[len]))
            return true;
        const char *end = strchr(l, '\n');
        if (!end) break;
        l = end + 1;
    }
    return false;
}

/* True if some line of text sets key[0..len). */
static bool has_key(const char *text, const char *key, size_t len) {
    for (const char *l = text; *l;) {
        if (strncmp(l, key, len) == 0 && l[len] == '=') return true;
        const char *end = strchr(l, '\n');
        if (!end) break;
        l = end + 1;
    }
    return false;
}

bool gm_run_config_differs(const char *stored, const char *now,
                           const char *defaults, char *why, size_t n) {
    const char *a = stored, *b = now;
    for (;;) {
        const char *ka = "", *va = "", *kb = "", *vb = "";
        int kla = 0, vla = 0, klb = 0, vlb = 0;
        const char *next_a = a, *next_b = b;
        bool has_a = next_line(&next_a, &ka, &kla, &va, &vla);
        bool has_b = next_line(&next_b, &kb, &klb, &vb, &vlb);
        if (!has_a && !has_b) return false;
        bool same_key =
            has_a && has_b && kla == klb && memcmp(ka, kb, (size_t)kla) == 0;
        if (same_key && vla == vlb && memcmp(va, vb, (size_t)vla) == 0) {
            a = next_a, b = next_b;
            continue;
        }
        /* A hyperparameter this gm has and the checkpoints' gm had not,
         * at its default: the runs computed what they compute now. */
        if (!same_key && has_b && defaults &&
            has_line(defaults, kb, (size_t)(vb + vlb - kb))) {
            b = next_b;
            continue;
        }
        if (same_key) {
            snprintf(why, n,
                     "%.*s is %.*s in the stored experiment but the "
                     "checkpoints were trained with %.*s",
                     kla, ka, vlb, vb, vla, va);
        } else if (has_b && !(has_a && !has_key(now, ka, (size_t)kla))) {
            /* another gm's keys, or an edited attribute */
            snprintf(why, n,
                     "the stored experiment sets %.*s=%.*s where the "
                     "checkpoints' settings have %s%.*s%s%.*s",
                     klb, kb, vlb, vb, has_a ? "" : "nothing", kla, ka,
                     has_a ? "=" : "", vla, va);
        } else { /* e.g. train.precision=bf16, a line fp32 runs lack */
            snprintf(why, n,
                     "the checkpoints were trained with %.*s=%.*s, which the "
                     "stored experiment does not set",
                     kla, ka, vla, va);
        }
        return true;
    }
}
