/* The checked image: a run file as gm publishes it starts with an HDF5
 * user block of GM_IMAGE_HEADER bytes holding gm's header (a magic, the
 * file's length and the CRC-32 of everything after the header), and a
 * reader checks it before HDF5 sees a byte. HDF5 1.10 reads the oldest
 * format, whose metadata has no checksums, and crashes on some damaged
 * metadata (a flipped bit in the global heap): the header turns any change
 * after gm wrote the file into an error. The file is read into memory once,
 * checked, and HDF5 opens that copy, so nothing can change between the
 * check and the open. HDF5 skips the user block (h5py and h5dump read the
 * file as before). */
#include "runfile/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char magic[16] = "gm run file\n";
enum { LENGTH_AT = 16, CRC_AT = 24 };
static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F',
                                                '\r', '\n', 0x1a, '\n'};

static void put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t checksum(const unsigned char *p, size_t n) {
    return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, n);
}

void gm_image_seal(unsigned char *file, size_t size) {
    memset(file, 0, GM_IMAGE_HEADER);
    memcpy(file, magic, sizeof magic);
    put_le(file + LENGTH_AT, size, 8);
    put_le(file + CRC_AT,
           checksum(file + GM_IMAGE_HEADER, size - GM_IMAGE_HEADER), 4);
}

/* A file that is not HDF5: most often the experiment's YAML, given where
 * its run file was meant. */
static gm_status not_a_run_file(const char *path, gm_error *err) {
    const char *dot = strrchr(path, '.');
    bool yaml = dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0);
    if (yaml)
        return gm_error_set(err, GM_ERR_INVALID,
                            "%s is an experiment file; this wants a run file "
                            "(RUN.h5): train it with 'gm run %s', which "
                            "writes runs/<experiment>.h5",
                            path, path);
    return gm_error_set(err, GM_ERR_IO,
                        "%s: not an HDF5 file, or a corrupt one; this wants "
                        "a run file (RUN.h5, written by gm run)",
                        path);
}

static bool all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

static gm_status check(const char *path, const unsigned char *file,
                       size_t size, gm_error *err) {
    if (size >= sizeof hdf5_signature &&
        memcmp(file, hdf5_signature, sizeof hdf5_signature) == 0)
        return GM_OK; /* written before gm's header: readable, unchecked */
    bool has_magic =
        size >= GM_IMAGE_HEADER && memcmp(file, magic, sizeof magic) == 0;
    bool hdf5_after = size >= GM_IMAGE_HEADER + sizeof hdf5_signature &&
                      memcmp(file + GM_IMAGE_HEADER, hdf5_signature,
                             sizeof hdf5_signature) == 0;
    if (!has_magic && !hdf5_after) return not_a_run_file(path, err);
    if (!has_magic || !all_zero(file + CRC_AT + 4,
                                GM_IMAGE_HEADER - CRC_AT - 4))
        return gm_error_set(err, GM_ERR_IO,
                            "%s: damaged: gm's header is not as gm wrote it",
                            path);
    uint64_t length = get_le(file + LENGTH_AT, 8);
    if (length != size)
        return gm_error_set(err, GM_ERR_IO,
                            "%s: damaged: %zu bytes where gm wrote %llu (the "
                            "file changed after gm wrote it)",
                            path, size, (unsigned long long)length);
    if (checksum(file + GM_IMAGE_HEADER, size - GM_IMAGE_HEADER) !=
        get_le(file + CRC_AT, 4))
        return gm_error_set(err, GM_ERR_IO,
                            "%s: damaged: checksum mismatch (the file changed "
                            "after gm wrote it)",
                            path);
    return GM_OK;
}

/* Reads the whole regular file at path into a malloc'd buffer. */
static gm_status read_whole(const char *path, unsigned char **out,
                            size_t *size, gm_error *err) {
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return gm_error_set(err, errno == ENOENT ? GM_ERR_NOT_FOUND : GM_ERR_IO,
                            "%s: cannot open run file: %s", path,
                            strerror(errno));
    struct stat st;
    gm_status s = GM_OK;
    if (fstat(fd, &st) != 0)
        s = gm_error_set(err, GM_ERR_IO, "%s: cannot open run file: %s", path,
                         strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = gm_error_set(err, GM_ERR_IO, "%s: not a regular file", path);
    size_t n = s == GM_OK ? (size_t)st.st_size : 0;
    unsigned char *buf = s == GM_OK ? malloc(n ? n : 1) : NULL;
    if (s == GM_OK && !buf)
        s = gm_error_set(err, GM_ERR_NOMEM,
                         "%s: out of memory reading %zu bytes", path, n);
    size_t got = 0;
    while (s == GM_OK && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            s = gm_error_set(err, GM_ERR_IO, "%s: cannot read: %s", path,
                             strerror(errno));
        else if (r == 0)
            n = got; /* shorter than stat said: check() judges it */
        else
            got += (size_t)r;
    }
    close(fd);
    if (s != GM_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    *size = n;
    return GM_OK;
}

gm_status gm_image_open(const char *path, bool writable, hid_t fapl,
                        hid_t *file, gm_error *err) {
    *file = H5I_INVALID_HID;
    unsigned char *image = NULL;
    size_t size = 0;
    gm_status s = read_whole(path, &image, &size, err);
    if (s == GM_OK) s = check(path, image, size, err);
    if (s == GM_OK && (H5Pset_fapl_core(fapl, 1 << 20, false) < 0 ||
                       H5Pset_file_image(fapl, image, size) < 0))
        s = gm_h5_fail(err, GM_ERR_NOMEM, path, "/",
                       "cannot hold the file in memory");
    free(image); /* HDF5 keeps its own copy */
    if (s != GM_OK) return s;
    /* The core driver refuses a name that exists on disk when it opens an
     * image, and shares one open file between opens of the same name: a
     * name no file can have, distinct for the writer and for readers. */
    size_t n = strlen(path) + 32;
    char *name = malloc(n);
    if (!name) return gm_error_set(err, GM_ERR_NOMEM, "%s: out of memory", path);
    snprintf(name, n, "/dev/null/gm %s %s", writable ? "writes" : "reads",
             path);
    *file = H5Fopen(name, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    free(name);
    return *file < 0 ? not_a_run_file(path, err) : GM_OK;
}
