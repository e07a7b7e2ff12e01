import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { createApp } from '../../../functions/api/src/app';

/** Where the SDK's wire types live, generated from the API's OpenAPI document (committed). */
export const sdkTypesFile = fileURLToPath(new URL('../../sdk/src/openapi.ts', import.meta.url));

const header = `// Generated from the API's OpenAPI document by \`npm run sdk:types\`; do not edit.
// npm test fails when this file and the API's route schemas disagree.
`;

/** The SDK's wire types as TypeScript source, from the OpenAPI document the api serves. */
export async function generateSdkTypes(): Promise<string> {
  const document = await (await createApp().request('/openapi.json')).json();
  return header + astToString(await openapiTS(document, { exportType: true }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(sdkTypesFile, await generateSdkTypes());
  console.log(`wrote ${sdkTypesFile}`);
}
