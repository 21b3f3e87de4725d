import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';

// The package as a user gets it: `npm pack`, installed into an empty project, used from plain
// JavaScript (no TypeScript, no tsx) and type-checked from TypeScript against the shipped types.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const APP_MJS = `
import { createHerald } from 'herald';
import { Herald } from 'herald/client/node';

const server = createHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
const { url } = await server.listen();
const client = new Herald(url.replace('http', 'ws') + '/connect').connect();
let subscription;
const received = new Promise((resolve) => (subscription = client.subscribe('news', (data) => resolve(data))));
await subscription.ready;
await client.publish('news', { headline: 'round trip' });
console.log(JSON.stringify(await received));
client.close();
await server.close();
`;

const CHECK_TS = `
import { createHerald, type HeraldOptions, type HeraldSocket } from 'herald';
import { Herald } from 'herald/client';
import { Herald as NodeHerald } from 'herald/client/node';

const options: HeraldOptions = { port: 0, redisUrl: undefined, maxFrameBytes: 1024 };
const herald = createHerald(options);
herald.socket('/hello', (socket: HeraldSocket) => socket.send('hi'));
const address: Promise<{ url: string }> = herald.listen();
const client: Herald = new NodeHerald('ws://127.0.0.1:1/connect');
const state: 'connecting' | 'connected' | 'disconnected' = client.state;
export { address, state };
`;

const CHECK_BAD_TS = `
import { createHerald } from 'herald';
createHerald({ port: '8000' });
`;

describe('the published package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-package-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('npm pack ships dist/ only; installed into an empty project it runs from .mjs and type-checks from .ts', async () => {
    // npm test has built dist/ (pretest); --ignore-scripts keeps pack from rebuilding it under the other tests.
    const { stdout: packed } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((file) => file.path);
    for (const shipped of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js', 'dist/client/node.js', 'dist/herald-client.min.js', 'dist/web/dist/index.html', 'docs/config.md']) {
      assert.ok(paths.includes(shipped), `${shipped} is in the package`);
    }
    assert.deepEqual(paths.filter((path) => /^(src|client|test|bench|scripts|web\/src)\//.test(path)), [], 'no sources, tests or tools');

    const project = join(dir, 'consumer');
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, timeout: 300_000 });

    writeFileSync(join(project, 'app.mjs'), APP_MJS);
    const app = await run(process.execPath, ['app.mjs'], { cwd: project, timeout: 30_000 });
    assert.equal(app.stdout, '{"headline":"round trip"}\n');

    const bin = await run(join(project, 'node_modules', '.bin', 'herald'), ['--version'], { cwd: project });
    assert.equal(bin.stdout, `${VERSION}\n`);

    // The repository's tsc, against the installed declarations only.
    writeFileSync(join(project, 'check.ts'), CHECK_TS);
    writeFileSync(join(project, 'bad.ts'), CHECK_BAD_TS);
    const tsconfig = (files: string[]) => ({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files,
    });
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig(['check.ts'])));
    writeFileSync(join(project, 'tsconfig.bad.json'), JSON.stringify(tsconfig(['bad.ts'])));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((error: { stdout: string }) => error);
    assert.equal(checked.stdout, '');
    const refused = await run(process.execPath, [tsc, '-p', 'tsconfig.bad.json'], { cwd: project }).then(
      () => assert.fail('a wrong option type must not type-check'),
      (error: { stdout: string }) => error.stdout,
    );
    assert.match(refused, /bad\.ts\(3,16\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  test('docs/client.md states the size of dist/herald-client.min.js (within 1 KB)', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'client.md'), 'utf8');
    const stated = /`dist\/herald-client\.min\.js`, about\s+(\d+(?:\.\d)?)\s+KB/.exec(doc);
    assert.ok(stated, 'docs/client.md says "`dist/herald-client.min.js` … about N KB"');
    const actual = statSync(join(ROOT, 'dist', 'herald-client.min.js')).size / 1024;
    assert.ok(Math.abs(actual - Number(stated[1])) <= 1, `the doc says about ${stated[1]} KB; npm run build makes ${actual.toFixed(1)} KB`);
  });
});
