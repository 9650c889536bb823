#!/usr/bin/env python3
"""List functions in src/ longer than a limit (default 80 lines), so `make check`
keeps them short. A function may stay longer when the line just above its `fn`
(or its doc/attribute block) holds a comment `// long: <why>`.

Brace counting over the text with strings, chars and comments skipped: good
enough for rustfmt-formatted code, which is all this tree holds."""
import os, re, sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")


def strip(line, state):
    """Remove string/char literals and comments; state carries block comments and raw strings."""
    out, i = [], 0
    while i < len(line):
        if state["block"]:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out)
            state["block"] = False
            i = j + 2
            continue
        if state["raw"] is not None:
            end = '"' + "#" * state["raw"]
            j = line.find(end, i)
            if j < 0:
                return "".join(out)
            state["raw"] = None
            i = j + len(end)
            continue
        if state["str"]:
            while i < len(line):
                if line[i] == "\\":
                    i += 2
                    continue
                if line[i] == '"':
                    state["str"] = False
                    i += 1
                    break
                i += 1
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["block"] = True
            i += 2
            continue
        m = re.match(r'b?r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            state["raw"] = len(m.group(1))
            i += len(m.group(0))
            continue
        if c == '"':
            state["str"] = True
            i += 1
            continue
        m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", line[i:])
        if m:
            i += len(m.group(0))
            continue
        out.append(c)
        i += 1
    return "".join(out)


def functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    state = {"block": False, "raw": None, "str": False}
    stack = []  # (name, start_line, depth_at_open)
    depth = 0
    pending = None
    for n, line in enumerate(lines, 1):
        code = strip(line, state)
        m = FN.match(code)
        if m:
            pending = (m.group(7), n)
        for ch in code:
            if ch == "{":
                depth += 1
                if pending:
                    stack.append((pending[0], pending[1], depth))
                    pending = None
            elif ch == "}":
                if stack and stack[-1][2] == depth:
                    name, start, _ = stack.pop()
                    yield name, start, n, lines
                depth -= 1
            elif ch == ";" and pending and depth >= 0:
                pending = None  # a declaration without a body


def excused(lines, start):
    i = start - 2
    while i >= 0 and (lines[i].strip().startswith("#[") or lines[i].strip().startswith("///")
                      or lines[i].strip().startswith("//")):
        if "// long:" in lines[i]:
            return True
        i -= 1
    return False


def main():
    bad = []
    for root, _, files in os.walk("src"):
        for f in sorted(files):
            if f.endswith(".rs"):
                p = os.path.join(root, f)
                for name, start, end, lines in functions(p):
                    length = end - start + 1
                    if length > LIMIT and not excused(lines, start):
                        bad.append((length, f"{p}:{start}", name))
    for length, where, name in sorted(bad, reverse=True):
        print(f"{where}: fn {name} is {length} lines (over {LIMIT}; split it, or write `// long: why` above it)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
