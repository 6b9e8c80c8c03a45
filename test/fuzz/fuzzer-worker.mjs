// The fuzzers' thread (see fuzzers.ts): it runs the TypeScript sources directly (tsx), with @regio/*
// from their sources too (the @regio/source condition of the test's process, which a Worker inherits).
import { register } from "tsx/esm/api";

register();
await import("./fuzzer-worker.ts");
