/* Work-unit sizes of the Cython kernels: the same numbers as fastlc/_constants.py
 * (see there for what each means), which the Numba kernels and the Python
 * layers import. tests/test_constants.py parses this file and checks that the
 * two agree: change both together. One "#define FASTLC_NAME value" per line.
 */
#ifndef FASTLC_CONSTANTS_H
#define FASTLC_CONSTANTS_H

#define FASTLC_CHUNK_ROWS 64
#define FASTLC_GROUP 4
#define FASTLC_BLOCK_ELEMENTS 4096
#define FASTLC_REGRESSION_HUBER 0
#define FASTLC_REGRESSION_EPSILON_INSENSITIVE 1
#define FASTLC_SPARSE_SWEEP_FROM 8
#define FASTLC_SPARSE_SWEEP_ROWS 4096

#endif
