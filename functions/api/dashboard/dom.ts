// A few DOM helpers. Everything the API returns is set as text, never as HTML: message content is
// whatever an agent wrote.

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | undefined>;

/** An element with attributes (`on*` ones are listeners) and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A table with a caption and column headers; rows of cells (text or nodes). */
export function table(caption: string, headers: string[], rows: Child[][], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
    ),
  );
}

/** A time as the reader's locale shows it, machine-readable in `datetime`. */
export const time = (iso: string | null | undefined): Child =>
  iso ? h('time', { datetime: iso }, new Date(iso).toLocaleString()) : '—';

/** Content as one line of text, shortened. */
export const preview = (content: unknown, max = 120): string => {
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** A status word styled by its value (the word itself says it: colour is not the only cue). */
export const badge = (status: string): HTMLElement => h('span', { class: `badge ${status}` }, status);
