import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AgentMessaging } from '@agent-messaging/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// The real `agent-messaging` binary, run as a child process against a real stack: the bundle that
// the packed package ships (built here as `npm pack` builds it), with its config in a temporary folder.

const root = fileURLToPath(new URL('../..', import.meta.url));
const bundle = join(root, 'packages/cli/dist/agent-messaging.js');
const run = promisify(execFile);

let stack: TestStack;
let orgKey: string;
let home: string;
let configFile: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'CLI Inc')).apiKey;
  home = await mkdtemp(join(tmpdir(), 'am-cli-'));
  configFile = join(home, 'config.json');
  await run('npm', ['run', 'build', '--workspace', 'packages/cli'], { cwd: root });
});
afterAll(async () => {
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

type Env = Record<string, string | undefined>;

/** The tests' environment without credentials, with this file's config file; `undefined` unsets. */
function environment(extra: Env) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AGENT_MESSAGING_')),
  );
  return { ...env, AGENT_MESSAGING_CONFIG: configFile, ...extra };
}

/** Credentials given in the environment, as a script would. */
const as = (token: string) => ({ AGENT_MESSAGING_URL: stack.apiUrl, AGENT_MESSAGING_TOKEN: token });

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  finished: Promise<Finished>;
}

function start(args: string[], env: Env = {}): Running {
  const child = spawn(process.execPath, [bundle, ...args], {
    env: environment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, stdout: () => stdout, finished };
}

const cli = (args: string[], env: Env = {}) => start(args, env).finished;

/** Runs with --json, expects success, and parses stdout (which must hold that JSON and nothing else). */
async function cliJson(args: string[], env: Env = {}): Promise<any> {
  const { code, stdout, stderr } = await cli([...args, '--json'], env);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

/** Runs, expects success, and returns what it printed for people (no colours outside a terminal). */
async function cliText(args: string[], env: Env = {}) {
  const { code, stdout, stderr } = await cli(args, env);
  expect(code, stderr).toBe(0);
  expect(stdout).not.toContain('\x1b[');
  return stdout;
}

const client = (token: string) => new AgentMessaging({ baseUrl: stack.apiUrl, token });

describe('usage', () => {
  it('prints usage for --help on a subcommand, and exits 2 on a usage error', async () => {
    const help = await cli(['agents', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: agent-messaging agents create [options] <name>');
    expect(help.stdout).toContain('--json');
    expect((await cli(['meetings', 'tail', '--help'])).stdout).toContain(
      'Usage: agent-messaging meetings tail',
    );

    for (const args of [
      ['nope'],
      ['agents'],
      ['agents', 'create'],
      ['inbox', '--bogus'],
      ['inbox', '--wait', 'soon'],
      ['send', 'agt_only'],
    ]) {
      const failed = await cli(args);
      expect(failed.code, args.join(' ')).toBe(2);
      expect(failed.stdout).toBe('');
    }
    expect((await cli(['nope'])).stderr).toBe("error: usage: unknown command 'nope'\n");
    const json = await cli(['agents', 'get', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'usage', message: "missing required argument 'id'" },
    });
  });

  it('runs in the repository through npx, from the TypeScript source', async () => {
    const { stdout } = await run('npx', ['agent-messaging', 'whoami', '--json'], {
      cwd: root,
      env: environment(as(ADMIN_TOKEN)),
    });
    expect(JSON.parse(stdout)).toEqual({ url: stack.apiUrl, kind: 'admin' });
  });
});

describe('credentials', () => {
  it('login checks the token and stores it in a 0600 file that whoami then uses', async () => {
    const login = await cli(['login', '--url', stack.apiUrl, '--token', ADMIN_TOKEN]);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`Logged in to ${stack.apiUrl} as the admin token.`);
    expect(login.stdout + login.stderr).not.toContain(ADMIN_TOKEN);
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ url: stack.apiUrl, token: ADMIN_TOKEN });
    expect(await cliText(['whoami'])).toBe(`the admin token at ${stack.apiUrl}\n`);

    const asOrg = await cliJson(['login', '--url', stack.apiUrl, '--token', orgKey]);
    expect(asOrg).toMatchObject({ url: stack.apiUrl, config: configFile, kind: 'organization' });
    expect(JSON.stringify(asOrg)).not.toContain(orgKey);
    expect(await cliJson(['whoami'])).toMatchObject({
      kind: 'organization',
      organization: { name: 'CLI Inc' },
    });

    // A token the API refuses is not stored.
    const refused = await cli(['login', '--url', stack.apiUrl, '--token', 'am_org_nope']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: unauthorized: /);
    expect(JSON.parse(await readFile(configFile, 'utf8')).token).toBe(orgKey);
  });

  it('keeps the config in $XDG_CONFIG_HOME by default', async () => {
    const xdg = join(home, 'xdg');
    await cliJson(['login', '--url', stack.apiUrl, '--token', orgKey], {
      AGENT_MESSAGING_CONFIG: undefined,
      XDG_CONFIG_HOME: xdg,
    });
    const stored = join(xdg, 'agent-messaging', 'config.json');
    expect((await stat(stored)).mode & 0o777).toBe(0o600);
  });

  it('takes the URL and token from the environment over the config file', async () => {
    await cliJson(['login', '--url', stack.apiUrl, '--token', orgKey]);
    const agent = await createAgent(stack, orgKey, { name: 'env-agent' });
    expect(await cliJson(['whoami'], { AGENT_MESSAGING_TOKEN: agent.token })).toMatchObject({
      kind: 'agent',
      agent: { id: agent.id, name: 'env-agent' },
    });
    const elsewhere = await cli(['whoami'], { AGENT_MESSAGING_URL: 'http://127.0.0.1:9' });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^error: network_error: /);

    const nowhere = await cli(['whoami'], { AGENT_MESSAGING_CONFIG: join(home, 'absent.json') });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^error: not_logged_in: /);
  });
});

