/**
 * An in-memory stand-in for the schema registry, for code that needs ids and schemas but
 * no registry process (unit tests, benchmarks): `register` hands out ids, the same schema
 * text gets the same id (whatever the subject); `getSchema` serves a schema by id, or fails
 * with a 404 as the registry does for an id it never gave.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

export type MemoryRegistry = SchemaRegistry & { byId: Map<number, unknown> };

export function memoryRegistry(): MemoryRegistry {
  const byId = new Map<number, unknown>();
  const bySchema = new Map<string, number>();
  return {
    byId,
    register: async ({ schema }: { schema: string }) => {
      let id = bySchema.get(schema);
      if (id === undefined) {
        id = bySchema.size + 1;
        bySchema.set(schema, id);
        byId.set(id, JSON.parse(schema));
      }
      return { id };
    },
    getSchema: async (id: number) => {
      const s = byId.get(id);
      if (!s) throw Object.assign(new Error(`Schema ${id} not found (404)`), { status: 404 });
      return s;
    },
  } as unknown as MemoryRegistry;
}
