import type { Command } from 'commander';
import { createColors } from 'picocolors';
import type { Failure } from './errors';

/** Colours only on a terminal, and never when NO_COLOR is set. */
const colorsFor = (stream: NodeJS.WriteStream) =>
  createColors(stream.isTTY === true && !process.env.NO_COLOR);
export const colors = colorsFor(process.stdout);
const stderrColors = colorsFor(process.stderr);

/** Whether the command runs with --json (an option of the program, accepted after any command). */
export const wantsJson = (command: Command) => command.optsWithGlobals<{ json?: boolean }>().json === true;

export const line = (text = '') => process.stdout.write(`${text}\n`);

/** A command's result: as JSON (and nothing else) on stdout with --json, else as `human` prints it. */
export function emit<T>(command: Command, result: T, human: (result: T) => void) {
  if (wantsJson(command)) line(JSON.stringify(result, null, 2));
  else human(result);
}

/** A failure on stderr: one line, or a JSON object with --json. */
export function reportFailure(failure: Failure, json: boolean) {
  const { exitCode: _, ...error } = failure;
  const text = json
    ? JSON.stringify({ error })
    : `${stderrColors.red('error:')} ${failure.code}: ${failure.message}${
        failure.errors ? ` (${failure.errors.map((e) => `${e.path}: ${e.message}`).join('; ')})` : ''
      }`;
  process.stderr.write(`${text}\n`);
}

/** Content on one line: a string as it is, anything else as compact JSON. */
export const showContent = (content: unknown) =>
  typeof content === 'string' ? content : JSON.stringify(content);

type Cell = string | number | boolean | null | undefined;
const showCell = (cell: Cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell));

/** Rows under a header, each column as wide as its widest cell; `empty` when there are no rows. */
export function table(header: string[], rows: Cell[][], empty: string) {
  if (rows.length === 0) return line(colors.dim(empty));
  const cells = rows.map((row) => row.map(showCell));
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => row[i]?.length ?? 0)));
  // Padded before colouring, so escape codes do not count as width; the last column is not padded.
  const format = (row: string[]) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  line(colors.bold(format(header)));
  for (const row of cells) line(format(row));
}

/** Labelled values, one a line, the labels aligned. */
export function fields(entries: [label: string, value: Cell][]) {
  const width = Math.max(...entries.map(([label]) => label.length));
  for (const [label, value] of entries) line(`${colors.dim(label.padEnd(width))}  ${showCell(value)}`);
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A progress line on stderr while waiting; only on a terminal, so pipes and logs never see it. */
export function spinner(text: string) {
  if (!process.stderr.isTTY) return { clear: () => {}, stop: () => {} };
  let frame = 0;
  const draw = () =>
    process.stderr.write(`\r${stderrColors.cyan(FRAMES[frame++ % FRAMES.length] ?? '')} ${text}\x1b[K`);
  const clear = () => process.stderr.write('\r\x1b[K');
  const timer = setInterval(draw, 80);
  draw();
  return {
    /** Erases the line, to print something; it is drawn again at the next frame. */
    clear,
    stop: () => {
      clearInterval(timer);
      clear();
    },
  };
}

/** Awaits `task` with a spinner saying what it waits for. */
export async function waitingFor<T>(text: string, task: Promise<T>): Promise<T> {
  const progress = spinner(text);
  try {
    return await task;
  } finally {
    progress.stop();
  }
}
