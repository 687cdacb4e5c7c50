/**
 * SPL diagnostics: every error carries the file, line and column of the offending text, and its
 * message shows the source line with a caret (`spl:3:17: expected ')' ...`).
 */

/** A source text with its line starts, to turn offsets into 1-based line:col. */
export class SourceText {
  readonly lineStarts: number[] = [0];
  constructor(
    readonly text: string,
    readonly file = "spl",
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  /** 1-based line and column of an offset. */
  lineCol(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? 0;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, "");
  }

  /** "1:5" for an offset. */
  where(offset: number): string {
    const { line, col } = this.lineCol(offset);
    return `${line}:${col}`;
  }

  error(offset: number, message: string): SplError {
    // An error at the end of the text (something missing) points just after its last token, not at a
    // line past the search (a YAML block or a file ends with a newline).
    const end = this.text.trimEnd().length;
    if (offset > end) offset = end;
    const { line, col } = this.lineCol(offset);
    return new SplError(this.file, line, col, message, this.lineText(line));
  }
}

/** An SPL syntax or run-time error at a place in the search text. */
export class SplError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    /** The message without location. */
    readonly reason: string,
    lineText = "",
  ) {
    // A long line is shown as a window around the column (a 40 KB one-line search stays readable).
    let shown = lineText;
    let caret = Math.max(0, col - 1);
    if (shown.length > 120) {
      const start = Math.max(0, caret - 60);
      shown = `${start > 0 ? "…" : ""}${shown.slice(start, start + 120)}${start + 120 < lineText.length ? "…" : ""}`;
      caret = caret - start + (start > 0 ? 1 : 0);
    }
    super(
      lineText === ""
        ? `${file}:${line}:${col}: ${reason}`
        : `${file}:${line}:${col}: ${reason}\n${shown}\n${" ".repeat(caret)}^`,
    );
    this.name = "SplError";
  }
}
