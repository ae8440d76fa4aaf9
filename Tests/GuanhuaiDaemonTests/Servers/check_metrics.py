#!/usr/bin/env python3
"""Fetches a /metrics page and parses it with prometheus_client's own text parser (PyPI prometheus-client).
Prints JSON: every sample as {name, labels, value}, or the parser's complaint. With a second argument, the page is
also saved there (for promtool check metrics)."""
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families

text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
if len(sys.argv) > 2:
    open(sys.argv[2], "w").write(text)
out = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
print(json.dumps(out, ensure_ascii=False))
