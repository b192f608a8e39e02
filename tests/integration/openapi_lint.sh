#!/bin/sh
# openapi/ebssh.yaml: passes Spectral's OpenAPI rules (the linter pinned in
# tools/package-lock.json, installed by `make deps`), the linter rejects broken
# copies of it (so a pass means something), every route the router serves
# (its route table, as `ebssh-api --help` lists it) is described, and every
# operation carries what API Gateway needs.
# TAP on stdout.
set -u
root=${EBSSH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
ebssh_api="${EBSSH_BUILD:-$root/build}/ebssh-api"
api="$root/openapi/ebssh.yaml"
spectral="$root/tools/node_modules/.bin/spectral"
ruleset="$root/tools/spectral.yaml"
PYTHON=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { # check NAME COMMAND...: ok when the command succeeds
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$name"; else
		not_ok "$name"
		sed 's/^/# /' "$tmp/out" | head -n 40
	fi
}

lint() { # lint FILE: the linter's verdict, warnings included
	"$spectral" lint --quiet --fail-severity warn --ruleset "$ruleset" "$1"
}

# A broken copy must fail, and fail for the reason we broke it.
lint_rejects() { # lint_rejects FILE RULE
	if lint "$1" >"$tmp/lint" 2>&1; then
		echo "the linter accepted $1:"
		cat "$tmp/lint"
		return 1
	fi
	if ! grep -q "$2" "$tmp/lint"; then
		echo "the linter failed without reporting $2:"
		cat "$tmp/lint"
		return 1
	fi
}

if [ ! -x "$spectral" ]; then
	not_ok "linter installed: $spectral is missing; run make deps"
	echo "1..$n"
	exit 1
fi
want=$(sed -n '/"node_modules\/@stoplight\/spectral-cli"/,/}/s/.*"version": "\([^"]*\)".*/\1/p' \
	"$root/tools/package-lock.json")
have=$("$spectral" --version 2>/dev/null)
if [ -n "$want" ] && [ "$have" = "$want" ]; then
	ok "linter is spectral $have, the version tools/package-lock.json pins"
else
	not_ok "linter version: have '$have', lock file pins '$want'; run make deps"
fi

check "openapi/ebssh.yaml passes spectral:oas with no error or warning" lint "$api"

# 1. Something the OpenAPI 3.0 schema does not allow at the top level.
sed 's/^openapi: 3\.0\.3$/openapi: 3.0.3\nrouting: fast/' "$api" >"$tmp/extra-field.yaml"
check "linter rejects an unknown top-level field" lint_rejects "$tmp/extra-field.yaml" oas3-schema

# 2. A type that does not exist.
sed '/^    Index:$/,/^    Address:$/s/type: integer/type: int/' "$api" >"$tmp/bad-type.yaml"
check "linter rejects a parameter of an unknown type" lint_rejects "$tmp/bad-type.yaml" oas3-schema

# 3. A path template naming a parameter that no operation declares.
sed "s#^  /eb/{env}/ip/{n}:#  /eb/{env}/ip/{n}/{extra}:#" "$api" >"$tmp/undeclared.yaml"
check "linter rejects an undeclared path parameter" lint_rejects "$tmp/undeclared.yaml" path-params

# 4. A dangling reference.
sed "s@\$ref: '#/components/responses/NotFound'@\$ref: '#/components/responses/Nowhere'@" \
	"$api" >"$tmp/dangling.yaml"
check "linter rejects a dangling \$ref" lint_rejects "$tmp/dangling.yaml" invalid-ref

# The copies really differ from the original (a sed that matched nothing
# would make the checks above pass for the wrong reason... or fail them).
for f in extra-field bad-type undeclared dangling; do
	if cmp -s "$api" "$tmp/$f.yaml"; then
		not_ok "broken copy $f differs from the original"
	else
		ok "broken copy $f differs from the original"
	fi
done

# The routes the router serves: its route table (lambda/router/router.c), as
# `ebssh-api --help` prints it, one '  GET   /eb/{env}/ip/{n}' a line. API
# Gateway forwards only the paths and methods the OpenAPI describes, so a
# route missing there cannot be reached once deployed.
"$ebssh_api" --help 2>&1 |
	sed -n 's/^  \(GET\|POST\|PUT\|PATCH\|DELETE\) *\(\/[^ ]*\).*/\1 \2/p' >"$tmp/routes"
count=$(wc -l <"$tmp/routes")
if [ "$count" -ge 6 ]; then
	ok "read $count routes from the route table (ebssh-api --help)"
else
	not_ok "read $count routes from the route table ($ebssh_api --help; expected at least 6)"
	sed 's/^/# /' "$tmp/routes"
fi

# The structural checks read the YAML with python3-yaml, through the tests'
# loader that refuses a key given twice (tests/lib/strict_yaml.py).
cat >"$tmp/check.py" <<'EOF'
import re
import sys

import yaml

api_path, routes_path = sys.argv[1], sys.argv[2]
n = int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
import strict_yaml  # noqa: E402


def tap(good, name, why=""):
    global n
    n += 1
    print(("ok %d - %s" if good else "not ok %d - %s") % (n, name))
    if not good and why:
        for line in str(why).splitlines():
            print("# " + line)


text = open(api_path, encoding="utf-8").read()
# AWS::Include takes long-form intrinsics only, and anchors would be expanded
# unpredictably by packaging tools: neither may appear.
events = list(yaml.parse(text))
tags = [e.tag for e in events if getattr(e, "tag", None) and e.tag.startswith("!")]
anchors = [e for e in events if isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)]
tap(not tags, "no YAML short-form tags (AWS::Include needs Fn::Sub, not !Sub)", tags)
tap(not anchors, "no YAML anchors or aliases", anchors[:3])
doc = strict_yaml.load(text)

