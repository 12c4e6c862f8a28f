/* libFuzzer target for reading run files: the input is written as a run
 * file and read the ways gm's commands read one: gm summary (root
 * attributes, the index of models and seeds, the summary table), gm sample
 * (each run's checkpoint) and gm run --resume (the file opened to go on
 * writing it, then marked interrupted).
 *
 * Beyond "no crash, leak or undefined behaviour" it checks that every
 * failure names the file on one line. The seeds are small run files gm
 * wrote (scripts/fuzz.sh makes them); a mutated one must be refused by the
 * header check before HDF5 reads it.
 *
 * An input starting with HDF5's signature is skipped: that is a file from
 * before gm's header, which gm reads unchecked, as HDF5 does, and HDF5
 * 1.10 itself crashes on some damaged metadata. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gm/runfile.h"
#include "gm/state.h"

/* An invariant broken: abort, which libFuzzer reports with the input. */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_runfile: broken: %s\n", #cond);              \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void check_failure(const gm_error *err, const char *path) {
    REQUIRE(err->status != GM_OK && err->message[0]);
    REQUIRE(strstr(err->message, path));
    for (const char *p = err->message; *p; p++)
        REQUIRE(*p != '\n');
}

/* gm sample's read of each run's checkpoint, and the last value of a
 * metric as plots read it. */
static void read_runs(const char *path, const gm_runfile_index *idx) {
    gm_state *state = gm_state_create();
    REQUIRE(state);
    for (int m = 0; m < idx->n_models; m++)
        for (int s = 0; s < idx->models[m].n_seeds; s++) {
            gm_error err = {0};
            uint64_t seed = idx->models[m].seeds[s].seed;
            if (gm_runfile_read_state(path, idx->models[m].name, seed, state,
                                      &err) != GM_OK)
                check_failure(&err, path);
            double last;
            if (gm_runfile_read_last_metric(path, idx->models[m].name, seed,
                                            "step", &last, &err) != GM_OK)
                check_failure(&err, path);
        }
    gm_state_free(state);
}

static void read_all(const char *path) {
    gm_error err = {0};
    gm_runfile_info info;
    if (gm_runfile_read_info(path, &info, &err) == GM_OK)
        gm_runfile_info_clear(&info);
    else
        check_failure(&err, path);
    gm_runfile_index idx;
    if (gm_runfile_list_models(path, &idx, &err) == GM_OK) {
        read_runs(path, &idx);
        gm_runfile_index_clear(&idx);
    } else {
        check_failure(&err, path);
    }
    gm_summary summary;
    if (gm_runfile_read_summary(path, &summary, &err) == GM_OK)
        gm_summary_clear(&summary);
    else
        check_failure(&err, path);
}

static void resume(const char *path) {
    gm_error err = {0};
    gm_runfile *f = gm_runfile_resume(path, &err);
    if (!f) {
        check_failure(&err, path);
        return;
    }
    if (gm_runfile_set_status(f, "interrupted", &err) != GM_OK)
        check_failure(&err, path);
    if (gm_runfile_close(f, &err) != GM_OK) check_failure(&err, path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t hdf5_signature[8] = {0x89, 'H', 'D',  'F',
                                              '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && memcmp(data, hdf5_signature, 8) == 0) return 0;
    char dir[64], path[96], lock[112];
    snprintf(dir, sizeof dir, "/tmp/gm_fuzz_runfile_%ld", (long)getpid());
    snprintf(path, sizeof path, "%s/run.h5", dir);
    snprintf(lock, sizeof lock, "%s/.run.h5.lock", dir);
    (void)mkdir(dir, 0700);
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp);
    REQUIRE(fwrite(data, 1, size, fp) == size);
    REQUIRE(fclose(fp) == 0);
    read_all(path);
    resume(path);
    unlink(path);
    unlink(lock);
    rmdir(dir);
    return 0;
}
