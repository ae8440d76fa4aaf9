#!/usr/bin/env python3
"""Parses two fetches of a calendar feed with the icalendar package (RFC 5545) and prints, as JSON, whether both
parse, how many events there are, whether every UID is the same in both, and whether every event is all-day."""
import datetime, json, sys
from icalendar import Calendar

out = {"ok": False}
try:
    cals = [Calendar.from_ical(open(p, "rb").read()) for p in sys.argv[1:3]]
    uids = [sorted(str(e["UID"]) for e in c.walk("VEVENT")) for c in cals]
    events = list(cals[0].walk("VEVENT"))
    out = {
        "ok": True,
        "events": len(events),
        "stable": uids[0] == uids[1] and len(set(uids[0])) == len(uids[0]),
        "all_day": all(type(e.decoded("DTSTART")) is datetime.date for e in events),
        "summaries": [str(e["SUMMARY"]) for e in events[:3]],
    }
except Exception as e:  # the test prints what failed
    out["error"] = repr(e)
print(json.dumps(out, ensure_ascii=False))
