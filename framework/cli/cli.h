/* The gm command's subcommands. Each returns the process exit code:
 * 0 success, 1 a user error (bad file, bad value), 2 a usage error. */
#ifndef GM_CLI_H
#define GM_CLI_H

#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2 };

int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* True if argv[i] is -h or --help. */
bool cli_is_help(const char *arg);

/* Prints "gm <cmd>: <message>" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
