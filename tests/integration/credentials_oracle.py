#!/usr/bin/env python3
# test-python: tools
"""ebssh's credential chain (aws/credentials*.c, through build/tests/creds_probe)
against botocore 1.43's, the oracle: for a matrix of config and credentials
files and environments, both resolve credentials in a fresh process and the
test compares what each found: the access key and botocore's method name
(which source won); for STS cases the identity moto's GetCallerIdentity
gives each pair of keys (the role, and the session when it is configured);
for SSO the secret the portal double derives from the role and account;
for a broken setup, that both refuse (and that ours names the profile and
what is missing). STS is moto's (tests/doubles/moto_server.py), the SSO
portal and OIDC tests/doubles/sso_double.py.

Then the AWS CLI's disk cache: a role profile resolved twice makes one STS
AssumeRole (moto's call log); the file is ~/.aws/cli/cache/<botocore's key>.json,
mode 0600 in a 0700 directory; botocore's JSONFileCache loads it and
botocore with the CLI's cache resolves the same keys without calling STS;
SSO role credentials are cached likewise (one portal call for two runs); a
corrupt or group-writable cache file is ignored with a warning.

Then the SSO token's refresh (SSO OIDC CreateToken, the double's /token)
against botocore's SSOTokenProvider: a token with less than 15 minutes left
or expired is refreshed by both with the same call and written back in the
same form; a refused refresh falls back to a token still valid, else both
refuse; an expired registration, no refresh token, time enough or the
legacy form make no call; the file we wrote serves our next run and
botocore's. TAP.
"""

