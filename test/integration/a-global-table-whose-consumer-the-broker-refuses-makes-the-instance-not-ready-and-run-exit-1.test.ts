/**
 * A vital component that stops for good must take the instance out of service: here a global
 * table's consumer, refused by the broker. kafkajs 2.2 (consumer/index.js, retry/index.js)
 * restarts a consumer after any retriable error (a lost coordinator, an unknown topic, the
 * serde's RegistryUnavailableError) and gives up only on a non-retriable one, such as an
 * authorization failure. So
 * the broker here runs an authorizer that lets everyone do everything while no ACL names a
 * resource (KRaft's StandardAuthorizer, `allow.everyone.if.no.acl.found`), and once the service
 * runs, the test adds one DENY ACL on the prefix of the instance-catalog global table's group
 * (`<applicationId>-global-instance-catalog-`): the stream's, the sink's and the other tables'
 * groups are untouched. The table's next heartbeat or commit fails with
 * GROUP_AUTHORIZATION_FAILED, kafkajs reports CRASH with restart false, and:
 * - in the test's process (`startService`, whose fatal hook only records): `/readyz` goes from
 *   200 to 503 and stays there while `/healthz` answers, the hook told of the authorization error;
 * - as `run` (`startServiceProcess`): the process exits with code 1, its log naming the component.
 * Each would fail if the table's crash were ignored, readiness did not reflect it, or `run`
 * went on running or exited 0.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import type { Config } from '../../config/options.ts';
import { createLogger } from '../../common/logger.ts';
import { startService, type RunningServiceHandle } from '../../app/service.ts';
import { startKafka, type RunningService } from '../../infra/local/localStack.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/serviceProcess.ts';
import { randomName, testConfig, testKafka, waitUntil } from '../helpers/testConfig.ts';

const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;

describe('a global table whose consumer the broker refuses', () => {
  let broker: (RunningService & { brokers: string[] }) | undefined;
  beforeAll(async () => {
    broker = await startKafka({
      extraProperties: {
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'allow.everyone.if.no.acl.found': 'true',
      },
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** A config of its own on the authorizing broker. */
  const onBroker = (base: Config): Config => ({ ...base, kafka: { ...base.kafka, brokers: (broker as { brokers: string[] }).brokers } });

  /** Denies every operation on the groups of the instance-catalog global table of `config`'s application. */
  async function denyCatalogTableGroup(config: Config): Promise<void> {
    const admin = testKafka(config).admin();
    await admin.connect();
    try {
      await admin.createAcls({
        acl: [
          {
            resourceType: AclResourceTypes.GROUP,
            resourceName: `${config.kafka.applicationId}-global-instance-catalog-`,
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            principal: 'User:ANONYMOUS',
            host: '*',
            operation: AclOperationTypes.ALL,
            permissionType: AclPermissionTypes.DENY,
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
  }

  describe('in process', () => {
    const base = testConfig();
    let service: RunningServiceHandle | undefined;
    afterAll(() => service?.stop());

    it('makes /readyz answer 503 for good while /healthz still answers, and reports the authorization failure to the fatal hook', async () => {
      const config = onBroker(base);
      const fatal: Error[] = [];
      service = await startService(config, createLogger('warn'), { onFatal: (err) => fatal.push(err) });
      const s = service;
      await waitUntil('/readyz 200', async () => (await readyz(s.httpUrl)) === 200);

      await denyCatalogTableGroup(config);
      const denied = Date.now();
      await waitUntil('/readyz 503', async () => (await readyz(s.httpUrl)) === 503, 60_000);
      console.log(`in process: /readyz 503 ${Date.now() - denied} ms after the ACL`);
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 500));
        expect(await readyz(s.httpUrl)).toBe(503);
      }
      expect((await fetch(`${s.httpUrl}/healthz`)).status).toBe(200);
      // The body names what is not ready, and the metric says the same as the endpoint.
      expect(await (await fetch(`${s.httpUrl}/readyz`)).text()).toBe('not ready: global table instance-catalog\n');
      expect(await (await fetch(`${s.httpUrl}/metrics`)).text()).toMatch(/^artenic_ready 0$/m);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]?.message).toMatch(/authoriz/i);
      // The sink's group is not denied: it still runs.
      expect(s.sink.ready).toBe(true);
    });
  });

  describe('as `run`', () => {
    const base = testConfig();
    const logFile = join(tmpdir(), `${randomName('global-table-refused-service')}.log`);
    let service: ServiceProcess | undefined;
    afterAll(async () => {
      if (service && service.child.exitCode === null && service.child.signalCode === null) await service.kill('SIGKILL');
    });

    it('exits with code 1, naming the global table', async () => {
      const config = onBroker(base);
      service = await startServiceProcess(config, logFile);
      const svc = service;
      await waitUntil('/readyz 200', async () => (await readyz(svc.httpUrl)) === 200);
      expect(svc.child.exitCode).toBeNull();

      await denyCatalogTableGroup(config);
      const denied = Date.now();
      const code = await Promise.race([svc.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 60_000))]);
      console.log(`as run: exited with ${code} ${Date.now() - denied} ms after the ACL`);
      expect(code).toBe(1);
      expect(readFileSync(logFile, 'utf8')).toMatch(/"component":"global table instance-catalog"[^\n]*a vital component stopped for good/);
    });
  });
});
