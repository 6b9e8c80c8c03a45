/**
 * Issue 11's goals, each checked against what one `npm run bench` measured: the summary at the top
 * of docs/benchmarks.md. Every row names its scenario, so each figure can be found in its section.
 */
export interface Goal {
  scenario: string;
  figure: string;
  /** The goal, in words (e.g. "at least 1.0"). */
  target: string;
  measured: string;
  met: boolean;
}

export function goalsSection(goals: Goal[], versions: string): string {
  const rows = goals.map(
    (g) => `| ${g.figure} | ${g.target} | ${g.measured} | ${g.met ? "yes" : "**no**"} | ${g.scenario} |`,
  );
  const met = goals.filter((g) => g.met).length;
  return `## Summary: issue 11's goals in this run

Every figure below was measured in this one run of \`npm run bench\`, Regio beside plain socket.io
measured in the same run (${versions}). ${met} of ${goals.length} met.

| figure | goal | measured | met | section |
| --- | --- | --- | --- | --- |
${rows.join("\n")}`;
}
