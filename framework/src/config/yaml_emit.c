/* Writing the document tree back as YAML with libyaml's emitter. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/yaml_tree.h"

/* A growing, NUL-terminated output string. */
typedef struct ybuf {
    char *data;
    size_t len, cap;
    bool nomem;
} ybuf;

static bool ybuf_put(ybuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->nomem = true;
            return false;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static int write_handler(void *ctx, unsigned char *buffer, size_t size) {
    return ybuf_put(ctx, (const char *)buffer, size);
}

static bool emit_node(yaml_emitter_t *em, const gm_ynode *n) {
    yaml_event_t ev;
    if (n->kind == GM_YSCALAR) {
        /* An empty plain scalar is null; "~" keeps it null inside flow
         * collections, where the emitter would otherwise quote it. */
        const char *text = n->plain && !n->text[0] ? "~" : n->text;
        yaml_scalar_style_t style =
            n->plain ? YAML_PLAIN_SCALAR_STYLE : (yaml_scalar_style_t)n->style;
        /* A string must not be written plain (it could read as a number),
         * while a plain scalar the emitter cannot write plain is quoted
         * rather than tagged. */
        return yaml_scalar_event_initialize(
                   &ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
                   n->plain, 1, style) &&
               yaml_emitter_emit(em, &ev);
    }
    bool ok;
    if (n->kind == GM_YMAP)
        ok = yaml_mapping_start_event_initialize(
            &ev, NULL, NULL, 1,
            n->style ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    else
        ok = yaml_sequence_start_event_initialize(
            &ev, NULL, NULL, 1,
            n->style ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok || !yaml_emitter_emit(em, &ev)) return false;
    for (int i = 0; i < n->n; i++)
        if (!emit_node(em, n->child[i])) return false;
    ok = n->kind == GM_YMAP ? yaml_mapping_end_event_initialize(&ev)
                            : yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev);
}

static bool emit_document(yaml_emitter_t *em, const gm_ynode *root) {
    yaml_event_t ev;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
        !yaml_emitter_emit(em, &ev))
        return false;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(em, &ev))
        return false;
    if (!emit_node(em, root)) return false;
    if (!yaml_document_end_event_initialize(&ev, 1) ||
        !yaml_emitter_emit(em, &ev))
        return false;
    return yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

gm_status gm_ytree_emit(const gm_ynode *root, const char *header, char **out,
                        gm_error *err) {
    *out = NULL;
    ybuf buf = {0};
    if (header) ybuf_put(&buf, header, strlen(header));
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em)) {
        free(buf.data);
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory writing YAML");
    }
    yaml_emitter_set_output(&em, write_handler, &buf);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    bool ok = !buf.nomem && emit_document(&em, root);
    const char *problem = em.problem;
    yaml_emitter_delete(&em);
    if (!ok || buf.nomem || !buf.data) {
        free(buf.data);
        if (buf.nomem || !problem)
            return gm_error_set(err, GM_ERR_NOMEM,
                                "out of memory writing YAML");
        return gm_error_set(err, GM_ERR_INVALID, "cannot write YAML: %s",
                            problem);
    }
    *out = buf.data;
    return GM_OK;
}
