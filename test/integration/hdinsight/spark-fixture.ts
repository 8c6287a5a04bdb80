import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";

// A real head node stand-in: pyspark from PyPI + the Debian JRE, reachable by the SSH test user.
export const VENV = "/opt/aml-spark-3.5.3";
export const SPARK_SUBMIT = `${VENV}/spark-submit`;

/**
 * pyspark in a venv readable by the SSH test user, built once per machine (the pip cache makes a
 * rebuild quick), plus a spark-submit wrapper that sets SPARK_HOME the way a cluster's
 * /usr/bin/spark-submit does (pyspark's own script looks for pyspark with the system python3).
 */
export function ensureSpark(): void {
  if (!existsSync(`${VENV}/bin/pip`)) execFileSync("python3", ["-m", "venv", VENV]);
  const hasPyspark = (): boolean => {
    try {
      execFileSync(`${VENV}/bin/python`, ["-c", "import pyspark"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (!hasPyspark()) execFileSync(`${VENV}/bin/pip`, ["install", "-q", "pyspark==3.5.3"], { stdio: "inherit", timeout: 600_000 });
  const home = execFileSync(`${VENV}/bin/python`, ["-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"], { encoding: "utf8" }).trim();
  // The stand-in head node keeps Spark on loopback (test traffic stays on 127.0.0.0/8) and its
  // driver logs at WARN, so a job's own lines are not pushed out of the 8 KiB output tail.
  writeFileSync(SPARK_SUBMIT, [
    "#!/bin/sh",
    `export SPARK_HOME='${home}'`,
    "export SPARK_LOCAL_IP=127.0.0.1",
    'exec "$SPARK_HOME/bin/spark-submit" --conf spark.log.level=WARN --conf spark.driver.host=127.0.0.1 "$@"',
    "",
  ].join("\n"), { mode: 0o755 });
}