tap(str(doc.get("openapi", "")).startswith("3.0."), "OpenAPI 3.0.x", doc.get("openapi"))
paths = doc.get("paths", {})
want = [line.split() for line in open(routes_path) if line.strip()]
missing = [" ".join(r) for r in want if r[0].lower() not in paths.get(r[1], {})]
tap(not missing, "every route of the route table is described (%d)" % len(want),
    "missing: %s" % missing)

tap(doc.get("x-amazon-apigateway-api-key-source") == "HEADER",
    "x-amazon-apigateway-api-key-source is HEADER")
schemes = doc.get("components", {}).get("securitySchemes", {})
key = schemes.get("api_key", {})
tap(key.get("type") == "apiKey" and key.get("in") == "header" and key.get("name") == "x-api-key",
    "security scheme api_key is the x-api-key header", key)

ops = [(p, m, o) for p, item in paths.items() for m, o in item.items()
       if m in ("get", "put", "post", "delete", "patch", "head", "options")]
bad = []
for p, m, o in ops:
    i = o.get("x-amazon-apigateway-integration", {})
    uri = i.get("uri", {})
    sub = uri.get("Fn::Sub", "") if isinstance(uri, dict) else ""
    if (i.get("type") != "aws_proxy" or i.get("httpMethod") != "POST"
            or i.get("passthroughBehavior") != "when_no_match"
            or not re.fullmatch(r"arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}:lambda:"
                                r"path/2015-03-31/functions/\$\{LookupFunction\.Alias\}/invocations", sub)):
        bad.append("%s %s: %s" % (m.upper(), p, i))
tap(ops and not bad, "every operation (%d) proxies to LookupFunction's alias live (aws_proxy, POST, when_no_match)"
    % len(ops), "\n".join(bad))

