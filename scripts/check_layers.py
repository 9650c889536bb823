#!/usr/bin/env python3
"""Layer checks over src/ (run by scripts/check-layers.sh).

(a) Outside src/scheduler/, no file names a scheduler's own module
    (`scheduler::sge`, `scheduler::slurm`, `sge::…`, `slurm::…`): the rest of
    hecjob reaches a scheduler only through `scheduler::open` and its Dialect.
(b) No import cycle between the top-level modules of src/, nor between the
    files of src/scheduler/.
(c) The on-disk contract (src/jobdir/) imports only util: readers and writers
    of a job directory share it without pulling in what writes or reads it. Edges come from `use crate::…`, `use super::…`,
    `use self::…` (brace groups expanded) and inline `crate::…`/`super::…`
    paths in code; an item a mod.rs re-exports (`pub use x::Item`) counts as
    an edge to the file that defines it, so a facade is not a cycle.
Each violation is printed; the exit status is 1 when there is one.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "src"


def code_only(text):
    """The text without comments, each string or char literal emptied (one
    pass, so a string that spans lines or holds `//` is read correctly)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            close = '"' + hashes
            j = text.find(close, i + len(hashes) + 2)
            j = n if j < 0 else j + len(close)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i:i + 12]):
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:i + 12])
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


files = {}
for d, _, names in os.walk(ROOT):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(d, n)
            with open(p, encoding="utf-8") as f:
                files[p] = f.read()
modules = {module_of(p): p for p in files}


def expand_use(tree):
    """`a::{b, c::{d, e}}` → ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    out = []
    for part in parts:
        if part.strip():
            out += [prefix + x for x in expand_use(part)]
    return out


def resolve(mod, path, is_mod_rs):
    """A path as written in `mod`'s file → absolute segments, or None."""
    segs = [s.strip() for s in path.split("::")]
    segs = [re.sub(r"\s+as\s+\w+$", "", s) for s in segs if s]
    if not segs:
        return None
    base = list(mod) if is_mod_rs else list(mod)
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] == "self":
        return list(mod) + segs[1:]
    if segs[0] == "super":
        here = list(mod)
        while segs and segs[0] == "super":
            here = here[:-1]
            segs = segs[1:]
        return here + segs
    # A bare path naming a child module (`use directives::Directives`).
    if tuple(base + [segs[0]]) in modules:
        return base + segs
    return None


reexports = {}  # (module, Item) → defining module


def target(segs):
    """The deepest module a path reaches, following mod.rs re-exports."""
    for _ in range(8):
        best = ()
        for i in range(len(segs), 0, -1):
            if tuple(segs[:i]) in modules:
                best = tuple(segs[:i])
                break
        rest = segs[len(best):]
        if rest and (best, rest[0]) in reexports:
            segs = list(reexports[(best, rest[0])]) + rest[1:]
            continue
        return best
    return best


code = {p: code_only(t) for p, t in files.items()}

for p, text in code.items():
    mod = module_of(p)
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
        for path in expand_use(m.group(1)):
            segs = resolve(mod, path, True)
            if segs and segs[-1] not in ("*", "self"):
                name = re.split(r"\s+as\s+", path.split("::")[-1].strip())[-1]
                reexports[(mod, name)] = tuple(segs[:-1])

def inline_modules(text):
    """(start, end, name) of each `mod name { … }` written inside a file."""
    out = []
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        test_only = text[max(0, m.start() - 40):m.start()].rstrip().endswith("#[cfg(test)]")
        out.append((m.start(), i, m.group(1), test_only))
    return out


def module_at(mod, blocks, pos):
    inner = [name for (a, b, name, _) in sorted(blocks) if a <= pos <= b]
    return tuple(list(mod) + inner)


def in_tests(blocks, pos):
    """Test modules (`#[cfg(test)] mod tests { … }`) may import fixtures from
    anywhere in their crate: their imports are not the library's layering."""
    return any(a <= pos <= b and t for (a, b, _, t) in blocks)


edges = {}
for p, text in code.items():
    file_mod = module_of(p)
    blocks = inline_modules(text)
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths += [(m.start(), x) for x in expand_use(m.group(1))]
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        paths.append((m.start(), m.group(1)))
    mod = file_mod
    for pos, path in paths:
        if in_tests(blocks, pos):
            continue
        segs = resolve(module_at(file_mod, blocks, pos), path, p.endswith("mod.rs"))
        if segs is None:
            continue
        t = target(segs)
        if t and t != mod:
            edges.setdefault(mod, set()).add(t)

failed = False

# (a) scheduler names outside src/scheduler/
pat = re.compile(r"\b(?:scheduler::(?:sge|slurm)\b|(?<![\w:])(?:sge|slurm)::)")
for p, text in sorted(code.items()):
    mod = module_of(p)
    if mod[:1] == ("scheduler",):
        continue
    for i, line in enumerate(text.splitlines(), 1):
        if pat.search(line):
            print(f"{p}:{i}: names a scheduler's own module outside src/scheduler/ "
                  f"(use scheduler::open or the Dialect): {line.strip()}")
            failed = True


def cycles(graph):
    """One cycle per strongly connected component with more than one node."""
    index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(set(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        start = min(comp)
        # Breadth-first back to start: the shortest cycle through it.
        prev, frontier, found = {start: None}, [start], None
        while frontier and not found:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, ())):
                    if w == start:
                        found = v
                        break
                    if w in comp and w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        path, v = [start], found
        while v is not None and v != start:
            path.insert(1, v)
            v = prev[v]
        out.append((path + [start], sorted(comp)))
    return out


def name(m):
    return "::".join(m) or "crate"


# (c) the on-disk contract imports only util
for a, bs in sorted(edges.items()):
    if a[:1] != ("jobdir",):
        continue
    for b in sorted(bs):
        if b[:1] not in (("jobdir",), ("util",)):
            print(f"{name(a)} imports {name(b)}: the on-disk contract (src/jobdir/) may import only util")
            failed = True


top = {}
for a, bs in edges.items():
    for b in bs:
        if a and b and a[0] != b[0]:
            top.setdefault((a[0],), set()).add((b[0],))
for c, comp in cycles(top):
    print("import cycle between top-level modules: " + " -> ".join(name(m) for m in c)
          + f" (tangled: {', '.join(name(m) for m in comp)})")
    failed = True

sched = {}
for a, bs in edges.items():
    if a[:1] == ("scheduler",):
        for b in bs:
            if b[:1] == ("scheduler",) and len(b) > 1 and len(a) > 1:
                sched.setdefault(a, set()).add(b)
for c, comp in cycles(sched):
    print("import cycle between files of src/scheduler/: " + " -> ".join(name(m) for m in c)
          + f" (tangled: {', '.join(name(m) for m in comp)})")
    failed = True

sys.exit(1 if failed else 0)
