"""Issues 7 and 15 end to end: GET /logs/{function}/{request_id} and POST
/slack/logsearch through the router (build/tests/ops_driver) and ebssh-api
against the AWS double (CloudWatch Logs FilterLogEvents over pages, Lambda
Invoke) and the Slack double (response_url posts). Issue 15: request ids
are UUIDs, the allow-list LOGSEARCH_FUNCTIONS, the one-argument
/logsearch <requestId>, SLACK_TEAM_IDS / SLACK_CHANNEL_IDS and the replay
cache. TAP on stdout."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote, unquote

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from api_server import ApiServer  # noqa: E402
from harness import AwsDouble  # noqa: E402
from opsenv import SELF, WEBHOOK_SECRET, _run, event, route, sanitizer_reports, slack_headers  # noqa: E402
from opsenv import driver_env as ops_env  # noqa: E402
from slack_double import SlackDouble  # noqa: E402
from tap import Tap  # noqa: E402

FN = "my-fn"
RID = "c0ffee00-1111-2222-3333-444455556666"
OTHER = "deadbeef-0000-0000-0000-000000000000"
NOW_MS = int(time.time() * 1000)
ALLOWED = f"{FN},quiet,nope,gone"
TEAM = "T1"


def driver_env(aws, slack, **extra):
    """opsenv's environment with issue 15's allow-lists: the functions of the fixture, team T1."""
    base = {"LOGSEARCH_FUNCTIONS": ALLOWED, "SLACK_TEAM_IDS": TEAM}
    base.update(extra)
    return ops_env(aws, slack, **base)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def fixture():
    """Lines of RID in two streams, out of order, among other requests' lines."""
    t = NOW_MS - 3600 * 1000
    s1, s2 = "2024/05/01/[$LATEST]aaaa", "2024/05/01/[$LATEST]bbbb"
    events = [
        {"timestamp": t + 500, "stream": s2, "message": f"END RequestId: {RID}\n"},
        {"timestamp": t + 100, "stream": s1, "message": f"START RequestId: {RID} Version: $LATEST\n"},
        {"timestamp": t + 150, "stream": s1, "message": f"START RequestId: {OTHER} Version: $LATEST\n"},
        {"timestamp": t + 300, "stream": s2, "message": f"{RID}\tERROR\tboom\nTraceback:\n  line 1\n"},
        {"timestamp": t + 200, "stream": s1, "message": f"{RID}\tINFO\t<@U123> & friends\n"},
        {"timestamp": t + 600, "stream": s2, "message": f"REPORT RequestId: {RID}\tDuration: 1 ms\n"},
        {"timestamp": t - 2 * 86400 * 1000, "stream": s1, "message": f"{RID}\told line\n"},
    ]
    return {"groups": {f"/aws/lambda/{FN}": events, "/aws/lambda/quiet": []}}


def expected_text():
    t = NOW_MS - 3600 * 1000
    s1, s2 = "2024/05/01/[$LATEST]aaaa", "2024/05/01/[$LATEST]bbbb"
    return (
        f"{iso(t + 100)}\t{s1}\tSTART RequestId: {RID} Version: $LATEST\n"
        f"{iso(t + 200)}\t{s1}\t{RID}\tINFO\t<@U123> & friends\n"
        f"{iso(t + 300)}\t{s2}\t{RID}\tERROR\tboom\\nTraceback:\\n  line 1\n"
        f"{iso(t + 500)}\t{s2}\tEND RequestId: {RID}\n"
        f"{iso(t + 600)}\t{s2}\tREPORT RequestId: {RID}\tDuration: 1 ms\n"
    )


def logs_calls(aws):
    return [r for r in aws.requests() if r["service"] == "logs"]


def test_search_over_pages(t, aws, slack):
    aws.reset()
    aws.control("logs/fixture", fixture())
    aws.control("logs/config", {"page_size": 2, "empty_pages": 2})
    r = route(driver_env(aws, slack), "GET", f"/logs/{FN}/{RID}")
    t.eq(r.out and r.out["status"], 200, "log search: 200")
    t.eq(r.out and r.out["content_type"], "text/plain; charset=utf-8", "log search: text/plain")
    t.eq(r.out and r.out["body"], expected_text(), "log search: every line of the request, sorted, one a line")
    calls = logs_calls(aws)
    # 2 empty pages while "searching", then 6 matches (5 in the window) in pages of 2.
    t.eq(len(calls), 5, "log search: followed nextToken through empty and full pages")
    t.ok(all(c["verified"] and c["status"] == 200 for c in calls), "log search: every call signed and answered", calls)
    p = calls[0]["params"]
    t.eq((p.get("logGroupName"), p.get("filterPattern")), (f"/aws/lambda/{FN}", f'"{RID}"'), "log search: group and quoted request id")
    t.ok(abs(p.get("endTime", 0) - NOW_MS) < 120000 and p.get("endTime") - p.get("startTime") == 86400000,
         "log search: the default window is the last 24 h", p)
    t.eq([c["action"] for c in calls], ["FilterLogEvents"] * 5, "log search: X-Amz-Target names FilterLogEvents")
    t.eq(calls[0]["content_type"], "application/x-amz-json-1.1", "log search: JSON 1.1 content type")
    t.ok("X-Ebssh-Truncated" not in r.out["headers"], "log search: not truncated")


