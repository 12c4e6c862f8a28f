/* The MPI transport of gm/cluster.h. Rank 0's trainer has one worker
 * thread per training thread ("slot") of every other rank; each such
 * thread hands its slot a run, and the slot sends back what the run
 * publishes, as messages on the tag of the slot's thread:
 *
 *   rank 0 -> slot: JOB (run index, checkpoint bytes), STOP, NONE
 *   slot -> rank 0: PUBLISHED, CHECKPOINT (state bytes), PROGRESS, END
 *
 * A message is a fixed header, then its payload (new evaluation rows, a
 * state's bytes, an error message) in pieces of at most 1 GiB. Threads
 * take turns at MPI (MPI_THREAD_SERIALIZED) and hold the turn only for
 * calls that return at once: a thread waits for its send or receive by
 * testing it between naps, so that no thread blocks another rank's
 * progress, and no rank spins a core while it waits (as a blocking
 * OpenMPI call would, which costs a training thread on a busy node). */
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote_runs.h"

enum message_type {
    MSG_JOB,
    MSG_STOP,
    MSG_NONE,
    MSG_PUBLISHED,
    MSG_CHECKPOINT,
    MSG_PROGRESS,
    MSG_END,
};

typedef struct header {
    int32_t type;
    int32_t index;      /* JOB: the run */
    int32_t status;     /* END: the run's gm_status */
    int32_t evaluation; /* PROGRESS: an evaluation was just logged */
    int64_t steps_done;
    int64_t rows_from, rows_to; /* evaluation rows in the payload */
    int64_t state_size;         /* state bytes after the rows */
    int64_t message_size;       /* END: error message after the state */
    double train_seconds;
    double progress_interval; /* JOB: seconds between progress reports */
} header;

#define PIECE_MAX ((size_t)1 << 30)
#define NAP_MIN_NS 20000L
#define NAP_MAX_NS 5000000L

/* One training thread of a rank other than 0, seen from rank 0. */
typedef struct slot {
    int rank, tag;
    bool released;
    char *buf; /* the last payload received */
    size_t cap;
} slot;

struct gm_cluster {
    int rank, size, local_size;
    pthread_mutex_t turn; /* one thread at a time in MPI */
    slot *slots;          /* rank 0: every other rank's threads */
    int n_slots;
};

bool gm_cluster_available(void) { return true; }

gm_cluster *gm_cluster_join(gm_error *err) {
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) !=
        MPI_SUCCESS) {
        gm_error_set(err, GM_ERR_IO, "MPI_Init_thread failed");
        return NULL;
    }
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        gm_error_set(err, GM_ERR_IO,
                     "this MPI library does not let threads call it in "
                     "turn (MPI_THREAD_SERIALIZED)");
        return NULL;
    }
    gm_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        MPI_Finalize();
        gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank,
                        MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &c->local_size);
    MPI_Comm_free(&local);
    pthread_mutex_init(&c->turn, NULL);
    return c;
}

int gm_cluster_rank(const gm_cluster *c) { return c->rank; }
int gm_cluster_size(const gm_cluster *c) { return c->size; }
int gm_cluster_local_size(const gm_cluster *c) { return c->local_size; }
int gm_cluster_remote_slots(const gm_cluster *c) { return c->n_slots; }

static void nap(long *ns) {
    struct timespec t = {0, *ns};
    nanosleep(&t, NULL);
    *ns = *ns * 2 > NAP_MAX_NS ? NAP_MAX_NS : *ns * 2;
}

static void wait_for(gm_cluster *c, MPI_Request *req) {
    for (long ns = NAP_MIN_NS;; nap(&ns)) {
        int done;
        pthread_mutex_lock(&c->turn);
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        pthread_mutex_unlock(&c->turn);
        if (done) return;
    }
}

static void send_bytes(gm_cluster *c, const void *bytes, size_t n, int rank,
                       int tag) {
    const char *p = bytes;
    do {
        size_t piece = n < PIECE_MAX ? n : PIECE_MAX;
        MPI_Request req;
        pthread_mutex_lock(&c->turn);
        MPI_Isend(p, (int)piece, MPI_BYTE, rank, tag, MPI_COMM_WORLD, &req);
        pthread_mutex_unlock(&c->turn);
        wait_for(c, &req);
        p += piece;
        n -= piece;
    } while (n > 0);
}

