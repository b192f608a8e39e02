/*
 * Unit tests of aws/ec2: the DescribeInstances parser against the real
 * samples in $EBSSH_VECTORS/ec2 (botocore's with their expected JSON,
 * jclouds' checked by hand), crafted nesting, truncation, DOCTYPE and
 * entity attacks, and the paging loop of ec2_describe_instances.
 *
 * The loop runs against a fake aws_client_call defined here as a weak
 * symbol: a weak definition keeps the linker from pulling aws/client.o out
 * of the library, so the fake stays in use once client.c exists too.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "aws/client.h"
#include "aws/ec2.h"
#include "util/buf.h"

/* ---- the fake EC2 behind aws_client_call ---- */

#define FAKE_MAX_CALLS 1100

static struct {
	const char *const *pages; /* answer of call i (the last repeats); NULL: fail */
	size_t n_pages;
	int endless; /* answer every call with a fresh nextToken */
	int fail_rc; /* with pages[i] == NULL: this code */
	size_t calls;
	char *forms[FAKE_MAX_CALLS]; /* request bodies, owned */
	struct aws_call last;
} fake;

static void fake_reset(const char *const *pages, size_t n_pages)
{
	size_t i;

	for (i = 0; i < FAKE_MAX_CALLS; i++)
		free(fake.forms[i]);
	memset(&fake, 0, sizeof(fake));
	fake.pages = pages;
	fake.n_pages = n_pages;
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	size_t i = fake.calls;
	const char *page;
	char *form;

	(void)c;
	fake.last = *call;
	form = malloc(call->body_len + 1);
	if (!form)
		return err_set(e, ERR_NOMEM, "fake: out of memory");
	memcpy(form, call->body, call->body_len);
	form[call->body_len] = '\0';
	if (i < FAKE_MAX_CALLS)
		fake.forms[i] = form;
	else
		free(form);
	fake.calls++;
	buf_init(body, 0);
	if (fake.endless)
		return buf_appendf(body,
		                   "<DescribeInstancesResponse><nextToken>t%zu</nextToken>"
		                   "</DescribeInstancesResponse>",
		                   i);
	page = fake.pages[i < fake.n_pages ? i : fake.n_pages - 1];
	if (!page)
		return err_set_aws(e, fake.fail_rc, 503, "RequestLimitExceeded", "rid-1",
		                   "Request limit exceeded.");
	return buf_append_str(body, page);
}

/* ---- helpers ---- */

static char *vector_path(const char *name)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/ec2/%s", test_vectors_dir(), name);
	return path;
}

static int parse_file(const char *name, struct ec2_instance_list *list, char **token)
{
	size_t len = 0;
	char *xml = test_read_file(vector_path(name), &len);
	struct err e;
	int rc;

	if (!xml) {
		printf("# cannot read %s\n", vector_path(name));
		test_failed_case = 1;
		return -100;
	}
	rc = ec2_parse_describe_instances(xml, len, list, token, &e);
	if (rc)
		printf("# %s: %s\n", name, e.message);
	free(xml);
	return rc;
}

static int parse_str(const char *xml, struct ec2_instance_list *list, char **token, struct err *e)
{
	return ec2_parse_describe_instances(xml, strlen(xml), list, token, e);
}

static const struct ec2_instance *find(const struct ec2_instance_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].instance_id, id) == 0)
			return &l->items[i];
	printf("# instance %s not found\n", id);
	test_failed_case = 1;
	return NULL;
}

/* The launch times of the samples, converted by Python's calendar.timegm. */
static long long known_ms(const char *t)
{
	static const struct {
		const char *t;
		long long ms;
	} known[] = {
	    {"2012-10-16T20:00:13.000Z", 1350417613000LL},
	    {"2013-03-12T01:55:59.000Z", 1363053359000LL},
	    {"2011-08-16T13:40:50.000Z", 1313502050000LL},
	    {"2012-08-02T04:28:30.000Z", 1343881710000LL},
	    {"2012-08-01T04:28:30.000Z", 1343795310000LL},
	    {"2012-09-14T20:01:34.000Z", 1347652894000LL},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].t, t) == 0)
			return known[i].ms;
	return -1;
}

static const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Compares a parsed instance with botocore's expected JSON of it. */
static void check_against_json(const struct ec2_instance *in, json_t *want)
{
	json_t *tags = json_object_get(want, "Tags"), *tag;
	size_t i;

	CHECK_STR(in->instance_id, json_str(want, "InstanceId"));
	CHECK_STR(in->state, json_str(json_object_get(want, "State"), "Name"));
	CHECK_STR(in->public_ip, json_str(want, "PublicIpAddress"));
	CHECK_STR(in->private_ip, json_str(want, "PrivateIpAddress"));
	CHECK_STR(in->launch_time, json_str(want, "LaunchTime"));
	CHECK_INT(in->launch_time_ms, known_ms(json_str(want, "LaunchTime")));
	CHECK_STR(in->availability_zone,
	          json_str(json_object_get(want, "Placement"), "AvailabilityZone"));
	CHECK_INT(in->n_tags, json_array_size(tags));
	json_array_foreach(tags, i, tag)
	{
		if (i >= in->n_tags)
			break;
		CHECK_STR(in->tags[i].key, json_str(tag, "Key"));
		CHECK_STR(in->tags[i].value, json_str(tag, "Value"));
	}
}

