#!/usr/bin/env bash
# Store benchmark (release build): importing a 100,000-row roster, and one branch secretary's agenda on the
# resulting 100,000-member database.
#
#     bash Benchmarks/store-benchmark.sh [MEMBERS]
#
# The organisation is generated at the size such a roster implies: 60 党总支 with 50 党支部 each (3,000 branches,
# about 33 members per branch), on the default rule catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "work: $work" >&2
swift build -c release --product guanhuai >/dev/null
bin=.build/release/guanhuai
python3 - "$work" "$n" <<'PY'
import sys, random, os
work, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(os.path.join(work, "organization.toml"), "w") as f:
    f.write('[committee]\nid = "dw"\nname = "中共示范大学委员会"\nsecretary = "L01"\norganization_department = "ZZB"\n\n')
    for g in range(60):
        f.write(f'[[unit]]\nid = "g{g}"\nname = "第{g}党总支"\nkind = "general-branch"\nsecretary = "GS{g}"\n\n')
        for b in range(50):
            f.write(f'[[unit]]\nid = "g{g}b{b}"\nname = "第{g}党总支第{b}党支部"\nkind = "branch"\nparent = "g{g}"\nsecretary = "S{g}-{b}"\n\n')
    f.write('[[person]]\nid = "ZZB"\nname = "党委组织部"\nemail = "zzb@example.edu.cn"\n\n')
    f.write('[[person]]\nid = "L01"\nname = "党委书记"\nroles = ["leader"]\n\n')
    for g in range(60):
        f.write(f'[[person]]\nid = "GS{g}"\nname = "总支书记{g}"\n\n')
        for b in range(50):
            f.write(f'[[person]]\nid = "S{g}-{b}"\nname = "支部书记{g}-{b}"\nemail = "s{g}-{b}@example.edu.cn"\n\n')
tags = ["", "", "", "", "", "", "生活困难", "老党员", "重病高龄失能", "长期困难", "专家人才"]
with open(os.path.join(work, "roster.csv"), "w") as f:
    f.write("编号,姓名,性别,出生日期,入党日期,转正日期,所在支部,邮箱,手机,标签,状态\n")
    for i in range(n):
        by = random.randint(1940, 2004); jy = min(by + random.randint(18, 40), 2025)
        f.write(f"P{i:06d},党员{i},{'男' if i % 2 else '女'},{by}-{random.randint(1,12):02d}-{random.randint(1,28):02d},"
                f"{jy}-{random.randint(1,12):02d}-{random.randint(1,28):02d},,g{i % 60}b{(i // 60) % 50},"
                f"p{i}@example.edu.cn,139{i:08d},{random.choice(tags)},正常\n")
PY
cp Config/rules.toml "$work/"
cat > "$work/config.toml" <<CONF
[guanhuai]
time_zone = "Asia/Shanghai"
[files]
rules = "rules.toml"
organization = "organization.toml"
roster = "roster.csv"
[database]
path = "state/guanhuai.sqlite"
CONF
c=(--config "$work/config.toml")
now() { date +%s.%N; }
$bin import orgs "${c[@]}" >/dev/null
t0=$(now); $bin import roster "${c[@]}"; t1=$(now)
printf 'import roster, %d rows into an empty database: %.2f s\n' "$n" "$(echo "$t1 - $t0" | bc)"
t0=$(now); $bin import roster "${c[@]}" >/dev/null; t1=$(now)
printf 'import roster again (all unchanged): %.2f s\n' "$(echo "$t1 - $t0" | bc)"
runs=10
t0=$(now)
for _ in $(seq $runs); do $bin agenda --person S7-3 --now 2027-03-01 "${c[@]}" >/dev/null; done
t1=$(now)
printf 'agenda --person (a branch secretary), %d members on the database: %.0f ms per run (mean of %d, whole process)\n' \
    "$n" "$(echo "($t1 - $t0) * 1000 / $runs" | bc -l)" "$runs"
t0=$(now); $bin agenda --person GS7 --now 2027-03-01 "${c[@]}" >/dev/null; t1=$(now)
printf 'agenda --person (a 党总支 secretary, 50 branches): %.0f ms\n' "$(echo "($t1 - $t0) * 1000" | bc -l)"
t0=$(now); $bin agenda --person ZZB --now 2027-03-01 "${c[@]}" >/dev/null; t1=$(now)
printf 'agenda --person ZZB (组织部: everyone): %.2f s\n' "$(echo "$t1 - $t0" | bc -l)"
