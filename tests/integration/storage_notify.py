"""Issue 8 end to end through build/tests/ops_driver: GET /lambda/storage
(ListFunctions and ListVersionsByFunction over pages, GetAccountSettings),
the scheduled storage metric (PutMetricData into the AWS double), and the
CodePipeline and CloudWatch Logs notifications posted to the Slack double,
with 429/5xx retries and the webhook URL kept out of every output. TAP."""

import json
import os
import sys

ROOT = os.environ.get("EBSSH_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VECTORS = os.environ.get("EBSSH_VECTORS", os.path.join(ROOT, "tests", "vectors"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "doubles"))

from harness import AwsDouble  # noqa: E402
from opsenv import WEBHOOK_SECRET, driver_env, event, route, sanitizer_reports  # noqa: E402
from slack_double import SlackDouble  # noqa: E402
from tap import Tap  # noqa: E402

LIMIT = 80530636800
FUNCTIONS = {
    "functions": [
        {"name": "api", "code_size": 5_000_000, "versions": [{"version": "1", "code_size": 4_000_000}, {"version": "2", "code_size": 5_000_000}]},
        {"name": "worker", "code_size": 20_000_000},
        {"name": "cron", "code_size": 1_000, "versions": [{"version": str(v), "code_size": 900 + v} for v in range(1, 6)]},
        {"name": "tiny", "code_size": 10},
    ],
    "account": {"total_code_size_limit": LIMIT},
}
TOTAL = 5_000_000 + 4_000_000 + 5_000_000 + 20_000_000 + 1_000 + sum(900 + v for v in range(1, 6)) + 10


def vector(rel):
    with open(os.path.join(VECTORS, rel), encoding="utf-8") as f:
        return json.load(f)


def test_storage_report(t, aws, slack):
    aws.reset()
    aws.control("lambda/fixture", FUNCTIONS)
    aws.control("lambda/config", {"page_size": 2})
    env = driver_env(aws, slack)
    r = route(env, "GET", "/lambda/storage")
    t.eq((r.out and r.out["status"], r.out and r.out["content_type"]), (200, "application/json"), "storage: 200 JSON by default")
    body = json.loads(r.out["body"]) if r.out else {}
    rows = [(v["function"], v["version"], v["code_size"]) for v in body.get("versions", [])]
    t.eq(rows[:4], [("worker", "$LATEST", 20_000_000), ("api", "$LATEST", 5_000_000), ("api", "2", 5_000_000), ("api", "1", 4_000_000)],
         "storage: biggest first, ties by function then version")
    t.eq(rows[-1], ("tiny", "$LATEST", 10), "storage: smallest last")
    t.eq(len(rows), 3 + 1 + 6 + 1, "storage: every function and every published version, across pages")
    t.eq((body.get("total_bytes"), body.get("limit_bytes"), body.get("functions"), body.get("region")),
         (TOTAL, LIMIT, 4, "us-east-1"), "storage: total, limit, function count, region")
    t.eq(body.get("percent_of_limit"), round(TOTAL * 100 / LIMIT, 3), "storage: share of the limit")
    t.eq(body.get("account_usage_bytes"), TOTAL, "storage: the account's own usage beside it")
    calls = [(c["action"], c["query"]) for c in aws.requests()]
    lists = [q for a, q in calls if a == "ListFunctions"]
    t.eq(lists, ["MaxItems=50", lists[1] if len(lists) > 1 else None], "storage: ListFunctions followed NextMarker")
    t.ok(len(lists) == 2 and lists[1].startswith("Marker=") and lists[1].endswith("&MaxItems=50"), "storage: Marker sent sorted before MaxItems", lists)
    cron = [c["path"] for c in aws.requests() if c["action"] == "ListVersionsByFunction" and "cron" in c["path"]]
    t.eq(len(cron), 3, "storage: ListVersionsByFunction paged (6 versions, 2 a page)")
    t.ok(all(c["verified"] for c in aws.requests()), "storage: every call signed")

    r = route(env, "GET", "/lambda/storage", headers={"Accept": "text/plain"})
    t.eq((r.out and r.out["status"], r.out and r.out["content_type"]), (200, "text/plain; charset=utf-8"), "storage: text on Accept: text/plain")
    lines = r.out["body"].splitlines() if r.out else []
    t.ok(lines and lines[0].startswith("Lambda code storage in us-east-1: 32.4 MiB of 75.0 GiB (0.0 %), 4 functions, 11 versions"), "storage: text head line", lines[:1])
    t.eq(lines[1:3], ["  19.1 MiB  worker:$LATEST", "   4.8 MiB  api:$LATEST"], "storage: text rows biggest first")
    r = route(env, "GET", "/lambda/storage", headers={"Accept": "*/*"})
    t.eq(r.out and r.out["content_type"], "application/json", "storage: */* gets JSON")


def test_storage_errors(t, aws, slack):
    aws.reset()
    aws.control("lambda/fixture", FUNCTIONS)
    env = driver_env(aws, slack)
    aws.queue_faults("GetAccountSettings", ["throttle"] * 3)
    r = route(env, "GET", "/lambda/storage")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("code")), (503, "Throttled"), "storage: Lambda throttling 3 times: 503")
    t.ok("TooManyRequestsException" in body.get("message", ""), "storage: Lambda's 429 code named", body)
    aws.queue_faults("ListFunctions", ["throttle"])
    r = route(env, "GET", "/lambda/storage")
    t.eq(r.out and r.out["status"], 200, "storage: one 429 is retried")
    aws.queue_faults("ListVersionsByFunction", ["error:ResourceNotFoundException:404:Function not found"])
    r = route(env, "GET", "/lambda/storage")
    body = json.loads(r.out["body"]) if r.out else {}
    t.eq((r.out and r.out["status"], body.get("functions")), (200, 3), "storage: a function deleted meanwhile is left out")


