"""AMIs and EBS snapshots of the double: the state behind CreateImage,
DescribeImages, DeregisterImage, DescribeSnapshots, DeleteSnapshot and
CreateTags (ec2.py answers them through this store).

What it models, after EC2:
  - CreateImage makes an image (ami-0 + 17 hex) in state "pending" and one
    snapshot per EBS volume of the instance (fixture "volumes"), described
    "Created by CreateImage(i-...) for ami-... from vol-...", both tagged by
    the request's TagSpecifications. A name already used by a live image of
    the account is InvalidAMIName.Duplicate. The instance must be running or
    stopped (IncorrectInstanceState).
  - An image is "pending" for the first `image_pending_describes`
    DescribeImages answers that list it, then `image_final_state`
    ("available", or "failed" to act out a failed AMI); a new image is
    left out of the first `image_invisible_describes` DescribeImages answers
    (EC2's eventual consistency).
  - DeregisterImage marks the image gone. It still shows, in state
    "deregistered", in the next `deregistered_visible_describes` answers
    (then InvalidAMIID.Unavailable for a second DeregisterImage), then not at
    all (InvalidAMIID.NotFound).
  - DeleteSnapshot is InvalidSnapshot.InUse while a live image maps the
    snapshot, and for the first `snapshot_inuse_after_deregister` attempts
    after the last image that used it was deregistered.
  - Snapshots are "pending" for `snapshot_pending_describes` answers, then
    "completed".
  - DisableImage (an available image) makes it "disabled", EnableImage makes
    it "available" again. DescribeImages leaves disabled images out unless
    IncludeDisabled=true (then they are listed in state "disabled"); with
    ImageId.N too, as EC2 does. A disabled image still maps its snapshots
    (DeleteSnapshot: InvalidSnapshot.InUse).

Image states (POST /__control/image-state {"ImageId": "ami-...", "State":
"pending"|"available"|"failed"|"disabled"}): sets an image's state at once
(a pending one stays pending until set again).

Seeds (POST /__control/images):
  {"images": [{"id": "ami-...", "name": "...", "instance": "i-...",
               "creation_date": "2024-04-01T09:30:00.000Z", "state": "available",
               "tags": {"k": "v"}, "description": "...", "owner_id": "...",
               "devices": [{"device": "/dev/xvda", "snapshot": "snap-...", "size": 8}]}],
   "snapshots": [{"id": "snap-...", "volume_id": "vol-...", "size": 8, "tags": {...},
                  "description": "...", "start_time": "...", "state": "completed"}]}
A snapshot an image names but "snapshots" does not is made, described as
CreateImage would have, with the image's tags. Two images may share one.
"""

import calendar
import hashlib
import re
import secrets
import threading
import time

from . import ec2proto
from .service import ServiceError

IMAGE_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
SNAPSHOT_ID = re.compile(r"^snap-([0-9a-f]{8}|[0-9a-f]{17})$")
AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
DEFAULT_VOLUMES = [{"device": "/dev/xvda", "size": 8}]

CONFIG = {
    "image_pending_describes": 1,
    "image_invisible_describes": 0,
    "deregistered_visible_describes": 0,
    "snapshot_inuse_after_deregister": 0,
    "snapshot_pending_describes": 1,
    "image_final_state": "available",
}
IMAGE_STATES = ("pending", "available", "failed", "disabled")


class ImageError(ServiceError):
    """An error answer of the image and snapshot calls."""


def _hex17():
    return secrets.token_hex(9)[:17]


def _ts(seconds):
    return ec2proto.timestamp(seconds)


