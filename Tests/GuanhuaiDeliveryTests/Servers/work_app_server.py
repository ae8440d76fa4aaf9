#!/usr/bin/env python3
"""A stand-in for the three work apps' server APIs as an application uses them to message one person, written from
their documents: Python's http.server, answering in each app's JSON and logging each request as one JSON line
(with "app": wecom, dingtalk or feishu).

企业微信 (developer.work.weixin.qq.com/document/path/91039 gettoken, /90236 message/send, /90313 error codes):

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
       else accepted: {"errcode":0,"errmsg":"ok","invaliduser":"","msgid":"m-N"}. With "enable_duplicate_check": 1,
       the same request JSON within duplicate_check_interval (1800 s by default) is accepted and not delivered again.
       --send-delay S makes each send take S seconds; each logged send has its arrival ("at") and how many sends
       were being answered then, itself included ("in_flight").

钉钉 (open.dingtalk.com: gettoken, 工作通知 asyncsend_v2 and getsendresult):
  GET  /gettoken?appkey=K&appsecret=S → {"errcode":0,"access_token":…,"expires_in":N}; a wrong key or secret 40089.
  POST /topapi/message/corpconversation/asyncsend_v2?access_token=T {"agent_id","userid_list","msg"}
       → 40014 / 42001 for a token never issued / expired; 400002 another agent_id; 40035 a msg the document's
         rules refuse (action_card: title, markdown, single_title, single_url); busy → 143103 twice;
         else {"errcode":0,"task_id":N}. The task's result names nobody as invalid and forbidden as forbidden
         (143106, the same message twice a day).
  POST /topapi/message/corpconversation/getsendresult?access_token=T {"agent_id","task_id"} → {"send_result":…}
       A user whose id begins "late" is in none of the task's lists (钉钉 has not processed it) until
       POST /control/settle; then late-nobody is invalid and any other late user unread (reached).
飞书 (open.feishu.cn: tenant_access_token/internal, im/v1/messages):
  POST /open-apis/auth/v3/tenant_access_token/internal {"app_id","app_secret"} → {"code":0,"tenant_access_token",
       "expire"}; a wrong secret 10014.
  POST /open-apis/im/v1/messages?receive_id_type=user_id (Authorization: Bearer T) {"receive_id","msg_type",
       "content" (a JSON string),"uuid"} → 99991663 for a token never issued or expired; 230001 a content the
       rules refuse (interactive: header.title, elements, every button a url); nobody → 230013 (outside the
       application's availability); busy → 99991400 twice; a uuid seen before answers its first message id and
       delivers nothing twice.
  POST /control/expire   every token issued so far, in every app, expires now.
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
parser.add_argument("--dingtalk-key", default="ding-test-key")
parser.add_argument("--dingtalk-secret", default="dingtalk-app-test-secret")
parser.add_argument("--dingtalk-agent", type=int, default=2000003)
parser.add_argument("--feishu-app-id", default="cli_test_app")
parser.add_argument("--feishu-secret", default="feishu-app-test-secret")
parser.add_argument("--expires-in", type=int, default=7200)
parser.add_argument("--token-delay", type=float, default=0.0, help="seconds gettoken takes (a slow token server)")
parser.add_argument("--send-delay", type=float, default=0.0, help="seconds 企业微信's message/send takes (a round trip)")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
log = open(args.log, "a", buffering=1)
tokens = {}  # token -> expiry (time.monotonic)
counts = {"token": 0, "msg": 0}
busy = {}
tasks = {}  # 钉钉 task_id -> send_result
uuids = {}  # 飞书 uuid -> message_id
unsettled = {}  # 钉钉 task_id -> user, for tasks not processed yet (users late…)
sent_bodies = {}  # 企业微信 request JSON delivered -> when (for enable_duplicate_check)
active = [0]  # 企业微信 sends being answered now


def issue(app):
    """A new token for `app`; logged."""
    counts["token"] += 1
    n = counts["token"]
    token = f"{app}-tok-{n}-" + "x" * 40
    tokens[token] = time.monotonic() + args.expires_in
    log.write(json.dumps({"kind": "gettoken", "app": app, "n": n, "errcode": 0}) + "\n")
    return token


def token_state(token):
    """None when usable, else "invalid" or "expired"."""
    if token not in tokens:
        return "invalid"
    return "expired" if tokens[token] <= time.monotonic() else None


def is_busy(user):
    if user == "busy" and busy.get(user, 0) < 2:
        busy[user] = busy.get(user, 0) + 1
        return True
    return False


def check_action_card(msg):
    card = msg.get("action_card") or {}
    for key in ("title", "markdown", "single_title", "single_url"):
        if not card.get(key):
            return f"action_card.{key} is required"
    return None


def check_feishu_card(content):
    try:
        card = json.loads(content)
    except (TypeError, ValueError):
        return "content is not a JSON string"
    if not ((card.get("header") or {}).get("title") or {}).get("content"):
        return "header.title.content is required"
    elements = card.get("elements") or []
    if not elements:
        return "elements are required"
    for e in elements:
        if e.get("tag") == "action":
            for a in e.get("actions") or []:
                if a.get("tag") == "button" and not a.get("url"):
                    return "a button needs its url"
    return None


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
        if args.token_delay:
            time.sleep(args.token_delay)
        if url.path == "/gettoken":
            with lock:
                if q.get("appkey") != args.dingtalk_key or q.get("appsecret") != args.dingtalk_secret:
                    log.write(json.dumps({"kind": "gettoken", "app": "dingtalk", "errcode": 40089}) + "\n")
                    return self.answer({"errcode": 40089, "errmsg": "不合法的appKey或appSecret"})
                token = issue("dingtalk")
            return self.answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": args.expires_in})
        if url.path != "/cgi-bin/gettoken":
            return self.answer({"errcode": 404, "errmsg": "not found"}, 404)
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
            log.write(json.dumps({"kind": "gettoken", "app": "wecom", "n": n, "errcode": result["errcode"]}) + "\n")
        self.answer(result)

    def do_POST(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/control/settle":
            # 钉钉 processes the tasks it had not: a late-nobody is invalid, any other late user reached (unread).
            with lock:
                for task, user in list(unsettled.items()):
                    key = "invalid_user_id_list" if user == "late-nobody" else "unread_user_id_list"
                    tasks[task][key] = [user]
                unsettled.clear()
            return self.answer({"errcode": 0, "errmsg": "ok"})
        if url.path == "/control/expire":
            with lock:
                for t in tokens:
                    tokens[t] = 0
            return self.answer({"errcode": 0, "errmsg": "ok"})
        if url.path.startswith("/topapi/") or url.path.startswith("/open-apis/"):
            return self.other_app(url, q, raw)
        if url.path != "/cgi-bin/message/send":
            return self.answer({"errcode": 404, "errmsg": "not found"}, 404)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        token = q.get("access_token", "")
        arrived = time.monotonic()
        with lock:
            active[0] += 1
            at_once = active[0]
        if args.send_delay:
            time.sleep(args.send_delay)
        with lock:
            active[0] -= 1
            entry = {"kind": "send", "app": "wecom", "token": token, "body": body, "delivered": False, "at": arrived,
                     "in_flight": at_once}
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
                    elif body.get("enable_duplicate_check") == 1 and \
                            time.monotonic() - sent_bodies.get(raw, -1e9) < body.get("duplicate_check_interval", 1800):
                        # The same request within the interval: accepted, and not shown again.
                        entry["duplicate"] = True
                    else:
                        entry["delivered"] = True
                        sent_bodies[raw] = time.monotonic()
            entry["errcode"] = result["errcode"]
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.answer(result)


    def other_app(self, url, q, raw):
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        if url.path.endswith("/tenant_access_token/internal") and args.token_delay:
            time.sleep(args.token_delay)
        with lock:
            if url.path == "/open-apis/auth/v3/tenant_access_token/internal":
                if body.get("app_id") != args.feishu_app_id or body.get("app_secret") != args.feishu_secret:
                    log.write(json.dumps({"kind": "gettoken", "app": "feishu", "errcode": 10014}) + "\n")
                    return self.answer({"code": 10014, "msg": "app secret invalid"}, 400)
                token = issue("feishu")
                return self.answer({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": args.expires_in})
            if url.path == "/topapi/message/corpconversation/getsendresult":
                result = tasks.get(body.get("task_id"))
                if token_state(q.get("access_token", "")) or result is None:
                    return self.answer({"errcode": 40014, "errmsg": "不合法的access_token"})
                return self.answer({"errcode": 0, "errmsg": "ok", "send_result": result})
            if url.path == "/topapi/message/corpconversation/asyncsend_v2":
                entry = {"kind": "send", "app": "dingtalk", "token": q.get("access_token", ""), "body": body, "delivered": False}
                state = token_state(q.get("access_token", ""))
                user = body.get("userid_list", "")
                msg = body.get("msg") or {}
                if state:
                    result = {"errcode": 40014 if state == "invalid" else 42001, "errmsg": "access_token " + state}
                elif body.get("agent_id") != args.dingtalk_agent:
                    result = {"errcode": 400002, "errmsg": "agent_id 不存在"}
                elif msg.get("msgtype") == "action_card" and check_action_card(msg):
                    result = {"errcode": 40035, "errmsg": check_action_card(msg)}
                elif msg.get("msgtype") == "text" and not (msg.get("text") or {}).get("content"):
                    result = {"errcode": 40035, "errmsg": "text.content is required"}
                elif msg.get("msgtype") not in ("action_card", "text"):
                    result = {"errcode": 40035, "errmsg": "msgtype"}
                elif is_busy(user):
                    result = {"errcode": 143103, "errmsg": "企业单应用消息发送人次QPM超限"}
                else:
                    counts["msg"] += 1
                    task = counts["msg"]
                    send_result = {"invalid_user_id_list": [], "forbidden_user_id_list": [], "failed_user_id_list": [],
                                   "read_user_id_list": [], "unread_user_id_list": [], "forbidden_list": []}
                    if user == "nobody":
                        send_result["invalid_user_id_list"] = [user]
                    elif user.startswith("late"):
                        # Not processed yet: in none of the lists until /control/settle.
                        unsettled[task] = user
                        entry["delivered"] = user != "late-nobody"
                    elif user == "forbidden":
                        send_result["forbidden_user_id_list"] = [user]
                        send_result["forbidden_list"] = [{"code": "143106", "count": 1, "userid": user}]
                    else:
                        send_result["unread_user_id_list"] = [user]
                        entry["delivered"] = True
                    tasks[task] = send_result
                    result = {"errcode": 0, "errmsg": "ok", "task_id": task, "request_id": f"r-{task}"}
                entry["errcode"] = result["errcode"]
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                return self.answer(result)
            if url.path == "/open-apis/im/v1/messages":
                bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                entry = {"kind": "send", "app": "feishu", "token": bearer, "body": body, "delivered": False}
                user = body.get("receive_id", "")
                problem = None
                if body.get("msg_type") == "interactive":
                    problem = check_feishu_card(body.get("content"))
                elif body.get("msg_type") == "text":
                    try:
                        problem = None if json.loads(body.get("content") or "").get("text") else "text is required"
                    except (AttributeError, ValueError):
                        problem = "content is not a JSON string"
                else:
                    problem = "msg_type"
                status = 200
                if token_state(bearer):
                    result, status = {"code": 99991663, "msg": "Invalid access token for authorization"}, 400
                elif q.get("receive_id_type") != "user_id":
                    result, status = {"code": 230001, "msg": "receive_id_type"}, 400
                elif problem:
                    result, status = {"code": 230001, "msg": problem}, 400
                elif user == "nobody":
                    result, status = {"code": 230013, "msg": "Bot has NO availability to this user."}, 400
                elif is_busy(user):
                    result, status = {"code": 99991400, "msg": "request trigger frequency limit"}, 400
                elif body.get("uuid") in uuids:
                    result = {"code": 0, "msg": "success", "data": {"message_id": uuids[body["uuid"]]}}
                    entry["duplicate"] = True
                else:
                    counts["msg"] += 1
                    mid = f"om_{counts['msg']}"
                    if body.get("uuid"):
                        uuids[body["uuid"]] = mid
                    result = {"code": 0, "msg": "success", "data": {"message_id": mid}}
                    entry["delivered"] = True
                entry["errcode"] = result["code"]
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                return self.answer(result, status)
        return self.answer({"code": 404, "msg": "not found"}, 404)


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
