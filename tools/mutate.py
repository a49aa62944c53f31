#!/usr/bin/python3
"""Mutation testing of llmasync.h: how many plausible one-line bugs do the
tests catch?  `make mutate` runs it; knobs in the environment:

  MUTATE_N        mutants to try (default 60)
  MUTATE_SEED     which ones (default 1): the same seed, the same mutants
  MUTATE_JOBS     mutants at once (default: the machine's cores)
  MUTATE_SECTION  only mutants of sections whose name contains this
  MUTATE_LIST=1   print the sampled mutants and stop
  MUTATE_IDS      only these mutants (ids as printed, comma-separated):
                  to check again the survivors of a run after new tests

Mutants are made by operator class over the implementation part of the
header (never in comments, strings or preprocessor lines):

  relational   < <= > >= == != swapped for a neighbour
  arithmetic   + and - swapped, an integer constant off by one
  constant     0 <-> 1, a larger constant + 1 or halved
  delete       one simple statement removed
  negate       the condition of an if / while inverted
  enum         one error kind, timeout kind, status or body mode swapped for
               another of its family

The sample is spread over the header's sections (`/* >>name` banners): each
section gets a share of MUTATE_N in proportion to its candidates, at least
one. Each mutant is compiled into the test suites in the order that kills
cheapest (no mock server first), each suite run with a time bound; the
first failing, crashing or hanging suite kills it. A mutant that does not
compile is stillborn and replaced by another of its section. Mutants listed
in tools/mutate_equivalent.txt (reviewed: they cannot change behaviour, with
the reason) are reported apart and left out of the score.

Prints a per-section table, each survivor with its line and change, and a
last line "mutation score: K/N (P%)". Exit status 0 (a score is a figure,
not a verdict); 2 on a usage or build error.
"""
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "llmasync.h")
EQUIV = os.path.join(ROOT, "tools", "mutate_equivalent.txt")
BUILD = os.path.join(ROOT, "build")

