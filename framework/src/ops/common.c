/* Shape rules shared by the element-wise op families. */
#include "engine/graph_internal.h"

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
 * change the result's shape. A row or column repeated without being asked
 * for is refused: [512, 1] + [512, 256] is more often a bug (a per-row
 * value where a matrix was meant) than a wish. */
gm_status gm_shape_broadcast(const gm_node *n, gm_shape *out, gm_error *err) {
    const gm_shape *big = &n->in[0]->shape;
    for (int i = 1; i < n->n_in; i++) {
        const gm_shape *s = &n->in[i]->shape;
        size_t ns = gm_shape_numel(s), nb = gm_shape_numel(big);
        if (ns > nb || (ns == nb && s->ndim > big->ndim)) big = s;
    }
    bool asked = n->p[0] == 1.0f;
    for (int i = 0; i < n->n_in; i++) {
        gm_bcast kind = gm_bcast_kind(&n->in[i]->shape, big);
        bool repeats = (kind == GM_BCAST_ROW || kind == GM_BCAST_COL) &&
                       gm_shape_numel(&n->in[i]->shape) != gm_shape_numel(big);
        if (kind == GM_BCAST_NONE || (repeats && !asked)) {
            const gm_node *a = n->in[0], *b = n->in[i == 0 ? 1 : i];
            char sa[64], sb[64], la[GM_NAME_MAX + 32], lb[GM_NAME_MAX + 32];
            return gm_error_set(
                err, GM_ERR_SHAPE, "%s of %s %s and %s %s: %s", n->def->name,
                gm_node_label(a, la, sizeof la),
                gm_shape_str(&a->shape, sa, sizeof sa),
                gm_node_label(b, lb, sizeof lb),
                gm_shape_str(&b->shape, sb, sizeof sb),
                kind == GM_BCAST_NONE
                    ? "the shapes do not broadcast"
                    : "the shapes differ (repeating a row or column must be "
                      "asked for, with gm_add_bcast and its kin)");
        }
    }
    *out = *big;
    return GM_OK;
}