describe('organizations and agents', () => {
  it('orgs create with the admin token shows the key once', async () => {
    const created = await cliJson(
      ['orgs', 'create', 'Made by CLI', '--external-id', 'cli-org'],
      as(ADMIN_TOKEN),
    );
    expect(created.organization).toMatchObject({ name: 'Made by CLI', externalId: 'cli-org' });
    expect(created.apiKey).toMatch(/^am_org_/);
    const again = await cli(['orgs', 'create', 'Again', '--external-id', 'cli-org'], as(ADMIN_TOKEN));
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^error: external_id_taken: /);
    expect(await cliText(['orgs', 'create', 'Another'], as(ADMIN_TOKEN))).toContain('(shown only this once)');
  });

  it('agents create, list, get, rotate and deactivate', async () => {
    const org = as(orgKey);
    const created = await cliJson(
      ['agents', 'create', 'billing-bot', '--external-id', 'billing', '--description', 'pays'],
      org,
    );
    expect(created.agent).toMatchObject({ name: 'billing-bot', externalId: 'billing', status: 'active' });
    expect(created.token).toMatch(/^am_agt_/);
    expect(created.signingSecret).toMatch(/^whsec_/);
    const id: string = created.agent.id;

    const listed = await cliText(['agents', 'list'], org);
    expect(listed).toMatch(/^ID +NAME +EXTERNAL ID +STATUS +ENDPOINT\n/);
    expect(listed).toMatch(new RegExp(`${id} +billing-bot +billing +active +-`));
    expect((await cliJson(['agents', 'list', '--external-id', 'billing'], org)).agents).toEqual([
      created.agent,
    ]);
    expect(await cliText(['agents', 'get', id], org)).toMatch(/external id +billing\n/);
    expect(await cliJson(['agents', 'get', id], org)).toEqual(created.agent);

    const rotated = await cliJson(['agents', 'rotate', id], org);
    expect(rotated.token).not.toBe(created.token);
    expect((await cli(['whoami'], as(created.token))).stderr).toMatch(/^error: unauthorized: /);
    expect(await cliJson(['whoami'], as(rotated.token))).toMatchObject({ kind: 'agent', agent: { id } });

    expect(await cliText(['agents', 'deactivate', id], org)).toBe(`Deactivated agent billing-bot (${id}).\n`);
    expect((await cliJson(['agents', 'get', id], org)).status).toBe('deactivated');

    const missing = await cli(['agents', 'get', 'agt_01jd6s5v1xe8rb8xgsnq8mq2gx'], org);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^error: agent_not_found: /);
  });
});

