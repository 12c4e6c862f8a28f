/* Loading an experiment: read, parse, apply overrides, validate, and keep
 * the text the run file records. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "gm/config.h"

void gm_experiment_clear(gm_experiment *e) {
    if (!e) return;
    free(e->models);
    free(e->config_yaml);
    memset(e, 0, sizeof *e);
}

/* "# from <source> with --set a --set b\n", on one line. */
static char *override_header(const char *source, const char *const *sets,
                             int n) {
    size_t len = strlen("# from  with\n") + strlen(source);
    for (int i = 0; i < n; i++)
        len += strlen(" --set ") + strlen(sets[i]);
    char *h = malloc(len + 1);
    if (!h) return NULL;
    size_t k = (size_t)sprintf(h, "# from %s%s", source, n ? " with" : "");
    for (int i = 0; i < n; i++)
        k += (size_t)sprintf(h + k, " --set %s", sets[i]);
    for (char *p = h; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    h[k++] = '\n';
    h[k] = '\0';
    return h;
}

/* The text the run file records: the file as it is, or the document
 * with its overrides applied and its dataset paths made absolute (so
 * that --resume and gm sample find them from any directory). */
static gm_status config_text(gm_experiment *out, const gm_ynode *root,
                             const char *text, size_t len, const char *source,
                             const char *const *sets, int n,
                             bool paths_changed, gm_error *err) {
    if (n == 0 && !paths_changed) {
        out->config_yaml = malloc(len + 1);
        if (!out->config_yaml)
            return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        memcpy(out->config_yaml, text, len);
        out->config_yaml[len] = '\0';
        return GM_OK;
    }
    char *header = override_header(source, sets, n);
    if (!header) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    gm_status st = gm_ytree_emit(root, header, &out->config_yaml, err);
    free(header);
    return st;
}

/* base_dir: the directory of a document read from a file (relative
 * dataset paths are read from it), or NULL (gm_cfg's base_dir). */
static gm_status load(gm_experiment *out, const char *text, size_t len,
                      const char *source, const char *base_dir,
                      const char *const *sets, int n, gm_schema_lookup lookup,
                      void *lookup_ctx, const char *only_model,
                      gm_error *err) {
    gm_ysource src = {.source = source, .set = NULL, .base_path = ""};
    gm_ynode *root;
    gm_status st = gm_ytree_parse(text, len, &src, &root, err);
    if (st != GM_OK) return st;
    if (!root)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s:1:1: the document is empty; expected a "
                            "mapping with experiment, dataset and models",
                            source);
    gm_cfg c = {.source = source,
                .err = err,
                .lookup = lookup,
                .lookup_ctx = lookup_ctx,
                .only_model = only_model,
                .base_dir = base_dir};
    if (root->kind != GM_YMAP)
        st = gm_cfg_fail_type(&c, root, "", "a mapping at the top level");
    for (int i = 0; st == GM_OK && i < n; i++)
        st = gm_cfg_apply_override(root, sets[i], source, err);
    bool paths_changed = false;
    if (st == GM_OK && base_dir)
        st = gm_cfg_dataset_paths(&c, root, &paths_changed);
    gm_ynode *expanded = NULL;
    gm_cfg_sweep sweep = {0};
    if (st == GM_OK) st = gm_cfg_sweep_expand(&c, root, &expanded, &sweep);
    c.sweep = &sweep;
    if (st == GM_OK)
        st = gm_cfg_experiment(&c, expanded ? expanded : root, out);
    gm_ynode_free(expanded);
    gm_cfg_sweep_clear(&sweep);
    if (st == GM_OK && only_model && out->n_models == 0)
        st = gm_error_set(err, GM_ERR_NOT_FOUND, "%s: no model '%s'", source,
                          only_model);
    /* The document as given, sweep unexpanded: reading it back expands it
     * the same way. */
    if (st == GM_OK)
        st = config_text(out, root, text, len, source, sets, n, paths_changed,
                         err);
    if (st == GM_OK) snprintf(out->source, sizeof out->source, "%s", source);
    gm_ynode_free(root);
    if (st != GM_OK) gm_experiment_clear(out);
    return st;
}

gm_status gm_config_load_string(gm_experiment *out, const char *text,
                                const char *name_for_messages,
                                const char *const *overrides, int n_overrides,
                                gm_schema_lookup lookup, void *lookup_ctx,
                                gm_error *err) {
    memset(out, 0, sizeof *out);
    if (!text || !name_for_messages || !lookup || n_overrides < 0 ||
        (n_overrides > 0 && !overrides))
        return gm_error_set(err, GM_ERR_INVALID,
                            "gm_config_load_string: missing text, name or "
                            "objective lookup");
    return load(out, text, strlen(text), name_for_messages, NULL, overrides,
                n_overrides, lookup, lookup_ctx, NULL, err);
}

