#include "gm/hparams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gm_hparams_defaults(gm_hparams *out, const gm_hparam_spec *specs, int n) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n && i < GM_HPARAMS_MAX; i++) {
        out->item[i].name = specs[i].name;
        out->item[i].type = specs[i].type;
        out->item[i].number = specs[i].def;
        if (specs[i].type == GM_HP_CHOICE && specs[i].def_choice)
            snprintf(out->item[i].choice, GM_HPARAM_STR_MAX, "%s",
                     specs[i].def_choice);
        out->n = i + 1;
    }
}

bool gm_hparam_bounded(const gm_hparam_spec *spec) {
    return spec->min != 0.0 || spec->max != 0.0;
}

/* The item `name` of the wanted kind; aborts on a name the objective did
 * not declare, since no default can stand in for a typo. */
static int find(const gm_hparams *h, const char *name, bool choice) {
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->item[i].name, name) == 0 &&
            (h->item[i].type == GM_HP_CHOICE) == choice)
            return i;
    fprintf(stderr,
            "gm internal error: the objective reads the %s hyperparameter "
            "'%s', which its table does not declare\n",
            choice ? "choice" : "number", name);
    abort();
}

double gm_hparams_number(const gm_hparams *h, const char *name) {
    return h->item[find(h, name, false)].number;
}

const char *gm_hparams_choice(const gm_hparams *h, const char *name) {
    return h->item[find(h, name, true)].choice;
}

bool gm_hparams_is(const gm_hparams *h, const char *name, const char *value) {
    return strcmp(gm_hparams_choice(h, name), value) == 0;
}

bool gm_hparams_declares(const gm_hparams *h, const char *name) {
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->item[i].name, name) == 0) return true;
    return false;
}
