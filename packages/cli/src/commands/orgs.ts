import type { Command } from 'commander';
import { connect } from '../config';
import { colors, emit, line } from '../output';

export function registerOrgs(program: Command) {
  const orgs = program.command('orgs').description('organizations (admin token)');

  orgs
    .command('create')
    .description('create an organization; its key is shown only this once')
    .argument('<name>')
    .option('--external-id <id>', 'your own unique id for it')
    .action(async (name: string, options: { externalId?: string }, command: Command) => {
      const client = await connect();
      const created = await client.organizations.create({ name, ...options });
      emit(command, created, ({ organization, apiKey }) => {
        line(`Created organization ${organization.name} (${organization.id}).`);
        line(`Organization key ${colors.dim('(shown only this once)')}: ${apiKey}`);
      });
    });
}
