/* Finite-difference gradient checks for graph ops.
 *
 * The checker turns any output node `out` into a scalar loss
 * L = sum(out * R), R a fixed random weight of out's shape (so every output
 * element counts with its own weight and a gradient that is wrong for one
 * element cannot hide). It runs forward and backward twice, as two
 * training steps, and requires both passes to give the same gradients;
 * then for every element w of a parameter group it compares the second
 * pass's dL/dw with the central difference (L(w + h) - L(w - h)) / 2h.
 * L is recomputed from out's float data with the sum in double, and the
 * step is the one actually taken after rounding w + h to float. Random
 * nodes keep their draw (gm_graph_hold_noise) so every forward sees the
 * same noise.
 *
 * Each backward starts from parameter gradients that already hold a value,
 * as when a group sits in two graphs, and the checker takes what it added:
 * an op that overwrites a gradient that is not fresh loses that value. A
 * fresh gradient (GM_OP_OVERWRITES), which the graph never clears, is only
 * reached when the op's input is an intermediate node, not a parameter:
 * tests/test_ops_grad.c checks every op both ways. */
#ifndef GM_TEST_GRADCHECK_H
#define GM_TEST_GRADCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/graph.h"
#include "gm/rng.h"

/* Per-op step and tolerance: element i passes when
 * |fd - an| <= atol + rtol * max(|fd|, |an|). */
typedef struct gm_gradcheck_tol {
    float h;
    double rtol;
    double atol;
} gm_gradcheck_tol;

/* An initializer for smooth ops on values of order 1: tight enough that a
 * backward off by 1% fails (test_ops_grad.c, suite "checker"). */
#define GM_GRADCHECK_DEFAULT                                                   \
    { 1e-2f, 1e-3, 1e-4 }

#define GM_GRADCHECK_MSG 512

/* Appends R, loss = sum(out * R) to the uncompiled graph g, compiles and
 * checks the gradient of every element of `group` (whose nodes in g come
 * from gm_param). Returns true if all agree; otherwise false with a message
 * in msg naming `label`, the element, the analytic and numeric values.
 * R is seeded from `label`. Leaves the group's values as they were and
 * the graph's noise held. */
bool gm_gradcheck_run(gm_graph *g, gm_params *group, gm_node *out,
                      const char *label, gm_gradcheck_tol tol, char *msg,
                      size_t msg_size);

/* Fills x[0..n) uniformly in [lo, hi), redrawing values with |x| < min_abs
 * (to keep away from kinks such as relu's at 0). */
void gm_gradcheck_fill(gm_rng *r, float *x, size_t n, float lo, float hi,
                       float min_abs);

/* cr_assert that the gradient check passes, with the checker's message.
 * For Criterion tests (include <criterion/criterion.h> first). */
#define GM_GRADCHECK_ASSERT(g, group, out, label, tol)                         \
    do {                                                                       \
        char gc_msg_[GM_GRADCHECK_MSG];                                        \
        bool gc_ok_ = gm_gradcheck_run((g), (group), (out), (label), (tol),    \
                                       gc_msg_, sizeof gc_msg_);               \
        cr_assert(gc_ok_, "%s", gc_msg_);                                      \
    } while (0)

#endif
