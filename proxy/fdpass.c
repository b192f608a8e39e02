/* fdpass: send a socket over a unix socket; see fdpass.h. */
#include "fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

int fdpass_send(int chan, int fd, struct err *e)
{
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = '\0';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg;
	struct cmsghdr *cm;
	struct pollfd p = {.fd = chan, .events = POLLOUT};
	struct stat st;
	ssize_t n;
	int fl;

	if (fstat(chan, &st) != 0 || !S_ISSOCK(st.st_mode))
		return err_set(e, ERR_INVALID,
		               "--fdpass needs stdout to be a socket (ssh's ProxyUseFdpass yes)");
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
		return err_set(e, ERR_IO, "fcntl: %s", strerror(errno));
	memset(&msg, 0, sizeof(msg));
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.space;
	msg.msg_controllen = sizeof(ctl.space);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	for (;;) {
		n = sendmsg(chan, &msg, MSG_NOSIGNAL);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			(void)poll(&p, 1, -1);
			continue;
		}
		return err_set(e, ERR_IO, "passing the socket to ssh: %s",
		               n < 0 ? strerror(errno) : "short write");
	}
}
