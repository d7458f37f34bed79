#!/usr/bin/python3
"""hexz-inspect against the writer's corpus: every stream and manifest file
of every case comes back byte for byte, every broken case fails the way
corpus.json says, and --verify names a damaged block.

    test_corpus.py HEXZ_INSPECT

Generates the corpus (tests/writer/make_corpus.py) and one extra damaged
directory archive into a temporary directory, removed at the end. Prints a
line per failed check and closes with 'N passed, N failed'; the exit status
is 1 when any check failed.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER_DIR = os.path.join(os.path.dirname(HERE), "writer")
sys.path.insert(0, WRITER_DIR)
import hexz_writer as hw  # noqa: E402

# Debian's python3 has the writer's modules (lz4, zstandard, cryptography);
# a pyenv python3 first on PATH may not.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
# A hung hexz-inspect is a failure, not a hung suite.
RUN_TIMEOUT = 60

# What the message of each expected open error must say (any one of them).
ERROR_WORDS = {
    "bad_password": ("wrong password",),
    "missing_parent": ("not found",),
    "parent_cycle": ("cycle", "leads back"),
    "chain_too_deep": ("deeper",),
}


class Checks:
    """Counts checks; prints the failures as they happen."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + detail) if detail else ""), flush=True)
        return ok


