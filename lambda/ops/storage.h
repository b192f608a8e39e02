/*
 * storage: how much Lambda code storage the region's functions take.
 *
 * Every function (ListFunctions) and every version of it, $LATEST and the
 * published ones (ListVersionsByFunction), with its code size; their total
 * against the account's code storage limit (GetAccountSettings'
 * AccountLimit.TotalCodeSize), biggest first. Layers count towards the
 * limit too but belong to no function: AccountUsage.TotalCodeSize, which
 * includes them, is reported beside the total.
 *
 * On a schedule (an EventBridge rule whose name ends in
 * STORAGE_RULE_SUFFIX) the same numbers go to CloudWatch: namespace
 * STORAGE_NAMESPACE, metrics STORAGE_METRIC_BYTES (Bytes) and
 * STORAGE_METRIC_PERCENT (Percent of the limit), no dimensions.
 */
#ifndef EBSSH_LAMBDA_STORAGE_H
#define EBSSH_LAMBDA_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../service.h"

#define STORAGE_RULE_SUFFIX    "lambda-storage"
#define STORAGE_NAMESPACE      "ebssh"
#define STORAGE_METRIC_BYTES   "LambdaCodeStorageBytes"
#define STORAGE_METRIC_PERCENT "LambdaCodeStorageLimitPercent"
#define STORAGE_TEXT_ROWS      20 /* rows of the one-screen text form */

struct storage_item {
	char *function;    /* owned */
	char *version;     /* "$LATEST", "1", ...; owned */
	int64_t code_size; /* bytes */
};

struct storage_report {
	char *region;               /* owned; NULL when unknown */
	struct storage_item *items; /* owned, biggest first */
	size_t n;
	size_t functions;      /* how many functions */
	int64_t total;         /* sum of the items' code sizes */
	int64_t limit;         /* AccountLimit.TotalCodeSize; 0 when unknown */
	int64_t account_usage; /* AccountUsage.TotalCodeSize (layers included) */
	int partial;           /* the invocation's time ran out: functions_left were not listed */
	size_t functions_left; /* functions whose versions are missing (partial only) */
};

void storage_report_free(struct storage_report *r);

/* Biggest first; ties by function name, then version. */
void storage_sort(struct storage_report *r);

/* total as a percentage of limit (0 when the limit is unknown). */
double storage_percent(const struct storage_report *r);

/* Lists, sums and sorts; *r is filled (free it) on 0 and empty on error. */
int storage_collect(struct aws_client *aws, struct storage_report *r, struct err *e);

/* The same within ctx's deadline (service_out_of_time, checked before each
 * function's versions): when time runs out, 0 with r->partial set, the
 * functions listed so far and r->functions_left. ctx may be NULL. */
int storage_collect_within(struct aws_client *aws, struct service_context *ctx,
                           struct storage_report *r, struct err *e);

/*
 * JSON: {"region", "total_bytes", "limit_bytes", "percent_of_limit",
 * "account_usage_bytes", "functions", "versions": [{"function", "version",
 * "code_size"}]}, plus "partial": true and "functions_left" when the time
 * ran out. Text: a head line with the total, the limit and the share, then
 * the STORAGE_TEXT_ROWS biggest as "SIZE  FUNCTION:VERSION", a line for
 * the rest, and one for a partial report. ERR_NOMEM.
 */
int storage_format_json(const struct storage_report *r, struct buf *out);
int storage_format_text(const struct storage_report *r, struct buf *out);

/* 1 when an EventBridge rule's name asks for the storage metric. */
int storage_is_rule(const char *rule_name);

/* PutMetricData of the report's two numbers. */
int storage_put_metrics(struct aws_client *aws, const struct storage_report *r, struct err *e);

/* For the runtime, on a scheduled event whose rule storage_is_rule():
 * collect within the invocation's deadline, then put the metrics; a partial
 * report puts none (its total would be too low): ERR_TIMEOUT saying how
 * far it got. */
int storage_scheduled(struct service_context *ctx, struct err *e);

#endif
