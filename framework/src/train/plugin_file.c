#include "train/plugin_file.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h> /* ElfW */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

#define NATIVE_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

/* Raises *end to offset + bytes, false if that overflows. */
static bool extend(uint64_t *end, uint64_t offset, uint64_t bytes) {
    if (offset > UINT64_MAX - bytes) return false;
    if (offset + bytes > *end) *end = offset + bytes;
    return true;
}

static gm_status refuse(gm_error *err, const char *path, const char *why) {
    return gm_error_set(err, GM_ERR_INVALID, "cannot load plugin %s: %s",
                        path, why);
}

/* The bytes the headers of the object read from fd describe, in *end. */
static gm_status described_end(int fd, const char *path, uint64_t size,
                               uint64_t *end, gm_error *err) {
    ElfW(Ehdr) eh;
    if (size < sizeof eh || pread(fd, &eh, sizeof eh, 0) != sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return refuse(err, path, "not an ELF file (a shared object built "
                                 "with -shared -fPIC is needed)");
    if (eh.e_ident[EI_CLASS] != NATIVE_CLASS ||
        eh.e_ident[EI_DATA] != NATIVE_DATA)
        return refuse(err, path, "built for another word size or byte "
                                 "order than this gm");
#ifdef NATIVE_MACHINE
    if (eh.e_machine != NATIVE_MACHINE)
        return gm_error_set(err, GM_ERR_INVALID,
                            "cannot load plugin %s: built for another "
                            "machine (ELF e_machine %d, this gm's is %d)",
                            path, eh.e_machine, NATIVE_MACHINE);
#endif
    if (eh.e_type != ET_DYN)
        return refuse(err, path, "not a shared object (ELF type is not "
                                 "ET_DYN): build it with -shared -fPIC");
    if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(ElfW(Phdr)))
        return refuse(err, path, "its ELF program headers are damaged");
    *end = sizeof eh;
    uint64_t ph_bytes = (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr));
    if (!extend(end, eh.e_phoff, ph_bytes))
        return refuse(err, path, "its ELF program headers are damaged");
    if (eh.e_shoff &&
        !extend(end, eh.e_shoff, (uint64_t)eh.e_shnum * eh.e_shentsize))
        return refuse(err, path, "its ELF section headers are damaged");
    if (*end > size) return GM_OK; /* the headers lie past the end */
    ElfW(Phdr) *ph = malloc(ph_bytes);
    if (!ph) return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
    bool sane =
        pread(fd, ph, ph_bytes, (off_t)eh.e_phoff) == (ssize_t)ph_bytes;
    for (int i = 0; sane && i < eh.e_phnum; i++)
        sane = extend(end, ph[i].p_offset, ph[i].p_filesz);
    free(ph);
    return sane ? GM_OK
                : refuse(err, path, "its ELF program headers are damaged");
}

gm_status gm_plugin_file_check(const char *path, gm_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gm_error_set(err, GM_ERR_NOT_FOUND, "cannot load plugin %s: %s",
                            path, strerror(errno));
    struct stat st;
    gm_status s = GM_OK;
    uint64_t end = 0;
    if (fstat(fd, &st) != 0)
        s = gm_error_set(err, GM_ERR_IO, "cannot load plugin %s: %s", path,
                         strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = refuse(err, path, "not a regular file");
    else
        s = described_end(fd, path, (uint64_t)st.st_size, &end, err);
    close(fd);
    if (s == GM_OK && end > (uint64_t)st.st_size)
        s = gm_error_set(err, GM_ERR_INVALID,
                         "cannot load plugin %s: truncated: %lld bytes of "
                         "the %llu its ELF headers describe (rebuild or "
                         "copy it again)",
                         path, (long long)st.st_size,
                         (unsigned long long)end);
    return s;
}
