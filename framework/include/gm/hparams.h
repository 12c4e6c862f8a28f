/* gm/hparams.h: typed hyperparameters that objectives declare.
 *
 * An objective lists its hyperparameters as a table of gm_hparam_spec
 * (name, type, default, range or choices, one-line doc). The runner checks
 * a model's `params:` against that table and hands the objective a
 * gm_hparams holding every value, defaults filled in. */
#ifndef GM_HPARAMS_H
#define GM_HPARAMS_H

#include <stdbool.h>

#include "gm/api.h"

GM_API_BEGIN

typedef enum gm_hparam_type {
    GM_HP_FLOAT,  /* a number in [min, max] */
    GM_HP_INT,    /* an integer in [min, max] */
    GM_HP_BOOL,   /* true or false */
    GM_HP_CHOICE, /* one of `choices` */
} gm_hparam_type;

typedef struct gm_hparam_spec {
    const char *name;
    gm_hparam_type type;
    double def;                 /* default for numbers and bools */
    double min, max;            /* inclusive range for numbers; both left
                                   out (0 and 0) means unbounded, and
                                   -INFINITY or INFINITY opens one side */
    const char *const *choices; /* NULL-terminated, for GM_HP_CHOICE */
    const char *def_choice;     /* default for GM_HP_CHOICE */
    const char *doc;            /* one line, shown by `gm list objectives` */
} gm_hparam_spec;

#define GM_HPARAMS_MAX 32
#define GM_HPARAM_STR_MAX 64

/* Resolved values, one per spec entry, in the spec's order. */
typedef struct gm_hparams {
    int n;
    struct {
        const char *name; /* points into the spec table */
        gm_hparam_type type;
        double number;                 /* FLOAT, INT, BOOL (0 or 1) */
        char choice[GM_HPARAM_STR_MAX]; /* CHOICE */
    } item[GM_HPARAMS_MAX];
} gm_hparams;

/* Fills `out` with the defaults of specs[0..n). */
void gm_hparams_defaults(gm_hparams *out, const gm_hparam_spec *specs, int n);

/* Whether a number hyperparameter has a range: false when its min and max
 * are both 0, i.e. left out of the table. */
bool gm_hparam_bounded(const gm_hparam_spec *spec);

/* The value of the number or bool `name`. Defaults live only in the spec
 * table: a name the table lacks, or one of another type, is a bug in the
 * objective (a typo would otherwise fall back silently), so it aborts
 * naming the hyperparameter. */
double gm_hparams_number(const gm_hparams *h, const char *name);

/* The value of the choice `name`; aborts as gm_hparams_number does. */
const char *gm_hparams_choice(const gm_hparams *h, const char *name);

/* Whether the choice `name` is `value`. */
bool gm_hparams_is(const gm_hparams *h, const char *name, const char *value);

/* Whether the objective's table declares `name`: for code that several
 * objectives share, where one of them has a setting the others lack. */
bool gm_hparams_declares(const gm_hparams *h, const char *name);

GM_API_END

#endif
