#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TAP: the public contract is written the same way everywhere.

The inputs table in src/config.c, the outputs src/outputs.c writes, action.yml, the README's
inputs and outputs tables and the workflows in examples/ were edited by many hands. This checks
that they name the same inputs and outputs (and that the README's defaults are action.yml's;
test-config.c checks the table's defaults against action.yml), that the names the issues made
public are all there, that the README's list of inputs refusing '' is what the binary refuses,
that the README's code layout names every source file, and that the test files SECURITY.md and
the README cite exist. Each check is also run on copies with a planted mismatch, which it must
catch: a check that cannot fail proves nothing."""

import glob
import os
import re
import subprocess
import sys

import yaml

ROOT = os.environ.get("ATOM_SAFETY_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.environ.get("ATOM_SAFETY_BIN")
n = 0
failed = 0

# names the issues (11, 14, 15, 16) wrote down: a public contract, spelt exactly so
ISSUE_INPUTS = ["kube-token", "kube-server", "kube-ca", "kube-oidc-audience", "ca-cert",
                "max-error-rate-increase", "max-latency-increase", "baseline-time", "metrics",
                "prometheus-username", "prometheus-password", "prometheus-headers", "production",
                "close-on-recovery", "pagerduty-routing-key", "pagerduty-events-url",
                "webhook-url", "webhook-secret", "webhook-on", "managed-rollback"]
ISSUE_OUTPUTS = ["report-json", "baseline-error-rate", "baseline-latency-ms", "metrics",
                 "closed-issues"]


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print("# " + line)
    return cond


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def sources():
    """every text the checks read, by name, so a planted mismatch is a changed copy"""
    s = {
        "config.c": read("src", "config.c"),
        "outputs.c": read("src", "outputs.c"),
        "action.yml": read("action.yml"),
        "README.md": read("README.md"),
        "SECURITY.md": read("SECURITY.md"),
        "fuzz/meson.build": read("fuzz", "meson.build"),
        "CHANGELOG.md": read("CHANGELOG.md"),
    }
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.yml"))):
        s["examples/" + os.path.basename(path)] = read("examples", os.path.basename(path))
    return s


def table_inputs(s):
    block = s["config.c"].split("static const struct input_spec inputs[] = {", 1)[1]
    block = block.split("\n};", 1)[0]
    return re.findall(r'^\s*\{\s*"([a-z0-9-]+)"\s*,', block, re.M)


def written_outputs(s):
    return re.findall(r'\bput\(out,\s*"([a-z0-9-]+)"', s["outputs.c"])


def md_table(text, heading):
    """rows (first cell's code spans, second cell, whole line) of the first table after heading"""
    sec = text.split("\n" + heading + "\n", 1)
    if len(sec) < 2:
        return None
    rows = []
    started = False
    for line in sec[1].splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if not cells or set(cells[0]) <= set("-: ") or cells[0] in ("input", "output", "Area", "Target"):
                continue
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1] if len(cells) > 1 else "",
                         line))
        elif started:
            break
    return rows


def yaml_code_keys(text):
    """with: keys of the action in the README's yaml blocks (indented ten spaces)"""
    keys = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if "atom-safety-action" not in block and re.search(r"^ {10}\S", block, re.M) is None:
            continue
        keys += re.findall(r"^ {10}([a-z][a-z0-9-]*):", block, re.M)
    return keys