describe('messages and conversations', () => {
  it('send (one, by external id, and fanned out) then inbox --ack: shown, then gone', async () => {
    const alice = await createAgent(stack, orgKey, { name: 'alice' });
    const bob = await createAgent(stack, orgKey, { name: 'bob', externalId: 'bob' });
    const carol = await createAgent(stack, orgKey, { name: 'carol' });

    expect(await cliText(['send', 'ext:bob', '{"text":"hi"}'], as(alice.token))).toMatch(
      new RegExp(`^Sent msg_\\w+ to ${bob.id} \\(queued\\)\\.\n$`),
    );
    const commaSeparated = await cliJson(['send', `${bob.id},${carol.id}`, 'hello'], as(alice.token));
    expect(commaSeparated.messages.map((m: any) => [m.to, m.content])).toEqual([
      [bob.id, 'hello'],
      [carol.id, 'hello'],
    ]);
    const repeated = await cliJson(['send', bob.id, carol.id, '42'], as(alice.token));
    expect(repeated.messages).toHaveLength(2);

    const shown = await cliText(['inbox'], as(bob.token));
    expect(shown).toMatch(/^ID +FROM +TO +SESSION +SENT +CONTENT\n/);
    expect(shown).toContain('{"text":"hi"}');
    const read = await cliJson(['inbox', '--ack'], as(bob.token));
    expect(read.messages.map((m: any) => m.content)).toEqual([{ text: 'hi' }, 'hello', 42]);
    expect((await cliJson(['inbox'], as(bob.token))).messages).toEqual([]);
    expect(await cliText(['inbox', '--wait', '200'], as(bob.token))).toBe('No unacknowledged messages.\n');
    expect((await cliJson(['inbox', '--from', alice.id], as(carol.token))).messages).toHaveLength(2);

    const nobody = await cli(['send', 'ext:nobody', 'hi'], as(alice.token));
    expect(nobody.code).toBe(4);
    expect(nobody.stderr).toMatch(/^error: agent_not_found: .*ext:nobody/);
  });

  it('ask waits for the reply another agent sends, and reply answers a request', async () => {
    const asker = await createAgent(stack, orgKey, { name: 'asker' });
    const expert = await createAgent(stack, orgKey, { name: 'expert' });

    const asking = start(['ask', expert.id, '{"q":"2+2"}', '--timeout', '20000'], as(asker.token));
    const expertClient = client(expert.token);
    const [request] = await eventually(async () => {
      const messages = await expertClient.inbox.read();
      return messages.length > 0 && messages;
    });
    expect(request).toMatchObject({ from: asker.id, content: { q: '2+2' } });
    await expertClient.sync.reply(request?.sessionId as string, { a: 4 });
    const asked = await asking.finished;
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout).toBe(`Reply from ${expert.id} in ${request?.sessionId}:\n{"a":4}\n`);

    // The other way round: the SDK asks, the CLI finds the request in the inbox and replies.
    const pending = client(asker.token).sync.sendAndWait(expert.id, 'ready?', { timeoutMs: 20_000 });
    const inbox = await eventually(async () => {
      const { messages } = await cliJson(['inbox'], as(expert.token));
      return messages.find((m: any) => m.content === 'ready?');
    });
    const replied = await cliJson(['reply', inbox.sessionId, 'yes'], as(expert.token));
    expect(replied).toMatchObject({ late: false, message: { content: 'yes' } });
    expect((await pending).reply.content).toBe('yes');
  });

  it('ask exits 6 when no reply comes in time', async () => {
    const asker = await createAgent(stack, orgKey, { name: 'impatient' });
    const silent = await createAgent(stack, orgKey, { name: 'silent' });
    const timedOut = await cli(['ask', silent.id, 'anyone?', '--timeout', '300'], as(asker.token));
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toMatch(/^error: timeout: /);
    const json = await cli(['ask', silent.id, 'anyone?', '--timeout', '300', '--json'], as(asker.token));
    expect(json.code).toBe(6);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'timeout', status: 504 });
  });
});

