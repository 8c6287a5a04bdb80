// Files the operator reads at run time that tsc does not copy (the Python runner, the RemoteVM
// shell scripts): every *.py and *.sh under src/ goes next to its compiled module in dist/src, so
// dist and the image built from it ship them.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

const ASSET = /\.(py|sh)$/;
for (const entry of readdirSync("src", { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSET.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join("dist", from);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}
