import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** How far back the charts reach. */
const WINDOW_SECONDS = 15 * 60;
const COLOURS = ['#2451c7', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

/**
 * A live line chart, one line per node, kept in the page from successive polls of /api/nodes
 * (nothing is stored on the server): the last 15 minutes.
 */
export class NodeChart {
  readonly #container: HTMLElement;
  readonly #title: string;
  #times: number[] = [];
  /** Values by node label, aligned with #times (null where the node was not listed). */
  #values = new Map<string, (number | null)[]>();
  #plot: uPlot | undefined;
  #labels = '';

  constructor(container: HTMLElement, title: string) {
    this.#container = container;
    this.#title = title;
  }

  /** Adds one poll: the value of each node (by label) at `time` (ms since the epoch). */
  add(time: number, values: Map<string, number>): void {
    const seconds = time / 1000;
    for (const label of values.keys()) if (!this.#values.has(label)) this.#values.set(label, this.#times.map(() => null));
    this.#times.push(seconds);
    for (const [label, series] of this.#values) series.push(values.get(label) ?? null);
    // Forget what is older than the window, and nodes with nothing left in it.
    const keepFrom = this.#times.findIndex((t) => t >= seconds - WINDOW_SECONDS);
    if (keepFrom > 0) {
      this.#times = this.#times.slice(keepFrom);
      for (const [label, series] of this.#values) this.#values.set(label, series.slice(keepFrom));
    }
    for (const [label, series] of this.#values) if (series.every((value) => value === null)) this.#values.delete(label);
    this.#draw();
  }

  #draw(): void {
    const labels = [...this.#values.keys()].sort();
    const data: uPlot.AlignedData = [this.#times, ...labels.map((label) => this.#values.get(label)!)];
    if (this.#plot !== undefined && labels.join('\n') === this.#labels) {
      this.#plot.setData(data);
      return;
    }
    // The set of nodes changed: a new chart with one series per node.
    this.#plot?.destroy();
    this.#labels = labels.join('\n');
    const width = Math.max(280, this.#container.clientWidth);
    this.#plot = new uPlot(
      {
        title: this.#title,
        width,
        height: 220,
        series: [{}, ...labels.map((label, index) => ({ label, stroke: COLOURS[index % COLOURS.length]!, width: 2, spanGaps: false }))],
        axes: [{}, { size: 50 }],
      },
      data,
      this.#container,
    );
  }
}