describe('meetings', () => {
  it('create, attend, start, speak, status and end', async () => {
    const host = await createAgent(stack, orgKey, { name: 'host' });
    const guest = await createAgent(stack, orgKey, { name: 'guest', externalId: 'guest' });

    const { meeting } = await cliJson(
      ['meetings', 'create', 'Standup', '--participants', 'ext:guest', '--turn-ms', '60000'],
      as(host.token),
    );
    expect(meeting).toMatchObject({ title: 'Standup', status: 'created', hostId: host.id });
    expect(await cliText(['meetings', 'attend', meeting.id], as(guest.token))).toBe(
      `Meeting ${meeting.id} is ready.\n`,
    );
    expect(await cliText(['meetings', 'start', meeting.id, 'Welcome'], as(host.token))).toMatch(
      new RegExp(`^Meeting ${meeting.id} is active, turn 1: ${guest.id} speaks until `),
    );
    const spoken = await cliJson(['meetings', 'speak', meeting.id, '{"done":true}'], as(guest.token));
    expect(spoken.message.content).toEqual({ done: true });

    const notYourTurn = await cli(['meetings', 'speak', meeting.id, 'again'], as(guest.token));
    expect(notYourTurn.code).toBe(5);
    expect(notYourTurn.stderr).toMatch(/^error: not_your_turn: /);

    const status = await cliText(['meetings', 'status', meeting.id], as(guest.token));
    expect(status).toMatch(/status +active\n/);
    expect(status).toMatch(new RegExp(`speaker +${host.id}\n`));
    expect(status).toMatch(new RegExp(`PARTICIPANT +STATUS +JOIN ORDER\n${host.id} +speaking +0\n`));
    expect((await cliJson(['meetings', 'status', meeting.id], as(host.token))).meeting.turnNumber).toBe(2);

    expect(await cliText(['meetings', 'end', meeting.id], as(host.token))).toBe(
      `Meeting ${meeting.id} is ended.\n`,
    );
    const missing = await cli(['meetings', 'status', 'mtg_01jd6s5v1xe8rb8xgsnq8mq2gx'], as(host.token));
    expect(missing.code).toBe(4);
  });

  /** A meeting the host created and the guest attends; not started. */
  async function readyMeeting() {
    const host = await createAgent(stack, orgKey, { name: 'host' });
    const guest = await createAgent(stack, orgKey, { name: 'guest' });
    const hostClient = client(host.token);
    const guestClient = client(guest.token);
    const meeting = await hostClient.meetings.create({
      title: 'Live',
      participantIds: [guest.id],
      turnDurationMs: 60_000,
    });
    await guestClient.meetings.attend(meeting.id);
    return { id: meeting.id, guest, hostClient, guestClient };
  }

  const printed = (running: Running, text: string) =>
    eventually(async () => running.stdout().includes(text), 15_000);

  it('tail prints the events as they happen and stops on Ctrl-C with exit 0', async () => {
    const { id, guest, hostClient, guestClient } = await readyMeeting();
    const tail = start(['meetings', 'tail', id], as(guest.token));
    await printed(tail, 'participant_joined');
    expect(tail.stdout()).toMatch(/^ {3}1 {2}\S+ {2}meeting_created {6}title=Live hostId=agt_\w+\n/);

    await hostClient.meetings.start(id);
    await printed(tail, 'turn_started');
    await guestClient.meetings.speak(id, 'live');
    await printed(tail, 'message_posted');
    expect(tail.stdout()).toContain(`speakerId=${guest.id}`);

    tail.child.kill('SIGINT');
    const stopped = await tail.finished;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toBe('');
  });

  it('tail --json prints one event a line and ends by itself when the meeting ends', async () => {
    const { id, guest, hostClient } = await readyMeeting();
    const tail = start(['meetings', 'tail', id, '--json'], as(guest.token));
    await printed(tail, 'participant_joined');
    await hostClient.meetings.start(id);
    await hostClient.meetings.end(id);
    const ended = await tail.finished;
    expect(ended.code, ended.stderr).toBe(0);
    const events = ended.stdout
      .trimEnd()
      .split('\n')
      .map((text) => JSON.parse(text));
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)).toMatchObject({ type: 'meeting_ended', data: { reason: 'host' } });
  });
});

