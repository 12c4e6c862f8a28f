/* A plugin file checked before dlopen maps it: the dynamic loader trusts
 * the ELF headers, and a file cut short (a copy interrupted, a full disk)
 * makes it touch pages past the end, which kills gm with SIGBUS. Internal
 * to libgm (registry.c). */
#ifndef GM_TRAIN_PLUGIN_FILE_H
#define GM_TRAIN_PLUGIN_FILE_H

#include "gm/status.h"

/* GM_OK if `path` is a regular file holding a whole ELF shared object for
 * this machine: its ELF header, program headers, every segment's bytes
 * and its section header table within the file. Otherwise an error
 * naming the file and what is wrong ("truncated: 4096 bytes of the 15880
 * its headers describe"). */
gm_status gm_plugin_file_check(const char *path, gm_error *err);

#endif