import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("EBSSH_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EBSSH_BUILD") or os.path.join(ROOT, "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from child import sanitizer_clean, start_double, stop_process  # noqa: E402
from moto_aws import MotoAws  # noqa: E402
from tap import Tap  # noqa: E402

PROBE = os.path.join(BUILD, "tests", "creds_probe")
ROLE = "arn:aws:iam::123456789012:role/ebssh-oracle"
ROLE2 = "arn:aws:iam::123456789012:role/ebssh-second"
SSO_TOKEN = "sso-access-token-valid"
FUTURE = "2099-01-01T00:00:00Z"
PAST = "2020-01-01T00:00:00Z"

BOTOCORE = r"""
import json, sys, os
import botocore.session
from botocore.utils import JSONFileCache
profile = os.environ.get("ORACLE_PROFILE") or None
s = botocore.session.Session(profile=profile)
if os.environ.get("ORACLE_CLI_CACHE"):
    # what the AWS CLI does (awscli/customizations/assumerole.py; v2 for SSO too)
    chain = s.get_component("credential_provider")
    cache = JSONFileCache(os.path.expanduser("~/.aws/cli/cache"))
    for name in ("assume-role", "assume-role-with-web-identity", "sso"):
        chain.get_provider(name).cache = cache
def no_prompt(prompt):
    raise RuntimeError("MFA prompt: " + prompt)
try:
    s.get_component("credential_provider").get_provider("assume-role")._prompter = no_prompt
    c = s.get_credentials()
    if c is None:
        print(json.dumps({"error": "no credentials"}))
    else:
        f = c.get_frozen_credentials()
        print(json.dumps({"key": f.access_key, "secret": f.secret_key, "token": f.token, "method": c.method}))
except Exception as e:
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"""


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def sha1(s):
    import hashlib

    return hashlib.sha1(s.encode()).hexdigest()


class World:
    def __init__(self, moto, sso_url):
        self.moto = moto
        self.sso_url = sso_url
        self.root = tempfile.mkdtemp(prefix="ebssh-oracle-")
        self.n = 0

    def home(self, config="", credentials="", files=None):
        """A fresh HOME with ~/.aws/config and ~/.aws/credentials (and files: {rel: text})."""
        self.n += 1
        home = os.path.join(self.root, f"h{self.n}")
        write(os.path.join(home, ".aws", "config"), config)
        write(os.path.join(home, ".aws", "credentials"), credentials)
        for rel, text in (files or {}).items():
            write(os.path.join(home, rel), text.replace("$HOME", home), 0o700 if rel.endswith(".sh") else 0o600)
        return home

    def env(self, home, extra=None):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_STS": self.moto.url,
            "AWS_ENDPOINT_URL_SSO": self.sso_url,
            "AWS_ENDPOINT_URL_SSO_OIDC": self.sso_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "EBSSH_CALL_LOG", "EBSSH_SUITE"):
            if os.environ.get(k):
                env[k] = os.environ[k]
        for k, v in (extra or {}).items():
            env[k] = v.replace("$HOME", home)
        return env

    def ours(self, env, profile=None, calls=1):
        env = dict(env, EBSSH_PROBE_METHOD="1", EBSSH_PROBE_DUMP=os.path.join(env["HOME"], "probe.json"))
        if profile:
            env["EBSSH_PROBE_PROFILE"] = profile
        try:
            os.unlink(env["EBSSH_PROBE_DUMP"])
        except FileNotFoundError:
            pass
        p = subprocess.run([PROBE, str(calls)], env=env, capture_output=True, text=True, timeout=60)
        out = {"stdout": p.stdout, "stderr": p.stderr, "exit": p.returncode}
        if p.returncode == 0 and os.path.exists(env["EBSSH_PROBE_DUMP"]):
            with open(env["EBSSH_PROBE_DUMP"]) as f:
                out.update(json.load(f))
        else:
            out["error"] = p.stdout.strip()
        return out

    def botocore(self, env, profile=None, cli_cache=False):
        env = dict(env)
        env.pop("ASAN_OPTIONS", None)
        if profile:
            env["ORACLE_PROFILE"] = profile
        if cli_cache:
            env["ORACLE_CLI_CACHE"] = "1"
        p = subprocess.run([sys.executable, "-c", BOTOCORE], env=env, capture_output=True, text=True, timeout=60)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": f"botocore run failed: {p.stderr[-500:]}"}

    def identity(self, got):
        """The ARN moto's GetCallerIdentity gives got's keys."""
        import boto3

        sts = boto3.client(
            "sts", region_name="us-east-1", endpoint_url=self.moto.url,
            aws_access_key_id=got["key"], aws_secret_access_key=got["secret"], aws_session_token=got.get("token"),
        )
        sts.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__("X-Ebssh-Harness", "1"))
        return sts.get_caller_identity()["Arn"]


def moto_calls(action, ua_prefix="ebssh/"):
    """Calls of action in moto's call log made by a client whose User-Agent
    starts with ua_prefix ("" for any client)."""
    d = os.environ["EBSSH_CALL_LOG"]
    n = 0
    for path in glob.glob(os.path.join(d, "moto-*.jsonl")):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("action") == action and rec.get("user_agent", "").startswith(ua_prefix):
                    n += 1
    return n


STATIC = "aws_access_key_id = {k}\naws_secret_access_key = secret-{k}\n"


def proc_script(body):
    return "#!/bin/sh\n" + body


