// The nested tree every data-plane test submits (Local e2e, Batch, Databricks): a binary file, a
// non-ASCII file name, an empty file, an executable script, three levels, an ignored file, and a
// train.py that proves its working directory is exactly the snapshot, then writes outputs.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DIGEST_CHECK } from "../e2e/support/digest-check.js";

export const WEIGHTS = randomBytes(100_000);

/** Files of the tree as submitted (8 after .amlignore); `extra` adds or replaces files. */
export function sourceTree(extra: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "dp-src-"));
  const files: Record<string, string | Buffer> = {
    "train.py": `import os, sys\nexec(open("check/digest.py").read())\n` +
      `assert os.access("bin/run.sh", os.X_OK), "exec bit lost"\n` +
      `os.makedirs("outputs/ü", exist_ok=True)\n` +
      `open("outputs/model.bin", "wb").write(open("data/weights.bin", "rb").read()[::-1])\n` +
      `open("outputs/ü/résumé.txt", "w").write("naïve ✓")\n` +
      `print("wrote outputs")\n`,
    "check/digest.py": DIGEST_CHECK,
    "data/weights.bin": WEIGHTS,
    "naïve/日本語/ファイル.txt": "non-ASCII name\n",
    "a/b/c/deep.txt": "three levels\n",
    "empty.txt": "",
    "bin/run.sh": "#!/bin/sh\necho hi\n",
    ".amlignore": "*.tmp\n",
    "scratch.tmp": "ignored",
    ...extra,
  };
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  chmodSync(join(root, "bin/run.sh"), 0o755);
  return root;
}
