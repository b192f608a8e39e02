/* storage: Lambda code storage per function and version, and its metric; see storage.h. */
#include "storage.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aws/client.h"
#include "../../aws/cloudwatch.h"
#include "../../aws/lambda.h"

void storage_report_free(struct storage_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->items[i].function);
		free(r->items[i].version);
	}
	free(r->items);
	free(r->region);
	memset(r, 0, sizeof(*r));
}

/* "$LATEST" before numbered versions, numbers in numeric order. */
static int compare_versions(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (a[0] == '$' || b[0] == '$')
		return (b[0] == '$') - (a[0] == '$');
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int by_size(const void *pa, const void *pb)
{
	const struct storage_item *a = pa, *b = pb;
	int c;

	if (a->code_size != b->code_size)
		return a->code_size > b->code_size ? -1 : 1;
	c = strcmp(a->function, b->function);
	return c ? c : compare_versions(a->version, b->version);
}

void storage_sort(struct storage_report *r)
{
	if (r->n > 1)
		qsort(r->items, r->n, sizeof(*r->items), by_size);
}

double storage_percent(const struct storage_report *r)
{
	return r->limit > 0 ? (double)r->total * 100.0 / (double)r->limit : 0.0;
}

static int add_item(struct storage_report *r, const struct lambda_function *f)
{
	struct storage_item *grown = realloc(r->items, (r->n + 1) * sizeof(*grown));

	if (!grown)
		return ERR_NOMEM;
	r->items = grown;
	grown[r->n].function = strdup(f->name);
	grown[r->n].version = strdup(f->version);
	grown[r->n].code_size = f->code_size;
	if (!grown[r->n].function || !grown[r->n].version) {
		free(grown[r->n].function);
		free(grown[r->n].version);
		return ERR_NOMEM;
	}
	r->n++;
	r->total += f->code_size;
	return 0;
}

int storage_collect(struct aws_client *aws, struct storage_report *r, struct err *e)
{
	return storage_collect_within(aws, NULL, r, e);
}

int storage_collect_within(struct aws_client *aws, struct service_context *ctx,
                           struct storage_report *r, struct err *e)
{
	struct lambda_function_list functions = {NULL, 0}, versions = {NULL, 0};
	struct lambda_account_settings settings;
	size_t i, j;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = lambda_list_functions(aws, &functions, e);
	if (rc)
		goto out;
	r->functions = functions.n;
	for (i = 0; i < functions.n && !rc; i++) {
		struct err ve;

		if (service_out_of_time(ctx)) {
			r->partial = 1;
			r->functions_left = functions.n - i;
			break;
		}
		err_clear(&ve);
		rc = lambda_list_versions(aws, functions.items[i].name, &versions, &ve);
		if (rc == ERR_AWS && strcmp(ve.aws_code, "ResourceNotFoundException") == 0) {
			/* Deleted since it was listed: nothing of it is stored any more. */
			r->functions--;
			rc = 0;
			continue;
		}
		if (rc) {
			if (e)
				*e = ve;
			break;
		}
		for (j = 0; j < versions.n && !rc; j++)
			rc = add_item(r, &versions.items[j]);
		lambda_function_list_free(&versions);
		if (rc)
			err_set(e, rc, "out of memory");
	}
	if (rc)
		goto out;
	rc = lambda_get_account_settings(aws, &settings, e);
	if (rc)
		goto out;
	r->limit = settings.total_code_size_limit;
	r->account_usage = settings.total_code_size_used;
	if (aws_client_region(aws)) {
		r->region = strdup(aws_client_region(aws));
		if (!r->region)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	storage_sort(r);
out:
	lambda_function_list_free(&functions);
	lambda_function_list_free(&versions);
	if (rc)
		storage_report_free(r);
	return rc;
}

int storage_format_json(const struct storage_report *r, struct buf *out)
{
	json_t *root, *list = json_array();
	char *text = NULL;
	size_t i;
	int rc = ERR_NOMEM;

	for (i = 0; list && i < r->n; i++)
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "function",
		                                          r->items[i].function, "version",
		                                          r->items[i].version, "code_size",
		                                          (json_int_t)r->items[i].code_size)) != 0)
			goto out;
	root = list ? json_pack("{s:s?, s:I, s:I, s:f, s:I, s:I, s:O}", "region", r->region,
	                        "total_bytes", (json_int_t)r->total, "limit_bytes",
	                        (json_int_t)r->limit, "percent_of_limit",
	                        (double)((int64_t)(storage_percent(r) * 1000.0 + 0.5)) / 1000.0,
	                        "account_usage_bytes", (json_int_t)r->account_usage, "functions",
	                        (json_int_t)r->functions, "versions", list)
	            : NULL;
	if (root && r->partial &&
	    (json_object_set_new(root, "partial", json_true()) < 0 ||
	     json_object_set_new(root, "functions_left",
	                         json_integer((json_int_t)r->functions_left)) < 0)) {
		json_decref(root);
		root = NULL;
	}
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (text) {
		rc = buf_append_str(out, text);
		if (!rc)
			rc = buf_append(out, "\n", 1);
	}
