#!/usr/bin/env python3
"""Writes lunar-festivals.tsv beside this script from lunar_python (PyPI), an implementation independent of
Foundation's Chinese calendar that Sources/GuanhuaiCalendar/ChineseCalendarTable.swift was generated from.

    python3 -m venv .venv && .venv/bin/pip install lunar_python
    .venv/bin/python Tests/GuanhuaiCoreTests/Fixtures/make-lunar-fixture.py

Columns: year, 春节 (lunar 1/1), 除夕 (the day before), 中秋 (8/15), 重阳 (9/9), 腊月初一 (12/1 of the lunar year
that starts in that Gregorian year), leap month of that lunar year (0 = none).
"""
import os
from lunar_python import Lunar, LunarYear

def solar(lunar):
    s = lunar.getSolar()
    return f"{s.getYear():04d}-{s.getMonth():02d}-{s.getDay():02d}"

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "lunar-festivals.tsv"), "w", encoding="utf-8") as out:
    out.write("year\tspring\teve\tmidautumn\tdoubleninth\tlastmonth1\tleap\n")
    for y in range(1901, 2101):
        spring = Lunar.fromYmd(y, 1, 1)
        eve = spring.next(-1)
        out.write("\t".join([str(y), solar(spring), solar(eve), solar(Lunar.fromYmd(y, 8, 15)),
                             solar(Lunar.fromYmd(y, 9, 9)), solar(Lunar.fromYmd(y, 12, 1)),
                             str(LunarYear.fromYear(y).getLeapMonth())]) + "\n")