def check_names(s):
    """every problem found, as one line each"""
    problems = []
    try:
        action = yaml.safe_load(s["action.yml"])
    except yaml.YAMLError as e:
        return ["action.yml does not parse: %s" % e]
    a_in = list((action.get("inputs") or {}).keys())
    a_out = list((action.get("outputs") or {}).keys())
    t_in = table_inputs(s)
    w_out = written_outputs(s)
    readme_in = md_table(s["README.md"], "## Inputs")
    readme_out = md_table(s["README.md"], "## Outputs, result and exit code")
    if not readme_in or not readme_out:
        return ["README: no inputs or outputs table under its heading"]
    r_in = [name for names, _, _ in readme_in for name in names[:]]
    r_in_defaults = {}
    for names, default, _ in readme_in:
        for name in names:
            r_in_defaults[name] = default
    r_out = [name for names, _, _ in readme_out for name in names]

    def compare(what, a, b, an, bn):
        for x in sorted(set(a) - set(b)):
            problems.append("%s '%s' is in %s, not in %s" % (what, x, an, bn))
        for x in sorted(set(b) - set(a)):
            problems.append("%s '%s' is in %s, not in %s" % (what, x, bn, an))
        for x in sorted(set(a)):
            if a.count(x) > 1:
                problems.append("%s '%s' is listed %d times in %s" % (what, x, a.count(x), an))

    compare("input", t_in, a_in, "src/config.c", "action.yml")
    compare("input", r_in, a_in, "README", "action.yml")
    compare("output", w_out, a_out, "src/outputs.c", "action.yml")
    compare("output", r_out, a_out, "README", "action.yml")
    for name in ISSUE_INPUTS:
        if name not in a_in:
            problems.append("input '%s' (named by an issue) is missing from action.yml" % name)
    for name in ISSUE_OUTPUTS:
        if name not in a_out:
            problems.append("output '%s' (named by an issue) is missing from action.yml" % name)
    # the CHANGELOG's release notes name every output and every input an issue added
    for name in a_out + ISSUE_INPUTS:
        if "`%s`" % name not in s["CHANGELOG.md"]:
            problems.append("CHANGELOG.md never names '%s'" % name)
    # the README's default column says what action.yml declares
    for name, spec in (action.get("inputs") or {}).items():
        if name not in r_in_defaults:
            continue
        shown = r_in_defaults[name]
        default = (spec or {}).get("default")
        if spec.get("required"):
            want_ok = shown == "(required)"
        elif default:
            want_ok = shown == "`%s`" % default
        else:
            # empty: "(empty)" or words saying what applies instead, never a value of its own
            want_ok = re.fullmatch(r"`[^`]*`", shown) is None
        if not want_ok:
            problems.append("README gives input '%s' the default %s, action.yml '%s'" %
                            (name, shown, default if default is not None else "(required)"))
    # every workflow in examples/ and every yaml snippet in the README uses real inputs only
    for path in sorted(k for k in s if k.startswith("examples/")):
        try:
            doc = yaml.safe_load(s[path])
        except yaml.YAMLError as e:
            problems.append("%s does not parse: %s" % (path, e))
            continue
        uses = 0
        for job in (doc.get("jobs") or {}).values():
            for step in job.get("steps") or []:
                if "atom-safety-action" not in str(step.get("uses", "")):
                    continue
                uses += 1
                for key in (step.get("with") or {}):
                    if key not in a_in:
                        problems.append("%s passes '%s', which is not an input" % (path, key))
        if uses == 0:
            problems.append("%s never uses the action" % path)
    for key in yaml_code_keys(s["README.md"]):
        if key not in a_in:
            problems.append("a README example passes '%s', which is not an input" % key)
    return problems


