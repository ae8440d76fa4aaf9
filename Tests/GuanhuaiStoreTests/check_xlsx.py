#!/usr/bin/env python3
"""Opens a report workbook with openpyxl and compares its first sheet with the CSV report, cell for cell (numbers
as the CSV writes them). Prints JSON: ok, the sheet names, and the first difference found."""
import csv, json, sys
from openpyxl import load_workbook

wb = load_workbook(sys.argv[1])
rows = list(csv.reader(open(sys.argv[2], encoding="utf-8-sig")))
out = {"sheets": wb.sheetnames, "ok": True}
ws = wb[wb.sheetnames[0]]
xl = [[c.value for c in r] for r in ws.iter_rows()]
if len(xl) != len(rows):
    out.update(ok=False, why=f"{len(xl)} rows in the workbook, {len(rows)} in the CSV")
for i, (x, c) in enumerate(zip(xl, rows)):
    c = c[2:]  # the CSV leads with the id and the parent
    want = [c[0].strip()] + c[1:]
    got = [str(x[0]).replace("\u3000", "").strip()]
    for j, v in enumerate(x[1:], start=1):
        if isinstance(v, float) and j == 7:
            t = round(v * 1000)
            got.append(f"{t // 10}.{t % 10}%")
        elif isinstance(v, float) and j == 9:
            got.append(f"{v:.2f}")
        elif isinstance(v, float) and v == int(v):
            got.append(str(int(v)))
        else:
            got.append(str(v))
    if got != want:
        out.update(ok=False, why=f"row {i + 1}: workbook {got} vs CSV {want}")
        break
if ws.freeze_panes != "A2":
    out.update(ok=False, why=f"header not frozen: {ws.freeze_panes}")
if not ws["A1"].font.b:
    out.update(ok=False, why="header not bold")
print(json.dumps(out, ensure_ascii=False))
