/* Unit tests of util/file: the capped whole-file read. */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/file.h"

/* A file under /tmp holding n bytes of data, opened for reading (unlinked). */
static int temp_file(const char *data, size_t n)
{
	char path[] = "/tmp/ebssh-test-file-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, data, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_CASE(reads_whole_file_terminated)
{
	struct err e = {0};
	char *text = NULL;
	size_t len = 0;
	int fd = temp_file("key\0tail", 8);

	CHECK(fd >= 0);
	CHECK_INT(file_read_capped(fd, "k", 8, &text, &len, &e), 0);
	CHECK_INT(len, 8);
	CHECK(text && memcmp(text, "key\0tail", 8) == 0);
	CHECK_INT(text[8], '\0');
	free(text);
	close(fd);
}

TEST_CASE(empty_file_is_empty_string)
{
	struct err e = {0};
	char *text = NULL;
	size_t len = 1;
	int fd = temp_file("", 0);

	CHECK(fd >= 0);
	CHECK_INT(file_read_capped(fd, "empty", 16, &text, &len, &e), 0);
	CHECK_INT(len, 0);
	CHECK_STR(text, "");
	free(text);
	close(fd);
}

TEST_CASE(one_byte_over_the_cap_is_refused)
{
	struct err e = {0};
	char *text = (char *)1;
	size_t len = 1;
	int fd = temp_file("123456789", 9);

	CHECK(fd >= 0);
	CHECK_INT(file_read_capped(fd, "big", 8, &text, &len, &e), ERR_TOO_LARGE);
	CHECK(text == NULL);
	CHECK_INT(len, 0);
	CHECK_STR(e.message, "big is larger than 8 bytes");
	close(fd);
}

TEST_CASE(read_error_names_the_path)
{
	struct err e = {0};
	char *text = NULL;
	size_t len = 0;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	CHECK(fd >= 0);
	CHECK_INT(file_read_capped(fd, "/tmp", 8, &text, &len, &e), ERR_IO);
	CHECK(text == NULL);
	CHECK(strncmp(e.message, "/tmp: ", 6) == 0);
	close(fd);
}

int main(void)
{
	RUN(reads_whole_file_terminated);
	RUN(empty_file_is_empty_string);
	RUN(one_byte_over_the_cap_is_refused);
	RUN(read_error_names_the_path);
	return TEST_DONE();
}
