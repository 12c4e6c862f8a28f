/* The gm command. */
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: gm <command> [options]\n"
    "\n"
    "gm trains VAE and GAN objectives on one autodiff engine and writes\n"
    "one HDF5 file per run.\n"
    "\n"
    "  gm --version    print the version\n"
    "  gm --help       this text\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gm %s\n", GM_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "gm: unknown command '%s' (see gm --help)\n", argv[1]);
    return 2;
}