/* ---- the samples ---- */

TEST_CASE(botocore_sample_matches_expected_json)
{
	struct ec2_instance_list list = {0};
	json_error_t jerr;
	json_t *root, *res, *insts, *inst;
	size_t i, j, k = 0;
	char *token = (char *)"unset";
	char path[1024];

	CHECK_INT(parse_file("botocore-responses-ec2-describe-instances.xml", &list, &token), 0);
	CHECK(token == NULL);
	snprintf(path, sizeof(path), "%s",
	         vector_path("botocore-responses-ec2-describe-instances.expected.json"));
	root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL);
	json_array_foreach(json_object_get(root, "Reservations"), i, res)
	{
		insts = json_object_get(res, "Instances");
		json_array_foreach(insts, j, inst)
		{
			if (k < list.n)
				check_against_json(&list.items[k], inst);
			k++;
		}
	}
	CHECK_INT(list.n, k);
	CHECK_INT(k, 2);
	/* the stopped one has no addresses at all, its tag an empty value */
	CHECK(list.n == 2 && list.items[0].public_ip == NULL && list.items[0].private_ip == NULL);
	CHECK(list.n == 2 && ec2_instance_tag(&list.items[0], "notebook") != NULL);
	json_decref(root);
	ec2_instance_list_free(&list);
	CHECK(list.items == NULL && list.n == 0);
}

/* Every ec2 XML sample: DescribeInstances answers parse, anything else is ERR_PARSE. */
static void check_vector_file(const char *name)
{
	struct ec2_instance_list list = {0};
	size_t len = 0, i;
	char *xml = test_read_file(vector_path(name), &len);
	char *token = NULL;
	struct err e;
	int rc;

	CHECK(xml != NULL);
	if (!xml)
		return;
	rc = ec2_parse_describe_instances(xml, len, &list, &token, &e);
	if (strstr(xml, "<DescribeInstancesResponse")) {
		CHECK_INT(rc, 0);
		for (i = 0; i < list.n; i++) {
			CHECK(list.items[i].instance_id != NULL);
			CHECK(strncmp(list.items[i].instance_id, "i-", 2) == 0);
			CHECK(list.items[i].launch_time_ms > 1200000000000LL);
		}
	} else {
		CHECK_INT(rc, ERR_PARSE);
		CHECK_INT(e.code, ERR_PARSE);
		CHECK_INT(list.n, 0);
	}
	CHECK(token == NULL);
	ec2_instance_list_free(&list);
	free(xml);
}

TEST_CASE(jclouds_latest)
{
	struct ec2_instance_list list = {0};
	const struct ec2_instance *a, *b;

	CHECK_INT(parse_file("jclouds-aws-ec2-describe_instances_latest.xml", &list, NULL), 0);
	CHECK_INT(list.n, 2);
	a = find(&list, "i-911444f0");
	b = find(&list, "i-931444f2");
	if (!a || !b)
		goto out;
	CHECK_STR(a->state, "running");
	CHECK_STR(a->public_ip, "174.129.173.155");
	CHECK_STR(a->private_ip, "10.212.81.7");
	CHECK_STR(a->availability_zone, "us-east-1c");
	CHECK_INT(a->launch_time_ms, 1313502050000LL);
	CHECK_INT(a->n_tags, 2);
	CHECK_STR(ec2_instance_tag(a, "Name"), "ec2-o");
	CHECK_STR(ec2_instance_tag(a, "Empty"), "");
	CHECK(ec2_instance_tag(a, "Missing") == NULL);
	CHECK_STR(b->public_ip, "50.19.207.248");
	CHECK_STR(b->private_ip, "10.212.185.8");
	CHECK_INT(b->n_tags, 0);
	CHECK(b->tags == NULL);
out:
	ec2_instance_list_free(&list);
}

