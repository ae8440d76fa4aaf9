# Sourced by the benchmarks: a generated committee in a scratch folder, at the size a roster of N members implies
# (60 党总支 with 50 党支部 each, about 33 members per branch), on the default rule catalog.
#
#     committee WORK N [EXTRA-CONFIG]   writes WORK/{organization.toml,roster.csv,rules.toml,templates,config.toml}
committee() {
    local work=$1 n=$2 extra=${3:-}
    python3 Benchmarks/make_committee.py "$work" "$n"
    cp Config/rules.toml "$work/"
    cp -r Config/templates "$work/"
    cat > "$work/config.toml" <<CONF
[guanhuai]
time_zone = "Asia/Shanghai"
[files]
rules = "rules.toml"
organization = "organization.toml"
roster = "roster.csv"
[database]
path = "state/guanhuai.sqlite"
$extra
CONF
}
