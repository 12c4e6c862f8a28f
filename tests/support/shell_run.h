/* Running a shell command from a test, as a user would type it. */
#ifndef GM_TEST_SHELL_RUN_H
#define GM_TEST_SHELL_RUN_H

#include <stddef.h>

/* Runs the printf-formatted command with stderr joined to stdout; puts
 * what it printed (cut to n - 1 bytes) in out and returns its exit code,
 * or -1 if it did not exit normally. */
int shell_run(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
