#!/usr/bin/env python3
"""Reads one stored message with Python's email package (policy=default) and prints what a mail client sees,
as JSON: the decoded headers, the bodies, the attachments, the longest line, and every defect the parser found.
With a second argument, a folder, each attachment is saved there under its decoded file name."""
import json, os, sys
from email import policy
from email.parser import BytesParser

data = open(sys.argv[1], "rb").read()
msg = BytesParser(policy=policy.default).parsebytes(data)
defects = [type(d).__name__ for d in msg.defects]
headers = {}
for name in ["Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"]:
    v = msg[name]
    if v is not None:
        headers[name] = str(v)
        defects += ["%s:%s" % (name, type(d).__name__) for d in getattr(v, "defects", [])]
parts = {}
attachments = []
for part in msg.iter_attachments() if msg.is_multipart() else []:
    name = part.get_filename()
    entry = {"filename": name, "content_type": part.get_content_type()}
    if len(sys.argv) > 2 and name:
        path = os.path.join(sys.argv[2], os.path.basename(name))
        open(path, "wb").write(part.get_content())
        entry["path"] = path
    attachments.append(entry)
    defects += [type(d).__name__ for d in part.defects]
for part in msg.walk():
    if part.get_content_maintype() == "text" and not part.is_attachment():
        parts[part.get_content_type()] = part.get_content()
        defects += [type(d).__name__ for d in part.defects]
print(json.dumps({
    "headers": headers,
    "from_name": msg["From"].addresses[0].display_name if msg["From"] else None,
    "from_address": msg["From"].addresses[0].addr_spec if msg["From"] else None,
    "date_valid": msg["Date"] is not None and msg["Date"].datetime is not None,
    "utc_offset": msg["Date"].datetime.utcoffset().total_seconds() if msg["Date"] else None,
    "parts": parts,
    "attachments": attachments,
    "max_line": max(len(l) for l in data.split(b"\r\n")),
    "bare_lf": data.replace(b"\r\n", b"").count(b"\n"),
    "defects": defects,
}, ensure_ascii=False))
