#!/usr/bin/env python3
"""A stand-in for 阿里云短信服务 (Dysmsapi SendSms) and 腾讯云短信 (SendSms 2021-01-11) for the tests: Python's http.server
that verifies every request's signature with its own implementation of each provider's published algorithm, answers
in the provider's JSON, and logs each request as one JSON line.

Before it serves, it checks its verifiers against the providers' own worked examples, so the server itself is known
to be right:
  阿里云 V3 (ACS3-HMAC-SHA256): https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
      (POST ecs.cn-shanghai RunInstances, secret YourAccessKeySecret → e521358f…)
  腾讯云 TC3-HMAC-SHA256: https://cloud.tencent.com/document/api/213/30654
      (POST cvm DescribeInstances at 1551113065, key Gu5t9xGARNpq86cd98joQYCN3EXAMPLE → 72e494ea…)

What it answers, by the number texted (last four digits):
  0001  the provider's per-number throttling, the first two times (阿里云 isv.BUSINESS_LIMIT_CONTROL,
        腾讯云 LimitExceeded.PhoneNumberThirtySecondLimit), then success
  0002  a template that is not approved (阿里云 isv.SMS_TEMPLATE_ILLEGAL, 腾讯云 FailedOperation.TemplateIncorrectOrUnapproved)
  else  success
Each accepted message gets its own BizId / SerialNo. Its delivery receipt, by the number's last four digits:
  0003  undelivered (空号: 阿里云 SendStatus 2, ErrCode MK:0001; 腾讯云 ReportStatus FAIL)
  else  delivered (阿里云 SendStatus 3, ErrCode DELIVERED; 腾讯云 SUCCESS)
阿里云 QuerySendDetails (by number, day and BizId) answers SendStatus 1 (等待回执) the first time it is asked about a
message, then the report. 腾讯云 PullSmsSendStatus hands each report out once, as its queue does; the first pull also
carries a report for a SerialNo never sent and the first report twice (both vendors say receipts may repeat).
A request whose signature does not verify gets the provider's signature error (阿里云 SignatureDoesNotMatch with HTTP
400, 腾讯云 AuthFailure.SignatureFailure).
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--aliyun-id", default="LTAItest-id")
parser.add_argument("--aliyun-secret", default="aliyun-test-secret")
parser.add_argument("--tencent-id", default="AKIDtest-id")
parser.add_argument("--tencent-secret", default="tencent-test-secret")
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
log = open(args.log, "a", buffering=1)
throttled = {}
sent = {}          # message id -> (provider, phone)
asked = set()      # 阿里云 BizIds asked about once already
queue = []         # 腾讯云 reports not yet pulled
pulls = [0]
counter = [0]


def new_id(provider, phone):
    with lock:
        counter[0] += 1
        mid = f"{900619746936498440 + counter[0]}^0" if provider == "aliyun" else f"5000:{1045710669157053657849499619 + counter[0]}"
        sent[mid] = (provider, phone)
        if provider == "tencent":
            queue.append(mid)
    return mid


def undelivered(phone):
    return phone[-4:] == "0003"


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def pct(s: str) -> str:
    return quote(s, safe="-_.~")


def aliyun_signature(secret, method, path, query_pairs, headers, body, names=None):
    """The V3 signature as 阿里云 documents it: canonical request, then HMAC-SHA256 over its hash. `names`: the
    headers the request says it signed (all of host and x-acs-* when not given)."""
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in query_pairs))
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    if names is None:
        names = [k for k in lower if k == "host" or k.startswith("x-acs-")]
    names = sorted(names)
    signed = {n: lower.get(n, "") for n in names}
    canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
    request = "\n".join([method, path, canonical_query, canonical_headers, ";".join(names), sha256_hex(body)])
    to_sign = "ACS3-HMAC-SHA256\n" + sha256_hex(request.encode())
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest(), ";".join(names)


def tencent_signature(secret, service, host, content_type, timestamp, body):
    request = f"POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{sha256_hex(body)}"
    date = datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d")
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{sha256_hex(request.encode())}"

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = h(h(h(("TC3" + secret).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


# The providers' published examples: the verifiers above must reproduce them, or this server refuses to start.
example = aliyun_signature(
    "YourAccessKeySecret", "POST", "/",
    [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")],
    {"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances", "x-acs-version": "2014-05-26",
     "x-acs-date": "2023-10-26T09:01:01Z", "x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
     "x-acs-content-sha256": sha256_hex(b"")}, b"")[0]
assert example == "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804", example
example = tencent_signature(
    "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
    "1551113065",
    b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}')
assert example == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", example


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, obj):
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, entry):
        with lock:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("x-acs-action"):
            self.aliyun(body)
        elif self.headers.get("X-TC-Action"):
            self.tencent(body)
        else:
            self.answer(404, {"error": "neither 阿里云 nor 腾讯云"})

    def outcome(self, phone):
        """'ok', 'throttled' or 'template', by the number's last four digits."""
        tail = phone[-4:]
        if tail == "0001":
            with lock:
                n = throttled.get(phone, 0)
                throttled[phone] = n + 1
            return "throttled" if n < 2 else "ok"
        return "template" if tail == "0002" else "ok"

    def aliyun(self, body):
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        q = dict(query)
        auth = self.headers.get("Authorization", "")
        headers = {k: v for k, v in self.headers.items()}
        fields = dict(part.split("=", 1) for part in auth.removeprefix("ACS3-HMAC-SHA256 ").split(",") if "=" in part)
        names = fields.get("SignedHeaders", "").split(";")
        required = {k.lower() for k in headers if k.lower() == "host" or k.lower().startswith("x-acs-")}
        expected, signed = aliyun_signature(args.aliyun_secret, "POST", url.path or "/", query, headers, body, names)
        ok = (required <= set(names)
              and auth == f"ACS3-HMAC-SHA256 Credential={args.aliyun_id},SignedHeaders={signed},Signature={expected}"
              and self.headers.get("x-acs-content-sha256") == sha256_hex(body)
              and self.headers.get("x-acs-action") in ("SendSms", "QuerySendDetails")
              and self.headers.get("x-acs-version") == "2017-05-25")
        if ok and self.headers.get("x-acs-action") == "QuerySendDetails":
            return self.aliyun_query(q, auth)
        phone = q.get("PhoneNumbers", "")
        entry = {"provider": "aliyun", "verified": ok, "phone": phone, "sign_name": q.get("SignName"),
                 "template": q.get("TemplateCode"), "params": json.loads(q.get("TemplateParam") or "{}"),
                 "authorization": auth, "query": url.query}
        if not ok:
            entry["answer"] = "SignatureDoesNotMatch"
            self.record(entry)
            return self.answer(400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature does not match our calculation.",
                                     "RequestId": "r-bad"})
        outcome = self.outcome(phone)
        entry["answer"] = outcome
        self.record(entry)
        if outcome == "throttled":
            return self.answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控Permits:10", "RequestId": "r-1"})
        if outcome == "template":
            return self.answer(200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板", "RequestId": "r-2"})
        self.answer(200, {"Code": "OK", "Message": "OK", "BizId": new_id("aliyun", phone), "RequestId": "r-ok"})

    def aliyun_query(self, q, auth):
        biz, phone = q.get("BizId", ""), q.get("PhoneNumber", "")
        self.record({"provider": "aliyun", "action": "QuerySendDetails", "verified": True, "phone": phone, "biz_id": biz,
                     "send_date": q.get("SendDate"), "authorization": auth})
        known = sent.get(biz)
        if not known or known[1] != phone:
            return self.answer(200, {"Code": "OK", "Message": "OK", "TotalCount": 0, "RequestId": "r-q",
                                     "SmsSendDetailDTOs": {"SmsSendDetailDTO": []}})
        with lock:
            first = biz not in asked
            asked.add(biz)
        status, code = (1, "") if first else ((2, "MK:0001") if undelivered(phone) else (3, "DELIVERED"))
        detail = {"PhoneNum": phone, "SendStatus": status, "ErrCode": code, "TemplateCode": "SMS_G", "Content": "…",
                  "SendDate": "2027-02-14 09:00:00", "ReceiveDate": "2027-02-14 09:00:05" if status != 1 else "", "OutId": ""}
        self.answer(200, {"Code": "OK", "Message": "OK", "TotalCount": 1, "RequestId": "r-q",
                          "SmsSendDetailDTOs": {"SmsSendDetailDTO": [detail]}})

    def tencent(self, body):
        auth = self.headers.get("Authorization", "")
        ts = self.headers.get("X-TC-Timestamp", "0")
        ctype = self.headers.get("Content-Type", "")
        host = self.headers.get("Host", "")
        expected = tencent_signature(args.tencent_secret, "sms", host, ctype, ts, body)
        date = datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%d")
        ok = (auth == f"TC3-HMAC-SHA256 Credential={args.tencent_id}/{date}/sms/tc3_request, "
                      f"SignedHeaders=content-type;host, Signature={expected}"
              and self.headers.get("X-TC-Action") in ("SendSms", "PullSmsSendStatus")
              and self.headers.get("X-TC-Version") == "2021-01-11")
        if ok and self.headers.get("X-TC-Action") == "PullSmsSendStatus":
            return self.tencent_pull(body, auth)
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        phone = (req.get("PhoneNumberSet") or [""])[0]
        entry = {"provider": "tencent", "verified": ok, "phone": phone, "sign_name": req.get("SignName"),
                 "template": req.get("TemplateId"), "params": req.get("TemplateParamSet"),
                 "app": req.get("SmsSdkAppId"), "authorization": auth, "body": body.decode("utf-8", "replace")}
        if not ok:
            entry["answer"] = "AuthFailure.SignatureFailure"
            self.record(entry)
            return self.answer(200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure",
                                                            "Message": "The provided credentials could not be validated."},
                                                  "RequestId": "r-bad"}})
        outcome = self.outcome(phone)
        entry["answer"] = outcome
        self.record(entry)
        code, message = {"ok": ("Ok", "send success"),
                         "throttled": ("LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"),
                         "template": ("FailedOperation.TemplateIncorrectOrUnapproved", "模版未审批或请求的内容与审核通过的模版内容不匹配")}[outcome]
        serial = new_id("tencent", phone) if outcome == "ok" else "5000:0"
        self.answer(200, {"Response": {"SendStatusSet": [{"SerialNo": serial, "PhoneNumber": phone,
                                                          "Fee": 1, "SessionContext": "", "Code": code, "Message": message,
                                                          "IsoCode": "CN"}], "RequestId": "r-ok"}})


    def tencent_pull(self, body, auth):
        req = json.loads(body or b"{}")
        limit = int(req.get("Limit") or 100)
        with lock:
            pulls[0] += 1
            taken, queue[:] = queue[:limit], queue[limit:]
            first = pulls[0] == 1

        def report(mid):
            phone = sent.get(mid, ("tencent", "+8613900009999"))[1]
            bad = undelivered(phone)
            return {"UserReceiveTime": 1802570405, "CountryCode": "86", "SubscriberNumber": phone.removeprefix("+86"),
                    "PhoneNumber": phone, "SerialNo": mid, "ReportStatus": "FAIL" if bad else "SUCCESS",
                    "Description": "UNDELIV 空号" if bad else "用户接收成功", "SessionContext": ""}
        reports = [report(m) for m in taken]
        if first and reports:
            reports = reports + [reports[0], report("5000:never-sent")]
        self.record({"provider": "tencent", "action": "PullSmsSendStatus", "verified": True, "limit": limit,
                     "app": req.get("SmsSdkAppId"), "returned": len(reports), "authorization": auth})
        self.answer(200, {"Response": {"PullSmsSendStatusSet": reports, "RequestId": "r-pull"}})


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"READY {server.server_address[1]}", flush=True)
server.serve_forever()
