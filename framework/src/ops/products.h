/* The matrix products of the ops that multiply (matmul, affine,
 * affine_relu, conv2d, conv_transpose2d), in the graph's precision: in
 * float32 each is OpenBLAS's cblas_sgemm, exactly the call it always was;
 * in bfloat16 each is a oneDNN plan (blas/onednn_gemm.h) made when the
 * graph compiles, one per distinct shape the node runs. An op lists its
 * products' shapes for the planner and runs each with gm_node_gemm. */
#ifndef GM_PRODUCTS_H
#define GM_PRODUCTS_H

#include "blas/onednn_gemm.h"
#include "engine/graph_internal.h"

/* C = op(A) op(B) (+ C if s->accumulate), computed for node n. */
void gm_node_gemm(gm_node *n, const gm_gemm_shape *s, const float *a,
                  const float *b, float *c);

/* The most products of one node's shapes (conv2d's: three products, each
 * over a whole chunk and a last, shorter one, accumulating or not). */
enum { GM_NODE_GEMMS_MAX = 12 };

/* The shapes of the products node n runs, for the planner: at most
 * GM_NODE_GEMMS_MAX, repeats allowed. Each multiplying op defines one. */
typedef int (*gm_gemm_shapes_fn)(const gm_node *n, gm_gemm_shape *out);
int gm_matmul_gemms(const gm_node *n, gm_gemm_shape *out);
int gm_affine_gemms(const gm_node *n, gm_gemm_shape *out);
int gm_conv2d_gemms(const gm_node *n, gm_gemm_shape *out);
int gm_conv_transpose2d_gemms(const gm_node *n, gm_gemm_shape *out);

/* Plans the bfloat16 products of every node of a compiled graph whose
 * precision is bfloat16 (gm_graph_compile calls it); frees them. */
gm_status gm_graph_plan_products(gm_graph *g, gm_error *err);
void gm_graph_free_products(gm_graph *g);

#endif
