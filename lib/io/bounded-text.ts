// Error text that never grows with the input: a name, a shape or a value from a file is shown up to a fixed
// length and then counted ("… (12,345 more characters)"). Every message built from file contents goes through
// here, so a 100 MB key or a million-dimension shape makes a message of a few hundred characters.

/** The most characters of one quoted piece of input (a key, a string value) that a message shows. */
export const MAX_SHOWN_CHARS = 100;
/** The most items of one list (a shape, a tuple, a list of names) that a message shows. */
export const MAX_SHOWN_ITEMS = 8;

const count = (n: number): string => n.toLocaleString('en-US');

/** `text` if short, else its first `max` characters and how many more there were. */
export function clipText(text: string, max = MAX_SHOWN_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${count(text.length - max)} more characters)`;
}

/** `'name'`, clipped: a key or tensor name from a file, as messages quote it. */
export const quote = (name: string): string => `'${clipText(name)}'`;

/**
 * The first `max` items, each through `show`, joined by ', ', then how many more: `1, 2, 3, … (997 more)`.
 * Only the items shown are formatted, so the cost does not grow with the list either.
 */
export function formatItems<T>(items: ArrayLike<T>, show: (item: T) => string = String, max = MAX_SHOWN_ITEMS, separator = ', '): string {
  const shown: string[] = [];
  for (let i = 0; i < Math.min(items.length, max); i++) shown.push(show(items[i]));
  if (items.length > max) shown.push(`… (${count(items.length - max)} more)`);
  return shown.join(separator);
}

/**
 * A JSON value as messages show it: JSON.stringify's text for small values; long strings clipped, a few items of
 * an array or object, three levels deep: `[1,2,… (999,998 more)]`.
 */
export function showJson(value: unknown, depth = 0): string {
  if (typeof value === 'string') return JSON.stringify(clipText(value));
  if (Array.isArray(value)) return depth >= 3 ? '[…]' : `[${formatItems(value, (item) => showJson(item, depth + 1), MAX_SHOWN_ITEMS, ',')}]`;
  if (typeof value === 'object' && value !== null) {
    if (depth >= 3) return '{…}';
    const keys = Object.keys(value);
    const show = (key: string): string => `${JSON.stringify(clipText(key))}:${showJson((value as Record<string, unknown>)[key], depth + 1)}`;
    return `{${formatItems(keys, show, MAX_SHOWN_ITEMS, ',')}}`;
  }
  return value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value);
}
