// Which rows of a long list to draw: only those in the scrolled viewport (plus a margin), every row the same
// height, the rest stood in for by two empty spacers of the right height. The live log holds up to 1000 rows and
// takes up to 100 new ones twenty times a second; drawing all of them made each update cost a layout of the whole
// table, where drawing the visible few costs a handful of rows.

/** Height of one log row in CSS pixels; the row styles pin it (see LiveLog's --row-height). */
export const ROW_HEIGHT = 24;
/** Rows drawn beyond each edge of the viewport, so a scroll of a few rows shows drawn rows at once. */
export const OVERSCAN = 10;

/** Rows `start` (inclusive) to `end` (exclusive) are drawn; `before` and `after` are the spacers' heights in px. */
export type RowWindow = { start: number; end: number; before: number; after: number };

/**
 * The rows of `total` to draw in a viewport `viewport` px high scrolled to `scrollTop`. Before the viewport's
 * height is known (0) it draws the overscan's worth, so the log never starts blank.
 */
export function rowWindow(total: number, scrollTop: number, viewport: number, overscan = OVERSCAN): RowWindow {
  const firstSeen = Math.floor(Math.max(0, scrollTop) / ROW_HEIGHT);
  const seen = Math.ceil(Math.max(viewport, 0) / ROW_HEIGHT) + 1;
  const start = Math.min(total, Math.max(0, firstSeen - overscan));
  const end = Math.min(total, firstSeen + seen + overscan);
  return { start, end, before: start * ROW_HEIGHT, after: (total - end) * ROW_HEIGHT };
}
