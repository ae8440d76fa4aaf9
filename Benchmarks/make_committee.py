#!/usr/bin/env python3
"""Writes a large generated committee for the benchmarks: organization.toml (60 党总支 × 50 党支部, 3,000
branches, secretaries as people) and roster.csv with N members spread over the branches.

    make_committee.py DIR N
"""
import os, random, sys

def write(work, n):
    random.seed(7)
    with open(os.path.join(work, "organization.toml"), "w") as f:
        f.write('[committee]\nid = "dw"\nname = "中共示范大学委员会"\nsecretary = "L01"\norganization_department = "ZZB"\n\n')
        for g in range(60):
            f.write(f'[[unit]]\nid = "g{g}"\nname = "第{g}党总支"\nkind = "general-branch"\nsecretary = "GS{g}"\n\n')
            for b in range(50):
                f.write(f'[[unit]]\nid = "g{g}b{b}"\nname = "第{g}党总支第{b}党支部"\nkind = "branch"\nparent = "g{g}"\n'
                        f'secretary = "S{g}-{b}"\n\n')
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
            by = random.randint(1940, 2004)
            jy = min(by + random.randint(18, 40), 2025)
            f.write(f"P{i:06d},党员{i},{'男' if i % 2 else '女'},{by}-{random.randint(1,12):02d}-{random.randint(1,28):02d},"
                    f"{jy}-{random.randint(1,12):02d}-{random.randint(1,28):02d},,g{i % 60}b{(i // 60) % 50},"
                    f"p{i}@example.edu.cn,139{i:08d},{random.choice(tags)},正常\n")

if __name__ == "__main__":
    write(sys.argv[1], int(sys.argv[2]))