describe('deliveries', () => {
  it('messages get, dead-letters and messages redeliver', async () => {
    const endpoint = await startEndpoint(() => new Response('down', { status: 500 }));
    try {
      const sender = await createAgent(stack, orgKey, { name: 'sender' });
      const broken = await createAgent(stack, orgKey, { name: 'broken', endpointUrl: endpoint.url });
      const { message } = await cliJson(['send', broken.id, 'never arrives'], as(sender.token));
      const org = client(orgKey);
      await eventually(async () => {
        await stack.sweep();
        return (await org.messages.get(message.id)).message.status === 'dead';
      });

      const read = await cliText(['messages', 'get', message.id], as(orgKey));
      expect(read).toMatch(/status +dead\n/);
      expect(read).toMatch(/ATTEMPT +AT +MS +STATUS +ERROR\n1 +\S+ +\d+ +500 /);
      expect((await cliJson(['messages', 'get', message.id], as(sender.token))).attempts).toHaveLength(4);

      const dead = await cliText(['dead-letters'], as(orgKey));
      expect(dead).toMatch(
        new RegExp(`^${message.id} +${sender.id} +${broken.id} +- +\\S+ +never arrives$`, 'm'),
      );
      expect((await cliJson(['dead-letters', '--agent', broken.id], as(orgKey))).messages).toEqual([
        expect.objectContaining({ id: message.id, status: 'dead' }),
      ]);

      expect(await cliText(['messages', 'redeliver', message.id], as(orgKey))).toBe(
        `Redelivering ${message.id} (queued).\n`,
      );
      const notDead = await cli(['messages', 'redeliver', message.id], as(orgKey));
      expect(notDead.code).toBe(5);
      expect(notDead.stderr).toMatch(/^error: not_dead: /);
      expect((await cliJson(['dead-letters'], as(orgKey))).messages).toEqual([]);

      const missing = await cli(['messages', 'get', 'msg_01jd6s5v1xe8rb8xgsnq8mq2gx', '--json'], as(orgKey));
      expect(missing.code).toBe(4);
      expect(JSON.parse(missing.stderr).error).toMatchObject({ code: 'message_not_found', status: 404 });
    } finally {
      await endpoint.close();
    }
  });
});

describe('the packed package', () => {
  it('installs from its tarball without the network and runs its bin', async () => {
    const packDir = await mkdtemp(join(tmpdir(), 'am-cli-pack-'));
    try {
      // npm's own variables from a run under `npm test` would point the nested npm at this workspace.
      const env = Object.fromEntries(
        Object.entries(environment({})).filter(([name]) => !/^npm_/i.test(name)),
      );
      const packed = await run(
        'npm',
        ['pack', '--workspace', 'packages/cli', '--pack-destination', packDir, '--json'],
        {
          cwd: root,
          env,
        },
      );
      const [tarball] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
      expect(tarball?.files.map((file) => file.path).sort()).toEqual([
        'README.md',
        'bin/agent-messaging.js',
        'dist/agent-messaging.js',
        'package.json',
      ]);

      const project = join(packDir, 'project');
      await mkdir(project);
      await writeFile(join(project, 'package.json'), '{ "name": "uses-the-cli", "private": true }\n');
      await run(
        'npm',
        ['install', '--offline', '--no-audit', '--no-fund', join(packDir, tarball?.filename ?? '')],
        {
          cwd: project,
          env,
        },
      );
      const installed = JSON.parse(
        await readFile(join(project, 'node_modules/@agent-messaging/cli/package.json'), 'utf8'),
      );
      expect(installed.dependencies).toBeUndefined();

      const bin = join(project, 'node_modules/.bin/agent-messaging');
      const help = await run(bin, ['--help'], { cwd: project, env });
      expect(help.stdout).toContain('Usage: agent-messaging [options] [command]');
      const who = await run(bin, ['whoami', '--json'], { cwd: project, env: { ...env, ...as(orgKey) } });
      expect(JSON.parse(who.stdout)).toMatchObject({ kind: 'organization' });
    } finally {
      await rm(packDir, { recursive: true, force: true });
    }
  }, 120_000);
});
