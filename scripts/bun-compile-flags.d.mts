export declare const BUN_COMPILE_FLAGS: readonly string[];
