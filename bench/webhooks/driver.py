#!/usr/bin/env python3
"""Times publishes to a running broker with 0 and then 10 webhooks.

The ten webhooks fire on every publication (contract_published): five call a
receiver that answers after a long delay, five call a port nothing listens on.
Publishing must not wait for them, so both series should show the same latency.
Standard library only; everything binds loopback.

    driver.py BROKER_URL [--requests N] [--max-seconds S]
"""

import argparse
import base64
import http.client
import http.server
import json
import socket
import statistics
import sys
import threading
import time
import urllib.parse


class SlowReceiver(http.server.BaseHTTPRequestHandler):
    delay = 5.0
    received = 0
    lock = threading.Lock()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with SlowReceiver.lock:
            SlowReceiver.received += 1
        time.sleep(SlowReceiver.delay)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pact(n):
    return {
        "consumer": {"name": "bench-web"},
        "provider": {"name": "bench-orders"},
        "interactions": [{
            "description": f"a request for order {n}",
            "request": {"method": "GET", "path": f"/orders/{n}"},
            "response": {"status": 200, "body": {"id": n}},
        }],
        "metadata": {"pactSpecification": {"version": "3.0.0"}},
    }


class Broker:
    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)

    def send(self, method, path, body):
        self.conn.request(method, path, body=json.dumps(body),
                          headers={"Content-Type": "application/json",
                                   "Accept": "application/hal+json"})
        response = self.conn.getresponse()
        text = response.read()
        if response.status >= 300:
            sys.exit(f"{method} {path} answered {response.status}: {text[:300]!r}")
        return json.loads(text) if text else None


def series(broker, label, start, requests, max_seconds):
    samples = []
    deadline = time.monotonic() + max_seconds
    for i in range(requests):
        if time.monotonic() > deadline:
            break
        n = start + i
        body = {
            "pacticipantName": "bench-web",
            "pacticipantVersionNumber": f"1.0.{n}",
            "branch": "main",
            "contracts": [{
                "consumerName": "bench-web", "providerName": "bench-orders",
                "specification": "pact", "contentType": "application/json",
                "content": base64.b64encode(json.dumps(pact(n)).encode()).decode(),
            }],
        }
        began = time.perf_counter()
        broker.send("POST", "/contracts/publish", body)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print(f"publish with {label}: n={len(samples)} mean={statistics.mean(samples):.2f} ms "
          f"p50={pick(0.50):.2f} ms p95={pick(0.95):.2f} ms p99={pick(0.99):.2f} ms "
          f"max={samples[-1]:.2f} ms")
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("broker")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    slow = f"http://127.0.0.1:{receiver.server_address[1]}/build"
    down = f"http://127.0.0.1:{closed_port()}/build"

    broker = Broker(args.broker)
    # Warm up (first publish creates the pacticipants).
    series(broker, "0 webhooks (warm-up)", 0, 20, args.max_seconds)
    series(broker, "0 webhooks", 1000, args.requests, args.max_seconds)
    for i in range(10):
        url = slow if i % 2 == 0 else down
        broker.send("POST", "/webhooks", {
            "description": f"bench hook {i}",
            "events": [{"name": "contract_published"}],
            "request": {"method": "POST", "url": url,
                        "body": {"pact": "${pactbroker.pactUrl}"}},
        })
    series(broker, "10 webhooks (5 slow receivers, 5 down)", 100000, args.requests,
           args.max_seconds)
    time.sleep(2)
    deliveries = broker.send("GET", "/webhooks/deliveries?size=1000", None)
    counts = {}
    for d in deliveries["_embedded"]["deliveries"]:
        counts[d["deliveryStatus"]] = counts.get(d["deliveryStatus"], 0) + 1
    print(f"deliveries 2 s after the last publish (latest 1000): {counts}; "
          f"slow receiver got {SlowReceiver.received} calls")


if __name__ == "__main__":
    main()