def check_docs(s):
    """the README's layout names every source file; cited test files and fuzz targets exist"""
    problems = []
    layout = s["README.md"].split("## How the code is laid out", 1)
    if len(layout) < 2:
        return ["README: no 'How the code is laid out' section"]
    layout = layout[1]
    listed = set()
    # one module per line, or several ('src/buf.[ch] error.[ch] attr.h')
    for line in re.findall(r"^src/[^\n]*", layout, re.M):
        for word in line.split():
            word = word[len("src/"):] if word.startswith("src/") else word
            if re.fullmatch(r"[a-z0-9_/]+\.\[ch\]", word):
                listed.add(word[:-len(".[ch]")])
            elif re.fullmatch(r"[a-z0-9_/]+\.c", word):
                listed.add(word[:-len(".c")])
            elif re.fullmatch(r"[a-z0-9_/]+\.h", word):
                listed.add(word)
    for stem in s["src files"]:
        if stem not in listed:
            problems.append("README's layout does not list src/%s" % stem)
    for stem in sorted(listed - set(s["src files"])):
        problems.append("README's layout lists src/%s, which does not exist" % stem)
    # test files and scripts cited by SECURITY.md and the README exist
    for doc in ("SECURITY.md", "README.md"):
        for path in sorted(set(re.findall(r"\b(tests/[A-Za-z0-9_./-]*[A-Za-z0-9_])", s[doc]))):
            if not os.path.exists(os.path.join(ROOT, path)):
                problems.append("%s cites %s, which does not exist" % (doc, path))
        for name in sorted(set(re.findall(r"\b(test-[a-z0-9-]+\.(?:py|c))\b", s[doc]))):
            if not glob.glob(os.path.join(ROOT, "tests", "*", name)):
                problems.append("%s names %s, which is in no tests/ folder" % (doc, name))
    # every table row has its header's number of cells: GitHub splits a row at each unescaped '|',
    # inside code spans too (a `A|B` there adds a cell and shifts the rest)
    for doc in ("README.md", "SECURITY.md"):
        width = None
        in_code = False
        for no, line in enumerate(s[doc].splitlines(), 1):
            if line.startswith("```"):
                in_code = not in_code
            if in_code or not line.startswith("|"):
                width = None
                continue
            cells = len(re.split(r"(?<!\\)\|", line)) - 2
            if width is None:
                width = cells
            elif cells != width:
                problems.append("%s line %d: %d table cells, the header has %d" % (doc, no, cells, width))
    # every guarantee in SECURITY.md names the tests that prove it
    rows = md_table(s["SECURITY.md"], "## What the gate guarantees") or []
    if not rows:
        problems.append("SECURITY.md: no guarantees table")
    for _, _, line in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) < 3 or not re.search(r"test-[a-z0-9-]+\.(py|c)|fuzz-|tests/", cells[2]):
            problems.append("SECURITY.md: the guarantee %s names no test" % cells[0])
    # every fuzz target is in SECURITY.md's table, and the table names no other
    targets = re.findall(r"^\s*'([a-z0-9-]+)',", s["fuzz/meson.build"].split("fuzz_targets = [", 1)[1]
                         .split("]", 1)[0], re.M)
    fuzz_sec = s["SECURITY.md"].split("## Fuzzing", 1)
    rows = md_table("\n" + fuzz_sec[1], "") if len(fuzz_sec) > 1 else None
    in_table = set()
    if rows:
        for names, _, line in rows:
            in_table.update(names[:1])
    for t in targets:
        if t not in in_table:
            problems.append("SECURITY.md's fuzzing table lacks the target '%s'" % t)
    for t in sorted(in_table - set(targets) - {"Target"}):
        problems.append("SECURITY.md's fuzzing table names '%s', not in fuzz/meson.build" % t)
    return problems


def src_files():
    out = []
    for path in glob.glob(os.path.join(ROOT, "src", "**", "*.[ch]"), recursive=True):
        rel = os.path.relpath(path, os.path.join(ROOT, "src"))
        if rel.endswith(".c") or not os.path.exists(os.path.join(ROOT, "src", rel[:-2] + ".c")):
            out.append(rel[:-2] if rel.endswith(".c") else rel)
    return sorted(set(out))


def empty_refused_in_readme(s):
    m = re.search(r"^- every other input[^\n]*(?:\n  [^\n]*)*", s["README.md"], re.M)
    if m is None:
        return None
    return set(re.findall(r"`([a-z0-9-]+)`", m.group(0)))


