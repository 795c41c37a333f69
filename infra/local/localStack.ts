/**
 * The local stack for `make run` and the integration tests, without Docker: Apache Kafka
 * (KRaft, single node) and Apicurio Registry, fetched once from Maven Central into the
 * git-ignored `.cache/infra` (Maven's ~/.m2 is the download cache, so a fresh clone on the
 * same machine copies instead of downloading), started on free loopback ports, and
 * stopped with the process that started them.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { InfraError } from '../../common/errors.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '..', '..');
export const INFRA_CACHE = process.env.ARTENIC_INFRA_CACHE ?? join(REPO_ROOT, '.cache', 'infra');

function pomProperty(name: string): string {
  const pom = readFileSync(join(HERE, 'pom.xml'), 'utf8');
  const m = pom.match(new RegExp(`<${name}>([^<]+)</${name}>`));
  if (!m?.[1]) throw new InfraError(`infra/local/pom.xml has no <${name}>`);
  return m[1];
}

export const KAFKA_VERSION = pomProperty('kafka.version');
export const APICURIO_VERSION = pomProperty('apicurio.version');

const kafkaLibs = () => join(INFRA_CACHE, `kafka-${KAFKA_VERSION}`, 'libs');
const apicurioHome = () => join(INFRA_CACHE, `apicurio-registry-${APICURIO_VERSION}`);

/** Fetches Kafka and Apicurio into the cache when they are not there yet. */
export function fetchInfra(log: (line: string) => void = () => undefined): void {
  const haveKafka = existsSync(kafkaLibs()) && ['kafka_2.13', 'kafka-tools-4'].every((jar) => readdirSync(kafkaLibs()).some((f) => f.startsWith(jar)));
  const haveApicurio = existsSync(join(apicurioHome(), 'quarkus-run.jar'));
  if (haveKafka && haveApicurio) return;
  mkdirSync(INFRA_CACHE, { recursive: true });
  log(`fetching Kafka ${KAFKA_VERSION} and Apicurio Registry ${APICURIO_VERSION} from Maven Central into ${INFRA_CACHE}`);
  try {
    execFileSync('mvn', ['-q', '-B', '-f', join(HERE, 'pom.xml'), 'package', `-Dinfra.dir=${INFRA_CACHE}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    const tarball = join(INFRA_CACHE, `apicurio-registry-${APICURIO_VERSION}-all.tar.gz`);
    rmSync(apicurioHome(), { recursive: true, force: true });
    mkdirSync(apicurioHome(), { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', apicurioHome()]);
    rmSync(tarball);
  } catch (err) {
    throw new InfraError(`could not fetch the local stack (needs mvn and Maven Central): ${(err as Error).message}`, { cause: err });
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * A free loopback port below Linux's ephemeral range (32768+), so that no outgoing
 * connection of another process takes it between this check and the service's bind.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new InfraError('no free loopback port found in 20000-31999');
}

/** Starts a service, again on fresh ports when it fails to come up (a port taken meanwhile, a slow JVM). */
async function withAttempts<T>(what: string, start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts) throw err;
      console.error(`${what} failed to start (${(err as Error).message}); retrying on new ports`);
    }
  }
}

/** The major version a `java` binary reports (it prints to stderr), 0 when it does not run. */
function javaVersion(java: string): number {
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = `${res.stderr ?? ''}${res.stdout ?? ''}`.match(/version "(\d+)(?:\.(\d+))?/);
  if (!m) return 0;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

/** A Java of at least `major`: $ARTENIC_JAVA<major>, $JAVA_HOME, PATH, then /usr/lib/jvm. */
export function findJava(major: number): string {
  const candidates = [
    process.env[`ARTENIC_JAVA${major}`],
    process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : undefined,
    'java',
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').sort().reverse().map((d) => join('/usr/lib/jvm', d, 'bin', 'java')) : []),
  ].filter((c): c is string => Boolean(c));
  for (const java of candidates) {
    if (java !== 'java' && !existsSync(java)) continue;
    if (javaVersion(java) >= major) return java;
  }
  throw new InfraError(`no Java ${major}+ found (looked at ${candidates.join(', ')}); set ARTENIC_JAVA${major}`);
}

export interface RunningService {
  readonly url: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  stop(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new InfraError(`${what} exited with code ${child.exitCode}; see ${logFile}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new InfraError(`${what} did not come up within ${timeoutMs} ms; see ${logFile}`);
}

/**
 * A JVM in its own process group: a terminal's Ctrl-C reaches only the service, which drains
 * and commits before it stops the stack, instead of finding its broker already gone. If this
 * process exits without stopping it, the JVM goes too.
 */
function spawnOwned(command: string, args: string[], cwd?: string): ChildProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  return child;
}

function stopper(child: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    cleanup?.();
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

export interface KafkaOptions {
  /** Extra broker properties (SASL, TLS listeners...). */
  extraProperties?: Record<string, string>;
  /** Where the broker keeps its properties, log and data; a fresh directory under the cache by default. */
  workDir?: string;
  /** Leave `workDir` in place on stop, so that a broker started again on it finds its data. */
  keepWorkDir?: boolean;
  /** Fixed ports (a broker restarted on the same address); free ones by default. */
  port?: number;
  controllerPort?: number;
  /** Extra arguments of `StorageTool format`, e.g. `['--add-scram', 'SCRAM-SHA-512=[name=u,password=p]']`. */
  formatArgs?: string[];
}

/**
 * Starts a single-node KRaft broker on a free loopback port (or the given ones). The storage
 * is formatted only when `workDir` holds none yet, so a broker stopped with `keepWorkDir`
 * starts again with its topics, offsets and transactions.
 */
export async function startKafka(options: KafkaOptions = {}): Promise<RunningService & { brokers: string[] }> {
  fetchInfra((l) => console.error(l));
  const port = options.port ?? (await freePort());
  const controllerPort = options.controllerPort ?? (await freePort());
  const dir = options.workDir ?? join(INFRA_CACHE, 'run', `kafka-${port}-${randomBytes(3).toString('hex')}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': '4',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '8',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '8',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'log.cleaner.backoff.ms': '5000',
    // A transaction a crashed writer left open is aborted within its timeout plus this interval
    // (10 s by default); a restarted service's global tables wait for it.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
    ...options.extraProperties,
  };
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  writeFileSync(join(dir, 'log4j2.properties'), 'rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\nappender.stdout.type=Console\nappender.stdout.name=STDOUT\nappender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\n');
  const java = findJava(17);
  const classpath = `${kafkaLibs()}/*`;
  // Kafka's own ids never start with '-' (the storage tool would read it as an option).
  let clusterId = randomBytes(16).toString('base64url').slice(0, 22);
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url').slice(0, 22);
  if (!existsSync(join(dir, 'data', 'meta.properties'))) {
    try {
      execFileSync(java, ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', propsFile, ...(options.formatArgs ?? [])], { stdio: 'pipe' });
    } catch (err) {
      throw new InfraError(`formatting KRaft storage failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`, { cause: err });
    }
  }
  const logFile = join(dir, 'kafka.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawnOwned(java, ['-Xms256m', '-Xmx768m', `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', classpath, 'kafka.Kafka', propsFile]);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  await waitFor('Kafka', () => canConnect(port), child, logFile, 60_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url: `127.0.0.1:${port}`,
    brokers: [`127.0.0.1:${port}`],
    process: child,
    logFile,
    stop: stopper(child, () => {
      if (!options.keepWorkDir) rmSync(dir, { recursive: true, force: true });
    }),
  };
}

export interface RegistryOptions {
  /** Basic auth users, as Apicurio's properties; none by default. */
  extraProperties?: Record<string, string>;
  /** A fixed port (a registry restarted on the same address); a free one by default. */
  port?: number;
  /**
   * A directory for an H2 database file instead of memory: schemas and their ids survive a
   * restart. The caller owns it; stop leaves it in place.
   */
  storageDir?: string;
}

/** Starts Apicurio Registry (in-memory unless `storageDir`, global BACKWARD rule) on a free loopback port. */
export async function startRegistry(options: RegistryOptions = {}): Promise<RunningService> {
  fetchInfra((l) => console.error(l));
  const port = options.port ?? (await freePort());
  const java = findJava(21);
  const dir = join(INFRA_CACHE, 'run', `registry-${port}`);
  mkdirSync(dir, { recursive: true });
  if (options.storageDir) mkdirSync(options.storageDir, { recursive: true });
  const logFile = join(dir, 'registry.log');
  const props: Record<string, string> = {
    'quarkus.http.port': String(port),
    'quarkus.http.host': '127.0.0.1',
    // The management interface is fixed at build time; keep it on loopback and on a port of its own.
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': String(await freePort()),
    // Confluent answers 404 for a subject without a rule; Apicurio answers NONE, which
    // @kafkajs/confluent-schema-registry reads as a mismatch. A global rule avoids both.
    'apicurio.rules.global.compatibility': 'BACKWARD',
    'quarkus.log.level': 'WARN',
    // Apicurio's default is H2 in memory; the same SQL storage in a file persists.
    ...(options.storageDir ? { 'apicurio.datasource.url': `jdbc:h2:file:${resolve(options.storageDir, 'registry')}` } : {}),
    ...options.extraProperties,
  };
  const out = createWriteStream(logFile);
  const child = spawnOwned(java, ['-Xms128m', '-Xmx512m', ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`), '-jar', join(apicurioHome(), 'quarkus-run.jar')], dir);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  await waitFor('Apicurio Registry', async () => (await fetch(`${url}/subjects`)).status < 500, child, logFile, 90_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { url, process: child, logFile, stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })) };
}

/** Both, for `make run` and the tests. */
export async function startLocalStack(options: KafkaOptions = {}): Promise<{ brokers: string[]; registryUrl: string; stop(): Promise<void> }> {
  // Once, before the two starts run side by side: two Maven runs on a cold cache would race.
  fetchInfra((l) => console.error(l));
  const [kafka, registry] = await Promise.all([withAttempts('Kafka', () => startKafka(options)), withAttempts('Apicurio Registry', () => startRegistry())]);
  return {
    brokers: kafka.brokers,
    registryUrl: registry.url,
    stop: async () => {
      await Promise.all([kafka.stop(), registry.stop()]);
    },
  };
}
