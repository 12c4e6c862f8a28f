/* The products of the multiplying ops in their graph's precision
 * (products.h). */
#include "products.h"

#include <cblas.h>
#include <stdlib.h>

#include "gm/blas.h"
#include "op_table.h"

static CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

void gm_node_gemm(gm_node *n, const gm_gemm_shape *s, const float *a,
                  const float *b, float *c) {
    if (n->graph->precision == GM_PRECISION_FP32) {
        cblas_sgemm(CblasRowMajor, tr(s->trans_a), tr(s->trans_b), s->m, s->n,
                    s->k, 1.0f, a, s->lda, b, s->ldb,
                    s->accumulate ? 1.0f : 0.0f, c, s->ldc);
        return;
    }
    for (int i = 0; i < n->n_gemms; i++)
        if (gm_bf16_gemm_fits(n->gemms[i], s)) {
            gm_bf16_gemm_run(n->gemms[i], a, b, c);
            return;
        }
    GM_ASSERT(!"a product the planner did not see");
}

/* The shape lister of a multiplying op, NULL for the others. */
static gm_gemm_shapes_fn shapes_of(const gm_op_def *def) {
    if (def == &gm_op_matmul) return gm_matmul_gemms;
    if (def == &gm_op_affine || def == &gm_op_affine_relu)
        return gm_affine_gemms;
    if (def == &gm_op_conv2d) return gm_conv2d_gemms;
    if (def == &gm_op_conv_transpose2d) return gm_conv_transpose2d_gemms;
    return NULL;
}

static bool planned(const gm_node *n, const gm_gemm_shape *s) {
    for (int i = 0; i < n->n_gemms; i++)
        if (gm_bf16_gemm_fits(n->gemms[i], s)) return true;
    return false;
}

gm_status gm_graph_plan_products(gm_graph *g, gm_error *err) {
    if (g->precision == GM_PRECISION_FP32) return GM_OK;
    g->onednn = gm_onednn_create(gm_blas_threads(), err);
    if (!g->onednn) return err->status;
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        gm_gemm_shapes_fn shapes = n->def ? shapes_of(n->def) : NULL;
        if (!shapes) continue;
        gm_gemm_shape s[GM_NODE_GEMMS_MAX];
        int count = shapes(n, s);
        n->gemms = calloc(GM_NODE_GEMMS_MAX, sizeof *n->gemms);
        if (!n->gemms)
            return gm_error_set(err, GM_ERR_NOMEM, "out of memory");
        for (int k = 0; k < count; k++) {
            if (planned(n, &s[k])) continue;
            n->gemms[n->n_gemms] = gm_bf16_gemm_plan(g->onednn, &s[k], err);
            if (!n->gemms[n->n_gemms]) return err->status;
            n->n_gemms++;
        }
    }
    return GM_OK;
}

void gm_graph_free_products(gm_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        gm_node *n = g->nodes[i];
        for (int k = 0; k < n->n_gemms; k++) gm_bf16_gemm_free(n->gemms[k]);
        free(n->gemms);
    }
    gm_onednn_free(g->onednn);
}
