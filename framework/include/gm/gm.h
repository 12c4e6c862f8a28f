/* gm/gm.h: everything of the gm engine in one include. */
#ifndef GM_GM_H
#define GM_GM_H

#include "gm/api.h"
#include "gm/blas.h"
#include "gm/grad.h"
#include "gm/graph.h"
#include "gm/nn.h"
#include "gm/op.h"
#include "gm/ops.h"
#include "gm/optim.h"
#include "gm/params.h"
#include "gm/rng.h"
#include "gm/status.h"
#include "gm/tensor.h"

GM_API_BEGIN

/* The library's version, "major.minor.patch". */
const char *gm_version(void);

GM_API_END

#endif
