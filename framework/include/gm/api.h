/* gm/api.h: what libgm exports.
 *
 * libgm is compiled with hidden visibility (-fvisibility=hidden): a
 * function or object of the library is in libgm.so's dynamic symbol table
 * only if a header of gm/ declares it between GM_API_BEGIN and GM_API_END,
 * which every public header puts around its declarations. Whatever a
 * header here declares is thus exported, and nothing else: internal
 * helpers stay internal, and tests/test_exports.sh checks that the two
 * lists agree. */
#ifndef GM_API_H
#define GM_API_H

#define GM_API_BEGIN _Pragma("GCC visibility push(default)")
#define GM_API_END _Pragma("GCC visibility pop")

#endif
