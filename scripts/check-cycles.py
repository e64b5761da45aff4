#!/usr/bin/env python3
"""Fails when the modules of a Rust crate import each other in a cycle.

Usage:
    scripts/check-cycles.py [SRC_DIR ...]   check these crate source directories
                                            (default: the core's, the CLI's and the app's)
    scripts/check-cycles.py --self-test     check the checker on crates with known answers

Each source file is one node (`foo/mod.rs` is module `foo`, `foo/bar.rs` is `foo::bar`,
`lib.rs` / `main.rs` the crate root); the module tree is found by following `mod x;` from
each crate root in the directory (`lib.rs`, `main.rs`, `bin/*.rs`). File A has an edge to
file B when A names a path into B: `crate::b::..`, `super::..`, `self::..`, a child module
`b::..`, or a name brought in by `use` (in `use` / `pub use` lines and in paths in code, such
as `crate::store::secrets::SecretKey` in an expression). A path goes to the file of its
longest prefix that is a module, so `crate::Keyfob` goes to `lib.rs`. A `mod x;` declaration
is not an import. Ignored: comments, string and char literals, and items under `#[cfg(test)]`
(test modules use whatever they test).

Prints each cycle as a chain of files with the line that makes each edge, and exits 1; prints
one line and exits 0 when there is none. Python 3.11 standard library only.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIRS = ["crates/keyfob-core/src", "crates/keyfob-cli/src", "src-tauri/src"]
MAX_CYCLES_SHOWN = 100

IDENT = r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*"
PATH_IN_CODE = re.compile(rf"(?<![\w$:])({IDENT}(?:\s*::\s*{IDENT})+)")
USE_STMT = re.compile(r"(?<![\w$])use\s+(?=[A-Za-z_:{*])([^;]*);")
MOD_DECL = re.compile(rf"(?<![\w$])mod\s+({IDENT})\s*;")
CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
CHAR_LIT = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]+\}|.)|[^\\'\n])'")
RAW_STR = re.compile(r'b?r(#*)"')


# --- Reading source --------------------------------------------------------------------------


def strip_comments_and_literals(src: str) -> str:
    """Blanks comments, string literals and char literals; keeps newlines (line numbers)."""
    out: list[str] = []
    i, n = 0, len(src)

    def blank(text: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in text)

    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        prev_is_word = i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_")
        if c == "/" and nxt == "/":
            end = src.find("\n", i)
            end = n if end == -1 else end
            out.append(blank(src[i:end]))
            i = end
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c in "br" and not prev_is_word and (m := RAW_STR.match(src, i)):
            closing = '"' + m.group(1)
            end = src.find(closing, m.end())
            end = n if end == -1 else end + len(closing)
            out.append(blank(src[i:end]))
            i = end
        elif c == '"' or (c == "b" and nxt == '"' and not prev_is_word):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(blank(src[i : j + 1]))
            i = j + 1
        elif c == "'" or (c == "b" and nxt == "'" and not prev_is_word):
            start = i + (1 if c == "b" else 0)
            m = CHAR_LIT.match(src, start)
            if m:  # otherwise a lifetime or a label: keep it
                out.append(blank(src[i : m.end()]))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def item_end(text: str, start: int) -> int:
    """End of the item starting at `start`: its `;`, or the `}` closing its first block."""
    depth = 0  # () and []
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth <= 0 and c == ";":
            return i + 1
        elif depth <= 0 and c == "{":
            braces = 0
            while i < n:
                if text[i] == "{":
                    braces += 1
                elif text[i] == "}":
                    braces -= 1
                    if braces == 0:
                        return i + 1
                i += 1
            return n
        i += 1
    return n


def strip_test_items(text: str) -> str:
    """Blanks every item marked `#[cfg(test)]` (in practice the `mod tests { .. }` blocks)."""
    chars = list(text)
    pos = 0
    while m := CFG_TEST.search(text, pos):
        end = item_end(text, m.end())
        for k in range(m.start(), end):
            if chars[k] != "\n":
                chars[k] = " "
        pos = end
    return "".join(chars)


def clean(src: str) -> str:
    return strip_test_items(strip_comments_and_literals(src))


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --- `use` trees -----------------------------------------------------------------------------

USE_TOKEN = re.compile(rf"\s*(::|[{{}},*]|{IDENT})")


def expand_use_tree(tree: str) -> list[tuple[list[str], str | None]]:
    """`a::{b, c::{self as d, *}}` -> [(path, alias)]: (a::b, b), (a::c, d), (a::c::*, None)."""
    tokens: list[str] = []
    pos = 0
    while pos < len(tree):
        m = USE_TOKEN.match(tree, pos)
        if not m:
            if tree[pos:].strip():
                raise ValueError(f"cannot parse use tree {tree!r}")
            break
        tokens.append(m.group(1))
        pos = m.end()

    out: list[tuple[list[str], str | None]] = []

    def parse(k: int, prefix: list[str]) -> int:
        segments = list(prefix)
        while k < len(tokens):
            t = tokens[k]
            if t == "::":
                if not segments:
                    segments.append("::")  # `::std::..`: an external crate
                k += 1
            elif t == "{":
                k += 1
                while k < len(tokens) and tokens[k] != "}":
                    k = parse(k, segments)
                    if k < len(tokens) and tokens[k] == ",":
                        k += 1
                return k + 1
            elif t == "*":
                out.append((segments + ["*"], None))
                return k + 1
            elif t in (",", "}"):
                return k
            else:
                if t == "self" and segments and k > 0 and tokens[k - 1] in ("{", ","):
                    pass  # `a::{self}` is `a`
                else:
                    segments.append(t.removeprefix("r#"))
                k += 1
                if k + 1 < len(tokens) and tokens[k] == "as":
                    alias = tokens[k + 1]
                    out.append((segments, None if alias == "_" else alias))
                    return k + 2
                if k >= len(tokens) or tokens[k] in (",", "}"):
                    out.append((segments, segments[-1] if segments else None))
                    return k
        if segments != prefix:
            out.append((segments, segments[-1]))
        return k

    k = 0
    while k < len(tokens):
        k = parse(k, [])
        if k < len(tokens) and tokens[k] == ",":
            k += 1
    return out


# --- The module graph ------------------------------------------------------------------------


@dataclass
class Edge:
    line: int
    path: str


@dataclass
class CrateGraph:
    root_dir: Path
    edges: dict[Path, dict[Path, Edge]] = field(default_factory=dict)

    def rel(self, f: Path) -> str:
        return f.relative_to(self.root_dir).as_posix()


def child_file(parent_file: Path, is_dir_owner: bool, name: str) -> Path | None:
    base = parent_file.parent if is_dir_owner else parent_file.with_suffix("")
    for candidate in (base / f"{name}.rs", base / name / "mod.rs"):
        if candidate.is_file():
            return candidate
    return None


def crate_roots(src_dir: Path) -> list[Path]:
    roots = [src_dir / name for name in ("lib.rs", "main.rs") if (src_dir / name).is_file()]
    bin_dir = src_dir / "bin"
    if bin_dir.is_dir():
        roots += sorted(p for p in bin_dir.glob("*.rs"))
        roots += sorted(p for p in bin_dir.glob("*/main.rs"))
    return roots


def build_graph(root: Path, graph: CrateGraph) -> None:
    """Adds to `graph` the files of the crate rooted at `root` and their edges."""
    modules: dict[tuple[str, ...], Path] = {}
    texts: dict[Path, str] = {}
    todo: list[tuple[tuple[str, ...], Path, bool]] = [((), root, True)]
    while todo:
        mod_path, file, owns_dir = todo.pop()
        if file in texts:
            continue
        modules[mod_path] = file
        texts[file] = clean(file.read_text(encoding="utf-8"))
        for m in MOD_DECL.finditer(texts[file]):
            name = m.group(1).removeprefix("r#")
            child = child_file(file, owns_dir, name)
            if child is not None:
                todo.append((mod_path + (name,), child, child.name == "mod.rs"))

    for mod_path, file in modules.items():
        text = texts[file]
        out = graph.edges.setdefault(file, {})
        aliases: dict[str, tuple[str, ...]] = {}

        def resolve(segments: list[str]) -> tuple[str, ...] | None:
            """The module a path names (its longest module prefix), or None if not this crate's."""
            if not segments or segments[0] == "::":
                return None
            first = segments[0]
            if first == "crate":
                full = list(segments[1:])
            elif first in ("self", "super"):
                base = list(mod_path)
                k = 0
                if segments[0] == "self":
                    k = 1
                while k < len(segments) and segments[k] == "super":
                    if not base:
                        return None
                    base.pop()
                    k += 1
                full = base + list(segments[k:])
            elif mod_path + (first,) in modules:
                full = list(mod_path) + list(segments)
            elif first in aliases:
                full = list(aliases[first]) + list(segments[1:])
            else:
                return None  # another crate, the prelude, or a local item
            full = [s for s in full if s != "*"]
            for k in range(len(full), -1, -1):
                if tuple(full[:k]) in modules:
                    return tuple(full[:k])
            return None

        def add(segments: list[str], offset: int) -> None:
            target = resolve(segments)
            if target is None:
                return
            target_file = modules[target]
            if target_file != file and target_file not in out:
                out[target_file] = Edge(line_of(text, offset), "::".join(segments))

        # `use` lines first (they also name aliases used by paths in code), then blank them so
        # `crate::{a, b}` is not read as a path to the crate root.
        uses = list(USE_STMT.finditer(text))
        for m in uses:
            for segments, alias in expand_use_tree(m.group(1)):
                exact = resolve_exact(segments, mod_path, modules) if alias else None
                if alias and exact is not None:
                    aliases[alias] = exact
                add(segments, m.start())
        code = list(text)
        for m in uses:
            for k in range(m.start(), m.end()):
                if code[k] != "\n":
                    code[k] = " "
        code_text = "".join(code)
        for m in PATH_IN_CODE.finditer(code_text):
            segments = [s.strip().removeprefix("r#") for s in m.group(1).split("::")]
            add(segments, m.start())


