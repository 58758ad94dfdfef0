#!/usr/bin/env python3
"""Append-only check of the C ABI: every constant, function and struct of a baseline header
is still in the current header, constants with the same value, structs with the same fields
as a prefix (fields may only be appended), and every function of the header is exported by
the library (`nm -D`).

    python3 scripts/abi_check.py tests/abi/acscalling-baseline.h include/acscalling.h \
        target/debug/libacscalling.so
"""
import re
import subprocess
import sys

# Type names that look like calls in the header (function-pointer typedefs, casts).
NOT_FUNCTIONS = {"acs_status", "acs_video_frame", "acs_rendered_video_frame"}


def constants(h):
    return dict((k, v.strip()) for k, v in re.findall(r"#define\s+(ACS_\w+)\s+(.+)", h))


def functions(h):
    return set(re.findall(r"\b(acs_\w+)\s*\(", h)) - NOT_FUNCTIONS


def structs(h):
    out = {}
    for body, name in re.findall(r"typedef struct \{(.*?)\} (\w+);", h, re.S):
        body = re.sub(r"//[^\n]*", "", body)
        out[name] = [re.sub(r"\s+", " ", f.strip()) for f in body.split(";") if f.strip()]
    return out


def strip_comments(h):
    """The header without its comments (/* */ and /** */ doc blocks, // lines), so that only
    declarations count and a doc comment's wording never reads as a field or function."""
    h = re.sub(r"/\*.*?\*/", "", h, flags=re.S)
    return re.sub(r"//[^\n]*", "", h)


def check(old_h, new_h, lib):
    old_h, new_h = strip_comments(old_h), strip_comments(new_h)
    problems = []
    oc, nc = constants(old_h), constants(new_h)
    for k, v in oc.items():
        if k not in nc:
            problems.append(f"constant {k} removed")
        elif nc[k] != v:
            problems.append(f"constant {k} changed: {v} -> {nc[k]}")
    for f in sorted(functions(old_h) - functions(new_h)):
        problems.append(f"function {f} removed")
    os_, ns = structs(old_h), structs(new_h)
    for s, fields in os_.items():
        if s not in ns:
            problems.append(f"struct {s} removed")
        elif ns[s][: len(fields)] != fields:
            problems.append(f"struct {s}: fields changed (only appending is allowed)")
    if lib:
        nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True,
                            text=True, check=True).stdout
        exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
        for f in sorted(functions(new_h) - exported):
            problems.append(f"function {f} is in the header but not exported")
    summary = (f"{len(oc)} -> {len(nc)} constants, {len(functions(old_h))} -> "
               f"{len(functions(new_h))} functions, {len(os_)} -> {len(ns)} structs")
    return problems, summary


def main():
    old_path, new_path = sys.argv[1], sys.argv[2]
    lib = sys.argv[3] if len(sys.argv) > 3 else None
    problems, summary = check(open(old_path).read(), open(new_path).read(), lib)
    print(summary)
    for p in problems:
        print("ABI:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
