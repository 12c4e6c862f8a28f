/* Comparing two run files bit for bit, and stopping a run from a test:
 * what the resume and sweep tests share. */
#ifndef GM_TEST_RUN_COMPARE_H
#define GM_TEST_RUN_COMPARE_H

#include <hdf5.h>
#include <signal.h>

#include "gm/train.h"

/* A progress callback's context that raises `flag` (the run's stop flag)
 * once `model` (NULL: any model) reaches step `at`. */
typedef struct test_stopper {
    const char *model;
    long at;
    volatile sig_atomic_t flag;
} test_stopper;

/* The gm_progress_fn that drives a test_stopper. */
void test_stop_at(const gm_progress *p, void *ctx);

/* Asserts that dataset `path` holds the same bytes in files a and b. */
void same_dataset(hid_t a, hid_t b, const char *path);

/* Asserts that the last checkpoints of (model, seed) in two run files hold
 * the same records, bit for bit, but for the timing run/train_seconds. */
void same_checkpoint(const char *want, const char *got, const char *model,
                     int seed);

#endif
