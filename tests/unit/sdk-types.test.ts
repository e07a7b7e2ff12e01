import { readFile } from 'node:fs/promises';
import { generateSdkTypes, sdkTypesFile } from '@agent-messaging/local/src/sdk-types';
import { expect, it } from 'vitest';

// The SDK's wire types are generated from the OpenAPI document that the api's route schemas make:
// a route schema that changes without `npm run sdk:types` fails here.
it("the SDK's wire types are those of the API's OpenAPI document", async () => {
  expect(await readFile(sdkTypesFile, 'utf8')).toBe(await generateSdkTypes());
});