TEST_CASE(jclouds_pending_multiple_named_empty)
{
	struct ec2_instance_list list = {0};
	const struct ec2_instance *a, *b;

	CHECK_INT(parse_file("jclouds-aws-ec2-describe_instances_pending.xml", &list, NULL), 0);
	CHECK_INT(list.n, 1);
	if (list.n == 1) {
		CHECK_STR(list.items[0].state, "pending");
		CHECK_STR(list.items[0].public_ip, "23.20.17.42");
		CHECK_STR(list.items[0].availability_zone, "us-east-1d");
		CHECK_INT(list.items[0].launch_time_ms, 1347652894000LL);
		CHECK_STR(ec2_instance_tag(&list.items[0], "Name"),
		          "4c858090-f66c-4225-aa57-6fcaa42198ae-32451248");
	}
	ec2_instance_list_free(&list);

	CHECK_INT(parse_file("jclouds-ec2-describe_instances_multiple.xml", &list, NULL), 0);
	CHECK_INT(list.n, 2);
	a = find(&list, "i-2baa5550");
	b = find(&list, "i-abcd1234");
	if (a && b) {
		CHECK_INT(a->launch_time_ms - b->launch_time_ms, 86400000LL);
		CHECK_STR(b->public_ip, "50.16.1.100");
		CHECK_STR(b->private_ip, "10.28.89.100");
		CHECK_STR(ec2_instance_tag(b, "Name"), "mygroup2-abcd1234");
	}
	ec2_instance_list_free(&list);

	CHECK_INT(parse_file("jclouds-ec2-describe_instances_running-named.xml", &list, NULL), 0);
	CHECK_INT(list.n, 3);
	if (list.n == 3) {
		CHECK_STR(ec2_instance_tag(&list.items[0], "Name"), "test-node");
		CHECK_STR(ec2_instance_tag(&list.items[1], "Name"), "second-node");
		CHECK_STR(ec2_instance_tag(&list.items[2], "Name"), "third-node");
		CHECK_STR(list.items[2].instance_id, "i-2be64332");
	}
	ec2_instance_list_free(&list);

	/* a reservation whose instancesSet is empty */
	CHECK_INT(parse_file("jclouds-ec2-describe_instances_empty.xml", &list, NULL), 0);
	CHECK_INT(list.n, 0);
	CHECK(list.items == NULL);
}

/*
 * jclouds' "latest" sample with a networkInterfaceSet (and other nested
 * sets) inserted right after the first instance's instanceId, so that every
 * nested look-alike comes BEFORE the instance's own fields. The original
 * stays as it is; only this in-memory copy changes.
 */
static const char nested_block[] =
    "<networkInterfaceSet><item>"
    "<networkInterfaceId>eni-1</networkInterfaceId>"
    "<privateIpAddress>10.9.9.9</privateIpAddress>"
    "<ipAddress>203.0.113.9</ipAddress>"
    "<association><publicIp>203.0.113.10</publicIp><ipAddress>203.0.113.11</ipAddress>"
    "</association>"
    "<attachment><status>attached</status><attachTime>2020-01-01T00:00:00.000Z</attachTime>"
    "</attachment>"
    "<instanceState><name>terminated</name></instanceState>"
    "<launchTime>1999-01-01T00:00:00.000Z</launchTime>"
    "<placement><availabilityZone>xx-nowhere-1z</availabilityZone></placement>"
    "<privateIpAddressesSet><item><privateIpAddress>10.9.9.8</privateIpAddress>"
    "<primary>true</primary><association><ipAddress>203.0.113.12</ipAddress></association>"
    "</item></privateIpAddressesSet>"
    "<tagSet><item><key>Name</key><value>the-interface</value></item></tagSet>"
    "<groupSet><item><groupId>sg-1</groupId><groupName>name</groupName></item></groupSet>"
    "<instanceId>i-evil</instanceId>"
    "</item></networkInterfaceSet>"
    "<blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs>"
    "<volumeId>vol-1</volumeId><tagSet><item><key>Name</key><value>the-volume</value></item>"
    "</tagSet></ebs></item></blockDeviceMapping>"
    "<name>not-a-state</name><availabilityZone>not-placement</availabilityZone>"
    "<key>Name</key><value>not-a-tag</value>";

TEST_CASE(nested_lookalikes_before_own_fields_do_not_count)
{
	struct ec2_instance_list list = {0};
	const char *anchor = "<instanceId>i-911444f0</instanceId>";
	size_t len = 0, head;
	char *orig =
	    test_read_file(vector_path("jclouds-aws-ec2-describe_instances_latest.xml"), &len);
	char *xml, *at;
	const struct ec2_instance *a;
	struct err e;

	CHECK(orig != NULL);
	if (!orig)
		return;
	at = strstr(orig, anchor);
	CHECK(at != NULL);
	xml = malloc(len + sizeof(nested_block));
	if (!at || !xml) {
		free(orig);
		free(xml);
		return;
	}
	head = (size_t)(at - orig) + strlen(anchor);
	memcpy(xml, orig, head);
	memcpy(xml + head, nested_block, sizeof(nested_block) - 1);
	memcpy(xml + head + sizeof(nested_block) - 1, orig + head, len - head + 1);
	CHECK_INT(ec2_parse_describe_instances(xml, strlen(xml), &list, NULL, &e), 0);
	CHECK_INT(list.n, 2);
	a = list.n ? &list.items[0] : NULL;
	if (a) {
		CHECK_STR(a->instance_id, "i-911444f0");
		CHECK_STR(a->public_ip, "174.129.173.155");
		CHECK_STR(a->private_ip, "10.212.81.7");
		CHECK_STR(a->state, "running");
		CHECK_STR(a->launch_time, "2011-08-16T13:40:50.000Z");
		CHECK_STR(a->availability_zone, "us-east-1c");
		CHECK_INT(a->n_tags, 2);
		CHECK_STR(ec2_instance_tag(a, "Name"), "ec2-o");
	}
	ec2_instance_list_free(&list);
	free(xml);
	free(orig);
}

