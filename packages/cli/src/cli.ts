import { Command } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { registerAgents } from './commands/agents';
import { registerConversations } from './commands/conversations';
import { registerLogin } from './commands/login';
import { registerMeetings } from './commands/meetings';
import { registerMessages } from './commands/messages';
import { registerOrgs } from './commands/orgs';
import { failureOf } from './errors';
import { reportFailure } from './output';

// Set before the commands are added, so that every command inherits them.
const program = new Command('agent-messaging')
  .description('The Agent Messaging API from the command line.')
  .version(packageJson.version)
  .option('--json', 'machine-readable JSON on stdout; errors as a JSON object on stderr')
  .configureHelp({ showGlobalOptions: true })
  // Commander throws instead of exiting, and prints nothing itself: failures are reported below.
  .exitOverride()
  .configureOutput({ outputError: () => {} });

registerLogin(program);
registerOrgs(program);
registerAgents(program);
registerConversations(program);
registerMessages(program);
registerMeetings(program);

try {
  await program.parseAsync();
} catch (error) {
  const failure = failureOf(error);
  // Help and --version threw only to stop; help shown for a missing command needs no error line.
  if (failure.message !== '(outputHelp)' && failure.exitCode !== 0) {
    reportFailure(failure, program.opts().json === true);
  }
  process.exitCode = failure.exitCode;
}
