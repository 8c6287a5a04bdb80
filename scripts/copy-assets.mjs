// Copies every file under src/ that tsc does not emit (runner scripts, shell helpers, JSON schemas)
// to the same path under dist/src/, keeping its mode, so the compiled operator finds them where
// the TypeScript source does. Plain JavaScript: it runs in the image build without tsx.
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(root, "src");
const to = join(root, "dist", "src");

function* assets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* assets(path);
    else if (entry.isFile() && !entry.name.endsWith(".ts")) yield path;
  }
}

let copied = 0;
for (const file of assets(from)) {
  const target = join(to, relative(from, file));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target);
  chmodSync(target, statSync(file).mode & 0o777);
  copied++;
}
console.log(`copy-assets: ${copied} non-TypeScript file(s) from src/ to dist/src/`);
