import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { FastifyInstance } from 'fastify';
import { httpFrom } from './support/http-from.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';

describe('GET /api/openapi.json', () => {
  let server: RunningHerald;
  const routes: Array<{ method: string; url: string }> = [];
  before(async () => {
    // Every HTTP route the server declares, Herald's own and the default app's, collected from the
    // moment fastify creates the instance (its documented diagnostics channel).
    const collect = (message: unknown): void => {
      (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) routes.push({ method, url: route.url });
      });
    };
    subscribe('fastify.initialization', collect);
    try {
      server = await startHerald({}, installDefaultApp);
    } finally {
      unsubscribe('fastify.initialization', collect);
    }
  });
  after(() => server.close());

  test('is a valid OpenAPI 3 document', async () => {
    const reply = await httpFrom(`${server.url}/api/openapi.json`);
    assert.equal(reply.status, 200);
    assert.match(reply.body.openapi, /^3\.0\.\d$/);
    assert.equal(reply.body.info.title, 'Herald HTTP API');
    // Validated against the OpenAPI 3.0 schema, every $ref resolved.
    await SwaggerParser.validate(structuredClone(reply.body));
    for (const [path, item] of Object.entries<Record<string, { responses?: object }>>(reply.body.paths)) {
      const operations = Object.entries(item);
      assert.ok(operations.length > 0, path);
      for (const [method, operation] of operations) assert.ok(Object.keys(operation.responses ?? {}).length > 0, `${method} ${path} has responses`);
    }
  });

  test('lists every HTTP route the server has, Herald\'s and the app\'s, with its replies', async () => {
    const document = (await httpFrom(`${server.url}/api/openapi.json`)).body;
    const documented = Object.entries<object>(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    // Fastify adds a HEAD route for each GET by itself; path parameters are {id} in OpenAPI.
    const declared = routes
      .filter((route) => route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    assert.deepEqual(documented, [...new Set(declared)]);
    assert.ok(declared.includes('POST /api/publish') && declared.includes('GET /metrics') && declared.includes('POST /create_chat'));
    const publish = document.paths['/api/publish'].post;
    assert.deepEqual(Object.keys(publish.responses).sort(), ['200', '400', '401', '403', '413', '415', '503']);
    assert.deepEqual(publish.requestBody.content['application/json'].schema.required, ['channel', 'data']);
    assert.deepEqual(document.paths['/api/tasks/{id}'].get.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`), ['path:id']);
  });

  test('the replies keep their fields under their schemas', async () => {
    assert.deepEqual(await httpFrom(`${server.url}/api/publish`, { body: { channel: 'openapi', data: 1, idempotencyKey: 'k' } }), { status: 200, body: { ok: true } });
    assert.deepEqual(await httpFrom(`${server.url}/api/publish`, { body: { channel: 'openapi', data: 1, idempotencyKey: 'k' } }), { status: 200, body: { ok: true, duplicate: true } });
    const stats = await httpFrom(`${server.url}/api/stats`);
    assert.deepEqual(Object.keys(stats.body).sort(), ['broker', 'channels', 'connections', 'refusals']);
    assert.deepEqual(await httpFrom(`${server.url}/api/tasks/no-such-task`), {
      status: 404,
      body: { ok: false, error: { code: 'HERALD_ERR_TASK_NOT_FOUND', message: 'No task with id "no-such-task"' } },
    });
    assert.deepEqual(await httpFrom(`${server.url}/readyz`), { status: 200, body: { ok: true, broker: 'memory', connections: { memory: 'ready' } } });
  });
});
