/* The gm command's last word when it dies of a fatal signal inside an
 * objective's hook (a plugin's bug): which objective, file, hook and run. */
#ifndef GM_CLI_CRASH_REPORT_H
#define GM_CLI_CRASH_REPORT_H

/* Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that,
 * when the crashing thread is in a hook, write the report to stderr, then
 * let the signal take its course as before (the default action, or the
 * handler that was there, a sanitizer's say). */
void cli_crash_report_install(void);

#endif
