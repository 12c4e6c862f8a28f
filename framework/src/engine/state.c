/* Run states: named records in one byte buffer (gm/state.h). */
#include "gm/state.h"

#include <string.h>

#define MAGIC "GMSTATE1"
#define MAGIC_LEN 8
#define NAME_PART_MAX 255

struct gm_state {
    unsigned char *buf;
    size_t size, cap;
    int count;
};

/* The fixed part of a record's header. */
typedef struct header {
    uint32_t name_len, type, rank, zero;
} header;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

size_t gm_state_type_size(gm_state_type type) {
    return type == GM_STATE_F32 || type == GM_STATE_I32 ? 4 : 8;
}

const char *gm_state_type_name(gm_state_type type) {
    static const char *const names[] = {"f32", "f64", "i64", "u64", "i32"};
    return type >= 0 && type < GM_STATE_TYPE_COUNT ? names[type] : "?";
}

static bool reserve(gm_state *s, size_t more) {
    size_t need = s->size + more;
    if (need <= s->cap) return true;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < need) cap *= 2;
    unsigned char *buf = realloc(s->buf, cap);
    if (!buf) return false;
    s->buf = buf;
    s->cap = cap;
    return true;
}

gm_state *gm_state_create(void) {
    gm_state *s = calloc(1, sizeof *s);
    if (s && !reserve(s, 4096)) {
        free(s);
        return NULL;
    }
    if (s) gm_state_reset(s);
    return s;
}

void gm_state_free(gm_state *s) {
    if (!s) return;
    free(s->buf);
    free(s);
}

void gm_state_reset(gm_state *s) {
    memcpy(s->buf, MAGIC, MAGIC_LEN);
    s->size = MAGIC_LEN;
    s->count = 0;
}

/* '/'-separated, every part 1..255 bytes and not "." or "..". */
static bool valid_name(const char *name, size_t len) {
    if (len == 0) return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] == '\0') return false;
        if (i < len && name[i] != '/') continue;
        size_t part = i - start;
        if (part == 0 || part > NAME_PART_MAX) return false;
        if ((part == 1 && name[start] == '.') ||
            (part == 2 && name[start] == '.' && name[start + 1] == '.'))
            return false;
        start = i + 1;
    }
    return true;
}

/* Reads the record at offset `at` of a buffer of `size` bytes into r;
 * returns the offset of the next record, or 0 if the record is malformed. */
static size_t parse_record(const unsigned char *buf, size_t size, size_t at,
                           gm_state_record *r) {
    header h;
    if (size - at < sizeof h) return 0;
    memcpy(&h, buf + at, sizeof h);
    at += sizeof h;
    if (h.type >= GM_STATE_TYPE_COUNT || h.rank > GM_STATE_MAX_RANK ||
        h.zero != 0 || h.name_len == 0 || h.name_len > 4096)
        return 0;
    if ((size - at) / 8 < h.rank) return 0;
    r->type = (gm_state_type)h.type;
    r->rank = (int)h.rank;
    size_t count = 1, elem = gm_state_type_size(r->type);
    for (uint32_t i = 0; i < h.rank; i++) {
        memcpy(&r->dims[i], buf + at + 8 * i, 8);
        if (r->dims[i] < 0 ||
            (r->dims[i] > 0 && count > SIZE_MAX / elem / (size_t)r->dims[i]))
            return 0;
        count *= (size_t)r->dims[i];
    }
    at += 8 * (size_t)h.rank;
    size_t name_bytes = pad8(h.name_len), data_bytes = pad8(count * elem);
    if (size - at < name_bytes || size - at - name_bytes < data_bytes)
        return 0;
    r->name = (const char *)buf + at;
    r->name_len = h.name_len;
    if (!valid_name(r->name, r->name_len)) return 0;
    r->count = count;
    r->data = buf + at + name_bytes;
    return at + name_bytes + data_bytes;
}

static bool name_is(const gm_state_record *r, const char *name, size_t len) {
    return r->name_len == len && memcmp(r->name, name, len) == 0;
}

bool gm_state_find(const gm_state *s, const char *name, gm_state_record *out) {
    size_t len = strlen(name);
    gm_state_record r;
    for (size_t at = MAGIC_LEN; at < s->size;) {
        at = parse_record(s->buf, s->size, at, &r);
        GM_ASSERT(at != 0); /* records are checked when they come in */
        if (name_is(&r, name, len)) {
            if (out) *out = r;
            return true;
        }
    }
    return false;
}

