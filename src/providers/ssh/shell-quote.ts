/**
 * The one place a string becomes part of a remote shell line. Every argument is wrapped in single
 * quotes, which POSIX shells (sh, bash, dash, zsh) never interpret inside; an embedded single quote
 * is closed, escaped and reopened ('\''). The remote login shell must therefore be POSIX-like
 * (not fish/csh) — documented in docs/remote-vm.md.
 */
export function quoteArg(arg: string): string {
  // A NUL cannot travel in argv at all; refusing beats silently truncating.
  if (arg.includes("\0")) throw new Error("argument contains a NUL byte");
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** argv → a shell line that executes exactly that argv. */
export function renderCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty argv");
  return argv.map(quoteArg).join(" ");
}
