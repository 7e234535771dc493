/**
 * A one-line progress bar on stderr for large downloads and layer reads, drawn only on a TTY (never
 * in CI logs or when stderr is a file), throttled to ~10 redraws a second, erased when done.
 */
export interface ProgressUpdate {
  phase: string;
  done: number;
  total?: number;
  item?: string;
}

export interface Progress {
  update(e: ProgressUpdate): void;
  /** Erase the bar (call before printing anything else, and at the end). */
  done(): void;
}

const noop: Progress = { update: () => {}, done: () => {} };

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export function progressBar(out: NodeJS.WritableStream & { columns?: number }, enabled: boolean): Progress {
  if (!enabled) return noop;
  let last = 0;
  let drawn = false;
  return {
    update(e) {
      const now = Date.now();
      const finished = e.total !== undefined && e.done >= e.total;
      if (!finished && now - last < 100) return;
      last = now;
      const cols = Math.max(40, Math.min(out.columns ?? 80, 120));
      let line: string;
      if (e.total && e.total > 0) {
        const frac = Math.min(1, e.done / e.total);
        const width = Math.max(10, cols - 50);
        const fill = Math.round(frac * width);
        line = `${e.phase} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${mb(e.done)}/${mb(e.total)}`;
      } else {
        line = `${e.phase} ${mb(e.done)}`;
      }
      if (e.item && line.length + e.item.length + 1 < cols) line += ` ${e.item}`;
      out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
      drawn = true;
    },
    done() {
      if (drawn) out.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
