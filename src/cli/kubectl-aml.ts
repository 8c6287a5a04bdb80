#!/usr/bin/env node
/**
 * kubectl-aml: `kubectl aml submit|logs|cancel|download|targets|sweep` — ScriptRunConfig (and
 * HyperDrive) for the amlcompute.dev CRDs. Exit codes: the run's own for `submit --wait`; for a
 * followed sweep 0 when it completed, 1 otherwise, 130 when Ctrl-C stopped following; 2 for usage
 * errors, 1 for other errors.
 */
import { parseArgs } from "node:util";
import { cancel, logs, submit, targets, UsageError, type Io } from "./commands.js";
import { download } from "./download.js";
import { CliKube, describeError } from "./kube.js";
import { SnapshotError } from "./snapshot-dir.js";
import { cliStore, StoreNotFoundError } from "./store.js";
import { submitSweep, sweepStatus } from "./sweep.js";

export const USAGE = `Submit and follow Azure ML-style training runs (amlcompute.dev TrainingRuns).

Usage:
  kubectl aml submit DIR --script train.py (--config RUNCONFIG | --target TARGET) [--arg X ...] [--name N]
                         [--experiment E] [--wait] [-- more script args]
  kubectl aml logs [-f] RUN
  kubectl aml cancel RUN
  kubectl aml download RUN [DIR] [--attempt N]
  kubectl aml targets
  kubectl aml sweep DIR -f SWEEP.yaml [--name N] [--no-follow]
  kubectl aml sweep status SWEEP [-w|--watch]

submit snapshots DIR (honouring .amlignore, else .gitignore; any files up to 300 MiB and 2,000
files) into the namespace's store, uploading only contents the store does not have yet, creates
the TrainingRun and, with --wait, streams its output until it ends and exits with the script's
exit code. download writes the run's outputs/ and logs/output.log to DIR (default ./RUN).
sweep snapshots DIR the same way, creates the Sweep of SWEEP.yaml (a Sweep manifest) with that
snapshot as its trials' source, and follows it until it ends: trials as they end, counts by
phase, the best trial so far. Ctrl-C stops following, not the sweep; sweep status shows a sweep
(--watch: follows it).
The store comes from AML_STORE_URL / AML_STORE_CONNECTION_STRING, else the namespace's Secret
aml-store.

Global options:
  -n, --namespace NS      namespace (default: the kubeconfig context's, else "default")
      --context CTX       kubeconfig context
      --kubeconfig FILE   kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help              this help
`;

const GLOBAL_OPTIONS = {
  namespace: { type: "string", short: "n" },
  context: { type: "string" },
  kubeconfig: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  script: { type: "string" },
  config: { type: "string" },
  target: { type: "string" },
  arg: { type: "string", multiple: true },
  name: { type: "string" },
  experiment: { type: "string" },
  wait: { type: "boolean" },
  follow: { type: "boolean", short: "f" },
  attempt: { type: "string" },
} as const;

/** `sweep` reads -f as kubectl does (a manifest file), so it has options of its own. */
const SWEEP_OPTIONS = {
  ...GLOBAL_OPTIONS,
  file: { type: "string", short: "f" },
  name: { type: "string" },
  follow: { type: "boolean", default: true },
  watch: { type: "boolean", short: "w" },
} as const;

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
}

/** The sub-command: the first operand (options before it take values only when they are global ones). */
function commandOf(argv: string[]): string | undefined {
  return parseArgs({ args: argv, options: GLOBAL_OPTIONS, allowPositionals: true, strict: false }).positionals[0];
}

type Connect = { kubeconfig?: string | undefined; context?: string | undefined; namespace?: string | undefined };
const connect = (v: Connect): CliKube => CliKube.connect({ ...(v.kubeconfig ? { kubeconfig: v.kubeconfig } : {}), ...(v.context ? { context: v.context } : {}), ...(v.namespace ? { namespace: v.namespace } : {}) });

/** Ctrl-C while following a sweep stops the following (exit 130), never the sweep. */
function interrupted(): AbortSignal {
  const ctl = new AbortController();
  process.once("SIGINT", () => ctl.abort());
  return ctl.signal;
}

