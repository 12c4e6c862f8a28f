/* What the run-file sources share (internal). */
#ifndef GM_RUNFILE_INTERNAL_H
#define GM_RUNFILE_INTERNAL_H

#include "gm/runfile.h"
#include "runfile/h5util.h"

/* Longest path of a run file or of the files beside it. */
#define GM_PATH_BUF 4096

struct gm_runfile {
    char *path;      /* the run file as the caller named it (messages) */
    char *target;    /* the file it names (gm_runfile_resolve): locked,
                        published and replaced through this */
    char *live_path; /* where it is published while written: target, or
                        target.new while it replaces an existing file */
    hid_t file;      /* the in-memory copy (core driver) */
    int lock_fd;     /* holds the writer's lock of target, or -1 */
    int live_lock_fd; /* and of live_path when it differs, or -1 */
    unsigned char *image; /* buffer for the published image */
    size_t image_cap;
    bool replaceable; /* every run ended, or interrupted: may replace path */
    bool deferred;    /* changes wait for gm_runfile_flush */
    bool dirty;       /* changed since the last publication */
    gm_run_log *logs; /* open run logs, linked through their `next` */
};

/* Closes the HDF5 objects of a log and detaches it from its file (called
 * when the file closes first, and by gm_run_log_free). */
void gm_run_log_detach(gm_run_log *log);

/* publish.c: the file a path names, the writer's locks, and the file
 * published whole (a temporary file renamed over live_path; fsync'd first
 * if durable). */
gm_status gm_runfile_resolve(const char *path, char *out, size_t n,
                             gm_error *err);
gm_status gm_runfile_lock(gm_runfile *f, gm_error *err);
void gm_runfile_unlock(gm_runfile *f);
gm_status gm_runfile_publish(gm_runfile *f, bool durable, gm_error *err);
/* After a change: publishes, or only notes it while publishing is
 * deferred. */
gm_status gm_runfile_changed(gm_runfile *f, gm_error *err);
hid_t gm_runfile_memory_fapl(void);

/* Writes "/models/<model>/seed_<seed>" into buf (GM_H5_OBJ_MAX bytes). */
void gm_runfile_seed_path(char *buf, const char *model, uint64_t seed);

/* Opens /models/<model>/seed_<seed> of an open file, with an error naming
 * what is missing. */
gm_status gm_runfile_open_seed(hid_t file, const char *path, const char *model,
                               uint64_t seed, hid_t *group, gm_error *err);

/* The metrics of /dataset/floor (floor.c): their names and values, how
 * many (0: none; -1: unreadable). */
int gm_runfile_read_floor(hid_t file, char ***names, double **values);

/* Computes the summary of an open file from its series (summary.c). */
gm_status gm_runfile_compute_summary(hid_t file, const char *path,
                                     gm_summary *out, gm_error *err);
/* Fills out->units and out->better from the metrics' series (summary.c). */
gm_status gm_runfile_read_units(hid_t file, const char *path, gm_summary *out,
                                gm_error *err);

#endif