def test_window_and_json(t, aws, slack):
    aws.reset()
    aws.control("logs/fixture", fixture())
    base = NOW_MS - 3600 * 1000
    start, end = iso(base + 150), iso(base + 500)
    r = route(driver_env(aws, slack), "GET", f"/logs/{FN}/{RID}", query={"start": start, "end": end},
              headers={"Accept": "application/json"})
    t.eq(r.out and r.out["status"], 200, "window: 200")
    t.eq(r.out and r.out["content_type"], "application/json", "window: JSON on Accept")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq([e["timestamp_ms"] for e in body.get("events", [])], [base + 200, base + 300, base + 500], "window: ?start and ?end bound the search")
    t.eq((body.get("function"), body.get("request_id"), body.get("log_group"), body.get("start"), body.get("end"), body.get("truncated")),
         (FN, RID, f"/aws/lambda/{FN}", start, end, False), "window: the JSON names the search")
    ev = body["events"][1] if len(body.get("events", [])) > 1 else {}
    t.eq(ev.get("message"), f"{RID}\tERROR\tboom\nTraceback:\n  line 1\n", "window: JSON keeps the message as logged")
    p = logs_calls(aws)[0]["params"]
    t.eq((p.get("startTime"), p.get("endTime")), (base + 150, base + 500), "window: sent as startTime/endTime ms")
    # A zone offset, its '+' decoded to a space as a query string does.
    off = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + 150) // 1000 + 7200)) + ".%03d 02:00" % ((base + 150) % 1000)
    r = route(driver_env(aws, slack), "GET", f"/logs/{FN}/{RID}", query={"start": off, "end": end})
    t.eq(r.out and r.out["body"].count("\n"), 3, "window: +02:00 offsets (decoded '+') are understood")


def test_refused_before_any_call(t, aws, slack):
    aws.reset()
    aws.control("logs/fixture", fixture())
    env = driver_env(aws, slack)
    cases = [
        (f"/logs/bad.name/{RID}", {}, 400, "InvalidName"),
        (f"/logs/{'x' * 65}/{RID}", {}, 400, "InvalidName"),
        (f"/logs/{FN}/short", {}, 400, "InvalidRequestId"),
        (f"/logs/{FN}/abc%22def%22ghi", {}, 400, "InvalidRequestId"),
        (f"/logs/{FN}/{RID}", {"start": "yesterday"}, 400, "InvalidParameter"),
        (f"/logs/{FN}/{RID}", {"start": "2024-05-02", "end": "2024-05-01"}, 400, "InvalidParameter"),
    ]
    for path, q, status, code in cases:
        r = route(env, "GET", unquote(path), query=q)
        body = json.loads(r.out["body"]) if r.out else {}
        t.eq((r.out and r.out["status"], body.get("code")), (status, code), f"refused: {path} {q} -> {status} {code}")
    t.eq(logs_calls(aws), [], "refused: no AWS call was made")


def test_not_found_and_faults(t, aws, slack):
    aws.reset()
    aws.control("logs/fixture", fixture())
    env = driver_env(aws, slack)
    r = route(env, "GET", f"/logs/nope/{RID}")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("code")), (404, "NotFound"), "unknown log group: 404")
    t.ok("/aws/lambda/nope" in body.get("message", ""), "unknown log group: named", body)
    r = route(env, "GET", f"/logs/quiet/{RID}")
    t.eq(r.out and r.out["status"], 404, "no lines: 404")
    aws.queue_faults("FilterLogEvents", ["throttle"] * 3)
    r = route(env, "GET", f"/logs/{FN}/{RID}")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("code")), (503, "Throttled"), "throttled 3 times: 503")
    t.ok("ThrottlingException" in body.get("message", ""), "throttled: AWS's code named", body)
    aws.queue_faults("FilterLogEvents", ["throttle", "500"])
    r = route(env, "GET", f"/logs/{FN}/{RID}")
    t.eq(r.out and r.out["status"], 200, "throttle then 500 then success: retried to 200")
    aws.queue_faults("FilterLogEvents", ["error:InvalidParameterException:400:The specified nextToken is invalid."])
    r = route(env, "GET", f"/logs/{FN}/{RID}")
    t.eq(r.out and r.out["status"], 502, "InvalidParameterException: 502, not retried")


TRIGGERS = [0]


