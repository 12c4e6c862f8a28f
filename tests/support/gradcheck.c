/* Finite-difference gradient checks (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gm/ops.h"

/* FNV-1a: each label gets its own weights R, the same on every run. */
static uint64_t label_seed(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* L = sum(y * r), accumulated in double. */
static double weighted_sum(const float *y, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i] * (double)r[i];
    return s;
}

/* Names the view holding flat element i: "group.view[j]". */
static void element_name(const gm_params *p, size_t i, char *buf, size_t n) {
    for (int v = 0; v < gm_params_count(p); v++) {
        const gm_param_view *pv = gm_params_view(p, v);
        if (i >= pv->offset && i < pv->offset + pv->numel) {
            snprintf(buf, n, "%s.%s[%zu]", gm_params_name(p), pv->name,
                     i - pv->offset);
            return;
        }
    }
    snprintf(buf, n, "%s[%zu]", gm_params_name(p), i);
}

/* Appends R and the loss, compiles. Returns the loss or NULL with msg. */
static gm_node *append_loss(gm_graph *g, gm_node *out, const char *label,
                            float **r_out, char *msg, size_t msg_size) {
    const gm_error *built = gm_graph_error(g);
    if (built || !out) {
        snprintf(msg, msg_size, "%s: building the graph failed: %s", label,
                 built ? built->message : "out is NULL");
        return NULL;
    }
    size_t n = gm_node_numel(out);
    float *r = malloc(n * sizeof *r);
    if (!r) {
        snprintf(msg, msg_size, "%s: out of memory", label);
        return NULL;
    }
    /* Weights of both signs and magnitude in [0.5, 1.5): no output element
     * is ignored or dominates. */
    gm_rng rng = gm_rng_stream(label_seed(label), "gradcheck");
    for (size_t i = 0; i < n; i++) {
        double m = 0.5 + gm_rng_uniform(&rng);
        r[i] = (float)(gm_rng_below(&rng, 2) ? m : -m);
    }
    const gm_shape *s = gm_node_shape(out);
    gm_node *rn = gm_constant(g, NULL, s->dim, s->ndim, r);
    gm_node *loss = gm_node_set_role(gm_sum(g, gm_mul(g, out, rn), GM_AXIS_ALL),
                                     GM_ROLE_LOSS);
    gm_error err = {0};
    if (gm_graph_compile(g, &err) != GM_OK) {
        snprintf(msg, msg_size, "%s: compile failed: %s", label, err.message);
        free(r);
        return NULL;
    }
    *r_out = r;
    return loss;
}

/* What the parameter gradients hold when backward starts, as if another
 * graph had already added to the group: backward must add to it, and an
 * op that overwrites a gradient that is not fresh loses it. */
#define HELD_GRAD 1.0f

/* Forward, backward onto held parameter gradients; copies what backward
 * added to an. */
static bool analytic(gm_graph *g, gm_params *group, gm_node *loss, double *an,
                     const char *label, char *msg, size_t msg_size) {
    gm_graph_forward(g);
    float *gw = gm_params_grad(group);
    size_t n = gm_params_numel(group);
    for (size_t i = 0; i < n; i++)
        gw[i] = HELD_GRAD;
    gm_error err = {0};
    if (gm_graph_backward(g, loss, &err) != GM_OK) {
        snprintf(msg, msg_size, "%s: backward failed: %s", label, err.message);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        an[i] = (double)gw[i] - HELD_GRAD;
    return true;
}

/* Compares an with central differences; writes the first mismatch. */
static bool compare(gm_graph *g, gm_params *group, gm_node *out, const float *r,
                    const double *an, const char *label, gm_gradcheck_tol tol,
                    char *msg, size_t msg_size) {
    size_t n = gm_params_numel(group), n_out = gm_node_numel(out), bad = 0;
    size_t first = 0;
    double first_an = 0.0, first_fd = 0.0;
    float *w = gm_params_data(group);
    const float *y = gm_node_data(out);
    for (size_t i = 0; i < n; i++) {
        float w0 = w[i], wp = w0 + tol.h, wm = w0 - tol.h;
        w[i] = wp;
        gm_graph_forward(g);
        double lp = weighted_sum(y, r, n_out);
        w[i] = wm;
        gm_graph_forward(g);
        double lm = weighted_sum(y, r, n_out);
        w[i] = w0;
        /* The step actually taken, after w +- h was rounded to float. */
        double fd = (lp - lm) / ((double)wp - (double)wm);
        double diff = fabs(fd - an[i]);
        double allowed = tol.atol + tol.rtol * fmax(fabs(fd), fabs(an[i]));
        if (!(diff <= allowed)) { /* also catches NaN */
            if (bad++ == 0) {
                first = i;
                first_an = an[i];
                first_fd = fd;
            }
        }
    }
    gm_graph_forward(g); /* leave the graph at the unperturbed values */
    if (bad == 0) return true;
    char where[96];
    element_name(group, first, where, sizeof where);
    snprintf(msg, msg_size,
             "%s: %zu of %zu gradient elements differ; first is element %zu "
             "(%s): analytic %.9g, numeric %.9g (|diff| %.3g, allowed %.3g; "
             "h %g, rtol %g, atol %g)",
             label, bad, n, first, where, first_an, first_fd,
             fabs(first_fd - first_an),
             tol.atol + tol.rtol * fmax(fabs(first_fd), fabs(first_an)),
             (double)tol.h, tol.rtol, tol.atol);
    return false;
}

bool gm_gradcheck_run(gm_graph *g, gm_params *group, gm_node *out,
                      const char *label, gm_gradcheck_tol tol, char *msg,
                      size_t msg_size) {
    label = label ? label : "gradcheck";
    msg[0] = '\0';
    float *r = NULL;
    gm_node *loss = append_loss(g, out, label, &r, msg, msg_size);
    if (!loss) return false;
    gm_graph_hold_noise(g, true);
    size_t n = gm_params_numel(group);
    double *an = malloc(2 * n * sizeof *an);
    bool ok = an != NULL;
    if (!ok) snprintf(msg, msg_size, "%s: out of memory", label);
    /* Two passes, as two training steps, must agree exactly: backward
     * zeroes what it must and keeps no state from one call to the next
     * (a fresh gradient that an op adds to instead of overwriting would
     * carry the first pass into the second). */
    ok = ok && analytic(g, group, loss, an, label, msg, msg_size) &&
         analytic(g, group, loss, an + n, label, msg, msg_size);
    for (size_t i = 0; ok && i < n; i++) {
        if (an[i] != an[n + i]) {
            snprintf(msg, msg_size,
                     "%s: two backward passes disagree at element %zu: %.9g "
                     "then %.9g",
                     label, i, an[i], an[n + i]);
            ok = false;
        }
    }
    ok = ok && compare(g, group, out, r, an + n, label, tol, msg, msg_size);
    free(an);
    free(r);
    return ok;
}

void gm_gradcheck_fill(gm_rng *r, float *x, size_t n, float lo, float hi,
                       float min_abs) {
    for (size_t i = 0; i < n; i++) {
        float v;
        do {
            v = lo + (hi - lo) * (float)gm_rng_uniform(r);
        } while (fabsf(v) < min_abs);
        x[i] = v;
    }
}
