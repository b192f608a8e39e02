/*
 * ec2_parse: the DescribeInstances parse alone, for bench/lookup_scale.py.
 *
 *   ec2_parse ROUNDS PAGE.xml...
 *
 * Reads every page into memory, then ROUNDS times parses the pages one after
 * the other as ec2_describe_instances does (each page appended to one list,
 * the list freed after the last page). Prints one JSON object: the instances
 * of a round, the CPU ms of the first round (cold) and the median of the
 * others (warm), and the peak RSS in KiB (VmHWM, which unlike ru_maxrss does
 * not carry over the RSS of the process that exec'd this one). Built by the bench against the
 * product's aws/ec2.c, and against an older aws/ec2.c for comparison; it uses
 * only what both have (ec2_parse_describe_instances, ec2_instance_list_free).
 * Under callgrind, --toggle-collect=ec2_parse_describe_instances counts the
 * parse and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/ec2.h"

struct page {
	char *data;
	size_t len;
};

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int read_file(const char *path, struct page *p)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	p->len = (size_t)n;
	p->data = malloc(p->len + 1);
	if (!p->data || fread(p->data, 1, p->len, f) != p->len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static long vm_hwm_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct page *pages;
	double *ms;
	size_t n_pages, i, n = 0;
	long rounds, r;

	if (argc < 3 || (rounds = strtol(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: ec2_parse ROUNDS PAGE.xml...\n");
		return 2;
	}
	n_pages = (size_t)argc - 2;
	pages = calloc(n_pages, sizeof(*pages));
	ms = calloc((size_t)rounds, sizeof(*ms));
	if (!pages || !ms)
		return 1;
	for (i = 0; i < n_pages; i++)
		if (read_file(argv[i + 2], &pages[i]) != 0) {
			fprintf(stderr, "ec2_parse: cannot read %s\n", argv[i + 2]);
			return 1;
		}
	for (r = 0; r < rounds; r++) {
		struct ec2_instance_list list = {NULL, 0};
		double t0 = cpu_ms();

		for (i = 0; i < n_pages; i++) {
			struct err e;
			char *next = NULL;

			err_clear(&e);
			if (ec2_parse_describe_instances(pages[i].data, pages[i].len, &list, &next,
			                                 &e) != 0) {
				fprintf(stderr, "ec2_parse: %s: %s\n", argv[i + 2], e.message);
				return 1;
			}
			free(next);
		}
		ms[r] = cpu_ms() - t0;
		n = list.n;
		ec2_instance_list_free(&list);
	}
	if (rounds > 1)
		qsort(ms + 1, (size_t)rounds - 1, sizeof(*ms), cmp_double);
	printf(
	    "{\"instances\": %zu, \"cold_ms\": %.3f, \"warm_ms\": %.3f, \"peak_rss_kib\": %ld}\n",
	    n, ms[0], rounds > 1 ? ms[1 + (rounds - 1) / 2] : ms[0], vm_hwm_kib());
	for (i = 0; i < n_pages; i++)
		free(pages[i].data);
	free(pages);
	free(ms);
	return 0;
}
