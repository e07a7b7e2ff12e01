import { InvalidArgumentError } from 'commander';

/** A message's content: JSON if it parses (an object, a number, a quoted string...), else the text itself. */
export function parseContent(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Agent refs (ids or `ext:<externalId>`) from arguments that may each hold several, comma-separated. */
export const agentRefs = (values: string[]) =>
  values.flatMap((value) => value.split(',').map((ref) => ref.trim())).filter((ref) => ref !== '');

/** Parses a repeatable option of agent refs: `--participants a,b --participants c`. */
export const collectAgentRefs = (value: string, previous: string[] = []) => [
  ...previous,
  ...agentRefs([value]),
];

/** Parses an option that is a whole number (milliseconds, counts). */
export function wholeNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(number) || number < 0) {
    throw new InvalidArgumentError('expected a whole number.');
  }
  return number;
}
