import { describe, expect, it } from "vitest";
import { OUTPUT_TAIL_BYTES, tailText } from "./output-tail.js";

describe("tailText", () => {
  it("keeps a short text whole and cuts a long one at a line start within the limit", () => {
    expect(tailText("first\nsecond\n")).toBe("first\nsecond\n");
    const long = `${"x".repeat(OUTPUT_TAIL_BYTES)}\nlast line\n`;
    expect(tailText(long)).toBe("last line\n");
    expect(Buffer.byteLength(tailText("y".repeat(10_000)))).toBeLessThanOrEqual(OUTPUT_TAIL_BYTES);
  });

  it("drops the partial first line of a text that was cut before it got here", () => {
    expect(tailText("tial line\nwhole\n", OUTPUT_TAIL_BYTES, true)).toBe("whole\n");
  });
});
