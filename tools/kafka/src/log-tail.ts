import { open } from "node:fs/promises";

// Enough to reach the root cause of a failed start, which Kafka logs well before its shutdown chatter.
const READ_BYTES = 256 * 1024;
const MAX_ERRORS = 5;
const TAIL_LINES = 15;

/**
 * A readable excerpt of Kafka's log for error messages: the first ERROR/FATAL entries with their
 * exception messages (stack frames dropped), then the last lines. A plain tail is not enough because
 * Kafka logs hundreds of shutdown lines after the error that made it exit.
 */
export async function summarizeLog(path: string): Promise<string> {
  let text: string;
  try {
    text = await readEnd(path);
  } catch (err) {
    return `(could not read ${path}: ${err instanceof Error ? err.message : String(err)})`;
  }
  const lines = text.trimEnd().split("\n");
  if (lines.length === 1 && lines[0] === "") return "(log file is empty)";
  const errors = errorEntries(lines);
  const tail = `Last ${TAIL_LINES} lines of ${path}:\n${lines.slice(-TAIL_LINES).join("\n")}`;
  return errors.length > 0 ? `Errors in ${path}:\n${errors.join("\n")}\n${tail}` : tail;
}

function errorEntries(lines: string[]): string[] {
  const entries: string[] = [];
  for (let i = 0; i < lines.length && entries.length < MAX_ERRORS; i++) {
    if (!/^\[[^\]]+\] (ERROR|FATAL) /.test(lines[i] ?? "")) continue;
    const entry = [lines[i] ?? ""];
    // Keep exception messages and "Caused by:" lines; drop stack frames.
    for (let j = i + 1; j < lines.length && !(lines[j] ?? "").startsWith("["); j++) {
      const line = lines[j] ?? "";
      if (!/^\s+(at |\.\.\. )/.test(line) && entry.length < 4) entry.push(line);
    }
    entries.push(entry.join("\n"));
  }
  return entries;
}

async function readEnd(path: string): Promise<string> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const length = Math.min(size, READ_BYTES);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } finally {
    await file.close();
  }
}
