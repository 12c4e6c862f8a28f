/* The gm command's subcommands. Each returns the process exit code:
 * 0 success, 1 a user error (bad file, bad value), 2 a usage error. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <stdbool.h>
#include <stddef.h>

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* Writes "mean ± se" to out[n] with the digits se supports (880 ± 9,
 * 0.251 ± 0.012; estimate_format.c has the rule), "mean" to 4 significant
 * digits when se is 0 (one seed, or seeds that agree), "-" when mean is
 * NaN. */
void cli_format_estimate(char *out, size_t n, double mean, double se);

/* True if argv[i] is -h or --help. */
bool cli_is_help(const char *arg);

/* Prints "gm <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
