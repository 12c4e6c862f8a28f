/* How a run file reaches the disk: the writer keeps the file in memory
 * (HDF5's core driver) and publishes it whole, as a temporary file renamed
 * over the published one. A reader therefore always opens a complete file
 * (the last published version, or the one before), and a crash or a kill
 * at any moment leaves the last published version intact. Each version
 * starts with gm's header (image.c), which readers check. One writer per
 * file: an advisory lock on a hidden file beside it, taken and published
 * through the file the path resolves to, whatever link or name it is
 * reached by. */
#include "runfile/runfile_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<dir>/.<base><suffix>" into buf. */
static void beside(char *buf, size_t n, const char *path, const char *suffix) {
    char *copy_dir = strdup(path), *copy_base = strdup(path);
    if (!copy_dir || !copy_base) {
        snprintf(buf, n, "%s%s", path, suffix);
    } else {
        snprintf(buf, n, "%s/.%s%s", dirname(copy_dir), basename(copy_base),
                 suffix);
    }
    free(copy_dir);
    free(copy_base);
}

gm_status gm_runfile_resolve(const char *path, char *out, size_t n,
                             gm_error *err) {
    char cur[GM_PATH_BUF], link[GM_PATH_BUF];
    if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur)
        return gm_error_set(err, GM_ERR_INVALID, "run file: path too long: %s",
                            path);
    struct stat st;
    for (int hops = 0; lstat(cur, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
        ssize_t len = hops < 40 ? readlink(cur, link, sizeof link - 1) : -1;
        if (len < 0 || len >= (ssize_t)sizeof link - 1)
            return gm_error_set(err, GM_ERR_IO,
                                "%s: cannot follow the symbolic link%s", path,
                                hops < 40 ? "" : "s (a loop?)");
        link[len] = '\0';
        char *slash = strrchr(cur, '/');
        int dir_len = link[0] != '/' && slash ? (int)(slash - cur) + 1 : 0;
        char next[GM_PATH_BUF];
        if (snprintf(next, sizeof next, "%.*s%s", dir_len, cur, link) >=
            (int)sizeof next)
            return gm_error_set(err, GM_ERR_INVALID,
                                "%s: path too long through its links", path);
        memcpy(cur, next, sizeof cur);
    }
    char *slash = strrchr(cur, '/');
    const char *base = slash ? slash + 1 : cur;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s names a directory; a run file is a file "
                            "(RUN.h5)",
                            path);
    if (slash == cur) {
        snprintf(out, n, "/%s", base);
        return GM_OK;
    }
    if (slash) *slash = '\0';
    char dir[PATH_MAX];
    if (!realpath(slash ? cur : ".", dir))
        return gm_error_set(err, GM_ERR_IO, "%s: cannot find its directory: %s",
                            path, strerror(errno));
    if (snprintf(out, n, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, base) >=
        (int)n)
        return gm_error_set(err, GM_ERR_INVALID, "run file: path too long: %s",
                            path);
    return GM_OK;
}

/* True if fd is still the file at `path`: a writer ending removes its
 * lock file, so a lock taken on the removed file guards nothing. */
static bool still_linked(int fd, const char *path) {
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Takes the lock of `file` (the hidden file beside it) into *fd; `path`
 * names the run file in messages. */
static gm_status lock_one(const char *path, const char *file, int *fd_out,
                          gm_error *err) {
    char lock_path[GM_PATH_BUF];
    beside(lock_path, sizeof lock_path, file, ".lock");
    int fd = -1;
    /* A writer that ends between this open and the flock removes the file
     * this open found: then open the one the next writer creates. */
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return gm_error_set(err, GM_ERR_IO,
                                "%s: cannot create the lock %s: %s", path,
                                lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int why = errno;
            char pid[32] = "";
            ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
            pid[got > 0 ? got : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            close(fd);
            if (why == EWOULDBLOCK)
                return gm_error_set(err, GM_ERR_STATE,
                                    "%s is being written by another gm run%s%s%s",
                                    path, *pid ? " (pid " : "", pid,
                                    *pid ? ")" : "");
            return gm_error_set(err, GM_ERR_IO, "%s: cannot lock %s: %s", path,
                                lock_path, strerror(why));
        }
        if (!still_linked(fd, lock_path)) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: cannot lock %s: it keeps "
                            "being removed", path, lock_path);
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the pid is only for the message of a second writer */
    }
    *fd_out = fd;
    return GM_OK;
}

