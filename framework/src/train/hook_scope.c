#include "train/hook_scope.h"

#include <signal.h>
#include <stdint.h>

#include "train/built_model.h"

/* Per thread, and read by a signal handler on the same thread: the TLS
 * model of a library loaded with the program, which needs no allocation
 * on access. */
static _Thread_local __attribute__((tls_model("initial-exec")))
const gm_model *current_model;
static _Thread_local __attribute__((tls_model("initial-exec")))
const char *current_hook;

void gm_hook_enter(const gm_model *m, const char *hook) {
    current_model = m;
    current_hook = hook;
}

void gm_hook_leave(void) {
    current_hook = NULL;
    current_model = NULL;
}

/* Appends s at *at within buf[size - 1] (no snprintf in a handler). */
static void append(char *buf, size_t size, size_t *at, const char *s) {
    while (*s && *at + 1 < size) buf[(*at)++] = *s++;
}

static void append_u64(char *buf, size_t size, size_t *at, uint64_t v) {
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0 && *at + 1 < size) buf[(*at)++] = digits[--n];
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
    }
}

size_t gm_hook_crash_message(int sig, char *buf, size_t size) {
    const gm_model *m = current_model;
    const char *hook = current_hook;
    if (!m || !hook || size == 0) return 0;
    size_t at = 0;
    append(buf, size, &at, "gm: objective '");
    append(buf, size, &at, m->objective->schema.name);
    append(buf, size, &at, "' (");
    append(buf, size, &at, m->objective_file);
    append(buf, size, &at, ") crashed in its ");
    append(buf, size, &at, hook);
    append(buf, size, &at, " hook (");
    append(buf, size, &at, signal_name(sig));
    append(buf, size, &at, "), model '");
    append(buf, size, &at, m->name);
    append(buf, size, &at, "' seed ");
    append_u64(buf, size, &at, m->seed);
    append(buf, size, &at, "\n");
    buf[at] = '\0';
    return at;
}
