/**
 * Neither Azure ML jobs nor Databricks runs report a process exit code: Azure ML gives a job status
 * (Completed/Failed), Databricks a result state. What both keep is the run's output, so the command
 * the operator submits prints one last line with the exit code, and observe reads it back.
 */
export const EXIT_MARKER = "[amlcompute] exit code ";

/** A POSIX shell line that runs `command`, prints the marker with its exit status and exits with it. */
export function withExitMarker(command: string): string {
  return `${command}; amlcompute_rc=$?; echo "${EXIT_MARKER}$amlcompute_rc"; exit $amlcompute_rc`;
}

/** Exit code from the last marker line of a log, if it has one. */
export function exitCodeFromLogs(logs: string | undefined): number | undefined {
  if (!logs) return undefined;
  const i = logs.lastIndexOf(EXIT_MARKER);
  if (i < 0) return undefined;
  const m = /^(-?\d+)/.exec(logs.slice(i + EXIT_MARKER.length));
  return m ? Number(m[1]) : undefined;
}

/** The user's output without the marker lines. */
export function withoutMarker(logs: string): string {
  return logs.split("\n").filter((l) => !l.startsWith(EXIT_MARKER)).join("\n");
}
