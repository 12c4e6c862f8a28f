/* gm list: what is built in. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gm/data.h"
#include "gm/registry.h"

static const char usage[] = "usage: gm list objectives|datasets\n";

static void print_hparam(const gm_hparam_spec *h) {
    printf("    %-14s ", h->name);
    switch (h->type) {
    case GM_HP_FLOAT:
        printf("number in [%g, %g], default %g", h->min, h->max, h->def);
        break;
    case GM_HP_INT:
        printf("integer in [%g, %g], default %g", h->min, h->max, h->def);
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
        printf("\n  params:\n");
        for (int k = 0; k < s->n_hparams; k++) print_hparam(&s->hparams[k]);
        putchar('\n');
    }
}

int cmd_list(int argc, char **argv) {
    if (argc >= 2 && cli_is_help(argv[1])) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (argc != 2) {
        if (argc < 2)
            cli_error("list", "missing what to list");
        else
            cli_error("list", "unexpected argument '%s'", argv[2]);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "objectives") == 0) {
        gm_registry *r = gm_registry_create();
        if (!r) {
            cli_error("list", "out of memory");
            return EXIT_USER;
        }
        list_objectives(r);
        gm_registry_free(r);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "datasets") == 0) {
        for (int i = 0; gm_dataset_kind_at(i); i++) {
            const gm_dataset_kind *k = gm_dataset_kind_at(i);
            printf("%-14s %s\n  %-12s %s\n", k->name, k->summary, "keys:",
                   k->params);
        }
        return EXIT_OK;
    }
    cli_error("list", "unknown list '%s' (objectives or datasets)", argv[1]);
    return EXIT_USAGE;
}
