/** Types of processSettings.mjs (plain JavaScript: it runs before tsx is registered). */
export declare const V8_FLAGS: string[];
export declare const MALLOC_ARENA_MAX: string;
export declare const APPLIED: string;
export declare function reexecPlan(p: { env: Record<string, string | undefined>; execArgv: string[]; argv: string[]; execPath: string; canExec: boolean }): { file: string; args: string[]; env: Record<string, string> } | null;
export declare function applyProcessSettings(): void;
