#!/usr/bin/env python3
"""The work-app benchmarks' message: a digest's 企业微信 模板卡片 (six lines, each with its signed link) as the router
stores it, written to DIR/card.json; and the request body the channel makes of it (touser, agentid and
enable_duplicate_check added) to DIR/body.json, for curl.

    python3 Benchmarks/workapp_card.py DIR
"""
import json
import sys

work = sys.argv[1]
link = "https://guanhuai.example.edu.cn/i/" + "A" * 120
lines = [{"keyname": "逾期提醒", "value": f"七一走访慰问（某某某{i}）07-01", "type": 1, "url": f"{link}{i}/done"} for i in range(6)]
card = {"msgtype": "template_card", "template_card": {
    "card_type": "text_notice", "source": {"desc": "关怀提醒"},
    "main_title": {"title": "6 项关怀事项待办理", "desc": "周海燕同志 · 2027-06-01"},
    "sub_title_text": "其中 6 项已逾期。点事项登记办结，点卡片看全部待办。", "horizontal_content_list": lines,
    "jump_list": [{"type": 1, "title": "我的待办", "url": "https://guanhuai.example.edu.cn/me/" + "B" * 120}],
    "card_action": {"type": 1, "url": "https://guanhuai.example.edu.cn/me/" + "B" * 120}}}


def dump(o):
    return json.dumps(o, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


open(f"{work}/card.json", "w").write(dump(card))
open(f"{work}/body.json", "w").write(dump(dict(card, touser="u0", agentid=1000002, enable_duplicate_check=1)))
