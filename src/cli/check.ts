import { Redis } from 'ioredis';
import { TokenVerifier } from '../auth/token-verifier.ts';
import type { Command } from './command.ts';
import { configOption, settingsFor } from './load-settings.ts';

export const check: Command = {
  name: 'check',
  summary: 'Check the configuration (file, environment, flags) and, when REDIS_URL is set, that Redis answers.',
  options: {
    'redis-url': { type: 'string', value: '<url>', description: 'Check this Redis instead of REDIS_URL.' },
    ...configOption,
  },
  details: 'Exits 0 and prints a summary when everything is usable; otherwise prints what is wrong and exits 2\n(a bad setting) or 1 (Redis unreachable).',
  async run(parsed) {
    const { options, serve, configFile } = settingsFor(parsed);
    if (options.jwtSecret !== undefined || options.jwtPublicKey !== undefined || options.jwtJwksUrl !== undefined) {
      // Parses the key now, as the server would at start.
      new TokenVerifier({ secret: options.jwtSecret, publicKey: options.jwtPublicKey, jwksUrl: options.jwtJwksUrl, algorithms: options.jwtAlgorithms });
    }
    console.log(`configuration: ok (${configFile === undefined ? 'no configuration file' : configFile})`);
    if (options.redisClusterNodes !== undefined || options.redisSentinels !== undefined) {
      console.log(`broker: ${options.redisClusterNodes !== undefined ? 'Redis Cluster' : 'Redis behind Sentinel'} (not checked: start the server and read /readyz)`);
    } else if (options.redisUrl === undefined) {
      console.log('broker: memory (REDIS_URL not set)');
    } else {
      const where = redisAddress(options.redisUrl);
      const failure = await pingRedis(options.redisUrl);
      if (failure !== undefined) {
        console.error(`herald check: cannot reach Redis at ${where}: ${failure}`);
        return 1;
      }
      console.log(`broker: redis at ${where}: ok`);
    }
    console.log(`demos: ${serve.demos ? 'on' : 'off'}; port ${options.port} on ${options.host}`);
    return 0;
  },
};

/** host:port/db of a Redis URL, without its credentials. */
function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
}

/** Undefined when Redis answers PING within 5 s, else why not. */
async function pingRedis(url: string): Promise<string | undefined> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The connection error (ECONNREFUSED, ENOTFOUND…) says more than connect()'s "Connection is closed".
  let cause: NodeJS.ErrnoException | undefined;
  redis.on('error', (error: NodeJS.ErrnoException) => (cause ??= error));
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    const failure = cause ?? (error as NodeJS.ErrnoException);
    return failure.code ?? failure.message;
  } finally {
    redis.disconnect();
  }
}
