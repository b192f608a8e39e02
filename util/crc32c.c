/* crc32c: CRC-32C (Castagnoli), the CPU's instruction or slice-by-8; see crc32c.h. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC32C_HW_TARGET __attribute__((target("sse4.2")))
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define CRC32C_HW_TARGET __attribute__((target("+crc")))
#endif

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 reflected */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
		table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = table[0][i];
		for (k = 1; k < 8; k++) {
			c = table[0][c & 0xFFu] ^ (c >> 8);
			table[k][i] = c;
		}
	}
}

uint32_t crc32c_update_table(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = ~crc;

	pthread_once(&table_once, table_init);
	while (len >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		                   (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		              (uint32_t)p[7] << 24;

		c = table[7][lo & 0xFFu] ^ table[6][(lo >> 8) & 0xFFu] ^
		    table[5][(lo >> 16) & 0xFFu] ^ table[4][lo >> 24] ^ table[3][hi & 0xFFu] ^
		    table[2][(hi >> 8) & 0xFFu] ^ table[1][(hi >> 16) & 0xFFu] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = table[0][(c ^ *p++) & 0xFFu] ^ (c >> 8);
	return ~c;
}

#ifdef CRC32C_HW_TARGET
/* The same CRC with the CPU's CRC-32C instruction: 8 bytes an instruction. */
static CRC32C_HW_TARGET uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t word;

		memcpy(&word, p, 8); /* unaligned, little-endian on both */
#if defined(__x86_64__)
		c = _mm_crc32_u64(c, word);
#else
		c = __crc32cd((uint32_t)c, word);
#endif
		p += 8;
		len -= 8;
	}
	while (len--) {
#if defined(__x86_64__)
		c = _mm_crc32_u8((uint32_t)c, *p++);
#else
		c = __crc32cb((uint32_t)c, *p++);
#endif
	}
	return ~(uint32_t)c;
}

static int have_hw(void)
{
#if defined(__x86_64__)
	return __builtin_cpu_supports("sse4.2");
#else
	return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#endif
}
#endif

int crc32c_hardware(void)
{
#ifdef CRC32C_HW_TARGET
	static int known = -1; /* a benign race: every thread computes the same */

	if (known < 0)
		known = have_hw();
	return known;
#else
	return 0;
#endif
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
#ifdef CRC32C_HW_TARGET
	if (crc32c_hardware())
		return crc32c_hw(crc, data, len);
#endif
	return crc32c_update_table(crc, data, len);
}

void crc32c_base64(uint32_t crc, char out[CRC32C_BASE64_LEN + 1])
{
	unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
	                       (unsigned char)(crc >> 8), (unsigned char)crc};

	EVP_EncodeBlock((unsigned char *)out, be, 4); /* 8 characters and a NUL */
}
