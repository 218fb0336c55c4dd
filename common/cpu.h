/* Which vector code paths this build has, and whether the processor runs them: loops that
 * touch every sample of an hour-long take have an AVX2 version beside the plain one, chosen
 * at run time (the plain one is the reference the tests hold the vector one to). */
#ifndef GHOSTREC_CPU_H
#define GHOSTREC_CPU_H

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define GHOSTREC_HAVE_AVX2_PATH 1
#include <immintrin.h>
#define GHOSTREC_TARGET_AVX2 __attribute__((target("avx2")))
static inline int ghostrec_cpu_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#else
#define GHOSTREC_HAVE_AVX2_PATH 0
static inline int ghostrec_cpu_avx2(void)
{
	return 0;
}
#endif

#endif
