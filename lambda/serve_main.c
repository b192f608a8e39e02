/* build/ebssh-api: the local HTTP server (issue 3 fills it in). */
#include <stdio.h>

int main(void)
{
	fputs("ebssh-api: not built yet (see issue 3)\n", stderr);
	return 2;
}
