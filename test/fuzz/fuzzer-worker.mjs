// The fuzzers' thread (see fuzzers.ts): it runs the TypeScript sources directly, as the CLI does.
import { register } from "tsx/esm/api";

register();
await import("./fuzzer-worker.ts");
