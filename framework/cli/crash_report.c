#include "crash_report.h"

#include <signal.h>
#include <unistd.h>

#include "gm/hook_crash.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

/* The actions replaced, put back before the signal goes on. Written once
 * before any handler can run. */
static struct sigaction previous[N_FATAL];

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
    char report[1024];
    size_t n = gm_hook_crash_message(sig, report, sizeof report);
    if (n > 0 && write(STDERR_FILENO, report, n) < 0) {
        /* nothing more to try */
    }
    for (size_t i = 0; i < N_FATAL; i++)
        if (fatal_signals[i] == sig) sigaction(sig, &previous[i], NULL);
    /* A fault repeats when the instruction runs again on return; a signal
     * sent (kill, abort, raise) is sent again, to be taken on return. */
    if (info->si_code <= 0) raise(sig);
}

void cli_crash_report_install(void) {
    struct sigaction sa = {.sa_sigaction = on_fatal_signal,
                           .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL; i++)
        sigaction(fatal_signals[i], &sa, &previous[i]);
}
