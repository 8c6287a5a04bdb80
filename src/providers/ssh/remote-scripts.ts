import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/*
 * The two bash scripts of the remote protocol (docs/remote-vm.md), real files in ./scripts/ (shipped
 * next to the compiled module, checked by shellcheck in `make lint`). They are static: no value
 * from a user is ever placed in their text; inputs come as quoted argv or as NUL-separated files.
 */
const script = (name: string): string => readFileSync(new URL(`./scripts/${name}`, import.meta.url), "utf8");

/**
 * Started detached per attempt: materializes the snapshot, builds or reuses the environment, runs
 * the command in its own process group, enforces cancel and max duration, writes exit_code.
 */
export const LAUNCH_SCRIPT = script("launch.sh");

/** Short operations (prepare, admit, observe, cancel, cleanup, probe), sent on stdin each time. */
export const CONTROL_SCRIPT = script("control.sh");

/** The launcher is stored content-addressed, so a changed script never alters running attempts. */
export const LAUNCH_SCRIPT_NAME = `launch-${createHash("sha256").update(LAUNCH_SCRIPT).digest("hex").slice(0, 16)}.sh`;
