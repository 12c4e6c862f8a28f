/* How a run file reaches the disk: the writer keeps the file in memory
 * (HDF5's core driver) and publishes it whole, as a temporary file renamed
 * over the published one. A reader therefore always opens a complete file
 * (the last published version, or the one before), and a crash or a kill
 * at any moment leaves the last published version intact. One writer per
 * file: an advisory lock on a hidden file beside it. */
#include "runfile/runfile_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/file.h>
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

gm_status gm_runfile_lock(gm_runfile *f, gm_error *err) {
    char lock_path[GM_PATH_BUF];
    beside(lock_path, sizeof lock_path, f->path, ".lock");
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: cannot create the lock %s: %s",
                            f->path, lock_path, strerror(errno));
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
                                f->path, *pid ? " (pid " : "", pid,
                                *pid ? ")" : "");
        return gm_error_set(err, GM_ERR_IO, "%s: cannot lock %s: %s", f->path,
                            lock_path, strerror(why));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the pid is only for the message of a second writer */
    }
    f->lock_fd = fd;
    return GM_OK;
}

bool gm_runfile_has_writer(const char *path) {
    char lock_path[GM_PATH_BUF];
    beside(lock_path, sizeof lock_path, path, ".lock");
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false; /* never written by this gm */
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* releases the shared lock if it was taken */
    return held;
}

void gm_runfile_unlock(gm_runfile *f) {
    if (f->lock_fd < 0) return;
    close(f->lock_fd); /* releases the lock; the file stays for the next */
    f->lock_fd = -1;
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
    ssize_t size = H5Fget_file_image(f->file, NULL, 0);
    if (size < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                          "cannot take the file's image");
    if ((size_t)size > f->image_cap) {
        unsigned char *image = realloc(f->image, (size_t)size);
        if (!image)
            return gm_error_set(err, GM_ERR_NOMEM,
                                "%s: out of memory for %zd bytes", f->path,
                                size);
        f->image = image;
        f->image_cap = (size_t)size;
    }
    if (H5Fget_file_image(f->file, f->image, (size_t)size) < 0)
        return gm_h5_fail(err, GM_ERR_IO, f->path, "/",
                          "cannot take the file's image");
    char tmp[GM_PATH_BUF];
    beside(tmp, sizeof tmp, f->live_path, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return gm_error_set(err, GM_ERR_IO, "%s: cannot write: %s",
                            f->live_path, strerror(errno));
    gm_status st = write_all(fd, f->image, (size_t)size, f->live_path, err);
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
