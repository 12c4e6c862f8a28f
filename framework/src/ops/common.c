/* Shape rules shared by the element-wise op families. */
#include "graph_internal.h"

gm_bcast gm_bcast_kind(const gm_shape *operand, const gm_shape *out) {
    if (gm_shape_equal(operand, out)) return GM_BCAST_FULL;
    if (gm_shape_numel(operand) == 1) return GM_BCAST_SCALAR;
    if (operand->ndim <= 2 && gm_shape_rows(operand) == 1 &&
        gm_shape_cols(operand) == gm_shape_cols(out))
        return GM_BCAST_ROW;
    if (gm_shape_cols(operand) == 1 &&
        gm_shape_rows(operand) == gm_shape_rows(out) && out->ndim >= 2)
        return GM_BCAST_COL;
    return GM_BCAST_NONE;
}

gm_status gm_shape_same_as_input(const gm_node *n, gm_shape *out,
                                 gm_error *err) {
    (void)err;
    *out = n->in[0]->shape;
    return GM_OK;
}

/* The output takes the shape of the input every other input broadcasts to:
 * the largest one; between equal sizes ([cols] and [1, cols], [1] and
 * [1, 1]) the one with more dimensions, so that operand order does not
 * change the result's shape. */
gm_status gm_shape_broadcast(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *big = &n->in[0]->shape;
    for (int i = 1; i < n->n_in; i++) {
        const gm_shape *s = &n->in[i]->shape;
        size_t ns = gm_shape_numel(s), nb = gm_shape_numel(big);
        if (ns > nb || (ns == nb && s->ndim > big->ndim)) big = s;
    }
    for (int i = 0; i < n->n_in; i++) {
        if (gm_bcast_kind(&n->in[i]->shape, big) == GM_BCAST_NONE) {
            char a[64], b[64];
            return gm_error_set(
                err, GM_ERR_SHAPE, "%s: shapes %s and %s do not broadcast",
                n->def->name, gm_shape_str(&n->in[0]->shape, a, sizeof a),
                gm_shape_str(&n->in[i == 0 ? 1 : i]->shape, b, sizeof b));
        }
    }
    *out = *big;
    return GM_OK;
}