async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: SWEEP_OPTIONS, allowPositionals: true, allowNegative: true, strict: true });
  const operands = positionals.slice(1);
  if (v.help || operands.length === 0) {
    io.out.write(USAGE);
    return v.help ? 0 : 2;
  }
  const k = connect(v);
  if (operands[0] === "status") return sweepStatus(k, one(operands.slice(1), "sweep name"), v.watch ?? false, { ...io, signal: interrupted() });
  if (!v.file) throw new UsageError("sweep DIR needs -f SWEEP.yaml (a Sweep manifest)");
  return submitSweep(k, () => cliStore(k), { dir: one(operands, "directory"), file: v.file, follow: v.follow, ...(v.name ? { name: v.name } : {}) }, { ...io, signal: interrupted() });
}

/** Positionals after a literal `--` are script arguments, not sub-command operands. */
function splitPositionals(parsed: ReturnType<typeof parse>): { operands: string[]; extra: string[] } {
  const dd = parsed.tokens.find((t) => t.kind === "option-terminator");
  if (!dd) return { operands: parsed.positionals, extra: [] };
  const before = parsed.tokens.filter((t) => t.kind === "positional" && t.index < dd.index).length;
  return { operands: parsed.positionals.slice(0, before), extra: parsed.positionals.slice(before) };
}

function one(operands: string[], what: string): string {
  if (operands.length !== 1 || !operands[0]) throw new UsageError(`expected exactly one ${what}`);
  return operands[0];
}

interface Invocation { command: string; v: Values; operands: string[]; extra: string[] }

async function dispatch({ command, v, operands, extra }: Invocation, io: Io): Promise<number> {
  const kube = (): CliKube => connect(v);
  switch (command) {
    case "submit": {
      if (!v.script) throw new UsageError("submit needs --script");
      const k = kube();
      return submit(k, () => cliStore(k), {
        dir: one(operands, "directory"), script: v.script, args: [...(v.arg ?? []), ...extra], wait: v.wait ?? false,
        ...(v.config ? { config: v.config } : {}), ...(v.target ? { target: v.target } : {}),
        ...(v.name ? { name: v.name } : {}), ...(v.experiment ? { experiment: v.experiment } : {}),
      }, io);
    }
    case "logs": return logs(kube(), one(operands, "run name"), v.follow ?? false, io);
    case "cancel": return cancel(kube(), one(operands, "run name"), io);
    case "targets": return targets(kube(), io);
    case "download": {
      if (operands.length < 1 || operands.length > 2) throw new UsageError("download takes RUN [DIR]");
      const attempt = v.attempt !== undefined ? Number(v.attempt) : undefined;
      if (attempt !== undefined && !(Number.isInteger(attempt) && attempt > 0)) throw new UsageError("--attempt takes a positive number");
      const k = kube();
      return download(k, () => cliStore(k), { name: operands[0]!, ...(operands[1] ? { dir: operands[1] } : {}), ...(attempt ? { attempt } : {}) }, io);
    }
    default: throw new UsageError(`unknown command "${command}"`);
  }
}

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  try {
    if (commandOf(argv) === "sweep") return await sweepCommand(argv, io);
    const parsed = parse(argv);
    const { operands, extra } = splitPositionals(parsed);
    const [command, ...rest] = operands;
    if (parsed.values.help || !command) {
      io.out.write(USAGE);
      return command || parsed.values.help ? 0 : 2;
    }
    return await dispatch({ command, v: parsed.values, operands: rest, extra }, io);
  } catch (err) {
    if (err instanceof UsageError || String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS")) {
      io.err.write(`error: ${(err as Error).message}\nRun 'kubectl aml --help' for usage.\n`);
      return 2;
    }
    const known = err instanceof SnapshotError || err instanceof StoreNotFoundError || (err as { storeReason?: string }).storeReason !== undefined || (err as { reason?: string }).reason === "SourceTooLarge";
    io.err.write(`error: ${known ? (err as Error).message : describeError(err)}\n`);
    return 1;
  }
}

/** Flushes stdout before exiting so piped output is never cut short. */
function exitWith(code: number): void {
  process.stdout.write("", () => process.exit(code));
}

// Run when executed (bin/kubectl-aml, the npm bin link, node dist/src/cli/kubectl-aml.js), not when imported.
if (/kubectl-aml(\.[jt]s)?$/.test(process.argv[1] ?? "")) {
  main(process.argv.slice(2)).then(exitWith, (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    exitWith(1);
  });
}
