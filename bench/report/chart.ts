/**
 * A dependency-free SVG chart: one panel of horizontal bars per measure, each panel scaled to its
 * own largest value, every bar labelled with its value.
 */
export interface ChartPanel {
  title: string;
  /** Formats a value for its label. */
  format: (value: number) => string;
  bars: Array<{ label: string; value: number; highlight?: boolean }>;
}

const WIDTH = 860;
const LABEL_WIDTH = 250;
const BAR_HEIGHT = 20;
const GAP = 6;
const PANEL_TITLE = 28;
const PANEL_GAP = 18;

export function renderChart(title: string, subtitle: string, panels: ChartPanel[]): string {
  const parts: string[] = [];
  let y = 56;
  for (const panel of panels) {
    parts.push(`<text x="16" y="${y + 18}" class="panel">${escape(panel.title)}</text>`);
    y += PANEL_TITLE;
    const finite = panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0));
    const max = Math.max(...finite, 1e-9);
    const span = WIDTH - LABEL_WIDTH - 110;
    for (const bar of panel.bars) {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      const width = Math.max(1, (value / max) * span);
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + 15}" class="label">${escape(bar.label)}</text>`);
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" class="${bar.highlight ? 'herald' : 'other'}"/>`);
      parts.push(`<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 15}" class="value">${escape(Number.isFinite(bar.value) ? panel.format(bar.value) : 'n/a')}</text>`);
      y += BAR_HEIGHT + GAP;
    }
    y += PANEL_GAP;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    '<style>.title{font-size:18px;font-weight:600}.sub{font-size:12px;fill:#555}.panel{font-size:14px;font-weight:600}.label{font-size:12px;text-anchor:end}.value{font-size:12px}.herald{fill:#d9822b}.other{fill:#6b8cae}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="26" class="title">${escape(title)}</text>`,
    `<text x="16" y="44" class="sub">${escape(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