class Inspect:
    """Runs hexz-inspect in the corpus directory (parents are found there)."""

    def __init__(self, exe: str, cwd: str) -> None:
        self.exe = exe
        self.cwd = cwd

    def run(self, args: list[str], password: str | None = None, passfile: str | None = None):
        env = dict(os.environ)
        env.pop("HEXZ_PASSWORD", None)
        if password is not None:
            env["HEXZ_PASSWORD"] = password
        cmd = [self.exe] + (["--passfile", passfile] if passfile else []) + args
        try:
            p = subprocess.run(cmd, cwd=self.cwd, env=env, capture_output=True,
                               timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return -1, b"", ("timed out after %d s" % RUN_TIMEOUT)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def short(stderr: str) -> str:
    return stderr.strip().replace("\n", " | ")[:300]


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def names_block(stderr: str, numbers: list[int]) -> bool:
    """Whether the message names one of the damaged blocks ("block N")."""
    return any(re.search(r"\bblock %d\b" % n, stderr) for n in numbers)


def overlaps(ranges: list[dict], stream: str, offset: int, length: int) -> bool:
    return any(r["stream"] == stream and r["offset"] < offset + length and
               offset < r["offset"] + r["length"] for r in ranges)


# ---------------------------------------------------------------------------
# Per-case checks

def check_open_error(ck: Checks, ins: Inspect, case: dict) -> None:
    name, kind = case["name"], case["expect_error"]
    words = ERROR_WORDS[kind]
    for args in ([], ["--verify"], ["--cat", "main"]):
        rc, out, err = ins.run(args + [case["archive"]], password=case["password"])
        what = "%s: hexz-inspect %s (expect %s)" % (name, " ".join(args) or "info", kind)
        ck.check(rc == 1, what + ": exit 1", "exit %d, %s" % (rc, short(err)))
        ck.check(any(w in err for w in words), what + ": message says " + " or ".join(words),
                 short(err))
        ck.check(case["archive"] in err, what + ": message names the archive", short(err))
        if args[:1] == ["--cat"]:
            ck.check(out == b"", what + ": nothing on stdout", "%d bytes" % len(out))


INFO_STREAM = re.compile(r"^(main|auxiliary)\s+(\d+) bytes, (\d+) blocks in (\d+) index pages"
                         r" \((\d+) stored, (\d+) zero, (\d+) in parents\)$")


def check_info(ck: Checks, ins: Inspect, case: dict) -> None:
    name = case["name"]
    rc, out, err = ins.run([case["archive"]], password=case["password"])
    if not ck.check(rc == 0, "%s: info exits 0" % name, "exit %d, %s" % (rc, short(err))):
        return
    text = out.decode("utf-8", "replace")
    lines = text.splitlines()
    streams = {}
    for line in lines:
        m = INFO_STREAM.match(line)
        if m:
            streams[m.group(1)] = [int(x) for x in m.groups()[1:]]
    if not ck.check(set(streams) == {"main", "auxiliary"}, "%s: info shows both streams" % name,
                    text):
        return
    b = case["blocks"]
    for s in ("main", "auxiliary"):
        size = case[s]["size"] if case[s] else 0
        ck.check(streams[s][0] == size, "%s: info %s size" % (name, s),
                 "%d, expected %d" % (streams[s][0], size))
        ck.check(streams[s][2] == case["pages"][s], "%s: info %s pages" % (name, s),
                 "%d, expected %d" % (streams[s][2], case["pages"][s]))
    # size, blocks, pages, stored, zero, in parents: summed over both streams
    got = [streams["main"][i] + streams["auxiliary"][i] for i in range(6)]
    total, stored, zero, parent = got[1], got[3], got[4], got[5]
    ck.check(total == b["total"], "%s: info block count" % name,
             "%d, expected %d" % (total, b["total"]))
    ck.check(stored == b["data"] + b["dedup"], "%s: info stored blocks" % name,
             "%d, expected %d" % (stored, b["data"] + b["dedup"]))
    ck.check(zero == b["zero"], "%s: info zero blocks" % name, "%d, expected %d" % (zero, b["zero"]))
    ck.check(parent == b["parent"] + b["parent-position"], "%s: info parent blocks" % name,
             "%d, expected %d" % (parent, b["parent"] + b["parent-position"]))
    comp = re.search(r"^compression\s+(\w+), (\w+) blocks of (\d+) bytes", text, re.M)
    if ck.check(comp is not None, "%s: info compression line" % name, text):
        ck.check(comp.group(1) == case["compression"], "%s: info compression" % name,
                 comp.group(1))
        ck.check(comp.group(2) == ("variable" if case["variable_blocks"] else "fixed"),
                 "%s: info block kind" % name, comp.group(2))
        ck.check(int(comp.group(3)) == case["block_size"], "%s: info block size" % name,
                 comp.group(3))
    ck.check(("dictionary of" in text) == case["dictionary"], "%s: info dictionary" % name, text)
    ck.check(("AES-256-GCM" in text) == case["encrypted"], "%s: info encryption" % name, text)
    for p in case["parents"]:
        ck.check(re.search(r"^(parents)?\s+%s \(opened as " % re.escape(p), text, re.M)
                 is not None, "%s: info names parent %s" % (name, p), text)
    if case["manifest"] is not None:
        m = re.search(r"^manifest\s+(\d+) files$", text, re.M)
        ck.check(m is not None and int(m.group(1)) == len(case["manifest"]),
                 "%s: info manifest file count" % name, text)
    else:
        ck.check(re.search(r"^manifest\s+no", text, re.M) is not None,
                 "%s: info says no manifest" % name, text)
    ck.check(re.search(r"^signature\s+%s$" % ("yes" if case["signature_public_key"] else "no"),
                       text, re.M) is not None, "%s: info signature" % name, text)


def check_verify(ck: Checks, ins: Inspect, case: dict) -> None:
    name = case["name"]
    rc, out, err = ins.run(["--verify", case["archive"]], password=case["password"])
    if case["damaged_blocks"]:
        ck.check(rc == 1, "%s: --verify exits 1 on a damaged archive" % name,
                 "exit %d, %s" % (rc, short(err)))
        ck.check(names_block(err, case["damaged_blocks"]),
                 "%s: --verify names block %s" % (name, case["damaged_blocks"]), short(err))
        return
    ck.check(rc == 0, "%s: --verify exits 0" % name, "exit %d, %s" % (rc, short(err)))
    sound = out.decode("utf-8", "replace").count(": sound")
    ck.check(sound >= 1 + len(case["parents"]),
             "%s: --verify reports the archive and its parents sound" % name,
             out.decode("utf-8", "replace")[:300])


def check_cat(ck: Checks, ins: Inspect, case: dict, what: str, expected: bytes,
              damaged: bool, password: str | None = None, passfile: str | None = None) -> None:
    name = case["name"]
    rc, out, err = ins.run(["--cat", what, case["archive"]],
                           password=password if passfile is None else None, passfile=passfile)
    label = "%s: --cat %s%s" % (name, what, " (--passfile)" if passfile else "")
    if damaged:
        ck.check(rc == 1, label + " exits 1 over a damaged block", "exit %d, %s" % (rc, short(err)))
        ck.check(names_block(err, case["damaged_blocks"]), label + " names the damaged block",
                 short(err))
        ck.check(expected.startswith(out), label + " writes no wrong bytes")
        return
    if not ck.check(rc == 0, label + " exits 0", "exit %d, %s" % (rc, short(err))):
        return
    if out != expected:
        at = next((i for i in range(min(len(out), len(expected))) if out[i] != expected[i]),
                  min(len(out), len(expected)))
        ck.check(False, label + " bytes", "%d bytes, expected %d, first difference at %d"
                 % (len(out), len(expected), at))
    else:
        ck.check(True, label + " bytes")


def check_sound_case(ck: Checks, ins: Inspect, case: dict, corpus: str, passfile: str) -> None:
    check_info(ck, ins, case)
    check_verify(ck, ins, case)
    ranges = case["damaged_ranges"]
    for s, key in (("main", "main"), ("auxiliary", "auxiliary")):
        expected = read(os.path.join(corpus, case[key]["file"])) if case[key] else b""
        check_cat(ck, ins, case, s, expected, overlaps(ranges, s, 0, len(expected)),
                  password=case["password"])
    for e in case["manifest"] or []:
        check_cat(ck, ins, case, e["path"], read(os.path.join(corpus, e["file"])),
                  overlaps(ranges, "main", e["offset"], e["size"]), password=case["password"])
    if case["encrypted"]:
        expected = read(os.path.join(corpus, case["main"]["file"]))
        check_cat(ck, ins, case, "main", expected, False, passfile=passfile)
        rc, out, err = ins.run(["--cat", "main", case["archive"]])
        ck.check(rc == 1 and "password" in err and out == b"",
                 "%s: without a password, exit 1 asking for one" % case["name"],
                 "exit %d, %s" % (rc, short(err)))


# ---------------------------------------------------------------------------
# An extra case: a directory archive with one damaged block, so that the
# files that do not touch it can be read while those that do fail.

def add_damaged_tree(corpus: str, cases: list[dict]) -> None:
    tree = os.path.join(corpus, "damaged-tree-src")
    files = {
        "a-first.txt": b"first file\n" * 40,
        "b-big.bin": random.Random(10).randbytes(4096 * 4) + b"tail",
        "c-after.txt": b"after the damage\n" * 30,
        "d/e/last.txt": b"the last one\n",
    }
    for rel, data in files.items():
        full = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    opts = hw.Options(directory=tree, block_size=4096)
    probe = hw.build_archive(opts)
    order = [e["path"] for e in probe.manifest["files"]]
    big = probe.manifest["files"][order.index("b-big.bin")]
    # The second block of b-big.bin: inside it, not at its start.
    victim = next(r for r in probe.blocks if r.how == "data" and
                  r.logical_offset == big["offset"] + 4096)
    opts.corrupt_blocks = [victim.number]
    arch = hw.write_archive(opts, os.path.join(corpus, "dir_damaged.hxz"))
    os.makedirs(os.path.join(corpus, "dir_damaged.files"))
    manifest = []
    for i, e in enumerate(arch.manifest["files"]):
        fname = "dir_damaged.files/%03d" % i
        with open(os.path.join(corpus, fname), "wb") as f:
            f.write(files[e["path"]])
        manifest.append(dict(e, file=fname))
    main = b"".join(files[p] for p in order)
    with open(os.path.join(corpus, "dir_damaged.main"), "wb") as f:
        f.write(main)
    counts = {k: 0 for k in ("data", "dedup", "zero", "parent", "parent-position")}
    for r in arch.blocks:
        counts[r.how] += 1
    counts["total"] = len(arch.blocks)
    cases.append({
        "name": "dir_damaged", "archive": "dir_damaged.hxz", "password": None,
        "expect_error": None, "compression": "lz4", "encrypted": False,
        "variable_blocks": False, "block_size": 4096, "dictionary": False, "parents": [],
        "main": {"file": "dir_damaged.main", "size": len(main)}, "auxiliary": None,
        "manifest": manifest, "signature_public_key": None,
        "damaged_blocks": [victim.number],
        "damaged_ranges": [{"stream": "main", "offset": victim.logical_offset,
                            "length": victim.info.logical_len}],
        "blocks": counts,
        "pages": {"main": len(arch.main_pages), "auxiliary": len(arch.auxiliary_pages)},
    })
    shutil.rmtree(tree)


def check_usage(ck: Checks, ins: Inspect) -> None:
    rc, _, err = ins.run([])
    ck.check(rc == 2, "no ARCHIVE: exit 2", "exit %d" % rc)
    rc, _, err = ins.run(["--cat", "no/such/file", "dir_tree.hxz"])
    ck.check(rc == 1 and "no/such/file" in err, "--cat of a missing path: exit 1 naming it",
             "exit %d, %s" % (rc, short(err)))
    rc, _, err = ins.run(["not-there.hxz"])
    ck.check(rc == 1 and "not-there.hxz" in err, "a missing archive: exit 1 naming it",
             "exit %d, %s" % (rc, short(err)))
    rc, _, err = ins.run(["corpus.json"])
    ck.check(rc == 1 and "not a hexz archive" in err, "a JSON file: exit 1, not an archive",
             "exit %d, %s" % (rc, short(err)))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: test_corpus.py HEXZ_INSPECT", file=sys.stderr)
        return 2
    exe = os.path.abspath(argv[0])
    ck = Checks()
    tmp = tempfile.mkdtemp(prefix="hexz-corpus-test-")
    try:
        corpus = os.path.join(tmp, "corpus")
        subprocess.run([PYTHON, os.path.join(WRITER_DIR, "make_corpus.py"), corpus],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(corpus, "corpus.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        add_damaged_tree(corpus, cases)
        passfile = os.path.join(tmp, "passfile")
        ins = Inspect(exe, corpus)
        kinds = set()
        for case in cases:
            if case["expect_error"]:
                kinds.add(case["expect_error"])
                check_open_error(ck, ins, case)
                continue
            if case["encrypted"]:
                with open(passfile, "w", encoding="utf-8") as f:
                    f.write(case["password"] + "\n")
            check_sound_case(ck, ins, case, corpus, passfile)
        ck.check(kinds == set(ERROR_WORDS), "the corpus has every expected error kind",
                 ", ".join(sorted(kinds)))
        ck.check(any(c["damaged_blocks"] for c in cases), "the corpus has a damaged case")
        check_usage(ck, ins)
        print("%d cases" % len(cases))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