static void receive_bytes(gm_cluster *c, void *bytes, size_t n, int rank,
                          int tag) {
    char *p = bytes;
    do {
        size_t piece = n < PIECE_MAX ? n : PIECE_MAX;
        MPI_Request req;
        pthread_mutex_lock(&c->turn);
        MPI_Irecv(p, (int)piece, MPI_BYTE, rank, tag, MPI_COMM_WORLD, &req);
        pthread_mutex_unlock(&c->turn);
        wait_for(c, &req);
        p += piece;
        n -= piece;
    } while (n > 0);
}

/* A header from (rank, tag) if one has come; never waits for one. */
static bool header_arrived(gm_cluster *c, int rank, int tag, header *h) {
    int arrived;
    pthread_mutex_lock(&c->turn);
    MPI_Iprobe(rank, tag, MPI_COMM_WORLD, &arrived, MPI_STATUS_IGNORE);
    pthread_mutex_unlock(&c->turn);
    if (arrived) receive_bytes(c, h, sizeof *h, rank, tag);
    return arrived;
}

static bool grow(char **buf, size_t *cap, size_t n) {
    if (n <= *cap) return true;
    char *b = realloc(*buf, n);
    if (!b) return false;
    *buf = b;
    *cap = n;
    return true;
}

/* The values of the evaluation vectors (gm_hooks) in one row; 0 without. */
static size_t row_vector_values(const gm_run *r) {
    return r->row_vectors ? (size_t)r->model->eval_vector_values : 0;
}

static size_t row_bytes(const gm_run *r) {
    return sizeof(int64_t) + (size_t)r->n_logged * sizeof(double) +
           (size_t)r->k_modes * sizeof(int) +
           (size_t)r->snapshot * r->dim * sizeof(float) +
           row_vector_values(r) * sizeof(double);
}

static char *put(char *p, const void *v, size_t n) {
    memcpy(p, v, n);
    return p + n;
}

static const char *get(const char *p, void *v, size_t n) {
    memcpy(v, p, n);
    return p + n;
}

