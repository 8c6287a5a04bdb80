/**
 * The one place a string becomes part of a shell line (SSH commands on a VM or head node, Azure ML
 * command jobs, Batch task command lines). A word made only of characters no POSIX shell
 * interprets is left as it is, so command lines stay readable; anything else is wrapped in single
 * quotes, which POSIX shells (sh, bash, dash, zsh) never interpret inside, and an embedded single
 * quote is closed, escaped and reopened ('\''). `=` is not a safe character: a first word `a=b`
 * would be an assignment. The remote login shell must therefore be POSIX-like (not fish/csh).
 */
const SAFE_WORD = /^[A-Za-z0-9_./:@%+,-]+$/;

export function quoteArg(arg: string): string {
  // A NUL cannot travel in argv at all; refusing beats silently truncating.
  if (arg.includes("\0")) throw new Error("argument contains a NUL byte");
  return SAFE_WORD.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** argv → a shell line that executes exactly that argv. */
export function renderCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty argv");
  return argv.map(quoteArg).join(" ");
}
