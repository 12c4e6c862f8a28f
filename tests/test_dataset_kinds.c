/* The table of dataset kinds (framework/src/data/dataset_kinds.c) and the
 * docs that list the kinds agree: docs/architecture.md's table of kinds
 * row for row (name and keys with their defaults), README.md's experiment
 * file and gm/data.h's list of kinds name for name. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc_table.h"
#include "gm/data.h"

enum { MAX_KINDS = 64 };

typedef struct names {
    char name[MAX_KINDS][DOC_CELL];
    int n;
} names;

static char *read_doc(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *copy = strdup(text);
    cr_assert_not_null(copy);
    return copy;
}

/* The words ([a-z0-9_]+) of s[0..len) into out. */
static void words(const char *s, size_t len, names *out) {
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        while (i + n < len && (islower((unsigned char)s[i + n]) ||
                               isdigit((unsigned char)s[i + n]) ||
                               s[i + n] == '_'))
            n++;
        if (n > 0 && out->n < MAX_KINDS)
            snprintf(out->name[out->n++], DOC_CELL, "%.*s", (int)n, s + i);
        i += n ? n : 1;
    }
}

/* The table's kinds, in order. */
static names table_kinds(void) {
    names t = {.n = 0};
    for (int i = 0; gm_dataset_kind_at(i); i++)
        snprintf(t.name[t.n++], DOC_CELL, "%s", gm_dataset_kind_at(i)->name);
    return t;
}

static void assert_same_kinds(const names *doc, const char *where) {
    names t = table_kinds();
    cr_assert_eq(doc->n, t.n, "%s lists %d dataset kinds, the table %d",
                 where, doc->n, t.n);
    for (int i = 0; i < t.n; i++)
        cr_assert_str_eq(doc->name[i], t.name[i], "%s: kind %d", where,
                         i + 1);
}

Test(dataset_kinds, architecture_md_has_a_row_per_kind_with_its_keys) {
    const char *doc = GM_SOURCE_DIR "/docs/architecture.md";
    char *text = read_doc(doc);
    const char *p = strstr(text, "\n  | kind | keys |");
    cr_assert_not_null(p, "%s has no table of dataset kinds", doc);
    p = strchr(p + 1, '\n') + 1; /* the header's rule */
    p = strchr(p, '\n') + 1;
    int i = 0;
    for (; strncmp(p, "  | `", 5) == 0; i++) {
        const gm_dataset_kind *k = gm_dataset_kind_at(i);
        cr_assert_not_null(k, "%s: row %d has no kind in the table", doc,
                           i + 1);
        p = strchr(p, '|') + 1;
        char name[DOC_CELL], keys[DOC_CELL], want[DOC_CELL];
        doc_next_cell(&p, name);
        doc_next_cell(&p, keys);
        char quoted[DOC_CELL];
        snprintf(quoted, sizeof quoted, "`%s`", k->name);
        cr_assert_str_eq(name, quoted, "%s: row %d", doc, i + 1);
        cr_assert_str_eq(keys, gm_dataset_kind_keys(k, want, sizeof want),
                         "%s: the keys of %s", doc, k->name);
        p = strchr(p, '\n') + 1;
    }
    cr_assert_null(gm_dataset_kind_at(i), "%s lists %d kinds, the table more",
                   doc, i);
    free(text);
}

Test(dataset_kinds, readme_names_every_kind_in_the_experiment_file) {
    const char *doc = GM_SOURCE_DIR "/README.md";
    char *text = read_doc(doc);
    /* dataset:      # ring | grid | ...
     *   # ... | hdf5 */
    const char *line = strstr(text, "\ndataset:");
    cr_assert_not_null(line, "%s: no dataset: in its experiment file", doc);
    const char *from = strchr(line + 1, '#'), *to = strchr(line + 1, '\n');
    cr_assert(from && from < to, "%s: dataset: lists no kinds", doc);
    while (strncmp(to, "\n  #", 4) == 0)
        to = strchr(to + 1, '\n');
    names listed = {.n = 0};
    words(from, (size_t)(to - from), &listed);
    assert_same_kinds(&listed, doc);
    free(text);
}

Test(dataset_kinds, data_h_describes_every_kind) {
    const char *doc = GM_SOURCE_DIR "/framework/include/gm/data.h";
    char *text = read_doc(doc);
    /*  * Kinds (the `name` of a gm_dataset_spec):
     *  *   ring, grid     synthetic ...
     *  *                  (continued)              */
    const char *p = strstr(text, " * Kinds (");
    cr_assert_not_null(p, "%s: no list of kinds", doc);
    names listed = {.n = 0};
    for (p = strchr(p, '\n') + 1; strncmp(p, " *   ", 5) == 0;
         p = strchr(p, '\n') + 1)
        if (p[5] != ' ') {
            const char *end = strstr(p + 5, "  ");
            words(p + 5, (size_t)(end - (p + 5)), &listed);
        }
    assert_same_kinds(&listed, doc);
    free(text);
}

Test(dataset_kinds, keys_show_their_defaults) {
    char keys[DOC_CELL];
    cr_assert_str_eq(gm_dataset_kind_keys(gm_dataset_kind_at(0), keys,
                                          sizeof keys),
                     "modes: 8, radius: 2, std: 0.02, size: 100000");
    for (int i = 0; gm_dataset_kind_at(i); i++)
        if (strcmp(gm_dataset_kind_at(i)->name, "fashion_mnist") == 0)
            cr_assert_str_eq(
                gm_dataset_kind_keys(gm_dataset_kind_at(i), keys, sizeof keys),
                "path: " GM_FASHION_MNIST_DIR);
    /* cut to fit, terminated */
    cr_assert_str_eq(gm_dataset_kind_keys(gm_dataset_kind_at(0), keys, 6),
                     "modes");
}
