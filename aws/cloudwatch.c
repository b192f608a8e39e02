/* cloudwatch: PutMetricData over the Query protocol; see cloudwatch.h. */
#include "cloudwatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query.h"
#include "uri.h"

static const struct query_api cloudwatch_api = {"monitoring", "CLOUDWATCH", "monitoring",
                                                "2010-08-01", (size_t)1 << 20};

/* Whole numbers below 2^53 in plain digits (byte counts); else the
 * shortest %.Ng text that reads back as v. */
static void format_double(char *out, size_t cap, double v)
{
	int prec;

	if (v > -9007199254740992.0 && v < 9007199254740992.0 && (double)(long long)v == v) {
		snprintf(out, cap, "%.0f", v);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static int format_time(char *out, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm))
		return ERR_INVALID;
	if (strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return ERR_INVALID;
	snprintf(out + strlen(out), cap - strlen(out), ".%03dZ", (int)(ms % 1000));
	return 0;
}

static int check_data(const char *ns, const struct cloudwatch_datum *data, size_t n, struct err *e)
{
	size_t i, j;

	if (!ns || !*ns)
		return err_set(e, ERR_INVALID, "PutMetricData: no namespace");
	if (!data || n == 0 || n > CLOUDWATCH_MAX_DATA)
		return err_set(e, ERR_INVALID, "PutMetricData: 1 to %d data points, not %zu",
		               CLOUDWATCH_MAX_DATA, n);
	for (i = 0; i < n; i++) {
		const struct cloudwatch_datum *d = &data[i];
		if (!d->metric_name || !*d->metric_name)
			return err_set(e, ERR_INVALID, "PutMetricData: datum %zu has no name",
			               i + 1);
		if (!isfinite(d->value))
			return err_set(e, ERR_INVALID, "PutMetricData: datum %zu is not finite",
			               i + 1);
		if (d->timestamp_ms < 0)
			return err_set(e, ERR_INVALID, "PutMetricData: datum %zu has a bad time",
			               i + 1);
		if (d->n_dimensions > CLOUDWATCH_MAX_DIMENSIONS ||
		    (d->n_dimensions && !d->dimensions))
			return err_set(e, ERR_INVALID, "PutMetricData: datum %zu: bad dimensions",
			               i + 1);
		for (j = 0; j < d->n_dimensions; j++)
			if (!d->dimensions[j].name || !*d->dimensions[j].name ||
			    !d->dimensions[j].value || !*d->dimensions[j].value)
				return err_set(e, ERR_INVALID,
				               "PutMetricData: datum %zu: an empty dimension",
				               i + 1);
	}
	return 0;
}

int cloudwatch_put_metric_data_form(const char *namespace_, const struct cloudwatch_datum *data,
                                    size_t n, struct buf *out, struct err *e)
{
	char num[40], when[40];
	size_t i, j;
	int rc;

	rc = check_data(namespace_, data, n, e);
	if (rc)
		return rc;
	rc = query_form_start(out, &cloudwatch_api, "PutMetricData");
	if (!rc)
		rc = uri_form_add(out, "Namespace", namespace_);
	for (i = 0; i < n && !rc; i++) {
		const struct cloudwatch_datum *d = &data[i];
		size_t m = i + 1;

		rc = uri_form_addf(out, d->metric_name, "MetricData.member.%zu.MetricName", m);
		if (!rc) {
			format_double(num, sizeof(num), d->value);
			rc = uri_form_addf(out, num, "MetricData.member.%zu.Value", m);
		}
		if (!rc && d->unit)
			rc = uri_form_addf(out, d->unit, "MetricData.member.%zu.Unit", m);
		for (j = 0; j < d->n_dimensions && !rc; j++) {
			rc = uri_form_addf(out, d->dimensions[j].name,
			                   "MetricData.member.%zu.Dimensions.member.%zu.Name", m,
			                   j + 1);
			if (!rc)
				rc = uri_form_addf(
				    out, d->dimensions[j].value,
				    "MetricData.member.%zu.Dimensions.member.%zu.Value", m, j + 1);
		}
		if (!rc && d->timestamp_ms) {
			if (format_time(when, sizeof(when), d->timestamp_ms) != 0) {
				buf_free(out);
				return err_set(e, ERR_INVALID, "PutMetricData: datum %zu: bad time",
				               m);
			}
			rc = uri_form_addf(out, when, "MetricData.member.%zu.Timestamp", m);
		}
	}
	if (rc)
		return err_set(e, rc, "PutMetricData: cannot build the request (%s)",
		               err_code_name(rc));
	return 0;
}

int cloudwatch_put_metric_data(struct aws_client *c, const char *namespace_,
                               const struct cloudwatch_datum *data, size_t n, struct err *e)
{
	struct buf form, body;
	int rc;

	buf_init(&form, 0);
	rc = cloudwatch_put_metric_data_form(namespace_, data, n, &form, e);
	if (rc)
		return rc;
	rc = query_call(c, &cloudwatch_api, &form, &body, e);
	buf_free(&body);
	return rc;
}
