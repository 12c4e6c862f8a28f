#include "gm/optim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simd/grad_norm_lanes.h"
#include "simd/multiversion.h"
#include "optim/optim_by_view.h"

struct gm_optim {
    gm_params *group;
    gm_optim_config cfg;
    float *state[2];
    long steps;
    double last_grad_norm;
    /* The step under way: Adam's bias-corrected step size and
     * 1 / sqrt(1 - beta2^t); for a step by view, the views updated so far
     * and the sum of their squared gradients. */
    float step_size, inv_sqrt_bc2;
    bool *view_done;
    double step_sumsq;
};

static const char *const kind_names[] = {[GM_OPTIM_SGD] = "sgd",
                                         [GM_OPTIM_ADAM] = "adam",
                                         [GM_OPTIM_ADAMW] = "adamw",
                                         [GM_OPTIM_RMSPROP] = "rmsprop"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == GM_OPTIM_KIND_COUNT,
               "one name per optimizer");

static bool is_adam(gm_optim_kind kind) {
    return kind == GM_OPTIM_ADAM || kind == GM_OPTIM_ADAMW;
}

gm_optim_config gm_optim_defaults(gm_optim_kind kind) {
    gm_optim_config c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f,
                         .eps = 1e-8f, .alpha = 0.99f};
    c.lr = is_adam(kind) ? 1e-3f : 1e-2f;
    if (kind == GM_OPTIM_ADAMW) c.weight_decay = 1e-2f;
    return c;
}

bool gm_optim_kind_parse(const char *name, gm_optim_kind *out) {
    for (int i = 0; i < GM_OPTIM_KIND_COUNT; i++) {
        if (name && strcmp(name, kind_names[i]) == 0) {
            *out = (gm_optim_kind)i;
            return true;
        }
    }
    return false;
}

const char *gm_optim_kind_name(gm_optim_kind kind) {
    return (unsigned)kind < GM_OPTIM_KIND_COUNT ? kind_names[kind] : "?";
}

gm_optim *gm_optim_create(gm_params *group, const gm_optim_config *cfg,
                          gm_error *err) {
    const char *why = NULL;
    if ((unsigned)cfg->kind >= GM_OPTIM_KIND_COUNT) why = "unknown kind";
    else if (!(cfg->lr > 0.0f)) why = "lr must be > 0";
    else if (cfg->momentum < 0.0f || cfg->momentum >= 1.0f)
        why = "momentum must be in [0, 1)";
    else if (is_adam(cfg->kind) &&
             (cfg->beta1 < 0.0f || cfg->beta1 >= 1.0f || cfg->beta2 < 0.0f ||
              cfg->beta2 >= 1.0f))
        why = "beta1 and beta2 must be in [0, 1)";
    else if (cfg->kind == GM_OPTIM_RMSPROP &&
             !(cfg->alpha >= 0.0f && cfg->alpha < 1.0f))
        why = "alpha must be in [0, 1)";
    else if (cfg->kind != GM_OPTIM_SGD && !(cfg->eps > 0.0f))
        why = "eps must be > 0";
    else if (cfg->weight_decay < 0.0f) why = "weight_decay must be >= 0";
    else if (cfg->clip_norm < 0.0f) why = "clip_norm must be >= 0";
    if (why) {
        gm_error_set(err, GM_ERR_INVALID, "optimizer for '%s': %s",
                     gm_params_name(group), why);
        return NULL;
    }
    gm_optim *o = calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->group = group;
    o->cfg = *cfg;
    gm_params_lock(group);
    int views = gm_params_count(group);
    o->view_done = calloc(views ? (size_t)views : 1, sizeof(bool));
    if (!o->view_done) goto nomem;
    size_t n = gm_params_numel(group);
    /* slot 0: Adam's first moment or a momentum; slot 1: a second moment */
    bool has[2] = {is_adam(cfg->kind) || cfg->momentum > 0.0f,
                   cfg->kind != GM_OPTIM_SGD};
    for (int s = 0; s < 2; s++) {
        if (!has[s]) continue;
        o->state[s] = calloc(n ? n : 1, sizeof(float));
        if (!o->state[s]) goto nomem;
    }
    return o;
nomem:
    gm_optim_free(o);
    gm_error_set(err, GM_ERR_NOMEM, "out of memory creating an optimizer");
    return NULL;
}

void gm_optim_free(gm_optim *o) {
    if (!o) return;
    free(o->state[0]);
    free(o->state[1]);
    free(o->view_done);
    free(o);
}

/* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6). */
static void clip(gm_optim *o, float *g, size_t n, double norm) {
    if (norm <= o->cfg.clip_norm) return;
    float scale = (float)(o->cfg.clip_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; i++) g[i] *= scale;
}

