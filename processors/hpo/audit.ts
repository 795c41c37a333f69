/** The audit trail of a study: every decision it or its sampler makes, with the trial it belongs to. */

export type AuditKind =
  | 'phase'
  | 'strategy'
  | 'landscape'
  | 'guardrail-bounds'
  | 'guardrail-step'
  | 'rollback'
  | 'nm-restart'
  | 'tr-restart'
  | 'fallback'
  | 'trial-failed'
  | 'generation';

export interface AuditRecord {
  /** The trial the decision belongs to (for decisions at ask time, the trial being asked). */
  readonly trial: number;
  readonly kind: AuditKind;
  readonly detail: Record<string, unknown>;
}