def scheduled(rule):
    ev = vector("events/eventbridge/scheduled-event-docs.json")
    ev["resources"] = [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"]
    return ev


def test_storage_metric(t, aws, slack):
    aws.reset()
    aws.control("lambda/fixture", FUNCTIONS)
    env = driver_env(aws, slack)
    r = event(env, scheduled("ebssh-prod-lambda-storage"))
    t.eq(r.out and (r.out["kind"], r.out["handled"], r.out["rc"]), ("scheduled", True, 0), "metric: the storage rule is handled")
    data = aws.control("monitoring/data")
    t.eq([(d["namespace"], d["metric_name"], d["unit"]) for d in data],
         [("ebssh", "LambdaCodeStorageBytes", "Bytes"), ("ebssh", "LambdaCodeStorageLimitPercent", "Percent")], "metric: bytes and percent in namespace ebssh")
    t.eq(data[0]["value"] if data else None, float(TOTAL), "metric: the total in bytes")
    t.ok(data and abs(data[1]["value"] - TOTAL * 100 / LIMIT) < 1e-9, "metric: the share of the limit", data)
    put = [c for c in aws.requests() if c["service"] == "monitoring"]
    t.ok(len(put) == 1 and put[0]["verified"] and put[0]["params"].get("Version") == "2010-08-01", "metric: one signed Query call", put)
    aws.control("monitoring/data", method="DELETE")
    r = event(env, scheduled("ebssh-nightly-report"))
    t.eq(r.out and r.out["handled"], False, "metric: a rule of no workflow is not handled")
    r = event(env, vector("events/eventbridge/scheduled-event-docs.json"))
    t.eq(r.out and r.out["handled"], False, "metric: the documented sample rule (my-scheduled-rule) is not either")
    t.eq(aws.control("monitoring/data"), [], "metric: nothing put for them")
    aws.queue_faults("PutMetricData", ["error:InvalidParameterValue:400:bad"])
    r = event(env, scheduled("x-lambda-storage"))
    t.eq(r.out and (r.rc, r.out["error"]["aws_code"]), (1, "InvalidParameterValue"), "metric: a CloudWatch error fails the invocation")


def pipeline(state, execution="0123abcd-0123-0123-0123-0123456789ab", pipeline_name="myPipeline"):
    return {
        "version": "0",
        "id": "01234567-0123-0123-0123-012345678901",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "source": "aws.codepipeline",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:codepipeline:us-east-1:123456789012:{pipeline_name}"],
        "detail": {"pipeline": pipeline_name, "execution-id": execution, "state": state, "version": 1},
    }


def test_codepipeline(t, aws, slack):
    slack.clear()
    env = driver_env(aws, slack)
    colours = {}
    for state in ("STARTED", "SUCCEEDED", "FAILED", "CANCELED", "SUPERSEDED", "RESUMED"):
        r = event(env, pipeline(state))
        t.eq(r.out and (r.out["kind"], r.out["rc"]), ("codepipeline", 1), f"pipeline {state}: one message posted")
    posts = slack.posts()
    t.eq({p["path"] for p in posts}, {f"/services/{WEBHOOK_SECRET}"}, "pipeline: posted to SLACK_WEBHOOK_URL")
    for p in posts:
        att = p["body"]["attachments"][0]
        colours[att["fields"][1]["value"]] = att["color"]
    t.eq(colours, {"STARTED": "good", "SUCCEEDED": "good", "FAILED": "danger", "CANCELED": "warning", "SUPERSEDED": "warning", "RESUMED": "warning"},
         "pipeline: coloured by state")
    att = posts[0]["body"]["attachments"][0] if posts else {}
    t.eq([(f["title"], f["value"]) for f in att.get("fields", [])],
         [("Pipeline", "myPipeline"), ("State", "STARTED"), ("Execution id", "0123abcd-0123-0123-0123-0123456789ab")], "pipeline: pipeline, state, execution id")
    t.eq(posts and posts[0]["content_type"], "application/json; charset=utf-8", "pipeline: posted as JSON")
    slack.clear()
    stage = pipeline("STARTED")
    stage["detail-type"] = "CodePipeline Stage Execution State Change"
    r = event(env, stage)
    t.eq((r.out and r.out["rc"], slack.posts()), (0, []), "pipeline: a stage change is not announced")
    job = vector("events/powertools-python/codePipelineEvent.json")
    r = event(env, job)
    t.eq((r.out and r.out["kind"], r.out and r.out["handled"], slack.posts()), ("codepipeline-job", False, []),
         "pipeline: a CodePipeline job (the vectors' sample) is not a notification")
    r = event(driver_env(aws, slack, SLACK_WEBHOOK_URL=None), pipeline("FAILED"))
    t.ok(r.rc == 1 and "SLACK_WEBHOOK_URL" in r.out["error"]["message"], "pipeline: no SLACK_WEBHOOK_URL fails clearly", r)


def test_logs_subscription(t, aws, slack):
    slack.clear()
    sample = vector("events/powertools-python/cloudWatchLogEvent.json")
    r = event(driver_env(aws, slack, NOTIFY_TZ="Europe/Paris"), sample)
    t.eq(r.out and (r.out["kind"], r.out["rc"]), ("logs", 1), "logs: one message posted")
    text = slack.posts()[0]["body"]["text"] if slack.posts() else ""
    t.ok(text.startswith("*CloudWatch Logs* `testLogGroup` / `testLogStream`: 2 events\n"), "logs: group and stream named", text)
    t.ok("2015-08-24 21:03:07.000 CEST  [ERROR] First test message" in text, "logs: times in NOTIFY_TZ (Europe/Paris)", text)
    t.ok("2015-08-24 21:03:07.001 CEST  [ERROR] Second test message" in text, "logs: every line", text)
    slack.clear()
    event(driver_env(aws, slack, NOTIFY_TZ=None), sample)
    text = slack.posts()[0]["body"]["text"] if slack.posts() else ""
    t.ok("2015-08-24 19:03:07.000 UTC  [ERROR] First" in text, "logs: UTC by default", text)
    slack.clear()
    event(driver_env(aws, slack, NOTIFY_TZ="Nowhere/Land"), sample)
    text = slack.posts()[0]["body"]["text"] if slack.posts() else ""
    t.ok("is not a known zone: times in UTC" in text and "19:03:07.000 UTC" in text, "logs: an unknown zone says so and uses UTC", text)
    # The function's own log group (a subscription on it would loop): nothing posted.
    slack.clear()
    r = event(driver_env(aws, slack, AWS_LAMBDA_LOG_GROUP_NAME="testLogGroup"), sample)
    t.eq((r.out and (r.out["kind"], r.out["rc"]), slack.posts()), (("logs", 0), []),
         "logs: the function's own log group (AWS_LAMBDA_LOG_GROUP_NAME) is never posted")
    slack.clear()
    r = event(driver_env(aws, slack, AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/other"), sample)
    t.eq(r.out and (r.out["kind"], r.out["rc"]), ("logs", 1), "logs: another function's log group is posted")


def test_retries(t, aws, slack):
    env = driver_env(aws, slack)
    slack.clear()
    slack.queue_faults(["429:1"])
    r = event(env, pipeline("FAILED"))
    posts = slack.posts()
    t.eq([p["status"] for p in posts], [429, 200], "429: retried")
    t.ok(len(posts) == 2 and posts[1]["time"] - posts[0]["time"] >= 0.95, "429: waited Retry-After (1 s)",
         [p["time"] for p in posts])
    slack.clear()
    slack.queue_faults(["500", "503"])
    r = event(env, pipeline("FAILED"))
    t.eq(([p["status"] for p in slack.posts()], r.out and r.out["rc"]), ([500, 503, 200], 1), "5xx: retried until it went through")
    slack.clear()
    slack.queue_faults(["429:3600"])
    r = event(env, pipeline("FAILED"))
    t.eq(([p["status"] for p in slack.posts()], r.rc, r.out and r.out["error"]["code"]), ([429], 1, "throttled"),
         "429 with a long Retry-After: not waited for, reported")
    slack.clear()
    slack.queue_faults(["error:404:no_service"])
    r = event(env, pipeline("FAILED"))
    t.ok(len(slack.posts()) == 1 and r.rc == 1 and "no_service" in r.out["error"]["message"], "404 no_service: not retried, Slack's word kept", r)
    slack.clear()
    slack.queue_faults(["500"] * 3)
    r = event(env, pipeline("FAILED"))
    t.eq(len(slack.posts()), 3, "5xx every time: 3 attempts")
    t.ok(WEBHOOK_SECRET not in r.stdout + r.stderr and "/services/" not in r.stdout + r.stderr, "5xx every time: the webhook URL is in no output", r)
    dead = driver_env(aws, slack, SLACK_WEBHOOK_URL=f"http://127.0.0.1:9/services/{WEBHOOK_SECRET}")
    r = event(dead, pipeline("FAILED"))
    t.ok(r.rc == 1 and r.out["error"]["code"] == "network", "unreachable webhook: a network error", r)
    t.ok(WEBHOOK_SECRET not in r.stdout + r.stderr and "127.0.0.1:9" not in r.stdout + r.stderr, "unreachable webhook: the URL is in no output", r)


def main():
    t = Tap()
    with AwsDouble() as aws, SlackDouble() as slack:
        for fn in (test_storage_report, test_storage_errors, test_storage_metric, test_codepipeline, test_logs_subscription, test_retries):
            t.run(fn, aws, slack)
    t.eq(sanitizer_reports(), [], "the driver ran clean (no sanitizer report, no crash)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