void gm_cluster_share_text(gm_cluster *c, const char *text, char **received) {
    int64_t len = c->rank == 0 && text ? (int64_t)strlen(text) + 1 : 0;
    MPI_Bcast(&len, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    char *doc = c->rank == 0 ? (char *)text : NULL;
    /* a rank without the memory cannot take part in the broadcast */
    if (c->rank > 0 && len > 0 && !(doc = malloc((size_t)len)))
        MPI_Abort(MPI_COMM_WORLD, 1);
    if (len > 0) MPI_Bcast(doc, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (c->rank > 0) *received = doc;
}

void gm_cluster_count_threads(gm_cluster *c, int jobs) {
    int *counts = c->rank == 0 ? calloc((size_t)c->size, sizeof *counts) : 0;
    if (c->rank == 0 && !counts) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Gather(&jobs, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (c->rank > 0) return;
    int n = 0;
    for (int r = 1; r < c->size; r++)
        n += counts[r];
    c->slots = calloc(n > 0 ? (size_t)n : 1, sizeof *c->slots);
    if (!c->slots) MPI_Abort(MPI_COMM_WORLD, 1); /* the others wait for it */
    for (int r = 1; r < c->size; r++)
        for (int k = 0; k < counts[r]; k++)
            c->slots[c->n_slots++] = (slot){.rank = r, .tag = k};
    free(counts);
}

static void send_header(gm_cluster *c, const slot *s, int type) {
    header h = {.type = type};
    send_bytes(c, &h, sizeof h, s->rank, s->tag);
}

void gm_cluster_release(gm_cluster *c, int index) {
    slot *s = &c->slots[index];
    if (s->released) return;
    send_header(c, s, MSG_NONE);
    s->released = true;
}

void gm_cluster_leave(gm_cluster *c) {
    if (!c) return;
    for (int i = 0; i < c->n_slots; i++) {
        gm_cluster_release(c, i);
        free(c->slots[i].buf);
    }
    free(c->slots);
    pthread_mutex_destroy(&c->turn);
    free(c);
    MPI_Finalize();
}

/* ---- rank 0: a run trained on a slot --------------------------------- */

/* Copies the rows of a message into r. */
static const char *take_rows(gm_run *r, const header *h, const char *p) {
    GM_ASSERT(h->rows_from <= h->rows_to && h->rows_to <= r->cap_rows);
    for (long k = (long)h->rows_from; k < h->rows_to; k++) {
        p = get(p, &r->row_step[k], sizeof *r->row_step);
        p = get(p, r->row_values + k * r->n_logged,
                (size_t)r->n_logged * sizeof *r->row_values);
        if (r->k_modes)
            p = get(p, r->row_modes + k * r->k_modes,
                    (size_t)r->k_modes * sizeof *r->row_modes);
        p = get(p, r->row_samples + (size_t)k * r->snapshot * r->dim,
                (size_t)r->snapshot * r->dim * sizeof *r->row_samples);
        if (row_vector_values(r))
            p = get(p, r->row_vectors + (size_t)k * row_vector_values(r),
                    row_vector_values(r) * sizeof(double));
    }
    if (h->rows_to > h->rows_from) r->n_rows = (long)h->rows_to;
    return p;
}

gm_status gm_cluster_train_remote(gm_cluster *c, int index, gm_run *r,
                                  const gm_run_callbacks *cb, gm_error *err) {
    slot *s = &c->slots[index];
    size_t size = 0;
    const void *state =
        r->checkpoint_step >= 0 ? gm_state_bytes(r->state, &size) : NULL;
    header job = {.type = MSG_JOB,
                  .index = r->index,
                  .state_size = (int64_t)size,
                  .progress_interval = cb->progress_interval};
    send_bytes(c, &job, sizeof job, s->rank, s->tag);
    if (size > 0) send_bytes(c, state, size, s->rank, s->tag);
    bool stop_sent = false;
    gm_status failed = GM_OK; /* then stop the run and wait for its end */
    for (;;) {
        header h;
        for (long ns = NAP_MIN_NS; !header_arrived(c, s->rank, s->tag, &h);
             nap(&ns))
            if (!stop_sent &&
                (failed != GM_OK || (cb->stop && cb->stop(cb->ctx)))) {
                send_header(c, s, MSG_STOP);
                stop_sent = true;
            }
        size_t n = (size_t)(h.rows_to - h.rows_from) * row_bytes(r) +
                   (size_t)h.state_size + (size_t)h.message_size;
        if (!grow(&s->buf, &s->cap, n)) /* the slot's message still comes */
            MPI_Abort(MPI_COMM_WORLD, 1);
        if (n > 0) receive_bytes(c, s->buf, n, s->rank, s->tag);
        if (failed != GM_OK && h.type != MSG_END) continue;
        const char *p = take_rows(r, &h, s->buf);
        r->steps_done = (long)h.steps_done;
        r->train_seconds = h.train_seconds;
        switch (h.type) {
        case MSG_PUBLISHED:
            if (cb->published) cb->published(r, cb->ctx);
            break;
        case MSG_CHECKPOINT:
            failed =
                gm_state_from_bytes(r->state, p, (size_t)h.state_size, err);
            if (failed != GM_OK) break;
            r->checkpoint_step = r->steps_done;
            if (cb->checkpointed) cb->checkpointed(r, cb->ctx);
            break;
        case MSG_PROGRESS:
            if (cb->progress) cb->progress(r, h.evaluation != 0, cb->ctx);
            break;
        case MSG_END:
            if (failed != GM_OK || h.status == GM_OK) return failed;
            p += h.state_size;
            return gm_error_set(err, (gm_status)h.status, "%.*s",
                                (int)h.message_size, p);
        default: GM_ASSERT(false);
        }
    }
}

/* ---- the other ranks: each thread trains the runs it is handed ------- */

typedef struct server {
    gm_cluster *c;
    const gm_experiment *e;
    const gm_objective **objectives; /* [n_models] */
    const gm_image_classifier *classifier; /* eval.classifier, or NULL */
    gm_dataset_cache *datasets; /* shared by this rank's threads */
    const gm_train_options *opts;
    /* a dataset may read an HDF5 file, and HDF5 is not thread-safe */
    pthread_mutex_t setup;
} server;

typedef struct serving {
    server *sv;
    int tag;
    gm_run run;
    long sent_rows;
    bool stopped; /* rank 0 said STOP */
    char *buf;
    size_t cap;
} serving;

/* Sends rank 0 the rows since the last message, and the state and error
 * message if given. Stops the job if out of memory: rank 0 waits. */
static void send_news(serving *w, header h, const gm_state *state,
                      const char *message) {
    gm_run *r = &w->run;
    size_t state_size = 0;
    const void *bytes = state ? gm_state_bytes(state, &state_size) : NULL;
    h.steps_done = r->steps_done;
    h.train_seconds = r->train_seconds;
    h.rows_from = w->sent_rows;
    h.rows_to = r->n_rows > w->sent_rows ? r->n_rows : w->sent_rows;
    h.state_size = (int64_t)state_size;
    h.message_size = message ? (int64_t)strlen(message) : 0;
    size_t n = (size_t)(h.rows_to - h.rows_from) * row_bytes(r) + state_size +
               (size_t)h.message_size;
    if (!grow(&w->buf, &w->cap, n)) MPI_Abort(MPI_COMM_WORLD, 1);
    char *p = w->buf;
    for (long k = (long)h.rows_from; k < h.rows_to; k++) {
        p = put(p, &r->row_step[k], sizeof *r->row_step);
        p = put(p, r->row_values + k * r->n_logged,
                (size_t)r->n_logged * sizeof *r->row_values);
        if (r->k_modes)
            p = put(p, r->row_modes + k * r->k_modes,
                    (size_t)r->k_modes * sizeof *r->row_modes);
        p = put(p, r->row_samples + (size_t)k * r->snapshot * r->dim,
                (size_t)r->snapshot * r->dim * sizeof *r->row_samples);
        if (row_vector_values(r))
            p = put(p, r->row_vectors + (size_t)k * row_vector_values(r),
                    row_vector_values(r) * sizeof(double));
    }
    if (state_size) p = put(p, bytes, state_size);
    if (message) put(p, message, (size_t)h.message_size);
    send_bytes(w->sv->c, &h, sizeof h, 0, w->tag);
    if (n > 0) send_bytes(w->sv->c, w->buf, n, 0, w->tag);
    w->sent_rows = (long)h.rows_to;
}

static void on_published(gm_run *r, void *ctx) {
    send_news(ctx, (header){.type = MSG_PUBLISHED}, NULL, NULL);
}

static void on_checkpointed(gm_run *r, void *ctx) {
    send_news(ctx, (header){.type = MSG_CHECKPOINT}, r->state, NULL);
}

static void on_progress(gm_run *r, bool evaluation, void *ctx) {
    send_news(ctx, (header){.type = MSG_PROGRESS, .evaluation = evaluation},
              NULL, NULL);
}

static bool on_stop(void *ctx) {
    serving *w = ctx;
    const volatile sig_atomic_t *signalled = w->sv->opts->stop;
    header h;
    /* while a run trains, rank 0 sends nothing but STOP */
    if (!w->stopped && header_arrived(w->sv->c, 0, w->tag, &h))
        w->stopped = h.type == MSG_STOP;
    return w->stopped || (signalled && *signalled);
}

/* Builds run `index` as rank 0 did and puts it where `state` left it. */
static gm_status set_up(serving *w, int index, const gm_state *state,
                        gm_error *err) {
    const gm_experiment *e = w->sv->e;
    int m = index / e->n_seeds;
    w->run = (gm_run){.e = e,
                      .spec = &e->models[m],
                      .objective = w->sv->objectives[m],
                      .seed = e->seeds[index % e->n_seeds],
                      .index = index,
                      .classifier = w->sv->classifier,
                      .datasets = w->sv->datasets};
    pthread_mutex_lock(&w->sv->setup);
    gm_status s = gm_run_setup(&w->run, err);
    pthread_mutex_unlock(&w->sv->setup);
    if (s == GM_OK && state) s = gm_run_load_state(&w->run, state, err);
    w->sent_rows = w->run.n_rows;
    return s;
}

/* One thread: runs until rank 0 has no more. */
static void *serve_slot(void *arg) {
    serving *w = arg;
    server *sv = w->sv;
    gm_run_callbacks cb = {.published = on_published,
                           .checkpointed = on_checkpointed,
                           .progress = on_progress,
                           .stop = on_stop,
                           .ctx = w};
    gm_state *state = gm_state_create();
    char *bytes = NULL;
    size_t cap = 0;
    for (;;) {
        header h;
        for (long ns = NAP_MIN_NS; !header_arrived(sv->c, 0, w->tag, &h);
             nap(&ns)) {
        }
        if (h.type == MSG_NONE) break;
        if (h.type != MSG_JOB) continue; /* a STOP for a run already ended */
        size_t size = (size_t)h.state_size;
        if (!state || !grow(&bytes, &cap, size)) MPI_Abort(MPI_COMM_WORLD, 1);
        if (size > 0) receive_bytes(sv->c, bytes, size, 0, w->tag);
        gm_error err = {0};
        gm_status s =
            size > 0 ? gm_state_from_bytes(state, bytes, size, &err) : GM_OK;
        w->run = (gm_run){0};
        w->sent_rows = 0;
        w->stopped = false;
        cb.progress_interval = h.progress_interval; /* rank 0's display */
        if (s == GM_OK) s = set_up(w, h.index, size > 0 ? state : NULL, &err);
        if (s == GM_OK) s = gm_run_train(&w->run, &cb, &err);
        send_news(w, (header){.type = MSG_END, .status = s}, NULL,
                  s == GM_OK ? NULL : err.message);
        gm_run_free(&w->run);
    }
    gm_state_free(state);
    free(bytes);
    free(w->buf);
    return NULL;
}

gm_status gm_cluster_serve(gm_cluster *c, const gm_experiment *e,
                           gm_registry *reg, const gm_train_options *opts,
                           gm_error *err) {
    int jobs = opts->jobs > 0 ? opts->jobs : 1;
    server sv = {.c = c, .e = e, .opts = opts};
    serving *threads = calloc((size_t)jobs, sizeof *threads);
    pthread_t *ids = calloc((size_t)jobs, sizeof *ids);
    sv.objectives = calloc((size_t)e->n_models, sizeof *sv.objectives);
    gm_status s = threads && ids && sv.objectives
                      ? GM_OK
                      : gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    for (int m = 0; s == GM_OK && m < e->n_models; m++)
        if (!(sv.objectives[m] = gm_registry_find(reg, e->models[m].objective,
                                                  e->models[m].plugin, err)))
            s = err->status;
    gm_image_classifier *classifier = NULL;
    if (s == GM_OK && e->eval_classifier[0] &&
        !(classifier = gm_image_classifier_load(
              e->eval_classifier, e->eval_classifier_model, reg, err)))
        s = err->status;
    sv.classifier = classifier;
    if (s == GM_OK && !(sv.datasets = gm_dataset_cache_create(&e->dataset)))
        s = gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    if (s != GM_OK) { /* rank 0 waits for these threads' runs: abort */
        free(threads);
        free(ids);
        free(sv.objectives);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    pthread_mutex_init(&sv.setup, NULL);
    gm_blas_set_threads(e->blas_threads); /* as in gm_train_experiment */
    int started = 0;
    for (; started < jobs; started++) {
        threads[started] = (serving){.sv = &sv, .tag = started};
        if (pthread_create(&ids[started], NULL, serve_slot,
                           &threads[started]) != 0)
            break;
    }
    if (started < jobs) /* rank 0 would wait for the missing threads */
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    pthread_mutex_destroy(&sv.setup);
    free(threads);
    free(ids);
    free(sv.objectives);
    gm_image_classifier_free(classifier);
    gm_dataset_cache_free(sv.datasets);
    return GM_OK;
}
