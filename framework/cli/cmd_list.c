/* gm list: the objectives (built in, and those of --plugin libraries),
 * the datasets and the layer kinds of a network's layer list. */
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "cli.h"
#include "gm/data.h"
#include "gm/metric_info.h"
#include "gm/nn.h"
#include "gm/registry.h"

static const char usage[] = "usage: gm list objectives [--plugin LIB.so ...]\n"
                            "       gm list datasets\n"
                            "       gm list layers\n";

static void print_hparam(const gm_hparam_spec *h) {
    printf("    %-14s ", h->name);
    switch (h->type) {
    case GM_HP_FLOAT:
    case GM_HP_INT:
        printf("%s", h->type == GM_HP_INT ? "integer" : "number");
        if (gm_hparam_bounded(h)) printf(" in [%g, %g]", h->min, h->max);
        printf(", default %g", h->def);
        break;
    case GM_HP_BOOL:
        printf("true|false, default %s", h->def != 0 ? "true" : "false");
        break;
    case GM_HP_CHOICE:
        for (int i = 0; h->choices && h->choices[i]; i++)
            printf("%s%s", i ? "|" : "", h->choices[i]);
        printf(", default %s", h->def_choice ? h->def_choice : "-");
        break;
    }
    printf("\n    %-14s %s\n", "", h->doc ? h->doc : "");
}

static void list_objectives(const gm_registry *r) {
    for (int i = 0; i < gm_registry_count(r); i++) {
        const gm_objective_schema *s = &gm_registry_at(r, i)->schema;
        printf("%s — %s\n  networks:", s->name, s->summary ? s->summary : "");
        for (int k = 0; k < s->n_roles; k++) printf(" %s", s->roles[k]);
        printf("\n  headline:");
        for (int k = 0; k < s->n_headline; k++)
            printf(" %s", s->headline[k]);
        printf("\n  metrics:\n");
        for (int k = 0; k < s->n_metrics; k++)
            printf("    %-22s %s (better: %s)\n", s->metrics[k].name,
                   s->metrics[k].unit,
                   gm_better_name(s->metrics[k].better));
        printf("  params:\n");
        for (int k = 0; k < s->n_hparams; k++) print_hparam(&s->hparams[k]);
        putchar('\n');
    }
}

int cmd_list(int argc, char **argv) {
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    bool objectives = argc >= 2 && strcmp(argv[1], "objectives") == 0;
    int bad = 2; /* the first argument out of place */
    while (objectives && bad + 1 < argc && strcmp(argv[bad], "--plugin") == 0)
        bad += 2;
    if (argc < 2 || bad < argc) {
        if (argc < 2)
            cli_error("list", "missing what to list");
        else if (strcmp(argv[bad], "--plugin") == 0)
            cli_error("list", "--plugin needs a library");
        else
            cli_error("list", "unexpected argument '%s'", argv[bad]);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (objectives) {
        gm_registry *r = gm_builtin_registry();
        if (!r) {
            cli_error("list", "out of memory");
            return EXIT_USER;
        }
        gm_error err = {0};
        for (int i = 3; i < argc; i += 2)
            if (!gm_registry_load(r, argv[i], &err)) {
                cli_error("list", "%s", err.message);
                gm_registry_free(r);
                return EXIT_USER;
            }
        list_objectives(r);
        gm_registry_free(r);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "datasets") == 0) {
        for (int i = 0; gm_dataset_kind_at(i); i++) {
            const gm_dataset_kind *k = gm_dataset_kind_at(i);
            char keys[512];
            printf("%-14s %s\n  %-12s %s\n", k->name, k->summary, "keys:",
                   gm_dataset_kind_keys(k, keys, sizeof keys));
        }
        return EXIT_OK;
    }
    if (strcmp(argv[1], "layers") == 0) {
        for (int k = 0; k < GM_LAYER_KIND_COUNT; k++) {
            gm_layer_kind kind = (gm_layer_kind)k;
            if (!gm_layer_kind_key(kind, 0)) { /* no arguments */
                printf("%s", gm_layer_kind_name(kind));
            } else {
                printf("%-17s", gm_layer_kind_name(kind));
                for (int i = 0; gm_layer_kind_key(kind, i); i++)
                    printf("%s%s", i ? ", " : " ", gm_layer_kind_key(kind, i));
            }
            putchar('\n');
        }
        return EXIT_OK;
    }
    cli_error("list", "unknown list '%s' (objectives, datasets or layers)",
              argv[1]);
    return EXIT_USAGE;
}
