/*
 * ec2: DescribeInstances over EC2's Query API, its answer read by aws/xml
 * into plain structs, and what the other EC2 modules share (tags, paging,
 * the API's identity). The parser tracks where in the tree it stands:
 * addresses, tags and states repeat inside networkInterfaceSet,
 * blockDeviceMapping and other nested items, and only the instance's own
 * count. No entity expansion, no DTD, no external entities (aws/xml.h).
 *
 * The parse keeps only what the routes use (below) and reads one page at a
 * time: the interfaces, volumes and other subtrees it never keeps are cut
 * out of the answer before expat reads it (aws/xml.h, xml_reader.skip),
 * which is most of an instance as EC2 describes it (bench/lookup_scale.py).
 */
#ifndef EBSSH_AWS_EC2_H
#define EBSSH_AWS_EC2_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "query.h"

struct aws_client;

struct ec2_tag {
	char *key;   /* owned */
	char *value; /* owned; "" when the tag has no value */
};

struct ec2_instance {
	char *instance_id;       /* owned; never NULL in a parsed list */
	char *state;             /* "running", "stopped", ...; owned, NULL when absent */
	char *public_ip;         /* the instance's own ipAddress; NULL when none */
	char *private_ip;        /* the instance's own privateIpAddress; NULL when none */
	char *launch_time;       /* as EC2 wrote it, "2012-10-16T20:00:13.000Z"; NULL when absent */
	int64_t launch_time_ms;  /* the same in ms since the epoch; 0 when absent or malformed */
	char *availability_zone; /* placement/availabilityZone; NULL when absent */
	struct ec2_tag *tags;    /* the instance's own tagSet, in document order */
	size_t n_tags;
};

struct ec2_instance_list {
	struct ec2_instance *items; /* owned */
	size_t n;
};

struct ec2_filter {
	const char *name; /* "tag:elasticbeanstalk:environment-name" */
	const char *const *values;
	size_t n_values;
};

/* Frees every instance and empties the list. */
void ec2_instance_list_free(struct ec2_instance_list *list);

/* EC2's timestamp ("2012-10-16T20:00:13.000Z", the fraction optional) as ms
 * since the epoch; 0 when s is NULL, malformed or before 1970. */
int64_t ec2_time_ms(const char *s);

/* The value of the instance's own tag key, or NULL; borrowed. */
const char *ec2_instance_tag(const struct ec2_instance *inst, const char *key);

/* The value of tag key among tags, or NULL; borrowed. */
const char *ec2_tags_find(const struct ec2_tag *tags, size_t n, const char *key);

/*
 * Parses one DescribeInstances answer and appends its instances to *out
 * (which must be zeroed or hold earlier pages). *next_token receives the
 * page's nextToken (owned) or NULL. ERR_PARSE on malformed or truncated XML
 * or an answer that is not a DescribeInstancesResponse.
 */
int ec2_parse_describe_instances(const char *xml, size_t len, struct ec2_instance_list *out,
                                 char **next_token, struct err *e);

/*
 * DescribeInstances with the given filters, following nextToken to the end.
 * *out receives every instance of every page (caller frees). Errors as
 * aws_client_call gives them.
 */
int ec2_describe_instances(struct aws_client *c, const struct ec2_filter *filters, size_t n_filters,
                           struct ec2_instance_list *out, struct err *e);

/* ---- for the other EC2 modules (ec2_images, ec2_console) ---- */

extern const struct query_api ec2_api; /* EC2's Query API, version 2016-11-15 */

#define EC2_MAX_FIELD 4096 /* bytes of one text field of an answer; more is ERR_PARSE */

/* Frees n tags and the array. */
void ec2_tags_free(struct ec2_tag *tags, size_t n);

/* The last of *n tags has closed: without a key it is dropped, without a
 * value its value is "". 0 or ERR_NOMEM. */
int ec2_tag_close(struct ec2_tag *tags, size_t *n);

/* Frees *slot and hands it a copy of text's bytes, of their own size (a
 * field seen twice: the last one wins); empties text. 0 or ERR_NOMEM. */
int ec2_take_field(char **slot, struct buf *text);

/*
 * A filter value that matches s literally: EC2's filter wildcards '*' and
 * '?', and '\\', escaped with a backslash. A new string (free it), or NULL
 * when out of memory.
 */
char *ec2_filter_literal(const char *s);

/* Appends Filter.N.Name / Filter.N.Value.M for n filters. */
int ec2_form_filters(struct buf *form, const struct ec2_filter *filters, size_t n);

/*
 * A Describe action followed over nextToken (at most 1000 pages, one token
 * twice is ERR_PARSE): build(form, q, token) writes one page's form into an
 * empty form (token NULL on the first page), parse(xml, len, out, &next, e)
 * appends one page's answer to out.
 */
typedef int (*ec2_page_build)(struct buf *form, const void *q, const char *token);
typedef int (*ec2_page_parse)(const char *xml, size_t len, void *out, char **next, struct err *e);
int ec2_paged(struct aws_client *c, const char *action, ec2_page_build build, const void *q,
              ec2_page_parse parse, void *out, struct err *e);

#endif
