/* build/ebssh-proxy: the ssh ProxyCommand (issue 4 fills it in). */
#include <stdio.h>

int main(void)
{
	fputs("ebssh-proxy: not built yet (see issue 4)\n", stderr);
	return 2;
}
