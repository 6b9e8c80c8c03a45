import { TraceFlags } from "@opentelemetry/api";
import { expect, it } from "vitest";
import { MAX_TRACESTATE_LENGTH, spanContextOf, traceContextOf } from "../src/trace-context.ts";

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const spanId = "00f067aa0ba902b7";

it("writes and reads W3C traceparent/tracestate, sampled flag included", () => {
  const sampled = spanContextOf({
    traceparent: `00-${traceId}-${spanId}-01`,
    tracestate: "vendor=a,other=b",
  })!;
  expect(sampled).toMatchObject({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  expect(traceContextOf(sampled)).toEqual({
    traceparent: `00-${traceId}-${spanId}-01`,
    tracestate: "vendor=a,other=b",
  });
  const unsampled = spanContextOf({ traceparent: `00-${traceId}-${spanId}-00` })!;
  expect(traceContextOf(unsampled)).toEqual({ traceparent: `00-${traceId}-${spanId}-00` });
  // A later version may add fields: what version 00 defines is read.
  expect(spanContextOf({ traceparent: `01-${traceId}-${spanId}-01-extra` })?.traceId).toBe(traceId);
});

it("believes no malformed trace context, and carries no oversize tracestate", () => {
  for (const traceparent of [
    "",
    `00-${traceId}-${spanId}-01-extra`,
    `ff-${traceId}-${spanId}-01`,
    `00-${"0".repeat(32)}-${spanId}-01`,
    `00-${traceId}-${"0".repeat(16)}-01`,
    `00-${traceId.toUpperCase()}-${spanId}-01`,
    `00-${traceId}-${spanId}`,
  ]) {
    expect(spanContextOf({ traceparent }), traceparent).toBeUndefined();
  }
  const long = spanContextOf({
    traceparent: `00-${traceId}-${spanId}-01`,
    tracestate: `a=${"x".repeat(MAX_TRACESTATE_LENGTH)}`,
  });
  expect(long?.traceState).toBeUndefined();
});
