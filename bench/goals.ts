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
  /**
   * A goal this project keeps beside issue 11's, not one of the issue's figures: the fan-out goals
   * again for Regio in one process, where no coalescing hides a broadcast's fixed cost (ADR 0014).
   */
  beyondIssue?: boolean;
}

export function goalsSection(goals: Goal[], versions: string): string {
  const rows = goals.map(
    (g) => `| ${g.figure} | ${g.target} | ${g.measured} | ${g.met ? "yes" : "**no**"} | ${g.scenario} |`,
  );
  const issue = goals.filter((g) => !g.beyondIssue);
  const beyond = goals.filter((g) => g.beyondIssue);
  const met = (some: Goal[]) => some.filter((g) => g.met).length;
  const beyondSentence =
    beyond.length === 0
      ? ""
      : ` Beside them, the fan-out goals again for Regio in one process (rows marked so; not the issue's figures, kept in view because there no coalescing hides a broadcast's fixed cost): ${met(beyond)} of ${beyond.length} met.`;
  return `## Summary: issue 11's goals in this run

Every figure below was measured in this one run of \`npm run bench\`, Regio beside plain socket.io
measured in the same run (${versions}). Issue 11's figures: ${met(issue)} of ${issue.length} met.${beyondSentence}

| figure | goal | measured | met | section |
| --- | --- | --- | --- | --- |
${rows.join("\n")}`;
}
