#!/usr/bin/env python3
"""aml_runner: the run's data plane on a compute target (Python 3.8+ standard library only).

  aml_runner.py materialize --workdir DIR [--state FILE] [--termination-log FILE]
  aml_runner.py run --workdir DIR [--log FILE] [--state FILE] [--kill-after S] [--pid-file FILE] [--sync-outputs S] -- ARGV...
  aml_runner.py all --workdir DIR [--log FILE] [--kill-after S] [--sync-outputs S] -- ARGV...   (both, one process)
  aml_runner.py adopt --manifest FILE --workdir DIR [--log FILE] -- ARGV...

materialize fetches the snapshot manifest and every object through a read SAS URL, verifies
each sha256 and the manifest digest, and only then writes the files into DIR (which must be
empty): exact bytes, names and executable bits, nothing else. A mismatch writes result.json
with reason SnapshotCorrupt and exits 86 without running anything.

run executes ARGV in DIR with stdout and stderr copied to the log file, forwards SIGTERM and
SIGINT to the command, and on any exit uploads DIR/outputs/** and the log and writes
result.json under the attempt's prefix (create/write SAS URL). It exits with the command's code.
Every metric the command reported goes to metrics.jsonl beside them, one JSON object per report
({"name", "value", "step", "timestamp" (ms), "source"}): its metric lines ("AML_METRIC {...}" on
stdout/stderr, source "output") as they stream by, and, when MLFLOW_TRACKING_URI is an http(s)
server and MLFLOW_RUN_ID is set, that MLflow run's metric histories read once at the end (source
"mlflow"). The operator keeps only the latest values in the TrainingRun's status.

adopt is for targets whose own service writes the snapshot into the working directory (an Azure
ML command job's code): it verifies that DIR holds exactly the files of the manifest FILE (whose
sha256 must be AML_SNAPSHOT_DIGEST), byte for byte, sets their modes, and only then runs ARGV like
run (exit 86 and nothing run on a mismatch). Without AML_OUTPUT_URL nothing is uploaded: that
service keeps ./outputs and the log itself.

Environment: AML_SNAPSHOT_URL (snapshots container URL + read SAS), AML_SNAPSHOT_DIGEST
(sha256:<hex>), AML_OUTPUT_URL (the attempt's prefix URL + create/write SAS; optional).
Neither URL is passed on to the command, and none is ever printed.
"""
import argparse
import base64
import fcntl
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

API_VERSION = "2021-08-06"
EXIT_SNAPSHOT_CORRUPT = 86
EXIT_SNAPSHOT_UNAVAILABLE = 87
EXIT_RUNNER_FAILED = 88
CHUNK = 1024 * 1024
BLOCK = 8 * 1024 * 1024
SINGLE_PUT_LIMIT = 64 * 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SECRET_ENV = ("AML_SNAPSHOT_URL", "AML_OUTPUT_URL")
METRIC_PREFIX = b"AML_METRIC "
METRICS_BLOB = "metrics.jsonl"
MAX_METRIC_RECORDS = 200000
MAX_METRIC_NAME = 255


def log(msg):
    sys.stderr.write("aml-runner: %s\n" % msg)
    sys.stderr.flush()


class StoreFailure(Exception):
    """An HTTP exchange with the store failed; the message names the blob, never the URL."""


class SnapshotProblem(Exception):
    def __init__(self, reason, message):
        Exception.__init__(self, message)
        self.reason = reason


# ---------------------------------------------------------------- HTTP against the Blob API

def blob_url(container_url, name):
    base, _, query = container_url.partition("?")
    return "%s/%s?%s" % (base.rstrip("/"), urllib.parse.quote(name, safe="/"), query)


def with_query(url, extra):
    return url + ("&" if "?" in url else "?") + extra


