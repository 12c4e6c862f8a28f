/* The Markdown tables of the docs, as the tests that hold them to gm's
 * own tables (layer kinds, dataset kinds, metrics) read them. */
#ifndef GM_TEST_DOC_TABLE_H
#define GM_TEST_DOC_TABLE_H

#include <stdbool.h>

enum { DOC_CELL = 512 };

/* Copies the trimmed cell that starts at *p (just after a '|') into
 * out[DOC_CELL] and moves *p past its closing '|'; "\|" inside a cell is
 * text. */
void doc_next_cell(const char **p, char *out);

/* The text of a cell that is one code span ("`name`") into out[DOC_CELL];
 * false if the cell is not one. */
bool doc_code_cell(const char *cell, char *out);

#endif
