/* gm/hook_crash.h: which objective hook a crash happened in.
 *
 * A fatal signal inside an objective's hook (a plugin's bug) would end a
 * program with no word about whose code crashed. libgm marks each thread
 * while it runs a hook, so that a program's handler of SIGSEGV and the
 * like can say so before the signal takes its course (the gm command
 * does: framework/cli/crash_report.c). */
#ifndef GM_HOOK_CRASH_H
#define GM_HOOK_CRASH_H

#include <stddef.h>

#include "gm/api.h"

GM_API_BEGIN

/* If the calling thread is in an objective's hook, writes into buf (size
 * bytes) a line such as "gm: objective 'wgan' (/x/libwgan.so) crashed in
 * its build hook (SIGSEGV), model 'gan' seed 1\n" and returns its length;
 * otherwise returns 0. Async-signal-safe: for a fatal-signal handler. */
size_t gm_hook_crash_message(int sig, char *buf, size_t size);

GM_API_END

#endif