/* Adam's factors for step t: the bias corrections 1 - beta^t. */
static void prepare_step(gm_optim *o, long t) {
    const gm_optim_config *c = &o->cfg;
    o->step_size = (float)(c->lr / (1.0 - pow(c->beta1, (double)t)));
    o->inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(c->beta2, (double)t)));
}

/* SGD's update of n floats (buf: the momentum, or NULL). */
static void sgd_step(const gm_optim *o, float *restrict w,
                     const float *restrict g, float *restrict buf, size_t n) {
    const float lr = o->cfg.lr, wd = o->cfg.weight_decay, mu = o->cfg.momentum;
    if (buf) {
        for (size_t i = 0; i < n; i++) {
            buf[i] = mu * buf[i] + g[i] + wd * w[i];
            w[i] -= lr * buf[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
    }
}

/* Adam's (or AdamW's) update of n floats with the factors of
 * prepare_step. With sumsq it also returns the squared gradient norm read
 * on the way, in gm_sum_squares_in_lanes's lanes and order (the same
 * value, without a pass of its own). */
GM_MULTIVERSION
static void adam_step(const gm_optim *o, float *restrict w,
                      const float *restrict g, float *restrict m,
                      float *restrict v, size_t n, double *sumsq) {
    const gm_optim_config *c = &o->cfg;
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    const bool decoupled = c->kind == GM_OPTIM_ADAMW;
    const float l2 = decoupled ? 0.0f : c->weight_decay;
    const float shrink = decoupled ? 1.0f - c->lr * c->weight_decay : 1.0f;
    const float step_size = o->step_size, inv_sqrt_bc2 = o->inv_sqrt_bc2;
    double acc[GM_GRAD_NORM_LANES] = {0};
    size_t i = 0;
#define ADAM_UPDATE(j)                                                         \
    do {                                                                       \
        float d = g[j] + l2 * w[j];                                            \
        m[j] = b1 * m[j] + (1.0f - b1) * d;                                    \
        v[j] = b2 * v[j] + (1.0f - b2) * d * d;                                \
        w[j] = w[j] * shrink -                                                 \
               step_size * m[j] / (sqrtf(v[j]) * inv_sqrt_bc2 + eps);          \
    } while (0)
    if (sumsq) {
        for (; i + GM_GRAD_NORM_LANES <= n; i += GM_GRAD_NORM_LANES)
            for (int k = 0; k < GM_GRAD_NORM_LANES; k++) {
                acc[k] += (double)g[i + k] * g[i + k];
                ADAM_UPDATE(i + k);
            }
        double s = 0.0;
        for (int k = 0; k < GM_GRAD_NORM_LANES; k++) s += acc[k];
        for (size_t j = i; j < n; j++) s += (double)g[j] * g[j];
        *sumsq = s;
    }
    for (; i < n; i++) ADAM_UPDATE(i);
#undef ADAM_UPDATE
}

/* torch.optim.RMSprop's update of n floats (not centered): the mean
 * square sq of the gradients, then w -= lr g / (sqrt(sq) + eps), through
 * the momentum buf when it has one (else buf is NULL). */
GM_MULTIVERSION
static void rmsprop_step(const gm_optim *o, float *restrict w,
                         const float *restrict g, float *restrict buf,
                         float *restrict sq, size_t n) {
    const gm_optim_config *c = &o->cfg;
    const float lr = c->lr, wd = c->weight_decay, eps = c->eps;
    const float a = c->alpha, mu = c->momentum;
    /* in torch's order of operations (addcmul_, addcdiv_) */
    if (buf) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            sq[i] = a * sq[i] + (1.0f - a) * d * d;
            buf[i] = mu * buf[i] + d / (sqrtf(sq[i]) + eps);
            w[i] -= lr * buf[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            sq[i] = a * sq[i] + (1.0f - a) * d * d;
            w[i] -= lr * d / (sqrtf(sq[i]) + eps);
        }
    }
}

/* The update of the group's floats [from, from + n), for any kind; sumsq
 * as adam_step's (Adam only). */
static void update_range(gm_optim *o, size_t from, size_t n, double *sumsq) {
    float *w = gm_params_data(o->group) + from;
    const float *g = gm_params_grad(o->group) + from;
    float *first = o->state[0] ? o->state[0] + from : NULL; /* buf or m */
    float *second = o->state[1] ? o->state[1] + from : NULL;
    switch (o->cfg.kind) {
    case GM_OPTIM_SGD: sgd_step(o, w, g, first, n); break;
    case GM_OPTIM_RMSPROP: rmsprop_step(o, w, g, first, second, n); break;
    default: adam_step(o, w, g, first, second, n, sumsq); break;
    }
}

void gm_optim_step(gm_optim *o) {
    float *g = gm_params_grad(o->group);
    size_t n = gm_params_numel(o->group);
    /* The norm before clipping: the trainer checks it is finite. Adam
     * computes it in its own pass unless clipping needs it first. */
    bool fused = is_adam(o->cfg.kind) && !(o->cfg.clip_norm > 0.0f);
    if (!fused) o->last_grad_norm = gm_params_grad_norm(o->group);
    if (o->cfg.clip_norm > 0.0f) clip(o, g, n, o->last_grad_norm);
    prepare_step(o, ++o->steps);
    double sumsq = 0.0;
    update_range(o, 0, n, fused ? &sumsq : NULL);
    if (fused) o->last_grad_norm = sqrt(sumsq);
}

gm_params *gm_optim_group(const gm_optim *o) { return o->group; }

bool gm_optim_steps_by_view(const gm_optim *o) {
    return !(o->cfg.clip_norm > 0.0f);
}

void gm_optim_step_begin(gm_optim *o) {
    GM_ASSERT(gm_optim_steps_by_view(o));
    prepare_step(o, o->steps + 1);
    memset(o->view_done, 0, (size_t)gm_params_count(o->group) * sizeof(bool));
    o->step_sumsq = 0.0;
}

void gm_optim_step_view(gm_optim *o, int index) {
    if (o->view_done[index]) return;
    o->view_done[index] = true;
    const gm_param_view *v = gm_params_view(o->group, index);
    double sumsq = 0.0;
    if (!is_adam(o->cfg.kind)) /* its update sums no squares */
        sumsq = gm_sum_squares_in_lanes(gm_params_grad(o->group) + v->offset,
                                        v->numel);
    update_range(o, v->offset, v->numel, &sumsq);
    o->step_sumsq += sumsq;
}

void gm_optim_step_end(gm_optim *o) {
    for (int i = 0; i < gm_params_count(o->group); i++)
        gm_optim_step_view(o, i);
    o->steps++;
    o->last_grad_norm = sqrt(o->step_sumsq);
}

long gm_optim_step_count(const gm_optim *o) { return o->steps; }
void gm_optim_set_step_count(gm_optim *o, long steps) { o->steps = steps; }
double gm_optim_last_grad_norm(const gm_optim *o) { return o->last_grad_norm; }
void gm_optim_set_lr(gm_optim *o, float lr) { o->cfg.lr = lr; }
const gm_optim_config *gm_optim_config_of(const gm_optim *o) { return &o->cfg; }

float *gm_optim_state(gm_optim *o, int slot) {
    return slot == 0 || slot == 1 ? o->state[slot] : NULL;
}

/* What a state slot is called in a run state, or NULL if unused. */
static const char *slot_name(gm_optim_kind kind, int slot) {
    if (is_adam(kind)) return slot == 0 ? "m" : slot == 1 ? "v" : NULL;
    if (slot == 0) return "momentum";
    return kind == GM_OPTIM_RMSPROP && slot == 1 ? "square_avg" : NULL;
}

gm_status gm_optim_save_state(const gm_optim *o, gm_state *s,
                              const char *prefix, gm_error *err) {
    char name[512];
    snprintf(name, sizeof name, "%s/step_count", prefix);
    gm_status st = gm_state_put_i64(s, name, o->steps, err);
    size_t n = gm_params_numel(o->group);
    for (int slot = 0; st == GM_OK && slot < 2; slot++) {
        const char *slot_as = slot_name(o->cfg.kind, slot);
        if (!o->state[slot] || !slot_as) continue;
        snprintf(name, sizeof name, "%s/%s", prefix, slot_as);
        st = gm_state_put_f32(s, name, o->state[slot], n, err);
    }
    return st;
}

gm_status gm_optim_load_state(gm_optim *o, const gm_state *s,
                              const char *prefix, gm_error *err) {
    char name[512];
    int64_t steps = 0;
    snprintf(name, sizeof name, "%s/step_count", prefix);
    gm_status st = gm_state_get_i64(s, name, &steps, err);
    size_t n = gm_params_numel(o->group);
    for (int slot = 0; st == GM_OK && slot < 2; slot++) {
        const char *slot_as = slot_name(o->cfg.kind, slot);
        if (!o->state[slot] || !slot_as) continue;
        snprintf(name, sizeof name, "%s/%s", prefix, slot_as);
        st = gm_state_get(s, name, GM_STATE_F32, n, o->state[slot], err);
    }
    if (st == GM_OK) o->steps = (long)steps;
    return st;
}
