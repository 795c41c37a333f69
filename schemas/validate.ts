/**
 * Field constraints declared in the `.avsc` files themselves (`min`, `max`, `minLength`,
 * `eventTime`), checked after decoding. Avro's types cannot say "a finite, non-negative
 * cost" or "an event time in this century"; these attributes can, and they stay beside
 * the field they constrain. Every double must be finite.
 */
import type { AvroJson } from './catalog.ts';

type Obj = Record<string, AvroJson>;

export interface EventTimeBounds {
  minEventTimeMs: number;
  maxEventTimeMs: number;
}

/** Limits that are configuration rather than schema: `validation.maxStringLength`. */
export interface ValidationLimits {
  maxStringLength: number;
}

export const DEFAULT_LIMITS: ValidationLimits = { maxStringLength: 65_536 };

export interface Violation {
  code: 'INVALID_FIELD' | 'EVENT_TIME_OUT_OF_RANGE' | 'STRING_TOO_LONG';
  message: string;
}

/** A compiled checker: walks the value alongside its schema. */
export type Validator = (value: unknown, bounds: EventTimeBounds) => Violation | null;

function checkNumber(path: string, value: number, field: Obj): string | null {
  if (!Number.isFinite(value)) return `${path} must be a finite number, got ${value}`;
  if (typeof field.min === 'number' && value < field.min) return `${path} must be >= ${field.min}, got ${value}`;
  if (typeof field.max === 'number' && value > field.max) return `${path} must be <= ${field.max}, got ${value}`;
  return null;
}

/** A hint for the commonest unit mistake: seconds (or microseconds) where milliseconds are expected. */
function unitHint(v: number, b: EventTimeBounds): string {
  if (v < b.minEventTimeMs && v * 1000 >= b.minEventTimeMs && v * 1000 <= b.maxEventTimeMs) return ' (it looks like seconds; event times are epoch milliseconds)';
  if (v > b.maxEventTimeMs && v / 1000 >= b.minEventTimeMs && v / 1000 <= b.maxEventTimeMs) return ' (it looks like microseconds; event times are epoch milliseconds)';
  return '';
}

function isoOrRaw(v: number): string {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

function compileType(type: AvroJson, named: Map<string, Obj>, limits: ValidationLimits): ((v: unknown, path: string, field: Obj, b: EventTimeBounds) => Violation | null) | null {
  const max = limits.maxStringLength;
  if (typeof type === 'string') {
    if (type === 'double' || type === 'float' || type === 'int' || type === 'long') {
      return (v, path, field) => {
        const msg = typeof v === 'number' ? checkNumber(path, v, field) : null;
        return msg ? { code: 'INVALID_FIELD', message: msg } : null;
      };
    }
    if (type === 'string') {
      return (v, path, field) => {
        if (typeof v !== 'string') return null;
        if (v.length > max) return { code: 'STRING_TOO_LONG', message: `${path} has ${v.length} characters, over validation.maxStringLength (${max})` };
        return typeof field.minLength === 'number' && v.trim().length < field.minLength ? { code: 'INVALID_FIELD', message: `${path} must not be empty` } : null;
      };
    }
    const ref = named.get(type) ?? named.get(type.split('.').pop() ?? type);
    return ref ? compileType(ref, named, limits) : null;
  }
  if (Array.isArray(type)) {
    const branches = type.map((t) => compileType(t, named, limits)).filter((c) => c !== null);
    if (branches.length === 0) return null;
    return (v, path, field, b) => {
      if (v === null) return null;
      for (const c of branches) {
        const r = c(v, path, field, b);
        if (r) return r;
      }
      return null;
    };
  }
  if (type === null || typeof type !== 'object') return null;
  const obj = type as Obj;
  if (obj.type === 'record') {
    named.set(String(obj.name), obj);
    const fields = (obj.fields as Obj[]).map((f) => ({ f, check: compileType(f.type as AvroJson, named, limits) }));
    return (v, path, _field, b) => {
      const rec = v as Record<string, unknown>;
      for (const { f, check } of fields) {
        const name = String(f.name);
        const fv = rec[name];
        const fpath = path ? `${path}.${name}` : name;
        if (f.eventTime === true && typeof fv === 'number' && !(fv >= b.minEventTimeMs && fv <= b.maxEventTimeMs)) {
          return {
            code: 'EVENT_TIME_OUT_OF_RANGE',
            message: `${fpath} ${isoOrRaw(fv)} (${fv}) is outside [${isoOrRaw(b.minEventTimeMs)}, ${isoOrRaw(b.maxEventTimeMs)}]${unitHint(fv, b)}`,
          };
        }
        if (check) {
          const r = check(fv, fpath, f, b);
          if (r) return r;
        }
      }
      return null;
    };
  }
  if (obj.type === 'array') {
    const item = compileType(obj.items as AvroJson, named, limits);
    if (!item) return null;
    return (v, path, field, b) => {
      const arr = v as unknown[];
      for (let i = 0; i < arr.length; i++) {
        const r = item(arr[i], `${path}[${i}]`, field, b);
        if (r) return r;
      }
      return null;
    };
  }
  if (obj.type === 'map') {
    // Map keys are strings too: their length is bounded whatever the values are.
    const value = compileType(obj.values as AvroJson, named, limits);
    return (v, path, field, b) => {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k.length > max) return { code: 'STRING_TOO_LONG', message: `${path} has a key of ${k.length} characters, over validation.maxStringLength (${max})` };
        const r = value ? value(x, `${path}.${k}`, field, b) : null;
        if (r) return r;
      }
      return null;
    };
  }
  if (obj.type === 'enum' || obj.type === 'fixed') {
    named.set(String(obj.name), obj);
    return null;
  }
  return compileType(obj.type as AvroJson, named, limits);
}

/** Compiles the constraints of one self-contained record schema into a checker. */
export function compileValidator(schema: Obj, limits: ValidationLimits = DEFAULT_LIMITS): Validator {
  const check = compileType(schema, new Map(), limits);
  return (value, bounds) => (check ? check(value, '', {}, bounds) : null);
}
