/** The OpenAPI 3.1 document, made from the same zod schemas that validate the requests. */
import { z } from 'zod';
import type { Route, SocketRoute } from './api.ts';

type Json = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType): Json => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
};

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

const errorResponse = { description: 'An error: `{ error: { code, message, field? } }`', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

export function openApiDocument(routes: readonly Route[], version: string, sockets: readonly SocketRoute[] = []): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const url = r.url.replace(/:(\w+)/g, '{$1}');
    const operation: Json = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${url.replace(/[{}]/g, '').replace(/[/_](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      ...(r.auth === 'none' ? { security: [] } : {}),
      responses: {
        '200': { description: 'Done', content: { [r.produces ?? 'application/json']: {} } },
        '400': errorResponse,
        ...(r.auth === 'none' ? {} : { '401': errorResponse, '404': errorResponse }),
        '413': errorResponse,
        '429': errorResponse,
      },
    };
    (paths[url] ??= {})[r.method.toLowerCase()] = operation;
  }
  // OpenAPI has no word for a WebSocket: the opening GET is described, with the upgrade it needs.
  for (const r of sockets) {
    const url = r.url.replace(/:(\w+)/g, '{$1}');
    (paths[url] ??= {}).get = {
      summary: r.summary,
      description: 'A WebSocket: open it with `Upgrade: websocket` (a browser with the login cookie from a page of this server). Messages are JSON text frames.',
      tags: [r.tag],
      operationId: `socket${url.replace(/[{}]/g, '').replace(/[/_](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      responses: { '101': { description: 'Switching Protocols: the socket is open' }, '401': errorResponse, '403': errorResponse, '404': errorResponse, '429': errorResponse },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'claude-ext', version, description: 'The HTTP API of the claude-ext daemon (the web extension)' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The admin token or a user API token (claude-ext token create)' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'claude_ext_web', description: 'A browser session from POST /api/login; writes also need X-CSRF-Token' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
        },
      },
    },
    paths,
  };
}
