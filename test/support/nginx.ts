import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningNginx {
  /** The directory holding the configuration, pid file, logs and temp files. */
  dir: string;
  stop(): Promise<void>;
  errorLog(): Promise<string>;
}

/**
 * Runs Debian's nginx as a child process (never the system service) with `site` — configuration
 * for nginx's http block, as deploy/nginx.conf is — and `httpExtra` directives before it. Its
 * pid file, logs and temp files live in a fresh temporary directory. Resolves once `ready()` holds.
 */
export async function startNginx(site: string, ready: () => Promise<boolean>, httpExtra = ''): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-nginx-'));
  // nginx's workers drop root for nobody; they write temp files here.
  await chmod(dir, 0o777);
  await writeFile(join(dir, 'site.conf'), site);
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${httpExtra}
  include ${dir}/site.conf;
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const errorLog = async (): Promise<string> => readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output}\n${await errorLog()}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) throw new Error(`nginx did not become ready:\n${output}\n${await errorLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    dir,
    errorLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Replaces each `from` in `text` with its `to`, failing when one does not occur: the test must change only what it says. */
export function substitute(text: string, replacements: Array<[from: string, to: string]>): string {
  let result = text;
  for (const [from, to] of replacements) {
    if (!result.includes(from)) throw new Error(`expected ${JSON.stringify(from)} in the configuration`);
    result = result.split(from).join(to);
  }
  return result;
}
