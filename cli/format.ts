/** Number and duration formats shared by the live view and the summary. */

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "850 ms", "4.2 s", "3 min 05 s", "1 h 45 min". */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1_000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * Columns padded to the widest cell (at least `minWidths`, so a redrawn view does not jitter);
 * the first column left-aligned, the others right-aligned.
 */
export function table(rows: readonly (readonly string[])[], minWidths: readonly number[] = []): string[] {
  const widths: number[] = [...minWidths];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
