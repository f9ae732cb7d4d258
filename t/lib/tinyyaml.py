"""A YAML reader for the block subset that Clash configurations use (and
that sub.c writes): nested maps and lists by indentation, "- " items that
open a map, double-quoted scalars (JSON escapes), plain scalars (int,
true/false, bare words) and the empty flow list "[]".  Anything else
raises ValueError, so a test fails on output it cannot read rather than
guessing."""
import json
import re


def _scalar(s):
    s = s.strip()
    if s.startswith('"'):
        return json.loads(s)
    if s == "[]":
        return []
    if s in ("true", "false"):
        return s == "true"
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if s == "" or s[0] in "'{[&*!|>%@`#" or ": " in s or s.endswith(":"):
        raise ValueError("unsupported scalar: %r" % s)
    return s


def _lines(text):
    out = []
    for n, raw in enumerate(text.split("\n"), 1):
        if raw.strip() == "" or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise ValueError("line %d: tab in indentation" % n)
        out.append((len(raw) - len(raw.lstrip(" ")), raw.strip(), n))
    return out


def _key(s, n):
    m = re.match(r'^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+):(?: (.*))?$', s)
    if not m:
        raise ValueError("line %d: not a key: %r" % (n, s))
    k = json.loads(m.group(1)) if m.group(1).startswith('"') else m.group(1)
    return k, m.group(2)


def _block(ls, i, indent):
    """Parse the block starting at ls[i] (indent columns); return (value, next i)."""
    if ls[i][1].startswith("- ") or ls[i][1] == "-":
        out = []
        while i < len(ls) and ls[i][0] == indent and (ls[i][1].startswith("- ") or ls[i][1] == "-"):
            rest = ls[i][1][2:]
            n = ls[i][2]
            if re.match(r'^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+):( |$)', rest):
                # "- key: v": a map whose first key sits after the dash.
                sub = [(indent + 2, rest, n)]
                j = i + 1
                while j < len(ls) and ls[j][0] > indent:
                    sub.append(ls[j])
                    j += 1
                v, k = _block(sub, 0, indent + 2)
                if k != len(sub):
                    raise ValueError("line %d: bad indentation" % sub[k][2])
                out.append(v)
                i = j
            else:
                out.append(_scalar(rest))
                i += 1
        return out, i
    out = {}
    while i < len(ls) and ls[i][0] == indent:
        k, v = _key(ls[i][1], ls[i][2])
        if k in out:
            raise ValueError("line %d: duplicate key %r" % (ls[i][2], k))
        i += 1
        if v is not None and v.strip() != "":
            out[k] = _scalar(v)
        elif i < len(ls) and ls[i][0] > indent:
            out[k], i = _block(ls, i, ls[i][0])
        elif i < len(ls) and ls[i][0] == indent and ls[i][1].startswith("- "):
            out[k], i = _block(ls, i, indent)
        else:
            out[k] = None
    return out, i


def load(text):
    ls = _lines(text)
    if not ls:
        return None
    v, i = _block(ls, 0, ls[0][0])
    if i != len(ls):
        raise ValueError("line %d: bad indentation" % ls[i][2])
    return v
