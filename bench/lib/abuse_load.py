"""The abuse of bench/api_abuse.sh, from one process: N slow connections to
ebssh-api, each sending its request headers a byte at a time (a closed one is
opened again, as an attacker would), and M ops requests (GET /lambda/storage)
that the AWS double holds (its "hold" fault, queued by the caller).

    python3 abuse_load.py API_HOST API_PORT AWS_URL SLOW OPS EVERY_S OPS_KEY

Prints "READY" once every slow connection is open and the double holds all
M ops calls. On SIGTERM (the caller releases the holds first) it stops,
waits for the ops answers and prints one JSON line:
    {"slow_closed_by_server": n, "ops_status": [200, ...]}
"""

import http.client
import json
import signal
import socket
import sys
import threading
import time
import urllib.request


HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\n"
TAIL = b"X-Slow: abcdefghijklmnopqrstuvwxyz\r\n"


def main():
    host, port, aws_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    n_slow, n_ops, every = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    ops_key = sys.argv[7]  # bench/api_abuse.sh gives ebssh-api EBSSH_OPS_API_KEY
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    closed = [0]
    ops_status = []

    def slow():
        while not stop.is_set():
            try:
                s = socket.create_connection((host, port), timeout=30)
                s.sendall(HEAD)
                i = 0
                while not stop.wait(every):
                    s.send(TAIL[i % len(TAIL):i % len(TAIL) + 1])
                    i += 1
                s.close()
            except OSError:
                with lock:
                    closed[0] += 1

    def ops():
        try:
            c = http.client.HTTPConnection(host, port, timeout=600)
            c.request("GET", "/lambda/storage", headers={"x-api-key": ops_key})
            r = c.getresponse()
            r.read()
            st = r.status
            c.close()
        except OSError:
            st = 0
        with lock:
            ops_status.append(st)

    slow_threads = [threading.Thread(target=slow, daemon=True) for _ in range(n_slow)]
    ops_threads = [threading.Thread(target=ops, daemon=True) for _ in range(n_ops)]
    for t in slow_threads + ops_threads:
        t.start()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        held = json.loads(opener.open(aws_url + "/__control/held", timeout=10).read())["held"]
        if held >= n_ops:
            break
        time.sleep(0.05)
    print("READY", flush=True)
    stop.wait()
    for t in ops_threads:
        t.join(60)
    for t in slow_threads:
        t.join(5)
    with lock:
        print(json.dumps({"slow_closed_by_server": closed[0], "ops_status": sorted(ops_status)}),
              flush=True)


if __name__ == "__main__":
    main()
