/* Typed reads of tree nodes, with the errors that name where and which
 * key. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* Longest scalar text quoted in a message before it is cut with "...". */
#define DESCRIBE_MAX 40

void gm_cfg_verror(gm_error *err, gm_status status, const char *source,
                   const char *set, int line, int col, const char *path,
                   const char *fmt, va_list ap) {
    if (!err) return;
    char where[GM_ERROR_MAX], what[GM_ERROR_MAX];
    if (set)
        snprintf(where, sizeof where, "--set %s", set);
    else
        snprintf(where, sizeof where, "%s:%d:%d", source, line, col);
    vsnprintf(what, sizeof what, fmt, ap);
    if (path && path[0])
        gm_error_set(err, status, "%s: %s: %s", where, path, what);
    else
        gm_error_set(err, status, "%s: %s", where, what);
    /* One line, whatever the override, key or file name held. */
    for (char *p = err->message; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
}

gm_status gm_cfg_fail(const gm_cfg *c, const gm_ynode *at, const char *path,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gm_cfg_verror(c->err, GM_ERR_INVALID, c->source, at->set, at->line, at->col,
                  path, fmt, ap);
    va_end(ap);
    return GM_ERR_INVALID;
}

void gm_cfg_path_join(char *out, size_t cap, const char *parent,
                      const char *key) {
    if (out != parent) snprintf(out, cap, "%s", parent);
    size_t len = strlen(out);
    if (len >= cap) return;
    const char *dot = len == 0 || key[0] == '[' ? "" : ".";
    snprintf(out + len, cap - len, "%s%s", dot, key);
}

void gm_cfg_describe(const gm_ynode *n, char *out, size_t cap) {
    if (n->kind == GM_YMAP) {
        snprintf(out, cap, "a mapping");
        return;
    }
    if (n->kind == GM_YSEQ) {
        snprintf(out, cap, "a list");
        return;
    }
    if (gm_ynode_is_null(n)) {
        snprintf(out, cap, "null");
        return;
    }
    char text[4 * DESCRIBE_MAX + 8];
    size_t k = 0;
    for (const char *p = n->text; *p && k < 4 * DESCRIBE_MAX; p++) {
        if (p - n->text == DESCRIBE_MAX) {
            k += (size_t)snprintf(text + k, sizeof text - k, "...");
            break;
        }
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            k += (size_t)snprintf(text + k, sizeof text - k, "\\%c", ch);
        else if (ch < 0x20)
            k += (size_t)snprintf(text + k, sizeof text - k, "\\x%02x", ch);
        else
            text[k++] = (char)ch;
    }
    text[k] = '\0';
    snprintf(out, cap, "\"%s\"", text);
}

gm_status gm_cfg_fail_type(const gm_cfg *c, const gm_ynode *v, const char *path,
                           const char *expected) {
    char got[256];
    gm_cfg_describe(v, got, sizeof got);
    return gm_cfg_fail(c, v, path, "expected %s, got %s", expected, got);
}

/* Strict decimal: [-+]? (d+ [. d*] | . d+) ([eE] [-+]? d+)?. No inf, nan,
 * hex or underscores. *integer says whether it has only digits. */
static bool number_syntax(const char *s, bool *integer) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    size_t int_digits = strspn(p, "0123456789");
    p += int_digits;
    size_t frac_digits = 0;
    bool dot = *p == '.';
    if (dot) {
        p++;
        frac_digits = strspn(p, "0123456789");
        p += frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) return false;
    bool exponent = *p == 'e' || *p == 'E';
    if (exponent) {
        p++;
        if (*p == '+' || *p == '-') p++;
        size_t exp_digits = strspn(p, "0123456789");
        if (exp_digits == 0) return false;
        p += exp_digits;
    }
    *integer = !dot && !exponent;
    return *p == '\0';
}

bool gm_cfg_is_number(const gm_ynode *v, bool *integer) {
    return v->kind == GM_YSCALAR && v->plain && number_syntax(v->text, integer);
}

