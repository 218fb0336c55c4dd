/* See sample_convert.h. The plain loops are the reference; the vector ones do the same IEEE
 * operations lane by lane (tests/conform/test-sample-convert.c holds them to it). */
#include "sample_convert.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpu.h"

/* ghostrec_convert() over n samples. The conventions made of plain float and double
 * arithmetic are done four samples at a time with SSE2 (the same IEEE operations, lane by lane); a group
 * with a value that does not round into the integer range (clipped, NaN) and every other
 * convention go through ghostrec_convert() itself. */
void ghostrec_convert_run(int conv, int bits, const float *x, size_t n, int32_t *k)
{
	size_t j = 0;
#if defined(__SSE2__) && defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
	if (conv == GHOSTREC_CONV_ROUND_POW2 || conv == GHOSTREC_CONV_ROUND_POW2M1 ||
	    conv == GHOSTREC_CONV_SNDFILE_NOCLIP) {
		const double lo = -(double)((int64_t)1 << (bits - 1));
		const double hi = (double)(((int64_t)1 << (bits - 1)) - 1);
		const __m128d vlo = _mm_set1_pd(lo), vhi = _mm_set1_pd(hi), magic = _mm_set1_pd(0x1.8p52);
		const __m128d scale = _mm_set1_pd(conv == GHOSTREC_CONV_ROUND_POW2 ? -lo : hi);
		const __m128 fscale = _mm_set1_ps((float)(((int64_t)1 << (bits - 1)) - 1));
		for (; j + 4 <= n; j += 4) {
			__m128 xf = _mm_loadu_ps(x + j);
			__m128d a, b;
			if (conv == GHOSTREC_CONV_SNDFILE_NOCLIP) {
				__m128 v = _mm_mul_ps(xf, fscale);   /* x * (float)hi, in float */
				a = _mm_cvtps_pd(v);
				b = _mm_cvtps_pd(_mm_movehl_ps(v, v));
			} else {
				a = _mm_mul_pd(_mm_cvtps_pd(xf), scale);  /* (double)x * scale */
				b = _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(xf, xf)), scale);
			}
			a = _mm_sub_pd(_mm_add_pd(a, magic), magic);   /* round_even */
			b = _mm_sub_pd(_mm_add_pd(b, magic), magic);
			__m128d ina = _mm_and_pd(_mm_cmpge_pd(a, vlo), _mm_cmple_pd(a, vhi));
			__m128d inb = _mm_and_pd(_mm_cmpge_pd(b, vlo), _mm_cmple_pd(b, vhi));
			if ((_mm_movemask_pd(ina) & _mm_movemask_pd(inb)) != 3) {
				for (int i = 0; i < 4; i++)
					k[j + i] = ghostrec_convert(conv, bits, x[j + i]);
				continue;
			}
			__m128i ka = _mm_cvttpd_epi32(a), kb = _mm_cvttpd_epi32(b);
			_mm_storeu_si128((__m128i *)(void *)(k + j), _mm_unpacklo_epi64(ka, kb));
		}
	}
#endif
	for (; j < n; j++)
		k[j] = ghostrec_convert(conv, bits, x[j]);
}

/* A float32 clean file's mapped samples (little-endian, any alignment) straight into the
 * take's 16/24-bit bytes: n samples from src into dst (n * bits / 8 bytes). For the
 * conventions convert_run vectorises, eight at a time with AVX2 (the same operations, lane
 * by lane); returns 0 when this processor or convention has no such path (the caller
 * decodes into floats and uses block_to_pcm). */
#if GHOSTREC_HAVE_AVX2_PATH && defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0 && \
	defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