def request(method, url, what, data=None, headers=None, tries=5):
    hdrs = {"x-ms-version": API_VERSION}
    hdrs.update(headers or {})
    delay = 0.5
    for attempt in range(1, tries + 1):
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            return urllib.request.urlopen(req, timeout=120)
        except urllib.error.HTTPError as e:
            retry = e.code >= 500 or e.code in (408, 429)
            e.close()
            if not retry or attempt == tries:
                raise StoreFailure("%s: HTTP %d" % (what, e.code))
        except (urllib.error.URLError, OSError) as e:
            if attempt == tries:
                reason = getattr(e, "reason", e)
                raise StoreFailure("%s: %s" % (what, type(reason).__name__ if not isinstance(reason, str) else reason))
        time.sleep(delay)
        delay = min(delay * 2, 8)
    raise StoreFailure(what)


def download_to(url, what, path, expected_sha256):
    """Streams a blob into path, returns its sha256 (the caller compares)."""
    h = hashlib.sha256()
    with request("GET", url, what) as resp, open(path, "wb") as out:
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            h.update(chunk)
            out.write(chunk)
    return h.hexdigest()


def put_blob(prefix_url, name, path, size):
    url = blob_url(prefix_url, name)
    what = "uploading %s" % name
    if size <= SINGLE_PUT_LIMIT:
        with open(path, "rb") as f:
            data = f.read()
        request("PUT", url, what, data=data, headers={"x-ms-blob-type": "BlockBlob", "Content-Length": str(len(data))}).close()
        return
    ids = []
    with open(path, "rb") as f:
        while True:
            data = f.read(BLOCK)
            if not data:
                break
            block_id = base64.b64encode(("%08d" % len(ids)).encode()).decode()
            ids.append(block_id)
            block_url = with_query(url, "comp=block&blockid=" + urllib.parse.quote(block_id, safe=""))
            request("PUT", block_url, what, data=data, headers={"Content-Length": str(len(data))}).close()
    body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>%s</BlockList>" % "".join("<Latest>%s</Latest>" % i for i in ids)).encode()
    request("PUT", with_query(url, "comp=blocklist"), what, data=body, headers={"Content-Length": str(len(body))}).close()


def put_bytes(prefix_url, name, data, content_type="application/octet-stream"):
    headers = {"x-ms-blob-type": "BlockBlob", "Content-Length": str(len(data)), "x-ms-blob-content-type": content_type}
    request("PUT", blob_url(prefix_url, name), "uploading %s" % name, data=data, headers=headers).close()


# ---------------------------------------------------------------- the manifest

def path_problem(path):
    if not isinstance(path, str) or path == "":
        return "an empty path"
    if path.startswith("/") or "\\" in path or "\0" in path or (len(path) > 1 and path[1] == ":"):
        return "path %r is not a relative POSIX path" % path
    for seg in path.split("/"):
        if seg in ("", ".", ".."):
            return "path %r has an empty, '.' or '..' segment" % path
    return None


def validate(files):
    seen = set()
    for f in files:
        if not isinstance(f, dict):
            raise SnapshotProblem("SnapshotInvalid", "manifest entry is not an object")
        p = f.get("path")
        problem = path_problem(p)
        if problem:
            raise SnapshotProblem("SnapshotInvalid", problem)
        if p in seen:
            raise SnapshotProblem("SnapshotInvalid", "duplicate path %r" % p)
        seen.add(p)
        sha = f.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise SnapshotProblem("SnapshotInvalid", "%r has no valid sha256" % p)
        if f.get("mode") not in (0o644, 0o755) or not isinstance(f.get("size"), int) or f["size"] < 0:
            raise SnapshotProblem("SnapshotInvalid", "%r has an invalid mode or size" % p)
    for p in seen:
        parts = p.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise SnapshotProblem("SnapshotInvalid", "%r is both a file and a directory" % "/".join(parts[:i]))


def fetch_manifest(snapshot_url, digest):
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise SnapshotProblem("SnapshotInvalid", "AML_SNAPSHOT_DIGEST is not sha256:<hex>")
    hexd = digest[len("sha256:"):]
    try:
        with request("GET", blob_url(snapshot_url, "manifests/%s.json" % hexd), "reading the manifest") as resp:
            raw = resp.read()
    except StoreFailure as e:
        raise SnapshotProblem("SnapshotUnavailable", str(e))
    return parse_manifest(raw, digest)


