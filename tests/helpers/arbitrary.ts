import fc from 'fast-check';

// fast-check arbitraries from the JSON Schemas of an OpenAPI 3.1 document: values that follow the
// schema (with real ids mixed in where a pattern asks for an id), and values that break it.

type Schema = Record<string, any>;

export interface Pools {
  /** Real ids by prefix (agt, msg, ses, mtg, org; ext for `ext:` refs): the caller's and another's. */
  ids: Record<string, string[]>;
}

const anyJson = fc.jsonValue({ maxDepth: 2 });

export class Arbitraries {
  constructor(
    private readonly document: Schema,
    private readonly pools: Pools,
  ) {}

  private resolve(schema: Schema): Schema {
    if (!schema.$ref) return schema;
    const name = String(schema.$ref).split('/').at(-1) as string;
    return this.resolve(this.document.components.schemas[name]);
  }

  /** A value that follows `schema` (as far as fast-check can tell). */
  valid(raw: Schema, depth = 0): fc.Arbitrary<unknown> {
    const schema = this.resolve(raw);
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants) return fc.oneof(...variants.map((variant: Schema) => this.valid(variant, depth + 1)));
    if (schema.allOf)
      return this.valid(Object.assign({}, ...schema.allOf.map((s: Schema) => this.resolve(s))), depth);
    const type = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (type.includes('null') && type.length > 1) {
      return fc.oneof(
        fc.constant(null),
        this.valid({ ...schema, type: type.filter((t: string) => t !== 'null') }, depth),
      );
    }
    switch (type[0]) {
      case 'string':
        return this.string(schema);
      case 'integer':
        return fc.integer({
          min: schema.minimum ?? -1_000,
          max: Math.min(schema.maximum ?? 1_000_000, 2_147_483_647),
        });
      case 'number':
        return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(this.valid(schema.items ?? {}, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        });
      case 'object':
        return this.object(schema, depth);
      default:
        return anyJson;
    }
  }

  /** Either a valid value or one that breaks the schema (wrong type, out of range, junk). */
  any(schema: Schema): fc.Arbitrary<unknown> {
    return fc.oneof(
      { weight: 3, arbitrary: this.valid(schema) },
      {
        weight: 1,
        arbitrary: fc.oneof(anyJson, fc.string({ maxLength: 300 }), fc.constant(''), fc.integer()),
      },
    );
  }

  private string(schema: Schema): fc.Arbitrary<string> {
    const pattern: string | undefined = schema.pattern;
    if (pattern) {
      const prefixes = Object.keys(this.pools.ids).filter(
        (prefix) => pattern.includes(`${prefix}_`) || pattern.includes(`${prefix}:`),
      );
      const real = prefixes.flatMap((prefix) => this.pools.ids[prefix] ?? []);
      const matching = fc.stringMatching(new RegExp(pattern));
      return real.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...real) }, matching) : matching;
    }
    if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 200) });
  }

  private object(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
    const properties: Record<string, Schema> = schema.properties ?? {};
    if (Object.keys(properties).length === 0) {
      return depth > 2
        ? fc.constant({})
        : fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 });
    }
    const required = new Set<string>(schema.required ?? []);
    const record = Object.fromEntries(
      Object.entries(properties).map(([name, property]) => [name, this.valid(property, depth + 1)]),
    );
    return fc.record(record, { requiredKeys: [...required] as never[] }) as fc.Arbitrary<
      Record<string, unknown>
    >;
  }
}
