import { describe, expect, it } from "vitest";
import { ConflictError, InvalidError, NotFoundError, TerminalError, TransientError } from "../runtime/errors.js";
import { parseRetryAfterMs } from "../runtime/errors.js";
import { classifyHttpStatus, classifyKubeError } from "./errors.js";

describe("classifyHttpStatus", () => {
  it.each([
    ["404 is NotFound", () => classifyHttpStatus(404, { reason: "NotFound" }), NotFoundError],
    ["409 Conflict is a ConflictError", () => classifyHttpStatus(409, { reason: "Conflict" }), ConflictError],
    ["400 is Invalid", () => classifyHttpStatus(400, { reason: "BadRequest" }), InvalidError],
    ["422 is Invalid", () => classifyHttpStatus(422, { reason: "Invalid" }), InvalidError],
    ["401 is Terminal", () => classifyHttpStatus(401, { reason: "Unauthorized" }), TerminalError],
    ["403 is Terminal", () => classifyHttpStatus(403, { reason: "Forbidden" }), TerminalError],
    ["429 is Transient", () => classifyHttpStatus(429, { reason: "TooManyRequests" }, "3"), TransientError],
    ["500 is Transient", () => classifyHttpStatus(500, { reason: "InternalError" }), TransientError],
    ["503 is Transient", () => classifyHttpStatus(503, undefined), TransientError],
    ["504 is Transient", () => classifyHttpStatus(504, { reason: "Timeout" }), TransientError],
  ])("%s", (_n, classify, cls) => {
    expect(classify()).toBeInstanceOf(cls);
  });

  it("marks 409 AlreadyExists with alreadyExists=true and a plain conflict with false", () => {
    expect((classifyHttpStatus(409, { reason: "AlreadyExists" }) as ConflictError).alreadyExists).toBe(true);
    expect((classifyHttpStatus(409, { reason: "Conflict" }) as ConflictError).alreadyExists).toBe(false);
  });

  it("honours Retry-After, then Status.details.retryAfterSeconds, and defaults 429 to 1 s", () => {
    expect((classifyHttpStatus(429, undefined, "3") as TransientError).retryAfterMs).toBe(3_000);
    expect((classifyHttpStatus(503, { details: { retryAfterSeconds: 2 } }) as TransientError).retryAfterMs).toBe(2_000);
    expect((classifyHttpStatus(429, undefined) as TransientError).retryAfterMs).toBe(1_000);
    expect((classifyHttpStatus(500, undefined) as TransientError).retryAfterMs).toBeUndefined();
  });

  it("carries a condition-ready reason on transient errors", () => {
    expect((classifyHttpStatus(503, { reason: "ServiceUnavailable" }) as TransientError).reason).toBe("ServiceUnavailable");
    expect((classifyHttpStatus(500, undefined) as TransientError).reason).toBe("APIServerError");
    expect((classifyKubeError(new TypeError("fetch failed")) as TransientError).reason).toBe("APIServerUnreachable");
  });

  it("keeps the server's message", () => {
    expect(classifyHttpStatus(422, { reason: "Invalid", message: "spec.x: Required value" }).message)
      .toContain("spec.x: Required value");
  });
});

describe("classifyKubeError", () => {
  it("passes already-classified errors through", () => {
    const e = new ConflictError("x");
    expect(classifyKubeError(e)).toBe(e);
  });

  it("maps network failures to TransientError with the cause kept", () => {
    const cause = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    const e = classifyKubeError(cause);
    expect(e).toBeInstanceOf(TransientError);
    expect(e.cause).toBe(cause);
  });

  it("reads client-node ApiException's code/body/headers", () => {
    const e = classifyKubeError({ code: 409, body: '{"reason":"AlreadyExists","message":"exists"}', headers: {} });
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as ConflictError).alreadyExists).toBe(true);
  });

  it("reads Watch's statusCode", () => {
    expect(classifyKubeError({ statusCode: 403 })).toBeInstanceOf(TerminalError);
  });
});

describe("parseRetryAfterMs", () => {
  it.each([
    ["seconds", "5", 5_000],
    ["an HTTP date", new Date(10_000).toUTCString(), 10_000],
    ["garbage", "soon", undefined],
    ["absent", undefined, undefined],
  ])("parses %s", (_n, v, want) => expect(parseRetryAfterMs(v, 0)).toBe(want));
});