static bool in_range(double x, gm_cfg_range r) {
    bool lo = r.lo_open ? x > r.lo : x >= r.lo;
    bool hi = r.hi_open ? x < r.hi : x <= r.hi;
    return lo && hi;
}

static gm_status fail_range(const gm_cfg *c, const gm_ynode *v,
                            const char *path, gm_cfg_range r) {
    char want[128];
    if (isinf(r.hi))
        snprintf(want, sizeof want, "%s %.15g", r.lo_open ? ">" : ">=", r.lo);
    else if (isinf(r.lo))
        snprintf(want, sizeof want, "%s %.15g", r.hi_open ? "<" : "<=", r.hi);
    else
        snprintf(want, sizeof want, "in %c%.15g, %.15g%c",
                 r.lo_open ? '(' : '[', r.lo, r.hi, r.hi_open ? ')' : ']');
    return gm_cfg_fail(c, v, path, "must be %s, got %s", want, v->text);
}

gm_status gm_cfg_number(const gm_cfg *c, const gm_ynode *v, const char *path,
                        gm_cfg_range r, double *out) {
    bool integer;
    if (v->kind != GM_YSCALAR || !v->plain || !number_syntax(v->text, &integer))
        return gm_cfg_fail_type(c, v, path, "a number");
    double x = strtod(v->text, NULL);
    if (!isfinite(x))
        return gm_cfg_fail(c, v, path, "number out of range, got %s", v->text);
    if (!in_range(x, r)) return fail_range(c, v, path, r);
    *out = x;
    return GM_OK;
}

gm_status gm_cfg_float(const gm_cfg *c, const gm_ynode *v, const char *path,
                       gm_cfg_range r, float *out) {
    double x = 0.0;
    gm_status st = gm_cfg_number(c, v, path, GM_CFG_ANY, &x);
    if (st != GM_OK) return st;
    if (fabs(x) > FLT_MAX)
        return gm_cfg_fail(c, v, path,
                           "number out of range for a float, got %s", v->text);
    /* Check what will be used: 1e-50 rounds to 0 as a float. */
    float f = (float)x;
    if (!in_range(f, r)) return fail_range(c, v, path, r);
    *out = f;
    return GM_OK;
}

gm_status gm_cfg_long(const gm_cfg *c, const gm_ynode *v, const char *path,
                      gm_cfg_range r, long *out) {
    bool integer;
    if (v->kind != GM_YSCALAR || !v->plain || !number_syntax(v->text, &integer))
        return gm_cfg_fail_type(c, v, path, "an integer");
    long n;
    if (integer) {
        errno = 0;
        n = strtol(v->text, NULL, 10);
        if (errno == ERANGE)
            return gm_cfg_fail(c, v, path, "integer out of range, got %s",
                               v->text);
    } else {
        /* 1e4 or 2000.0 are integers written as numbers. */
        double x = strtod(v->text, NULL);
        if (!isfinite(x) || x != floor(x))
            return gm_cfg_fail_type(c, v, path, "an integer");
        if (x < (double)LONG_MIN || x >= -(double)LONG_MIN)
            return gm_cfg_fail(c, v, path, "integer out of range, got %s",
                               v->text);
        n = (long)x;
    }
    if (!in_range((double)n, r)) return fail_range(c, v, path, r);
    *out = n;
    return GM_OK;
}

gm_status gm_cfg_int(const gm_cfg *c, const gm_ynode *v, const char *path,
                     gm_cfg_range r, int *out) {
    long n = 0;
    gm_status st = gm_cfg_long(c, v, path, r, &n);
    if (st != GM_OK) return st;
    /* The field's own range first, then what an int can hold. */
    gm_cfg_range fits = {r.lo < INT_MIN ? INT_MIN : r.lo,
                         r.hi > INT_MAX ? INT_MAX : r.hi, r.lo_open, r.hi_open};
    if (!in_range((double)n, fits)) return fail_range(c, v, path, fits);
    *out = (int)n;
    return GM_OK;
}

