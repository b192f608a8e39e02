/* crc32c: RFC 3720 B.4 vectors, streaming in pieces, GCS's base64 form. */
#include "util/crc32c.h"

#include "test.h"

#include <stdio.h>
#include <stdlib.h>

TEST_CASE(rfc3720_vectors)
{
	unsigned char buf[48];
	int i;

	memset(buf, 0, 32);
	CHECK_INT(crc32c_update(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xFF, 32);
	CHECK_INT(crc32c_update(0, buf, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	CHECK_INT(crc32c_update(0, buf, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	CHECK_INT(crc32c_update(0, buf, 32), 0x113FDB5Cu);
	{
		/* the iSCSI SCSI Read (10) command PDU of B.4 */
		static const unsigned char pdu[48] = {
		    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		    0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		    0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
		CHECK_INT(crc32c_update(0, pdu, sizeof(pdu)), 0xD9963A56u);
	}
	CHECK_INT(crc32c_update(0, "123456789", 9), 0xE3069283u);
	CHECK_INT(crc32c_update(0, "", 0), 0);
}

TEST_CASE(streaming_equals_one_shot)
{
	unsigned char data[1000];
	uint32_t whole, c = 0;
	size_t i, step;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	whole = crc32c_update(0, data, sizeof(data));
	for (step = 1; step < 20; step += 3) {
		c = 0;
		for (i = 0; i < sizeof(data); i += step)
			c = crc32c_update(c, data + i,
			                  i + step > sizeof(data) ? sizeof(data) - i : step);
		CHECK_INT(c, whole);
	}
}

/* The instruction and the table agree on every length and alignment. */
TEST_CASE(hardware_equals_table)
{
	static unsigned char data[4096 + 16];
	size_t i, off, len;
	unsigned seed = 1;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)rand_r(&seed);
	printf("# the CPU's instruction: %s\n", crc32c_hardware() ? "yes" : "no");
	CHECK_INT(crc32c_update_table(0, "123456789", 9), 0xE3069283u);
	for (off = 0; off < 9; off++)
		for (len = 0; len < 70; len++)
			CHECK_INT(crc32c_update(0x12345678u, data + off, len),
			          crc32c_update_table(0x12345678u, data + off, len));
	CHECK_INT(crc32c_update(0, data, 4096), crc32c_update_table(0, data, 4096));
}

TEST_CASE(base64_big_endian)
{
	char out[CRC32C_BASE64_LEN + 1];

	crc32c_base64(0, out);
	CHECK_STR(out, "AAAAAA==");
	crc32c_base64(crc32c_update(0, "123456789", 9), out); /* e3 06 92 83 */
	CHECK_STR(out, "4waSgw==");
	/* "hello world": c9 94 65 aa */
	crc32c_base64(crc32c_update(0, "hello world", 11), out);
	CHECK_STR(out, "yZRlqg==");
}

int main(void)
{
	RUN(rfc3720_vectors);
	RUN(streaming_equals_one_shot);
	RUN(hardware_equals_table);
	RUN(base64_big_endian);
	return TEST_DONE();
}
