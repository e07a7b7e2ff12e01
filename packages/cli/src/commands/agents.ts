import type { Agent, AgentCredentials } from '@agent-messaging/sdk';
import type { Command } from 'commander';
import { wholeNumber } from '../args';
import { connect } from '../config';
import { colors, emit, fields, line, table } from '../output';

function printAgent(agent: Agent) {
  fields([
    ['id', agent.id],
    ['name', agent.name],
    ['external id', agent.externalId],
    ['status', agent.status],
    ['endpoint', agent.endpointUrl && `${agent.endpointUrl}${agent.endpointDisabled ? ' (disabled)' : ''}`],
    ['description', agent.description],
    ['metadata', JSON.stringify(agent.metadata)],
    ['created', agent.createdAt],
  ]);
}

function printCredentials({ agent, token, signingSecret }: AgentCredentials) {
  printAgent(agent);
  line();
  line(colors.dim('Shown only this once:'));
  fields([
    ['token', token],
    ['signing secret', signingSecret],
  ]);
}

export function registerAgents(program: Command) {
  const agents = program
    .command('agents')
    .description('agents (organization key; an agent token may list the directory)');

  agents
    .command('create')
    .description('create an agent; its token and signing secret are shown only this once')
    .argument('<name>')
    .option('--external-id <id>', 'your own unique id for it, to address it as ext:<id>')
    .option('--endpoint <url>', 'where its messages are pushed (signed HTTP POST)')
    .option('--description <text>')
    .action(
      async (
        name: string,
        options: { externalId?: string; endpoint?: string; description?: string },
        command: Command,
      ) => {
        const client = await connect();
        const { endpoint, ...rest } = options;
        const created = await client.agents.create({
          name,
          ...rest,
          ...(endpoint && { endpointUrl: endpoint }),
        });
        emit(command, created, printCredentials);
      },
    );

  agents
    .command('list')
    .description('the organization’s agents, one page')
    .option('--search <text>', 'in names and descriptions')
    .option('--external-id <id>')
    .option('--limit <n>', 'page size', wholeNumber)
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(
      async (
        options: { search?: string; externalId?: string; limit?: number; cursor?: string },
        command: Command,
      ) => {
        const client = await connect();
        const { search, ...query } = options;
        const page = await client.agents.list({ ...query, ...(search && { q: search }) });
        emit(command, page, ({ agents, nextCursor }) => {
          table(
            ['ID', 'NAME', 'EXTERNAL ID', 'STATUS', 'ENDPOINT'],
            agents.map((agent) => [agent.id, agent.name, agent.externalId, agent.status, agent.endpointUrl]),
            'No agents.',
          );
          if (nextCursor) line(colors.dim(`More: --cursor ${nextCursor}`));
        });
      },
    );

  agents
    .command('get')
    .description('one agent')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      emit(command, await client.agents.get(id), printAgent);
    });

  agents
    .command('rotate')
    .description('a new token and signing secret; the old token stops working at once')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      emit(command, await client.agents.rotate(id), printCredentials);
    });

  agents
    .command('deactivate')
    .description('revoke its tokens and take it out of its meetings; its history is kept')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const client = await connect();
      emit(command, await client.agents.deactivate(id), (agent) =>
        line(`Deactivated agent ${agent.name} (${agent.id}).`),
      );
    });
}
