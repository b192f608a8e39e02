/*
 * proxy_empty: does nothing. bench/proxy_connect.py times it built plain
 * (proxy_empty) and linked with ebssh-proxy's libraries (proxy_empty_libs):
 * the difference is what loading those libraries costs every start.
 */
int main(void)
{
	return 0;
}