def empty_refused_by_binary(names):
    """the inputs the built binary refuses when set to '' (exit 2, 'set to an empty value')"""
    refused = set()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_"))}
    base.update({
        "INPUT_URL": "http://127.0.0.1:9", "INPUT_ENVIRONMENT": "staging",
        "INPUT_WAIT-TIMEOUT": "0s", "INPUT_RETRIES": "0", "INPUT_REQUEST-TIMEOUT": "1s",
        "INPUT_ROLLBACK": "false", "INPUT_CREATE-ISSUE": "false", "INPUT_DB-HEALTH-PATH": "",
        "RUNNER_TEMP": os.environ.get("TMPDIR", "/tmp"),
    })
    for name in names:
        env = dict(base)
        env["INPUT_" + name.upper()] = ""
        p = subprocess.run([BIN], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        if p.returncode == 2 and ("invalid input '%s'" % name) in p.stdout:
            refused.add(name)
    return refused


def main():
    s = sources()
    s["src files"] = src_files()

    problems = check_names(s)
    ok(not problems, "config table, outputs.c, action.yml, README and examples agree on names",
       "\n".join(problems))
    problems = check_docs(s)
    ok(not problems, "README layout, cited tests and the fuzzing table match the tree",
       "\n".join(problems))

    # planted mismatches: each must be caught
    def planted(label, key, old, new, check=check_names, extra=None):
        t = dict(s)
        if extra is not None:
            t.update(extra)
        if key is not None:
            ok(old in t[key], "plant '%s': the text to change is there" % label)
            t[key] = t[key].replace(old, new, 1)
        ok(check(t), "a planted mismatch is caught: %s" % label)

    planted("README input renamed", "README.md", "| `kube-oidc-audience` |",
            "| `kube-oidc-audiance` |")
    planted("action.yml input dropped", "action.yml", "\n  webhook-on:\n", "\n  webhook-onn:\n")
    planted("config table input renamed", "config.c", '{ "managed-rollback",',
            '{ "managed-rollbacks",')
    planted("README default differs", "README.md", "| `webhook-on` | `failure` |",
            "| `webhook-on` | `always` |")
    planted("output not declared", "outputs.c", 'put(out, "closed-issues"',
            'put(out, "closed-issue"')
    planted("CHANGELOG misses an output", "CHANGELOG.md", "`closed-issues`", "`closed issues`")
    planted("README output missing", "README.md", "| `closed-issues` |", "| `closed_issues` |")
    planted("example passes an unknown input", "examples/deploy.yml", "          environment: staging",
            "          enviroment: staging")
    planted("README snippet passes an unknown input", "README.md", "          max-latency: 500ms",
            "          max-latancy: 500ms")
    planted("layout misses a module", "README.md", "src/digest.[ch]", "src/dgst.[ch]", check_docs)
    planted("SECURITY.md cites a missing test", "SECURITY.md", "tests/integration/test-cancel.py",
            "tests/integration/test-cancelled.py", check_docs)
    planted("a guarantee without its test", "SECURITY.md", " | `test-cancel.py` |", " |  |", check_docs)
    planted("an unescaped pipe in a table cell", "SECURITY.md", "`O_CREAT\\|O_EXCL`", "`O_CREAT|O_EXCL`",
            check_docs)
    planted("fuzz target not in SECURITY.md", "fuzz/meson.build", "  'url',\n",
            "  'url',\n  'webhook',\n", check_docs)

    if BIN is None or not os.path.exists(BIN):
        ok(True, "# SKIP ATOM_SAFETY_BIN not set: the empty-value list is not compared")
    else:
        listed = empty_refused_in_readme(s)
        ok(listed is not None, "README lists the inputs that refuse ''")
        actual = empty_refused_by_binary(table_inputs(s))
        ok(listed == actual, "README's list of inputs refusing '' is what the binary refuses",
           "README only: %s\nbinary only: %s" % (sorted((listed or set()) - actual),
                                                 sorted(actual - (listed or set()))))
        ok("retries" in actual and "db-health-path" not in actual and "url" in actual,
           "the empty-value probe tells refused from accepted")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
