import { describe, expect, it } from "vitest";
import { ConflictError, InvalidError, NotFoundError, TerminalError, TransientError } from "../runtime/errors.js";
import { classifyHttpStatus, classifyKubeError, parseRetryAfter } from "./errors.js";

describe("classifyHttpStatus", () => {
  it.each([
    ["404 is NotFound", 404, { reason: "NotFound" }, undefined, NotFoundError],
    ["409 Conflict is a ConflictError", 409, { reason: "Conflict" }, undefined, ConflictError],
    ["400 is Invalid", 400, { reason: "BadRequest" }, undefined, InvalidError],
    ["422 is Invalid", 422, { reason: "Invalid" }, undefined, InvalidError],
    ["401 is Terminal", 401, { reason: "Unauthorized" }, undefined, TerminalError],
    ["403 is Terminal", 403, { reason: "Forbidden" }, undefined, TerminalError],
    ["429 is Transient", 429, { reason: "TooManyRequests" }, "3", TransientError],
    ["500 is Transient", 500, { reason: "InternalError" }, undefined, TransientError],
    ["503 is Transient", 503, undefined, undefined, TransientError],
    ["504 is Transient", 504, { reason: "Timeout" }, undefined, TransientError],
  ])("%s", (_n, code, status, retryAfter, cls) => {
    expect(classifyHttpStatus(code, status, retryAfter)).toBeInstanceOf(cls);
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

describe("parseRetryAfter", () => {
  it.each([
    ["seconds", "5", 5_000],
    ["an HTTP date", new Date(10_000).toUTCString(), 10_000],
    ["garbage", "soon", undefined],
    ["absent", undefined, undefined],
  ])("parses %s", (_n, v, want) => expect(parseRetryAfter(v, 0)).toBe(want));
});
