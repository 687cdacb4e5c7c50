/**
 * A progress line on stderr (bytes and records, rate, ETA), redrawn at most 5 times a second.
 * Only used when stderr is a TTY and the input is large; never in pipes or CI logs.
 */
export class ProgressBar {
  private bytes = 0;
  private lastDraw = 0;
  private readonly started = performance.now();
  private drawn = false;

  constructor(
    private readonly totalBytes: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  addBytes(n: number, records: number): void {
    this.bytes += n;
    const now = performance.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    this.draw(records, now);
  }

  private draw(records: number, now: number): void {
    const seconds = (now - this.started) / 1000;
    const frac = this.totalBytes > 0 ? Math.min(1, this.bytes / this.totalBytes) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const rate = seconds > 0 ? this.bytes / seconds : 0;
    const eta = rate > 0 ? (this.totalBytes - this.bytes) / rate : 0;
    const mb = (n: number) => (n / 1048576).toFixed(0);
    const line =
      `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ` +
      `${mb(this.bytes)}/${mb(this.totalBytes)} MB, ${records} records, ${(rate / 1048576).toFixed(1)} MB/s, ETA ${Math.ceil(eta)} s`;
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write("\r\x1b[K");
  }
}
