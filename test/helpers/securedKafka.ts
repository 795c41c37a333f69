/**
 * A broker that only lets in TLS clients that authenticate with SCRAM-SHA-512: a throw-away
 * CA and broker certificate made with the JDK's keytool, the SCRAM user written into the
 * KRaft metadata when the storage is formatted. The controller and an inter-broker listener
 * stay PLAINTEXT on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { findJava, freePort, startKafka, type RunningService } from '../../infra/local/localStack.ts';

export interface SecuredKafka {
  brokers: string[];
  /** PEM of the CA that signed the broker's certificate, for `kafka.sslCaFile`. */
  caFile: string;
  username: string;
  password: string;
  broker: RunningService;
}

/** A CA, and a broker key pair for 127.0.0.1 signed by it, in PKCS12 keystores under `dir`. */
export function makeCertificates(dir: string, storePassword: string): { caFile: string; keystore: string } {
  const java = findJava(17);
  const keytool = java === 'java' ? 'keytool' : join(dirname(java), 'keytool');
  const ks = (args: string[]) => execFileSync(keytool, args, { cwd: dir, stdio: 'pipe' });
  const common = ['-storetype', 'PKCS12', '-storepass', storePassword, '-keypass', storePassword];
  ks(['-genkeypair', '-alias', 'ca', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-dname', 'CN=artenic-test-ca', '-ext', 'bc:c', '-keystore', 'ca.p12', ...common]);
  ks(['-exportcert', '-rfc', '-alias', 'ca', '-keystore', 'ca.p12', '-storepass', storePassword, '-file', 'ca.pem']);
  ks(['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-dname', 'CN=localhost', '-keystore', 'broker.p12', ...common]);
  ks(['-certreq', '-alias', 'broker', '-keystore', 'broker.p12', '-storepass', storePassword, '-file', 'broker.csr']);
  ks(['-gencert', '-alias', 'ca', '-keystore', 'ca.p12', '-storepass', storePassword, '-infile', 'broker.csr', '-outfile', 'broker.pem', '-rfc', '-validity', '2', '-ext', 'SAN=ip:127.0.0.1,dns:localhost', '-ext', 'KU=digitalSignature,keyEncipherment', '-ext', 'EKU=serverAuth']);
  ks(['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', '-keystore', 'broker.p12', ...common]);
  ks(['-importcert', '-alias', 'broker', '-file', 'broker.pem', '-keystore', 'broker.p12', ...common]);
  return { caFile: join(dir, 'ca.pem'), keystore: join(dir, 'broker.p12') };
}

/**
 * A single-node broker whose client listener is SASL_SSL with SCRAM-SHA-512, started by
 * `start()`. Call it where the test file declares its suite: its clean-up is an `afterAll`.
 */
export function securedKafka(username = 'artenic'): { start(): Promise<SecuredKafka> } {
  const dir = mkdtempSync(join(tmpdir(), 'artenic-secured-kafka-'));
  let broker: (RunningService & { brokers: string[] }) | undefined;
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async start() {
      const storePassword = randomBytes(12).toString('hex');
      const password = randomBytes(12).toString('hex');
      const { caFile, keystore } = makeCertificates(dir, storePassword);
      const [port, internalPort, controllerPort] = [await freePort(), await freePort(), await freePort()];
      broker = await startKafka({
        port,
        controllerPort,
        workDir: join(dir, 'broker'),
        formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=${username},password=${password}]`],
        extraProperties: {
          listeners: `SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort}`,
          'advertised.listeners': `SASL_SSL://127.0.0.1:${port},INTERNAL://127.0.0.1:${internalPort},CONTROLLER://127.0.0.1:${controllerPort}`,
          'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
          'inter.broker.listener.name': 'INTERNAL',
          'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'ssl.keystore.type': 'PKCS12',
          'ssl.keystore.location': keystore,
          'ssl.keystore.password': storePassword,
          'ssl.key.password': storePassword,
          'ssl.client.auth': 'none',
        },
      });
      return { brokers: broker.brokers, caFile, username, password, broker };
    },
  };
}