gm_status gm_cfg_bool(const gm_cfg *c, const gm_ynode *v, const char *path,
                      bool *out) {
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};
    if (v->kind == GM_YSCALAR && v->plain) {
        for (int i = 0; i < 3; i++) {
            if (strcmp(v->text, yes[i]) == 0) {
                *out = true;
                return GM_OK;
            }
            if (strcmp(v->text, no[i]) == 0) {
                *out = false;
                return GM_OK;
            }
        }
    }
    return gm_cfg_fail_type(c, v, path, "true or false");
}

gm_status gm_cfg_string(const gm_cfg *c, const gm_ynode *v, const char *path,
                        char *out, size_t cap) {
    if (v->kind != GM_YSCALAR || gm_ynode_is_null(v))
        return gm_cfg_fail_type(c, v, path, "a string");
    if (strlen(v->text) >= cap)
        return gm_cfg_fail(c, v, path, "too long (at most %zu characters)",
                           cap - 1);
    memcpy(out, v->text, strlen(v->text) + 1);
    return GM_OK;
}

gm_status gm_cfg_name(const gm_cfg *c, const gm_ynode *v, const char *path,
                      char *out, size_t cap) {
    gm_status st = gm_cfg_string(c, v, path, out, cap);
    if (st != GM_OK) return st;
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    if (!out[0] || out[strspn(out, ok)]) {
        char got[256];
        gm_cfg_describe(v, got, sizeof got);
        out[0] = '\0';
        return gm_cfg_fail(
            c, v, path, "a name must be letters, digits, _ or -, got %s", got);
    }
    return GM_OK;
}

/* "a, b, c" into out. */
static void join_names(const char *const *names, int n, char *out, size_t cap) {
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k < cap; i++)
        k +=
            (size_t)snprintf(out + k, cap - k, "%s%s", i ? ", " : "", names[i]);
}

gm_status gm_cfg_choice(const gm_cfg *c, const gm_ynode *v, const char *path,
                        const char *const *names, int n, int *index) {
    if (v->kind != GM_YSCALAR || gm_ynode_is_null(v)) {
        char want[256];
        join_names(names, n, want, sizeof want);
        char expected[300];
        snprintf(expected, sizeof expected, "one of %s", want);
        return gm_cfg_fail_type(c, v, path, expected);
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(v->text, names[i]) == 0) {
            *index = i;
            return GM_OK;
        }
    }
    char got[256];
    gm_cfg_describe(v, got, sizeof got);
    const char *close = gm_cfg_suggest(v->text, names, n);
    if (close)
        return gm_cfg_fail(c, v, path, "unknown value %s, did you mean \"%s\"?",
                           got, close);
    char want[256];
    join_names(names, n, want, sizeof want);
    return gm_cfg_fail(c, v, path, "expected one of %s, got %s", want, got);
}

gm_status gm_cfg_map(const gm_cfg *c, const gm_ynode *v, const char *path,
                     const gm_ynode **out) {
    *out = NULL;
    if (!v || gm_ynode_is_null(v)) return GM_OK;
    if (v->kind != GM_YMAP) return gm_cfg_fail_type(c, v, path, "a mapping");
    *out = v;
    return GM_OK;
}

const gm_ynode *gm_cfg_get(const gm_ynode *m, const char *parent_path,
                           const char *key, char *path, size_t cap) {
    gm_cfg_path_join(path, cap, parent_path, key);
    int i = m ? gm_ymap_find(m, key) : -1;
    if (i < 0 || gm_ynode_is_null(gm_ymap_val(m, i))) return NULL;
    return gm_ymap_val(m, i);
}

gm_status gm_cfg_require(const gm_cfg *c, const gm_ynode *m, const gm_ynode *at,
                         const char *parent_path, const char *key, char *path,
                         size_t cap, const gm_ynode **out) {
    gm_cfg_path_join(path, cap, parent_path, key);
    int i = m ? gm_ymap_find(m, key) : -1;
    *out = i >= 0 ? gm_ymap_val(m, i) : NULL;
    return *out ? GM_OK : gm_cfg_fail_missing(c, at, parent_path, key, NULL);
}

