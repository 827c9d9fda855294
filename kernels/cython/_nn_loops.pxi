# The element loops of _nn.h that several modules call (_activations.pyx, _dropout.pyx, _layer.pyx):
# declared once here.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef extern from "_nn.h" nogil:
    void fastlc_activation_chunk_f32(int op, const float* g, const float* x, float a, float b, float* out,
                                     Py_ssize_t n)
    void fastlc_activation_chunk_f64(int op, const double* g, const double* x, double a, double b, double* out,
                                     Py_ssize_t n)
    void fastlc_dropout_groups_f32(const float* x, uint64_t threshold, float scale, uint32_t k0, uint32_t k1,
                                   float* out, uint8_t* mask, Py_ssize_t first, Py_ssize_t stop, Py_ssize_t n)
    void fastlc_dropout_groups_f64(const double* x, uint64_t threshold, double scale, uint32_t k0, uint32_t k1,
                                   double* out, uint8_t* mask, Py_ssize_t first, Py_ssize_t stop, Py_ssize_t n)
    void fastlc_dropout_backward_f32(const float* g, const uint8_t* mask, float scale, float* out, Py_ssize_t n)
    void fastlc_dropout_backward_f64(const double* g, const uint8_t* mask, double scale, double* out,
                                     Py_ssize_t n)
