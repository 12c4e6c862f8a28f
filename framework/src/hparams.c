#include "gm/hparams.h"

#include <stdio.h>
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

static int find(const gm_hparams *h, const char *name) {
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->item[i].name, name) == 0) return i;
    return -1;
}

double gm_hparams_number(const gm_hparams *h, const char *name,
                         double fallback) {
    int i = find(h, name);
    return i >= 0 && h->item[i].type != GM_HP_CHOICE ? h->item[i].number
                                                     : fallback;
}

const char *gm_hparams_choice(const gm_hparams *h, const char *name) {
    int i = find(h, name);
    return i >= 0 && h->item[i].type == GM_HP_CHOICE ? h->item[i].choice : NULL;
}
