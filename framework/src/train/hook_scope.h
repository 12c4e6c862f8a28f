/* The objective hook each thread is running, so that a crash inside one
 * (a plugin's bug) can be reported with the objective, its file, the hook
 * and the run, instead of ending gm with no word: the message is public,
 * gm_hook_crash_message in gm/hook_crash.h. */
#ifndef GM_TRAIN_HOOK_SCOPE_H
#define GM_TRAIN_HOOK_SCOPE_H

#include "gm/hook_crash.h"

typedef struct gm_model gm_model;

/* Marks the calling thread as running `hook` ("build", "after_step", ...)
 * of m's objective, until gm_hook_leave. Not nested. */
void gm_hook_enter(const gm_model *m, const char *hook);
void gm_hook_leave(void);

#endif