out:
	free(text);
	json_decref(list);
	return rc;
}

/* "12.3 MiB": binary units, one decimal; plain bytes under 1 KiB. */
static void human(int64_t n, char *out, size_t cap)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)n / 1024.0;
	int u = 0;

	if (n < 1024) {
		snprintf(out, cap, "%lld B", (long long)n);
		return;
	}
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, cap, "%.1f %s", v, units[u]);
}

int storage_format_text(const struct storage_report *r, struct buf *out)
{
	char total[32], limit[32], size[32];
	size_t i, shown = r->n < STORAGE_TEXT_ROWS ? r->n : STORAGE_TEXT_ROWS;
	int64_t rest = 0;
	int rc;

	human(r->total, total, sizeof(total));
	if (r->limit > 0) {
		human(r->limit, limit, sizeof(limit));
		rc = buf_appendf(out,
		                 "Lambda code storage%s%s: %s of %s (%.1f %%), %zu function%s, "
		                 "%zu version%s\n",
		                 r->region ? " in " : "", r->region ? r->region : "", total, limit,
		                 storage_percent(r), r->functions, r->functions == 1 ? "" : "s",
		                 r->n, r->n == 1 ? "" : "s");
	} else {
		rc = buf_appendf(out,
		                 "Lambda code storage%s%s: %s (limit unknown), %zu function%s\n",
		                 r->region ? " in " : "", r->region ? r->region : "", total,
		                 r->functions, r->functions == 1 ? "" : "s");
	}
	for (i = 0; i < shown && !rc; i++) {
		human(r->items[i].code_size, size, sizeof(size));
		rc = buf_appendf(out, "%10s  %s:%s\n", size, r->items[i].function,
		                 r->items[i].version);
	}
	for (i = shown; i < r->n; i++)
		rest += r->items[i].code_size;
	if (!rc && r->n > shown) {
		human(rest, size, sizeof(size));
		rc = buf_appendf(out, "%10s  (%zu more version%s)\n", size, r->n - shown,
		                 r->n - shown == 1 ? "" : "s");
	}
	if (!rc && r->partial)
		rc = buf_appendf(out,
		                 "(partial: the time ran out before %zu function%s could be "
		                 "listed)\n",
		                 r->functions_left, r->functions_left == 1 ? "" : "s");
	return rc;
}

int storage_is_rule(const char *rule_name)
{
	size_t n = rule_name ? strlen(rule_name) : 0, k = strlen(STORAGE_RULE_SUFFIX);

	return n >= k && strcmp(rule_name + n - k, STORAGE_RULE_SUFFIX) == 0;
}

int storage_put_metrics(struct aws_client *aws, const struct storage_report *r, struct err *e)
{
	struct cloudwatch_datum data[2];
	size_t n = 1;

	memset(data, 0, sizeof(data));
	data[0].metric_name = STORAGE_METRIC_BYTES;
	data[0].value = (double)r->total;
	data[0].unit = "Bytes";
	if (r->limit > 0) {
		data[1].metric_name = STORAGE_METRIC_PERCENT;
		data[1].value = storage_percent(r);
		data[1].unit = "Percent";
		n = 2;
	}
	return cloudwatch_put_metric_data(aws, STORAGE_NAMESPACE, data, n, e);
}

int storage_scheduled(struct service_context *ctx, struct err *e)
{
	struct storage_report report;
	int rc;

	if (!service_aws(ctx, e))
		return e && e->code < 0 ? e->code : ERR_INTERNAL;
	rc = storage_collect_within(ctx->aws, ctx, &report, e);
	if (rc)
		return rc;
	if (report.partial)
		rc = err_set(e, ERR_TIMEOUT,
		             "the invocation's time ran out with %zu of %zu functions not listed; "
		             "no metric put",
		             report.functions_left, report.functions);
	else
		rc = storage_put_metrics(ctx->aws, &report, e);
	storage_report_free(&report);
	return rc;
}
