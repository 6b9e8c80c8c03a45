/**
 * Writes fixtures.json from samples.ts. Run it only when the protocol changes on purpose
 * (`npx tsx protocol/test/make-fixtures.ts`), review the diff, and say so in docs/protocol.md:
 * a changed fixture is a wire-format change.
 */
import { writeFileSync } from "node:fs";
import { encodeMessage } from "../src/index.ts";
import { samples } from "./samples.ts";

const fixtures = Object.fromEntries(
  Object.entries(samples).map(([name, message]) => [
    name,
    Buffer.from(encodeMessage(message)).toString("hex"),
  ]),
);
writeFileSync(new URL("./fixtures.json", import.meta.url), JSON.stringify(fixtures, null, 2) + "\n");
