// The runner is a real .py file that tsc does not copy: put it next to its compiled module so
// dist (and the image built from it) ships it.
import { copyFileSync, mkdirSync } from "node:fs";
mkdirSync("dist/src/data-plane/runner", { recursive: true });
copyFileSync("src/data-plane/runner/aml_runner.py", "dist/src/data-plane/runner/aml_runner.py");
