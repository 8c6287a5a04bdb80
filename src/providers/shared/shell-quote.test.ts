import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { quoteArg, renderCommand } from "./shell-quote.js";

// Each argument must come back byte-for-byte from a real POSIX shell, whatever it contains.
const NASTY = [
  "", "plain", "with space", "it's", "'", "''", "\"double\"", "$HOME", "${PATH}", "$(id)", "`id`", "a;b", "a&&b", "a|b",
  "*", "?", "[a]", "~", "~root", "-n", "--", "\\", "\\'", "line\nbreak", "tab\there", "ünïcødé ✓", "!bang", "#hash", "a=b",
];

function roundTrip(shell: string, args: readonly string[]): string[] {
  const line = `printf '%s\\0' ${args.map(quoteArg).join(" ")}`;
  const out = execFileSync(shell, ["-c", line], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("quoteArg", () => {
  it.each(["/bin/sh", "/bin/bash"])("round-trips every awkward argument through %s unchanged", (shell) => {
    expect(roundTrip(shell, NASTY)).toEqual(NASTY);
  });

  it("refuses a NUL byte, which no argv can carry", () => {
    expect(() => quoteArg("a\0b")).toThrow(/NUL/);
  });

  it("renders an argv as one element per argument, quoting only what a shell would interpret", () => {
    expect(renderCommand(["bash", "-s", "--", "it's"])).toBe(`bash -s -- 'it'\\''s'`);
    expect(renderCommand(["python", "train.py", "--name", "it's", "$(rm -rf /)", "a b", "a=b", ""])).toBe(
      `python train.py --name 'it'\\''s' '$(rm -rf /)' 'a b' 'a=b' ''`);
    expect(() => renderCommand([])).toThrow();
  });
});
