/*
 * crc32c: CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78),
 * the checksum Google Cloud Storage keeps for every object.
 *
 * Neither zlib (CRC-32 only) nor OpenSSL has it. crc32c_update uses the
 * CPU's CRC-32C instruction where it has one (x86-64's SSE 4.2, arm64's CRC
 * extension: every Lambda machine), else a slice-by-8 table
 * (crc32c_update_table, also callable for the tests); both are checked
 * against RFC 3720 appendix B.4's vectors and against each other. Streaming:
 * start from 0, feed every piece through crc32c_update, the result is the
 * CRC of the concatenation. GCS wants the 4 bytes big-endian, base64
 * (crc32c_base64: "AAAAAA==" for the empty object).
 */
#ifndef EBSSH_UTIL_CRC32C_H
#define EBSSH_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of crc's bytes followed by data[0..len); crc32c_update(0, ...)
 * starts a new one. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_update_table(uint32_t crc, const void *data, size_t len);

/* 1 when crc32c_update uses the CPU's instruction. */
int crc32c_hardware(void);

#define CRC32C_BASE64_LEN 8 /* characters, without the NUL */

/* crc as GCS writes it: its 4 bytes big-endian in base64 (8 characters + NUL). */
void crc32c_base64(uint32_t crc, char out[CRC32C_BASE64_LEN + 1]);

#endif
