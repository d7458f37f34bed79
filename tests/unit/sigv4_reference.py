#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An independent SigV4 signer (Python's standard library only) that
computed the expected values of test_sigv4.c's cases for which AWS
publishes none: credentials with '+', '/', '=' and query parameters with
blanks, '~', '/', non-ASCII and empty values.

It shares no code with core/storage/sigv4.c: the encoding is
urllib.parse.quote (RFC 3986 unreserved characters kept), the hashes are
hashlib and hmac. Run it to print each case's canonical request and
signature; test_sigv4.c holds the printed values. (Given the inputs of
AWS's published S3 examples it prints their published signatures, e.g.
f0e8bdb8... for GET /test.txt with Range: bytes=0-9.)
"""
import hashlib
import hmac
import time
import urllib.parse


def sign(method, host, path, query, headers, payload_hash, when, region, service,
         access_key, secret, token=None, content_sha256=True):
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    date = amz_date[:8]
    hdrs = [(n.lower(), " ".join(v.split())) for n, v in headers]
    hdrs.append(("host", host))
    hdrs.append(("x-amz-date", amz_date))
    if content_sha256:
        hdrs.append(("x-amz-content-sha256", payload_hash))
    if token:
        hdrs.append(("x-amz-security-token", token))
    merged = {}
    for n, v in hdrs:
        merged.setdefault(n, []).append(v)
    names = sorted(merged)
    canon_headers = "".join(f"{n}:{','.join(merged[n])}\n" for n in names)
    signed = ";".join(names)
    q = sorted((urllib.parse.quote(k, safe=""), urllib.parse.quote(v, safe=""))
               for k, v in query)
    canon_query = "&".join(f"{k}={v}" for k, v in q)
    canon = "\n".join([method, urllib.parse.quote(path or "/", safe="/"), canon_query,
                       canon_headers, signed, payload_hash])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canon.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return canon, sig


CASES = {
    "special": dict(
        method="GET", host="127.0.0.1:7480",
        path="/hexz-test/dir with space/\u00fc~'!(x)+=.hxz",
        query=[("list-type", "2"), ("prefix", "a b/~\u00fc"), ("delimiter", "/"),
               ("start-after", ""), ("a key", "v w"), ("A", "z")],
        headers=[("Range", "bytes=0-1048575"), ("If-Match", '"0123abcd"')],
        payload_hash="UNSIGNED-PAYLOAD", when=1796407200, region="us-east-1", service="s3",
        access_key="AK+EXAMPLE=", secret="wJalr+XUtn/FEMI=K7MDENG/bPxRfiCY+EXAMPLEKEY="),
    "special-token": dict(
        method="HEAD", host="bucket.s3.eu-west-3.amazonaws.com", path="/k",
        query=[], headers=[], payload_hash=hashlib.sha256(b"").hexdigest(),
        when=1796407200, region="eu-west-3", service="s3",
        access_key="ASIAEXAMPLE", secret="a/b+c=d", token="FwoG+Zm9v/YmFy=="),
}

if __name__ == "__main__":
    for name, case in CASES.items():
        canon, sig = sign(**case)
        print(f"== {name}\n{canon!r}\n{sig}")
