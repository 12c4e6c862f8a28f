/* gm run's checks of the run file it is to write (run_out.h). */
#include "run_out.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gm/runfile.h"

/* True if a and b are the same existing file. */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return a && b && *a && *b && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The run file must not be one of the experiment's inputs. */
static bool out_is_an_input(const gm_experiment *e, const char *file) {
    const char *inputs[3] = {file, e->dataset.path,
                                     e->dataset.test_path};
    for (int i = 0; i < 3; i++)
        if (same_file(e->out, inputs[i])) {
            cli_error("run", "--out %s is one of the experiment's inputs (%s)",
                      e->out, inputs[i]);
            return true;
        }
    for (int m = 0; m < e->n_models; m++)
        if (same_file(e->out, e->models[m].plugin)) {
            cli_error("run", "--out %s is the plugin of model '%s'", e->out,
                      e->models[m].name);
            return true;
        }
    return false;
}

/* A --force stopped by a kill or a crash leaves its work in OUT.new, which
 * nothing else points to: say where it is and how to go on. */
static void note_unfinished_replacement(const char *out) {
    char fresh[GM_PATH_MAX + 8];
    struct stat st;
    snprintf(fresh, sizeof fresh, "%s.new", out);
    if (stat(fresh, &st) == 0 && S_ISREG(st.st_mode) &&
        !gm_runfile_has_writer(fresh))
        cli_error("run",
                  "%s holds the work of an unfinished --force: go on with "
                  "'gm run --resume %s', then move it over %s",
                  fresh, fresh, out);
}

/* --out naming a directory, a device (/dev/null) or a FIFO: refused before
 * training, and never replaced by a run file. */
static bool out_is_not_a_file(const gm_experiment *e, const struct stat *st) {
    if (S_ISREG(st->st_mode)) return false;
    cli_error("run", "--out %s is %s: --out names the run file to write "
              "(RUN.h5)", e->out,
              S_ISDIR(st->st_mode) ? "a directory"
                                   : "not a regular file (a device or a FIFO)");
    return true;
}

bool run_out_acceptable(const gm_experiment *e, const char *file, bool force,
                        bool *exists) {
    struct stat st;
    *exists = stat(e->out, &st) == 0;
    if (*exists && out_is_not_a_file(e, &st)) return false;
    if (*exists && !force) {
        cli_error("run",
                  "%s exists: use 'gm run --resume %s' to continue it, or "
                  "--force to replace it",
                  e->out, e->out);
        note_unfinished_replacement(e->out);
        return false;
    }
    return !out_is_an_input(e, file);
}

/* The creation time of the run file at `out` as a name part without
 * colons ("2026-12-07T230300Z"): its `created` attribute, or its
 * modification time if it has none (a damaged file). */
static void creation_stamp(const char *out, char *stamp, size_t n) {
    gm_runfile_info info = {0};
    gm_error err = {0};
    stamp[0] = '\0';
    if (gm_runfile_read_info(out, &info, &err) == GM_OK && info.created) {
        size_t k = 0;
        for (const char *c = info.created; *c && k + 1 < n; c++)
            if (*c != ':') stamp[k++] = *c;
        stamp[k] = '\0';
    }
    gm_runfile_info_clear(&info);
    struct stat st;
    if (!stamp[0] && stat(out, &st) == 0) {
        struct tm tm;
        gmtime_r(&st.st_mtime, &tm);
        strftime(stamp, n, "%Y-%m-%dT%H%M%SZ", &tm);
    }
}

bool run_out_keep_earlier(const char *out, char *kept, size_t n) {
    if (!kept || n == 0) return false; /* (and GCC's -fsanitize build asks) */
    char stamp[40];
    creation_stamp(out, stamp, sizeof stamp);
    const char *slash = strrchr(out, '/');
    const char *dot = strrchr(slash ? slash + 1 : out, '.');
    int stem = dot && dot != (slash ? slash + 1 : out) ? (int)(dot - out)
                                                         : (int)strlen(out);
    const char *ext = out + stem;
    /* Two files created in one second: a counter tells them apart. */
    for (int i = 1; i < 100; i++) {
        char count[8] = "";
        if (i > 1) snprintf(count, sizeof count, "-%d", i);
        if (snprintf(kept, n, "%.*s.%s%s%s", stem, out, stamp, count, ext) >=
            (int)n) {
            cli_error("run", "--keep: %s: path too long", out);
            return false;
        }
        if (link(out, kept) == 0) return true;
        if (errno != EEXIST) {
            cli_error("run", "--keep: cannot keep %s as %s: %s", out, kept,
                      strerror(errno));
            return false;
        }
    }
    cli_error("run", "--keep: %s: 99 kept files of the same second", out);
    return false;
}

void run_out_settle_kept(const char *out, const char *kept) {
    if (same_file(out, kept)) {
        unlink(kept);
        return;
    }
    fprintf(stderr, "gm run: the earlier %s is kept as %s\n", out, kept);
}