# Suites in the order that kills cheapest, with a time bound (seconds) each.
# Those marked mock need the mock server (MOCK_SERVER).
SUITES = [
    ("json", 30), ("sse", 30), ("codec", 30), ("e2e", 60), ("providers", 60), ("endpoints", 60),
    ("hardening", 90), ("iofail", 30), ("stream", 90), ("reliability", 90), ("oom", 120), ("soak", 120),
    ("record", 90),
]
CFLAGS = ["-std=c99", "-O0", "-w", "-fsanitize=address,undefined",
          "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]
LIBS = {"default": ["-lcurl", "-lpthread"], "hardening": ["-lcurl", "-lpthread", "-Wl,--wrap=localeconv"],
        "iofail": ["-lcurl", "-lpthread", "-Wl,--wrap=epoll_ctl", "-Wl,--wrap=curl_easy_init",
                   "-Wl,--wrap=curl_multi_info_read", "-Wl,--wrap=curl_easy_setopt"]}

ENUMS = [
    ["LLM_ERR_CONNECTION", "LLM_ERR_TIMEOUT", "LLM_ERR_RATE_LIMIT", "LLM_ERR_AUTH", "LLM_ERR_PERMISSION",
     "LLM_ERR_BAD_REQUEST", "LLM_ERR_NOT_FOUND", "LLM_ERR_CONFLICT", "LLM_ERR_TOO_LARGE", "LLM_ERR_UNPROCESSABLE",
     "LLM_ERR_SERVER", "LLM_ERR_OVERLOADED", "LLM_ERR_PROTOCOL", "LLM_ERR_CANCELLED", "LLM_ERR_INVALID",
     "LLM_ERR_NO_MEMORY", "LLM_ERR_NONE"],
    ["LLM_TIMEOUT_NONE", "LLM_TIMEOUT_CONNECT", "LLM_TIMEOUT_FIRST_BYTE", "LLM_TIMEOUT_IDLE", "LLM_TIMEOUT_TOTAL",
     "LLM_TIMEOUT_SERVER"],
    ["LLM_QUEUED", "LLM_ACTIVE", "LLM_RETRY_WAIT", "LLM_DONE", "LLM_FAILED", "LLM_CANCELLED"],
    ["LLM__M_UNDECIDED", "LLM__M_STREAM", "LLM__M_BUFFER"],
    ["LLM_API_OPENAI", "LLM_API_ANTHROPIC", "LLM_API_OLLAMA"],
    ["LLM_JSON_NULL", "LLM_JSON_FALSE", "LLM_JSON_TRUE", "LLM_JSON_NUMBER", "LLM_JSON_STRING", "LLM_JSON_ARRAY",
     "LLM_JSON_OBJECT"],
]
DECL_START = re.compile(r"^\s*(static|const|unsigned|signed|int|long|short|char|double|float|size_t|ssize_t|"
                        r"int64_t|uint64_t|uint32_t|uint8_t|llm_\w+|llm__\w+\s*\*|struct|enum|typedef|CURL\w*|"
                        r"curl_\w+|va_list|FILE|void|return|if|else|for|while|do|switch|case|default|break|"
                        r"continue|goto)\b")


def code_part(line):
    """The line with comments and string/char literals blanked (same length)."""
    out = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if line.startswith("/*", i):
            j = line.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " * (j - i))
            i = j
        elif line.startswith("//", i):
            out.append(" " * (n - i))
            i = n
        elif c in "\"'":
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + (c if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)[:n]


def sections_of(lines):
    """[(name, first, last)] over the implementation, by `/* >>name` banners."""
    start = next(i for i, l in enumerate(lines) if l.startswith("#ifdef LLMASYNC_IMPLEMENTATION"))
    marks = []
    for i in range(start, len(lines)):
        m = re.match(r"/\* >>([a-z][a-z :]*[a-z]) =", lines[i])
        if m:
            marks.append((m.group(1), i))
    out = []
    for k, (name, i) in enumerate(marks):
        end = marks[k + 1][1] if k + 1 < len(marks) else len(lines)
        out.append((name, i, end))
    return out


def in_block_comment(lines, first, last):
    """Per line of [first, last): True when the line starts inside a /* */
    comment (string and character literals are skipped while scanning)."""
    flags, state = [], "code"
    for i in range(first, last):
        flags.append(state == "block")
        l, k, n = lines[i], 0, len(lines[i])
        while k < n:
            if state == "block":
                j = l.find("*/", k)
                if j < 0:
                    break
                state, k = "code", j + 2
            elif l.startswith("/*", k):
                state, k = "block", k + 2
            elif l.startswith("//", k):
                break
            elif l[k] in "\"'":
                q, k = l[k], k + 1
                while k < n and l[k] != q:
                    k += 2 if l[k] == "\\" else 1
                k += 1
            else:
                k += 1
    return flags


# What the mutants are compiled as: Linux, the default (epoll) I/O back end.
# Lines of a preprocessor branch that is not compiled there are no mutants
# (the suites could never see them); conditions naming other macros count
# as compiled.
BUILD_MACROS = {"_WIN32": 0, "__linux__": 1, "LLM__IO_EPOLL": 1, "LLM__IO_POLL": 0, "LLM__IO_PERFORM": 0,
                "LLMASYNC_IO_POLL": 0, "LLMASYNC_IO_PERFORM": 0, "LLMASYNC_ALLOW_COARSE_CLOCK": 0,
                "CLOCK_MONOTONIC": 1, "__GNUC__": 1}


def pp_value(cond):
    """1, 0 or None (unknown) for an #if / #elif condition."""
    names = re.findall(r"defined\s*\(?\s*(\w+)\s*\)?", cond)
    if not names or any(n not in BUILD_MACROS for n in names):
        return None
    if re.sub(r"defined\s*\(?\s*\w+\s*\)?|[!&|() \t]", "", cond):
        return None
    expr = re.sub(r"defined\s*\(?\s*(\w+)\s*\)?", lambda m: str(BUILD_MACROS[m.group(1)]), cond)
    expr = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    try:
        return 1 if eval(expr, {"__builtins__": {}}, {}) else 0
    except Exception:
        return None


def compiled_lines(lines):
    """Per line: False inside a branch the mutants' build does not compile."""
    out, stack = [], []  # stack of [this branch compiled, some branch taken]
    for l in lines:
        m = re.match(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)", l)
        if m:
            d, rest = m.group(1), m.group(2).split("/*")[0].strip()
            if d in ("if", "ifdef", "ifndef"):
                v = pp_value(rest if d == "if" else "defined(%s)" % rest)
                if d == "ifndef" and v is not None:
                    v = 1 - v
                on = v != 0
                stack.append([on, v == 1])
            elif d == "elif" and stack:
                v = pp_value(rest)
                on = not stack[-1][1] and v != 0
                stack[-1] = [on, stack[-1][1] or v == 1]
            elif d == "else" and stack:
                stack[-1] = [not stack[-1][1], True]
            elif d == "endif" and stack:
                stack.pop()
        out.append(all(f[0] for f in stack))
    return out


def candidates(lines):
    """Every mutant: (section, line index, description, new line, class)."""
    out = []
    live = compiled_lines(lines)
    for name, first, last in sections_of(lines):
        flags = in_block_comment(lines, first, last)
        for idx in range(first, last):
            if flags[idx - first] or not live[idx]:
                continue
            line = lines[idx]
            if line.lstrip().startswith("#"):
                continue
            code = code_part(line)
            if not code.strip() or code.strip().startswith("*"):
                continue

            def add(col, old, new, cls):
                nl = line[:col] + new + line[col + len(old):]
                if nl != line:
                    out.append((name, idx, "%s -> %s (col %d)" % (old.strip() or old, new.strip() or new, col + 1), nl, cls))

            for m in re.finditer(r"<=|>=|==|!=|(?<![<\-])<(?![<=])|(?<![>\-])>(?![>=])", code):
                op = m.group(0)
                if op in "<>" and (re.search(r"#\s*include", code) or "->" in code[max(0, m.start() - 1):m.end() + 1]):
                    continue
                swap = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}[op]
                add(m.start(), op, swap, "relational")
            for m in re.finditer(r"(?<=[\w\)\]] )([+-])(?= [\w\(])", code):
                add(m.start(1), m.group(1), "-" if m.group(1) == "+" else "+", "arithmetic")
            for m in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", code):
                v = int(m.group(1))
                if m.start() > 0 and code[m.start() - 1] in "xX":
                    continue
                if v in (0, 1):
                    add(m.start(1), m.group(1), "1" if v == 0 else "0", "constant")
                else:
                    add(m.start(1), m.group(1), str(v + 1), "arithmetic")
                    add(m.start(1), m.group(1), str(v // 2), "constant")
            s = code.strip()
            simple = (s.endswith(";") and s.count(";") == 1 and "{" not in s and "}" not in s
                      and not DECL_START.match(code) and not s.startswith(("case ", "default")))
            if simple and (re.match(r"^[\w>\-.\[\]*()]+\s*(=|\+=|-=|\|=|&=|\+\+|--)", s) or re.match(r"^\w+\(", s)
                           or re.match(r"^(\+\+|--)\w", s)):
                indent = line[:len(line) - len(line.lstrip())]
                out.append((name, idx, "statement deleted: " + s[:70], indent + "; /* mutant: deleted */\n", "delete"))
            for m in re.finditer(r"\b(if|while) \(", code):
                depth, j = 0, m.end() - 1
                while j < len(code):
                    if code[j] == "(":
                        depth += 1
                    elif code[j] == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                if j < len(code):
                    inner = line[m.end():j]
                    nl = line[:m.end()] + "!(" + inner + ")" + line[j:]
                    out.append((name, idx, "%s condition negated (col %d)" % (m.group(1), m.start() + 1), nl, "negate"))
            for fam in ENUMS:
                for e in fam:
                    for m in re.finditer(r"\b%s\b" % e, code):
                        others = [x for x in fam if x != e]
                        # one deterministic partner per site (the next in the family)
                        partner = others[(fam.index(e)) % len(others)]
                        add(m.start(), e, partner, "enum")
    return out


def mutant_id(c, lines):
    """Stable across edits elsewhere: the section, the original line's text
    and the change; where the section holds the same line more than once
    (say `p++;`), also which of them it is (the first keeps the plain id)."""
    name, idx, desc, nl, cls = c
    text = lines[idx].strip()
    first = next(f for n, f, l in sections_of(lines) if n == name and f <= idx < l)
    nth = sum(1 for i in range(first, idx) if lines[i].strip() == text)
    key = name + "|" + text + "|" + nl.strip() + ("|#%d" % nth if nth else "")
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def load_equivalent():
    eq = {}
    if os.path.exists(EQUIV):
        for l in open(EQUIV, encoding="utf-8"):
            l = l.strip()
            if not l or l.startswith("#"):
                continue
            parts = l.split(" ", 1)
            eq[parts[0]] = parts[1] if len(parts) > 1 else ""
    return eq


def sample(cands, n, seed, lines):
    rng = random.Random(seed)
    by = {}
    for c in cands:
        by.setdefault(c[0], []).append(c)
    for v in by.values():
        rng.shuffle(v)
    names = [s for s, _, _ in sections_of(lines) if s in by]
    total = sum(len(by[s]) for s in names)
    share = {s: max(1, round(n * len(by[s]) / total)) for s in names}
    while sum(share.values()) > n:  # trim the largest shares
        s = max(share, key=lambda k: share[k])
        share[s] -= 1
    while sum(share.values()) < n:
        s = max(names, key=lambda k: len(by[k]) / share[k])
        share[s] += 1
    return by, share, names


def run(cmd, timeout, env=None, cwd=None):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env, cwd=cwd)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "timeout"


TEST_FILES = {}  # name -> bytes: the tests as they were at the start (edits meanwhile do not leak in)


def snapshot_tests():
    for f in os.listdir(os.path.join(ROOT, "tests")):
        if f.endswith((".c", ".h", ".supp")):
            with open(os.path.join(ROOT, "tests", f), "rb") as fh:
                TEST_FILES[f] = fh.read()
    # tests that include "../fuzz/fuzz_util.h" (test_json, test_diff)
    with open(os.path.join(ROOT, "fuzz", "fuzz_util.h"), "rb") as fh:
        TEST_FILES["../fuzz/fuzz_util.h"] = fh.read()


def try_mutant(c, lines, work_root, env):
    """'killed' (suite), 'survived', or 'stillborn'. A suite that fails is
    run once more: a mutant is killed only by a failure that repeats (a
    timing test that flaked under load does not count)."""
    name, idx, desc, nl, cls = c if c else (None, None, None, None, None)
    d = tempfile.mkdtemp(prefix="m", dir=work_root)
    try:
        os.mkdir(os.path.join(d, "tests"))
        os.mkdir(os.path.join(d, "fuzz"))
        for f, data in TEST_FILES.items():
            with open(os.path.join(d, "tests", f), "wb") as fh:
                fh.write(data)
        ml = list(lines)
        if c:
            ml[idx] = nl
        with open(os.path.join(d, "llmasync.h"), "w", encoding="utf-8") as f:
            f.writelines(ml)
        # one compile of the header alone tells a stillborn mutant cheaply
        rc, out = run(["cc"] + CFLAGS[:2] + ["-w", "-fsyntax-only", "-x", "c", "-DLLMASYNC_IMPLEMENTATION",
                                              os.path.join(d, "llmasync.h")], 60)
        if rc != 0:
            return ("stillborn", "", 0.0)
        t0 = time.time()
        for suite, limit in SUITES:
            exe = os.path.join(d, "t_" + suite)
            rc, out = run(["cc"] + CFLAGS + [os.path.join(d, "tests", "test_%s.c" % suite), "-o", exe]
                          + LIBS.get(suite, LIBS["default"]), 240)
            if rc != 0:
                return ("stillborn", suite, time.time() - t0)
            rc, out = run([exe], limit, env=env, cwd=ROOT)
            if rc != 0:
                rc2, out2 = run([exe], limit, env=env, cwd=ROOT)
                if rc2 != 0:
                    return ("killed", suite + (" (timeout)" if rc is None else ""), time.time() - t0)
            os.remove(exe)
        return ("survived", "", time.time() - t0)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    n = int(os.environ.get("MUTATE_N", "60"))
    seed = int(os.environ.get("MUTATE_SEED", "1"))
    jobs = int(os.environ.get("MUTATE_JOBS", str(os.cpu_count() or 2)))
    only = os.environ.get("MUTATE_SECTION", "")
    mock = os.path.join(BUILD, "mock_server")
    if not os.path.exists(mock):
        print("mutate: %s not built (make build/mock_server)" % mock)
        return 2
    lines = open(HEADER, encoding="utf-8").readlines()
    snapshot_tests()
    cands = [c for c in candidates(lines) if only in c[0]]
    eq = load_equivalent()
    by, share, names = sample(cands, n, seed, lines)
    ids = set(x for x in re.split(r"[,\s]+", os.environ.get("MUTATE_IDS", "")) if x)
    if ids:
        by = {s: [c for c in by[s] if mutant_id(c, lines) in ids] for s in names}
        names = [s for s in names if by[s]]
        share = {s: len(by[s]) for s in names}
        missing = ids - set(mutant_id(c, lines) for s in names for c in by[s])
        if missing:
            print("mutate: no such mutant: %s" % " ".join(sorted(missing)))
            return 2
    if os.environ.get("MUTATE_LIST"):
        for s in names:
            for c in by[s][:share[s]]:
                print("%s  %-16s %5d  %-10s %s" % (mutant_id(c, lines), s, c[1] + 1, c[4], c[2]))
        return 0
    env = dict(os.environ)
    env.update({"MOCK_SERVER": mock, "MOCK_SERVER_TLS": os.path.join(BUILD, "mock_server_tls"),
                "TLS_DIR": os.path.join(BUILD, "tls"), "LOCPATH": os.path.join(BUILD, "locale"),
                "ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "halt_on_error=1",
                # -O0 with ASan is about twice as slow as the suites' own builds:
                # the CPU-time bounds (frame budgets) scale with TEST_SLOW
                "TEST_SLOW": "2",
                "LSAN_OPTIONS": "suppressions=%s/tests/lsan.supp:print_suppressions=0" % ROOT})
    env.pop("TEST_VERBOSE", None)
    work_root = tempfile.mkdtemp(prefix="llmmutate.")
    # the suites must pass on the header as it is, or every mutant would die
    verdict, by_suite, secs = try_mutant(None, lines, work_root, env)
    if verdict != "survived":
        print("mutate: the suites do not pass on the unmutated header (%s in %s)" % (verdict, by_suite))
        shutil.rmtree(work_root, ignore_errors=True)
        return 2
    print("mutate: baseline: every suite passes on the header as it is (%.0f s)" % secs)
    results = {s: [] for s in names}
    equivalent = []
    t0 = time.time()
    print("mutate: %d candidates in %d sections; sampling %d (seed %d), %d at once" % (len(cands), len(names), n, seed, jobs))
    sys.stdout.flush()

    def section_worker(s):
        """Tries mutants of one section in sampled order until its share is met."""
        got, i, pool = [], 0, by[s]
        while len(got) < share[s] and i < len(pool):
            c = pool[i]
            i += 1
            mid = mutant_id(c, lines)
            if mid in eq:
                equivalent.append((s, c, mid, eq[mid]))
                continue
            verdict, by_suite, secs = try_mutant(c, lines, work_root, env)
            if verdict == "stillborn":
                continue
            got.append((c, mid, verdict, by_suite, secs))
            print("  %-9s %-16s line %5d  %-10s %s%s" % (verdict, s, c[1] + 1, c[4], c[2],
                                                         "  [" + by_suite + "]" if by_suite else ""))
            sys.stdout.flush()
        return s, got

    try:
        with ThreadPoolExecutor(max_workers=jobs) as ex:
            for s, got in ex.map(section_worker, names):
                results[s] = got
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    total = killed = 0
    print("\n%-18s %8s %8s %8s %7s" % ("section", "mutants", "killed", "survived", "score"))
    for s in names:
        k = sum(1 for r in results[s] if r[2] == "killed")
        t = len(results[s])
        total += t
        killed += k
        print("%-18s %8d %8d %8d %7s" % (s, t, k, t - k, "%.0f%%" % (100.0 * k / t) if t else "-"))
    surv = [(s, r) for s in names for r in results[s] if r[2] == "survived"]
    if surv:
        print("\nsurvivors (add a test that kills each, or, if it cannot change behaviour, its id and the reason to "
              "tools/mutate_equivalent.txt):")
        for s, (c, mid, _, _, _) in surv:
            print("  %s  %s line %d: %s\n      was: %s\n      now: %s" % (mid, s, c[1] + 1, c[2], lines[c[1]].strip(),
                                                                       c[3].strip()))
    if equivalent:
        print("\nequivalent (reviewed, left out of the score):")
        for s, c, mid, why in equivalent:
            print("  %s  %s line %d: %s -- %s" % (mid, s, c[1] + 1, c[2], why))
    print("\n%d mutants in %.0f s" % (total, time.time() - t0))
    print("mutation score: %d/%d (%.0f%%)" % (killed, total, 100.0 * killed / total if total else 0.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
