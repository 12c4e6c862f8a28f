/* gm/hparams.h: typed hyperparameters that objectives declare.
 *
 * An objective lists its hyperparameters as a table of gm_hparam_spec
 * (name, type, default, range or choices, one-line doc). The runner checks
 * a model's `params:` against that table and hands the objective a
 * gm_hparams holding every value, defaults filled in. */
#ifndef GM_HPARAMS_H
#define GM_HPARAMS_H

#include <stdbool.h>

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
    double min, max;            /* inclusive range for numbers (give
                                   -INFINITY/INFINITY for an open one:
                                   0 and 0 allow only 0) */
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

/* The value of `name` (numbers and bools); `fallback` if there is none. */
double gm_hparams_number(const gm_hparams *h, const char *name,
                         double fallback);

/* The value of a choice; NULL if there is none. */
const char *gm_hparams_choice(const gm_hparams *h, const char *name);

#endif
