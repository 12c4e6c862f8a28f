/* gm/tensor.h: shapes of float32 tensors.
 *
 * Tensors are row-major float32 arrays of up to GM_MAX_DIMS dimensions.
 * Shapes are passed as (const int *shape, int ndim) in natural order: a
 * batch of 128 rows of 784 values is {128, 784}. Element-wise ops view any
 * tensor as a matrix [rows, cols] where cols is the last dimension. */
#ifndef GM_TENSOR_H
#define GM_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "gm/api.h"

GM_API_BEGIN

#define GM_MAX_DIMS 4

typedef struct gm_shape {
    int ndim;
    int dim[GM_MAX_DIMS];
} gm_shape;

/* Builds a shape; fails (returns false) if ndim is not 1..4 or a dim < 1. */
bool gm_shape_make(gm_shape *out, const int *shape, int ndim);

/* Number of elements. */
size_t gm_shape_numel(const gm_shape *s);

/* Last dimension (the columns of the matrix view). */
int gm_shape_cols(const gm_shape *s);

/* Product of all but the last dimension (the rows of the matrix view). */
int gm_shape_rows(const gm_shape *s);

bool gm_shape_equal(const gm_shape *a, const gm_shape *b);

/* Writes "[128, 784]" into buf (size n) and returns buf. */
char *gm_shape_str(const gm_shape *s, char *buf, size_t n);

GM_API_END

#endif
