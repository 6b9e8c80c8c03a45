/**
 * The fan-out sweep as an SVG line chart (docs/fanout-chart.svg): deliveries per server CPU-second
 * against audience size, one line per server and broadcasts per tick. Written by hand, a few lines
 * of SVG, rather than pulling a charting library into the repository for one picture. Both axes are
 * logarithmic: audiences span three decades and the servers differ by more than one.
 */
import type { FanoutResult, FanoutServer } from "./fanout.ts";

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 80, right: 230, top: 40, bottom: 50 };
const LABELS: Record<FanoutServer, string> = {
  plain: "plain socket.io",
  regio: "Regio",
  "regio-one-process": "Regio, one process",
  ws: "raw ws ceiling",
};
const COLORS: Record<FanoutServer, string> = {
  plain: "#d62728",
  regio: "#1f77b4",
  "regio-one-process": "#17becf",
  ws: "#7f7f7f",
};

const decades = (from: number, to: number) => {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(from)); e <= Math.ceil(Math.log10(to)); e++) out.push(10 ** e);
  return out;
};
const short = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function fanoutChart(results: FanoutResult[], title: string): string {
  const xs = results.map((r) => r.clients);
  const ys = results.map((r) => r.deliveriesPerCpuSecond);
  const xTicks = decades(Math.min(...xs), Math.max(...xs));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [Math.log10(xTicks[0]!), Math.log10(xTicks.at(-1)!)];
  const [y0, y1] = [Math.log10(yTicks[0]!), Math.log10(yTicks.at(-1)!)];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (y: number) => MARGIN.top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (const x of xTicks) {
    parts.push(
      `<line x1="${px(x)}" y1="${MARGIN.top}" x2="${px(x)}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`,
      `<text x="${px(x)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${short(x)}</text>`,
    );
  }
  for (const y of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py(y)}" x2="${MARGIN.left + plotW}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(y) + 4}" text-anchor="end">${short(y)}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">WebSocket clients (log scale)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">deliveries per server CPU-second (log scale)</text>`,
  );
  const lines = [...new Set(results.map((r) => `${r.mode}/${r.perTick}`))];
  lines.forEach((key, i) => {
    const points = results
      .filter((r) => `${r.mode}/${r.perTick}` === key)
      .sort((a, b) => a.clients - b.clients);
    const { mode, perTick } = points[0]!;
    const dash = perTick === 1 ? ` stroke-dasharray="6 4"` : "";
    const path = points.map((r) => `${px(r.clients).toFixed(1)},${py(r.deliveriesPerCpuSecond).toFixed(1)}`);
    parts.push(
      `<polyline points="${path.join(" ")}" fill="none" stroke="${COLORS[mode]}" stroke-width="2"${dash}/>`,
    );
    for (const r of points) {
      parts.push(
        `<circle cx="${px(r.clients)}" cy="${py(r.deliveriesPerCpuSecond)}" r="3" fill="${COLORS[mode]}"/>`,
      );
    }
    const ly = MARGIN.top + 10 + i * 20;
    const lx = MARGIN.left + plotW + 14;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${COLORS[mode]}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${escape(`${LABELS[mode]}, ${perTick}/tick`)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