def signed_command(slack, text, ts=None, team="T1", channel="C1"):
    """A slash command as Slack signs it; each one unique (trigger_id), as Slack's are."""
    TRIGGERS[0] += 1
    body = (
        f"token=x&team_id={team}&team_domain=t&channel_id={channel}&channel_name=c&user_id=U2CERLKJA&user_name=me"
        f"&command=%2Flogsearch&text={quote(text)}&response_url={quote(slack.url + '/commands/T1/42/abc', safe='')}"
        f"&trigger_id=1.2.{TRIGGERS[0]}"
    )
    return body, slack_headers(body, ts=ts)


def test_slack_signatures(t, aws, slack):
    aws.reset()
    slack.clear()
    env = driver_env(aws, slack)
    body, headers = signed_command(slack, f"{FN} {RID}")
    bad = dict(headers, **{"X-Slack-Signature": "v0=" + "0" * 64})
    r = route(env, "POST", "/slack/logsearch", headers=bad, body=body)
    t.eq(r.out and r.out["status"], 401, "Slack: a wrong signature is 401")
    body_old, headers_old = signed_command(slack, f"{FN} {RID}", ts=int(time.time()) - 400)
    r = route(env, "POST", "/slack/logsearch", headers=headers_old, body=body_old)
    t.eq(r.out and r.out["status"], 401, "Slack: a 400 s old timestamp is 401")
    t.ok(r.out and "old" in json.loads(r.out["body"]).get("message", ""), "Slack: says why", r)
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body + "&x=1")
    t.eq(r.out and r.out["status"], 401, "Slack: a body changed after signing is 401")
    r = route(driver_env(aws, slack, SLACK_SIGNING_SECRET=None), "POST", "/slack/logsearch", headers=headers, body=body)
    t.eq(r.out and r.out["status"], 503, "Slack: no signing secret configured is 503")
    body_u, headers_u = signed_command(slack, "")
    r = route(env, "POST", "/slack/logsearch", headers=headers_u, body=body_u)
    msg = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], msg.get("response_type")), (200, "ephemeral"), "Slack: no arguments: 200 ephemeral")
    t.ok("Usage" in msg.get("text", ""), "Slack: the usage is shown", msg)
    t.eq((aws.requests(), slack.posts()), ([], []), "Slack: refused commands call nothing and post nothing")


def test_slack_async_on_a_thread(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    aws.control("logs/config", {"page_size": 2})
    env = driver_env(aws, slack)
    body, headers = signed_command(slack, f"  {FN}   {RID} ")
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    msg = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], r.out and r.out["content_type"], msg.get("response_type")),
         (200, "application/json", "ephemeral"), "Slack thread: answered at once, ephemeral")
    t.ok("Searching" in msg.get("text", "") and FN in msg.get("text", ""), "Slack thread: says it is searching", msg)
    posts = slack.posts()
    t.eq([p["path"] for p in posts], ["/commands/T1/42/abc"], "Slack thread: the result went to response_url")
    text = posts[0]["body"]["text"] if posts else ""
    t.eq(posts and posts[0]["body"].get("response_type"), "ephemeral", "Slack thread: result is ephemeral")
    t.ok(f"*Request `{RID}` in `/aws/lambda/{FN}`*: 5 lines" in text, "Slack thread: titled with the count", text)
    t.ok("&lt;@U123&gt; &amp; friends" in text and "<@U123>" not in text, "Slack thread: log text escaped (no mentions)", text)
    t.ok(text.index("START") < text.index("INFO") < text.index("END") < text.index("REPORT"), "Slack thread: lines sorted", text)
    t.eq([c["service"] for c in aws.requests()], ["logs"] * 3, "Slack thread: searched (3 pages), no Lambda Invoke")


def test_slack_async_on_lambda(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    aws.control("lambda/fixture", {"functions": [{"name": SELF, "code_size": 1000}]})
    env = driver_env(aws, slack, AWS_LAMBDA_FUNCTION_NAME=SELF)
    body, headers = signed_command(slack, f"{FN} {RID}")
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body)
    t.eq(r.out and r.out["status"], 200, "Slack on Lambda: 200 at once")
    inv = aws.control("lambda/invocations")
    t.eq([(i["function"], i["invocation_type"]) for i in inv], [(SELF, "Event")], "Slack on Lambda: invoked itself with InvocationType Event")
    payload = inv[0]["payload"] if inv else {}
    d = payload.get("detail", {})
    t.eq((payload.get("source"), payload.get("detail-type"), d.get("functions"), d.get("request_id"), d.get("response_url")),
         ("ebssh", "ebssh.logsearch", FN, RID, slack.url + "/commands/T1/42/abc"), "Slack on Lambda: the payload carries the search")
    t.eq(slack.posts(), [], "Slack on Lambda: nothing posted before the job runs")
    r = event(env, payload)
    t.eq(r.out and (r.out["kind"], r.out["handled"], r.out["rc"]), ("eventbridge", True, 0), "Slack on Lambda: the runtime's job runs")
    posts = slack.posts()
    t.ok(len(posts) == 1 and "5 lines" in posts[0]["body"]["text"], "Slack on Lambda: the job posted the result", posts)
    # Without a function name and without threads there is no way to run it.
    r = route(driver_env(aws, slack), "POST", "/slack/logsearch", headers=headers, body=body)
    t.eq(r.out and r.out["status"], 503, "Slack: no AWS_LAMBDA_FUNCTION_NAME and no threads: 503")