TEST_CASE(crafted_nested_only_addresses_stay_out)
{
	/* an instance whose only addresses are its interface's: it has none of its own */
	static const char xml[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
	    "<requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId>"
	    "<groupSet><item><groupId>sg-1</groupId></item></groupSet>"
	    "<instancesSet><item>"
	    "<networkInterfaceSet><item><privateIpAddress>10.1.1.1</privateIpAddress>"
	    "<association><ipAddress>198.51.100.1</ipAddress></association>"
	    "<ipAddress>198.51.100.2</ipAddress></item></networkInterfaceSet>"
	    "<instanceId>i-0123456789abcdef0</instanceId>"
	    "<instanceState><code>16</code><name>running</name></instanceState>"
	    "<launchTime>2024-02-29T23:59:59Z</launchTime>"
	    "<someOtherSet><item><instanceId>i-nested</instanceId>"
	    "<ipAddress>198.51.100.3</ipAddress></item></someOtherSet>"
	    "</item><item><instanceId>i-second</instanceId>"
	    "<privateIpAddress>10.1.1.2</privateIpAddress>"
	    "<tagSet><item><key>k</key></item><item><value>no-key</value></item>"
	    "<item><key>a&amp;b</key><value>&#65;&lt;</value></item></tagSet>"
	    "</item></instancesSet></item></reservationSet>"
	    "</DescribeInstancesResponse>";
	struct ec2_instance_list list = {0};
	struct err e;

	CHECK_INT(parse_str(xml, &list, NULL, &e), 0);
	CHECK_INT(list.n, 2);
	if (list.n == 2) {
		CHECK_STR(list.items[0].instance_id, "i-0123456789abcdef0");
		CHECK(list.items[0].public_ip == NULL);
		CHECK(list.items[0].private_ip == NULL);
		CHECK_STR(list.items[0].state, "running");
		CHECK_INT(list.items[0].launch_time_ms, 1709251199000LL);
		CHECK(list.items[0].state && list.items[0].availability_zone == NULL);
		CHECK_STR(list.items[1].instance_id, "i-second");
		CHECK(list.items[1].public_ip == NULL);
		CHECK_STR(list.items[1].private_ip, "10.1.1.2");
		CHECK(list.items[1].state == NULL);
		CHECK_INT(list.items[1].launch_time_ms, 0);
		/* the keyless tag is dropped; entities and char refs decode */
		CHECK_INT(list.items[1].n_tags, 2);
		CHECK_STR(ec2_instance_tag(&list.items[1], "k"), "");
		CHECK_STR(ec2_instance_tag(&list.items[1], "a&b"), "A<");
	}
	ec2_instance_list_free(&list);
}

TEST_CASE(next_token_only_at_top_level)
{
	struct ec2_instance_list list = {0};
	char *token = NULL;
	struct err e;

	CHECK_INT(parse_str("<DescribeInstancesResponse><reservationSet/>"
	                    "<nextToken>abc/+=</nextToken></DescribeInstancesResponse>",
	                    &list, &token, &e),
	          0);
	CHECK_STR(token, "abc/+=");
	free(token);
	token = (char *)"unset";
	CHECK_INT(parse_str("<DescribeInstancesResponse><reservationSet><nextToken>in-set"
	                    "</nextToken><item><nextToken>in-res</nextToken><instancesSet><item>"
	                    "<instanceId>i-1</instanceId><nextToken>in-inst</nextToken></item>"
	                    "</instancesSet></item></reservationSet><x><nextToken>deep</nextToken>"
	                    "</x></DescribeInstancesResponse>",
	                    &list, &token, &e),
	          0);
	CHECK(token == NULL);
	CHECK_INT(list.n, 1);
	CHECK_INT(parse_str("<DescribeInstancesResponse><nextToken/></DescribeInstancesResponse>",
	                    &list, &token, &e),
	          0);
	CHECK(token == NULL);
	/* a prefixed root and names, the token before the reservations */
	CHECK_INT(parse_str("<ec2:DescribeInstancesResponse xmlns:ec2=\"urn:x\"><ec2:nextToken>t"
	                    "</ec2:nextToken><ec2:reservationSet><ec2:item><ec2:instancesSet>"
	                    "<ec2:item><ec2:instanceId>i-2</ec2:instanceId></ec2:item>"
	                    "</ec2:instancesSet></ec2:item></ec2:reservationSet>"
	                    "</ec2:DescribeInstancesResponse>",
	                    &list, &token, &e),
	          0);
	CHECK_STR(token, "t");
	CHECK_INT(list.n, 2); /* appended to the first page */
	if (list.n == 2)
		CHECK_STR(list.items[1].instance_id, "i-2");
	free(token);
	ec2_instance_list_free(&list);
}

/*
 * Every prefix of every sample is ERR_PARSE, or parses cleanly when it
 * holds the whole root element of a DescribeInstances answer (other answers
 * are ERR_PARSE whole too); *out is never touched by a failure.
 */
static const char earlier_page[] =
    "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
    "<instanceId>i-earlier</instanceId></item></instancesSet></item></reservationSet>"
    "</DescribeInstancesResponse>";

static void check_prefixes(const char *name)
{
	struct ec2_instance_list list = {0}, before = {0};
	size_t len = 0, cut, whole, failures = 0;
	char *xml = test_read_file(vector_path(name), &len);
	const char *end;
	char *token;
	struct err e;
	int rc;

	CHECK(xml != NULL);
	if (!xml)
		return;
	end = strstr(xml, "</DescribeInstancesResponse>");
	whole = end ? (size_t)(end - xml) + strlen("</DescribeInstancesResponse>") : len + 1;
	CHECK_INT(parse_str(earlier_page, &before, NULL, &e), 0);
	for (cut = 0; cut <= len; cut++) {
		list = before;
		token = NULL;
		rc = ec2_parse_describe_instances(xml, cut, &list, &token, &e);
		if (cut >= whole ? rc != 0
		                 : rc != ERR_PARSE || e.code != ERR_PARSE || list.n != 1 ||
		                       list.items != before.items || token != NULL) {
			if (failures++ < 3)
				printf("# %s cut at %zu: rc %d (%s)\n", name, cut, rc, e.message);
			test_failed_case = 1;
		}
		if (rc == 0) {
			ec2_instance_list_free(&list); /* before's items went with it */
			free(token);
			memset(&before, 0, sizeof(before));
			CHECK_INT(parse_str(earlier_page, &before, NULL, &e), 0);
		}
	}
	ec2_instance_list_free(&before);
	free(xml);
}

TEST_CASE(doctype_and_entities_are_refused)
{
	static const char *const bad[] = {
	    /* billion laughs */
	    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
	    "<DescribeInstancesResponse><nextToken>&lol3;</nextToken>"
	    "</DescribeInstancesResponse>",
	    /* external entity */
	    "<!DOCTYPE DescribeInstancesResponse [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<DescribeInstancesResponse><nextToken>&x;</nextToken></DescribeInstancesResponse>",
	    /* a bare DOCTYPE, an external DTD */
	    "<!DOCTYPE DescribeInstancesResponse>"
	    "<DescribeInstancesResponse></DescribeInstancesResponse>",
	    "<!DOCTYPE DescribeInstancesResponse SYSTEM \"http://127.0.0.1:1/x.dtd\">"
	    "<DescribeInstancesResponse></DescribeInstancesResponse>",
	    /* an undeclared entity */
	    "<DescribeInstancesResponse><nextToken>&foo;</nextToken>"
	    "</DescribeInstancesResponse>",
	};
	struct ec2_instance_list list = {0};
	char *token;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		token = NULL;
		CHECK_INT(parse_str(bad[i], &list, &token, &e), ERR_PARSE);
		CHECK(token == NULL);
		CHECK_INT(list.n, 0);
	}
}