gm_status gm_state_put(gm_state *s, const char *name, gm_state_type type,
                       int rank, const int64_t *dims, const void *data,
                       gm_error *err) {
    size_t len = name ? strlen(name) : 0;
    if (!valid_name(name, len))
        return gm_error_set(err, GM_ERR_INVALID,
                            "state: '%s' cannot name a record", name ? name : "");
    if (type < 0 || type >= GM_STATE_TYPE_COUNT || rank < 0 ||
        rank > GM_STATE_MAX_RANK)
        return gm_error_set(err, GM_ERR_INVALID,
                            "state: record '%s': bad type or rank %d", name,
                            rank);
    if (gm_state_find(s, name, NULL))
        return gm_error_set(err, GM_ERR_INVALID,
                            "state: record '%s' is there already", name);
    size_t elem = gm_state_type_size(type), count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] > 0 && count > SIZE_MAX / elem / 2 /
                                                       (size_t)dims[i]))
            return gm_error_set(err, GM_ERR_INVALID,
                                "state: record '%s': bad size", name);
        count *= (size_t)dims[i];
    }
    size_t bytes = count * elem;
    size_t total =
        sizeof(header) + 8 * (size_t)rank + pad8(len) + pad8(bytes);
    if (!reserve(s, total))
        return gm_error_set(err, GM_ERR_NOMEM,
                            "state: out of memory for record '%s' (%zu bytes)",
                            name, bytes);
    unsigned char *p = s->buf + s->size;
    header h = {(uint32_t)len, (uint32_t)type, (uint32_t)rank, 0};
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (rank) memcpy(p, dims, 8 * (size_t)rank);
    p += 8 * (size_t)rank;
    memset(p, 0, pad8(len));
    memcpy(p, name, len);
    p += pad8(len);
    memset(p + bytes, 0, pad8(bytes) - bytes);
    if (bytes) memcpy(p, data, bytes);
    s->size += total;
    s->count++;
    return GM_OK;
}

gm_status gm_state_put_f32(gm_state *s, const char *name, const float *v,
                           size_t n, gm_error *err) {
    int64_t dims[1] = {(int64_t)n};
    return gm_state_put(s, name, GM_STATE_F32, 1, dims, v, err);
}

gm_status gm_state_put_f64(gm_state *s, const char *name, const double *v,
                           size_t n, gm_error *err) {
    int64_t dims[1] = {(int64_t)n};
    return gm_state_put(s, name, GM_STATE_F64, 1, dims, v, err);
}

gm_status gm_state_put_i64(gm_state *s, const char *name, int64_t v,
                           gm_error *err) {
    return gm_state_put(s, name, GM_STATE_I64, 0, NULL, &v, err);
}

gm_status gm_state_put_rng(gm_state *s, const char *name, const gm_rng *r,
                           gm_error *err) {
    uint64_t words[6] = {r->s[0], r->s[1], r->s[2], r->s[3], 0,
                         (uint64_t)r->has_spare};
    memcpy(&words[4], &r->spare_normal, sizeof(double));
    int64_t dims[1] = {6};
    return gm_state_put(s, name, GM_STATE_U64, 1, dims, words, err);
}

int gm_state_count(const gm_state *s) { return s->count; }

gm_state_record gm_state_at(const gm_state *s, int i) {
    GM_ASSERT(i >= 0 && i < s->count);
    gm_state_record r = {0};
    size_t at = MAGIC_LEN;
    for (int k = 0; k <= i; k++)
        at = parse_record(s->buf, s->size, at, &r);
    return r;
}

gm_status gm_state_get(const gm_state *s, const char *name, gm_state_type type,
                       size_t count, void *out, gm_error *err) {
    gm_state_record r;
    if (!gm_state_find(s, name, &r))
        return gm_error_set(err, GM_ERR_NOT_FOUND, "state: no record '%s'",
                            name);
    if (r.type != type || r.count != count)
        return gm_error_set(err, GM_ERR_SHAPE,
                            "state: record '%s' holds %zu %s values, %zu %s "
                            "expected",
                            name, r.count, gm_state_type_name(r.type), count,
                            gm_state_type_name(type));
    if (count) memcpy(out, r.data, count * gm_state_type_size(type));
    return GM_OK;
}

gm_status gm_state_get_i64(const gm_state *s, const char *name, int64_t *out,
                           gm_error *err) {
    return gm_state_get(s, name, GM_STATE_I64, 1, out, err);
}

gm_status gm_state_get_rng(const gm_state *s, const char *name, gm_rng *out,
                           gm_error *err) {
    uint64_t words[6];
    gm_status st = gm_state_get(s, name, GM_STATE_U64, 6, words, err);
    if (st != GM_OK) return st;
    for (int i = 0; i < 4; i++)
        out->s[i] = words[i];
    memcpy(&out->spare_normal, &words[4], sizeof(double));
    out->has_spare = words[5] != 0;
    return GM_OK;
}

const void *gm_state_bytes(const gm_state *s, size_t *size) {
    *size = s->size;
    return s->buf;
}

gm_status gm_state_from_bytes(gm_state *s, const void *bytes, size_t size,
                              gm_error *err) {
    gm_state_reset(s);
    if (!bytes || size < MAGIC_LEN || memcmp(bytes, MAGIC, MAGIC_LEN) != 0)
        return gm_error_set(err, GM_ERR_INVALID,
                            "state: not a serialised gm state");
    if (!reserve(s, size - MAGIC_LEN))
        return gm_error_set(err, GM_ERR_NOMEM, "state: out of memory");
    memcpy(s->buf, bytes, size);
    s->size = size;
    int count = 0;
    gm_state_record r;
    for (size_t at = MAGIC_LEN; at < size; count++) {
        at = parse_record(s->buf, size, at, &r);
        if (at == 0) {
            gm_state_reset(s);
            return gm_error_set(err, GM_ERR_INVALID,
                                "state: record %d is malformed", count);
        }
    }
    s->count = count;
    return GM_OK;
}
