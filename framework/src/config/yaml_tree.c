/* Building the document tree from libyaml's event stream. */
#include "config/yaml_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config_internal.h"
#include "config/name_index.h"

/* Deeper documents are refused so that the recursive walks stay shallow. */
#define GM_YTREE_MAX_DEPTH 64

gm_ynode *gm_ynode_new(gm_ynode_kind kind, int line, int col, const char *set) {
    gm_ynode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->set = set;
    return n;
}

bool gm_ynode_append(gm_ynode *parent, gm_ynode *child) {
    if (parent->n == parent->cap) {
        int cap = parent->cap ? 2 * parent->cap : 8;
        gm_ynode **c = realloc(parent->child, (size_t)cap * sizeof *c);
        if (!c) return false;
        parent->child = c;
        parent->cap = cap;
    }
    parent->child[parent->n++] = child;
    return true;
}

void gm_ynode_free(gm_ynode *node) {
    if (!node) return;
    for (int i = 0; i < node->n; i++)
        gm_ynode_free(node->child[i]);
    free(node->child);
    free(node->text);
    free(node);
}

gm_ynode *gm_ynode_clone(const gm_ynode *node) {
    gm_ynode *c = gm_ynode_new(node->kind, node->line, node->col, node->set);
    if (!c) return NULL;
    c->plain = node->plain;
    c->style = node->style;
    if (node->text && !(c->text = strdup(node->text))) {
        gm_ynode_free(c);
        return NULL;
    }
    for (int i = 0; i < node->n; i++) {
        gm_ynode *child = gm_ynode_clone(node->child[i]);
        if (!child || !gm_ynode_append(c, child)) {
            gm_ynode_free(child);
            gm_ynode_free(c);
            return NULL;
        }
    }
    return c;
}

int gm_ymap_find(const gm_ynode *m, const char *key) {
    for (int i = 0; i < gm_ymap_len(m); i++)
        if (strcmp(gm_ymap_key(m, i)->text, key) == 0) return i;
    return -1;
}

bool gm_ynode_is_null(const gm_ynode *node) {
    if (node->kind != GM_YSCALAR || !node->plain) return false;
    const char *t = node->text;
    return !t[0] || !strcmp(t, "~") || !strcmp(t, "null") ||
           !strcmp(t, "Null") || !strcmp(t, "NULL");
}

/* The parser's state: the open collections from the root down. */
typedef struct ybuild {
    const gm_ysource *src;
    gm_error *err;
    gm_ynode *root;
    gm_ynode *stack[GM_YTREE_MAX_DEPTH];
    int depth;
    gm_name_index keys; /* every mapping's keys, for duplicates */
} ybuild;

static gm_status fail(ybuild *b, int line, int col, const char *path,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static gm_status fail(ybuild *b, int line, int col, const char *path,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gm_cfg_verror(b->err, GM_ERR_INVALID, b->src->source, b->src->set, line,
                  col, path, fmt, ap);
    va_end(ap);
    return GM_ERR_INVALID;
}

/* The key path of the innermost open collection, base path included. */
static void open_path(const ybuild *b, char *out, size_t cap) {
    snprintf(out, cap, "%s", b->src->base_path);
    for (int i = 1; i < b->depth; i++) {
        const gm_ynode *parent = b->stack[i - 1];
        char seg[GM_CFG_PATH_MAX];
        if (parent->kind == GM_YMAP)
            snprintf(seg, sizeof seg, "%s", parent->child[parent->n - 2]->text);
        else
            snprintf(seg, sizeof seg, "[%d]", parent->n - 1);
        gm_cfg_path_join(out, cap, out, seg);
    }
}

/* The key path of the node an event is about to add. */
static void event_path(const ybuild *b, char *out, size_t cap) {
    open_path(b, out, cap);
    if (b->depth == 0) return;
    const gm_ynode *top = b->stack[b->depth - 1];
    char seg[GM_CFG_PATH_MAX];
    if (top->kind == GM_YMAP && top->n % 2 == 1)
        snprintf(seg, sizeof seg, "%s", top->child[top->n - 1]->text);
    else if (top->kind == GM_YSEQ)
        snprintf(seg, sizeof seg, "[%d]", top->n);
    else
        return;
    gm_cfg_path_join(out, cap, out, seg);
}

/* Adds a finished or freshly opened node under the innermost collection. */
static gm_status attach(ybuild *b, gm_ynode *node) {
    if (b->depth == 0) {
        b->root = node;
        return GM_OK;
    }
    gm_ynode *parent = b->stack[b->depth - 1];
    bool is_key = parent->kind == GM_YMAP && parent->n % 2 == 0;
    gm_status st = GM_OK;
    if (is_key && node->kind != GM_YSCALAR) {
        char path[GM_CFG_PATH_MAX];
        open_path(b, path, sizeof path);
        st = fail(b, node->line, node->col, path,
                  "mapping keys must be strings, not a %s",
                  node->kind == GM_YMAP ? "mapping" : "list");
    } else if (is_key) {
        int first =
            gm_name_index_add(&b->keys, parent, node->text, parent->n / 2);
        if (first == GM_NAME_NOMEM) {
            st = gm_error_set(b->err, GM_ERR_NOMEM,
                              "out of memory reading YAML");
        } else if (first >= 0) {
            char path[GM_CFG_PATH_MAX];
            open_path(b, path, sizeof path);
            gm_cfg_path_join(path, sizeof path, path, node->text);
            const gm_ynode *k = gm_ymap_key(parent, first);
            st = k->set ? fail(b, node->line, node->col, path,
                               "duplicate key \"%s\"", node->text)
                        : fail(b, node->line, node->col, path,
                               "duplicate key \"%s\" (first at line %d)",
                               node->text, k->line);
        }
    }
    if (st == GM_OK && !gm_ynode_append(parent, node))
        st = gm_error_set(b->err, GM_ERR_NOMEM, "out of memory reading YAML");
    if (st != GM_OK) gm_ynode_free(node);
    return st;
}

static gm_status open_node(ybuild *b, const yaml_event_t *ev,
                           gm_ynode_kind kind) {
    int line = (int)ev->start_mark.line + 1,
        col = (int)ev->start_mark.column + 1;
    if (b->depth == GM_YTREE_MAX_DEPTH)
        return fail(b, line, col, "", "nesting deeper than %d levels",
                    GM_YTREE_MAX_DEPTH);
    gm_ynode *n = gm_ynode_new(kind, line, col, b->src->set);
    if (!n) return gm_error_set(b->err, GM_ERR_NOMEM, "out of memory");
    n->style = kind == GM_YMAP
                   ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                   : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    gm_status st = attach(b, n);
    if (st == GM_OK) b->stack[b->depth++] = n;
    return st;
}

static gm_status add_scalar(ybuild *b, const yaml_event_t *ev) {
    int line = (int)ev->start_mark.line + 1,
        col = (int)ev->start_mark.column + 1;
    /* A "\0" escape would silently cut the C string the value becomes. */
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
        char path[GM_CFG_PATH_MAX];
        event_path(b, path, sizeof path);
        return fail(b, line, col, path,
                    "strings cannot contain a NUL character (\\0)");
    }
    gm_ynode *n = gm_ynode_new(GM_YSCALAR, line, col, b->src->set);
    char *text = n ? malloc(ev->data.scalar.length + 1) : NULL;
    if (!text) {
        free(n);
        return gm_error_set(b->err, GM_ERR_NOMEM, "out of memory");
    }
    memcpy(text, ev->data.scalar.value, ev->data.scalar.length);
    text[ev->data.scalar.length] = '\0';
    n->text = text;
    n->style = ev->data.scalar.style;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    return attach(b, n);
}