# Routes without an API key: /health, and the Slack command (Slack sends no
# x-api-key; its requests carry Slack's signature instead).
# The ops routes show their class's default (OpsAuth AWS_IAM: sigv4), the
# lookups theirs (LookupAuth API_KEY); deploy/openapi.cfn.yaml makes both a choice.
NO_KEY = {"/health", "/slack/logsearch"}
OPS = {"/backup/ami", "/logs/{function}/{request_id}", "/lambda/storage"}
bad = []
for p, m, o in ops:
    sec = o.get("security")
    if p in NO_KEY:
        if sec != []:
            bad.append("%s %s must have security: [] (no key), has %s" % (m.upper(), p, sec))
    elif sec != ([{"sigv4": []}] if p in OPS else [{"api_key": []}]):
        bad.append("%s %s must require %s, has %s" % (m.upper(), p, "sigv4" if p in OPS else "api_key", sec))
sig = schemes.get("sigv4", {})
if (sig.get("type"), sig.get("name"), sig.get("in"), sig.get("x-amazon-apigateway-authtype")) != \
        ("apiKey", "Authorization", "header", "awsSigv4"):
    bad.append("security scheme sigv4 is not API Gateway's awsSigv4: %s" % sig)
tap(ops and not bad, "lookups require api_key, ops routes sigv4 (the defaults), /health and "
    "/slack/logsearch nothing", "\n".join(bad))

bad = []
for p, m, o in ops:
    codes = set(str(c) for c in o.get("responses", {}))
    need = {"200"} if p == "/health" else {"200", "400", "403", "502", "503"}
    if p.startswith("/eb/") or p.startswith("/asg/"):
        need.add("404")
    if p == "/slack/logsearch":
        need = {"200", "400", "401", "503"}
    if not need <= codes:
        bad.append("%s %s lacks %s" % (m.upper(), p, sorted(need - codes)))
tap(ops and not bad, "every operation documents 200, 400, 403, 502 and 503 (lookups 404 too;"
    " the Slack command 200, 400, 401 and 503)", "\n".join(bad))

# Issues 7 and 8: the log search, the Slack command and the storage report.
want_ops = {("get", "/logs/{function}/{request_id}"), ("post", "/slack/logsearch"),
            ("get", "/lambda/storage")}
have_ops = {(m, p) for p, m, _ in ops}
tap(want_ops <= have_ops, "the log search, Slack and storage routes are described",
    sorted(want_ops - have_ops))
slack_op = paths.get("/slack/logsearch", {}).get("post", {})
hdrs = {x.get("name"): x for x in slack_op.get("parameters", []) if x.get("in") == "header"}
form = slack_op.get("requestBody", {}).get("content", {})
tap(set(hdrs) >= {"X-Slack-Signature", "X-Slack-Request-Timestamp"}
    and "application/x-www-form-urlencoded" in form,
    "the Slack command takes the signature headers and a form body", (sorted(hdrs), sorted(form)))
logs_op = paths.get("/logs/{function}/{request_id}", {}).get("get", {})
c200 = logs_op.get("responses", {}).get("200", {}).get("content", {})
tap(set(c200) == {"text/plain", "application/json"}, "log search answers text or JSON", sorted(c200))


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        node = doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
    return node


bad = []
for p, m, o in ops:
    if "/ip" in p:
        c = resolve(o["responses"]["200"]).get("content", {})
        if set(c) != {"text/plain", "application/json"}:
            bad.append("%s %s 200 has %s" % (m.upper(), p, sorted(c)))
        elif resolve(c["application/json"]["schema"]) is not resolve(
                {"$ref": "#/components/schemas/IpList"}):
            bad.append("%s %s JSON is not an IpList" % (m.upper(), p))
    for code in ("400", "404", "502", "503"):
        if code in o.get("responses", {}):
            c = resolve(o["responses"][code]).get("content", {})
            s = c.get("application/json", {}).get("schema", {})
            # an Error, or a schema that is all of an Error and more (BackupFailure)
            parts = [x.get("$ref") for x in resolve(s).get("allOf", [])] if "$ref" in s else []
            if s.get("$ref") != "#/components/schemas/Error" and \
                    "#/components/schemas/Error" not in parts:
                bad.append("%s %s %s is not an Error" % (m.upper(), p, code))
