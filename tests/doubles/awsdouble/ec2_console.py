"""EC2 GetConsoleOutput for the double, and the control that changes an
instance's console.

Fixture instance fields (all optional; see fixtures.py for the rest):

  console_output  the console text as the instance printed it (a string,
                  served as it is, "\\n" and all)
  host_keys       ["type base64 [comment]", ...]: the instance printed a
                  cloud-init boot around these keys (kernel lines, systemd's
                  coloured [  OK  ] lines, cloud-init's fingerprints through
                  logger, the BEGIN/END SSH HOST KEY KEYS block, the login
                  prompt; "\\r\\n" line ends, as the serial console has them).
                  console_output wins when both are given.
  nitro           false: the instance cannot give its latest output, so
                  Latest=true is answered with UnsupportedOperation (400), as
                  EC2 refuses it on non-Nitro instances (the exact message is
                  this double's guess).

The answer has EC2's shape: <GetConsoleOutputResponse><requestId/>
<instanceId/><timestamp/><output>BASE64</output>, the base64 of the last
64 KiB of console bytes wrapped at 76 columns with "\\n", as in AWS's own
sample. An instance that has printed nothing (neither field) has no
<output>. The timestamp is the time of the answer for Latest=true, else the
launch time plus 90 seconds (when EC2 would have posted the boot snapshot).

Control (control.py routes it here):

  POST /__control/console  {"instance_id": "i-...", "console_output": "..."}
                           or {"instance_id": ..., "host_keys": [...]}, optionally
                           "nitro": bool; null clears a field. Replaces that
                           instance's console fields (the rest of the fixture
                           stays): another key after a replacement, no key yet.
"""

import base64
import datetime
import hashlib
import re
import struct

from .fixtures import Fixture, FixtureError
from .service import ServiceError

MAX_CONSOLE = 64 * 1024
_INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_KEY_NAMES = {
    "ssh-ed25519": "ED25519",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    "ssh-rsa": "RSA",
    "ssh-dss": "DSA",
}


def _key_bits(ktype, blob):
    """The size ssh-keygen -l prints: the curve's, or the RSA modulus's."""
    if ktype == "ssh-ed25519":
        return 256
    if ktype.startswith("ecdsa-sha2-nistp"):
        return int(ktype[len("ecdsa-sha2-nistp") :])
    if ktype in ("ssh-rsa", "ssh-dss"):
        parts, off = [], 0
        while off + 4 <= len(blob) and len(parts) < 3:
            (n,) = struct.unpack(">I", blob[off : off + 4])
            parts.append(blob[off + 4 : off + 4 + n])
            off += 4 + n
        if len(parts) == 3:
            mod = parts[2] if ktype == "ssh-rsa" else parts[1]
            return int.from_bytes(mod, "big").bit_length()
    return 0


def fingerprint_line(key_line, host):
    """ssh-keygen -l's line for one public key line."""
    fields = key_line.split()
    ktype, b64 = fields[0], fields[1]
    comment = " ".join(fields[2:]) or f"root@{host}"
    try:
        blob = base64.b64decode(b64)
    except ValueError:
        blob = b""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"{_key_bits(ktype, blob)} SHA256:{digest} {comment} ({_KEY_NAMES.get(ktype, ktype)})"


