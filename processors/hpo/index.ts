/**
 * The HPO engine: a study (ask / tell / snapshot) over a search space, with Sobol probing,
 * landscape classification, TPE, Nelder–Mead and NSGA-II behind one API. Pure and
 * deterministic; the stream processor that feeds it records is built on top of this.
 */
export { createStudy, restoreStudy, STRATEGY_NAMES } from './study.ts';
export type { AuditKind, AuditRecord, GuardrailOptions, ObjectiveSpec, ProbeOptions, StrategyName, Study, StudyHooks, StudyOptions, StudySnapshot, Trial, TrialResult } from './study.ts';
export { SearchSpace, validateParamSpecs } from './space.ts';
export type { Configuration, ParamSpec, ParamValue } from './space.ts';
export { InvalidStudyError, StudyStateError } from './errors.ts';
export { SobolSequence, SOBOL_MAX_DIMENSION } from './sobol.ts';
export { classifyLandscape } from './landscape.ts';
export type { Landscape, LandscapeReport, LandscapeOptions } from './landscape.ts';
export { chooseKdeBackend, DEFAULT_KDE_CHOOSER } from './kde.ts';
export type { KdeBackend, KdeChooserOptions } from './kde.ts';
