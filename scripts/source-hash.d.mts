// Types of scripts/source-hash.mjs for TypeScript importers (src/core/load.ts).

/** Characters of the stamp kept (hex): 64 bits are plenty to tell sources apart. */
export declare const SOURCE_HASH_CHARS: number;

/**
 * The source stamp of the addon sources under `root`: sha256 over binding.gyp and every file
 * directly in native/, in name order, each as `name NUL content NUL`.
 * @param root the package root (holds binding.gyp and native/)
 * @returns SOURCE_HASH_CHARS hex characters
 * @throws when `root` has no binding.gyp or native/ (the fs error)
 */
export declare function sourceHash(root: string): string;