GHOSTREC_TARGET_AVX2 static void pack_float32_avx2(int conv, int bits, const unsigned char *src, size_t n,
						 unsigned char *dst)
{
	const size_t nb = (size_t)bits / 8;
	const double lo = -(double)((int64_t)1 << (bits - 1));
	const double hi = (double)(((int64_t)1 << (bits - 1)) - 1);
	const __m256d vlo = _mm256_set1_pd(lo), vhi = _mm256_set1_pd(hi), magic = _mm256_set1_pd(0x1.8p52);
	const __m256d scale = _mm256_set1_pd(conv == GHOSTREC_CONV_ROUND_POW2 ? -lo : hi);
	const __m256 fscale = _mm256_set1_ps((float)hi);
	/* the low three bytes of each 32-bit lane, packed */
	const __m128i pack24 = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
	size_t j = 0;
	/* the 24-bit stores write 4 bytes (1 1/3 samples) past a group of eight: two more samples
	 * must follow, which the next group or the tail writes */
	for (; j + 10 <= n; j += 8) {
		_mm_prefetch((const char *)(src + 4 * j + 2048), _MM_HINT_T0);
		__m256 xf = _mm256_loadu_ps((const float *)(const void *)(src + 4 * j));
		__m256d a, b;
		if (conv == GHOSTREC_CONV_SNDFILE_NOCLIP) {
			__m256 v = _mm256_mul_ps(xf, fscale);
			a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
			b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
		} else {
			a = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xf)), scale);
			b = _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xf, 1)), scale);
		}
		a = _mm256_sub_pd(_mm256_add_pd(a, magic), magic);
		b = _mm256_sub_pd(_mm256_add_pd(b, magic), magic);
		__m256d ina = _mm256_and_pd(_mm256_cmp_pd(a, vlo, _CMP_GE_OQ), _mm256_cmp_pd(a, vhi, _CMP_LE_OQ));
		__m256d inb = _mm256_and_pd(_mm256_cmp_pd(b, vlo, _CMP_GE_OQ), _mm256_cmp_pd(b, vhi, _CMP_LE_OQ));
		if ((_mm256_movemask_pd(ina) & _mm256_movemask_pd(inb)) != 15) {
			/* clipped or NaN: ghostrec_convert() decides */
			for (size_t i = j; i < j + 8; i++) {
				float x;
				memcpy(&x, src + 4 * i, sizeof(x));
				uint32_t v = (uint32_t)ghostrec_convert(conv, bits, x);
				memcpy(dst + nb * i, &v, nb);
			}
			continue;
		}
		__m128i ka = _mm256_cvttpd_epi32(a), kb = _mm256_cvttpd_epi32(b);
		if (nb == 3) {
			/* 16-byte stores, 4 bytes past the 12 each: the next samples' (see the loop) */
			_mm_storeu_si128((__m128i *)(void *)(dst + 3 * j), _mm_shuffle_epi8(ka, pack24));
			_mm_storeu_si128((__m128i *)(void *)(dst + 3 * j + 12), _mm_shuffle_epi8(kb, pack24));
		} else {
			_mm_storeu_si128((__m128i *)(void *)(dst + 2 * j), _mm_packs_epi32(ka, kb));
		}
	}
	for (; j < n; j++) {
		float x;
		memcpy(&x, src + 4 * j, sizeof(x));
		uint32_t v = (uint32_t)ghostrec_convert(conv, bits, x);
		memcpy(dst + nb * j, &v, nb);
	}
}
#define HAVE_PACK_MAPPED 1
#else
#define HAVE_PACK_MAPPED 0
#endif

int ghostrec_can_pack_float32(int conv, int bits)
{
	int plain = conv == GHOSTREC_CONV_ROUND_POW2 || conv == GHOSTREC_CONV_ROUND_POW2M1 ||
		    conv == GHOSTREC_CONV_SNDFILE_NOCLIP;
	return HAVE_PACK_MAPPED && plain && (bits == 16 || bits == 24) && ghostrec_cpu_avx2();
}

void ghostrec_pack_float32(int conv, int bits, const unsigned char *src, size_t n, unsigned char *dst)
{
#if HAVE_PACK_MAPPED
	pack_float32_avx2(conv, bits, src, n, dst);
#else
	(void)conv, (void)bits, (void)src, (void)n, (void)dst;
#endif
}

