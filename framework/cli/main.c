/* The gm command: dispatch to a subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blas_kernel.h"
#include "cli.h"
#include "crash_report.h"
#include "gm/gm.h"

static const char usage[] =
    "usage: gm <command> [options]\n"
    "\n"
    "gm trains VAE and GAN objectives on one autodiff engine and writes\n"
    "one HDF5 run file per experiment.\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml      train every model of an experiment file\n"
    "  summary RUN.h5     the comparison table of a run file\n"
    "  sample RUN.h5      draw samples from a trained model\n"
    "  list WHAT          built-in objectives or datasets\n"
    "\n"
    "  gm <command> --help    options of a command\n"
    "  gm --version           the version, the OpenBLAS kernel in use and\n"
    "                         what bfloat16 products run on\n";

bool cli_is_help(const char *arg) {
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv) {
    /* Without room for one more OpenBLAS buffer, OpenBLAS's worker
     * threads may be spinning for theirs (gm/blas.h): nothing
     * would multiply, and exit() would wait for them for ever. */
    char why[GM_ERROR_MAX];
    if (!gm_blas_buffer_fits(why, sizeof why)) {
        fprintf(stderr, "gm: out of memory: %s\n", why);
        fflush(NULL);
        _exit(cli_blas_no_memory_status());
    }
    cli_crash_report_install();
    int check_status = cli_blas_check_child();
    if (check_status >= 0) return check_status;
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    /* The commands that multiply matrices, before they start, and
     * --version, which names the kernel they would use. */
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "sample") == 0 ||
        strcmp(cmd, "--version") == 0)
        cli_blas_choose_kernel(argv);
    if (strcmp(cmd, "--version") == 0) {
        char blas[128];
        const char *bf16 = gm_bf16_isa();
        printf("gm %s, OpenBLAS kernel %s, bfloat16 products on %s\n",
               gm_version(), cli_blas_describe(blas, sizeof blas),
               bf16 ? bf16 : "none (no AMX_BF16 or AVX512_BF16)");
        return EXIT_OK;
    }
    if (cli_is_help(cmd)) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "summary") == 0) return cmd_summary(argc - 1, argv + 1);
    if (strcmp(cmd, "sample") == 0) return cmd_sample(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0) return cmd_list(argc - 1, argv + 1);
    fprintf(stderr, "gm: unknown command '%s' (see gm --help)\n", cmd);
    return EXIT_USAGE;
}
