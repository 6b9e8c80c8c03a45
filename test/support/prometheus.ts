/** One scrape of a node's `/metrics`: the sum of the series of `name` whose labels include `labels`. */
export type Scrape = (name: string, labels?: Record<string, string>) => number | undefined;

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const series = parsePrometheusText(await response.text());
  return (name, labels = {}) => {
    const matching = series.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  };
}

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (`name{a="b",...} value`); comments skipped. */
export function parsePrometheusText(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    series.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return series;
}