tap(ops and not bad, "ip routes answer text/plain or IpList JSON; errors are Error JSON",
    "\n".join(bad))

# The hostkeys routes (issue 5): text lines or a HostKeyList, the n-th as ip/{n}.
hk_paths = ["/eb/{env}/hostkeys", "/eb/{env}/hostkeys/{n}", "/asg/{group}/hostkeys",
            "/asg/{group}/hostkeys/{n}"]
bad = [p for p in hk_paths if "get" not in paths.get(p, {})]
for p in hk_paths:
    o = paths.get(p, {}).get("get")
    if not o:
        continue
    c = resolve(o["responses"]["200"]).get("content", {})
    if set(c) != {"text/plain", "application/json"} or resolve(
            c["application/json"]["schema"]) is not resolve(
            {"$ref": "#/components/schemas/HostKeyList"}):
        bad.append("%s 200 is not text/plain or a HostKeyList" % p)
    names = [resolve(x).get("name") for x in o.get("parameters", [])]
    want_names = ["group" if p.startswith("/asg") else "env"] + \
        (["n"] if p.endswith("{n}") else []) + ["address"]
    if names != want_names:
        bad.append("%s parameters %s, want %s (address as for ip/{n})" % (p, names, want_names))
    e404 = resolve(o["responses"]["404"]).get("content", {}).get("application/json", {})
    if e404.get("schema", {}).get("$ref") != "#/components/schemas/Error" or \
            "NoHostKeys" not in resolve(o["responses"]["404"]).get("description", ""):
        bad.append("%s 404 is not an Error that names NoHostKeys" % p)
tap(not bad, "the hostkeys routes answer text lines or a HostKeyList; 404 NoHostKeys", bad)
hk = doc["components"]["schemas"].get("HostKey", {}).get("properties", {})
types = hk.get("type", {}).get("enum", [])
tap(types == ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "ssh-rsa"],
    "HostKey types are the ones util/hostkeys accepts (no ssh-dss)", types)
kx = re.compile(hk.get("key", {}).get("pattern", "^$"))
good_keys = ["AAAAC3NzaC1lZDI1NTE5AAAAIGv1OSF/tqetdFAlS81E/jGPdCfywNwwfz4y4NsULNjQ",
             "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF2amDrURuTw9HKiOnx8IF"
             "Dbvqp4cN7/hEmoFONAjCGnVYvnp+pX6N7Hn2WjiCDjPMn8Zzf4gmNEWm844CFtGUA="]
bad_keys = ["", "AAAA AAAA", "AAAA\nssh-rsa", "AA==A", "AAA-_A", "AAAA==="]
wrong = [k for k in good_keys if not kx.search(k)] + [k for k in bad_keys if kx.search(k)]
tap(not wrong, "HostKey key pattern: base64 only", wrong)

schemas = doc["components"]["schemas"]
# POST /backup/ami (issue 6): dry_run, and the report per instance.
bk = paths.get("/backup/ami", {})
post = bk.get("post", {})
dry = [resolve(x) for x in post.get("parameters", [])]
tap(set(bk) == {"post"} and [(d.get("name"), d.get("in"), d.get("schema", {}).get("type"))
                             for d in dry] == [("dry_run", "query", "boolean"), ("wait", "query", "boolean"),
                                               ("reboot", "query", "boolean")],
    "POST /backup/ami (only POST) with the boolean queries dry_run, wait and reboot", (sorted(bk), dry))
ok200 = resolve(post.get("responses", {}).get("200", {})).get("content", {})
report = resolve(ok200.get("application/json", {}).get("schema", {}))
per = resolve(report.get("properties", {}).get("instances", {}).get("items", {}))
fields = {"instance_id", "image_created", "already_existed", "kept", "deregistered",
          "snapshots_deleted", "errors"}
