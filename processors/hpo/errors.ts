/**
 * Errors of the HPO engine, on the repository's one hierarchy (common/errors.ts): a bad
 * study definition is a ConfigError (it fails at creation, with the parameter's name in the
 * message); a tell or snapshot that does not fit the study is a dead letter (the record is
 * rejected, the study goes on).
 */
import { ArtenicError, ConfigError } from '../../common/errors.ts';

/** The study definition (parameters, objectives, options) is invalid; nothing was created. */
export class InvalidStudyError extends ConfigError {}

/**
 * A call that does not fit the study's state: a tell for an unknown or finished trial, a
 * value of the wrong shape, an ask past the budget or the parallelism, a snapshot from
 * another version. Not retriable: the same call fails the same way.
 */
export class StudyStateError extends ArtenicError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INVALID_FIELD', message, options);
  }
}