/* Anchors, aliases and tags would make one node mean two things, or a
 * type other than what its text says; experiment files need neither. */
static gm_status check_plain_event(ybuild *b, const yaml_event_t *ev) {
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default: return GM_OK;
    }
    if (!anchor && !tag) return GM_OK;
    int line = (int)ev->start_mark.line + 1,
        col = (int)ev->start_mark.column + 1;
    char path[GM_CFG_PATH_MAX];
    event_path(b, path, sizeof path);
    if (anchor)
        return fail(b, line, col, path,
                    "anchors (&%s) and aliases are not supported", anchor);
    if (tag)
        return fail(b, line, col, path, "tags (%s) are not supported", tag);
    return GM_OK;
}

/* Position of a reader error, given as a byte offset into the input. */
static void offset_to_mark(const char *text, size_t offset, int *line,
                           int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && text[i]; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

/* The column (from 1) of a tab in the indentation of line `line` (from
 * 1) of text, or 0 if its indentation has none. */
static int indentation_tab(const char *text, int line) {
    for (int l = 1; l < line && *text; text++)
        l += *text == '\n';
    for (int col = 1; text[col - 1] == ' ' || text[col - 1] == '\t'; col++)
        if (text[col - 1] == '\t') return col;
    return 0;
}

static gm_status syntax_error(ybuild *b, const yaml_parser_t *p,
                              const char *text) {
    if (p->error == YAML_MEMORY_ERROR)
        return gm_error_set(b->err, GM_ERR_NOMEM, "out of memory reading YAML");
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(text, p->problem_offset, &line, &col);
    } else {
        line = (int)p->problem_mark.line + 1;
        col = (int)p->problem_mark.column + 1;
    }
    /* libyaml's words for a tab ("found character that cannot start any
     * token") do not say what to do. */
    int tab = p->error == YAML_READER_ERROR ? 0 : indentation_tab(text, line);
    if (tab)
        return fail(b, line, tab, "",
                    "a tab in the indentation: YAML indentation must be "
                    "spaces");
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->context)
        return fail(b, line, col, "", "YAML syntax error: %s (%s at line %d)",
                    problem, p->context, (int)p->context_mark.line + 1);
    return fail(b, line, col, "", "YAML syntax error: %s", problem);
}

static gm_status handle_event(ybuild *b, const yaml_event_t *ev, int *docs) {
    gm_status st = check_plain_event(b, ev);
    if (st != GM_OK) return st;
    int line = (int)ev->start_mark.line + 1,
        col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail(b, line, col, "",
                        "only one YAML document is allowed, found a second");
        return GM_OK;
    case YAML_ALIAS_EVENT: {
        char path[GM_CFG_PATH_MAX];
        event_path(b, path, sizeof path);
        return fail(b, line, col, path,
                    "aliases (*%s) and anchors are not supported",
                    ev->data.alias.anchor);
    }
    case YAML_SCALAR_EVENT: return add_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT: return open_node(b, ev, GM_YSEQ);
    case YAML_MAPPING_START_EVENT: return open_node(b, ev, GM_YMAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: b->depth--; return GM_OK;
    default: return GM_OK;
    }
}

gm_status gm_ytree_parse(const char *text, size_t len, const gm_ysource *src,
                         gm_ynode **out, gm_error *err) {
    *out = NULL;
    ybuild b = {.src = src, .err = err};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory reading YAML");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    gm_status st = GM_OK;
    int docs = 0;
    bool done = false;
    while (st == GM_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            st = syntax_error(&b, &p, text);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        st = handle_event(&b, &ev, &docs);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    gm_name_index_clear(&b.keys);
    if (st != GM_OK) {
        gm_ynode_free(b.root);
        return st;
    }
    *out = b.root;
    return GM_OK;
}
