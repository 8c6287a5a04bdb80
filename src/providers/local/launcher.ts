/**
 * The per-pod launcher for processCountPerNode > 1, run as `python -c LAUNCHER_PY <argv...>`: it
 * ships inside the pod spec, so any image with a Python interpreter can run it (no file to mount,
 * no torchrun needed). Standard library only.
 *
 * It starts one process per slot with LOCAL_RANK = slot and RANK = NODE_RANK × LOCAL_WORLD_SIZE +
 * slot (and TF_CONFIG's task index = RANK), forwards SIGTERM/SIGINT to them, and exits with the
 * first non-zero exit code after stopping the other slots — so a failed process fails the pod, and
 * the Job then stops the other pods. Signals become 128 + signal number, as a shell reports them.
 */
export const LAUNCHER_PY = `
import json, os, signal, subprocess, sys, time

argv = sys.argv[1:]
slots = int(os.environ["LOCAL_WORLD_SIZE"])
node = int(os.environ["NODE_RANK"])
world = os.environ.get("WORLD_SIZE", "?")
first = node * slots
print(f"aml-launcher: node {node} starts ranks {first}..{first + slots - 1} of {world}", file=sys.stderr, flush=True)

children = {}
for slot in range(slots):
    env = dict(os.environ, LOCAL_RANK=str(slot), RANK=str(first + slot))
    if "TF_CONFIG" in env:
        tf = json.loads(env["TF_CONFIG"])
        tf["task"]["index"] = first + slot
        env["TF_CONFIG"] = json.dumps(tf)
    children[subprocess.Popen(argv, env=env).pid] = slot

def forward(signum, _frame):
    for pid in children:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)

def code_of(status):
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code

def stop_others():
    forward(signal.SIGTERM, None)
    deadline = time.monotonic() + 10
    while children and time.monotonic() < deadline:
        pid, _status = os.waitpid(-1, os.WNOHANG)
        if pid:
            children.pop(pid, None)
        else:
            time.sleep(0.1)
    forward(signal.SIGKILL, None)

result = 0
while children:
    pid, status = os.wait()
    slot = children.pop(pid, None)
    code = code_of(status)
    if slot is not None and code != 0:
        print(f"aml-launcher: rank {first + slot} exited with code {code}; stopping the other ranks of node {node}", file=sys.stderr, flush=True)
        result = code
        stop_others()
        break
sys.exit(result)
`;

/** argv of a pod that runs `argv` once per slot through the launcher. */
export const launchedArgv = (python: string, argv: readonly string[]): string[] => [python, "-c", LAUNCHER_PY, ...argv];
