/* Scratch directories and files for tests that run gm on real files. */
#ifndef GM_TEST_TEMP_DIR_H
#define GM_TEST_TEMP_DIR_H

#include <stddef.h>

/* Makes a new directory /tmp/<prefix>_XXXXXX and puts its path in dir
 * (n bytes). */
void temp_dir_make(char *dir, size_t n, const char *prefix);

/* Removes the directory and everything in it. */
void temp_dir_remove(const char *dir);

/* Writes text to the file at path, replacing it. */
void write_text_file(const char *path, const char *text);

#endif
