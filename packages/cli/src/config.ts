import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AgentMessaging } from '@agent-messaging/sdk';
import { CliError } from './errors';

/** What `login` stores: where the API is and the token to call it with. */
export interface Credentials {
  url: string;
  token: string;
}

/** AGENT_MESSAGING_CONFIG, else config.json in the XDG config folder (~/.config by default). */
export const configPath = () =>
  process.env.AGENT_MESSAGING_CONFIG ||
  join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'agent-messaging', 'config.json');

async function readConfig(path: string): Promise<Partial<Credentials>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    return JSON.parse(text) as Partial<Credentials>;
  } catch {
    throw new CliError('bad_config', `${path} is not JSON: log in again.`);
  }
}

/** Stores the credentials readable by the user only; a new file replaces the old whole. */
export async function writeConfig(credentials: Credentials): Promise<string> {
  const path = configPath();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const draft = `${path}.${process.pid}.tmp`;
  await writeFile(draft, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // The mode given above is masked by the umask; the token must not be readable by others.
  await chmod(draft, 0o600);
  await rename(draft, path);
  return path;
}

/** AGENT_MESSAGING_URL and AGENT_MESSAGING_TOKEN, each over what `login` stored. */
export async function loadCredentials(): Promise<Credentials> {
  const fromEnv = { url: process.env.AGENT_MESSAGING_URL, token: process.env.AGENT_MESSAGING_TOKEN };
  const stored = fromEnv.url && fromEnv.token ? {} : await readConfig(configPath());
  const url = fromEnv.url || stored.url;
  const token = fromEnv.token || stored.token;
  if (!url || !token) {
    throw new CliError(
      'not_logged_in',
      'No API URL or token: run `agent-messaging login --url <url> --token <token>`, or set AGENT_MESSAGING_URL and AGENT_MESSAGING_TOKEN.',
    );
  }
  return { url, token };
}

export const clientFor = (credentials: Credentials) =>
  new AgentMessaging({ baseUrl: credentials.url, token: credentials.token });

/** The client for the current credentials. */
export const connect = async () => clientFor(await loadCredentials());