CASES = [
    # name, config, credentials, env, files, explicit profile, kind
    ("static keys in the credentials file", "", "[default]\n" + STATIC.format(k="AKIDCREDS"), {}, {}, None, "same"),
    ("environment keys", "", "", {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"}, {}, None, "same"),
    ("environment over the profile", "", "[default]\n" + STATIC.format(k="AKIDCREDS"),
     {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"}, {}, None, "same"),
    ("a named profile over the environment", "", "[dev]\n" + STATIC.format(k="AKIDDEV"),
     {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"}, {}, "dev", "same"),
    ("static keys in the config file (AWS_PROFILE)", "[profile dev]\n" + STATIC.format(k="AKIDCONF"), "",
     {"AWS_PROFILE": "dev"}, {}, None, "same"),
    ("the credentials file over the config file", "[default]\n" + STATIC.format(k="AKIDCONF"),
     "[default]\n" + STATIC.format(k="AKIDCREDS"), {}, {}, None, "same"),
    ("a profile's role over its own static keys",
     "[default]\nrole_arn = %s\nsource_profile = base\n[profile base]\n" % ROLE + STATIC.format(k="AKIDBASE"),
     "[default]\n" + STATIC.format(k="AKIDSTATIC"), {}, {}, None, "sts"),
    ("source_profile chain of 2",
     "[profile a]\nrole_arn = %s\nsource_profile = b\n[profile b]\nrole_arn = %s\nsource_profile = c\n"
     "[profile c]\n" % (ROLE, ROLE2) + STATIC.format(k="AKIDC"), "", {"AWS_PROFILE": "a"}, {}, None, "sts"),
    ("source_profile loop",
     "[profile a]\nrole_arn = %s\nsource_profile = b\n[profile b]\nrole_arn = %s\nsource_profile = a\n" % (ROLE, ROLE2),
     "", {"AWS_PROFILE": "a"}, {}, None, "error:source_profile loop"),
    ("role with role_session_name, external_id, duration_seconds",
     "[default]\nrole_arn = %s\nsource_profile = base\nrole_session_name = alice\nexternal_id = ext-1\n"
     "duration_seconds = 1800\n[profile base]\n" % ROLE + STATIC.format(k="AKIDBASE"), "", {}, {}, None, "sts-full"),
    ("credential_source Environment (profile named)",
     "[profile r]\nrole_arn = %s\ncredential_source = Environment\n" % ROLE, "",
     {"AWS_ACCESS_KEY_ID": "AKIDENVSRC", "AWS_SECRET_ACCESS_KEY": "s"}, {}, "r", "sts"),
    ("credential_source Environment without keys", "[profile r]\nrole_arn = %s\ncredential_source = Environment\n" % ROLE,
     "", {}, {}, "r", "error:credential_source Environment found no credentials"),
    ("MFA profile refused",
     "[default]\nrole_arn = %s\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n"
     "[profile base]\n" % ROLE + STATIC.format(k="AKIDBASE"), "", {}, {}, None, "error:ebssh cannot ask for an MFA code"),
    ("credential_process", "[default]\ncredential_process = \"$HOME/helper dir/p.sh\" --flag 'a b'\n", "", {},
     {"helper dir/p.sh": proc_script('[ "$2" = "a b" ] || exit 3\necho \'{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s"}\'\n')},
     None, "same"),
    ("credential_process with a future Expiration", "[default]\ncredential_process = $HOME/p.sh\n", "", {},
     {"p.sh": proc_script('echo \'{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "s", '
                          '"SessionToken": "t", "Expiration": "%s"}\'\n' % FUTURE)}, None, "same"),
    ("credential_process expired", "[default]\ncredential_process = $HOME/p.sh\n", "", {},
     {"p.sh": proc_script('echo \'{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "s", '
                          '"SessionToken": "t", "Expiration": "%s"}\'\n' % PAST)}, None, "error:had expired"),
    ("credential_process failing", "[default]\ncredential_process = $HOME/p.sh\n", "", {},
     {"p.sh": proc_script("echo 'boom: no session' >&2\necho second >&2\nexit 2\n")}, None,
     "error:credential_process exited with status 2: boom: no session"),
    ("credential_process Version 2", "[default]\ncredential_process = $HOME/p.sh\n", "", {},
     {"p.sh": proc_script('echo \'{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}\'\n')}, None,
     "error:Unsupported version"),
    ("web identity from the environment", "", "",
     {"AWS_WEB_IDENTITY_TOKEN_FILE": "$HOME/token", "AWS_ROLE_ARN": ROLE, "AWS_ROLE_SESSION_NAME": "pod-1"},
     {"token": "eyJ.web.identity"}, None, "sts-full"),
    ("web identity env over the profile's static keys", "", "[default]\n" + STATIC.format(k="AKIDSTATIC"),
     {"AWS_WEB_IDENTITY_TOKEN_FILE": "$HOME/token", "AWS_ROLE_ARN": ROLE, "AWS_ROLE_SESSION_NAME": "pod-1"},
     {"token": "eyJ.web.identity"}, None, "sts-full"),
    ("web identity profile form",
     "[default]\nweb_identity_token_file = $HOME/token\nrole_arn = %s\nrole_session_name = wi\n" % ROLE, "", {},
     {"token": "eyJ.web.identity"}, None, "sts-full"),
    ("web identity without a role", "[default]\nweb_identity_token_file = $HOME/token\n", "", {},
     {"token": "t"}, None, "error:no role ARN"),
    ("SSO (sso_session), valid token",
     "[default]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
     "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n", "", {},
     {".aws/sso/cache/%s.json" % sha1("corp"): json.dumps({"accessToken": SSO_TOKEN, "expiresAt": FUTURE, "region": "eu-west-1",
                                                          "startUrl": "https://corp.awsapps.com/start"})}, None, "sso"),
    ("SSO (legacy sso_start_url), valid token",
     "[default]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 111122223333\n"
     "sso_role_name = Ops\n", "", {},
     {".aws/sso/cache/%s.json" % sha1("https://legacy.awsapps.com/start"):
      json.dumps({"accessToken": SSO_TOKEN, "expiresAt": FUTURE, "region": "eu-west-1"})}, None, "sso"),
    ("SSO over the profile's static keys",
     "[default]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 111122223333\n"
     "sso_role_name = Ops\n", "[default]\n" + STATIC.format(k="AKIDSTATIC"), {},
     {".aws/sso/cache/%s.json" % sha1("https://legacy.awsapps.com/start"):
      json.dumps({"accessToken": SSO_TOKEN, "expiresAt": FUTURE})}, None, "sso"),
    ("SSO (sso_session), expired token",
     "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
     "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n", "",
     {"AWS_PROFILE": "dev"},
     {".aws/sso/cache/%s.json" % sha1("corp"): json.dumps({"accessToken": "old", "expiresAt": PAST})}, None,
     "error:run aws sso login --profile dev"),
    ("SSO (legacy), expired token",
     "[profile dev]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 1\n"
     "sso_role_name = Ops\n", "", {"AWS_PROFILE": "dev"},
     {".aws/sso/cache/%s.json" % sha1("https://legacy.awsapps.com/start"): json.dumps({"accessToken": "old", "expiresAt": PAST})},
     None, "error:run aws sso login --profile dev"),
    ("SSO portal refuses the token",
     "[profile dev]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 1\n"
     "sso_role_name = Ops\n", "", {"AWS_PROFILE": "dev"},
     {".aws/sso/cache/%s.json" % sha1("https://legacy.awsapps.com/start"): json.dumps({"accessToken": "revoked", "expiresAt": FUTURE})},
     None, "error:run aws sso login --profile dev"),
    ("SSO profile missing settings", "[default]\nsso_account_id = 1\nsso_role_name = R\n", "", {}, {}, None,
     "error:missing sso_start_url, sso_region"),
    ("a source profile using SSO",
     "[default]\nrole_arn = %s\nsource_profile = s\n[profile s]\nsso_start_url = https://legacy.awsapps.com/start\n"
     "sso_region = eu-west-1\nsso_account_id = 111122223333\nsso_role_name = Ops\n" % ROLE, "", {},
     {".aws/sso/cache/%s.json" % sha1("https://legacy.awsapps.com/start"):
      json.dumps({"accessToken": SSO_TOKEN, "expiresAt": FUTURE})}, None, "sts"),
]


def role_part(arn):
    """arn:aws:sts::acct:assumed-role/<role>/<session> without the session."""
    return arn.rsplit("/", 1)[0]


def run_case(t, w, case):
    name, config, credentials, env_extra, files, profile, kind = case
    home = w.home(config, credentials, files)
    env = w.env(home, env_extra)
    # config files name $HOME: expand it (botocore does not, the test does)
    for rel in (".aws/config", ".aws/credentials"):
        p = os.path.join(home, rel)
        with open(p) as f:
            text = f.read().replace("$HOME", home)
        write(p, text)
    bc = w.botocore(env, profile)
    ours = w.ours(env, profile)
    detail = f"botocore: {bc}\nours: {ours}"
    if kind.startswith("error:"):
        want = kind[len("error:"):]
        if "MFA" not in name:
            t.ok("error" in bc, f"{name}: botocore refuses", detail)
        t.ok(ours["exit"] == 1 and want in ours.get("error", ""), f"{name}: ours refuses, saying so", detail)
        return
    ok = "error" not in bc and ours["exit"] == 0
    if not t.ok(ok, f"{name}: both resolve", detail):
        return
    t.eq(ours["method"], bc["method"], f"{name}: the same source ({bc['method']})")
    if kind == "same":
        t.eq((ours["key"], ours["secret"], ours.get("token")), (bc["key"], bc["secret"], bc["token"]), f"{name}: the same keys")
    elif kind in ("sts", "sts-full"):
        a, b = w.identity(ours), w.identity(bc)
        if kind == "sts":
            a, b = role_part(a), role_part(b)
        t.eq(a, b, f"{name}: the same identity ({b})")
    elif kind == "sso":
        t.eq(ours["secret"], bc["secret"], f"{name}: the same role and account at the portal")
    t.ok(sanitizer_clean(ours["stderr"]), f"{name}: no sanitizer report", ours["stderr"][-2000:])


def cache_checks(t, w, sso_url):
    config = "[default]\nrole_arn = %s\nsource_profile = base\nrole_session_name = cached\n[profile base]\n" % ROLE
    config += STATIC.format(k="AKIDBASE")
    home = w.home(config)
    env = w.env(home)
    before = moto_calls("AssumeRole")
    first = w.ours(env)
    second = w.ours(env)
    t.ok(first["exit"] == 0 and second["exit"] == 0, "cache: both runs resolve", f"{first}\n{second}")
    t.eq(moto_calls("AssumeRole") - before, 1, "cache: two runs, one STS AssumeRole")
    t.eq(second.get("key"), first.get("key"), "cache: the second run uses the first's credentials")
    from botocore.utils import JSONFileCache

    cache_dir = os.path.join(home, ".aws", "cli", "cache")
    key = sha1(json.dumps({"RoleArn": ROLE, "RoleSessionName": "cached"}, sort_keys=True))
    path = os.path.join(cache_dir, key + ".json")
    t.ok(os.path.exists(path), "cache: the file is named by botocore's key", os.listdir(cache_dir) if os.path.isdir(cache_dir) else "no dir")
    if os.path.exists(path):
        t.eq(oct(stat.S_IMODE(os.stat(path).st_mode)), "0o600", "cache: file mode 0600")
        t.eq(oct(stat.S_IMODE(os.stat(cache_dir).st_mode)), "0o700", "cache: directory mode 0700")
        entry = JSONFileCache(cache_dir)[key]
        t.eq(entry["Credentials"]["AccessKeyId"], first.get("key"), "cache: botocore's JSONFileCache loads it")
    before = moto_calls("AssumeRole", "")
    bc = w.botocore(env, cli_cache=True)
    t.ok(bc.get("key") == first.get("key") and moto_calls("AssumeRole", "") == before,
         "cache: botocore with the CLI's cache uses our entry, calling no STS", bc)
    # the other way: botocore's (the CLI's) entry serves us
    home2 = w.home(config)
    env2 = w.env(home2)
    bc2 = w.botocore(env2, cli_cache=True)
    ours2 = w.ours(env2)
    t.ok(ours2.get("key") is not None and ours2.get("key") == bc2.get("key"),
         "cache: we use an entry the CLI wrote (its \"...UTC\" Expiration)", f"{bc2}\n{ours2}")
    # corrupt and untrusted entries
    write(path, "{not json")
    bad = w.ours(env)
    t.ok(bad["exit"] == 0 and "ignored" in bad["stderr"] and bad.get("key") != first.get("key"),
         "cache: a corrupt entry is ignored with a warning", bad)
    os.chmod(path, 0o666)
    planted = w.ours(env)
    t.ok(planted["exit"] == 0 and "only it may write" in planted["stderr"], "cache: a group-writable entry is not trusted", planted)
    # SSO role credentials
    sso_home = w.home(
        "[default]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n", "",
        {".aws/sso/cache/%s.json" % sha1("corp"): json.dumps({"accessToken": SSO_TOKEN, "expiresAt": FUTURE})})
    env = w.env(sso_home)
    calls_before = portal_calls(sso_url)
    a, b = w.ours(env), w.ours(env)
    t.eq(portal_calls(sso_url) - calls_before, 1, "cache: two SSO runs, one portal call")
    t.eq(b.get("key"), a.get("key"), "cache: the second SSO run uses the first's credentials")
    sso_key = sha1(json.dumps({"accountId": "111122223333", "roleName": "Dev", "sessionName": "corp"},
                              sort_keys=True, separators=(",", ":")))
    t.ok(os.path.exists(os.path.join(sso_home, ".aws", "cli", "cache", sso_key + ".json")),
         "cache: SSO credentials under the CLI v2's key")


def double_calls(url):
    import urllib.request

    with urllib.request.urlopen(url + "/_calls", timeout=10) as r:
        return json.load(r)


def portal_calls(url):
    return sum(1 for c in double_calls(url) if c.get("action") is None)


def token_calls(url):
    return [c for c in double_calls(url) if c.get("action") == "CreateToken"]


OIDC_CLIENT = ("oidc-client-id", "oidc-client-secret")
SSO_SESSION_CONFIG = ("[default]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
                      "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n")
SSO_LEGACY_CONFIG = ("[default]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
                     "sso_account_id = 111122223333\nsso_role_name = Dev\n")
# name, config, cache file (accessToken, expiresAt in seconds from now or a time,
# refresh token, registrationExpiresAt; None: key absent), expected outcome
REFRESH_CASES = [
    ("5 minutes left: refreshed", SSO_SESSION_CONFIG, (SSO_TOKEN, 300, "valid", FUTURE), "refreshed"),
    ("expired: refreshed", SSO_SESSION_CONFIG, ("old", PAST, "valid", FUTURE), "refreshed"),
    ("5 minutes left, refresh token refused: the old token", SSO_SESSION_CONFIG,
     (SSO_TOKEN, 300, "spent-refresh-token", FUTURE), "old"),
    ("expired, refresh token refused", SSO_SESSION_CONFIG, ("old", PAST, "spent-refresh-token", FUTURE),
     "error:not refreshed: SSO OIDC CreateToken"),
    ("expired, the client registration expired too", SSO_SESSION_CONFIG, ("old", PAST, "valid", PAST),
     "error-no-call:the client registration expired"),
    ("expired, no refresh token", SSO_SESSION_CONFIG, ("old", PAST, None, None),
     "error-no-call:run aws sso login"),
    ("2 hours left: not refreshed", SSO_SESSION_CONFIG, (SSO_TOKEN, 7200, "valid", FUTURE), "old-no-call"),
    ("legacy form, 5 minutes left: never refreshed", SSO_LEGACY_CONFIG, (SSO_TOKEN, 300, "valid", FUTURE), "old-no-call"),
]
REFRESH_TOKENS = ["rt-%s-%d" % (who, i) for who in ("botocore", "ours") for i in range(len(REFRESH_CASES))]


def token_file(when, access, expires, refresh, registration, legacy):
    doc = {"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": access,
           "expiresAt": expires if isinstance(expires, str) else
           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when + expires))}
    if refresh is not None:
        doc.update({"clientId": OIDC_CLIENT[0], "clientSecret": OIDC_CLIENT[1],
                    "registrationExpiresAt": registration, "refreshToken": refresh})
    name = "https://corp.awsapps.com/start" if legacy else "corp"
    return ".aws/sso/cache/%s.json" % sha1(name), json.dumps(doc)


def refresh_checks(t, w, sso_url):
    """botocore's SSOTokenProvider is the oracle: each case runs in two
    HOMEs holding the same token file, one per client, each with its own
    refresh token the double accepts once."""
    import dateutil.parser

    files = {}
    for i, (name, config, (access, expires, refresh, registration), want) in enumerate(REFRESH_CASES):
        legacy = "sso_session" not in config
        now = time.time()
        runs = {}
        for who in ("botocore", "ours"):
            rt = "rt-%s-%d" % (who, i) if refresh == "valid" else refresh
            rel, text = token_file(now, access, expires, rt, registration, legacy)
            home = w.home(config, "", {rel: text})
            env = w.env(home)
            before = len(token_calls(sso_url))
            t0 = time.time()
            got = w.botocore(env) if who == "botocore" else w.ours(env)
            t1 = time.time()
            calls = token_calls(sso_url)[before:]
            with open(os.path.join(home, rel)) as f:
                after = f.read()
            runs[who] = {"got": got, "calls": calls, "text": text, "after": after, "t0": t0, "t1": t1,
                         "path": os.path.join(home, rel), "env": env, "rt": rt}
        b, o = runs["botocore"], runs["ours"]
        detail = "botocore: %s\nours: %s" % (b["got"], o["got"])
        if want.startswith("error"):
            msg = want.split(":", 1)[1]
            t.ok("error" in b["got"], f"refresh, {name}: botocore refuses", detail)
            t.ok(o["got"]["exit"] == 1 and msg in o["got"].get("error", "") and "run aws sso login" in o["got"].get("error", ""),
                 f"refresh, {name}: ours refuses, saying why and to run aws sso login", detail)
            t.eq(o["after"], o["text"], f"refresh, {name}: our token file is unchanged")
            if want.startswith("error-no-call"):
                t.eq((len(b["calls"]), len(o["calls"])), (0, 0), f"refresh, {name}: neither calls CreateToken")
            else:
                t.eq((len(b["calls"]), len(o["calls"])), (1, 1), f"refresh, {name}: each tried CreateToken once")
            continue
        if not t.ok("error" not in b["got"] and o["got"]["exit"] == 0, f"refresh, {name}: both resolve", detail):
            continue
        t.eq(o["got"]["secret"], b["got"]["secret"], f"refresh, {name}: the same role and account at the portal")
        if want.startswith("old"):
            t.eq(o["after"], o["text"], f"refresh, {name}: our token file is unchanged")
            t.eq(b["after"], b["text"], f"refresh, {name}: botocore's is unchanged too")
            if want == "old-no-call":
                t.eq((len(b["calls"]), len(o["calls"])), (0, 0), f"refresh, {name}: neither calls CreateToken")
            continue
        # refreshed: the same call, the same file
        ok = len(b["calls"]) == 1 and len(o["calls"]) == 1
        t.ok(ok and all(c["status"] == 200 for c in b["calls"] + o["calls"]),
             f"refresh, {name}: each made one CreateToken", json.dumps(b["calls"] + o["calls"]))
        if not ok:
            continue
        bb, ob = json.loads(b["calls"][0]["body"]), json.loads(o["calls"][0]["body"])
        t.eq(dict(ob, refreshToken="x"), dict(bb, refreshToken="x"), f"refresh, {name}: the same CreateToken fields")
        t.eq((ob["refreshToken"], o["calls"][0]["content_type"]), (o["rt"], b["calls"][0]["content_type"]),
             f"refresh, {name}: our call sends our refresh token, as JSON")
        bf, of = json.loads(b["after"]), json.loads(o["after"])
        t.eq(list(of), list(bf), f"refresh, {name}: the new file has botocore's keys in its order ({', '.join(bf)})")
        same = ("startUrl", "region", "clientId", "clientSecret", "registrationExpiresAt")
        t.eq({k: of.get(k) for k in same}, {k: bf.get(k) for k in same}, f"refresh, {name}: the same registration fields")
        t.ok(of["accessToken"].startswith("sso-access-token-refreshed-") and of["refreshToken"].startswith("sso-refresh-token-")
             and of["accessToken"] != bf["accessToken"],
             f"refresh, {name}: the new access and refresh tokens are in our file", o["after"])
        exp = dateutil.parser.parse(of["expiresAt"]).timestamp()
        t.ok(of["expiresAt"].endswith("Z") and int(o["t0"]) + 3600 <= exp <= int(o["t1"]) + 3601,
             f"refresh, {name}: expiresAt is the run's time plus expiresIn (3600)", of["expiresAt"])
        t.eq(json.dumps(of), o["after"], f"refresh, {name}: the file is written as json.dumps writes it")
        t.eq(oct(stat.S_IMODE(os.stat(o["path"]).st_mode)), oct(stat.S_IMODE(os.stat(b["path"]).st_mode)),
             f"refresh, {name}: the file's mode is botocore's (0600)")
        t.eq([p for p in os.listdir(os.path.dirname(o["path"])) if p.endswith(".tmp")], [],
             f"refresh, {name}: no temporary file is left")
        files[name] = o
    # what a refresh wrote serves the next run, ours and botocore's, with no refresh
    o = files.get("5 minutes left: refreshed")
    if o:
        shutil.rmtree(os.path.join(o["env"]["HOME"], ".aws", "cli"), ignore_errors=True)
        before, pbefore = len(token_calls(sso_url)), portal_calls(sso_url)
        again, bc = w.ours(o["env"]), w.botocore(o["env"])
        token = json.loads(o["after"])["accessToken"]
        used = [c for c in double_calls(sso_url) if c.get("action") is None][-2:]
        t.ok(again["exit"] == 0 and "error" not in bc and len(token_calls(sso_url)) == before
             and portal_calls(sso_url) - pbefore == 2 and all(c["token"] == token for c in used),
             "refresh: the next runs (ours, then botocore) use the token we wrote, with no CreateToken",
             f"{again}\n{bc}\n{used}")
        t.ok(sanitizer_clean(again["stderr"]), "refresh: no sanitizer report", again["stderr"][-2000:])


def main():
    t = Tap()
    if not os.path.exists(PROBE):
        print("1..0 # SKIP no creds_probe (make tests)")
        return 0
    own_log = None
    if not os.environ.get("EBSSH_CALL_LOG"):
        own_log = tempfile.mkdtemp(prefix="ebssh-calllog-")
        os.environ["EBSSH_CALL_LOG"] = own_log
    sso, port = start_double([sys.executable, os.path.join(ROOT, "tests", "doubles", "sso_double.py"),
                              "--token", SSO_TOKEN, "--client", ":".join(OIDC_CLIENT),
                              "--refresh-token", ",".join(REFRESH_TOKENS)], 30, "the SSO portal double")
    sso_url = f"http://127.0.0.1:{port}"
    try:
        with MotoAws() as moto:
            w = World(moto, sso_url)
            for case in CASES:
                t.run(run_case, w, case)
            t.run(cache_checks, w, sso_url)
            t.run(refresh_checks, w, sso_url)
    finally:
        stop_process(sso)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