TEST_CASE(not_a_describe_instances_answer)
{
	struct ec2_instance_list list = {0};
	struct err e;

	CHECK_INT(ec2_parse_describe_instances("", 0, &list, NULL, &e), ERR_PARSE);
	CHECK_INT(ec2_parse_describe_instances(NULL, 0, &list, NULL, &e), ERR_PARSE);
	CHECK_INT(parse_str("<Response><Errors><Error><Code>AuthFailure</Code></Error></Errors>"
	                    "</Response>",
	                    &list, NULL, &e),
	          ERR_PARSE);
	CHECK(strstr(e.message, "<Response>") != NULL);
	CHECK_INT(parse_str("<R\xc3\xa9ponse/>", &list, NULL, &e), ERR_PARSE);
	CHECK(strstr(e.message, "<R??ponse>") != NULL);
	CHECK_INT(parse_str("<DescribeInstancesResponse/><x/>", &list, NULL, &e), ERR_PARSE);
	/* an instance without an id */
	CHECK_INT(parse_str("<DescribeInstancesResponse><reservationSet><item><instancesSet>"
	                    "<item><ipAddress>1.2.3.4</ipAddress></item></instancesSet></item>"
	                    "</reservationSet></DescribeInstancesResponse>",
	                    &list, NULL, &e),
	          ERR_PARSE);
	CHECK_INT(parse_str("<DescribeInstancesResponse><reservationSet><item><instancesSet>"
	                    "<item><instanceId></instanceId></item></instancesSet></item>"
	                    "</reservationSet></DescribeInstancesResponse>",
	                    &list, NULL, &e),
	          ERR_PARSE);
	CHECK_INT(list.n, 0);
	CHECK_INT(ec2_parse_describe_instances("<x/>", 4, NULL, NULL, &e), ERR_INVALID);
	CHECK_INT(parse_str("<DescribeInstancesResponse/>", &list, NULL, NULL), 0);
	CHECK_INT(parse_str("<DescribeInstancesResponse>", &list, NULL, NULL), ERR_PARSE);
}

