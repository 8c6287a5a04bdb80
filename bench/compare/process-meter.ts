// What an operator process costs, read from /proc: resident memory (sampled, so the peak of a
// scenario is seen) and CPU seconds (user + system).
import { readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
  return Math.round((kib / 1024) * 10) / 10;
}

export function cpuSeconds(pid: number): number {
  // Fields after the command name "(...)": state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Samples RSS every `everyMs` until stopped; reports the peak and CPU seconds since start. */
export class ProcessMeter {
  private peak = 0;
  private readonly cpuAtStart: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 200) {
    this.cpuAtStart = cpuSeconds(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): { peakRssMiB: number; cpuSeconds: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakRssMiB: this.peak, cpuSeconds: Math.round((cpuSeconds(this.pid) - this.cpuAtStart) * 100) / 100 };
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssMiB(this.pid));
    } catch {
      // the process ended; keep the last peak
    }
  }
}
