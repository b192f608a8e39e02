"""Issue 7 end to end: GET /logs/{function}/{request_id} and POST
/slack/logsearch through the router (build/tests/ops_driver) against the
AWS double (CloudWatch Logs FilterLogEvents over pages, Lambda Invoke) and
the Slack double (response_url posts). TAP on stdout."""

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
from opsenv import SELF, WEBHOOK_SECRET, driver_env, event, route, sanitizer_reports, slack_headers  # noqa: E402
from slack_double import SlackDouble  # noqa: E402
from tap import Tap  # noqa: E402

FN = "my-fn"
RID = "c0ffee00-1111-2222-3333-444455556666"
OTHER = "deadbeef-0000-0000-0000-000000000000"
NOW_MS = int(time.time() * 1000)


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


def signed_command(slack, text, ts=None):
    body = (
        "token=x&team_id=T1&team_domain=t&channel_id=C1&channel_name=c&user_id=U2CERLKJA&user_name=me"
        f"&command=%2Flogsearch&text={quote(text)}&response_url={quote(slack.url + '/commands/T1/42/abc', safe='')}"
        "&trigger_id=1.2.3"
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
    t.eq((payload.get("source"), payload.get("detail-type"), d.get("function"), d.get("request_id"), d.get("response_url")),
         ("ebssh", "ebssh.logsearch", FN, RID, slack.url + "/commands/T1/42/abc"), "Slack on Lambda: the payload carries the search")
    t.eq(slack.posts(), [], "Slack on Lambda: nothing posted before the job runs")
    r = event(env, payload)
    t.eq(r.out and (r.out["kind"], r.out["handled"], r.out["rc"]), ("eventbridge", True, 0), "Slack on Lambda: the runtime's job runs")
    posts = slack.posts()
    t.ok(len(posts) == 1 and "5 lines" in posts[0]["body"]["text"], "Slack on Lambda: the job posted the result", posts)
    # Without a function name and without threads there is no way to run it.
    r = route(driver_env(aws, slack), "POST", "/slack/logsearch", headers=headers, body=body)
    t.eq(r.out and r.out["status"], 503, "Slack: no AWS_LAMBDA_FUNCTION_NAME and no threads: 503")


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
        api = ApiServer(["--listen", "127.0.0.1:0", "--api-key", "k3y"], driver_env(aws, slack), timeout=15)
    except RuntimeError as e:
        t.ok(False, "ebssh-api: started", e)
        return
    t.ok(True, "ebssh-api: started")
    try:
        base = api.url
        status, text, _ = http(f"{base}/logs/{FN}/{RID}", headers={"x-api-key": "k3y"})
        t.eq((status, text), (200, expected_text()), "ebssh-api: GET /logs answers the lines")
        t.eq(http(f"{base}/logs/{FN}/{RID}")[0], 403, "ebssh-api: GET /logs needs the API key")
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
    finally:
        rc = api.stop(timeout=30)
    err = api.stderr()
    t.ok(rc == 0 and "Sanitizer" not in err and "runtime error" not in err, "ebssh-api: stopped cleanly", err[-3000:])


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
            test_slack_long_and_failed,
            test_secrets_stay_out,
            test_through_ebssh_api,
        ):
            t.run(fn, aws, slack)
    t.eq(sanitizer_reports(), [], "the driver ran clean (no sanitizer report, no crash)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
