/* build/bootstrap: the Lambda runtime (issue 3 fills it in). */
#include <stdio.h>

int main(void)
{
	fputs("bootstrap: not built yet (see issue 3)\n", stderr);
	return 2;
}
