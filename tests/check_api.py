#!/usr/bin/env python3
"""The public API only grows (llmasync.h, VERSIONS AND COMPATIBILITY).

Compares the public part of llmasync.h with the API of the last release,
recorded in tests/data/api_release.txt: every struct keeps its fields in
the same order with new ones only at the end, every enumerator keeps its
value, every public function stays. Closing line "api: N passed, N failed".

    check_api.py [HEADER]           check
    check_api.py --write [HEADER]   record HEADER's API as the release's
"""
import re
import sys

BASE = "tests/data/api_release.txt"


def public_part(src):
    return src.split("#ifdef LLMASYNC_IMPLEMENTATION")[0]


def strip_comments(s):
    return re.sub(r"/\*.*?\*/", " ", s, flags=re.S)


def api(src):
    pub = strip_comments(public_part(src))
    out = []
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} (\w+);", pub, re.S):
        names = []
        for decl in m.group(2).split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if fp:
                names.append(fp.group(1))
                continue
            for part in decl.split(","):
                w = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", part.strip())
                if w:
                    names.append(w[-1])
        out.append("struct %s %s" % (m.group(1), " ".join(names)))
    for m in re.finditer(r"enum(?:\s+\w+)?\s*\{(.*?)\}", pub, re.S):
        value = -1
        for item in m.group(1).split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                name, expr = [x.strip() for x in item.split("=", 1)]
                expr = expr.replace("1u", "1")
                value = eval(expr, {"__builtins__": {}}, {})
            else:
                name = item
                value += 1
            if name.endswith("_"):  # counters such as LLM_API_COUNT_ grow
                continue
            out.append("enum %s %d" % (name, value))
    for m in re.finditer(r"LLMASYNC_API\s+[^;(]*?\b(\w+)\s*\(", pub):
        out.append("function %s" % m.group(1))
    for m in re.finditer(r"^#define (LLM\w+)", public_part(src), re.M):
        out.append("macro %s" % m.group(1))
    return out


def main(argv):
    write = "--write" in argv
    args = [a for a in argv if a != "--write"]
    header = args[0] if args else "llmasync.h"
    cur = api(open(header, encoding="utf-8").read())
    if write:
        with open(BASE, "w") as f:
            f.write("# the public API of the last release (tests/check_api.py --write)\n")
            f.write("\n".join(cur) + "\n")
        print("api: recorded %d items in %s" % (len(cur), BASE))
        return 0
    base = [l.rstrip("\n") for l in open(BASE) if l.strip() and not l.startswith("#")]
    structs = {l.split()[1]: l.split()[2:] for l in cur if l.startswith("struct ")}
    have = set(cur)
    passed = failed = 0
    for l in base:
        kind, name = l.split()[0], l.split()[1]
        if kind == "struct":
            old = l.split()[2:]
            new = structs.get(name)
            if new is None:
                print("FAIL struct %s is gone" % name)
                failed += 1
            elif new[: len(old)] != old:
                print("FAIL struct %s: fields of the release %s are no longer its first ones, in order: %s"
                      % (name, old, new))
                failed += 1
            else:
                passed += 1
        elif l in have:
            passed += 1
        else:
            now = [c for c in cur if c.split()[:2] == [kind, name]]
            print("FAIL %s: %s" % (l, "now " + now[0] if now else "gone"))
            failed += 1
    print("api: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
