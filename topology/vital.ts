/**
 * The components an instance cannot do without. One that fails for good (a consumer kafkajs
 * will not restart, a sink whose engine keeps crashing) makes the instance not ready and calls
 * `onFatal`, so that `run` exits non-zero and a supervisor starts a fresh instance, rather than
 * the process living on while part of it does nothing.
 *
 * [loop] A small registry for the ClickHouse sink; it is meant to take the global tables'
 * restorers too (another change adds those), hence a registry rather than one more flag.
 */
export interface VitalFailure {
  component: string;
  error: Error;
  at: number;
}

export class VitalComponents {
  private readonly failed = new Map<string, VitalFailure>();
  /** Called once per component that fails. */
  onFatal?: (err: Error, component: string) => void;

  /** The component failed for good: the instance is no longer ready. Idempotent per component. */
  fail(component: string, error: Error): void {
    if (this.failed.has(component)) return;
    this.failed.set(component, { component, error, at: Date.now() });
    this.onFatal?.(error, component);
  }

  /** True while no vital component failed. */
  get healthy(): boolean {
    return this.failed.size === 0;
  }

  get failures(): VitalFailure[] {
    return [...this.failed.values()];
  }
}
