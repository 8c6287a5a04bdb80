import { contractOf, formatViolations, type Operation, type Service, type ServiceContract } from "../contracts/index.js";

/**
 * The emulators' use of the contracts: every request an emulated service receives is checked
 * against the published API's schema before the emulator acts on it, and every answer it gives is
 * checked before it leaves. A bad request gets the service's own 400; a bad answer is the
 * emulator's bug and turns into a 500 `EmulatorContractViolation`, so a test that relied on it
 * fails loudly instead of passing against an invented shape.
 */
export class ContractGuard {
  readonly contract: ServiceContract;
  /** Answers the emulator gave that broke the contract (tests assert this stays empty). */
  readonly violations: string[] = [];

  constructor(service: Service) {
    this.contract = contractOf(service);
  }

  operation(method: string, path: string): Operation | undefined {
    return this.contract.operation(method, path);
  }

  /** Why the request breaks the document, or undefined when it does not. */
  requestError(op: Operation | undefined, query: URLSearchParams, body: unknown, path?: string): string | undefined {
    if (!op) return undefined;
    const v = this.contract.request(op, { query, body, ...(path !== undefined ? { path } : {}) });
    return v.length ? `${op.operationId}: ${formatViolations(v)}` : undefined;
  }

  /** The answer to send: the emulator's own when it keeps the contract, a 500 naming the breach otherwise. */
  answer<T extends { status: number; headers: Record<string, string>; body: unknown }>(op: Operation | undefined, res: T, errorBody: (code: string, message: string) => unknown): T {
    if (!op) return res;
    const v = this.contract.response(op, res);
    if (!v.length) return res;
    const message = `emulator answer to ${op.operationId} breaks the contract: ${formatViolations(v)}`;
    this.violations.push(message);
    if (process.env.EMULATOR_CONTRACT_DEBUG) process.stderr.write(`${message}\n`);
    return { ...res, status: 500, headers: {}, body: errorBody("EmulatorContractViolation", message) };
  }

  /** Checks a body against one schema file (for answers that are not a documented operation, e.g. LRO status). */
  bodyError(file: string, body: unknown): string | undefined {
    const v = this.contract.check("response", file, body);
    return v.length ? formatViolations(v) : undefined;
  }
}
