/* A good OpenBLAS kernel without the user's help. OpenBLAS reads
 * OPENBLAS_CORETYPE once, when it is loaded, so a better kernel needs a
 * new process: gm first checks the kernel's sgemm in a child gm (which may
 * crash or compute wrong products without harm), then re-executes itself
 * with the variable set. OPENBLAS_L2_SIZE and every other variable pass on
 * unchanged. */
#define _GNU_SOURCE /* environ */
#include "blas_kernel.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gm/blas.h"
#include "kernel_choice.h"
#include "sgemm_check.h"

/* Set in a child gm that only checks a kernel: the kernel it must have. */
#define CHECK_VAR "GM_BLAS_CHECK_KERNEL"
/* Set in the re-executed gm: the kernel OpenBLAS had picked. It also
 * keeps gm from choosing twice. */
#define CHOSEN_VAR "GM_BLAS_CHOSEN_OVER"
#define SELF "/proc/self/exe"

enum {
    CHECK_PASSED = 0,
    CHECK_DISAGREES = 1,
    CHECK_NOT_LOADED = 2,
    CHECK_NO_MEMORY = 3
};

/* The check takes under a second; a child still at it after this long is
 * stuck (in OpenBLAS, say) and is killed. */
#define CHECK_SECONDS 20

int cli_blas_no_memory_status(void) {
    return getenv(CHECK_VAR) ? CHECK_NO_MEMORY : EXIT_USER;
}

/* gm trains with one OpenBLAS thread per run and samples with OpenBLAS's
 * default: the kernel is checked with both. */
int cli_blas_check_child(void) {
    const char *want = getenv(CHECK_VAR);
    if (!want) return -1;
    if (strcasecmp(gm_blas_core(), want) != 0) return CHECK_NOT_LOADED;
    gm_error err = {0};
    if (gm_blas_buffers_ready(1, &err) != GM_OK) {
        fprintf(stderr, "gm: OpenBLAS %s: %s\n", want, err.message);
        return CHECK_NO_MEMORY;
    }
    int threads[2] = {1, gm_blas_threads()};
    char why[256];
    for (int i = 0; i < 2; i++) {
        gm_blas_set_threads(threads[i]);
        if (!cli_sgemm_check(cli_sgemm_openblas, why, sizeof why)) {
            fprintf(stderr, "gm: OpenBLAS %s, %d thread(s): %s\n", want,
                    threads[i], why);
            return CHECK_DISAGREES;
        }
    }
    return CHECK_PASSED;
}

/* environ plus NAME=VALUE pairs set in front (glibc takes the first). */
static char **env_with(char *set[], int n_set) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = malloc((n + (size_t)n_set + 1) * sizeof *env);
    if (!env) return NULL;
    for (int i = 0; i < n_set; i++) env[i] = set[i];
    memcpy(env + n_set, environ, (n + 1) * sizeof *env);
    return env;
}

/* Waits for the child `pid` at most CHECK_SECONDS, then kills it; 0 or
 * an errno value. */
static int wait_bounded(pid_t pid, int *status, bool *killed) {
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int ticks = 0; ticks < CHECK_SECONDS * 100; ticks++) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid) return 0;
        if (done < 0 && errno != EINTR) return errno;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    *killed = true;
    return waitpid(pid, status, 0) < 0 ? errno : 0;
}

/* Runs a child gm with `kernel` loaded to check it; true if it passed,
 * otherwise warns that gm keeps OpenBLAS's own `current`. */
static bool kernel_passes_check(const char *kernel, const char *current) {
    char core_var[64], check_var[64], reason[96];
    snprintf(core_var, sizeof core_var, "OPENBLAS_CORETYPE=%s", kernel);
    snprintf(check_var, sizeof check_var, CHECK_VAR "=%s", kernel);
    char **env = env_with((char *[]){core_var, check_var}, 2);
    char *argv[] = {"gm", NULL};
    pid_t pid;
    int err = env ? posix_spawn(&pid, SELF, NULL, NULL, argv, env) : ENOMEM;
    free(env);
    int status = 0;
    bool killed = false;
    if (err == 0) err = wait_bounded(pid, &status, &killed);
    if (err != 0)
        snprintf(reason, sizeof reason, "cannot run the check: %s",
                 strerror(err));
    else if (killed)
        snprintf(reason, sizeof reason, "no answer in %d s", CHECK_SECONDS);
    else if (WIFSIGNALED(status))
        snprintf(reason, sizeof reason, "crashed (signal %d)",
                 WTERMSIG(status));
    else if (WEXITSTATUS(status) == CHECK_DISAGREES)
        snprintf(reason, sizeof reason, "wrong products");
    else if (WEXITSTATUS(status) == CHECK_NO_MEMORY)
        snprintf(reason, sizeof reason, "no memory for it");
    else if (WEXITSTATUS(status) == CHECK_NOT_LOADED)
        snprintf(reason, sizeof reason, "OpenBLAS did not load it");
    else if (WEXITSTATUS(status) != CHECK_PASSED)
        snprintf(reason, sizeof reason, "exit status %d",
                 WEXITSTATUS(status));
    else
        return true;
    fprintf(stderr,
            "gm: warning: OpenBLAS's %s kernel failed gm's sgemm check "
            "(%s); keeping %s (set OPENBLAS_CORETYPE to choose)\n",
            kernel, reason, current);
    return false;
}

void cli_blas_choose_kernel(char **argv) {
    const char *off = getenv("GM_BLAS_AUTO");
    if (getenv("OPENBLAS_CORETYPE") || getenv(CHOSEN_VAR) ||
        (off && strcmp(off, "0") == 0))
        return;
    cli_cpu_features cpu = cli_cpu_features_detect();
    const char *current = gm_blas_core();
    const char *kernel = cli_blas_kernel_choice(&cpu, current);
    if (!kernel || !kernel_passes_check(kernel, current)) return;
    if (setenv("OPENBLAS_CORETYPE", kernel, 1) == 0 &&
        setenv(CHOSEN_VAR, current, 1) == 0)
        execv(SELF, argv);
    fprintf(stderr, "gm: warning: cannot restart with OpenBLAS's %s kernel "
                    "(%s); keeping %s\n",
            kernel, strerror(errno), current);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(CHOSEN_VAR);
}

const char *cli_blas_describe(char *buf, size_t size) {
    const char *over = getenv(CHOSEN_VAR), *set = getenv("OPENBLAS_CORETYPE");
    if (over)
        snprintf(buf, size, "%s (chosen by gm; OpenBLAS picked %s)",
                 gm_blas_core(), over);
    else if (set)
        snprintf(buf, size, "%s (OPENBLAS_CORETYPE=%s)", gm_blas_core(), set);
    else
        snprintf(buf, size, "%s", gm_blas_core());
    return buf;
}