static char *field_doc(size_t n, const char *where)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_append_str(&b, "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
	                   "<instanceId>i-1</instanceId>");
	buf_appendf(&b, "<%s>", where);
	for (i = 0; i < n; i++)
		buf_append(&b, "x", 1);
	buf_appendf(&b, "</%s>", where);
	buf_append_str(&b, "</item></instancesSet></item></reservationSet>"
	                   "</DescribeInstancesResponse>");
	return buf_take(&b);
}

TEST_CASE(text_fields_are_bounded)
{
	struct ec2_instance_list list = {0};
	struct err e;
	char *doc;

	doc = field_doc(4096, "launchTime");
	CHECK_INT(parse_str(doc, &list, NULL, &e), 0);
	CHECK(list.n == 1 && strlen(list.items[0].launch_time) == 4096);
	ec2_instance_list_free(&list);
	free(doc);
	doc = field_doc(4097, "launchTime");
	CHECK_INT(parse_str(doc, &list, NULL, &e), ERR_PARSE);
	CHECK(strstr(e.message, "4096") != NULL);
	CHECK_INT(list.n, 0);
	free(doc);
	/* long text where nothing is collected is fine */
	doc = field_doc(100000, "reason");
	CHECK_INT(parse_str(doc, &list, NULL, &e), 0);
	CHECK_INT(list.n, 1);
	ec2_instance_list_free(&list);
	free(doc);
}

/* The interfaces and volumes are cut out before expat reads the answer
 * (aws/xml.h): what is inside them is neither kept nor read, and the same
 * answer with a comment in it (read whole) gives the same instance. */
TEST_CASE(interfaces_are_not_read)
{
	static const char *const docs[] = {
	    "<DescribeInstancesResponse><reservationSet><item><groupSet><item><groupId>sg-1</"
	    "groupId>"
	    "</item></groupSet><instancesSet><item><instanceId>i-1</instanceId>"
	    "<networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress>"
	    "<association><ipAddress>9.9.9.9</ipAddress></association>%s</item>"
	    "</networkInterfaceSet><privateIpAddress>10.0.0.1</privateIpAddress>"
	    "<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName></item>"
	    "</blockDeviceMapping><ipAddress>3.3.3.3</ipAddress>%s</item></instancesSet></item>"
	    "</reservationSet></DescribeInstancesResponse>"};
	struct ec2_instance_list list = {0};
	struct err e;
	char doc[1024];

	snprintf(doc, sizeof(doc), docs[0], "", "");
	CHECK_INT(parse_str(doc, &list, NULL, &e), 0);
	CHECK(list.n == 1 && strcmp(list.items[0].private_ip, "10.0.0.1") == 0 &&
	      strcmp(list.items[0].public_ip, "3.3.3.3") == 0);
	ec2_instance_list_free(&list);
	/* a broken inside that expat never reads */
	snprintf(doc, sizeof(doc), docs[0], "<broken></nope>", "");
	CHECK_INT(parse_str(doc, &list, NULL, &e), 0);
	CHECK(list.n == 1 && strcmp(list.items[0].private_ip, "10.0.0.1") == 0);
	ec2_instance_list_free(&list);
	/* with a comment the whole answer is read, and the broken inside fails it */
	snprintf(doc, sizeof(doc), docs[0], "<broken></nope>", "<!-- c -->");
	CHECK_INT(parse_str(doc, &list, NULL, &e), ERR_PARSE);
	CHECK_INT(list.n, 0);
	snprintf(doc, sizeof(doc), docs[0], "", "<!-- c -->");
	CHECK_INT(parse_str(doc, &list, NULL, &e), 0);
	CHECK(list.n == 1 && strcmp(list.items[0].private_ip, "10.0.0.1") == 0 &&
	      strcmp(list.items[0].public_ip, "3.3.3.3") == 0);
	ec2_instance_list_free(&list);
}

