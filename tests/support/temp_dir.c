#include "temp_dir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

void temp_dir_make(char *dir, size_t n, const char *prefix) {
    snprintf(dir, n, "/tmp/%s_XXXXXX", prefix);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

void temp_dir_remove(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

void write_text_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}
