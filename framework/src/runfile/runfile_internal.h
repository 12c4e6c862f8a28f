/* What the run-file sources share (internal). */
#ifndef GM_RUNFILE_INTERNAL_H
#define GM_RUNFILE_INTERNAL_H

#include "gm/runfile.h"
#include "runfile/h5util.h"

struct gm_runfile {
    char *path;
    hid_t file;
    gm_run_log *active; /* the run being logged, or NULL */
};

/* Closes the HDF5 objects of a log and detaches it from its file (called
 * when the file closes first, and by gm_run_log_free). */
void gm_run_log_detach(gm_run_log *log);

/* Writes "/models/<model>/seed_<seed>" into buf (GM_H5_OBJ_MAX bytes). */
void gm_runfile_seed_path(char *buf, const char *model, uint64_t seed);

/* Opens /models/<model>/seed_<seed> of an open file, with an error naming
 * what is missing. */
gm_status gm_runfile_open_seed(hid_t file, const char *path, const char *model,
                               uint64_t seed, hid_t *group, gm_error *err);

/* Computes the summary of an open file from its series (summary.c). */
gm_status gm_runfile_compute_summary(hid_t file, const char *path,
                                     gm_summary *out, gm_error *err);

#endif
