#!/usr/bin/env python3
"""sbom.py BINARY VERSION: the software bill of materials of a built
1000proxy (ASVS V14.2.5), as SPDX 2.3 JSON on standard output.

It names every shared library the binary links (ldd: the direct ones and
those they pull in), and libcurl and libxml2, which it loads at run time
(src/curl_lib.c, src/xml_lib.c), each with the Debian package that owns the file, its
version, architecture and source package (dpkg-query), and a purl, so a
vulnerability scanner (debsecan, or the security tracker's data in CI:
.ci/vulns) can match them.  A library no package owns (a local build of
one) is listed with version NOASSERTION and says so in a comment.

Reproducible: no clock and no randomness unless asked; the creation time
is SOURCE_DATE_EPOCH when set (Debian's builds set it), else the binary's
modification time, and the document namespace is a hash of the contents.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time


def run(args):
    try:
        p = subprocess.run(args, capture_output=True, text=True)
    except OSError:
        return 1, ""
    return p.returncode, p.stdout


def linked(binary):
    """(soname, path) of every library ldd resolves, in ldd's order."""
    rc, out = run(["ldd", binary])
    libs = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(/\S+)\s+\(", line)
        if m:
            libs.append((m.group(1), m.group(2)))
            continue
        m = re.match(r"\s*(/\S+)\s+\(", line)   # the dynamic loader
        if m:
            libs.append((os.path.basename(m.group(1)), m.group(1)))
    return libs


# dlopen()ed at run time: libcurl by the work daemon (src/curl_lib.c),
# libxml2 by the HTML checker and the 3X-UI page parser (src/xml_lib.c).
RUNTIME_SONAMES = ("libcurl.so.4", "libxml2.so.2")


def runtime_loaded():
    """(soname, path) the loader would find for each of RUNTIME_SONAMES."""
    rc, out = run(["/sbin/ldconfig", "-p"])
    found = []
    for want in RUNTIME_SONAMES:
        for line in out.splitlines():
            m = re.match(r"\s*(\S+)\s.*=>\s+(/\S+)", line)
            # The native one: ldconfig lists the 32-bit copy as "libc6".
            if m and m.group(1) == want and (",x86-64)" in line or ",AArch64)" in line or
                                             "64" not in os.uname().machine):
                found.append((want, m.group(2)))
                break
    return found


def owner(path):
    """The Debian package (name:arch) owning path, trying the usrmerge twins."""
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        if c.startswith("/usr/"):
            cands.append(c[4:])
        else:
            cands.append("/usr" + c)
    for c in cands:
        rc, out = run(["dpkg-query", "-S", c])
        for line in out.splitlines() if rc == 0 else []:
            # "libsqlite3-0:amd64: /usr/lib/...": the package part,
            # the first of several ("a, b: path").
            if line.startswith("diversion ") or ": " not in line:
                continue
            return line.rsplit(": ", 1)[0].split(", ")[0]
    return None


def pkg_info(pkg):
    rc, out = run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${Maintainer}",
                   pkg])
    if rc != 0 or not out:
        return None
    name, version, arch, source, maint = (out.split("\t") + [""] * 5)[:5]
    return {"name": name, "version": version, "arch": arch, "source": source or name, "maintainer": maint}


def spdx_id(s):
    return "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", s)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: sbom.py BINARY VERSION\n")
        return 2
    binary, version = sys.argv[1], sys.argv[2]
    libs = [(s, p, "DYNAMIC_LINK") for s, p in linked(binary)]
    libs += [(s, p, "RUNTIME_DEPENDENCY_OF") for s, p in runtime_loaded()]
    if not libs:
        sys.stderr.write("sbom.py: ldd found no library in %s\n" % binary)
        return 1
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = int(epoch) if epoch and epoch.isdigit() else int(os.stat(binary).st_mtime)
    top = {
        "name": "1000proxy", "SPDXID": "SPDXRef-1000proxy", "versionInfo": version,
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION",
        "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
    }
    packages, rels, seen = [top], [], {}
    rels.append({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                 "relatedSpdxElement": "SPDXRef-1000proxy"})
    for soname, path, how in libs:
        pkg = owner(path)
        info = pkg_info(pkg) if pkg else None
        key = info["name"] + ":" + info["arch"] if info else "file:" + soname
        if key in seen:
            seen[key]["comment"] += ", " + soname
            continue
        if info:
            p = {
                "name": info["name"], "SPDXID": spdx_id("deb-" + info["name"] + "-" + info["arch"]),
                "versionInfo": info["version"], "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
                "supplier": "Organization: " + (info["maintainer"] or "Debian"),
                "sourceInfo": "Debian source package " + info["source"],
                "primaryPackagePurpose": "LIBRARY",
                "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
                "externalRefs": [{
                    "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                    "referenceLocator": "pkg:deb/debian/%s@%s?arch=%s" % (info["name"], info["version"], info["arch"]),
                }],
                "comment": "%s: %s" % ("linked" if how == "DYNAMIC_LINK" else "loaded at run time (dlopen)", soname),
            }
        else:
            p = {
                "name": soname, "SPDXID": spdx_id("file-" + soname), "versionInfo": "NOASSERTION",
                "downloadLocation": "NOASSERTION", "filesAnalyzed": False, "primaryPackagePurpose": "LIBRARY",
                "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
                "comment": "%s: %s (%s), owned by no Debian package" % (
                    "linked" if how == "DYNAMIC_LINK" else "loaded at run time (dlopen)", soname, path),
            }
        seen[key] = p
        packages.append(p)
        if how == "DYNAMIC_LINK":
            rels.append({"spdxElementId": "SPDXRef-1000proxy", "relationshipType": "DYNAMIC_LINK",
                         "relatedSpdxElement": p["SPDXID"]})
        else:
            rels.append({"spdxElementId": p["SPDXID"], "relationshipType": "RUNTIME_DEPENDENCY_OF",
                         "relatedSpdxElement": "SPDXRef-1000proxy"})
    body = {"packages": packages, "relationships": rels}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    doc = {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": "1000proxy-" + version,
        "documentNamespace": "https://example.invalid/1000proxy/spdx/%s-%s" % (version, digest[:32]),
        "creationInfo": {
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
            "creators": ["Tool: 1000proxy tools/sbom.py"],
        },
    }
    doc.update(body)
    json.dump(doc, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