static int64_t launch_ms(const char *t)
{
	struct ec2_instance_list list = {0};
	struct buf b;
	int64_t ms = -1;

	buf_init(&b, 0);
	buf_appendf(&b,
	            "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
	            "<instanceId>i-1</instanceId><launchTime>%s</launchTime></item></instancesSet>"
	            "</item></reservationSet></DescribeInstancesResponse>",
	            t);
	if (parse_str(buf_str(&b), &list, NULL, NULL) == 0 && list.n == 1) {
		ms = list.items[0].launch_time_ms;
		if (strcmp(list.items[0].launch_time, t) != 0)
			ms = -2; /* the text is always kept as written */
	}
	ec2_instance_list_free(&list);
	buf_free(&b);
	return ms;
}

TEST_CASE(launch_time_to_ms)
{
	CHECK_INT(launch_ms("2012-10-16T20:00:13.000Z"), 1350417613000LL);
	CHECK_INT(launch_ms("2012-10-16T20:00:13Z"), 1350417613000LL);
	CHECK_INT(launch_ms("2012-10-16T20:00:13.5Z"), 1350417613500LL);
	CHECK_INT(launch_ms("2012-10-16T20:00:13.123456789Z"), 1350417613123LL);
	CHECK_INT(launch_ms("2016-02-29T00:00:00Z"), 1456704000000LL);
	CHECK_INT(launch_ms("1970-01-01T00:00:00Z"), 0);
	/* malformed: kept as text, 0 ms */
	CHECK_INT(launch_ms("2015-02-29T00:00:00Z"), 0);
	CHECK_INT(launch_ms("2012-13-16T20:00:13Z"), 0);
	CHECK_INT(launch_ms("2012-10-16 20:00:13Z"), 0);
	CHECK_INT(launch_ms("2012-10-16T20:00:13"), 0);
	CHECK_INT(launch_ms("2012-10-16T20:00:13.Z"), 0);
	CHECK_INT(launch_ms("2012-10-16T20:00:13+01:00"), 0);
	CHECK_INT(launch_ms("2012-10-16T24:00:00Z"), 0);
	CHECK_INT(launch_ms("1969-12-31T23:59:59Z"), 0);
	CHECK_INT(launch_ms("+012-10-16T20:00:13Z"), 0);
	CHECK_INT(launch_ms(""), 0);
}

/* ---- ec2_describe_instances over the fake ---- */

static const char *const tag_values[] = {"my-env"};
static const char *const state_values[] = {"running", "pending"};
static const struct ec2_filter env_filters[] = {
    {"tag:elasticbeanstalk:environment-name", tag_values, 1},
    {"instance-state-name", state_values, 2},
};

#define PAGE(id, token)                                                                            \
	"<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"           \
	"<reservationSet><item><instancesSet><item><instanceId>" id "</instanceId></item>"         \
	"</instancesSet></item></reservationSet>" token "</DescribeInstancesResponse>"

TEST_CASE(describe_follows_next_token)
{
	static const char *const pages[] = {
	    PAGE("i-1", "<nextToken>tok 1</nextToken>"),
	    "<DescribeInstancesResponse><nextToken>tok2</nextToken></DescribeInstancesResponse>",
	    PAGE("i-3", ""),
	};
	struct ec2_instance_list list = {0};
	struct err e;

	fake_reset(pages, 3);
	CHECK_INT(ec2_describe_instances(NULL, env_filters, 2, &list, &e), 0);
	CHECK_INT(fake.calls, 3);
	CHECK_INT(list.n, 2);
	if (list.n == 2) {
		CHECK_STR(list.items[0].instance_id, "i-1");
		CHECK_STR(list.items[1].instance_id, "i-3");
	}
	CHECK_STR(fake.forms[0],
	          "Action=DescribeInstances&Version=2016-11-15"
	          "&Filter.1.Name=tag%3Aelasticbeanstalk%3Aenvironment-name&Filter.1.Value.1=my-env"
	          "&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
	          "&Filter.2.Value.2=pending&MaxResults=1000");
	CHECK_STR(fake.forms[1],
	          "Action=DescribeInstances&Version=2016-11-15"
	          "&Filter.1.Name=tag%3Aelasticbeanstalk%3Aenvironment-name&Filter.1.Value.1=my-env"
	          "&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
	          "&Filter.2.Value.2=pending&MaxResults=1000&NextToken=tok%201");
	CHECK(fake.forms[2] && strstr(fake.forms[2], "&NextToken=tok2") != NULL);
	CHECK_STR(fake.last.service, "ec2");
	CHECK_STR(fake.last.endpoint_id, "EC2");
	CHECK_STR(fake.last.endpoint_prefix, "ec2");
	CHECK_INT(fake.last.protocol, AWS_PROTOCOL_QUERY);
	CHECK_STR(fake.last.method, "POST");
	CHECK_STR(fake.last.path, "/");
	CHECK(fake.last.query == NULL && fake.last.target == NULL);
	CHECK_STR(fake.last.content_type, "application/x-www-form-urlencoded; charset=utf-8");
	ec2_instance_list_free(&list);
	fake_reset(NULL, 0);
}