def parse_manifest(raw, digest):
    hexd = digest[len("sha256:"):]
    actual = hashlib.sha256(raw).hexdigest()
    if actual != hexd:
        raise SnapshotProblem("SnapshotCorrupt", "manifest does not match digest %s (got sha256:%s)" % (digest, actual))
    manifest = json.loads(raw.decode("utf-8"))
    if manifest.get("version") != 1 or not isinstance(manifest.get("files"), list):
        raise SnapshotProblem("SnapshotInvalid", "unknown manifest format")
    validate(manifest["files"])
    return manifest["files"]


# ---------------------------------------------------------------- materialize

def fetch_objects(snapshot_url, files, workdir, parallel):
    """Downloads each distinct object once, straight to its first path; verifies every sha256."""
    first = {}
    for f in files:
        first.setdefault(f["sha256"], f)
    errors = []
    lock = threading.Lock()
    todo = [f for f in first.values() if not (f["size"] == 0 and f["sha256"] == EMPTY_SHA256)]

    def work():
        while True:
            with lock:
                if not todo or errors:
                    return
                f = todo.pop()
            target = os.path.join(workdir, f["path"])
            try:
                got = download_to(blob_url(snapshot_url, "objects/sha256/" + f["sha256"]), "reading %s" % f["path"], target, f["sha256"])
                if got != f["sha256"]:
                    raise SnapshotProblem("SnapshotCorrupt", "%s: stored content has sha256 %s, the manifest says %s" % (f["path"], got, f["sha256"]))
                if os.path.getsize(target) != f["size"]:
                    raise SnapshotProblem("SnapshotCorrupt", "%s: size differs from the manifest" % f["path"])
            except StoreFailure as e:
                with lock:
                    errors.append(SnapshotProblem("SnapshotUnavailable", str(e)))
            except SnapshotProblem as e:
                with lock:
                    errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(max(1, parallel))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        corrupt = [e for e in errors if e.reason == "SnapshotCorrupt"]
        raise (corrupt or errors)[0]
    return first


def empty_dir(path):
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def materialize(snapshot_url, digest, workdir, parallel=8):
    """Returns {files, bytes}; raises SnapshotProblem. On failure the directory is left empty."""
    os.makedirs(workdir, exist_ok=True)
    if os.listdir(workdir):
        raise SnapshotProblem("RunnerFailed", "working directory %s is not empty" % workdir)
    files = fetch_manifest(snapshot_url, digest)
    for f in files:
        parent = os.path.dirname(os.path.join(workdir, f["path"]))
        os.makedirs(parent, exist_ok=True)
    try:
        first = fetch_objects(snapshot_url, files, workdir, parallel)
        for f in files:
            target = os.path.join(workdir, f["path"])
            src = first[f["sha256"]]
            if src is not f:
                shutil.copyfile(os.path.join(workdir, src["path"]), target)
            elif f["size"] == 0:
                open(target, "wb").close()
        for f in files:
            os.chmod(os.path.join(workdir, f["path"]), f["mode"])
    except BaseException:
        empty_dir(workdir)
        raise
    return {"files": len(files), "bytes": sum(f["size"] for f in files)}


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def adopt(manifest_path, digest, workdir):
    """Verifies a working directory someone else wrote against the manifest; sets the modes."""
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise SnapshotProblem("SnapshotInvalid", "AML_SNAPSHOT_DIGEST is not sha256:<hex>")
    with open(manifest_path, "rb") as f:
        files = parse_manifest(f.read(), digest)
    expected = dict((f["path"], f) for f in files)
    found = set()
    for d, dirs, names in os.walk(workdir):
        dirs.sort()
        for name in sorted(names + [x for x in dirs if os.path.islink(os.path.join(d, x))]):
            full = os.path.join(d, name)
            rel = os.path.relpath(full, workdir).replace(os.sep, "/")
            f = expected.get(rel)
            if f is None or os.path.islink(full) or not os.path.isfile(full):
                raise SnapshotProblem("SnapshotCorrupt", "%s is in the working directory but not in the snapshot" % rel)
            if os.path.getsize(full) != f["size"] or file_sha256(full) != f["sha256"]:
                raise SnapshotProblem("SnapshotCorrupt", "%s: content differs from the manifest (sha256 %s)" % (rel, f["sha256"]))
            found.add(rel)
    missing = sorted(set(expected) - found)
    if missing:
        raise SnapshotProblem("SnapshotCorrupt", "%s is missing from the working directory" % missing[0])
    for f in files:
        os.chmod(os.path.join(workdir, f["path"]), f["mode"])
    return {"files": len(files), "bytes": sum(f["size"] for f in files)}


