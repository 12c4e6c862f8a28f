/* gm/graph.h: the static reverse-mode autodiff graph.
 *
 * A graph is built once per model and batch size: create inputs, parameter
 * nodes and ops (gm/ops.h), name the nodes you will look up, mark losses and
 * metrics, then compile. Compiling plans every activation and gradient
 * buffer into one arena; forward and backward then run any number of times
 * with no allocation.
 *
 * Building never aborts. The first failing call (a shape mismatch, a bad
 * argument) records an error in the graph and returns NULL; later calls that
 * receive NULL return NULL too, so a whole loss can be built and checked
 * once, with gm_graph_compile or gm_graph_error. */
#ifndef GM_GRAPH_H
#define GM_GRAPH_H

#include "gm/api.h"
#include "gm/params.h"
#include "gm/state.h"
#include "gm/status.h"
#include "gm/tensor.h"

GM_API_BEGIN

typedef struct gm_graph gm_graph;
typedef struct gm_node gm_node;

typedef enum gm_role {
    GM_ROLE_OP = 0,  /* an intermediate result */
    GM_ROLE_INPUT,   /* filled by the caller before forward */
    GM_ROLE_PARAM,   /* a view of a parameter group */
    GM_ROLE_CONST,   /* fixed data given at build time */
    GM_ROLE_LOSS,    /* a scalar the trainer differentiates */
    GM_ROLE_METRIC,  /* a scalar the trainer logs */
    GM_ROLE_COUNT
} gm_role;

#define GM_NAME_MAX 64

/* An empty graph; `name` appears in error messages. NULL if out of memory. */
gm_graph *gm_graph_create(const char *name);
void gm_graph_free(gm_graph *g);

/* The first build error, or NULL while the graph is fine. */
const gm_error *gm_graph_error(const gm_graph *g);

/* A node the caller fills before each forward (e.g. a data batch). */
gm_node *gm_input(gm_graph *g, const char *name, const int *shape, int ndim);

/* The parameter view `index` of `group`. Asking twice returns the same node.
 * Gradients accumulate into the group's gradient buffer. */
gm_node *gm_param(gm_graph *g, gm_params *group, int index);

/* Fixed data copied at build time. */
gm_node *gm_constant(gm_graph *g, const char *name, const int *shape, int ndim,
                     const float *data);

/* A [1] constant holding `value`. */
gm_node *gm_scalar(gm_graph *g, float value);

/* No gradient flows into `group` in this graph (e.g. the discriminator in
 * the generator's phase): its parameter nodes act as constants. Freezing
 * a group twice is freezing it once. */
void gm_graph_freeze(gm_graph *g, const gm_params *group);

/* Names a node (unique in the graph) and returns it, for chaining. */
gm_node *gm_node_set_name(gm_node *n, const char *name);

/* Marks a node as a loss or metric (both must be [1]); returns it. */
gm_node *gm_node_set_role(gm_node *n, gm_role role);

/* The node called `name`; NULL with err set if there is none. */
gm_node *gm_graph_find(const gm_graph *g, const char *name, gm_error *err);

/* The graph only ever runs forward (a sampler, an evaluation): compiling
 * plans no gradients, and a node's values share memory with later nodes'
 * once the last op that reads them has run. Readable after
 * gm_graph_forward are only inputs, losses, metrics, random nodes (a held
 * draw survives), nodes no op reads, and nodes marked with gm_node_keep;
 * any other node's values are another node's by then. gm_graph_backward
 * is an error. Call it before compiling. */
void gm_graph_set_forward_only(gm_graph *g);

/* Marks n as read after forward in a forward-only graph (an output that
 * later ops also read); returns n. */
gm_node *gm_node_keep(gm_node *n);

/* Plans the arena. Returns the first build error if there was one. */
gm_status gm_graph_compile(gm_graph *g, gm_error *err);

/* Computes every node in creation order. Random nodes draw new noise
 * unless gm_graph_hold_noise(g, true) was called. */
void gm_graph_forward(gm_graph *g);

/* Zeroes the graph's own gradients, seeds d loss/d loss = 1 and propagates
 * back to every node that needs a gradient. Parameter gradients are
 * accumulated (+=) into their groups: zero those once per step with
 * gm_params_zero_grad. `loss` must be a [1] node of this graph. */
gm_status gm_graph_backward(gm_graph *g, gm_node *loss, gm_error *err);

/* Told that view `view` of `group` holds its final gradient. */
typedef void (*gm_grad_final_fn)(void *ctx, gm_params *group, int view);

