"""Decrypts Sluice column values with only what docs/encryption.md gives a reader: the keys
`sluice decryption-keys` prints, and Python's `cryptography` (an implementation independent of
Sluice's). Reads {"keys": <that JSON>, "values": [...]} on stdin; writes the plaintexts as JSON."""
import base64
import json
import re
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

request = json.load(sys.stdin)
keys = {v["version"]: base64.b64decode(v["aes_256_gcm_key"]) for v in request["keys"]["versions"]}
out = []
for value in request["values"]:
    header, version, body = re.fullmatch(r"(sluice:v1d?):(\d+):([A-Za-z0-9+/=]*)", value).groups()
    raw = base64.b64decode(body)
    aad = f"{header}:{version}:".encode()
    out.append(AESGCM(keys[int(version)]).decrypt(raw[:12], raw[12:], aad).decode("utf-8"))
json.dump(out, sys.stdout)
