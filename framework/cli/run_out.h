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

/* --keep: before an existing e->out is replaced, a second name for it,
 * its own with its creation time before the extension
 * (runs/x.2026-12-07T230300Z.h5), made as a hard link so that the
 * replacement leaves it in place. kept[n] gets that name; false (said
 * why) if it cannot be made. */
bool run_out_keep_earlier(const char *out, char *kept, size_t n);

/* After training: says where the earlier file is if it was replaced;
 * removes the second name if it was not (out still is that file). */
void run_out_settle_kept(const char *out, const char *kept);

#endif
