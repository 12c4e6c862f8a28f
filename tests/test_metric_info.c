/* The metric table: the code's units and directions agree with
 * docs/metrics.md row for row, and a model's headline is its objective's
 * metrics, then gm's sample-based ones. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "gm/metric_info.h"
#include "gm/registry.h"

#define DOC GM_SOURCE_DIR "/docs/metrics.md"

enum { MAX_ROWS = 128, CELL = 256 };

typedef struct doc_row {
    char name[CELL], unit[CELL], better[CELL];
} doc_row;

/* Copies the trimmed cell that starts at *p (after a '|') and moves *p
 * past its closing '|'; "\|" inside a cell is text. */
static void next_cell(const char **p, char *out) {
    const char *s = *p;
    while (*s == ' ')
        s++;
    size_t n = 0;
    for (; *s && *s != '\n' && !(*s == '|' && s[-1] != '\\'); s++)
        if (n + 1 < CELL) out[n++] = *s;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    *p = *s == '|' ? s + 1 : s;
}

/* The rows "| `name` | unit | better | ..." of the doc's metric table. */
static int read_doc_rows(doc_row *rows) {
    FILE *f = fopen(DOC, "r");
    cr_assert_not_null(f, "cannot open %s", DOC);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_ROWS) {
        if (strncmp(line, "| `", 3) != 0) continue;
        const char *p = line + 1;
        char name[CELL];
        next_cell(&p, name);
        size_t len = strlen(name);
        cr_assert(len > 2 && name[len - 1] == '`', "%s: bad row: %s", DOC,
                  line);
        snprintf(rows[n].name, CELL, "%.*s", (int)(len - 2), name + 1);
        next_cell(&p, rows[n].unit);
        next_cell(&p, rows[n].better);
        n++;
    }
    fclose(f);
    return n;
}

Test(metric_info, code_table_and_docs_agree_row_for_row) {
    static doc_row rows[MAX_ROWS];
    int n = read_doc_rows(rows);
    cr_assert_eq(n, gm_metric_info_count(),
                 "%s has %d metric rows, metric_info.c %d", DOC, n,
                 gm_metric_info_count());
    for (int i = 0; i < n; i++) {
        const gm_metric_info *m = gm_metric_info_at(i);
        cr_assert_str_eq(rows[i].name, m->name, "row %d", i + 1);
        cr_assert_str_eq(rows[i].unit, m->unit, "%s's unit", m->name);
        cr_assert_str_eq(rows[i].better, gm_better_name(m->better),
                         "%s's direction", m->name);
    }
}

Test(metric_info, find_knows_every_phase_loss_and_not_a_plugins_metric) {
    const gm_metric_info *m = gm_metric_info_find("loss_discriminator");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->name, "loss_<phase>");
    m = gm_metric_info_find("iwae_logpx");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->unit, "nats per example");
    cr_assert_eq(m->better, GM_BETTER_HIGHER);
    cr_assert_null(gm_metric_info_find("my_plugin_score"));
    cr_assert_null(gm_metric_info_at(gm_metric_info_count()));
}

/* Every built-in objective declares a headline of metrics gm knows,
 * held-out ones first. */
Test(metric_info, builtin_headlines_are_known_metrics_held_out_first) {
    gm_registry *r = gm_builtin_registry();
    cr_assert_not_null(r);
    for (int i = 0; i < gm_registry_count(r); i++) {
        const gm_objective_schema *s = &gm_registry_at(r, i)->schema;
        cr_assert_gt(s->n_headline, 0, "%s has no headline", s->name);
        for (int h = 0; h < s->n_headline; h++)
            cr_assert_not_null(gm_metric_info_find(s->headline[h]),
                               "%s: %s is not in %s", s->name, s->headline[h],
                               DOC);
    }
    gm_error err = {0};
    const gm_objective *vae = gm_registry_find(r, "vae_elbo", NULL, &err);
    cr_assert_not_null(vae, "%s", err.message);
    const char *names[GM_MAX_HEADLINE];
    int n = gm_headline_metrics(&vae->schema, names);
    const char *want[] = {"elbo_eval",   "iwae_logpx",    "distortion",
                          "rate",        "active_units",  "modes_covered",
                          "hq_fraction", "kl_data_model", "kl_model_data",
                          "kl_modes"};
    cr_assert_eq(n, 10);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(names[i], want[i]);
    cr_assert_eq(gm_headline_metrics(NULL, names), 5, "gm's own alone");
    cr_assert_str_eq(names[0], "modes_covered");
    gm_registry_free(r);
}