def render_cloud_init(host_keys, instance):
    """A realistic Amazon Linux 2023 first-boot console around host_keys."""
    ip = instance.private_ip or "172.31.18.40"
    host = "ip-" + ip.replace(".", "-")
    launch = datetime.datetime.strptime(instance.launch_time[:19], "%Y-%m-%dT%H:%M:%S")
    at = (launch + datetime.timedelta(seconds=17)).strftime("%b %e %H:%M:%S")
    long_at = (launch + datetime.timedelta(seconds=14)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    ok = "[\x1b[0;32m  OK  \x1b[0m]"
    lines = [
        "[    0.000000] Linux version 6.1.61-85.141.amzn2023.x86_64 (mockbuild@ip-10-0-36-138) "
        "(gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.39-6.amzn2023.0.9) "
        "#1 SMP PREEMPT_DYNAMIC Wed Nov  8 00:39:45 UTC 2023",
        "[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-6.1.61-85.141.amzn2023.x86_64 "
        "root=UUID=5a3c1c57-9f7e-4b3f-8d2a-0c7f2b9e1d11 ro console=tty0 console=ttyS0,115200n8 "
        "nvme_core.io_timeout=4294967295 rd.emergency=poweroff rd.shell=0 selinux=1 security=selinux quiet",
        "[    1.180000] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Quota mode: none.",
        f"{ok} Started \x1b[0;1;39msystemd-journald.service\x1b[0m - Journal Service.",
        f"[    4.900000] cloud-init[1611]: Cloud-init v. 22.2.2 running 'init' at {long_at}. Up 5.14 seconds.",
        f"[    4.940000] cloud-init[1611]: ci-info: |  ens5  | True |  {ip:>15}  | 255.255.240.0 | global |",
    ]
    for k in host_keys:
        kind = _KEY_NAMES.get(k.split()[0], "RSA").lower()
        lines += [
            f"[    5.300000] cloud-init[1611]: Generating public/private {kind} key pair.",
            f"[    5.300000] cloud-init[1611]: Your public key has been saved in /etc/ssh/ssh_host_{kind}_key.pub",
        ]
    lines += [
        f"{ok} Finished \x1b[0;1;39mcloud-config.service\x1b[0m - Apply the settings specified in cloud-config.",
        f"<14>{at} cloud-init: #############################################################",
        f"<14>{at} cloud-init: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
    ]
    lines += [f"<14>{at} cloud-init: {fingerprint_line(k, host)}" for k in host_keys]
    lines += [
        f"<14>{at} cloud-init: -----END SSH HOST KEY FINGERPRINTS-----",
        f"<14>{at} cloud-init: #############################################################",
        "-----BEGIN SSH HOST KEY KEYS-----",
    ]
    lines += list(host_keys)
    lines += [
        "-----END SSH HOST KEY KEYS-----",
        f"[    7.120000] cloud-init[2043]: Cloud-init v. 22.2.2 finished at {long_at}. Datasource DataSourceEc2.  Up 7.10 seconds",
        f"{ok} Reached target \x1b[0;1;39mcloud-init.target\x1b[0m - Cloud-init target.",
        "",
        "Amazon Linux 2023.2.20231113",
        "Kernel 6.1.61-85.141.amzn2023.x86_64 on an x86_64 (-)",
        "",
        f"{host} login: ",
    ]
    return "\r\n".join(lines)


def _check_fields(raw, who):
    out = raw.get("console_output")
    if out is not None and not isinstance(out, str):
        raise FixtureError(f"{who}: console_output must be a string")
    keys = raw.get("host_keys")
    if keys is not None and not (isinstance(keys, list) and all(isinstance(k, str) and len(k.split()) >= 2 for k in keys)):
        raise FixtureError(f'{who}: host_keys must be ["type base64 [comment]", ...]')
    nitro = raw.get("nitro", True)
    if not isinstance(nitro, bool):
        raise FixtureError(f"{who}: nitro must be true or false")


def console_text(instance):
    """The instance's console as bytes, or None when it printed nothing."""
    raw = instance.raw
    _check_fields(raw, instance.id)
    if raw.get("console_output") is not None:
        return raw["console_output"].encode("utf-8", "surrogateescape")
    if raw.get("host_keys") is not None:
        return render_cloud_init(raw["host_keys"], instance).encode()
    return None


def _wrapped_b64(data):
    text = base64.b64encode(data).decode()
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def get_console_output(state, args):
    """The GetConsoleOutput handler: args as ec2proto decoded them."""
    iid = args.get("InstanceId")
    if not iid:
        raise ServiceError("MissingParameter", "The request must contain the parameter InstanceId")
    if not _INSTANCE_ID.match(iid):
        raise ServiceError("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
    inst = next((i for i in state.fixture.instances if i.id == iid), None)
    if inst is None:
        raise ServiceError("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist")
    latest = bool(args.get("Latest"))
    if latest and inst.raw.get("nitro", True) is False:
        raise ServiceError(
            "UnsupportedOperation",
            "This instance type does not support retrieving the latest console output.",
        )
    if latest:
        ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    else:
        launch = datetime.datetime.strptime(inst.launch_time[:19], "%Y-%m-%dT%H:%M:%S")
        ts = (launch + datetime.timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    result = {"InstanceId": iid, "Timestamp": ts}
    data = console_text(inst)
    if data:
        result["Output"] = _wrapped_b64(data[-MAX_CONSOLE:])
    return result


def set_console(state, data):
    """POST /__control/console: replaces one instance's console fields."""
    if not isinstance(data, dict) or not isinstance(data.get("instance_id"), str):
        raise ValueError('want {"instance_id": "i-...", "console_output"|"host_keys"|"nitro": ...}')
    fixture = state.fixture
    raws = []
    found = False
    for inst in fixture.instances:
        raw = dict(inst.raw)
        if inst.id == data["instance_id"]:
            found = True
            for k in ("console_output", "host_keys", "nitro"):
                if k in data:
                    if data[k] is None:
                        raw.pop(k, None)
                    else:
                        raw[k] = data[k]
            _check_fields(raw, inst.id)
        raws.append(raw)
    if not found:
        raise ValueError(f"no instance {data['instance_id']} in the fixture")
    try:
        state.set_fixture(Fixture({"owner_id": fixture.owner_id, "instances": raws}))
    except FixtureError as e:
        raise ValueError(str(e)) from None
    return {"instance_id": data["instance_id"]}
