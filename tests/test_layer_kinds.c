/* The table of layer kinds and README.md's table of layers agree row for
 * row: the names in order, each kind's arguments, and which kinds are the
 * activations an MLP may name. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "doc_table.h"
#include "gm/nn.h"

#define DOC GM_SOURCE_DIR "/README.md"
#define HEADER "| layer | arguments |"

enum { MAX_ROWS = 64, MAX_ARGS = 8 };

typedef struct doc_row {
    char name[DOC_CELL];
    char args[MAX_ARGS][DOC_CELL];
    int n_args;
    bool activation;
} doc_row;

/* The keys of "`out`, `stride: 1`, ...": each `code` span up to its ':';
 * a shape (`[C, H, W]`) is reshape's value, not a key. */
static void read_args(const char *cell, doc_row *row) {
    for (const char *s = strchr(cell, '`'); s; s = strchr(s + 1, '`')) {
        const char *end = strchr(s + 1, '`');
        cr_assert_not_null(end, "%s: unclosed ` in %s", DOC, cell);
        size_t len = strcspn(s + 1, ":`");
        if (s[1] != '[') {
            cr_assert_lt(row->n_args, MAX_ARGS);
            snprintf(row->args[row->n_args++], DOC_CELL, "%.*s", (int)len, s + 1);
        }
        s = end;
    }
}

/* The rows of the table under HEADER. */
static int read_doc_rows(doc_row *rows) {
    FILE *f = fopen(DOC, "r");
    cr_assert_not_null(f, "cannot open %s", DOC);
    char line[2048];
    bool inside = false;
    int n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_ROWS) {
        if (strncmp(line, HEADER, strlen(HEADER)) == 0) {
            cr_assert(fgets(line, sizeof line, f), "%s: no table", DOC);
            inside = true;
            continue;
        }
        if (!inside) continue;
        if (line[0] != '|') break;
        const char *p = line + 1;
        char cell[DOC_CELL];
        doc_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        doc_next_cell(&p, cell);
        cr_assert(doc_code_cell(cell, r->name), "%s: bad row: %s", DOC, line);
        doc_next_cell(&p, cell);
        read_args(cell, r);
        doc_next_cell(&p, cell); /* the PyTorch module */
        doc_next_cell(&p, cell);
        r->activation = strcmp(cell, "yes") == 0;
    }
    fclose(f);
    cr_assert(inside, "%s has no table headed \"%s\"", DOC, HEADER);
    return n;
}

Test(layer_kinds, code_table_and_readme_agree_row_for_row) {
    static doc_row rows[MAX_ROWS];
    int n = read_doc_rows(rows);
    cr_assert_eq(n, GM_LAYER_KIND_COUNT, "%s has %d layers, the table %d", DOC,
                 n, GM_LAYER_KIND_COUNT);
    for (int k = 0; k < n; k++) {
        const char *name = gm_layer_kind_name((gm_layer_kind)k);
        cr_assert_str_eq(rows[k].name, name, "row %d", k + 1);
        int i = 0;
        for (; gm_layer_kind_key((gm_layer_kind)k, i); i++) {
            cr_assert_lt(i, rows[k].n_args, "%s: %s's argument %s missing", DOC,
                         name, gm_layer_kind_key((gm_layer_kind)k, i));
            cr_assert_str_eq(rows[k].args[i],
                             gm_layer_kind_key((gm_layer_kind)k, i),
                             "%s's argument %d", name, i + 1);
        }
        cr_assert_eq(i, rows[k].n_args, "%s: %s has %d arguments, not %d", DOC,
                     name, i, rows[k].n_args);
        gm_activation a;
        cr_assert_eq(rows[k].activation, gm_activation_parse(name, &a),
                     "%s: is %s an MLP activation?", DOC, name);
    }
}
