#include "doc_table.h"

#include <stdio.h>
#include <string.h>

void doc_next_cell(const char **p, char *out) {
    const char *start = *p, *s = *p;
    while (*s == ' ')
        s++;
    size_t n = 0;
    for (; *s && *s != '\n' && !(*s == '|' && (s == start || s[-1] != '\\'));
         s++)
        if (n + 1 < DOC_CELL) out[n++] = *s;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    *p = *s == '|' ? s + 1 : s;
}

bool doc_code_cell(const char *cell, char *out) {
    size_t len = strlen(cell);
    if (len <= 2 || cell[0] != '`' || cell[len - 1] != '`') return false;
    snprintf(out, DOC_CELL, "%.*s", (int)(len - 2), cell + 1);
    return true;
}
