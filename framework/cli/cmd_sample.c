/* gm sample: draw from a trained model of a run file, as CSV. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "cli.h"
#include "gm/train.h"

static const char usage[] =
    "usage: gm sample RUN.h5 --model NAME -n N [--run-seed S]\n"
    "                 [--noise-seed S] [--out FILE.csv] [--plugin LIB.so ...]\n"
    "\n"
    "Draws N samples from a trained model (its checkpoint in the run file)\n"
    "and writes them as CSV, one sample per line (stdout by default).\n"
    "\n"
    "  --model NAME    the model, as named in the experiment file\n"
    "  -n N            the number of samples; a row does not depend on N\n"
    "  --run-seed S    the run (training seed) whose checkpoint to use\n"
    "                  (default: the first with a checkpoint); --seed is\n"
    "                  its old name\n"
    "  --noise-seed S  the seed of the sampling noise (default: the run's\n"
    "                  seed): other samples from the same model\n"
    "  --out FILE      write the CSV to FILE instead of stdout\n"
    "  --plugin LIB    a plugin model's library, instead of the one the run\n"
    "                  recorded (e.g. after the library moved); repeatable\n";

enum { MAX_PLUGINS = 16 };

enum { MAX_SAMPLES = 100000000 };

/* A whole decimal number in [lo, hi]: no sign, spaces or trailing text. */
static bool parse_number(const char *s, long lo, long hi, long *out) {
    if (!isdigit((unsigned char)s[0])) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* The value of the option at argv[*i], stepping over it; NULL, with a
 * message, if it has none or an empty one. */
static const char *option_value(int argc, char **argv, int *i) {
    const char *option = argv[*i];
    if (*i + 1 >= argc || !argv[*i + 1][0]) {
        cli_error("sample", "%s needs a value", option);
        return NULL;
    }
    return argv[++*i];
}

/* What a complete command line still lacks, or NULL. */
static const char *missing(const char *path, const char *model, long n) {
    if (!path) return "missing the run file RUN.h5";
    if (!path[0]) return "the run file's name is empty";
    if (!model) return "missing --model NAME";
    if (n == 0) return "missing -n N, the number of samples";
    return NULL;
}

int cmd_sample(int argc, char **argv) {
    const char *path = NULL, *model = NULL, *out_path = NULL, *value;
    const char *plugins[MAX_PLUGINS];
    int n_plugins = 0;
    long n = 0, seed = 0, noise_seed = 0;
    bool has_seed = false, has_noise_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--model") == 0) {
            if (!(model = option_value(argc, argv, &i))) return EXIT_USAGE;
        } else if (strcmp(a, "--out") == 0) {
            if (!(out_path = option_value(argc, argv, &i))) return EXIT_USAGE;
        } else if (strcmp(a, "--plugin") == 0) {
            if (n_plugins == MAX_PLUGINS) {
                cli_error("sample", "at most %d --plugin", MAX_PLUGINS);
                return EXIT_USAGE;
            }
            if (!(plugins[n_plugins++] = option_value(argc, argv, &i)))
                return EXIT_USAGE;
        } else if (strcmp(a, "-n") == 0) {
            if (!(value = option_value(argc, argv, &i))) return EXIT_USAGE;
            if (!parse_number(value, 1, MAX_SAMPLES, &n)) {
                cli_error("sample", "-n needs a count in 1..%d, got '%s'",
                          MAX_SAMPLES, value);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--run-seed") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--noise-seed") == 0) {
            bool noise = strcmp(a, "--noise-seed") == 0;
            if (strcmp(a, "--seed") == 0)
                cli_error("sample", "--seed is now --run-seed (the training "
                                    "run whose checkpoint samples); "
                                    "--noise-seed sets the sampling noise");
            if (!(value = option_value(argc, argv, &i))) return EXIT_USAGE;
            if (!parse_number(value, 0, LONG_MAX, noise ? &noise_seed : &seed)) {
                cli_error("sample", "%s needs a seed in 0..%ld, got '%s'", a,
                          LONG_MAX, value);
                return EXIT_USAGE;
            }
            *(noise ? &has_noise_seed : &has_seed) = true;
        } else if (a[0] == '-' || path) {
            cli_error("sample", "unexpected argument '%s'", a);
            return EXIT_USAGE;
        } else {
            path = a;
        }
    }
    const char *lack = missing(path, model, n);
    if (lack) {
        cli_error("sample", "%s", lack);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    gm_registry *reg = gm_builtin_registry();
    gm_error err = {0};
    float *x = NULL;
    int dim = 0;
    gm_status s =
        reg ? GM_OK : gm_error_set(&err, GM_ERR_NOMEM, "out of memory");
    for (int i = 0; s == GM_OK && i < n_plugins; i++)
        if (!gm_registry_load(reg, plugins[i], &err)) s = err.status;
    if (s == GM_OK)
        s = gm_sample_from_run(path, model, has_seed, (uint64_t)seed,
                               has_noise_seed, (uint64_t)noise_seed, (int)n,
                               reg, &x, &dim, &err);
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
