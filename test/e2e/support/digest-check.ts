// A Python snippet a run executes to prove its working directory is exactly the submitted snapshot.

/**
 * Recomputes the snapshot digest inside the pod from the working directory itself (the manifest of
 * src/data-plane/manifest.ts: entries sorted by UTF-8 path bytes, compact JSON): equal only when the
 * directory holds exactly the submitted files, bytes and exec bits, and nothing else.
 */
export const DIGEST_CHECK = `import hashlib, json, os
entries = []
for d, dirs, files in os.walk("."):
    for f in files:
        p = os.path.join(d, f)[2:]
        data = open(p, "rb").read()
        mode = 0o755 if os.stat(p).st_mode & 0o111 else 0o644
        entries.append({"path": p, "mode": mode, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
entries.sort(key=lambda e: e["path"].encode("utf-8"))
raw = json.dumps({"version": 1, "files": entries}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
digest = "sha256:" + hashlib.sha256(raw).hexdigest()
print("files", len(entries))
print("digest ok" if digest == os.environ["AML_SNAPSHOT_DIGEST"] else "digest MISMATCH " + digest)
`;
