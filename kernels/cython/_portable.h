/* Compiler features of the kernel headers, each behind a feature test.
 *
 * The kernels are written once in portable C99; this header is the one place
 * that knows about compilers. Every macro below has a plain fallback that any
 * C99 compiler (MSVC included) accepts, so an unknown compiler builds the
 * kernels, only more slowly. What each compiler gets:
 *
 *   feature                      gcc          clang          MSVC / other
 *   FASTLC_ALWAYS_INLINE         always_inline always_inline __forceinline / inline
 *   FASTLC_PREFETCH              __builtin_prefetch            no-op
 *   FASTLC_OMP_SIMD(clauses)     #pragma omp simd (takes effect with -fopenmp-simd)   no-op
 *   FASTLC_HAVE_VECTOR_EXT       vector_size types with lane-wise operators   0
 *   FASTLC_SHUFFLE               __builtin_shufflevector (or gcc's __builtin_shuffle)  absent
 *   FASTLC_TARGET_CLONES(...)    one function built per x86-64 level, picked at load
 *                                (needs ifunc: ELF + glibc)               nothing
 *   FASTLC_X86_DISPATCH          1 where target attributes and __builtin_cpu_supports work
 *   FASTLC_NO_FP_CONTRACT_BEGIN/END  no fused multiply-add contraction, in every compiler
 *
 * FASTLC_PLAIN (defined by the plain build, FASTLC_PLAIN=1 in setup.py) turns
 * every extension off, so that the fallbacks an unknown compiler gets are
 * built and tested here too.
 */
#ifndef FASTLC_PORTABLE_H
#define FASTLC_PORTABLE_H

#include <stddef.h>
#include <string.h> /* also brings in <features.h> on glibc, which defines __GLIBC__ */

#if defined(__has_builtin)
#define FASTLC_HAS_BUILTIN(x) __has_builtin(x)
#else
#define FASTLC_HAS_BUILTIN(x) 0
#endif
#if defined(__has_attribute)
#define FASTLC_HAS_ATTRIBUTE(x) __has_attribute(x)
#else
#define FASTLC_HAS_ATTRIBUTE(x) 0
#endif
/* gcc and clang (which also defines __GNUC__); both accept __attribute__ and asm */
#if defined(__GNUC__) && !defined(FASTLC_PLAIN)
#define FASTLC_GNU_C 1
#else
#define FASTLC_GNU_C 0
#endif

#define FASTLC_PRAGMA(text) _Pragma(#text)

/* ---- inlining ---------------------------------------------------------- */
#if FASTLC_GNU_C && FASTLC_HAS_ATTRIBUTE(always_inline)
#define FASTLC_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER) && !defined(FASTLC_PLAIN)
#define FASTLC_ALWAYS_INLINE static __forceinline
#else
#define FASTLC_ALWAYS_INLINE static inline
#endif

/* ---- prefetch a cache line for reading --------------------------------- */
#if FASTLC_GNU_C && (FASTLC_HAS_BUILTIN(__builtin_prefetch) || !defined(__clang__))
#define FASTLC_PREFETCH(address) __builtin_prefetch((address), 0, 3)
#else
#define FASTLC_PREFETCH(address) ((void)(address))
#endif

/* ---- streaming loops: prefetch the inputs ahead ---------------------------
   Streaming loops (activations, dropout, optimizer steps) run in blocks of
   FASTLC_STREAM_BLOCK bytes of each input, and before a block they ask for
   the inputs' cache lines FASTLC_PREFETCH_AHEAD bytes further on. The hardware
   prefetcher alone did not keep the loads ahead of an arithmetic-heavy loop: on this 2-core
   machine a 10 M float32 exact GELU took the time of its arithmetic plus that of its traffic
   (3.3 ms for a GELU-like polynomial against 1.9 ms in cache and 1.6-1.9 ms for a copy); with
   the inputs prefetched 4 KB ahead it took 1.9 ms, the two overlapped. Prefetching the output
   as well was slower (2.4-6 ms): only the inputs. Hints only: results are unchanged. */
#define FASTLC_STREAM_BLOCK 1024
#define FASTLC_PREFETCH_AHEAD 4096
static inline void fastlc_prefetch_ahead(const void* base, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t size) {
    /* the lines of bytes [lo, hi) + FASTLC_PREFETCH_AHEAD of an array of size bytes, within it */
    const char* p = (const char*)base;
    ptrdiff_t end = hi + FASTLC_PREFETCH_AHEAD < size ? hi + FASTLC_PREFETCH_AHEAD : size;
    for (ptrdiff_t b = lo + FASTLC_PREFETCH_AHEAD; b < end; b += 64) FASTLC_PREFETCH(p + b);
}

/* ---- OpenMP SIMD hints: vectorize a loop (with a reduction) without the
   OpenMP runtime; setup.py passes -fopenmp-simd where the compiler takes it,
   elsewhere the pragma is ignored. MSVC would warn about it, so it gets none. */
