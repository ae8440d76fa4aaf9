#!/usr/bin/env python3
"""A stand-in for 企业微信's server API as an application uses it to message one person, written from the documents
(developer.work.weixin.qq.com/document/path/91039 gettoken, /90236 message/send, /90313 error codes): Python's
http.server, answering in 企业微信's JSON and logging each request as one JSON line.

  GET  /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET
       → {"errcode":0,"errmsg":"ok","access_token":"…","expires_in":N}; a wrong corpid 40013, a wrong secret 40001.
  POST /cgi-bin/message/send?access_token=T
       → 40014 for a token never issued, 42001 for one expired (after --expires-in seconds, or /control/expire);
         40056 for another agentid; 44004/40008 for a body the card rules refuse (checked per the document: a
         text_notice needs main_title.title or sub_title_text and card_action; at most 6 horizontal_content_list
         lines, each with a keyname, a type 1 line with its url; at most 3 jump_list entries).
       By the userid sent to:
         nobody      errcode 0 with "invaliduser": "nobody" (no such member, or outside the 可见范围)
         unlicensed  errcode 0 with "unlicenseduser"
         gone        81013 (all recipients invalid)
         busy        45009 (the API's frequency limit) the first two times, then accepted
       else accepted: {"errcode":0,"errmsg":"ok","invaliduser":"","msgid":"m-N"}.
  POST /control/expire   every token issued so far expires now (the next send answers 42001).
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--corpid", default="ww-test-corp")
parser.add_argument("--secret", default="wecom-app-test-secret")
parser.add_argument("--agentid", type=int, default=1000002)
parser.add_argument("--expires-in", type=int, default=7200)
parser.add_argument("--token-delay", type=float, default=0.0, help="seconds gettoken takes (a slow token server)")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
log = open(args.log, "a", buffering=1)
tokens = {}  # token -> expiry (time.monotonic)
counts = {"token": 0, "msg": 0}
busy = {}


def check_card(card):
    """The document's rules for a text_notice card; returns an error text or None."""
    if card.get("card_type") != "text_notice":
        return "card_type must be text_notice here"
    main = card.get("main_title") or {}
    if not main.get("title") and not card.get("sub_title_text"):
        return "main_title.title or sub_title_text is required"
    action = card.get("card_action") or {}
    if action.get("type") != 1 or not action.get("url"):
        return "card_action with type 1 and a url is required for text_notice"
    lines = card.get("horizontal_content_list") or []
    if len(lines) > 6:
        return "horizontal_content_list has at most 6 lines"
    for line in lines:
        if not line.get("keyname"):
            return "each horizontal_content_list line needs a keyname"
        if line.get("type") == 1 and not line.get("url"):
            return "a type 1 line needs its url"
    jumps = card.get("jump_list") or []
    if len(jumps) > 3:
        return "jump_list has at most 3 entries"
    for j in jumps:
        if j.get("type") == 1 and not j.get("url"):
            return "a type 1 jump needs its url"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, obj, status=200):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != "/cgi-bin/gettoken":
            return self.answer({"errcode": 404, "errmsg": "not found"}, 404)
        if args.token_delay:
            time.sleep(args.token_delay)
        with lock:
            counts["token"] += 1
            n = counts["token"]
            if q.get("corpid") != args.corpid:
                result = {"errcode": 40013, "errmsg": "invalid corpid"}
            elif q.get("corpsecret") != args.secret:
                result = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            else:
                token = f"tok-{n}-" + "x" * 40
                tokens[token] = time.monotonic() + args.expires_in
                result = {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": args.expires_in}
            log.write(json.dumps({"kind": "gettoken", "n": n, "errcode": result["errcode"]}) + "\n")
        self.answer(result)

    def do_POST(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/control/expire":
            with lock:
                for t in tokens:
                    tokens[t] = 0
            return self.answer({"errcode": 0, "errmsg": "ok"})
        if url.path != "/cgi-bin/message/send":
            return self.answer({"errcode": 404, "errmsg": "not found"}, 404)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        token = q.get("access_token", "")
        with lock:
            entry = {"kind": "send", "token": token, "body": body, "delivered": False}
            if token not in tokens:
                result = {"errcode": 40014, "errmsg": "invalid access_token"}
            elif tokens[token] <= time.monotonic():
                result = {"errcode": 42001, "errmsg": "access_token expired"}
            elif not isinstance(body, dict):
                result = {"errcode": 40008, "errmsg": "invalid message type"}
            elif body.get("agentid") != args.agentid:
                result = {"errcode": 40056, "errmsg": "invalid agentid"}
            else:
                user = body.get("touser", "")
                problem = None
                if body.get("msgtype") == "template_card":
                    problem = check_card(body.get("template_card") or {})
                elif body.get("msgtype") == "text":
                    if not (body.get("text") or {}).get("content"):
                        problem = "text.content is required"
                else:
                    problem = "msgtype %r is not one this stand-in takes" % body.get("msgtype")
                if problem:
                    result = {"errcode": 44004, "errmsg": problem}
                elif user == "gone":
                    result = {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
                elif user == "busy" and busy.get(user, 0) < 2:
                    busy[user] = busy.get(user, 0) + 1
                    result = {"errcode": 45009, "errmsg": "api freq out of limit"}
                else:
                    counts["msg"] += 1
                    result = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"m-{counts['msg']}"}
                    if user == "nobody":
                        result["invaliduser"] = "nobody"
                    elif user == "unlicensed":
                        result["unlicenseduser"] = "unlicensed"
                    else:
                        entry["delivered"] = True
            entry["errcode"] = result["errcode"]
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.answer(result)


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
