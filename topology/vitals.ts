/**
 * The components an instance cannot work without (the stream consumer, each global table's
 * consumer, the ClickHouse sink's consumer): each reports here when it has stopped for good.
 * One failure is enough for `/readyz` to answer 503 and for `run` to exit 1, so that a
 * supervisor starts a fresh instance instead of leaving one that looks alive and does nothing.
 *
 * Lifecycle: made once per service; components call `fail` (idempotent per component);
 * listeners registered with `onFailure` are told of each component's first failure.
 *
 * @example
 * const vitals = new Vitals();
 * vitals.onFailure((component, err) => logger.error({ component, err }, 'a vital component stopped'));
 * table.onFatal = (err) => vitals.fail('global table instance-catalog', err);
 * const ready = () => vitals.healthy && streams.ready;
 */
export class Vitals {
  private readonly failed = new Map<string, Error>();
  private readonly listeners: Array<(component: string, err: Error) => void> = [];

  /** A component stopped for good. */
  fail(component: string, err: Error): void {
    if (this.failed.has(component)) return;
    this.failed.set(component, err);
    for (const listener of this.listeners) listener(component, err);
  }

  /** No vital component has failed. */
  get healthy(): boolean {
    return this.failed.size === 0;
  }

  /** The failed components, with the error each stopped on. */
  get failures(): ReadonlyMap<string, Error> {
    return this.failed;
  }

  onFailure(listener: (component: string, err: Error) => void): void {
    this.listeners.push(listener);
  }

  /**
   * What keeps the instance from being ready, by component name (empty: ready): every failed
   * vital component, else the parts still starting (a stream thread not yet in its group, a
   * sink not yet running). Names only: an error's text stays in the log, where it was said once.
   */
  notReady(parts: ReadonlyArray<{ name: string; ready: boolean }>): string[] {
    if (this.failed.size > 0) return [...this.failed.keys()];
    return parts.filter((p) => !p.ready).map((p) => `${p.name} (starting)`);
  }
}

/**
 * The other live members of a group that carry this instance's client id (so its instance
 * id): two instances configured with the same `kafka.instanceId`.
 */
export function membersWithSameClientId(members: ReadonlyArray<{ memberId: string; clientId: string; clientHost: string }>, own: { memberId: string; clientId: string }): Array<{ memberId: string; clientHost: string }> {
  return members.filter((m) => m.clientId === own.clientId && m.memberId !== own.memberId).map((m) => ({ memberId: m.memberId, clientHost: m.clientHost }));
}
