// How the live table reaches the screen: redrawn in place on a terminal, appended (only when it
// changed) when the output is a file or a pipe, so logs of `npm run demo -- --exit` stay readable.

export class LiveTable {
  private readonly write: (text: string) => void;
  private readonly redraw: boolean;
  private shownLines = 0;
  private lastText = '';

  constructor(write: (text: string) => void, redraw: boolean) {
    this.write = write;
    this.redraw = redraw;
  }

  show(heading: string, lines: readonly string[]): void {
    const text = lines.join('\n');
    if (this.redraw) {
      // Cursor up over the previous table, clear to the end of the screen, draw again.
      const clear = this.shownLines > 0 ? `\u001b[${this.shownLines}A\u001b[J` : '';
      this.write(`${clear}${heading}\n${text}\n`);
      this.shownLines = lines.length + 1;
    } else if (text !== this.lastText) {
      this.write(`${heading}\n${text}\n`);
    }
    this.lastText = text;
  }

  /** Whatever is written next goes below the table instead of being overwritten by it. */
  release(): void {
    this.shownLines = 0;
  }
}