int gm_cfg_unknown(const gm_ynode *m, const char *const *known, int n) {
    for (int i = 0; m && i < gm_ymap_len(m); i++) {
        const char *key = gm_ymap_key(m, i)->text;
        int j = 0;
        while (j < n && strcmp(key, known[j]) != 0)
            j++;
        if (j == n) return i;
    }
    return -1;
}

gm_status gm_cfg_fail_unknown(const gm_cfg *c, const gm_ynode *m, int i,
                              const char *parent_path, const char *const *known,
                              int n, const char *hint) {
    const gm_ynode *key = gm_ymap_key(m, i);
    char path[GM_CFG_PATH_MAX], got[256];
    gm_cfg_path_join(path, sizeof path, parent_path, key->text);
    gm_cfg_describe(key, got, sizeof got);
    const char *close = gm_cfg_suggest(key->text, known, n);
    if (close)
        return gm_cfg_fail(c, key, path, "unknown key %s, did you mean \"%s\"?",
                           got, close);
    if (hint) return gm_cfg_fail(c, key, path, "unknown key %s; %s", got, hint);
    char names[256];
    join_names(known, n, names, sizeof names);
    return gm_cfg_fail(c, key, path, "unknown key %s (known keys: %s)", got,
                       names);
}

gm_status gm_cfg_check_keys(const gm_cfg *c, const gm_ynode *m,
                            const char *path, const char *const *known, int n) {
    int i = gm_cfg_unknown(m, known, n);
    return i < 0 ? GM_OK : gm_cfg_fail_unknown(c, m, i, path, known, n, NULL);
}

gm_status gm_cfg_fail_missing(const gm_cfg *c, const gm_ynode *at,
                              const char *parent_path, const char *key,
                              const char *hint) {
    char path[GM_CFG_PATH_MAX];
    gm_cfg_path_join(path, sizeof path, parent_path, key);
    return gm_cfg_fail(c, at, path, "missing required key%s%s",
                       hint ? "; " : "", hint ? hint : "");
}

const gm_ynode *gm_cfg_scopes_get(const gm_cfg_scope *s, int n, const char *key,
                                  char *path, size_t cap) {
    for (int i = n - 1; i >= 0; i--) {
        const gm_ynode *v = gm_cfg_get(s[i].map, s[i].path, key, path, cap);
        if (v) return v;
    }
    gm_cfg_path_join(path, cap, s[n - 1].path, key);
    return NULL;
}

gm_status gm_cfg_get_number(const gm_cfg *c, const gm_ynode *m,
                            const char *parent_path, const char *key,
                            gm_cfg_range r, double *out) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(m, parent_path, key, path, sizeof path);
    return v ? gm_cfg_number(c, v, path, r, out) : GM_OK;
}

gm_status gm_cfg_get_float(const gm_cfg *c, const gm_ynode *m,
                           const char *parent_path, const char *key,
                           gm_cfg_range r, float *out) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(m, parent_path, key, path, sizeof path);
    return v ? gm_cfg_float(c, v, path, r, out) : GM_OK;
}

gm_status gm_cfg_get_long(const gm_cfg *c, const gm_ynode *m,
                          const char *parent_path, const char *key,
                          gm_cfg_range r, long *out) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(m, parent_path, key, path, sizeof path);
    return v ? gm_cfg_long(c, v, path, r, out) : GM_OK;
}

gm_status gm_cfg_get_int(const gm_cfg *c, const gm_ynode *m,
                         const char *parent_path, const char *key,
                         gm_cfg_range r, int *out) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(m, parent_path, key, path, sizeof path);
    return v ? gm_cfg_int(c, v, path, r, out) : GM_OK;
}

gm_status gm_cfg_get_string(const gm_cfg *c, const gm_ynode *m,
                            const char *parent_path, const char *key, char *out,
                            size_t cap) {
    char path[GM_CFG_PATH_MAX];
    const gm_ynode *v = gm_cfg_get(m, parent_path, key, path, sizeof path);
    return v ? gm_cfg_string(c, v, path, out, cap) : GM_OK;
}
