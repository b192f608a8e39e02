/*
 * cloudwatch: CloudWatch PutMetricData over the Query protocol (Version
 * 2010-08-01, signing name "monitoring", endpoint id CLOUDWATCH): a form
 * body of Namespace and MetricData.member.N.{MetricName, Value, Unit,
 * Timestamp, Dimensions.member.M.{Name, Value}}. Errors come back as the
 * Query APIs' <ErrorResponse> XML (aws/errors.h reads them).
 */
#ifndef EBSSH_AWS_CLOUDWATCH_H
#define EBSSH_AWS_CLOUDWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/err.h"

#define CLOUDWATCH_MAX_DATA       1000 /* data points in one PutMetricData */
#define CLOUDWATCH_MAX_DIMENSIONS 30   /* per data point */

struct aws_client;

struct cloudwatch_dimension {
	const char *name;
	const char *value;
};

struct cloudwatch_datum {
	const char *metric_name;
	double value;         /* finite */
	const char *unit;     /* "Bytes", "Percent", "Count", ...; or NULL */
	int64_t timestamp_ms; /* ms since the epoch; 0: not sent (CloudWatch's now) */
	const struct cloudwatch_dimension *dimensions;
	size_t n_dimensions;
};

/*
 * The form body (appended to out) of one PutMetricData: Action, Version,
 * Namespace, then per datum MetricName, Value, Unit, Dimensions, Timestamp
 * (botocore's order for the same input). Values print as the shortest text that reads back
 * as the same double. ERR_INVALID for no namespace, no data, more than
 * CLOUDWATCH_MAX_DATA, a datum without a name, a value that is not finite
 * or too many dimensions; ERR_NOMEM.
 */
int cloudwatch_put_metric_data_form(const char *namespace_, const struct cloudwatch_datum *data,
                                    size_t n, struct buf *out, struct err *e);

/* PutMetricData; errors as aws_client_call gives them. */
int cloudwatch_put_metric_data(struct aws_client *c, const char *namespace_,
                               const struct cloudwatch_datum *data, size_t n, struct err *e);

#endif