def test_slack_through_the_alias(t, aws, slack):
    """Under the real bootstrap: the job invokes the ARN the function was invoked as (the
    alias "live" API Gateway invokes, whose invoke config keeps a failed job), never $LATEST."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from runtime import Session, v1_event  # noqa: E402

    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    aws.control("lambda/fixture", {"functions": [{"name": SELF, "code_size": 1000, "aliases": ["live"]}]})
    alias_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{SELF}:live"
    env = driver_env(aws, slack, AWS_LAMBDA_FUNCTION_NAME=SELF)
    s = Session(aws, **{k: env[k] for k in ("SLACK_SIGNING_SECRET", "SLACK_WEBHOOK_URL", "EBSSH_SLACK_RESPONSE_URL_PREFIX",
                                            "LOGSEARCH_FUNCTIONS", "SLACK_TEAM_IDS")},
                AWS_LAMBDA_FUNCTION_NAME=SELF)
    try:
        body, headers = signed_command(slack, f"{FN} {RID}")
        entry = s.last({"event": v1_event("POST", "/slack/logsearch", headers=headers, body=body),
                        "function_arn": alias_arn})
        status = json.loads(entry["body"]).get("statusCode") if entry and entry["kind"] == "response" else None
        t.ok(status == 200, "Slack through bootstrap: 200 at once", entry and entry["body"][:300])
        inv = aws.control("lambda/invocations")
        t.eq([(i["target"], i["qualifier"], i["invocation_type"]) for i in inv], [(alias_arn, "live", "Event")],
             "Slack through bootstrap: the job invokes the alias ARN it was invoked as, not $LATEST")
        body, headers = signed_command(slack, f"{FN} {RID}")  # a new command: the same one again is a replay
        plain = s.last({"event": v1_event("POST", "/slack/logsearch", headers=headers, body=body),
                        "function_arn": f"arn:aws:lambda:eu-west-1:123456789012:function:{SELF}"})
        t.ok(plain and plain["kind"] == "response", "Slack through bootstrap: invoked unqualified, answered")
        inv = aws.control("lambda/invocations")
        t.eq([(i["target"], i["qualifier"]) for i in inv][1:], [(f"arn:aws:lambda:eu-west-1:123456789012:function:{SELF}", None)],
             "Slack through bootstrap: the next invocation's ARN, not the first one's")
    finally:
        rc = s.close()
    t.ok(rc == 1, "Slack through bootstrap: bootstrap stops", rc)


def test_slack_long_and_failed(t, aws, slack):
    aws.reset()
    slack.clear()
    t0 = NOW_MS - 600000
    many = [{"timestamp": t0 + i, "stream": "s", "message": f"{RID} line {i} " + "x" * 100} for i in range(300)]
    aws.control("logs/fixture", {"groups": {f"/aws/lambda/{FN}": many}})
    env = driver_env(aws, slack)
    body, headers = signed_command(slack, f"{FN} {RID}")
    route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    posts = slack.posts()
    texts = [p["body"]["text"] for p in posts]
    t.eq(len(posts), 4, "long result: split over at most 4 messages")
    t.ok(all(len(x) <= 3000 for x in texts), "long result: every message within 3000 characters", [len(x) for x in texts])
    t.ok(texts and "more lines not shown_" in texts[-1], "long result: trimmed with a note", texts[-1:] )
    slack.clear()
    body, headers = signed_command(slack, f"gone {RID}")
    route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    posts = slack.posts()
    t.ok(len(posts) == 1 and "No log group `/aws/lambda/gone`" in posts[0]["body"]["text"], "failed search: the reason is posted", posts)


def test_secrets_stay_out(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    env = driver_env(aws, slack)
    slack.queue_faults(["500", "500", "500"])
    body, headers = signed_command(slack, f"{FN} {RID}")
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    t.eq(len(slack.posts()), 3, "response_url failing: tried 3 times")
    t.ok("/commands/" not in r.stdout + r.stderr and WEBHOOK_SECRET not in r.stdout + r.stderr,
         "response_url failing: no URL in the output or the log", r.stderr)
    failed = []
    for line in r.stderr.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and d.get("job") == "logsearch":
            failed.append(d)
    t.ok(len(failed) == 1 and failed[0].get("level") == "ERROR" and failed[0].get("time")
         and failed[0].get("message") == "log search job failed"
         and isinstance(failed[0].get("error"), str) and failed[0].get("status") == 500,
         "response_url failing: the job's failure is logged (a JSON line, level ERROR)", r.stderr)


# ---- issue 15: log search cannot become grep over all logs ----

NOT_IDS = ["ERROR", "abcdefgh", "c0ffee00-1111-2222-3333-44445555666", "c0ffee00-1111-2222-3333-4444555566667",
           "c0ffee00-1111-2222-3333-44445555666g", "c0ffee0011112222333344445555666600000"]


def ephemeral_text(r):
    msg = json.loads(r.out["body"]) if r.out and r.out["status"] == 200 else {}
    return msg.get("response_type"), msg.get("text", "")


def test_request_ids_are_uuids(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    env = driver_env(aws, slack)
    for rid in NOT_IDS:
        r = route(env, "GET", f"/logs/{FN}/{rid}")
        body = json.loads(r.out["body"]) if r.out else {}
        t.eq((r.out and r.out["status"], body.get("code")), (400, "InvalidRequestId"), f"not a UUID: GET /logs/{FN}/{rid} -> 400")
    t.ok("UUID" in body.get("message", ""), "not a UUID: the message says what an id is", body)
    r = route(env, "GET", f"/logs/{FN}/{RID.upper()}")
    t.eq(r.out and r.out["status"], 200, "an upper-case UUID is a request id too")
    t.eq(logs_calls(aws)[-1]["params"].get("filterPattern"), f'"{RID}"', "searched in lower case, as Lambda logs ids")
    aws.reset()
    aws.control("logs/fixture", fixture())
    for text in ("ERROR", f"{FN} ERROR", f"{FN} abcdefgh", "*"):
        body, headers = signed_command(slack, text)
        r = route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
        kind, msg = ephemeral_text(r)
        t.ok(kind == "ephemeral" and "Usage" in msg and "UUID" in msg, f"Slack: /logsearch {text} -> the usage", r)
    t.eq((logs_calls(aws), slack.posts()), ([], []), "not a UUID: no AWS call, nothing posted")


def test_route_allow_list(t, aws, slack):
    aws.reset()
    aws.control("logs/fixture", {"groups": {f"/aws/lambda/{FN}": fixture()["groups"][f"/aws/lambda/{FN}"],
                                            "/aws/lambda/secret-fn": fixture()["groups"][f"/aws/lambda/{FN}"]}})
    r = route(driver_env(aws, slack), "GET", f"/logs/secret-fn/{RID}")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("code")), (403, "Forbidden"), "GET /logs: a function outside LOGSEARCH_FUNCTIONS -> 403")
    t.ok("LOGSEARCH_FUNCTIONS" in body.get("message", ""), "GET /logs: the refusal names the rule", body)
    r = route(driver_env(aws, slack, LOGSEARCH_FUNCTIONS=None), "GET", f"/logs/{FN}/{RID}")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("code")), (503, "NotConfigured"),
         "GET /logs: no LOGSEARCH_FUNCTIONS and no function name -> 503 (log search off)")
    t.eq(logs_calls(aws), [], "GET /logs: refused by the allow-list before any AWS call")
    # The default: the function itself, and nothing else.
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS=None, AWS_LAMBDA_FUNCTION_NAME="secret-fn")
    t.eq(route(env, "GET", f"/logs/secret-fn/{RID}").out["status"], 200, "default allow-list: the function's own logs")
    t.eq(route(env, "GET", f"/logs/{FN}/{RID}").out["status"], 403, "default allow-list: no other function's")
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS="other,secret-*")
    t.eq(route(env, "GET", f"/logs/secret-fn/{RID}").out["status"], 200, "a pattern of LOGSEARCH_FUNCTIONS allows its matches")
    t.eq([c["params"]["logGroupName"] for c in logs_calls(aws)], ["/aws/lambda/secret-fn"] * 2,
         "only the allowed groups were searched")


def fixture_two():
    """RID logged by two allowed functions (my-fn and app-b)."""
    base = fixture()["groups"][f"/aws/lambda/{FN}"]
    t0 = NOW_MS - 3600 * 1000 + 400  # between my-fn's ERROR and END lines
    return {"groups": {f"/aws/lambda/{FN}": base,
                       "/aws/lambda/app-b": [{"timestamp": t0, "stream": "s-b", "message": f"{RID}\tINFO\tfrom app-b\n"}],
                       "/aws/lambda/secret-fn": base,
                       "/aws/lambda/quiet": []}}


def test_one_argument_form(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture_two())
    allowed = f"{FN},app-*,app-b,quiet,nope"
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS=allowed)
    body, headers = signed_command(slack, f"  {RID} ")
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    kind, msg = ephemeral_text(r)
    t.ok(kind == "ephemeral" and "Searching" in msg and f"{FN},app-b,quiet,nope" in msg,
         "one argument: answered at once, naming the functions it searches", r)
    groups = sorted({c["params"]["logGroupName"] for c in logs_calls(aws)})
    t.eq(groups, sorted(f"/aws/lambda/{n}" for n in (FN, "app-b", "quiet", "nope")),
         "one argument: every name of LOGSEARCH_FUNCTIONS searched (patterns not expanded), no other group")
    posts = slack.posts()
    text = posts[0]["body"]["text"] if posts else ""
    t.ok(len(posts) == 1 and f"*Request `{RID}` in 4 functions*: 6 lines" in text, "one argument: one answer, lines of all", text)
    t.ok("from app-b" in text and "START" in text and f"  app-b  s-b  {RID}" in text and f"  {FN}  " in text,
         "one argument: each line names its function", text)
    t.ok(text.index("ERROR") < text.index("from app-b") < text.index("END"), "one argument: lines merged by time", text)
    t.ok("No log group (never logged): `nope`" in text, "one argument: a function that never logged is named", text)
    # On Lambda: the self-invocation carries the names.
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture_two())
    aws.control("lambda/fixture", {"functions": [{"name": SELF, "code_size": 1000}]})
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS=allowed, AWS_LAMBDA_FUNCTION_NAME=SELF)
    body, headers = signed_command(slack, RID)
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body)
    inv = aws.control("lambda/invocations")
    payload = inv[0]["payload"] if inv else {}
    t.eq(payload.get("detail", {}).get("functions"), f"{FN},app-b,quiet,nope", "one argument on Lambda: the job names the functions")
    r = event(env, payload)
    posts = slack.posts()
    t.ok(r.out and r.out["rc"] == 0 and len(posts) == 1 and "6 lines" in posts[0]["body"]["text"],
         "one argument on Lambda: the job searched them and posted", (r, posts))
    # Read back under a narrower list (a forged or stale event): refused, nothing searched.
    aws.reset()
    slack.clear()
    r = event(driver_env(aws, slack, LOGSEARCH_FUNCTIONS=FN, AWS_LAMBDA_FUNCTION_NAME=SELF), payload)
    t.ok(r.out and r.out["rc"] != 0 and logs_calls(aws) == [] and slack.posts() == [],
         "a job naming a function outside the allow-list is refused", r)
    # Only patterns: the one-argument form cannot list them.
    aws.reset()
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS="app-*")
    body, headers = signed_command(slack, RID)
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    kind, msg = ephemeral_text(r)
    t.ok(kind == "ephemeral" and "only patterns" in msg, "one argument, only patterns: says to name the function", r)
    t.eq((aws.requests(), slack.posts()), ([], []), "one argument, only patterns: no AWS call")


def test_slack_function_allow_list(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture_two())
    aws.control("lambda/fixture", {"functions": [{"name": SELF, "code_size": 1000}]})
    env = driver_env(aws, slack, AWS_LAMBDA_FUNCTION_NAME=SELF)
    body, headers = signed_command(slack, f"secret-fn {RID}")
    r = route(env, "POST", "/slack/logsearch", headers=headers, body=body)
    kind, msg = ephemeral_text(r)
    t.ok(kind == "ephemeral" and "'secret-fn' is not one LOGSEARCH_FUNCTIONS allows" in msg,
         "Slack: a function outside the allow-list is refused, naming the rule", r)
    t.eq((aws.requests(), aws.control("lambda/invocations"), slack.posts()), ([], [], []),
         "Slack: refused by the allow-list: no search, no invocation")


def test_slack_teams_and_channels(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    cases = [
        ({}, "T2", "C1", "This Slack workspace is not one SLACK_TEAM_IDS allows", "another team"),
        ({"SLACK_TEAM_IDS": None}, "T1", "C1", "SLACK_TEAM_IDS is not set", "no SLACK_TEAM_IDS: every team"),
        ({"SLACK_CHANNEL_IDS": "C9,C8"}, "T1", "C1", "not allowed in this channel (SLACK_CHANNEL_IDS)", "another channel"),
        ({"SLACK_TEAM_IDS": "T0,T1"}, "T11", "C1", "SLACK_TEAM_IDS", "a team id that only starts like an allowed one"),
    ]
    for extra, team, channel, want, what in cases:
        body, headers = signed_command(slack, f"{FN} {RID}", team=team, channel=channel)
        r = route(driver_env(aws, slack, **extra), "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
        kind, msg = ephemeral_text(r)
        t.ok(kind == "ephemeral" and want in msg, f"Slack: {what} refused with a clear reply", r)
        t.ok('"Slack command refused' in r.stderr and f'"team_id":"{team}"' in r.stderr, f"Slack: {what}: a warning line names the team", r.stderr)
    t.eq((aws.requests(), slack.posts()), ([], []), "Slack: refused teams and channels: no AWS call, nothing posted")
    body, headers = signed_command(slack, f"{FN} {RID}", channel="C8")
    r = route(driver_env(aws, slack, SLACK_CHANNEL_IDS="C9,C8"), "POST", "/slack/logsearch", headers=headers, body=body, run_async=True)
    t.ok(ephemeral_text(r)[1].startswith("Searching") and len(slack.posts()) == 1, "Slack: an allowed channel of an allowed team searches", r)


def route_repeat(env, headers, body, n):
    args = ["route", "POST", "/slack/logsearch"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    r = _run(env, args + ["-f", "-", "--repeat", str(n), "--async"], stdin=body)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_slack_replay(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    body, headers = signed_command(slack, f"{FN} {RID}")
    outs = route_repeat(driver_env(aws, slack), headers, body, 3)
    codes = [(o["status"], json.loads(o["body"]).get("code") if o["status"] != 200 else None) for o in outs]
    t.eq(codes, [(200, None), (401, "Replayed"), (401, "Replayed")], "replay: the same signed request again in one process is refused")
    t.eq(len(slack.posts()), 1, "replay: searched once")
    # A bad signature is not recorded: the good one after it still passes.
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    body, headers = signed_command(slack, f"{FN} {RID}")
    outs = route_repeat(driver_env(aws, slack), dict(headers, **{"X-Slack-Signature": "v0=" + "0" * 64}), body, 2)
    t.eq([o["status"] for o in outs], [401, 401], "replay: a wrong signature is refused each time")
    t.ok(all(json.loads(o["body"]).get("code") == "InvalidSignature" for o in outs), "replay: as a bad signature, not a replay", outs)


def http(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_through_ebssh_api(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture())
    try:
        # GET /logs is an ops route: "k3y" is the ops key (the lookup key differs).
        api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", "l00kup"],
                        dict(driver_env(aws, slack), EBSSH_OPS_API_KEY="k3y"), timeout=15)
    except RuntimeError as e:
        t.ok(False, "ebssh-api: started", e)
        return
    t.ok(True, "ebssh-api: started")
    try:
        base = api.url
        status, text, _ = http(f"{base}/logs/{FN}/{RID}", headers={"x-api-key": "k3y"})
        t.eq((status, text), (200, expected_text()), "ebssh-api: GET /logs answers the lines")
        t.eq(http(f"{base}/logs/{FN}/{RID}")[0], 403, "ebssh-api: GET /logs needs the API key")
        t.eq(http(f"{base}/logs/{FN}/{RID}", headers={"x-api-key": "l00kup"})[0], 403,
             "ebssh-api: GET /logs refuses the lookup key (an ops route)")
        body, headers = signed_command(slack, f"{FN} {RID}")
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.eq((status, json.loads(text).get("response_type") if status == 200 else text), (200, "ephemeral"),
             "ebssh-api: the Slack command is answered at once, with no API key (Slack signs)")
        posts = []
        deadline = time.monotonic() + 20
        while not posts and time.monotonic() < deadline:
            time.sleep(0.1)
            posts = slack.posts()
        t.ok(len(posts) == 1 and "5 lines" in posts[0]["body"]["text"], "ebssh-api: a worker thread posted the result", posts)
        t.eq([i for i in aws.control("lambda/invocations")], [], "ebssh-api: no Lambda Invoke")
        # A job that fails logs with the id ebssh-api answered the command with.
        slack.clear()
        slack.queue_faults(["500", "500", "500"])
        body, headers = signed_command(slack, f"{FN} {RID}")
        req = urllib.request.Request(f"{base}/slack/logsearch", data=body.encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=15) as r:
            answered_id = r.headers.get("x-amzn-RequestId")
        failed = []
        deadline = time.monotonic() + 20
        while not failed and time.monotonic() < deadline:
            time.sleep(0.1)
            for line in api.stderr().splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if isinstance(d, dict) and d.get("message") == "log search job failed":
                    failed.append(d)
        t.ok(answered_id and len(failed) == 1 and failed[0].get("request_id") == answered_id,
             "ebssh-api: the failed job's log line carries the command's x-amzn-RequestId", (answered_id, failed))
    finally:
        rc = api.stop(timeout=30)
    err = api.stderr()
    t.ok(rc == 0 and "Sanitizer" not in err and "runtime error" not in err, "ebssh-api: stopped cleanly", err[-3000:])


def wait_posts(slack, n=1, seconds=20):
    posts = []
    deadline = time.monotonic() + seconds
    while len(posts) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        posts = slack.posts()
    return posts


def test_ebssh_api_issue15(t, aws, slack):
    aws.reset()
    slack.clear()
    aws.control("logs/fixture", fixture_two())
    env = driver_env(aws, slack, LOGSEARCH_FUNCTIONS=f"{FN},app-b")
    try:
        api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", "l00kup"], dict(env, EBSSH_OPS_API_KEY="k3y"),
                        timeout=15)
    except RuntimeError as e:
        t.ok(False, "ebssh-api (issue 15): started", e)
        return
    try:
        base = api.url
        key = {"x-api-key": "k3y"}
        status, text, _ = http(f"{base}/logs/{FN}/ERROR", headers=key)
        t.eq((status, json.loads(text).get("code")), (400, "InvalidRequestId"), "ebssh-api: a non-UUID id -> 400")
        status, text, _ = http(f"{base}/logs/secret-fn/{RID}", headers=key)
        t.eq((status, json.loads(text).get("code")), (403, "Forbidden"), "ebssh-api: a function outside LOGSEARCH_FUNCTIONS -> 403")
        body, headers = signed_command(slack, f"{FN} ERROR")
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.ok(status == 200 and "Usage" in json.loads(text).get("text", ""), "ebssh-api: Slack, a non-UUID id -> the usage", text)
        body, headers = signed_command(slack, f"secret-fn {RID}")
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.ok(status == 200 and "LOGSEARCH_FUNCTIONS" in json.loads(text).get("text", ""), "ebssh-api: Slack, a function outside the list refused", text)
        body, headers = signed_command(slack, f"{FN} {RID}", team="T2")
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.ok(status == 200 and "SLACK_TEAM_IDS" in json.loads(text).get("text", ""), "ebssh-api: Slack, another team refused", text)
        t.eq((logs_calls(aws), slack.posts()), ([], []), "ebssh-api: the refusals made no AWS call and posted nothing")
        body, headers = signed_command(slack, RID)
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.ok(status == 200 and "Searching" in json.loads(text).get("text", ""), "ebssh-api: one argument answered at once", text)
        posts = wait_posts(slack)
        t.ok(len(posts) == 1 and f"*Request `{RID}` in 2 functions*: 6 lines" in posts[0]["body"]["text"],
             "ebssh-api: one argument searched both allowed functions", posts)
        t.eq(sorted({c["params"]["logGroupName"] for c in logs_calls(aws)}), sorted([f"/aws/lambda/{FN}", "/aws/lambda/app-b"]),
             "ebssh-api: one argument: the allowed groups only")
        status, text, _ = http(f"{base}/slack/logsearch", "POST", body, headers)
        t.eq((status, json.loads(text).get("code") if status != 200 else text), (401, "Replayed"),
             "ebssh-api: the same signed request again -> 401 Replayed")
        time.sleep(0.5)
        t.eq(len(slack.posts()), 1, "ebssh-api: the replay searched nothing")
    finally:
        rc = api.stop(timeout=30)
    t.ok(rc == 0 and "Sanitizer" not in api.stderr(), "ebssh-api (issue 15): stopped cleanly", api.stderr()[-2000:])
    # Without SLACK_TEAM_IDS: it starts (the lookups do not depend on Slack), warns, refuses every Slack request.
    slack.clear()
    aws.reset()
    try:
        api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", "l00kup"],
                        dict(driver_env(aws, slack, SLACK_TEAM_IDS=None), EBSSH_OPS_API_KEY="k3y"), timeout=15)
    except RuntimeError as e:
        t.ok(False, "ebssh-api without SLACK_TEAM_IDS: started", e)
        return
    try:
        body, headers = signed_command(slack, f"{FN} {RID}")
        status, text, _ = http(f"{api.url}/slack/logsearch", "POST", body, headers)
        t.ok(status == 200 and "SLACK_TEAM_IDS is not set" in json.loads(text).get("text", ""),
             "ebssh-api without SLACK_TEAM_IDS: the Slack request refused with a clear reply", text)
    finally:
        api.stop(timeout=30)
    t.ok("SLACK_TEAM_IDS is not" in api.stderr() and "every Slack request will be refused" in api.stderr(),
         "ebssh-api without SLACK_TEAM_IDS: a warning at start", api.stderr()[-2000:])
    t.eq((aws.requests(), slack.posts()), ([], []), "ebssh-api without SLACK_TEAM_IDS: nothing searched")


def main():
    t = Tap()
    with AwsDouble() as aws, SlackDouble() as slack:
        for fn in (
            test_search_over_pages,
            test_window_and_json,
            test_refused_before_any_call,
            test_not_found_and_faults,
            test_slack_signatures,
            test_slack_async_on_a_thread,
            test_slack_async_on_lambda,
            test_slack_through_the_alias,
            test_slack_long_and_failed,
            test_secrets_stay_out,
            test_request_ids_are_uuids,
            test_route_allow_list,
            test_one_argument_form,
            test_slack_function_allow_list,
            test_slack_teams_and_channels,
            test_slack_replay,
            test_through_ebssh_api,
            test_ebssh_api_issue15,
        ):
            t.run(fn, aws, slack)
    t.eq(sanitizer_reports(), [], "the driver ran clean (no sanitizer report, no crash)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
