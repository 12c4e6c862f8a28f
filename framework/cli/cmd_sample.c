/* gm sample: draw from a trained model of a run file, as CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gm/train.h"

static const char usage[] =
    "usage: gm sample RUN.h5 --model NAME [--seed S] -n N [--out FILE.csv]\n"
    "\n"
    "Draws N samples from a trained model (its checkpoint in the run file)\n"
    "and writes them as CSV, one sample per line (stdout by default).\n";

static bool parse_count(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > 100000000) return false;
    *out = v;
    return true;
}

int cmd_sample(int argc, char **argv) {
    const char *path = NULL, *model = NULL, *out_path = NULL;
    long n = 0, seed = 0;
    bool has_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool value = i + 1 < argc;
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--model") == 0 && value) {
            model = argv[++i];
        } else if (strcmp(a, "--out") == 0 && value) {
            out_path = argv[++i];
        } else if (strcmp(a, "-n") == 0 && value) {
            if (!parse_count(argv[++i], &n)) {
                cli_error("sample", "-n needs a count >= 1, got '%s'", argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--seed") == 0 && value) {
            char *end;
            seed = strtol(argv[++i], &end, 10);
            if (*end || seed < 0) {
                cli_error("sample", "--seed needs a seed, got '%s'", argv[i]);
                return EXIT_USAGE;
            }
            has_seed = true;
        } else if (a[0] == '-' || path) {
            cli_error("sample", "unexpected argument '%s'", a);
            return EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (!path || !model || n == 0) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    gm_registry *reg = gm_registry_create();
    gm_error err = {0};
    float *x = NULL;
    int dim = 0;
    gm_status s = reg ? gm_sample_from_run(path, model, has_seed,
                                           (uint64_t)seed, (int)n, reg, &x,
                                           &dim, &err)
                      : gm_error_set(&err, GM_ERR_NOMEM, "out of memory");
    gm_registry_free(reg);
    if (s != GM_OK) {
        cli_error("sample", "%s", err.message);
        return EXIT_USER;
    }
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (!f) {
        cli_error("sample", "cannot write %s: %s", out_path, strerror(errno));
        free(x);
        return EXIT_USER;
    }
    for (long i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            fprintf(f, "%.7g%c", x[i * dim + j], j + 1 < dim ? ',' : '\n');
    int bad = ferror(f);
    if (out_path && fclose(f) != 0) bad = 1;
    free(x);
    if (bad) {
        cli_error("sample", "error writing %s", out_path ? out_path : "stdout");
        return EXIT_USER;
    }
    return EXIT_OK;
}