/* The target's lock, and the lock of path.new while replacing it, so that
 * no other gm run writes either (gm run --resume path.new included). */
gm_status gm_runfile_lock(gm_runfile *f, gm_error *err) {
    gm_status st = lock_one(f->path, f->target, &f->lock_fd, err);
    if (st == GM_OK && strcmp(f->live_path, f->target) != 0)
        st = lock_one(f->path, f->live_path, &f->live_lock_fd, err);
    return st;
}

bool gm_runfile_has_writer(const char *path) {
    char target[GM_PATH_BUF - 16], lock_path[GM_PATH_BUF];
    if (gm_runfile_resolve(path, target, sizeof target, NULL) != GM_OK)
        return false;
    beside(lock_path, sizeof lock_path, target, ".lock");
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false; /* never written by this gm */
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* releases the shared lock if it was taken */
    return held;
}

/* Removes the lock file of `file` while its lock is held (a writer that
 * opened it meanwhile sees it gone and takes a new one), then releases it. */
static void unlock_one(const char *file, int fd) {
    if (fd < 0) return;
    char lock_path[GM_PATH_BUF];
    beside(lock_path, sizeof lock_path, file, ".lock");
    if (still_linked(fd, lock_path)) unlink(lock_path);
    close(fd);
}

void gm_runfile_unlock(gm_runfile *f) {
    unlock_one(f->live_path, f->live_lock_fd);
    unlock_one(f->target, f->lock_fd);
    f->live_lock_fd = f->lock_fd = -1;
}

static gm_status write_all(int fd, const unsigned char *p, size_t n,
                           const char *path, gm_error *err) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
            return gm_error_set(err, GM_ERR_IO, "%s: cannot write: %s", path,
                                strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return GM_OK;
}

gm_status gm_runfile_publish(gm_runfile *f, bool durable, gm_error *err) {
    if (H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/", "cannot flush");
    /* HDF5's image leaves the user block out: gm's header goes there. */
    ssize_t hdf5_size = H5Fget_file_image(f->file, NULL, 0);
    if (hdf5_size < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                          "cannot take the file's image");
    size_t size = GM_IMAGE_HEADER + (size_t)hdf5_size;
    if (size > f->image_cap) {
        unsigned char *image = realloc(f->image, size);
        if (!image)
            return gm_error_set(err, GM_ERR_NOMEM,
                                "%s: out of memory for %zu bytes", f->path,
                                size);
        f->image = image;
        f->image_cap = size;
    }
    if (H5Fget_file_image(f->file, f->image + GM_IMAGE_HEADER,
                          (size_t)hdf5_size) < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                          "cannot take the file's image");
    gm_image_seal(f->image, size);
    char tmp[GM_PATH_BUF];
    beside(tmp, sizeof tmp, f->live_path, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: cannot write: %s",
                            f->live_path, strerror(errno));
    gm_status st = write_all(fd, f->image, size, f->live_path, err);
    if (st == GM_OK && durable && fsync(fd) != 0)
        st = gm_error_set(err, GM_ERR_IO, "%s: cannot write: %s", f->live_path,
                          strerror(errno));
    if (close(fd) != 0 && st == GM_OK)
        st = gm_error_set(err, GM_ERR_IO, "%s: cannot write: %s", f->live_path,
                          strerror(errno));
    if (st == GM_OK && rename(tmp, f->live_path) != 0)
        st = gm_error_set(err, GM_ERR_IO, "%s: cannot replace it: %s",
                          f->live_path, strerror(errno));
    if (st != GM_OK) unlink(tmp);
    if (st == GM_OK) f->dirty = false;
    return st;
}

gm_status gm_runfile_changed(gm_runfile *f, gm_error *err) {
    if (!f->deferred) return gm_runfile_publish(f, false, err);
    f->dirty = true;
    return GM_OK;
}

void gm_runfile_defer(gm_runfile *f) { f->deferred = true; }

gm_status gm_runfile_flush(gm_runfile *f, gm_error *err) {
    return f->dirty ? gm_runfile_publish(f, false, err) : GM_OK;
}

/* The file access properties of the in-memory copy the writer works on.
 * The oldest superblock version: HDF5 1.10's file image of a newer one
 * carries a checksum that readers refuse. */
hid_t gm_runfile_memory_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST) <
            0 ||
        H5Pset_fapl_core(fapl, 1 << 20, false) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}
