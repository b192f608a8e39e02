/* Unit tests of proxy/fdpass: what ssh's ProxyUseFdpass receives. */
#include "test.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/fdpass.h"

/* Receives like ssh's mm_receive_fd: one byte and one SCM_RIGHTS fd. */
static int receive_fd(int chan, char *byte)
{
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	int fd = -1;

	msg.msg_control = ctl.space;
	msg.msg_controllen = sizeof(ctl.space);
	if (recvmsg(chan, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

TEST_CASE(socket_arrives_usable_and_blocking)
{
	int chan[2], conn[2], got;
	char byte = 'x', buf[8] = {0};
	struct err e;

	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, chan), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, conn), 0);
	CHECK_INT(fdpass_send(chan[0], conn[0], &e), 0);
	got = receive_fd(chan[1], &byte);
	CHECK(got >= 0);
	CHECK_INT(byte, '\0');
	if (got >= 0) {
		CHECK_INT(fcntl(got, F_GETFL) & O_NONBLOCK, 0);
		CHECK_INT(write(got, "ping", 4), 4);
		CHECK_INT(read(conn[1], buf, sizeof(buf)), 4);
		CHECK_STR(buf, "ping");
		close(got);
	}
	/* nothing more was sent */
	CHECK_INT(recv(chan[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(chan[0]);
	close(chan[1]);
	close(conn[0]);
	close(conn[1]);
}

TEST_CASE(stdout_not_a_socket_is_refused)
{
	int p[2], conn[2];
	struct err e;

	CHECK_INT(pipe(p), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, conn), 0);
	CHECK_INT(fdpass_send(p[1], conn[0], &e), ERR_INVALID);
	CHECK_STR(e.message, "--fdpass needs stdout to be a socket (ssh's ProxyUseFdpass yes)");
	close(p[0]);
	CHECK_INT(fdpass_send(conn[1], conn[0], &e), 0); /* a socket, even a strange one */
	close(p[1]);
	/* the peer gone */
	{
		int chan[2];

		CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, chan), 0);
		close(chan[1]);
		CHECK_INT(fdpass_send(chan[0], conn[0], &e), ERR_IO);
		close(chan[0]);
	}
	close(conn[0]);
	close(conn[1]);
}

int main(void)
{
	RUN(socket_arrives_usable_and_blocking);
	RUN(stdout_not_a_socket_is_refused);
	return TEST_DONE();
}
