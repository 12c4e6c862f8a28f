/* One rule for "mean ± standard error": the error keeps one significant
 * digit, two when they begin with 1 or 2 (8.8 -> 9, but 0.012 stays
 * 0.012, since rounding it to 0.01 would change it by a sixth), and the
 * mean is rounded to the error's last digit: 880 ± 9, 0.251 ± 0.012. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

/* Fixed notation down to this many decimals; beyond, or for means this
 * large, a shared exponent reads better. */
enum { MAX_DECIMALS = 6 };
#define MAX_FIXED 1e9

/* The power of ten of se's last kept digit. */
static int last_digit_exponent(double se) {
    int lead = (int)floor(log10(se));
    double first = se / pow(10.0, lead); /* in [1, 10) */
    /* 9.96 rounds up to 10: one digit, one place higher. */
    if (first >= 9.5) return lead;
    return first < 2.95 ? lead - 1 : lead;
}

void cli_format_estimate(char *out, size_t n, double mean, double se) {
    if (isnan(mean)) {
        snprintf(out, n, "-");
    } else if (!(se > 0) || !isfinite(se) || !isfinite(mean)) {
        /* One seed: no error to go by; 4 significant digits, but all of
         * an integer part (12345, not 1.234e+04). */
        bool whole = fabs(mean) >= 1e4 && fabs(mean) < MAX_FIXED;
        snprintf(out, n, whole ? "%.0f" : "%.4g", mean);
    } else {
        int e = last_digit_exponent(se);
        int decimals = e < 0 ? -e : 0;
        if (decimals > MAX_DECIMALS || fabs(mean) >= MAX_FIXED) {
            int digits = (int)floor(log10(fmax(fabs(mean), se))) - e;
            snprintf(out, n, "%.*e ± %.*e", digits > 0 ? digits : 0, mean,
                     (int)floor(log10(se)) - e, se);
        } else {
            double unit = pow(10.0, e);
            double m = round(mean / unit) * unit, s = round(se / unit) * unit;
            if (m == 0) m = 0; /* no "-0" */
            snprintf(out, n, "%.*f ± %.*f", decimals, m, decimals, s);
        }
    }
}
