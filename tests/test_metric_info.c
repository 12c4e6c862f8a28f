/* The metric tables: gm's own and the built-in objectives' declared
 * units and directions agree with docs/metrics.md's two tables, and a
 * model's headline is its objective's metrics, then gm's sample-based
 * ones. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "doc_table.h"
#include "gm/metric_info.h"
#include "gm/registry.h"

#define DOC GM_SOURCE_DIR "/docs/metrics.md"

enum { MAX_ROWS = 128 };

typedef struct doc_row {
    char name[DOC_CELL], unit[DOC_CELL], better[DOC_CELL];
} doc_row;

/* The rows "| `name` | unit | better | ..." of the doc's table under
 * the heading `section`. */
static int read_doc_rows(const char *section, doc_row *rows) {
    FILE *f = fopen(DOC, "r");
    cr_assert_not_null(f, "cannot open %s", DOC);
    char line[2048];
    int n = 0;
    bool in = false;
    while (fgets(line, sizeof line, f) && n < MAX_ROWS) {
        if (line[0] == '#') in = strstr(line, section) != NULL;
        if (!in || strncmp(line, "| `", 3) != 0) continue;
        const char *p = line + 1;
        char name[DOC_CELL];
        doc_next_cell(&p, name);
        cr_assert(doc_code_cell(name, rows[n].name), "%s: bad row: %s", DOC,
                  line);
        doc_next_cell(&p, rows[n].unit);
        doc_next_cell(&p, rows[n].better);
        n++;
    }
    fclose(f);
    cr_assert_gt(n, 0, "%s: no table under '%s'", DOC, section);
    return n;
}

#define OWN "gm's own metrics"
#define OBJECTIVES "The objectives' metrics"

Test(metric_info, gms_own_table_and_docs_agree_row_for_row) {
    static doc_row rows[MAX_ROWS];
    int n = read_doc_rows(OWN, rows);
    cr_assert_eq(n, gm_metric_info_count(),
                 "%s has %d rows of gm's own metrics, own_metrics.c %d", DOC,
                 n, gm_metric_info_count());
    for (int i = 0; i < n; i++) {
        const gm_metric_info *m = gm_metric_info_at(i);
        cr_assert_str_eq(rows[i].name, m->name, "row %d", i + 1);
        cr_assert_str_eq(rows[i].unit, m->unit, "%s's unit", m->name);
        cr_assert_str_eq(rows[i].better, gm_better_name(m->better),
                         "%s's direction", m->name);
    }
}

/* Every metric a built-in objective declares has one row in the doc, with
 * the unit and direction of every declaration of it, and every row is
 * some built-in's. */
Test(metric_info, builtin_declarations_and_docs_agree) {
    static doc_row rows[MAX_ROWS];
    int n = read_doc_rows(OBJECTIVES, rows);
    bool used[MAX_ROWS] = {false};
    gm_registry *r = gm_builtin_registry();
    cr_assert_not_null(r);
    for (int o = 0; o < gm_registry_count(r); o++) {
        const gm_objective_schema *s = &gm_registry_at(r, o)->schema;
        cr_assert_gt(s->n_metrics, 0, "%s declares no metric", s->name);
        for (int k = 0; k < s->n_metrics; k++) {
            const gm_metric_info *m = &s->metrics[k];
            int row = -1;
            for (int i = 0; i < n; i++)
                if (strcmp(rows[i].name, m->name) == 0) row = i;
            cr_assert_geq(row, 0, "%s's metric %s has no row in %s", s->name,
                          m->name, DOC);
            cr_assert_str_eq(rows[row].unit, m->unit, "%s's %s: unit",
                             s->name, m->name);
            cr_assert_str_eq(rows[row].better, gm_better_name(m->better),
                             "%s's %s: direction", s->name, m->name);
            cr_assert_null(gm_metric_info_find(m->name),
                           "%s's %s is also one of gm's own", s->name,
                           m->name);
            used[row] = true;
        }
    }
    for (int i = 0; i < n; i++)
        cr_assert(used[i], "%s: %s is no built-in objective's", DOC,
                  rows[i].name);
    gm_registry_free(r);
}

Test(metric_info, find_knows_every_phase_loss_and_no_objectives_metric) {
    const gm_metric_info *m = gm_metric_info_find("loss_discriminator");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->name, "loss_<phase>");
    cr_assert_not_null(gm_metric_info_find("kl_data_model_iwae"));
    cr_assert_null(gm_metric_info_find("iwae_logpx"), "vae_elbo's own");
    cr_assert_null(gm_metric_info_find("my_plugin_score"));
    cr_assert_null(gm_metric_info_at(gm_metric_info_count()));
    gm_registry *r = gm_builtin_registry();
    gm_error err = {0};
    const gm_objective *vae = gm_registry_find(r, "vae_elbo", NULL, &err);
    cr_assert_not_null(vae, "%s", err.message);
    m = gm_metric_info_of(&vae->schema, "iwae_logpx");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->unit, "nats per example");
    cr_assert_eq(m->better, GM_BETTER_HIGHER);
    cr_assert_eq(gm_metric_info_of(&vae->schema, "modes_covered"),
                 gm_metric_info_find("modes_covered"), "gm's own after");
    cr_assert_null(gm_metric_info_of(&vae->schema, "my_plugin_score"));
    gm_registry_free(r);
}

/* Every built-in objective declares a headline of metrics it or gm
 * describes, held-out ones first. */
Test(metric_info, builtin_headlines_are_known_metrics_held_out_first) {
    gm_registry *r = gm_builtin_registry();
    cr_assert_not_null(r);
    for (int i = 0; i < gm_registry_count(r); i++) {
        const gm_objective_schema *s = &gm_registry_at(r, i)->schema;
        cr_assert_gt(s->n_headline, 0, "%s has no headline", s->name);
        for (int h = 0; h < s->n_headline; h++)
            cr_assert_not_null(gm_metric_info_of(s, s->headline[h]),
                               "%s: %s is not declared", s->name,
                               s->headline[h]);
    }
    gm_error err = {0};
    const gm_objective *vae = gm_registry_find(r, "vae_elbo", NULL, &err);
    cr_assert_not_null(vae, "%s", err.message);
    const char *names[GM_MAX_HEADLINE];
    int n = gm_headline_metrics(&vae->schema, names);
    const char *want[] = {"elbo_eval",   "iwae_logpx",    "distortion",
                          "rate",        "active_units",  "modes_covered",
                          "hq_fraction", "kl_data_model", "kl_model_data",
                          "kl_modes",    "precision",     "recall",
                          "density",     "coverage",      "fd_classifier"};
    cr_assert_eq(n, 15);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(names[i], want[i]);
    cr_assert_eq(gm_headline_metrics(NULL, names), 10, "gm's own alone");
    cr_assert_str_eq(names[0], "modes_covered");
    gm_registry_free(r);
}
