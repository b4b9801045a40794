// HTML escaping for every string the report puts into the page: values, fault names and error
// texts come from the run and may hold anything, so none goes in raw.

const REPLACEMENTS: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside element content and inside quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => REPLACEMENTS[c]!);
}
