/* gm run's checks of the run file it is to write (--out), before any
 * model trains: not one of the experiment's inputs, a regular file, and
 * not an existing file unless --force replaces it. */
#ifndef GM_CLI_RUN_OUT_H
#define GM_CLI_RUN_OUT_H

#include <stdbool.h>

#include "gm/experiment.h"

/* Checks e->out for a new run (not --resume) of the experiment `file`;
 * prints why it is refused (and where an unfinished --force left its
 * work) and returns false if it is. *exists: e->out exists (and --force
 * will replace it). */
bool run_out_acceptable(const gm_experiment *e, const char *file, bool force,
                        bool *exists);

#endif
