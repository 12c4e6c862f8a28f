#include "op_table.h"

#define GM_OP_ROW(name) &gm_op_##name,
const gm_op_def *const gm_op_table[] = {GM_OPS(GM_OP_ROW)};
#undef GM_OP_ROW