tap(fields <= set(per.get("required", [])) and
    per.get("properties", {}).get("image_created", {}).get("nullable") is True,
    "backup report per instance: %s (image_created nullable)" % ", ".join(sorted(fields)),
    per.get("required"))
inst = schemas["Instance"]["properties"]
fields = {"index", "instance_id", "ip", "public_ip", "private_ip", "launch_time",
          "availability_zone"}
tap(fields <= set(inst), "Instance has %s" % ", ".join(sorted(fields)), sorted(inst))
tap(set(schemas["Error"].get("required", [])) == {"message", "code"}
    and set(schemas["Error"]["properties"]) == {"message", "code"},
    "Error is {message, code}", schemas["Error"])

params = doc["components"]["parameters"]
env = params["Env"]["schema"]
rx = re.compile(env["pattern"])
good = ["abcd", "my-env", "my-env-production", "A1-b", "a" * 40, "0" + "-" * 38 + "9"]
bad_names = ["abc", "-abc", "abc-", "a" * 41, "my_env", "my.env", "my env", "", "é-abc"]
wrong = ([x for x in good if not rx.search(x)] + [x for x in bad_names if rx.search(x)])
tap(not wrong and env.get("minLength") == 4 and env.get("maxLength") == 40,
    "env pattern accepts Elastic Beanstalk names, 4 to 40, and nothing else", wrong)
group = params["Group"]["schema"]
gx = re.compile(group["pattern"])
wrong = ([x for x in ["my-asg", "awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ", "a", "x" * 255]
          if not gx.search(x)]
         + [x for x in ["", "a:b", "a b", "x" * 256, "tab\there"] if gx.search(x)])
tap(not wrong, "group pattern: 1 to 255 printable ASCII, no ':' or space", wrong)
idx = params["Index"]["schema"]
tap(idx.get("type") == "integer" and idx.get("minimum") == 1 and idx.get("maximum") == 1000,
    "n is an integer 1..1000", idx)
fn = params["Function"]["schema"]
fx = re.compile(fn["pattern"])
wrong = ([x for x in ["a", "my-function_2", "x" * 64] if not fx.search(x)]
         + [x for x in ["", "a.b", "a/b", "fn:1", "x" * 65, "a b"] if fx.search(x)])
tap(not wrong, "function pattern: Lambda's 1 to 64 letters, digits, - and _", wrong)
rid = params["RequestId"]["schema"]
rx2 = re.compile(rid["pattern"])
wrong = ([x for x in ["c0ffee00-1111-2222-3333-444455556666", "C0FFEE00-1111-2222-3333-44445555666A"]
          if not rx2.search(x)]
         + [x for x in ["abcdefgh", "c0ffee00-1111-2222-3333-44445555666", "c0ffee00111122223333444455556666",
                        "g0ffee00-1111-2222-3333-444455556666", "c0ffee00-1111-2222-3333-444455556666 ",
                        "ERROR", "0" * 36] if rx2.search(x)])
tap(not wrong, "request id pattern: a UUID, any case", wrong)
addr = params["Address"]
tap(addr.get("in") == "query" and addr["schema"].get("enum") == ["public", "private"],
    "address is a query enum public|private", addr)
print("NEXT %d" % n)
EOF

if [ ! -x "$PYTHON" ] || ! "$PYTHON" -c 'import yaml' 2>/dev/null; then
	not_ok "python3-yaml for $PYTHON; run make deps"
	echo "1..$n"
	exit 1
fi
"$PYTHON" "$tmp/check.py" "$api" "$tmp/routes" "$n" "$root/tests/lib" >"$tmp/py" 2>&1
rc=$?
grep -v '^NEXT ' "$tmp/py"
next=$(sed -n 's/^NEXT //p' "$tmp/py")
if [ "$rc" -ne 0 ] || [ -z "$next" ]; then
	not_ok "structural checks ran to the end (python exited $rc)"
else
	n=$next
fi
echo "1..$n"