#if FASTLC_GNU_C
#define FASTLC_OMP_SIMD(clauses) FASTLC_PRAGMA(omp simd clauses)
#else
#define FASTLC_OMP_SIMD(clauses)
#endif

/* ---- GNU vector extensions: typedef T V __attribute__((vector_size(B))),
   with +, *, += lane by lane and a scalar operand applied to every lane. */
#if FASTLC_GNU_C
#define FASTLC_HAVE_VECTOR_EXT 1
#define FASTLC_VECTOR_TYPE(T, bytes, name) typedef T name __attribute__((vector_size(bytes)))
#else
#define FASTLC_HAVE_VECTOR_EXT 0
#endif

/* FASTLC_SHUFFLE(M, a, b, i0, i1, ...): lanes i0, i1, ... of the concatenation
   of vectors a and b; M is an integer vector type of as many lanes (gcc's
   __builtin_shuffle takes the indices as a vector of that type). */
#if FASTLC_HAVE_VECTOR_EXT && FASTLC_HAS_BUILTIN(__builtin_shufflevector)
#define FASTLC_HAVE_SHUFFLE 1
#define FASTLC_SHUFFLE(M, a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#elif FASTLC_HAVE_VECTOR_EXT && !defined(__clang__)
#define FASTLC_HAVE_SHUFFLE 1
#define FASTLC_SHUFFLE(M, a, b, ...) __builtin_shuffle((a), (b), (M){__VA_ARGS__})
#else
#define FASTLC_HAVE_SHUFFLE 0
#endif

/* ---- x86-64 function multiversioning: a function built for several
   instruction-set levels, the best one chosen when the module is loaded
   (through an ifunc, which needs ELF and glibc). FASTLC_NO_CLONES turns it off. */
#if FASTLC_GNU_C && defined(__x86_64__) && defined(__ELF__) && defined(__GLIBC__) \
    && FASTLC_HAS_ATTRIBUTE(target_clones) && !defined(FASTLC_NO_CLONES)
#define FASTLC_TARGET_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#else
#define FASTLC_TARGET_CLONES(...)
#endif
/* Functions built for one instruction set and called only after asking the
   CPU (__builtin_cpu_supports). */
#if FASTLC_GNU_C && defined(__x86_64__) && FASTLC_HAS_ATTRIBUTE(target) \
    && FASTLC_HAS_BUILTIN(__builtin_cpu_supports) && !defined(FASTLC_NO_CLONES)
#define FASTLC_X86_DISPATCH 1
#else
#define FASTLC_X86_DISPATCH 0
#endif

/* ---- Shared helpers: each module uses a few of the static helpers a shared
   header defines, and gcc and clang warn once per unused helper per module
   (-Wunused-function: 154 warnings in a gcc build, 170 in a clang one), which
   would bury a real warning. A header's helper definitions sit between BEGIN
   and END; the pragmas act by source location, so a module's own unused
   functions still warn. (An `unused` attribute per function would say the
   same, but clang refuses it on target_clones functions.) Compilers without
   these pragmas skip them. */
#if defined(__GNUC__)
#define FASTLC_SHARED_HELPERS_BEGIN \
    FASTLC_PRAGMA(GCC diagnostic push) FASTLC_PRAGMA(GCC diagnostic ignored "-Wunused-function")
#define FASTLC_SHARED_HELPERS_END FASTLC_PRAGMA(GCC diagnostic pop)
#else
#define FASTLC_SHARED_HELPERS_BEGIN
#define FASTLC_SHARED_HELPERS_END
#endif

/* ---- No fused multiply-add contraction between BEGIN and END (a*b + c
   rounded twice, as written), for code that promises the same bits from
   every build. The C99 pragma is honoured by clang, icx and others; gcc
   ignores it and takes its own (plus -ffp-contract=off from setup.py);
   MSVC has its own spelling. */
#if defined(__GNUC__) && !defined(__clang__)
#define FASTLC_NO_FP_CONTRACT_BEGIN \
    FASTLC_PRAGMA(GCC push_options) FASTLC_PRAGMA(GCC optimize("fp-contract=off"))
#define FASTLC_NO_FP_CONTRACT_END FASTLC_PRAGMA(GCC pop_options)
#elif defined(_MSC_VER) && !defined(__clang__)
#define FASTLC_NO_FP_CONTRACT_BEGIN __pragma(fp_contract(off))
#define FASTLC_NO_FP_CONTRACT_END /* MSVC's /fp:precise does not contract by default */
#else
#define FASTLC_NO_FP_CONTRACT_BEGIN FASTLC_PRAGMA(STDC FP_CONTRACT OFF)
#define FASTLC_NO_FP_CONTRACT_END FASTLC_PRAGMA(STDC FP_CONTRACT DEFAULT)
#endif

#endif
