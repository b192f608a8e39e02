/*
 * ec2_images: the EC2 Query API calls of AMI backups — CreateImage,
 * DescribeImages, DeregisterImage, DescribeSnapshots, DeleteSnapshot and
 * CreateTags — and expat parsers of their answers into plain structs.
 *
 * Like ec2.h, the parsers track where in the tree they stand: an image's
 * tagSet and its blockDeviceMapping/item/ebs/snapshotId count, look-alikes
 * nested elsewhere (productCodes, stateReason, a volume's tags) do not. No
 * DOCTYPE, no entity declarations, a bound on every text field. The list
 * calls follow nextToken to the end (MaxResults 1000 a page).
 */
#ifndef EBSSH_AWS_EC2_IMAGES_H
#define EBSSH_AWS_EC2_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "ec2.h"

struct aws_client;

/* A tag to send (borrowed strings). */
struct ec2_kv {
	const char *key;
	const char *value;
};

struct ec2_block_device {
	char *device_name; /* owned; NULL when absent */
	char *snapshot_id; /* ebs/snapshotId; owned; NULL for instance store or no device */
};

struct ec2_image {
	char *image_id;       /* owned; never NULL in a parsed list */
	char *name;           /* owned; NULL when absent */
	char *state;          /* imageState: "pending", "available", ...; NULL when absent */
	char *creation_date;  /* as EC2 wrote it; NULL when absent */
	int64_t creation_ms;  /* the same in ms since the epoch; 0 when absent or malformed */
	char *owner_id;       /* imageOwnerId; NULL when absent */
	char *description;    /* NULL when absent */
	struct ec2_tag *tags; /* the image's own tagSet, in document order */
	size_t n_tags;
	struct ec2_block_device *devices; /* blockDeviceMapping items, in order */
	size_t n_devices;
};

struct ec2_image_list {
	struct ec2_image *items; /* owned */
	size_t n;
};

struct ec2_snapshot {
	char *snapshot_id; /* owned; never NULL in a parsed list */
	char *volume_id;   /* NULL when absent (and for all below) */
	char *state;       /* status: "pending", "completed", "error", ... */
	char *start_time;  /* as EC2 wrote it */
	int64_t start_ms;  /* the same in ms since the epoch; 0 when absent or malformed */
	char *progress;    /* "100%" */
	char *owner_id;
	char *description;
	int64_t volume_size; /* GiB; -1 when absent or not a number */
	struct ec2_tag *tags;
	size_t n_tags;
};

struct ec2_snapshot_list {
	struct ec2_snapshot *items; /* owned */
	size_t n;
};

/* What to list: every part optional (n = 0). */
struct ec2_image_query {
	const char *const *owners; /* Owner.N: "self", an account id, "amazon" */
	size_t n_owners;
	const char *const *image_ids; /* ImageId.N (then no MaxResults, as EC2 wants) */
	size_t n_image_ids;
	const struct ec2_filter *filters; /* Filter.N.Name / .Value.M */
	size_t n_filters;
	int include_disabled; /* IncludeDisabled=true: disabled images too (state "disabled") */
};

struct ec2_snapshot_query {
	const char *const *owners; /* Owner.N */
	size_t n_owners;
	const char *const *snapshot_ids; /* SnapshotId.N (then no MaxResults) */
	size_t n_snapshot_ids;
	const struct ec2_filter *filters;
	size_t n_filters;
};

struct ec2_create_image_req {
	const char *instance_id;
	const char *name;                /* 3..128 of EC2's AMI name characters; see ec2_ami_name */
	const char *description;         /* or NULL */
	int no_reboot;                   /* NoReboot=true when set, else NoReboot=false */
	const struct ec2_kv *image_tags; /* TagSpecification ResourceType=image */
	size_t n_image_tags;
	const struct ec2_kv *snapshot_tags; /* TagSpecification ResourceType=snapshot */
	size_t n_snapshot_tags;
};

#define EC2_AMI_NAME_MIN 3
#define EC2_AMI_NAME_MAX 128

void ec2_image_list_free(struct ec2_image_list *list);
void ec2_snapshot_list_free(struct ec2_snapshot_list *list);

/*
 * Writes into out (cap bytes, cap > EC2_AMI_NAME_MAX) a valid AMI name made
 * of base and suffix: every byte of base outside A-Z a-z 0-9 ( ) [ ] space
 * . / - ' @ _ becomes '_' (one '_' for a whole UTF-8 sequence), base is cut
 * so that base + suffix fit 128 bytes, and the result padded with '_' to 3.
 * suffix must consist of allowed characters and be shorter than 126 bytes.
 * ERR_INVALID otherwise.
 */
int ec2_ami_name(char *out, size_t cap, const char *base, const char *suffix, struct err *e);

/*
 * Parsers of one answer each. The list parsers append to *out (zeroed or
 * holding earlier pages) and give the page's nextToken (owned) or NULL.
 * ERR_PARSE on malformed or truncated XML, an answer of another operation,
 * an item without its id, or <return>false</return>.
 */
int ec2_parse_describe_images(const char *xml, size_t len, struct ec2_image_list *out,
                              char **next_token, struct err *e);
int ec2_parse_describe_snapshots(const char *xml, size_t len, struct ec2_snapshot_list *out,
                                 char **next_token, struct err *e);
/* CreateImageResponse: *image_id (owned) receives the new AMI's id. */
int ec2_parse_create_image(const char *xml, size_t len, char **image_id, struct err *e);
/* An answer <ActionResponse> with an optional <return>true</return>
 * (DeregisterImage, DeleteSnapshot, CreateTags). */
int ec2_parse_return(const char *action, const char *xml, size_t len, struct err *e);

/*
 * The calls. Errors as aws_client_call gives them: ERR_AWS with AWS's code
 * ("InvalidAMIName.Duplicate", "InvalidSnapshot.InUse", ...) in e->aws_code.
 */
int ec2_create_image(struct aws_client *c, const struct ec2_create_image_req *req, char **image_id,
                     struct err *e);
int ec2_describe_images(struct aws_client *c, const struct ec2_image_query *q,
                        struct ec2_image_list *out, struct err *e);
int ec2_describe_snapshots(struct aws_client *c, const struct ec2_snapshot_query *q,
                           struct ec2_snapshot_list *out, struct err *e);
int ec2_deregister_image(struct aws_client *c, const char *image_id, struct err *e);
int ec2_delete_snapshot(struct aws_client *c, const char *snapshot_id, struct err *e);
int ec2_create_tags(struct aws_client *c, const char *const *resource_ids, size_t n_ids,
                    const struct ec2_kv *tags, size_t n_tags, struct err *e);

#endif
