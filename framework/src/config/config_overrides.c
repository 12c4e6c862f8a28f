/* --set key.path=value: grafting an override's value into the tree, so it
 * goes through the same validation as the file's own keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static gm_status fail(gm_error *err, const char *set, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static gm_status fail(gm_error *err, const char *set, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gm_cfg_verror(err, GM_ERR_INVALID, NULL, set, 0, 0, "", fmt, ap);
    va_end(ap);
    return GM_ERR_INVALID;
}

static bool key_path_ok(const char *path) {
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    if (!path[0] || path[strspn(path, ok)]) return false;
    return path[0] != '.' && path[strlen(path) - 1] != '.' &&
           !strstr(path, "..");
}

static gm_ynode *scalar_key(const char *text, size_t len, const char *set) {
    gm_ynode *k = gm_ynode_new(GM_YSCALAR, 1, 1, set);
    char *t = k ? malloc(len + 1) : NULL;
    if (!t) {
        free(k);
        return NULL;
    }
    memcpy(t, text, len);
    t[len] = '\0';
    k->text = t;
    k->plain = true;
    return k;
}

/* Sets key `seg` of map m to `value` (taking it), replacing any old
 * value; false if out of memory (value is then freed). */
static bool put(gm_ynode *m, const char *seg, size_t len, gm_ynode *value,
                const char *set) {
    for (int i = 0; i < gm_ymap_len(m); i++) {
        const char *key = gm_ymap_key(m, i)->text;
        if (strlen(key) == len && strncmp(key, seg, len) == 0) {
            gm_ynode_free(m->child[2 * i + 1]);
            m->child[2 * i + 1] = value;
            return true;
        }
    }
    gm_ynode *k = scalar_key(seg, len, set);
    if (!k || !gm_ynode_append(m, k)) {
        gm_ynode_free(k);
        gm_ynode_free(value);
        return false;
    }
    if (!gm_ynode_append(m, value)) {
        /* Keep the mapping whole: drop the key again. */
        m->n--;
        gm_ynode_free(k);
        gm_ynode_free(value);
        return false;
    }
    return true;
}

/* The mapping at key `seg` of m, made (or replacing a null) if needed. */
static gm_status descend(gm_ynode *m, const char *seg, size_t len,
                         const char *set, const char *path, gm_ynode **out,
                         gm_error *err) {
    for (int i = 0; i < gm_ymap_len(m); i++) {
        const gm_ynode *key = gm_ymap_key(m, i);
        gm_ynode *v = gm_ymap_val(m, i);
        if (strlen(key->text) != len || strncmp(key->text, seg, len) != 0)
            continue;
        if (v->kind == GM_YMAP) {
            *out = v;
            return GM_OK;
        }
        if (!gm_ynode_is_null(v))
            return fail(err, set,
                        "%s: is a %s, not a mapping; cannot set a "
                        "key inside it",
                        path, v->kind == GM_YSEQ ? "list" : "scalar");
        break;
    }
    gm_ynode *child = gm_ynode_new(GM_YMAP, 1, 1, set);
    if (!child || !put(m, seg, len, child, set))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory for --set");
    *out = child;
    return GM_OK;
}

gm_status gm_cfg_apply_override(gm_ynode *root, const char *set,
                                const char *source, gm_error *err) {
    const char *eq = strchr(set, '=');
    char path[GM_CFG_PATH_MAX];
    if (!eq) return fail(err, set, "expected key.path=value");
    if ((size_t)(eq - set) >= sizeof path)
        return fail(err, set, "key path longer than %zu characters",
                    sizeof path - 1);
    memcpy(path, set, (size_t)(eq - set));
    path[eq - set] = '\0';
    if (!key_path_ok(path))
        return fail(err, set,
                    "bad key path \"%s\": expected key.path=value with keys "
                    "of letters, digits, _ or -",
                    path);
    if (!eq[1]) return fail(err, set, "no value after '='");
    gm_ysource src = {.source = source, .set = set, .base_path = path};
    gm_ynode *value;
    gm_status st = gm_ytree_parse(eq + 1, strlen(eq + 1), &src, &value, err);
    if (st != GM_OK) return st;
    if (!value) return fail(err, set, "no value after '='");
    gm_ynode *m = root;
    const char *seg = path;
    for (const char *dot; (dot = strchr(seg, '.')); seg = dot + 1) {
        char sub[GM_CFG_PATH_MAX];
        snprintf(sub, sizeof sub, "%.*s", (int)(dot - path), path);
        st = descend(m, seg, (size_t)(dot - seg), set, sub, &m, err);
        if (st != GM_OK) {
            gm_ynode_free(value);
            return st;
        }
        /* The keys of sweep are whole key paths:
         * sweep.models.vae.params.beta sets its "models.vae.params.beta". */
        if (seg == path && strcmp(sub, "sweep") == 0) {
            seg = dot + 1;
            break;
        }
    }
    if (!put(m, seg, strlen(seg), value, set))
        return gm_error_set(err, GM_ERR_NOMEM, "out of memory for --set");
    return GM_OK;
}
