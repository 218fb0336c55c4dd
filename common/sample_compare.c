/* See sample_compare.h. One generic loop, and an AVX2 one (eight samples at a time: the
 * take's bytes widened into integers, converted, subtracted, compared) chosen at run time
 * where the processor has it; both compute the same IEEE single operations in the same
 * order, so they give the same answers (tests/conform/test-sample-compare.c checks). */
#include "sample_compare.h"

#include <math.h>
#include <string.h>

#include "cpu.h"

int ghostrec_compare_take_clean_generic(int layout, const void *take, const void *clean,
					size_t ys, size_t n, float lo, float hi, uint8_t *bad)
{
	const unsigned char *p = take, *c = clean;
	int unsure = 0;
	for (size_t j = 0; j < n; j++) {
		float y;
		memcpy(&y, c + 4 * j * ys, sizeof(y));
		float f = fabsf(ghostrec_pcm_sample(layout, p, j) - y);
		bad[j] = f > hi;
		unsure |= !(f < lo) & !(f > hi);
	}
	return unsure;
}

#if GHOSTREC_HAVE_AVX2_PATH
GHOSTREC_TARGET_AVX2 static int compare_avx2(int layout, const unsigned char *p, const unsigned char *c,
					     size_t ys, size_t n, float lo, float hi, uint8_t *bad)
{
	const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	/* three bytes a sample -> the sample in the top 24 bits of each 32-bit lane */
	const __m128i widen24 = _mm_setr_epi8(-1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11);
	__m256 unsure = _mm256_setzero_ps();
	/* Eight samples read 28 bytes (S24), 16 (S16); a stereo clean channel 16 floats from
	 * y: the loop stops where that would pass the end of either. */
	size_t stop_take = layout == GHOSTREC_LAYOUT_S24 ? 10 : 8;
	size_t stop = ys == 2 ? 9 : 8;
	if (stop < stop_take)
		stop = stop_take;
	size_t j = 0;
	for (; j + stop <= n; j += 8) {
		/* mapped page-cache pages, read once: ask for them ahead of the loads */
		_mm_prefetch((const char *)(p + (size_t)layout * j + 1024), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + 4 * ys * j + 2048), _MM_HINT_T0);
		__m256 x;
		if (layout == GHOSTREC_LAYOUT_S24) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + 3 * j));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 3 * j + 12));
			__m256i v = _mm256_set_m128i(_mm_shuffle_epi8(b, widen24), _mm_shuffle_epi8(a, widen24));
			x = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(1.0f / 2147483648.0f));
		} else {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + 2 * j));
			x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(a)),
					  _mm256_set1_ps(1.0f / 32768.0f));
		}
		__m256 yv;
		if (ys == 1) {
			yv = _mm256_loadu_ps((const float *)(const void *)(c + 4 * j));
		} else {
			/* every second float: a0 a2 b0 b2 | a4 a6 b4 b6, then the pairs in order */
			__m256 a = _mm256_loadu_ps((const float *)(const void *)(c + 8 * j));
			__m256 b = _mm256_loadu_ps((const float *)(const void *)(c + 8 * j + 32));
			__m256 even = _mm256_shuffle_ps(a, b, 0x88);
			yv = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
		}
		__m256 f = _mm256_and_ps(_mm256_sub_ps(x, yv), absmask);
		__m256 gt = _mm256_cmp_ps(f, vhi, _CMP_GT_OQ);
		unsure = _mm256_or_ps(unsure, _mm256_and_ps(_mm256_cmp_ps(f, vlo, _CMP_NLT_UQ),
							   _mm256_cmp_ps(f, vhi, _CMP_NGT_UQ)));
		__m256i one = _mm256_srli_epi32(_mm256_castps_si256(gt), 31);
		__m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(one), _mm256_extracti128_si256(one, 1));
		_mm_storel_epi64((__m128i *)(void *)(bad + j), _mm_packs_epi16(w16, w16));
	}
	int u = _mm256_movemask_ps(unsure) != 0;
	return ghostrec_compare_take_clean_generic(layout, p + j * (size_t)layout, c + 4 * j * ys, ys, n - j,
						   lo, hi, bad + j) | u;
}
#endif

int ghostrec_compare_take_clean(int layout, const void *take, const void *clean, size_t ys,
				size_t n, float lo, float hi, uint8_t *bad)
{
#if GHOSTREC_HAVE_AVX2_PATH
	if ((ys == 1 || ys == 2) && ghostrec_cpu_avx2())
		return compare_avx2(layout, take, clean, ys, n, lo, hi, bad);
#endif
	return ghostrec_compare_take_clean_generic(layout, take, clean, ys, n, lo, hi, bad);
}