def resolve_exact(
    segments: list[str], mod_path: tuple[str, ...], modules: dict[tuple[str, ...], Path]
) -> tuple[str, ...] | None:
    """The module a `use` path names when the whole path is a module (`use crate::store;`)."""
    first = segments[0]
    if first == "crate":
        full = tuple(segments[1:])
    elif first in ("self", "super"):
        base = list(mod_path)
        k = 1 if first == "self" else 0
        while k < len(segments) and segments[k] == "super":
            if not base:
                return None
            base.pop()
            k += 1
        full = tuple(base) + tuple(segments[k:])
    else:
        full = mod_path + tuple(segments)
    return full if full in modules else None


def graph_of(src_dir: Path) -> CrateGraph:
    graph = CrateGraph(root_dir=src_dir)
    for root in crate_roots(src_dir):
        build_graph(root, graph)
    return graph


# --- Cycles ----------------------------------------------------------------------------------


def strongly_connected(nodes: list[Path], succ: dict[Path, list[Path]]) -> list[list[Path]]:
    """Tarjan's algorithm, iterative."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    on_stack: set[Path] = set()
    stack: list[Path] = []
    result: list[list[Path]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            children = succ.get(v, [])
            if i < len(children):
                work.append((v, i + 1))
                w = children[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return result


def find_cycles(graph: CrateGraph, limit: int = MAX_CYCLES_SHOWN) -> tuple[list[list[Path]], bool]:
    """Elementary cycles (each listed once, from its smallest file), and whether some were cut."""
    nodes = sorted(graph.edges, key=graph.rel)
    succ = {v: sorted(graph.edges[v], key=graph.rel) for v in nodes}
    order = {v: k for k, v in enumerate(nodes)}
    cycles: list[list[Path]] = []
    for component in strongly_connected(nodes, succ):
        if len(component) < 2:
            continue
        members = set(component)
        for start in sorted(component, key=order.__getitem__):
            allowed = {v for v in members if order[v] >= order[start]}
            path = [start]
            on_path = {start}
            work = [iter(succ[start])]
            while work:
                for w in work[-1]:
                    if w == start:
                        cycles.append(path + [start])
                        if len(cycles) >= limit:
                            return cycles, True
                    elif w in allowed and w not in on_path:
                        path.append(w)
                        on_path.add(w)
                        work.append(iter(succ[w]))
                        break
                else:
                    work.pop()
                    on_path.discard(path.pop())
    return cycles, False


def check(src_dir: Path, out=sys.stdout) -> bool:
    """Prints the verdict for one crate source directory; True when it has no cycle."""
    graph = graph_of(src_dir)
    cycles, cut = find_cycles(graph)
    shown = src_dir.relative_to(REPO).as_posix() if src_dir.is_relative_to(REPO) else src_dir
    if not cycles:
        n_edges = sum(len(e) for e in graph.edges.values())
        print(
            f"check-cycles: {shown}: OK, no import cycle among {len(graph.edges)} files "
            f"({n_edges} imports)",
            file=out,
        )
        return True
    more = f" (showing the first {len(cycles)})" if cut else ""
    print(f"check-cycles: {shown}: {len(cycles)} import cycle(s){more}", file=out)
    for k, cycle in enumerate(cycles, 1):
        print(f"  cycle {k}: " + " -> ".join(graph.rel(f) for f in cycle), file=out)
        for a, b in zip(cycle, cycle[1:]):
            edge = graph.edges[a][b]
            print(f"    {graph.rel(a)}:{edge.line} uses {edge.path}", file=out)
    return False


# --- Self-test -------------------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def cycles_in(root: Path) -> list[list[str]]:
    graph = graph_of(root)
    return [[graph.rel(f) for f in c] for c in find_cycles(graph)[0]]


def self_test() -> int:
    cases: list[tuple[str, dict[str, str], list[list[str]]]] = [
        (
            "error -> callback -> store/atomic -> error (use lines and a path in code)",
            {
                "lib.rs": "pub mod error;\npub mod callback;\npub mod store;\n",
                "error.rs": "use crate::callback::CallbackError;\npub enum Error { C(CallbackError) }\n",
                "callback.rs": "pub enum CallbackError {}\n"
                "pub fn f() { let _ = crate::store::atomic::read(); }\n",
                "store/mod.rs": "pub mod atomic;\n",
                "store/atomic.rs": "use crate::error::{Error, self};\npub fn read() {}\n",
            },
            [["callback.rs", "store/atomic.rs", "error.rs", "callback.rs"]],
        ),
        (
            "the same crate with the error type in a leaf module",
            {
                "lib.rs": "pub mod error;\npub mod callback;\nmod callback_error;\npub mod store;\n"
                "pub use crate::callback_error::CallbackError;\n",
                "callback_error.rs": "pub enum CallbackError {}\n",
                "error.rs": "use crate::callback_error::CallbackError;\n",
                "callback.rs": "pub use crate::callback_error::CallbackError;\n"
                "pub fn f() { let _ = crate::store::atomic::read(); }\n",
                "store/mod.rs": "pub mod atomic;\n",
                "store/atomic.rs": "use crate::error::Error;\npub fn read() {}\n",
            },
            [],
        ),
        (
            "mentions in comments, strings, tests and `mod` lines are no imports",
            {
                "lib.rs": "mod a;\nmod b;\n/// See [`crate::b::X`].\npub use crate::a::A;\n",
                "a.rs": "use crate::{b::X};\npub struct A;\n",
                "b.rs": "// uses crate::a::Y\n/* and crate::a::Z /* nested */ crate::a */\n"
                'pub struct X;\nconst S: &str = "crate::a::Y";\nconst R: &str = r#"one " crate::a::A"#;\n'
                "const C: char = '\"';\nfn f<'a>(x: &'a str) -> &'a str { x }\n"
                "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn g() { crate::a::h(); }\n}\n"
                "#[cfg(test)]\nuse crate::a::Y;\n",
            },
            [],
        ),
        (
            "a `use` group goes to the modules in it, not to the module before the brace",
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::{c::X};\npub struct A;\n",
                "b/mod.rs": "pub mod c;\npub fn f() { let _ = crate::a::A; }\n",
                "b/c.rs": "pub struct X;\n",
            },
            [],
        ),
        (
            "lib.rs re-exporting what a module that uses `crate::Keyfob` defines",
            {
                "lib.rs": "mod link;\npub use crate::link::LinkOptions;\npub struct Keyfob;\n",
                "link.rs": "use crate::Keyfob;\npub struct LinkOptions;\nimpl Keyfob {}\n",
            },
            [["lib.rs", "link.rs", "lib.rs"]],
        ),
        (
            "the facade in its own module",
            {
                "lib.rs": "mod facade;\nmod link;\npub use crate::facade::Keyfob;\n"
                "pub use crate::link::LinkOptions;\n",
                "facade.rs": "pub struct Keyfob;\n",
                "link.rs": "use crate::facade::Keyfob;\npub struct LinkOptions;\nimpl Keyfob {}\n",
            },
            [],
        ),
        (
            "`super::` to the parent, a bare child path, and a `use`d module alias",
            {
                "main.rs": "mod state;\nmod clip;\nfn main() { clip::copy(); }\n",
                "state.rs": "pub mod watch;\npub struct S;\n",
                "state/watch.rs": "use super::S;\n",
                "clip.rs": "use crate::state;\npub fn copy() { let _ = state::watch::W; }\n",
            },
            [],
        ),
        (
            "a cycle through `super::` and through a `use`d module alias",
            {
                "main.rs": "mod state;\nmod clip;\n",
                "state/mod.rs": "pub mod watch;\npub struct S;\nfn f() { crate::clip::copy(); }\n",
                "state/watch.rs": "use super::S;\n",
                "clip.rs": "use crate::state;\npub fn copy() { let _ = state::watch::W; }\n",
            },
            [
                ["clip.rs", "state/mod.rs", "clip.rs"],
                ["clip.rs", "state/watch.rs", "state/mod.rs", "clip.rs"],
            ],
        ),
        (
            "a path after a char literal, a lifetime and a raw string still counts",
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::X;\npub fn g() {}\n",
                "b.rs": "pub struct X;\nconst C: char = '\"';\nconst R: &str = r#\"\"a\"\"#;\n"
                "fn f<'a>(x: &'a str) -> &'a str { crate::a::g(); x }\n",
            },
            [["a.rs", "b.rs", "a.rs"]],
        ),
        (
            "a bare path to a child module; lib.rs and main.rs are two crates",
            {
                "lib.rs": "mod a;\npub const V: u8 = 1;\npub fn run() { a::go(); }\n",
                "a.rs": "pub fn go() { let _ = crate::V; }\n",
                "main.rs": "mod cli;\nfn main() { app::run(); }\n",
                "cli.rs": "pub fn parse() { let _ = crate::main; }\n",
            },
            [["a.rs", "lib.rs", "a.rs"]],
        ),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="check-cycles-") as tmp:
        for k, (name, files, expected) in enumerate(cases):
            root = write_tree(Path(tmp) / f"case{k}", files)
            got = cycles_in(root)
            if sorted(got) != sorted(expected):
                failures += 1
                print(f"check-cycles self-test FAILED: {name}\n  expected {expected}\n  got      {got}")
        # The command's verdict: exit status 1 with a cycle, 0 without.
        sink = open(os.devnull, "w")
        if check(Path(tmp) / "case0", out=sink) or not check(Path(tmp) / "case1", out=sink):
            failures += 1
            print("check-cycles self-test FAILED: verdict of check()")
        sink.close()
    parsed = expand_use_tree("crate::{a::{self, B as C}, d::*, e}")
    expected_tree = [
        (["crate", "a"], "a"),
        (["crate", "a", "B"], "C"),
        (["crate", "d", "*"], None),
        (["crate", "e"], "e"),
    ]
    if parsed != expected_tree:
        failures += 1
        print(f"check-cycles self-test FAILED: use tree\n  expected {expected_tree}\n  got      {parsed}")
    if failures:
        return 1
    print(f"check-cycles self-test: OK ({len(cases) + 2} cases)")
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--self-test"]:
        return self_test()
    if any(a.startswith("-") for a in argv):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    dirs = [Path(a) for a in argv] or [REPO / d for d in DEFAULT_DIRS]
    ok = True
    for d in dirs:
        if not d.is_dir():
            print(f"check-cycles: {d} is not a directory", file=sys.stderr)
            return 2
        ok = check(d) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
