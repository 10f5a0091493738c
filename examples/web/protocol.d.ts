// Types of protocol.js (plain JavaScript so the page can load it without a build step).
export declare const WELCOME: 1;
export declare const DOT: 2;
export declare const GONE: 3;
export declare const MOVE: 10;
export declare const JOINT_ID: string;
export declare const WIDTH: number;
export declare const HEIGHT: number;
export declare const STEP: number;
export declare function clampX(x: number): number;
export declare function clampY(y: number): number;
export declare function colorOf(userNr: number): string;
