/** CSV as RFC 4180 (what Splunk exports): quote when needed, double inner quotes, CRLF-free values kept. */

export function csvCell(value: string | string[] | undefined): string {
  // Splunk's CSV export joins multivalue fields with a newline inside one quoted cell.
  const text = value === undefined ? "" : Array.isArray(value) ? value.join("\n") : value;
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: (string | string[] | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\n`;
}