gm_status gm_config_load_model(gm_experiment *out, const char *text,
                               const char *name_for_messages, const char *model,
                               gm_schema_lookup lookup, void *lookup_ctx,
                               gm_error *err) {
    memset(out, 0, sizeof *out);
    if (!text || !name_for_messages || !model || !lookup)
        return gm_error_set(err, GM_ERR_INVALID,
                            "gm_config_load_model: missing text, name, model "
                            "or objective lookup");
    return load(out, text, strlen(text), name_for_messages, NULL, NULL, 0,
                lookup, lookup_ctx, model, err);
}

/* `bytes` is the file's size, or what was read when it grew past the
 * cap after fstat (then "at least"). */
static gm_status too_big(const char *path, uintmax_t bytes, bool exact,
                         gm_error *err) {
    return gm_error_set(err, GM_ERR_INVALID,
                        "%s: %s%ju bytes: an experiment file has at most "
                        "%zu MB",
                        path, exact ? "" : "at least ", bytes,
                        GM_CFG_FILE_MAX >> 20);
}

/* The whole file in a new NUL-terminated buffer. Only a regular file of
 * at most GM_CFG_FILE_MAX bytes: a FIFO, a device (/dev/zero) or a
 * directory would block, never end or mean nothing. O_NONBLOCK keeps
 * open() from waiting for a FIFO's writer; reads of a regular file ignore
 * it. */
static gm_status read_file(const char *path, char **text, size_t *len,
                           gm_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return gm_error_set(err, errno == ENOENT ? GM_ERR_NOT_FOUND : GM_ERR_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        return gm_error_set(err, GM_ERR_IO, "%s: cannot read: %s", path,
                            strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return gm_error_set(err, GM_ERR_IO,
                            "%s: cannot read: %s, not a regular file (an "
                            "experiment is a YAML file)",
                            path,
                            S_ISDIR(st.st_mode)    ? "a directory"
                            : S_ISFIFO(st.st_mode) ? "a FIFO"
                            : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
                                ? "a device"
                                : "a socket");
    }
    if ((uintmax_t)st.st_size > GM_CFG_FILE_MAX) {
        close(fd);
        return too_big(path, (uintmax_t)st.st_size, true, err);
    }
    /* To the end, whatever fstat said (the file may change meanwhile), but
     * never more than the cap. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got = 1;
    while (buf && got > 0 && n <= GM_CFG_FILE_MAX) {
        if (n == cap - 1) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
            if (!buf) break;
        }
        got = read(fd, buf + n, cap - 1 - n);
        if (got > 0) n += (size_t)got;
        if (got < 0 && errno == EINTR) got = 1;
    }
    int saved = errno;
    close(fd);
    if (!buf) return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    if (got < 0 || n > GM_CFG_FILE_MAX) {
        free(buf);
        return got < 0 ? gm_error_set(err, GM_ERR_IO, "%s: cannot read: %s",
                                      path, strerror(saved))
                       : too_big(path, n, false, err);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return GM_OK;
}

/* The absolute directory of the experiment file at `path`. */
static gm_status experiment_dir(const char *path, char *dir, size_t cap,
                                gm_error *err) {
    const char *slash = strrchr(path, '/');
    char parent[PATH_MAX];
    if (snprintf(parent, sizeof parent, "%.*s",
                 slash ? (int)(slash - path) + (slash == path) : 1,
                 slash ? path : ".") >= (int)sizeof parent)
        return gm_error_set(err, GM_ERR_INVALID, "%s: path too long", path);
    char real[PATH_MAX];
    if (!realpath(parent, real))
        return gm_error_set(err, GM_ERR_IO, "%s: cannot find its directory: %s",
                            path, strerror(errno));
    snprintf(dir, cap, "%s", real);
    return GM_OK;
}

gm_status gm_config_load(gm_experiment *out, const char *path,
                         const char *const *overrides, int n_overrides,
                         gm_schema_lookup lookup, void *lookup_ctx,
                         gm_error *err) {
    memset(out, 0, sizeof *out);
    if (!path || !lookup || n_overrides < 0 || (n_overrides > 0 && !overrides))
        return gm_error_set(err, GM_ERR_INVALID,
                            "gm_config_load: missing path or objective lookup");
    char *text = NULL;
    size_t len = 0;
    gm_status st = read_file(path, &text, &len, err);
    if (st != GM_OK) return st;
    char dir[PATH_MAX];
    st = experiment_dir(path, dir, sizeof dir, err);
    if (st == GM_OK)
        st = load(out, text, len, path, dir, overrides, n_overrides, lookup,
                  lookup_ctx, NULL, err);
    free(text);
    return st;
}
