/**
 * The HPO engine: a study (ask / tell / snapshot) over a search space, with every strategy
 * (Sobol, random, TPE, Nelder–Mead, the trust region, NSGA-II, and 'auto', which composes
 * them) behind one Sampler interface. Pure and deterministic; the stream processor that feeds
 * it records is built on top of this.
 */
export { createStudy, restoreStudy, STRATEGY_NAMES } from './study.ts';
export type { AuditKind, AuditRecord, AutoOptions, GuardrailOptions, ObjectiveSpec, ProbeOptions, StrategyName, Study, StudyHooks, StudyOptions, StudySnapshot, StudySnapshotV1, Trial, TrialResult } from './study.ts';
export type { Observation, Proposal, Sampler, StudyView } from './sampler.ts';
export { STRATEGIES } from './samplers/index.ts';
export { SearchSpace, validateParamSpecs } from './space.ts';
export type { ChoiceValue, Configuration, ParamSpec, ParamValue } from './space.ts';
export { InvalidStudyError, StudyStateError } from './errors.ts';
export { SobolSequence, SOBOL_MAX_DIMENSION } from './sobol.ts';
export { classifyLandscape } from './landscape.ts';
export type { Landscape, LandscapeReport, LandscapeOptions } from './landscape.ts';
export { chooseKdeBackend, DEFAULT_KDE_CHOOSER } from './kde.ts';
export type { KdeBackend, KdeChooserOptions } from './kde.ts';