TEST_CASE(describe_by_instance_id_sends_no_max_results)
{
	static const char *const ids[] = {"i-1", "i-2"};
	static const struct ec2_filter f[] = {{"instance-id", ids, 2}};
	static const char *const pages[] = {PAGE("i-1", "")};
	struct ec2_instance_list list = {0};
	struct err e;

	fake_reset(pages, 1);
	CHECK_INT(ec2_describe_instances(NULL, f, 1, &list, &e), 0);
	CHECK_STR(fake.forms[0], "Action=DescribeInstances&Version=2016-11-15"
	                         "&Filter.1.Name=instance-id&Filter.1.Value.1=i-1"
	                         "&Filter.1.Value.2=i-2");
	CHECK_INT(list.n, 1);
	ec2_instance_list_free(&list);
	/* no filters at all */
	fake_reset(pages, 1);
	CHECK_INT(ec2_describe_instances(NULL, NULL, 0, &list, &e), 0);
	CHECK_STR(fake.forms[0], "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000");
	ec2_instance_list_free(&list);
	fake_reset(NULL, 0);
}

TEST_CASE(describe_errors_leave_the_list_alone)
{
	static const char *const fail_second[] = {PAGE("i-1", "<nextToken>a</nextToken>"), NULL};
	static const char *const bad_second[] = {PAGE("i-1", "<nextToken>a</nextToken>"),
	                                         "<DescribeInstancesResponse><reservationSet>"};
	static const char *const same_token[] = {PAGE("i-1", "<nextToken>a</nextToken>")};
	static const char *const nulls[] = {NULL};
	static const struct ec2_filter bad_filter[] = {{"instance-id", nulls, 1}};
	static const struct ec2_filter no_name[] = {{"", tag_values, 1}};
	struct ec2_instance_list list = {0};
	struct err e;

	fake_reset(fail_second, 2);
	fake.fail_rc = ERR_THROTTLED;
	CHECK_INT(ec2_describe_instances(NULL, env_filters, 2, &list, &e), ERR_THROTTLED);
	CHECK_STR(e.aws_code, "RequestLimitExceeded");
	CHECK_STR(e.request_id, "rid-1");
	CHECK_INT(e.http_status, 503);
	CHECK_INT(list.n, 0);
	CHECK(list.items == NULL);

	fake_reset(bad_second, 2);
	CHECK_INT(ec2_describe_instances(NULL, env_filters, 2, &list, &e), ERR_PARSE);
	CHECK_INT(list.n, 0);

	fake_reset(same_token, 1);
	CHECK_INT(ec2_describe_instances(NULL, env_filters, 2, &list, &e), ERR_PARSE);
	CHECK_INT(fake.calls, 2);
	CHECK(strstr(e.message, "nextToken") != NULL);
	CHECK_INT(list.n, 0);

	fake_reset(NULL, 0);
	fake.endless = 1;
	CHECK_INT(ec2_describe_instances(NULL, env_filters, 2, &list, &e), ERR_TOO_LARGE);
	CHECK_INT(fake.calls, 1000);
	CHECK_INT(list.n, 0);

	fake_reset(NULL, 0);
	CHECK_INT(ec2_describe_instances(NULL, bad_filter, 1, &list, &e), ERR_INVALID);
	CHECK_INT(ec2_describe_instances(NULL, no_name, 1, &list, &e), ERR_INVALID);
	CHECK_INT(ec2_describe_instances(NULL, NULL, 1, &list, &e), ERR_INVALID);
	CHECK_INT(fake.calls, 0);
}

int main(void)
{
	size_t n = 0, i;
	char **names = test_list_vectors("ec2", ".xml", &n), label[512];

	RUN(botocore_sample_matches_expected_json);
	RUN_NAMED("vectors found", CHECK(n >= 10));
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "parses or refuses %s", names[i]);
		RUN_NAMED(label, check_vector_file(names[i]));
	}
	for (i = 0; i < n; i++) {
		snprintf(label, sizeof(label), "every prefix of %s", names[i]);
		RUN_NAMED(label, check_prefixes(names[i]));
		free(names[i]);
	}
	free(names);
	RUN(jclouds_latest);
	RUN(jclouds_pending_multiple_named_empty);
	RUN(nested_lookalikes_before_own_fields_do_not_count);
	RUN(crafted_nested_only_addresses_stay_out);
	RUN(next_token_only_at_top_level);
	RUN(doctype_and_entities_are_refused);
	RUN(not_a_describe_instances_answer);
	RUN(text_fields_are_bounded);
	RUN(launch_time_to_ms);
	RUN(describe_follows_next_token);
	RUN(describe_by_instance_id_sends_no_max_results);
	RUN(describe_errors_leave_the_list_alone);
	RUN(interfaces_are_not_read);
	return TEST_DONE();
}
