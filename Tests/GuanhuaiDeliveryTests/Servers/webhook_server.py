#!/usr/bin/env python3
"""A webhook receiver for the tests: Python's http.server (HTTP/1.1, keep-alive) that checks every signature the
way each vendor documents it and logs every request as one JSON line.

Paths:
  /hook                               Standard Webhooks, verified with the standardwebhooks package (PyPI)
  /gone /bad /fail /slow /redirect    410, 400, 503, a slow answer, 302
  /busy /busy-until                  429 with Retry-After in seconds, as a date
  /cgi-bin/webhook/send?key=K         企业微信 group robot (key "busy" answers errcode 45009)
  /robot/send?access_token=T&timestamp=&sign=   钉钉 custom robot
  /open-apis/bot/v2/hook/TOKEN        飞书 custom bot, signature in the body
"""
import argparse
import base64
import hashlib
import hmac
import json
import ssl
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:  # inside the booted system test's Debian: checked by hand, with the documented algorithm
    Webhook = None

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--webhook-secret", default="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
parser.add_argument("--wecom-key", default="wecom-key-1")
parser.add_argument("--dingtalk-token", default="ding-token-1")
parser.add_argument("--dingtalk-secret", default="SECdingtalk-secret")
parser.add_argument("--feishu-token", default="feishu-hook-1")
parser.add_argument("--feishu-secret", default="feishu-secret")
parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--quiet-log", action="store_true", help="count requests only (benchmarks)")
args = parser.parse_args()

lock = threading.Lock()
log = open(args.log, "a", buffering=1)
count = 0


def dingtalk_sign(ts_ms: str) -> str:
    mac = hmac.new(args.dingtalk_secret.encode(), f"{ts_ms}\n{args.dingtalk_secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(ts: str) -> str:
    mac = hmac.new(f"{ts}\n{args.feishu_secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, obj=None, headers=()):
        data = json.dumps(obj, ensure_ascii=False).encode() if obj is not None else b""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        entry = {"t": time.time(), "path": url.path, "query": query, "body": body.decode("utf-8", "replace"),
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
        status, obj, extra = self.route(url.path, query, body, entry)
        entry["status"] = status
        with lock:
            count += 1
            if not args.quiet_log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.answer(status, obj, extra)

    def route(self, path, query, body, entry):
        if path == "/hook" and Webhook is None:
            h = {k.lower(): v for k, v in self.headers.items()}
            key = base64.b64decode(args.webhook_secret.removeprefix("whsec_"))
            signed = f"{h.get('webhook-id', '')}.{h.get('webhook-timestamp', '')}.".encode() + body
            expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            entry["verified"] = expected in h.get("webhook-signature", "").split(" ")
            entry["verified_by"] = "hmac"
            return (204 if entry["verified"] else 401), None, ()
        if path == "/hook":
            wh = Webhook(args.webhook_secret)
            h = {k.lower(): v for k, v in self.headers.items()}
            try:
                wh.verify(body, h, json_parse=False)
                entry["verified"] = True
            except WebhookVerificationError as e:
                entry["verify_error"] = str(e)
                # Outside the library's 5-minute tolerance (tests that move the clock), check the signature alone.
                ts = int(h.get("webhook-timestamp", "0"))
                expected = wh.sign(h.get("webhook-id", ""), datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
                entry["verified"] = expected in h.get("webhook-signature", "").split(" ")
                entry["stale"] = True
            return (204 if entry["verified"] else 401), None, ()
        if path == "/gone":
            return 410, {"error": "gone"}, ()
        if path == "/bad":
            return 400, {"error": "bad request"}, ()
        if path == "/huge":
            return 200, {"padding": "x" * 100_000}, ()
        if path == "/fail":
            return 503, {"error": "unavailable"}, ()
        if path == "/busy":
            return 429, {"error": "too many requests"}, (("Retry-After", "120"),)
        if path == "/busy-until":
            return 429, {"error": "too many requests"}, (("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT"),)
        if path == "/slow":
            # Far longer than any timeout a test sets: the client's deadline runs on a task that a loaded machine
            # may start seconds late, and an answer that arrives first would beat it.
            time.sleep(60)
            return 200, {}, ()
        if path == "/redirect":
            return 302, None, (("Location", "http://elsewhere.example/hook"),)
        if path == "/cgi-bin/webhook/send":
            key = query.get("key")
            if key == "busy":
                return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, ()
            if key != args.wecom_key:
                return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, ()
            msg = json.loads(body)
            kind = msg.get("msgtype")
            content = msg.get(kind, {}).get("content", "")
            limit = 2048 if kind == "text" else 4096
            entry["verified"] = True
            if len(content.encode()) > limit:
                return 200, {"errcode": 40058, "errmsg": f"content exceed max length {limit}"}, ()
            return 200, {"errcode": 0, "errmsg": "ok"}, ()
        if path == "/robot/send":
            if query.get("access_token") != args.dingtalk_token:
                return 200, {"errcode": 300001, "errmsg": "token is not exist"}, ()
            ts, sign = query.get("timestamp", ""), query.get("sign", "")
            entry["verified"] = bool(ts) and hmac.compare_digest(sign, dingtalk_sign(ts))
            if not entry["verified"]:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}, ()
            return 200, {"errcode": 0, "errmsg": "ok"}, ()
        if path.startswith("/open-apis/bot/v2/hook/"):
            if path.rsplit("/", 1)[1] != args.feishu_token:
                return 200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}, ()
            msg = json.loads(body)
            ts, sign = str(msg.get("timestamp", "")), msg.get("sign", "")
            entry["verified"] = bool(ts) and hmac.compare_digest(sign, feishu_sign(ts))
            if not entry["verified"]:
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}, ()
            return 200, {"code": 0, "msg": "success", "data": {}}, ()
        return 404, {"error": "no such path"}, ()


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("READY", server.server_address[1], flush=True)
server.serve_forever()
