import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { prepareApiAssets } from './api-assets';
import { migrate } from './migrate';

/** `npm run deploy -- --stage NAME`: the stage is required, so nothing deploys to a default by accident. */
export function parseDeployArgs(argv: string[]): { stage: string } {
  const index = argv.findIndex((arg) => arg === '--stage' || arg.startsWith('--stage='));
  const value =
    index === -1 ? undefined : argv[index]?.includes('=') ? argv[index]?.split('=')[1] : argv[index + 1];
  if (!value || value.startsWith('-') || !/^[a-z0-9-]+$/i.test(value)) {
    throw new Error('Usage: npm run deploy -- --stage NAME (letters, digits and dashes)');
  }
  return { stage: value };
}

async function main() {
  let stage: string;
  try {
    ({ stage } = parseDeployArgs(process.argv.slice(2)));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('Set DATABASE_URL to the Neon connection string of this stage: migrations run first.');
    process.exit(1);
  }
  console.log(`Applying migrations to the ${stage} database...`);
  await migrate(databaseUrl);
  prepareApiAssets();
  console.log(`Deploying stage ${stage} with SST...`);
  const result = spawnSync('npx', ['sst', 'deploy', '--stage', stage], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