def adopt_once(manifest_path, digest, workdir):
    """adopt for every process of a job that share one working directory (a distributed job's
    processes on one node): the first verifies, the others wait for its verdict, so no process's
    outputs can appear while another is still checking. The lock and the verdict live in the temp
    directory, never in the working directory."""
    key = hashlib.sha256(("%s\0%s" % (os.path.realpath(workdir), digest)).encode("utf-8")).hexdigest()[:32]
    base = os.path.join(tempfile.gettempdir(), "aml-adopt-" + key)
    with open(base + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(base + ".json"):
            with open(base + ".json") as f:
                verdict = json.load(f)
        else:
            try:
                verdict = {"ok": True, "totals": adopt(manifest_path, digest, workdir)}
            except (SnapshotProblem, OSError, ValueError) as e:
                verdict = {"ok": False, "reason": getattr(e, "reason", "SnapshotInvalid"), "message": str(e)}
            with open(base + ".json", "w") as f:
                json.dump(verdict, f)
    if not verdict["ok"]:
        raise SnapshotProblem(verdict["reason"], verdict["message"])
    return verdict["totals"]


# ---------------------------------------------------------------- metric history

def parse_metric_line(line):
    """One metric line -> (name, value, step or None), else None. The same rules as the operator's
    parser (src/metrics/lines.ts): a prefix before AML_METRIC is fine, anything after the JSON is not."""
    at = line.find(METRIC_PREFIX.decode())
    if at < 0:
        return None
    try:
        body = json.loads(line[at + len(METRIC_PREFIX):])
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    name, value, step = body.get("name"), body.get("value"), body.get("step")
    if not isinstance(name, str) or not name.strip():
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != step or step < 0 or int(step) != step:
            return None
        step = int(step)
    return name.strip()[:MAX_METRIC_NAME], value, step


class MetricHistory(object):
    """Appends every metric report to a JSON-lines file while the command runs."""

    def __init__(self, path):
        self.path = path
        self.partial = b""
        self.counts = {}
        self.records = 0
        self.file = None

    def feed(self, chunk):
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > 65536:
            self.partial = b""  # far longer than any metric line
        for raw in lines:
            if METRIC_PREFIX in raw:
                parsed = parse_metric_line(raw.rstrip(b"\r").decode("utf-8", "replace"))
                if parsed:
                    name, value, step = parsed
                    # A report without a step is the next one of its name, as the operator counts.
                    self.add(name, value, self.counts.get(name, 0) if step is None else step, int(time.time() * 1000), "output")

    def add(self, name, value, step, timestamp, source):
        self.counts[name] = self.counts.get(name, 0) + 1
        if self.records >= MAX_METRIC_RECORDS:
            return
        if self.file is None:
            self.file = open(self.path, "w")
        self.file.write(json.dumps({"name": name, "value": value, "step": step, "timestamp": timestamp, "source": source}) + "\n")
        self.records += 1

    def close(self):
        if self.partial:
            self.feed(b"\n")
        if self.file is not None:
            self.file.close()
            self.file = None


def mlflow_get(base, path, params):
    url = "%s/api/2.0/mlflow/%s?%s" % (base.rstrip("/"), path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=15) as resp:
        return json.loads(resp.read().decode("utf-8"))


def add_mlflow_history(history, env):
    """The MLflow run's metric histories (the server the script logged to), read once."""
    base, run_id = env.get("MLFLOW_TRACKING_URI", ""), env.get("MLFLOW_RUN_ID", "")
    if not run_id or not base.startswith(("http://", "https://")):
        return
    try:
        keys = [m["key"] for m in mlflow_get(base, "runs/get", {"run_id": run_id}).get("run", {}).get("data", {}).get("metrics", [])]
        for key in keys:
            token = None
            while history.records < MAX_METRIC_RECORDS:
                params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
                if token:
                    params["page_token"] = token
                page = mlflow_get(base, "metrics/get-history", params)
                for m in page.get("metrics", []):
                    if isinstance(m.get("value"), bool) or not isinstance(m.get("value"), (int, float)) or not math.isfinite(m["value"]):
                        continue
                    history.add(key[:MAX_METRIC_NAME], m.get("value"), int(m.get("step", 0)), int(m.get("timestamp", 0)), "mlflow")
                token = page.get("next_page_token")
                if not token:
                    break
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as e:
        log("MLflow metric history not read: %s" % type(e).__name__)


# ---------------------------------------------------------------- run

def write_pid(path, pid):
    """Written to a temporary name, then renamed: a reader never sees a partial number."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % pid)
    os.replace(tmp, path)


class Runner(object):
    def __init__(self, argv, workdir, log_path, kill_after, metrics, pid_file=None):
        self.argv = argv
        self.workdir = workdir
        self.log_path = log_path
        self.kill_after = kill_after
        self.pid_file = pid_file
        self.metrics = metrics
        self.child = None
        self.canceled = None

    def forward(self, signum, _frame):
        if self.canceled is None:
            self.canceled = signal.Signals(signum).name
        child = self.child
        if child is None or child.poll() is not None:
            return
        try:
            os.killpg(child.pid, signum)
        except OSError:
            pass
        timer = threading.Timer(self.kill_after, self.kill)
        timer.daemon = True
        timer.start()

    def kill(self):
        child = self.child
        if child is not None and child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass

    def run(self):
        env = dict((k, v) for k, v in os.environ.items() if k not in SECRET_ENV)
        out = sys.stdout.buffer
        with open(self.log_path, "ab") as logf:
            try:
                # Own process group, so a forwarded signal reaches the command's children too.
                self.child = subprocess.Popen(self.argv, cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                msg = ("aml-runner: cannot start %s: %s\n" % (self.argv[0], e.strerror)).encode()
                out.write(msg)
                logf.write(msg)
                return 127, None
            if self.pid_file:
                # The command's process group: a supervisor that outlives this runner (a VM's
                # launcher) can still stop the command if the runner itself is killed.
                write_pid(self.pid_file, self.child.pid)
            if self.canceled:
                self.forward(signal.Signals[self.canceled], None)
            fd = self.child.stdout.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except InterruptedError:
                    continue
                if not chunk:
                    break
                out.write(chunk)
                out.flush()
                logf.write(chunk)
                logf.flush()
                self.metrics.feed(chunk)
            code = self.child.wait()
        if code < 0:
            return 128 + (-code), signal.Signals(-code).name
        return code, None


def upload_outputs(output_url, workdir, uploaded=None):
    """Uploads DIR/outputs/**; `uploaded` (rel → (size, mtime_ns)) skips files unchanged since a
    periodic sync sent them, and is updated."""
    root = os.path.join(workdir, "outputs")
    count, total, skipped = 0, 0, []
    uploaded = {} if uploaded is None else uploaded
    if not os.path.isdir(root) or os.path.islink(root):
        return {"files": 0, "bytes": 0, "skipped": skipped}
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(d, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if os.path.islink(full) or not os.path.isfile(full):
                skipped.append(rel)
                continue
            st = os.stat(full)
            if uploaded.get(rel) != (st.st_size, st.st_mtime_ns):
                put_blob(output_url, "outputs/" + rel, full, st.st_size)
                uploaded[rel] = (st.st_size, st.st_mtime_ns)
            count += 1
            total += st.st_size
    return {"files": count, "bytes": total, "skipped": skipped}


class OutputSync(object):
    """While the command runs, uploads the files of ./outputs that changed every `every` seconds,
    with a provisional result.json: a target that stops a task without a signal first (SIGKILL)
    then loses at most the last interval. The final upload skips what is already there."""

    def __init__(self, output_url, workdir, every, result):
        self.output_url = output_url
        self.workdir = workdir
        self.every = every
        self.result = result
        self.uploaded = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop)
        self.thread.daemon = True

    def start(self):
        if self.output_url and self.every > 0:
            self.thread.start()
        return self

    def loop(self):
        while not self.done.wait(self.every):
            try:
                before = dict(self.uploaded)
                outputs = upload_outputs(self.output_url, self.workdir, self.uploaded)
                if self.result is not None and self.uploaded != before:
                    provisional = dict(self.result, reason="Running", provisional=True, outputs=outputs, syncedAt=now())
                    write_result(self.output_url, provisional)
            except (StoreFailure, OSError) as e:
                log("periodic outputs upload failed: %s" % e)

    def stop(self):
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_result(output_url, result):
    data = json.dumps(result, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if output_url:
        put_bytes(output_url, "result.json", data, "application/json")


def write_termination(path, text):
    if not path:
        return
    try:
        with open(path, "w") as f:
            f.write(text[:4000])
    except OSError:
        pass


def do_materialize(args):
    snapshot_url = os.environ.get("AML_SNAPSHOT_URL", "")
    digest = os.environ.get("AML_SNAPSHOT_DIGEST", "")
    started = now()
    try:
        if not snapshot_url:
            raise SnapshotProblem("RunnerFailed", "AML_SNAPSHOT_URL is not set")
        totals = materialize(snapshot_url, digest, args.workdir, args.parallel)
    except SnapshotProblem as e:
        log("%s: %s" % (e.reason, e))
        result = {"version": 1, "reason": e.reason, "message": str(e), "snapshot": {"digest": digest, "verified": False},
                  "executed": False, "startedAt": started, "finishedAt": now()}
        try:
            write_result(os.environ.get("AML_OUTPUT_URL"), result)
        except StoreFailure as se:
            log("could not write result.json: %s" % se)
        write_termination(args.termination_log, "%s: %s" % (e.reason, e))
        return EXIT_SNAPSHOT_CORRUPT if e.reason in ("SnapshotCorrupt", "SnapshotInvalid") else (
            EXIT_SNAPSHOT_UNAVAILABLE if e.reason == "SnapshotUnavailable" else EXIT_RUNNER_FAILED)
    snapshot = {"digest": digest, "verified": True, "files": totals["files"], "bytes": totals["bytes"]}
    if args.state:
        with open(args.state, "w") as f:
            json.dump(snapshot, f)
    log("snapshot %s verified: %d files, %d bytes" % (digest, totals["files"], totals["bytes"]))
    return 0


def do_adopt(args):
    digest = os.environ.get("AML_SNAPSHOT_DIGEST", "")
    try:
        totals = adopt_once(args.manifest, digest, args.workdir)
    except (SnapshotProblem, OSError, ValueError) as e:
        reason = getattr(e, "reason", "SnapshotInvalid")
        log("%s: %s" % (reason, e))
        return None, EXIT_SNAPSHOT_CORRUPT
    log("snapshot %s verified: %d files, %d bytes" % (digest, totals["files"], totals["bytes"]))
    return {"digest": digest, "verified": True, "files": totals["files"], "bytes": totals["bytes"]}, 0


def do_run(args, snapshot=None):
    output_url = os.environ.get("AML_OUTPUT_URL")
    if snapshot is None and args.state and os.path.exists(args.state):
        with open(args.state) as f:
            snapshot = json.load(f)
    log_path = args.log or os.path.join(tempfile.gettempdir(), "aml-output.log")
    history = MetricHistory(log_path + ".metrics.jsonl")
    runner = Runner(args.argv, args.workdir, log_path, args.kill_after, history, args.pid_file)
    signal.signal(signal.SIGTERM, runner.forward)
    signal.signal(signal.SIGINT, runner.forward)
    started = now()
    rank = os.environ.get("JOB_COMPLETION_INDEX", "0")
    base = {"version": 1, "executed": True, "startedAt": started,
            "snapshot": snapshot or {"digest": os.environ.get("AML_SNAPSHOT_DIGEST", ""), "verified": True}}
    sync = OutputSync(output_url, args.workdir, args.sync_outputs, base if rank == "0" else None).start()
    code, sig = runner.run()
    sync.stop()
    # Outputs go up whatever happened; a second signal must not cut the upload short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    result = dict(base, exitCode=code, signal=sig,
                  reason="Canceled" if runner.canceled else ("Completed" if code == 0 else "ScriptFailed"))
    if output_url and rank != "0":
        # Other ranks of a multi-node run add their outputs (rank-specific names are the script's
        # choice) and their own log; result.json and logs/output.log are rank 0's.
        try:
            upload_outputs(output_url, args.workdir, sync.uploaded)
            log_size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
            if log_size:
                put_blob(output_url, "logs/output-rank-%s.log" % rank, log_path, log_size)
        except StoreFailure as e:
            log("outputs of rank %s not uploaded: %s" % (rank, e))
        return code
    if output_url:
        try:
            result["outputs"] = upload_outputs(output_url, args.workdir, sync.uploaded)
        except StoreFailure as e:
            log("outputs not uploaded: %s" % e)
            result["outputs"] = {"error": str(e)}
        log_size = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        try:
            if log_size:
                put_blob(output_url, "logs/output.log", log_path, log_size)
            result["log"] = {"blob": "logs/output.log", "bytes": log_size}
        except StoreFailure as e:
            log("log not uploaded: %s" % e)
        add_mlflow_history(history, os.environ)
        history.close()
        try:
            if history.records:
                put_blob(output_url, METRICS_BLOB, history.path, os.path.getsize(history.path))
                result["metrics"] = {"blob": METRICS_BLOB, "records": history.records}
        except StoreFailure as e:
            log("metric history not uploaded: %s" % e)
        result["finishedAt"] = now()
        try:
            write_result(output_url, result)
        except StoreFailure as e:
            log("result.json not written: %s" % e)
        outs = result.get("outputs", {})
        if outs.get("files"):
            log("uploaded %d output files (%d bytes)" % (outs["files"], outs["bytes"]))
    return code


def main(argv):
    parser = argparse.ArgumentParser(prog="aml_runner.py")
    parser.add_argument("mode", choices=("materialize", "run", "all", "adopt"))
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--log")
    parser.add_argument("--state", help="where materialize records the snapshot's counts for run")
    parser.add_argument("--termination-log")
    parser.add_argument("--sync-outputs", type=float, default=0.0,
                        help="run: every S seconds upload what changed in ./outputs (for targets that may stop the task with SIGKILL)")
    parser.add_argument("--kill-after", type=float, default=20.0, help="seconds between a forwarded signal and SIGKILL")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--pid-file", help="run: where the command's process id (its process group) is written once it started")
    parser.add_argument("--manifest", help="adopt: the snapshot manifest the working directory must match")
    # Everything after the first "--" is the command, untouched (it may have options of its own).
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.argv = argv[split + 1:]
    if args.mode in ("run", "all", "adopt") and not args.argv:
        parser.error("run needs a command after --")
    if args.mode == "adopt":
        if not args.manifest:
            parser.error("adopt needs --manifest")
        snapshot, code = do_adopt(args)
        return code if snapshot is None else do_run(args, snapshot)
    if args.mode == "materialize":
        return do_materialize(args)
    if args.mode == "all":
        state = args.state or os.path.join(tempfile.mkdtemp(prefix="aml-runner-"), "snapshot.json")
        args.state = state
        code = do_materialize(args)
        if code != 0:
            return code
    return do_run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