/* gm_graph_backward that calls on_final(ctx, group, view) for every
 * parameter node the loss reaches (frozen groups excepted) as soon as its
 * gradient is final: every op that adds to it has run, and backward has
 * yet to visit the nodes created before it. No node that backward visits
 * after the call reads that parameter, so on_final may update its values
 * there (gm_optim_backward_step does), while its gradient is in cache. */
gm_status gm_graph_backward_notify(gm_graph *g, gm_node *loss,
                                   gm_grad_final_fn on_final, void *ctx,
                                   gm_error *err);

/* The walk an op hook is called from. */
typedef enum gm_pass { GM_PASS_FORWARD, GM_PASS_BACKWARD } gm_pass;

/* Told that node n's op is about to compute (after = false) or has just
 * computed (after = true) in a forward or a backward walk: for profilers
 * and tracers (bench/op_profile.h times each op with it). Views, which
 * compute nothing, are not reported. The hook must not change the graph. */
typedef void (*gm_op_hook_fn)(void *ctx, const gm_node *n, gm_pass pass,
                              bool after);

/* Calls hook(ctx, ...) around each op that gm_graph_forward and
 * gm_graph_backward(_notify) run on g, until set again; NULL (the default)
 * calls nothing, at the cost of one test per node. */
void gm_graph_set_op_hook(gm_graph *g, gm_op_hook_fn hook, void *ctx);

/* The graph's random streams, one record "<prefix>/<node id>" per random
 * node (gm/state.h), so that a run restored from a state draws the same
 * noise as one never stopped. Loading needs a graph built the same way. */
gm_status gm_graph_save_state(const gm_graph *g, gm_state *s,
                              const char *prefix, gm_error *err);
gm_status gm_graph_load_state(gm_graph *g, const gm_state *s,
                              const char *prefix, gm_error *err);

/* With hold = true, random nodes keep their last draw across forwards
 * (for gradient checks and deterministic evaluation). */
void gm_graph_hold_noise(gm_graph *g, bool hold);

/* A graph trains (the default) or evaluates: batch norm normalises with
 * the batch's statistics and updates its running ones while it trains,
 * and uses the running ones while it evaluates (a sampler). Read at each
 * forward and backward, so it may be set after building. */
void gm_graph_set_training(gm_graph *g, bool training);
bool gm_graph_training(const gm_graph *g);

int gm_graph_node_count(const gm_graph *g);
gm_node *gm_graph_node(const gm_graph *g, int index);
const char *gm_graph_name(const gm_graph *g);

/* The precision of a graph's matrix products (linear layers and
 * convolutions: forward, input and weight gradients). Every other op,
 * the parameters, optimizer moments, losses and reductions stay float32
 * whatever the precision. */
typedef enum gm_precision {
    GM_PRECISION_FP32 = 0, /* OpenBLAS's sgemm */
    /* mixed precision as PyTorch's autocast: operands rounded to
     * bfloat16 (to nearest even), products accumulated in float32, on
     * oneDNN (AMX tiles or AVX512-BF16 dot products) */
    GM_PRECISION_BF16,
    GM_PRECISION_COUNT
} gm_precision;

/* "fp32" or "bf16", as YAML's train.precision spells it. */
const char *gm_precision_name(gm_precision p);

/* Sets the precision of g's products; before compile (later calls
 * record an error). Compiling a bfloat16 graph fails, naming the missing
 * feature, on a CPU without AMX_BF16 or AVX512_BF16 (gm_bf16_isa). */
void gm_graph_set_precision(gm_graph *g, gm_precision p);
gm_precision gm_graph_precision(const gm_graph *g);

/* Bytes of the compiled arena (constant from compile to free). */
size_t gm_graph_arena_bytes(const gm_graph *g);

/* Node accessors. Data and gradient pointers are valid after compile;
 * the gradient is NULL for nodes no gradient flows to. The shape of NULL
 * (what a failed build call returned, out of memory say) has no
 * dimension and its numel is 0, so that a build that reads shapes goes on
 * to the graph's error. */
float *gm_node_data(gm_node *n);
float *gm_node_grad(gm_node *n);
const gm_shape *gm_node_shape(const gm_node *n);
size_t gm_node_numel(const gm_node *n);
const char *gm_node_name(const gm_node *n);
gm_role gm_node_role(const gm_node *n);
const char *gm_node_op_name(const gm_node *n);
float gm_node_scalar(const gm_node *n); /* element 0 */

GM_API_END

#endif