def _parse_ts(text):
    """Seconds since the epoch of "2024-04-01T09:30:00[.000]Z"."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$", text or "")
    if not m:
        raise ValueError(f"bad time {text!r}: want 2024-04-01T09:30:00.000Z")
    whole = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return whole + (float(m.group(7)) if m.group(7) else 0.0)


def _tags(tags, what):
    if tags is None:
        return []
    if isinstance(tags, list) and all(isinstance(t, dict) and "Key" in t for t in tags):
        return [(t["Key"], t.get("Value", "")) for t in tags]
    if isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        return list(tags.items())
    raise ValueError(f"{what}: tags must be {{\"key\": \"value\"}}")


def instance_volumes(inst):
    """The EBS volumes of a fixture instance: [{"device", "size", "volume_id",
    "type"}]; "volumes" in the fixture, else one 8 GiB root volume."""
    raw = inst.raw.get("volumes") or DEFAULT_VOLUMES
    if not isinstance(raw, list) or not 1 <= len(raw) <= 16:
        raise ValueError(f"{inst.id}: volumes must be a list of 1 to 16 volumes")
    out = []
    for n, v in enumerate(raw):
        if not isinstance(v, dict) or not isinstance(v.get("device", ""), str):
            raise ValueError(f"{inst.id}: a volume must be an object")
        device = v.get("device") or ("/dev/xvda" if n == 0 else f"/dev/sd{chr(ord('f') + n - 1)}")
        suffix = "" if n == 0 else "/" + device
        vol = v.get("volume_id") or ("vol-0" + hashlib.sha256(f"vol{inst.id}{suffix}".encode()).hexdigest()[:16])
        size = v.get("size", 8)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 16384:
            raise ValueError(f"{inst.id}: volume size must be 1..16384 GiB")
        out.append({"device": device, "size": size, "volume_id": vol, "type": v.get("type", "gp3")})
    return out


class ImageStore:
    """Images and snapshots, by id, in creation order. Every public method
    takes the lock; the answers are plain dicts in boto3's shapes."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._images = {}
            self._snapshots = {}
            self._last_time = 0.0
            self._clock = None  # fixed epoch seconds for new resources, or None: real time
            self._config = dict(CONFIG)

    def clear(self):
        """Forgets every image and snapshot (config and clock stay)."""
        with self._lock:
            self._images = {}
            self._snapshots = {}

    # -- config and clock ---------------------------------------------------

    def config(self):
        with self._lock:
            return dict(self._config, clock=self._clock)

    def update_config(self, changes):
        for k, v in changes.items():
            if k == "clock":
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, str))):
                    raise ValueError("clock must be epoch seconds, an ISO time or null")
                continue
            if k not in CONFIG:
                raise ValueError(f"unknown images config key {k!r}")
            if k == "image_final_state":
                if v not in ("available", "failed"):
                    raise ValueError("image_final_state is available or failed")
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{k} must be a non-negative integer")
        with self._lock:
            for k, v in changes.items():
                if k == "clock":
                    self._clock = _parse_ts(v) if isinstance(v, str) else v
                else:
                    self._config[k] = v
            return dict(self._config, clock=self._clock)

    def _now(self):
        """Creation times strictly increase, by at least 1 ms."""
        t = self._clock if self._clock is not None else time.time()
        t = max(t, self._last_time + 0.001)
        self._last_time = t
        return t

    # -- seeds and the control view --------------------------------------------

    def seed(self, data, owner_id):
        if not isinstance(data, dict):
            raise ValueError('want {"images": [...], "snapshots": [...]}')
        images = data.get("images") or []
        snaps = data.get("snapshots") or []
        if not isinstance(images, list) or not isinstance(snaps, list):
            raise ValueError("images and snapshots must be lists")
        new_snaps, new_images = {}, {}
        for s in snaps:
            if not isinstance(s, dict) or not SNAPSHOT_ID.match(str(s.get("id", ""))):
                raise ValueError(f"a snapshot needs an id snap-<8 or 17 hex>: {s!r}")
            new_snaps[s["id"]] = {
                "id": s["id"],
                "volume_id": s.get("volume_id", "vol-0" + hashlib.sha256(s["id"].encode()).hexdigest()[:16]),
                "size": s.get("size", 8),
                "state": s.get("state", "completed"),
                "start": _parse_ts(s["start_time"]) if s.get("start_time") else time.time(),
                "description": s.get("description", ""),
                "owner": s.get("owner_id", owner_id),
                "tags": _tags(s.get("tags"), s["id"]),
                "pending_left": 0,
                "inuse_left": 0,
                "deleted": False,
            }
        for im in images:
            if not isinstance(im, dict) or not IMAGE_ID.match(str(im.get("id", ""))):
                raise ValueError(f"an image needs an id ami-<8 or 17 hex>: {im!r}")
            if not AMI_NAME.match(str(im.get("name", ""))):
                raise ValueError(f"{im['id']}: a name of 3..128 AMI name characters")
            devices = []
            for d in im.get("devices") or []:
                if not isinstance(d, dict) or not SNAPSHOT_ID.match(str(d.get("snapshot", ""))):
                    raise ValueError(f"{im['id']}: a device needs a snapshot id")
                devices.append({"device": d.get("device", "/dev/xvda"), "snapshot": d["snapshot"], "size": d.get("size", 8), "type": d.get("type", "gp3")})
                if d["snapshot"] not in new_snaps and d["snapshot"] not in self._snapshots:
                    new_snaps[d["snapshot"]] = {
                        "id": d["snapshot"],
                        "volume_id": "vol-0" + hashlib.sha256(d["snapshot"].encode()).hexdigest()[:16],
                        "size": d.get("size", 8),
                        "state": "completed",
                        "start": _parse_ts(im["creation_date"]) if im.get("creation_date") else time.time(),
                        "description": f"Created by CreateImage({im.get('instance', 'i-00000000')}) for {im['id']}",
                        "owner": im.get("owner_id", owner_id),
                        "tags": _tags(im.get("tags"), im["id"]),
                        "pending_left": 0,
                        "inuse_left": 0,
                        "deleted": False,
                    }
            state = im.get("state", "available")
            if state == "deregistered":
                raise ValueError(f"{im['id']}: seed live images only")
            new_images[im["id"]] = {
                "id": im["id"],
                "name": im["name"],
                "description": im.get("description"),
                "owner": im.get("owner_id", owner_id),
                "state": state,
                "creation": _parse_ts(im["creation_date"]) if im.get("creation_date") else time.time(),
                "tags": _tags(im.get("tags"), im["id"]),
                "devices": devices,
                "source_instance": im.get("instance"),
                "no_reboot": None,
                "pending_left": 0,
                "invisible_left": 0,
                "gone_visible_left": 0,
                "deregistered": False,
                "gone": False,
            }
        with self._lock:
            self._snapshots.update(new_snaps)
            self._images.update(new_images)
            return {"images": len(self._images), "snapshots": len(self._snapshots)}

    def view(self):
        """Everything, for GET /__control/images: images (live and
        deregistered, with NoReboot) and snapshots (live and deleted)."""
        with self._lock:
            return {
                "images": [self._image_out(im, control=True) for im in self._images.values()],
                "snapshots": [self._snapshot_out(s, control=True) for s in self._snapshots.values()],
            }

    # -- rendering ------------------------------------------------------------------

    def _image_out(self, im, control=False):
        if control:
            state = "deregistered" if im["deregistered"] else im["state"]
        elif im["deregistered"]:
            state = "deregistered"
        elif im["pending_left"] > 0:
            state = "pending"
        else:
            state = im["state"]
        out = {
            "ImageId": im["id"],
            "ImageLocation": f"{im['owner']}/{im['name']}",
            "State": state,
            "OwnerId": im["owner"],
            "CreationDate": _ts(im["creation"]),
            "Public": False,
            "Architecture": "x86_64",
            "ImageType": "machine",
            "SriovNetSupport": "simple",
            "Name": im["name"],
            "Description": im["description"],
            "RootDeviceType": "ebs",
            "RootDeviceName": im["devices"][0]["device"] if im["devices"] else "/dev/xvda",
            "BlockDeviceMappings": [
                {
                    "DeviceName": d["device"],
                    "Ebs": {
                        "DeleteOnTermination": True,
                        "SnapshotId": d["snapshot"],
                        "VolumeSize": d["size"],
                        "VolumeType": d["type"],
                        "Encrypted": False,
                    },
                }
                for d in im["devices"]
            ],
            "VirtualizationType": "hvm",
            "Tags": [{"Key": k, "Value": v} for k, v in im["tags"]] or None,
            "Hypervisor": "xen",
            "EnaSupport": True,
            "PlatformDetails": "Linux/UNIX",
            "UsageOperation": "RunInstances",
            "SourceInstanceId": im["source_instance"],
            "DeregistrationProtection": "disabled",
        }
        if control:
            out["NoReboot"] = im["no_reboot"]
            out["Tags"] = out["Tags"] or []
        return out

    def _snapshot_out(self, s, control=False):
        state = "pending" if s["pending_left"] > 0 and not control else s["state"]
        out = {
            "SnapshotId": s["id"],
            "VolumeId": s["volume_id"],
            "State": state,
            "StartTime": _ts(s["start"]),
            "Progress": "100%" if state == "completed" else "0%",
            "OwnerId": s["owner"],
            "VolumeSize": s["size"],
            "Description": s["description"],
            "Encrypted": False,
            "Tags": [{"Key": k, "Value": v} for k, v in s["tags"]] or None,
            "StorageTier": "standard",
        }
        if control:
            out["Deleted"] = s["deleted"]
            out["Tags"] = out["Tags"] or []
        return out

    # -- helpers ----------------------------------------------------------------------

    def _users(self, snapshot_id, live_only=True):
        return [
            im["id"]
            for im in self._images.values()
            if not im["gone"] and (not live_only or not im["deregistered"]) and any(d["snapshot"] == snapshot_id for d in im["devices"])
        ]

    @staticmethod
    def _tag_specs(specs, allowed):
        """{"image": [(k, v)], "snapshot": [...]} from TagSpecifications."""
        out = {}
        for spec in specs or []:
            rtype = spec.get("ResourceType")
            if rtype not in allowed:
                raise ImageError("InvalidParameterValue", f"'{rtype}' is not a valid taggable resource type for this operation.")
            tags = []
            for t in spec.get("Tags") or []:
                key = t.get("Key")
                if not key:
                    raise ImageError("InvalidParameterValue", "Tag key must not be empty")
                if key.lower().startswith("aws:"):
                    raise ImageError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
                tags.append((key, t.get("Value", "")))
            out.setdefault(rtype, []).extend(tags)
        return out

    # -- the operations -------------------------------------------------------------

    def create_image(self, inst, args, owner_id):
        name = args.get("Name")
        if name is None:
            raise ImageError("MissingParameter", "The request must contain the parameter name")
        if not AMI_NAME.match(name):
            raise ImageError(
                "InvalidAMIName.Malformed",
                "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, "
                "'(', ')', '.', '-', '/' and '_'",
            )
        if inst.state not in ("running", "stopped"):
            raise ImageError("IncorrectInstanceState", f"The instance '{inst.id}' is not in a state from which it can be imaged.")
        specs = self._tag_specs(args.get("TagSpecifications"), ("image", "snapshot"))
        volumes = instance_volumes(inst)
        with self._lock:
            for im in self._images.values():
                if not im["deregistered"] and im["owner"] == owner_id and im["name"] == name:
                    raise ImageError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {im['id']}")
            now = self._now()
            image_id = "ami-0" + _hex17()[:16]
            devices = []
            for v in volumes:
                snap_id = "snap-0" + _hex17()[:16]
                self._snapshots[snap_id] = {
                    "id": snap_id,
                    "volume_id": v["volume_id"],
                    "size": v["size"],
                    "state": "completed",
                    "start": now,
                    "description": f"Created by CreateImage({inst.id}) for {image_id} from {v['volume_id']}",
                    "owner": owner_id,
                    "tags": list(specs.get("snapshot", [])),
                    "pending_left": self._config["snapshot_pending_describes"],
                    "inuse_left": 0,
                    "deleted": False,
                }
                devices.append({"device": v["device"], "snapshot": snap_id, "size": v["size"], "type": v["type"]})
            self._images[image_id] = {
                "id": image_id,
                "name": name,
                "description": args.get("Description"),
                "owner": owner_id,
                "state": self._config["image_final_state"],
                "creation": now,
                "tags": list(specs.get("image", [])),
                "devices": devices,
                "source_instance": inst.id,
                "no_reboot": bool(args.get("NoReboot", False)),
                "pending_left": self._config["image_pending_describes"],
                "invisible_left": self._config["image_invisible_describes"],
                "gone_visible_left": 0,
                "deregistered": False,
                "gone": False,
            }
        return {"ImageId": image_id}

    def set_state(self, data):
        """POST /__control/image-state: {"ImageId", "State"}."""
        if not isinstance(data, dict) or data.get("State") not in IMAGE_STATES:
            raise ValueError(f'want {{"ImageId": "ami-...", "State": one of {IMAGE_STATES}}}')
        with self._lock:
            im = self._images.get(data.get("ImageId"))
            if im is None or im["deregistered"]:
                raise ValueError(f"no live image {data.get('ImageId')!r}")
            im["state"] = data["State"]
            im["pending_left"] = 0
            return self._image_out(im, control=True)

    def disable_image(self, image_id, enable=False):
        if not IMAGE_ID.match(image_id or ""):
            raise ImageError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
        with self._lock:
            im = self._images.get(image_id)
            if im is None or im["gone"] or im["deregistered"]:
                raise ImageError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
            state = "pending" if im["pending_left"] > 0 else im["state"]
            if state != ("disabled" if enable else "available"):
                raise ImageError("IncorrectState", f"The image '{image_id}' is in state {state}.")
            im["state"] = "available" if enable else "disabled"
        return {"Return": True}

    def describe_images(self, owners, ids, tests, owner_id, include_disabled=False):
        """The images the request names, in creation order; advances the
        pending/invisible/deregistered counters of those it lists. Disabled
        images only with include_disabled."""
        with self._lock:
            if ids:
                for i in ids:
                    if not IMAGE_ID.match(i):
                        raise ImageError("InvalidAMIID.Malformed", f'Invalid id: "{i}" (expecting "ami-...")')
                missing = [i for i in dict.fromkeys(ids) if i not in self._images or self._images[i]["gone"]]
                if missing:
                    raise ImageError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist")
            wanted_owners = set()
            for o in owners or []:
                wanted_owners.add(owner_id if o == "self" else o)
            out = []
            for im in self._images.values():
                if im["gone"] or (ids and im["id"] not in ids):
                    continue
                if owners and im["owner"] not in wanted_owners:
                    continue
                if im["state"] == "disabled" and not im["deregistered"] and not include_disabled:
                    continue
                if im["invisible_left"] > 0:
                    im["invisible_left"] -= 1
                    continue
                item = self._image_out(im)
                if all(t(item) for t in tests):
                    out.append(item)
                    if im["deregistered"]:
                        im["gone_visible_left"] -= 1
                        if im["gone_visible_left"] <= 0:
                            im["gone"] = True
                    elif im["pending_left"] > 0:
                        im["pending_left"] -= 1
            return out

    def deregister_image(self, image_id):
        if not IMAGE_ID.match(image_id or ""):
            raise ImageError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
        with self._lock:
            im = self._images.get(image_id)
            if im is None or im["gone"]:
                raise ImageError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
            if im["deregistered"]:
                raise ImageError("InvalidAMIID.Unavailable", f"The image ID '{image_id}' is no longer available")
            im["deregistered"] = True
            im["gone_visible_left"] = self._config["deregistered_visible_describes"]
            if im["gone_visible_left"] <= 0:
                im["gone"] = True
            for d in im["devices"]:
                s = self._snapshots.get(d["snapshot"])
                if s is not None and not self._users(d["snapshot"]):
                    s["inuse_left"] = self._config["snapshot_inuse_after_deregister"]
        return {"Return": True}

    def delete_snapshot(self, snapshot_id):
        if not SNAPSHOT_ID.match(snapshot_id or ""):
            raise ImageError("InvalidParameterValue", f"Value ({snapshot_id}) for parameter snapshotId is invalid. Expected: 'snap-...'.")
        with self._lock:
            s = self._snapshots.get(snapshot_id)
            if s is None or s["deleted"]:
                raise ImageError("InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist.")
            users = self._users(snapshot_id)
            if users:
                raise ImageError("InvalidSnapshot.InUse", f"The snapshot {snapshot_id} is currently in use by {users[0]}")
            if s["inuse_left"] > 0:
                s["inuse_left"] -= 1
                gone = self._users(snapshot_id, live_only=False) or ["ami-00000000"]
                raise ImageError("InvalidSnapshot.InUse", f"The snapshot {snapshot_id} is currently in use by {gone[0]}")
            s["deleted"] = True
        return None

    def describe_snapshots(self, owners, ids, tests, owner_id):
        with self._lock:
            if ids:
                for i in ids:
                    if not SNAPSHOT_ID.match(i):
                        raise ImageError("InvalidParameterValue", f"Value ({i}) for parameter snapshotId is invalid. Expected: 'snap-...'.")
                missing = [i for i in dict.fromkeys(ids) if i not in self._snapshots or self._snapshots[i]["deleted"]]
                if missing:
                    raise ImageError("InvalidSnapshot.NotFound", f"The snapshot '{missing[0]}' does not exist.")
            wanted_owners = {owner_id if o == "self" else o for o in owners or []}
            out = []
            for s in self._snapshots.values():
                if s["deleted"] or (ids and s["id"] not in ids) or (owners and s["owner"] not in wanted_owners):
                    continue
                item = self._snapshot_out(s)
                if all(t(item) for t in tests):
                    out.append(item)
                    if s["pending_left"] > 0:
                        s["pending_left"] -= 1
            return out

    def create_tags(self, resources, tags, instance_ids):
        pairs = []
        for t in tags or []:
            if not t.get("Key"):
                raise ImageError("InvalidParameterValue", "Tag key must not be empty")
            if t["Key"].lower().startswith("aws:"):
                raise ImageError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
            pairs.append((t["Key"], t.get("Value", "")))
        with self._lock:
            targets = []
            for r in resources or []:
                if r.startswith("ami-"):
                    im = self._images.get(r)
                    if im is None or im["gone"] or im["deregistered"]:
                        raise ImageError("InvalidAMIID.NotFound", f"The image id '[{r}]' does not exist")
                    targets.append(im["tags"])
                elif r.startswith("snap-"):
                    s = self._snapshots.get(r)
                    if s is None or s["deleted"]:
                        raise ImageError("InvalidSnapshot.NotFound", f"The snapshot '{r}' does not exist.")
                    targets.append(s["tags"])
                elif r in instance_ids:
                    raise ImageError("UnsupportedOperation", "The test double tags images and snapshots only.")
                else:
                    raise ImageError("InvalidID", f'The ID \'{r}\' is not valid')
            for tag_list in targets:
                for k, v in pairs:
                    for n, (old, _) in enumerate(tag_list):
                        if old == k:
                            tag_list[n] = (k, v)
                            break
                    else:
                        tag_list.append((k, v))
        return None
