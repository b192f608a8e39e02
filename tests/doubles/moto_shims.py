"""What real AWS does and moto 5.2.1 does not, where ebssh relies on it.

apply() monkeypatches moto's backend and response classes in this process;
tests/doubles/moto_server.py calls it before it serves. Each shim below cites
the AWS documentation of the behaviour it adds. The shims fill gaps in the
test's AWS, never in the product: ebssh's C code is not changed to suit moto.

    gap in moto 5.2.1                                   shim
    CreateImage: a "snapshot" TagSpecification raises   tag_image_snapshots
      NotImplementedError
    CreateImage: a name in use is not refused           refuse_duplicate_image_names
    DescribeImages: no block-device-mapping.snapshot-id  filter_images_by_snapshot
      filter (FilterNotImplementedError, a 500)
    DescribeSnapshots: OwnerIds is ignored              filter_snapshots_by_owner
    CopyImage: CopyImageTags is ignored                 copy_image_tags
    Lambda: GetAccountSettings is not routed (404)      lambda_account_settings

apply() is idempotent and checks that moto is the version the shims were
written against: another moto may have filled (or moved) what they patch.
"""

import fnmatch
import json

MOTO_VERSION = "5.2.1"

# Lambda's quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# function and layer storage 75 GB, deployment package 50 MB zipped and
# 250 MB unzipped, 1,000 concurrent executions. The same numbers are the
# example answer of GetAccountSettings in the Lambda API Reference.
LAMBDA_TOTAL_CODE_SIZE = 80530636800
LAMBDA_CODE_SIZE_ZIPPED = 52428800
LAMBDA_CODE_SIZE_UNZIPPED = 262144000
LAMBDA_CONCURRENT_EXECUTIONS = 1000

_applied = False


def tag_image_snapshots():
    """CreateImage applies the TagSpecifications of ResourceType "snapshot"
    to every snapshot the image is made of.

    EC2 API Reference, CreateImage, TagSpecification.N
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html):
    "To tag the snapshots that are created of the root volume and of other
    Amazon EBS volumes that are attached to the instance, the value for
    ResourceType must be snapshot. The same tag is applied to all of the
    snapshots that are created." moto 5.2.1 raises NotImplementedError.
    """
    from moto.ec2.models.amis import AmiBackend

    original = AmiBackend.create_image

    def create_image(self, instance_id, name, description, tag_specifications):
        for_image = [s for s in tag_specifications if s.get("ResourceType") != "snapshot"]
        snapshot_tags = [
            tag for s in tag_specifications if s.get("ResourceType") == "snapshot" for tag in s.get("Tags", [])
        ]
        ami = original(self, instance_id, name, description, for_image)
        for mapping in ami.block_device_mappings:
            snapshot = self.snapshots.get(mapping["Ebs"]["SnapshotId"])
            for tag in snapshot_tags:
                snapshot.add_tag(tag["Key"], tag["Value"])
        return ami

    AmiBackend.create_image = create_image


def refuse_duplicate_image_names():
    """CreateImage refuses a name that an image of the account already has
    in the region: InvalidAMIName.Duplicate (400).

    EC2 API Reference, Error codes
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
    InvalidAMIName.Duplicate: "The specified AMI name is already in use by
    another AMI. If you have recently deregistered an AMI with the same
    name, allow enough time for the change to propagate through the system,
    and retry your request." moto 5.2.1 makes a second image of the name.
    A deregistered image frees its name here at once (moto forgets it).
    """
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.amis import AmiBackend

    original = AmiBackend.create_image

    def create_image(self, instance_id, name, description, tag_specifications):
        for ami in list(self.amis.values()):
            if ami.name == name and ami.owner_id == self.account_id:
                raise EC2ClientError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}")
        return original(self, instance_id, name, description, tag_specifications)

    AmiBackend.create_image = create_image


def filter_images_by_snapshot():
    """DescribeImages takes the filter block-device-mapping.snapshot-id: the
    images one of whose block device mappings uses one of the given
    snapshots (values may hold * and ? wildcards, as every EC2 filter).

    EC2 API Reference, DescribeImages, Filter.N
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImages.html):
    "block-device-mapping.snapshot-id - The ID of the snapshot used for the
    Amazon EBS volume." moto 5.2.1 raises FilterNotImplementedError (a 500).
    """
    from moto.ec2.models.amis import AmiBackend

    key = "block-device-mapping.snapshot-id"
    original = AmiBackend.describe_images

    def describe_images(self, ami_ids=None, filters=None, exec_users=None, owners=None):
        wanted = None
        if filters and key in filters:
            filters = dict(filters)
            wanted = filters.pop(key)
        images = original(self, ami_ids=ami_ids, filters=filters or None, exec_users=exec_users, owners=owners)
        if wanted is None:
            return images
        return [
            ami
            for ami in images
            if any(
                fnmatch.fnmatchcase(m["Ebs"]["SnapshotId"], pattern)
                for m in ami.block_device_mappings
                for pattern in wanted
            )
        ]

    AmiBackend.describe_images = describe_images


