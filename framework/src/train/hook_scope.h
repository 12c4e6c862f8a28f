/* The objective hook each thread is running, so that a crash inside one
 * (a plugin's bug) can be reported with the objective, its file, the hook
 * and the run, instead of ending gm with no word. Internal to libgm and
 * the gm command (framework/cli/crash_report.c). */
#ifndef GM_TRAIN_HOOK_SCOPE_H
#define GM_TRAIN_HOOK_SCOPE_H

#include <stddef.h>

typedef struct gm_model gm_model;

/* Marks the calling thread as running `hook` ("build", "after_step", ...)
 * of m's objective, until gm_hook_leave. Not nested. */
void gm_hook_enter(const gm_model *m, const char *hook);
void gm_hook_leave(void);

/* If the calling thread is in a hook, writes into buf (size bytes) a line
 * such as "gm: objective 'wgan' (/x/libwgan.so) crashed in its build hook
 * (SIGSEGV), model 'gan' seed 1\n" and returns its length; otherwise
 * returns 0. Async-signal-safe: for a fatal-signal handler. */
size_t gm_hook_crash_message(int sig, char *buf, size_t size);

#endif