def filter_snapshots_by_owner():
    """DescribeSnapshots with OwnerIds answers only the snapshots of those
    owners: account ids, "self" (the caller's account) or "amazon".

    EC2 API Reference, DescribeSnapshots, Owner.N
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html):
    "Scopes the results to snapshots with the specified owners. You can
    specify a combination of AWS account IDs, self, and amazon." moto 5.2.1
    ignores the parameter and answers every snapshot, the public ones of
    its AMI catalogue included. Here "amazon" keeps the snapshots of other
    owners: in moto those are only its catalogue's, which are Amazon's.
    """
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    original = ElasticBlockStore.describe_snapshots

    def describe_snapshots(self):
        result = original(self)
        owners = self._get_param("OwnerIds", [])
        if not owners:
            return result
        account = self.current_account
        wanted = {account if o == "self" else o for o in owners}
        snapshots = result.result["Snapshots"]
        result.result["Snapshots"] = [
            s for s in snapshots if s.owner_id in wanted or ("amazon" in wanted and s.owner_id != account)
        ]
        return result

    ElasticBlockStore.describe_snapshots = describe_snapshots


def copy_image_tags():
    """CopyImage with CopyImageTags=true gives the copy the source image's
    user-defined tags (never the system tags, prefixed aws:).

    EC2 API Reference, CopyImage, CopyImageTags
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html):
    "Indicates whether to include your user-defined AMI tags when copying
    the AMI. The following tags will not be copied: System tags (prefixed
    with aws:); For public and shared AMIs, user-defined tags that are
    attached by other AWS accounts. Default: Your user-defined AMI tags are
    not copied." moto 5.2.1 reads neither CopyImageTags nor
    TagSpecification.N and copies no tag. Only images of the caller's own
    account are copied here, so every user-defined tag is the caller's.
    """
    from moto.ec2.responses.amis import AmisResponse

    original = AmisResponse.copy_image

    def copy_image(self):
        result = original(self)
        if str(self._get_param("CopyImageTags", False)).lower() == "true":
            source_backend = self.ec2_backend
            region = self._get_param("SourceRegion")
            if region and region != self.region:
                from moto.ec2.models import ec2_backends

                source_backend = ec2_backends[self.current_account][region]
            source = source_backend.describe_images(ami_ids=[self._get_param("SourceImageId")])[0]
            copy = self.ec2_backend.describe_images(ami_ids=[result.result["ImageId"]])[0]
            for tag in source.get_tags():
                if not tag["key"].lower().startswith("aws:"):
                    copy.add_tag(tag["key"], tag["value"])
        return result

    AmisResponse.copy_image = copy_image


def lambda_account_settings():
    """Lambda's GetAccountSettings, GET /2016-08-19/account-settings/: the
    account's limits and its usage in the region.

    Lambda API Reference, GetAccountSettings
    (https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html):
    AccountLimit (TotalCodeSize, CodeSizeZipped, CodeSizeUnzipped,
    ConcurrentExecutions, UnreservedConcurrentExecutions) and AccountUsage
    (FunctionCount, TotalCodeSize). AccountUsage.TotalCodeSize is "the amount
    of storage space, in bytes, that's being used by deployment packages and
    layer archives" (API_AccountUsage.html): here every function's $LATEST
    and published versions plus every layer version. moto 5.2.1 has no route
    for the path, so the request answers 404.
    """
    import moto.awslambda.urls as urls
    from moto.awslambda.responses import LambdaResponse

    # The documented path ends in a slash; botocore 1.43's model (which moto
    # names operations by) has none. Both are routed, as moto's own routes
    # do (its Flask rules drop an optional trailing slash), and both name
    # the operation.
    for pattern in (r"{0}/(?P<api_version>[^/]+)/account-settings$", r"{0}/(?P<api_version>[^/]+)/account-settings/$"):
        urls.url_paths.setdefault(pattern, LambdaResponse.dispatch)
    name_by_uri = LambdaResponse._get_action_from_method_and_request_uri

    def action_of(self, method, request_uri):
        if method == "GET" and request_uri.rstrip("/") == "/2016-08-19/account-settings":
            return "GetAccountSettings"
        return name_by_uri(self, method, request_uri)

    LambdaResponse._get_action_from_method_and_request_uri = action_of

    def get_account_settings(self):
        storage = self.backend._lambdas
        functions = list(storage._functions.values())
        used = 0
        for entry in functions:
            used += entry["latest"].code_size if entry["latest"] else 0
            used += sum(v.code_size for v in entry["versions"])
        for layer in self.backend._layers._layers.values():
            used += sum(v.code_size for v in layer.layer_versions.values())
        reserved = sum(
            int(e["latest"].reserved_concurrency or 0) for e in functions if e["latest"]
        )
        body = json.dumps(
            {
                "AccountLimit": {
                    "TotalCodeSize": LAMBDA_TOTAL_CODE_SIZE,
                    "CodeSizeZipped": LAMBDA_CODE_SIZE_ZIPPED,
                    "CodeSizeUnzipped": LAMBDA_CODE_SIZE_UNZIPPED,
                    "ConcurrentExecutions": LAMBDA_CONCURRENT_EXECUTIONS,
                    "UnreservedConcurrentExecutions": LAMBDA_CONCURRENT_EXECUTIONS - reserved,
                },
                "AccountUsage": {"FunctionCount": len(functions), "TotalCodeSize": used},
            }
        )
        return 200, {"Content-Type": "application/json"}, body

    LambdaResponse.get_account_settings = get_account_settings


SHIMS = (
    tag_image_snapshots,
    refuse_duplicate_image_names,
    filter_images_by_snapshot,
    filter_snapshots_by_owner,
    copy_image_tags,
    lambda_account_settings,
)


def apply():
    """Applies every shim once; raises RuntimeError under another moto."""
    global _applied
    import moto

    if _applied:
        return
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"moto {moto.__version__}: the shims of {__file__} were written for moto {MOTO_VERSION}; "
            "check each gap again before changing MOTO_VERSION"
        )
    for shim in SHIMS:
        shim()
    _applied = True
